//! Journal records: what is written, and how it is framed on disk.
//!
//! A frame is `len: u32 | crc: u32 | lsn: u64 | payload`, little-endian, where `len`
//! counts `lsn` and the payload and `crc` (CRC-32) covers them too. A torn or damaged
//! frame fails its length or checksum and ends the readable journal at that point.
//! Payloads:
//! - `1` batch of agent events: `now: i64 | source: u8 | n: u32 | n refusal reasons: u8 each | postcard(Vec<Event>)`
//!   (written by builds before call events; still read)
//! - `4` batch: as `1` with `postcard(Vec<Input>)`: agent and call events
//! - `2` advance: `now: i64` (written by older builds; reading it advances, which changes
//!   nothing a view would not: results depend on the events and `now` only)
//! - `3` housekeeping

use std::io::{self, Read};

use crate::engine::{Engine, Source};
use crate::event::{Event, Input, Refusal};
use crate::time::Ms;

pub const HEADER: usize = 16;
/// A frame longer than this is damage, not data (a batch is bounded by the body and frame
/// limits, far below).
pub const MAX_FRAME: usize = 256 << 20;

const BATCH: u8 = 1;
const ADVANCE: u8 = 2;
const HOUSEKEEPING: u8 = 3;
const BATCH_INPUTS: u8 = 4;

/// One state-changing step of the engine.
#[derive(Debug, PartialEq)]
pub enum Op {
    /// Events received at `now` through `source`, and the ones refused at the edge beside
    /// them (their reasons).
    Batch {
        now: Ms,
        source: Source,
        refused: Vec<Refusal>,
        events: Vec<Input>,
    },
    Advance(Ms),
    Housekeeping,
}

impl Op {
    /// Applies the step to `engine` exactly as the daemon did when it was journaled.
    pub fn apply(self, engine: &mut Engine) {
        match self {
            Op::Batch { now, source, refused, events } => {
                // Contained as it was live (`Core::apply`): the same state, no crash loop.
                if let Err(what) = engine.apply_batch_contained(now, source, events, &refused) {
                    tracing::error!(source = source.as_str(), panic = %what, "a journaled batch panicked again while replayed (a bug): contained");
                }
            }
            Op::Advance(now) => engine.advance(now),
            Op::Housekeeping => engine.housekeeping(),
        }
    }
}

/// A payload encoded (and checksummed) outside any lock; framing adds the lsn.
pub struct Payload {
    pub bytes: Vec<u8>,
    crc: crc32fast::Hasher,
}

impl Payload {
    fn new(bytes: Vec<u8>) -> Payload {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes);
        Payload { bytes, crc }
    }

    pub fn batch<'a>(now: Ms, source: Source, refused: &[Refusal], events: impl Iterator<Item = &'a Input>) -> Payload {
        let events: Vec<&Input> = events.collect();
        let mut bytes = Vec::with_capacity(16 + refused.len() + events.len() * 48);
        bytes.push(BATCH_INPUTS);
        bytes.extend_from_slice(&now.to_le_bytes());
        bytes.push(source.to_u8());
        bytes.extend_from_slice(&(refused.len() as u32).to_le_bytes());
        bytes.extend(refused.iter().map(|r| r.to_u8()));
        let bytes = postcard::to_extend(&events, bytes).expect("serializing to memory cannot fail");
        Payload::new(bytes)
    }

    pub fn advance(now: Ms) -> Payload {
        let mut bytes = Vec::with_capacity(9);
        bytes.push(ADVANCE);
        bytes.extend_from_slice(&now.to_le_bytes());
        Payload::new(bytes)
    }

    pub fn housekeeping() -> Payload {
        Payload::new(vec![HOUSEKEEPING])
    }

    pub fn is_advance(&self) -> bool {
        self.bytes.first() == Some(&ADVANCE)
    }

    /// Appends the whole frame for `lsn` to `out`.
    pub fn frame_into(&self, lsn: u64, out: &mut Vec<u8>) {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&lsn.to_le_bytes());
        crc.combine(&self.crc);
        out.extend_from_slice(&((8 + self.bytes.len()) as u32).to_le_bytes());
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&lsn.to_le_bytes());
        out.extend_from_slice(&self.bytes);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame ends early (torn write)")]
    Torn,
    #[error("frame length {0} out of range")]
    Length(usize),
    #[error("frame checksum mismatch")]
    Checksum,
    #[error("frame payload does not decode: {0}")]
    Payload(String),
}

