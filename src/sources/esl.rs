//! FreeSWITCH Event Socket (ESL, mod_event_socket) framing, as the server writes it: an
//! envelope of `Key: Value` lines (LF; CR tolerated) ended by a blank line, then, when the
//! envelope has `Content-Length: n`, exactly n bytes of body. The envelope's
//! `Content-Type` says what it is: `auth/request`, `command/reply` (`Reply-Text`),
//! `api/response` (the body is the command's output), `text/event-plain` (the body is an
//! event: `Key: value` lines, values URL-encoded, ended by a blank line),
//! `text/disconnect-notice`.
//!
//! Bounded: an envelope over [`MAX_HEADER_BYTES`] (or [`MAX_FIELDS`] lines) is skipped to
//! its blank line; a body over [`MAX_BODY_BYTES`] is skipped by count without being
//! buffered; both are reported as [`Frame::TooLarge`]. An envelope that is not
//! `Key: Value` lines, or whose `Content-Length` is not a number, is [`Frame::Bad`]. The
//! buffer never holds more than one frame.

use super::ami::Message;

/// Longest envelope kept, in bytes (mod_event_socket's are under 200).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longest body kept, in bytes: a `callcenter_config agent list` of a large floor is about
/// 250 bytes an agent (10,000 agents: 2.5 MB); mod_callcenter's events are under 16 KiB.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Most lines in an envelope, and in an event body.
pub const MAX_FIELDS: usize = 1024;

/// One frame: the envelope's lines and the body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    pub headers: Message,
    pub body: Vec<u8>,
}

impl Envelope {
    pub fn content_type(&self) -> &str {
        self.headers.get("Content-Type").unwrap_or("")
    }
}

/// What the framer yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Message(Envelope),
    /// An envelope or body over the limits, skipped.
    TooLarge,
    /// Not ESL (the envelope's text, for the refusal).
    Bad(String),
}

#[derive(Debug, Default)]
enum Part {
    #[default]
    Head,
    /// Reading `left` more body bytes; kept unless the body is over the limit.
    Body { left: usize, keep: bool },
    /// Skipping the rest of an oversized envelope, to its blank line.
    SkipHead,
}

/// Splits a byte stream into ESL frames. Owns at most one partial frame.
#[derive(Debug, Default)]
pub struct Framer {
    part: Part,
    /// Bytes of the current envelope line not yet ended.
    line: Vec<u8>,
    current: Envelope,
    /// Bytes of the current envelope so far.
    size: usize,
}

impl Framer {
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Bytes buffered now (tests: never more than one frame).
    pub fn buffered(&self) -> usize {
        self.line.len() + self.size + self.current.body.len()
    }

    /// Feeds bytes; calls `out` with every complete frame.
    pub fn feed(&mut self, mut bytes: &[u8], mut out: impl FnMut(Frame)) {
        while !bytes.is_empty() {
            match &mut self.part {
                Part::Body { left, keep } => {
                    let n = (*left).min(bytes.len());
                    if *keep {
                        self.current.body.extend_from_slice(&bytes[..n]);
                    }
                    *left -= n;
                    bytes = &bytes[n..];
                    if *left == 0 {
                        let kept = *keep;
                        self.part = Part::Head;
                        let env = std::mem::take(&mut self.current);
                        out(if kept { Frame::Message(env) } else { Frame::TooLarge });
                    }
                }
                Part::Head | Part::SkipHead => {
                    let (chunk, rest) = match memchr::memchr(b'\n', bytes) {
                        Some(i) => (&bytes[..=i], &bytes[i + 1..]),
                        None => (bytes, &[][..]),
                    };
                    bytes = rest;
                    self.head_bytes(chunk, &mut out);
                }
            }
        }
    }

    /// Part of an envelope line (ending with `\n` or not).
    fn head_bytes(&mut self, chunk: &[u8], out: &mut impl FnMut(Frame)) {
        let ended = chunk.last() == Some(&b'\n');
        if matches!(self.part, Part::Head) && self.size + self.line.len() + chunk.len() > MAX_HEADER_BYTES {
            self.part = Part::SkipHead;
            self.current = Envelope::default();
            self.size = 0;
            self.line.clear();
            // Remember that the cut line is not blank, without keeping its bytes.
            self.line.push(b'x');
        }
        if matches!(self.part, Part::SkipHead) {
            if ended {
                let blank = self.line.is_empty() && chunk.iter().all(|b| *b == b'\r' || *b == b'\n');
                self.line.clear();
                if blank {
                    self.part = Part::Head;
                    out(Frame::TooLarge);
                }
            } else if chunk.iter().any(|b| *b != b'\r') {
                self.line.clear();
                self.line.push(b'x');
            }
            return;
        }
        self.line.extend_from_slice(chunk);
        if !ended {
            return;
        }
        let line = std::mem::take(&mut self.line);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if !text.is_empty() {
            self.size += line.len();
            push_line(&mut self.current.headers, text);
            if self.current.headers.fields.len() + self.current.headers.bad_lines > MAX_FIELDS {
                self.part = Part::SkipHead;
                self.current = Envelope::default();
                self.size = 0;
                self.line.push(b'x');
            }
            return;
        }
        // A blank line ends the envelope (blank lines between frames are nothing).
        self.size = 0;
        let env = std::mem::take(&mut self.current);
        if env.headers.fields.is_empty() && env.headers.bad_lines == 0 {
            return;
        }
        if env.headers.bad_lines > 0 {
            out(Frame::Bad(env.headers.to_text()));
            return;
        }
        match env.headers.get("Content-Length").map(|l| l.parse::<usize>()) {
            None | Some(Ok(0)) => out(Frame::Message(env)),
            Some(Ok(n)) if n > MAX_BODY_BYTES => self.part = Part::Body { left: n, keep: false },
            Some(Ok(n)) => {
                self.current = Envelope { headers: env.headers, body: Vec::with_capacity(n.min(64 * 1024)) };
                self.part = Part::Body { left: n, keep: true };
            }
            Some(Err(_)) => out(Frame::Bad(env.headers.to_text())),
        }
    }
}

