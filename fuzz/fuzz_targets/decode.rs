//! The decoder at the edge: any bytes as a WebSocket text frame / HTTP body (one event or
//! a JSON array) and as an NDJSON line. Must not panic, must not allocate without bound
//! (libFuzzer's -rss_limit_mb / -malloc_limit_mb), and every event it lets through must be
//! well-formed and survive a round trip.
#![no_main]

use floorwatch_fuzz::event::{Aliases, Input, State, decode_batch, decode_bytes, decode_str};
use libfuzzer_sys::fuzz_target;

fn aliases() -> &'static Aliases {
    static A: std::sync::OnceLock<Aliases> = std::sync::OnceLock::new();
    A.get_or_init(floorwatch_fuzz::aliases)
}

fuzz_target!(|data: &[u8]| {
    let aliases = aliases();
    // The TCP path: bytes, UTF-8 checked by the decoder.
    let line = decode_bytes(data, aliases);
    let Ok(text) = std::str::from_utf8(data) else {
        assert!(line.is_err(), "invalid UTF-8 decoded as an event");
        return;
    };
    assert_eq!(line, decode_str(text, aliases), "bytes and text decode differently");
    // The WebSocket / HTTP path.
    let batch = decode_batch(text, aliases);
    // Every event gets one outcome; only an empty array has no event at all.
    if batch.is_empty() {
        let items: Result<Vec<&serde_json::value::RawValue>, _> = serde_json::from_str(text.trim_start());
        assert!(items.is_ok_and(|v| v.is_empty()), "no outcome for {text:?}");
    }
    for ev in batch.into_iter().chain([line]).flatten() {
        let ev = match ev {
            Input::Agent(ev) => ev,
            Input::Call(c) => {
                assert!(!c.call.is_empty() && c.call.len() <= 128, "call {:?}", c.call);
                assert_eq!(decode_str(&c.to_json(), aliases), Ok(Input::Call(c.clone())), "round trip of {c:?}");
                continue;
            }
        };
        assert!(!ev.agent.is_empty() && ev.agent.len() <= 64, "agent {:?}", ev.agent);
        assert!(!ev.agent.chars().any(char::is_control));
        assert_eq!(ev.reason.is_some(), ev.state == State::Aux, "reason is normalized to aux only");
        if let Some(ts) = ev.ts {
            assert!(ts >= 0, "ts {ts}");
        }
        assert_eq!(decode_str(&ev.to_json(), aliases), Ok(Input::Agent(ev.clone())), "round trip of {ev:?}");
    }
});
