//! The FreeSWITCH source's edge: any bytes as an event socket stream, cut into reads at
//! points the input chooses; every `text/event-plain` frame mapped, every `api/response`
//! read as a tier list, an agent list and a member list, the mapper's clock ticked between reads. Must
//! not panic, must not grow without bound, and every native event it emits must be
//! well-formed: agent 1-64 printable bytes, a reason only on aux, each agent's times never
//! going backwards.
#![no_main]

use std::collections::HashMap;

use floorwatch_fuzz::asterisk::Native;
use floorwatch_fuzz::esl::{Frame, Framer, parse_event};
use floorwatch_fuzz::event::State;
use floorwatch_fuzz::freeswitch::{MAX_AGENTS, Mapper, MapperConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the default wrap-up, the second the read size.
    let (wrap, step, body) = match data {
        [w, s, rest @ ..] => (*w as i64 * 100, (*s as usize % 64) + 1, rest),
        _ => return,
    };
    let mut framer = Framer::new();
    let mut mapper = Mapper::new(MapperConfig { wrapup_ms: wrap, ..Default::default() });
    mapper.connected();
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut wall = 1_000_000_000i64;
    for chunk in body.chunks(step) {
        let mut frames = Vec::new();
        framer.feed(chunk, |f| frames.push(f));
        let mut out = Vec::new();
        for f in frames {
            if let Frame::Message(env) = f {
                match env.content_type() {
                    "api/response" => {
                        let _ = mapper.tier_list(&env.body);
                        let _ = mapper.agent_list(&env.body, wall, &mut out);
                        let _ = mapper.members_list(&env.body, wall, &mut out);
                    }
                    _ => mapper.handle(&parse_event(&env.body), wall, &mut out),
                }
            }
        }
        assert!(framer.buffered() <= body.len(), "never more than what came");
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
    assert!(mapper.agents() <= MAX_AGENTS);
});