fn push_line(m: &mut Message, line: &str) {
    match line.split_once(':') {
        Some((k, v)) if !k.trim().is_empty() => m.fields.push((k.trim().to_string(), v.trim().to_string())),
        _ => m.bad_lines += 1,
    }
}

/// A `text/event-plain` body: its `Key: value` lines up to the first blank line, values
/// URL-decoded (what `switch_event_serialize` encoded). At most [`MAX_FIELDS`] lines are
/// kept; a line that is not `Key: value` counts in `bad_lines`.
pub fn parse_event(body: &[u8]) -> Message {
    let mut m = Message::default();
    for line in body.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if m.fields.len() >= MAX_FIELDS {
            m.bad_lines += 1;
            break;
        }
        let text = String::from_utf8_lossy(line);
        match text.split_once(": ").or_else(|| text.split_once(':')) {
            Some((k, v)) if !k.trim().is_empty() => m.fields.push((k.trim().to_string(), url_decode(v.trim()))),
            _ => m.bad_lines += 1,
        }
    }
    m
}

/// `%XX` → the byte; anything else as it is (FreeSWITCH encodes with `%XX` only, never `+`).
pub fn url_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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

    const STREAM: &[u8] = b"Content-Type: auth/request\n\nContent-Type: command/reply\nReply-Text: +OK accepted\n\n\
Content-Type: api/response\nContent-Length: 4\n\n+OK\n\
Content-Length: 58\nContent-Type: text/event-plain\n\nEvent-Name: CUSTOM\nCC-Agent-State: In%20a%20queue%20call\n\n";

    #[test]
    fn envelopes_and_bodies_split_anywhere() {
        let whole = frames(&[STREAM]);
        assert_eq!(whole.len(), 4, "{whole:?}");
        for cut in 0..STREAM.len() {
            assert_eq!(frames(&[&STREAM[..cut], &STREAM[cut..]]), whole, "cut at {cut}");
        }
        let Frame::Message(api) = &whole[2] else { panic!() };
        assert_eq!((api.content_type(), api.body.as_slice()), ("api/response", &b"+OK\n"[..]));
        let Frame::Message(ev) = &whole[3] else { panic!() };
        assert_eq!(ev.content_type(), "text/event-plain");
        let e = parse_event(&ev.body);
        assert_eq!(e.get("CC-Agent-State"), Some("In a queue call"));
        assert_eq!(e.get("Event-Name"), Some("CUSTOM"));
    }

    #[test]
    fn oversized_bodies_are_skipped_by_count_and_framing_goes_on() {
        let big = format!("Content-Length: {}\nContent-Type: api/response\n\n", MAX_BODY_BYTES + 1);
        let mut f = Framer::new();
        let mut v = Vec::new();
        f.feed(big.as_bytes(), |fr| v.push(fr));
        let chunk = vec![b'z'; 1 << 20];
        let mut left = MAX_BODY_BYTES + 1;
        while left > 0 {
            let n = left.min(chunk.len());
            f.feed(&chunk[..n], |fr| v.push(fr));
            assert!(f.buffered() < 1024, "the skipped body is never kept");
            left -= n;
        }
        f.feed(b"Content-Type: command/reply\nReply-Text: +OK\n\n", |fr| v.push(fr));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], Frame::TooLarge);
        assert!(matches!(&v[1], Frame::Message(e) if e.headers.get("Reply-Text") == Some("+OK")));
    }

    #[test]
    fn garbage_and_bad_lengths_are_bad_and_oversized_envelopes_skipped() {
        let long = format!("X-Junk: {}\n\nContent-Type: command/reply\n\n", "y".repeat(MAX_HEADER_BYTES));
        let v = frames(&[b"this is not ESL\n\nContent-Length: lots\n\n", long.as_bytes()]);
        assert!(matches!(&v[0], Frame::Bad(t) if t.is_empty()), "{v:?}");
        assert!(matches!(&v[1], Frame::Bad(t) if t.contains("lots")), "{v:?}");
        assert_eq!(v[2], Frame::TooLarge);
        assert!(matches!(&v[3], Frame::Message(e) if e.content_type() == "command/reply"));
    }

    #[test]
    fn url_decoding_is_freeswitchs() {
        assert_eq!(url_decode("On%20Break"), "On Break");
        assert_eq!(url_decode("Wed,%2001%20Dec%202026%2009%3A00%3A00%20GMT"), "Wed, 01 Dec 2026 09:00:00 GMT");
        assert_eq!(url_decode("100%"), "100%", "a lone % stays");
        assert_eq!(url_decode("a+b%zz"), "a+b%zz");
        assert_eq!(url_decode("%E6%9D%8E%E5%A8%9C"), "李娜");
    }
}
