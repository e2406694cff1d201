//! gzip of an answer whose larger part is bytes that earlier answers already held and
//! compressed: a floor's snapshot is 15.7 MB at 2,000 teams, 10 MB of it their AHT charts,
//! which change only when a point closes (`ChartShown::json`). Compressing all of it for
//! every poller that accepts gzip was half of what 500 dashboard panels cost the daemon
//! (BENCHMARKS.md, session 10).
//!
//! How: the deflate format lets independently compressed pieces follow one another when
//! each ends with a *full flush* (its bits padded to a byte boundary, and nothing after it
//! refers back before it). So a cached part is compressed once, on its own, and kept
//! ([`piece`]); an answer compresses only the bytes between its cached parts, full-flushing
//! before each, copies each part's compressed bytes in, and ends the stream after the last
//! (pigz joins the blocks it compresses on several threads the same way). The CRC-32 in
//! the gzip trailer is of the whole answer, computed over its bytes (cheap next to
//! compressing them). What a client inflates is the answer, byte for byte (tests here and
//! `tests/reads.rs`, which also decodes with the system's `gzip`).

use flate2::{Compress, Compression, FlushCompress, Status};

/// The level of an answer's own bytes: zlib-rs's fastest (its "quick" strategy, about
/// twice as fast as the next and a fifth larger) for a large answer, where a dashboard's
/// poll waits on it; the next for a small one, where the difference in time is a fraction
/// of a millisecond and the size is what a client notices (a team's snapshot: 105 KB of
/// JSON, 21 KB at level 2, 29 KB at level 1).
fn level(len: usize) -> Compression {
    if len >= 1 << 20 { Compression::fast() } else { Compression::new(2) }
}

/// The level of a cached part: compressed once for every answer that carries it, so the
/// better ratio.
const PIECE_LEVEL: u32 = 2;

/// Compresses `input` with `c`, appending to `out`, flushed as `flush` asks: `Full` leaves
/// the stream at a byte boundary with nothing referring back past it; `Finish` ends it.
fn deflate(c: &mut Compress, mut input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
    loop {
        out.reserve(input.len() / 2 + 4096);
        let before = c.total_in();
        let status = c.compress_vec(input, out, flush).expect("deflating into memory cannot fail");
        input = &input[(c.total_in() - before) as usize..];
        // Done once every byte went in and the compressor stopped with room to spare (it
        // had nothing left to write), or it says the stream ended.
        let room = out.len() < out.capacity();
        match flush {
            FlushCompress::Finish if status == Status::StreamEnd => return,
            FlushCompress::Finish => {}
            _ if input.is_empty() && room => return,
            _ => {}
        }
    }
}

/// `part` compressed on its own as a piece of a longer deflate stream: raw deflate (no
/// header), ending with a full flush. What [`gzip`] copies in for it.
pub fn piece(part: &[u8]) -> Box<[u8]> {
    let mut c = Compress::new(Compression::new(PIECE_LEVEL), false);
    let mut out = Vec::with_capacity(part.len() / 3 + 64);
    deflate(&mut c, part, &mut out, FlushCompress::Full);
    out.into_boxed_slice()
}

/// `raw` as a gzip member, where each of `parts` (`(at, len, compressed)`, in order, not
/// overlapping) says that `raw[at..at + len]` is the part [`piece`] compressed to
/// `compressed`: those bytes are copied, not compressed again.
pub fn gzip<'a>(raw: &[u8], parts: impl IntoIterator<Item = (usize, usize, &'a [u8])>) -> Vec<u8> {
    // RFC 1952: deflate, no flags, no time, fastest, unknown system.
    let mut out = Vec::with_capacity(raw.len() / 4 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xff]);
    let mut c = Compress::new(level(raw.len()), false);
    let mut pos = 0;
    for (at, len, compressed) in parts {
        debug_assert!(at >= pos && at + len <= raw.len(), "parts in order, inside the answer");
        deflate(&mut c, &raw[pos..at], &mut out, FlushCompress::Full);
        out.extend_from_slice(compressed);
        pos = at + len;
    }
    deflate(&mut c, &raw[pos..], &mut out, FlushCompress::Finish);
    out.extend_from_slice(&crc32fast::hash(raw).to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Read;

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz).read_to_end(&mut out).expect("a valid gzip member");
        out
    }

    /// JSON-like text: repeated keys and numbers, so that the compressor finds matches
    /// (references back) everywhere, across the parts' edges too if it were allowed to.
    fn text(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(format!("{{\"talk_s\":{},\"aux\":{}}},", x % 1000, (x >> 20) % 7).as_bytes());
        }
        out.truncate(len);
        out
    }

    #[test]
    fn an_answer_with_cached_parts_inflates_to_itself() {
        let raw = text(7, 200_000);
        // Parts repeating text seen before them (the worst case for a wrong join: the
        // compressor would refer back into a part it never saw).
        let parts: Vec<(usize, usize)> = vec![(0, 10), (5_000, 40_000), (45_000, 1), (45_001, 0), (100_000, 100_000)];
        let compressed: Vec<Box<[u8]>> = parts.iter().map(|&(at, len)| piece(&raw[at..at + len])).collect();
        let gz = gzip(&raw, parts.iter().zip(&compressed).map(|(&(at, len), c)| (at, len, &c[..])));
        assert_eq!(gunzip(&gz), raw);
        assert!(gz.len() * 3 < raw.len(), "compressed {} to {}", raw.len(), gz.len());
        // No parts, and an empty answer.
        assert_eq!(gunzip(&gzip(&raw, [])), raw);
        assert_eq!(gunzip(&gzip(b"", [])), b"");
    }

    /// A part copied in must be the bytes it stands for: another part's compressed bytes
    /// give another answer (the check above can fail).
    #[test]
    fn a_wrong_part_gives_wrong_bytes() {
        let raw = text(3, 20_000);
        let other = piece(&text(4, 5_000));
        let gz = gzip(&raw, [(1_000, 5_000, &other[..])]);
        let mut out = Vec::new();
        let _ = flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut out);
        assert_ne!(out, raw);
    }

    proptest! {
        #[test]
        fn any_parts_inflate_to_the_answer(seed in 1u64.., len in 0usize..30_000, cuts in prop::collection::vec(0usize..30_000, 0..12)) {
            let raw = text(seed, len);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(len)).collect();
            cuts.sort_unstable();
            // Every other stretch between cuts is a cached part.
            let parts: Vec<(usize, usize)> = cuts.chunks_exact(2).map(|w| (w[0], w[1] - w[0])).collect();
            let compressed: Vec<Box<[u8]>> = parts.iter().map(|&(at, n)| piece(&raw[at..at + n])).collect();
            let gz = gzip(&raw, parts.iter().zip(&compressed).map(|(&(at, n), c)| (at, n, &c[..])));
            prop_assert_eq!(gunzip(&gz), raw);
        }
    }
}
