//! The TCP NDJSON framer: a stream cut into reads at arbitrary points must give exactly
//! the lines of the framing rule (`lines::reference`), hold at most `max_line + 1` bytes
//! between reads (checked inside `frame_in_chunks`), and each line must decode without
//! panicking.
//!
//! Input layout: byte 0 → max_line (1..=256); byte 1 → how many read sizes follow (0..=7);
//! then that many bytes of read sizes; the rest is the stream.
#![no_main]

use floorwatch_fuzz::event::{Aliases, decode_bytes};
use floorwatch_fuzz::lines::{frame_in_chunks, reference};
use libfuzzer_sys::fuzz_target;

fn aliases() -> &'static Aliases {
    static A: std::sync::OnceLock<Aliases> = std::sync::OnceLock::new();
    A.get_or_init(floorwatch_fuzz::aliases)
}

fuzz_target!(|data: &[u8]| {
    let [max, n, rest @ ..] = data else { return };
    let max_line = 1 + *max as usize;
    let n = (*n as usize % 8).min(rest.len());
    let (sizes, stream) = rest.split_at(n);
    let chunks: Vec<usize> = sizes.iter().map(|s| *s as usize).collect();
    let got = frame_in_chunks(stream, &chunks, max_line);
    assert_eq!(got, reference(stream, max_line), "reads of {chunks:?}, max_line {max_line}");
    for line in got.iter().flatten() {
        assert!(line.len() <= max_line);
        let _ = decode_bytes(line, aliases());
    }
});
