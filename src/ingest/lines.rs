//! NDJSON framing: a byte stream, read in chunks of any size, into lines with a size
//! limit. Pure (no I/O), so it is unit-tested and fuzzed (`fuzz/fuzz_targets/framing.rs`)
//! on its own and the TCP ingest only moves bytes into it.
//!
//! A line is what lies between two `\n` (a trailing `\r` is removed), plus at end of
//! stream a last line without its newline. A line longer than `max_line` bytes is yielded
//! once as [`Piece::TooLarge`] and skipped to the next newline without being buffered, so
//! memory stays within `max_line` plus one read whatever the peer sends. The outcome never
//! depends on how the stream was cut into reads.

use std::ops::ControlFlow;

/// Spare room kept in the buffer for the next read.
pub const READ_BUF: usize = 256 * 1024;

/// What the framer yields, in stream order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A complete line without `\n` or `\r\n` (it may be empty or blank).
    Line(&'a [u8]),
    /// A line over the limit; its bytes were dropped.
    TooLarge,
}

/// Splits a byte stream into lines of at most `max_line` bytes.
#[derive(Debug)]
pub struct LineFramer {
    /// Bytes read but not yet yielded: at most one partial line of at most `max_line + 1`
    /// bytes between calls to [`LineFramer::split`].
    buf: Vec<u8>,
    max_line: usize,
    /// Inside an oversized line: drop bytes up to the next newline.
    skipping: bool,
}

impl LineFramer {
    pub fn new(max_line: usize) -> LineFramer {
        LineFramer { buf: Vec::new(), max_line, skipping: false }
    }

    /// The buffer to append the next read to, with at least `READ_BUF / 4` spare bytes.
    /// Only append to it: what is already there is the start of the current line.
    pub fn read_into(&mut self) -> &mut Vec<u8> {
        if self.buf.capacity() - self.buf.len() < READ_BUF / 4 {
            self.buf.reserve(READ_BUF);
        }
        &mut self.buf
    }

    /// Bytes held for a line not yet complete.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Hands every complete line read so far to `f`, in order; with `eof`, also the last
    /// line without its newline. Stops early (and returns `Break`) when `f` does; the
    /// pieces not yet handed over are then lost, which is what a caller closing the
    /// connection wants.
    pub fn split(&mut self, eof: bool, mut f: impl FnMut(Piece<'_>) -> ControlFlow<()>) -> ControlFlow<()> {
        let max_line = self.max_line;
        let mut consumed = 0;
        let mut flow = ControlFlow::Continue(());
        while let Some(i) = memchr::memchr(b'\n', &self.buf[consumed..]) {
            let line = &self.buf[consumed..consumed + i];
            consumed += i + 1;
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            flow = f(piece(line, max_line));
            if flow.is_break() {
                break;
            }
        }
        self.buf.drain(..consumed);
        if flow.is_break() {
            return flow;
        }
        if eof {
            if !self.buf.is_empty() && !self.skipping {
                flow = f(piece(&self.buf, max_line));
            }
            self.buf.clear();
            self.skipping = false;
        } else if self.partial_too_large() {
            // Oversized: yield it once and drop bytes until the next newline.
            if !self.skipping {
                flow = f(Piece::TooLarge);
            }
            self.skipping = true;
            self.buf.clear();
        }
        flow
    }

    /// Whether the partial line in the buffer is already known to be over the limit. One
    /// byte more is allowed when it is `\r`, which a following `\n` would remove: the
    /// outcome must not depend on where a read ended.
    fn partial_too_large(&self) -> bool {
        let n = self.buf.len();
        n > self.max_line + 1 || (n == self.max_line + 1 && self.buf.last() != Some(&b'\r'))
    }
}

fn piece(line: &[u8], max_line: usize) -> Piece<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > max_line { Piece::TooLarge } else { Piece::Line(line) }
}

/// The framing rule stated directly on a whole stream (for tests and the fuzz target):
/// what [`LineFramer`] must yield however the stream is cut into reads.
pub fn reference(stream: &[u8], max_line: usize) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let mut parts: Vec<&[u8]> = stream.split(|b| *b == b'\n').collect();
    // The piece after the last newline is a line only if it is not empty.
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    for p in parts {
        out.push(match piece(p, max_line) {
            Piece::Line(l) => Some(l.to_vec()),
            Piece::TooLarge => None,
        });
    }
    out
}

/// Runs `stream` through a framer in reads of the given sizes (cycled; 0 is read as 1)
/// and collects the pieces; `None` stands for [`Piece::TooLarge`]. Also checks the memory
/// bound after every read.
pub fn frame_in_chunks(stream: &[u8], chunks: &[usize], max_line: usize) -> Vec<Option<Vec<u8>>> {
    let mut framer = LineFramer::new(max_line);
    let mut out = Vec::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().copied().cycle();
    loop {
        let n = if chunks.is_empty() { rest.len() } else { sizes.next().unwrap_or(1).max(1).min(rest.len()) };
        let (now, later) = rest.split_at(n);
        rest = later;
        framer.read_into().extend_from_slice(now);
        let eof = rest.is_empty();
        let _ = framer.split(eof, |p| {
            out.push(match p {
                Piece::Line(l) => Some(l.to_vec()),
                Piece::TooLarge => None,
            });
            ControlFlow::Continue(())
        });
        assert!(framer.pending() <= max_line + 1, "framer holds {} bytes, limit {max_line}", framer.pending());
        if eof {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(stream: &[u8], max_line: usize, expected: &[Option<&str>]) {
        let expected: Vec<Option<Vec<u8>>> = expected.iter().map(|e| e.map(|s| s.as_bytes().to_vec())).collect();
        assert_eq!(reference(stream, max_line), expected, "reference on {stream:?}");
        for chunks in [vec![], vec![1], vec![2], vec![3, 1], vec![7]] {
            assert_eq!(frame_in_chunks(stream, &chunks, max_line), expected, "{stream:?} in reads of {chunks:?}");
        }
    }

    #[test]
    fn lines() {
        check(b"", 4, &[]);
        check(b"\n", 4, &[Some("")]);
        check(b"ab\ncd", 4, &[Some("ab"), Some("cd")]);
        check(b"ab\r\ncd\r\n", 4, &[Some("ab"), Some("cd")]);
        check(b"abcd\r\n", 4, &[Some("abcd")]);
        check(b"abcde\nx\n", 4, &[None, Some("x")]);
        check(b"abcdefghij\nx", 4, &[None, Some("x")]);
        check(b"abcd\r\r\nx", 4, &[None, Some("x")]);
        check(b"abcdefgh", 4, &[None]);
        check(b"a\r", 4, &[Some("a")]);
        check(b"\r\n\n  \n", 4, &[Some(""), Some(""), Some("  ")]);
    }

    #[test]
    fn stopping_early_drops_the_rest() {
        let mut f = LineFramer::new(16);
        f.read_into().extend_from_slice(b"AUTH x\nsecond\nthird\n");
        let mut seen = 0;
        assert!(
            f.split(false, |_| {
                seen += 1;
                ControlFlow::Break(())
            })
            .is_break()
        );
        assert_eq!(seen, 1);
    }

    proptest! {
        #[test]
        fn reads_never_change_the_lines(
            stream in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()], 0..300),
            chunks in proptest::collection::vec(0usize..40, 0..8),
            max_line in 1usize..20,
        ) {
            prop_assert_eq!(frame_in_chunks(&stream, &chunks, max_line), reference(&stream, max_line));
        }
    }
}