/// Reads one frame: `Ok(None)` at a clean end, `Err` for damage (a torn or corrupt tail).
pub fn read_frame(r: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<Result<Option<(u64, Op)>, FrameError>> {
    let mut header = [0u8; 8];
    let got = read_full(r, &mut header)?;
    if got == 0 {
        return Ok(Ok(None));
    }
    if got < header.len() {
        return Ok(Err(FrameError::Torn));
    }
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
    if !(9..=MAX_FRAME).contains(&len) {
        return Ok(Err(FrameError::Length(len)));
    }
    buf.clear();
    buf.resize(len, 0);
    if read_full(r, buf)? < len {
        return Ok(Err(FrameError::Torn));
    }
    if crc32fast::hash(buf) != crc {
        return Ok(Err(FrameError::Checksum));
    }
    let lsn = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
    Ok(decode_payload(&buf[8..]).map(|op| Some((lsn, op))))
}

/// Decodes a payload (a journal frame's, or a cluster stream message's body).
pub fn decode_payload(p: &[u8]) -> Result<Op, FrameError> {
    let bad = |what: &str| FrameError::Payload(what.to_string());
    let ms = |b: &[u8]| -> Result<Ms, FrameError> {
        Ok(Ms::from_le_bytes(b.get(..8).ok_or_else(|| bad("short time"))?.try_into().expect("8 bytes")))
    };
    match p.first() {
        Some(&kind @ (BATCH | BATCH_INPUTS)) => {
            if p.len() < 14 {
                return Err(bad("short batch"));
            }
            let now = ms(&p[1..])?;
            let source = Source::from_u8(p[9]).ok_or_else(|| bad("unknown source"))?;
            let n = u32::from_le_bytes(p[10..14].try_into().expect("4 bytes")) as usize;
            let reasons = p.get(14..14 + n).ok_or_else(|| bad("short refusals"))?;
            let refused = reasons
                .iter()
                .map(|&b| Refusal::from_u8(b).ok_or_else(|| bad("unknown refusal")))
                .collect::<Result<_, _>>()?;
            let bytes = &p[14 + n..];
            let events: Vec<Input> = if kind == BATCH {
                let agents: Vec<Event> = postcard::from_bytes(bytes).map_err(|e| bad(&e.to_string()))?;
                agents.into_iter().map(Input::Agent).collect()
            } else {
                postcard::from_bytes(bytes).map_err(|e| bad(&e.to_string()))?
            };
            Ok(Op::Batch { now, source, refused, events })
        }
        Some(&ADVANCE) => Ok(Op::Advance(ms(&p[1..])?)),
        Some(&HOUSEKEEPING) => Ok(Op::Housekeeping),
        _ => Err(bad("unknown record kind")),
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CallEvent, CallKind, State};

    fn ev(agent: &str, seq: u64) -> Event {
        Event {
            ts: Some(1_000 + seq as Ms),
            agent: agent.into(),
            state: State::Aux,
            reason: Some("break \"lunch\"\n".into()),
            team: Some("T07".into()),
            seq: Some(seq),
            name: None,
        }
    }

    #[test]
    fn frames_round_trip_and_damage_is_detected() {
        let call =
            CallEvent { ts: Some(5), call: "c1".into(), queue: Some("q".into()), kind: CallKind::Queued, agent: None };
        let events = [Input::Agent(ev("a1", 1)), Input::Call(call), Input::Agent(ev("a2", 2))];
        let mut out = Vec::new();
        let refused = vec![Refusal::NotJson, Refusal::TooLarge, Refusal::BadTs];
        Payload::batch(42, Source::Ws, &refused, events.iter()).frame_into(7, &mut out);
        Payload::advance(99).frame_into(8, &mut out);
        Payload::housekeeping().frame_into(9, &mut out);
        let mut r = out.as_slice();
        let mut buf = Vec::new();
        let first = read_frame(&mut r, &mut buf).unwrap().unwrap();
        assert_eq!(first, Some((7, Op::Batch { now: 42, source: Source::Ws, refused, events: events.to_vec() })));
        assert_eq!(read_frame(&mut r, &mut buf).unwrap().unwrap(), Some((8, Op::Advance(99))));
        assert_eq!(read_frame(&mut r, &mut buf).unwrap().unwrap(), Some((9, Op::Housekeeping)));
        assert_eq!(read_frame(&mut r, &mut buf).unwrap().unwrap(), None);

        // Every truncation of the last frame is torn; every flipped byte fails somewhere.
        let whole = out.len();
        let last_start = whole - (HEADER + 1);
        for cut in last_start + 1..whole {
            let mut r = &out[..cut];
            let mut n = 0;
            loop {
                match read_frame(&mut r, &mut buf).unwrap() {
                    Ok(Some(_)) => n += 1,
                    Ok(None) => panic!("cut at {cut} read as a clean end"),
                    Err(_) => break,
                }
            }
            assert_eq!(n, 2, "cut at {cut}");
        }
        for i in 0..whole {
            let mut damaged = out.clone();
            damaged[i] ^= 0x40;
            let mut r = damaged.as_slice();
            let mut ok = 0;
            while let Ok(Some(_)) = read_frame(&mut r, &mut buf).unwrap() {
                ok += 1;
            }
            assert!(ok < 3, "flipping byte {i} went unnoticed");
        }
    }
}
