//! Asterisk Manager Interface framing: a banner line first (`Asterisk Call Manager/11.0.0`),
//! then messages of `Key: Value` lines (CRLF, LF tolerated), each ended by a blank line.
//!
//! Bounded: a message over [`MAX_MESSAGE_BYTES`] (or with more than [`MAX_FIELDS`] lines)
//! is skipped to its blank line without being buffered and reported as
//! [`Frame::TooLarge`]; the buffer never holds more than one message's bytes.

/// Longest message kept, in bytes. app_queue's largest events are under 2 KiB.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Most lines in one message.
pub const MAX_FIELDS: usize = 256;

/// One AMI message: its `Key: Value` lines in order. Keys are compared without regard to
/// ASCII case (Asterisk's own manager does), values exactly, surrounding spaces trimmed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub fields: Vec<(String, String)>,
    /// Lines that were not `Key: Value` (garbage), kept to report the message.
    pub bad_lines: usize,
}

impl Message {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// Builds a message from `Key: Value` lines (tests, fixtures).
    pub fn parse(text: &str) -> Message {
        let mut m = Message::default();
        for line in text.lines() {
            m.push_line(line);
        }
        m
    }

    fn push_line(&mut self, line: &str) {
        match line.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => self.fields.push((k.trim().to_string(), v.trim().to_string())),
            _ => self.bad_lines += 1,
        }
    }

    /// The message as its wire text (for a refusal's input excerpt).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.fields {
            s.push_str(k);
            s.push_str(": ");
            s.push_str(v);
            s.push('\n');
        }
        s
    }
}

/// What the framer yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// The first line of the connection.
    Banner(String),
    Message(Message),
    /// A message over the limits, skipped.
    TooLarge,
}

/// Splits a byte stream into AMI frames. Owns at most one partial message.
#[derive(Default)]
pub struct Framer {
    /// Bytes of the current line not yet ended.
    line: Vec<u8>,
    current: Message,
    /// Bytes of the current message so far.
    size: usize,
    /// Skipping the rest of an oversized message (to its blank line).
    skipping: bool,
    banner_seen: bool,
}

impl Framer {
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Feeds bytes; calls `out` with every complete frame.
    pub fn feed(&mut self, bytes: &[u8], mut out: impl FnMut(Frame)) {
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            let ended = chunk.last() == Some(&b'\n');
            if self.skipping || self.size + self.line.len() + chunk.len() > MAX_MESSAGE_BYTES {
                // Over the limit: stop keeping bytes; wait for the blank line that ends it.
                if !self.skipping {
                    self.skipping = true;
                    self.current = Message::default();
                    self.size = 0;
                    // A blank line is "\r\n" or "\n": the partial line is dropped whole.
                    self.line.clear();
                }
                if ended {
                    let blank = self.line.is_empty() && chunk.iter().all(|b| *b == b'\r' || *b == b'\n');
                    self.line.clear();
                    if blank {
                        self.skipping = false;
                        out(Frame::TooLarge);
                    }
                } else if chunk.iter().any(|b| *b != b'\r') {
                    // Remember that this line is not blank, without keeping its bytes.
                    self.line.clear();
                    self.line.push(b'x');
                }
                continue;
            }
            self.line.extend_from_slice(chunk);
            if !ended {
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if !self.banner_seen {
                self.banner_seen = true;
                if !text.contains(':') || text.starts_with("Asterisk Call Manager") {
                    out(Frame::Banner(text.to_string()));
                    continue;
                }
            }
            if text.is_empty() {
                if !self.current.fields.is_empty() || self.current.bad_lines > 0 {
                    out(Frame::Message(std::mem::take(&mut self.current)));
                }
                self.size = 0;
                continue;
            }
            self.size += line.len();
            self.current.push_line(text);
            if self.current.fields.len() + self.current.bad_lines > MAX_FIELDS {
                self.skipping = true;
                self.current = Message::default();
                self.size = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut f = Framer::new();
        let mut v = Vec::new();
        for c in chunks {
            f.feed(c, |fr| v.push(fr));
        }
        v
    }

    #[test]
    fn banner_then_messages_split_anywhere() {
        let text = b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login-1\r\n\r\nEvent: X\r\nA: b: c\r\n\r\n";
        let whole = frames(&[text]);
        for cut in 0..text.len() {
            assert_eq!(frames(&[&text[..cut], &text[cut..]]), whole, "cut at {cut}");
        }
        assert_eq!(whole[0], Frame::Banner("Asterisk Call Manager/11.0.0".into()));
        let Frame::Message(m) = &whole[2] else { panic!() };
        assert_eq!(m.get("event"), Some("X"));
        assert_eq!(m.get("A"), Some("b: c"), "only the first colon splits");
    }

    #[test]
    fn oversized_message_is_skipped_to_its_blank_line() {
        let big = format!("Event: Big\r\nJunk: {}\r\n\r\nEvent: Next\r\n\r\n", "x".repeat(MAX_MESSAGE_BYTES + 10));
        let v = frames(&[b"banner\r\n", big.as_bytes()]);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1], Frame::TooLarge);
        assert!(matches!(&v[2], Frame::Message(m) if m.get("Event") == Some("Next")));
        // Fed a byte at a time, the same.
        let mut f = Framer::new();
        let mut n = Vec::new();
        f.feed(b"banner\r\n", |_| {});
        for b in big.as_bytes() {
            f.feed(std::slice::from_ref(b), |fr| n.push(fr));
        }
        assert_eq!(n, v[1..]);
        assert!(f.line.len() <= 1 && f.size == 0);
    }

    #[test]
    fn garbage_lines_are_kept_as_bad() {
        let v = frames(&[b"Asterisk Call Manager/1\n\x00\xffgarbage\nEvent: Y\n\n"]);
        let Frame::Message(m) = &v[1] else { panic!() };
        assert_eq!(m.bad_lines, 1);
        assert_eq!(m.get("Event"), Some("Y"));
    }
}
