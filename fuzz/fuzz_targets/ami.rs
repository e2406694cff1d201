//! The Asterisk source's edge: any bytes as an AMI stream, cut into reads at points the
//! input chooses, every frame mapped, the mapper's clock ticked between reads. Must not
//! panic, must not grow without bound, and every native event it emits must be
//! well-formed: agent 1-64 printable bytes, a reason only on aux, each agent's times
//! never going backwards, and no event dated after the stream time it was emitted at
//! (a wrap-up end is never dated in the future).
#![no_main]

use std::collections::HashMap;

use floorwatch_fuzz::ami::{Frame, Framer};
use floorwatch_fuzz::asterisk::{Mapper, MapperConfig, Native};
use floorwatch_fuzz::event::State;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the wrap-up, the second the read size.
    let (wrap, step, body) = match data {
        [w, s, rest @ ..] => (*w as i64 * 100, (*s as usize % 64) + 1, rest),
        _ => return,
    };
    let mut framer = Framer::new();
    let mut mapper = Mapper::new(MapperConfig { wrapup_ms: wrap, teams: HashMap::new() });
    mapper.connected();
    mapper.begin_snapshot();
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut wall = 1_000_000_000i64;
    for chunk in body.chunks(step) {
        let mut frames = Vec::new();
        framer.feed(chunk, |f| frames.push(f));
        let mut out = Vec::new();
        for f in frames {
            if let Frame::Message(m) = f {
                mapper.handle(&m, wall, &mut out);
            }
        }
        wall += 250;
        mapper.tick(wall, &mut out);
        for o in out.into_iter().flatten() {
            if let Native::Agent(e) = o {
                assert!(!e.agent.is_empty() && e.agent.len() <= 64, "agent {:?}", e.agent);
                assert!(!e.agent.chars().any(char::is_control));
                assert_eq!(e.reason.is_some(), e.state == State::Aux, "reason only on aux: {e:?}");
                let ts = e.ts.expect("the mapper always dates");
                let prev = last.insert(e.agent.to_string(), ts);
                assert!(prev.is_none_or(|p| p <= ts), "{} went back from {prev:?} to {ts}", e.agent);
            }
        }
    }
    assert!(mapper.members() <= floorwatch_fuzz::asterisk::MAX_MEMBERS);
});
