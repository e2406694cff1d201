//! The modules under fuzz, compiled from the daemon's own source files. Including them by
//! path instead of depending on the `floorwatch` crate keeps the sanitizer build to a
//! handful of crates (serde, serde_json, jiff, memchr) instead of the whole daemon (tokio,
//! warp, rustls, reqwest...): about a minute instead of ten on a 2-core machine, which is
//! what lets `scripts/test` fuzz on every run. The code is the same file, byte for byte.

#[path = "../../src/time.rs"]
pub mod time;

#[path = "../../src/event.rs"]
pub mod event;

#[path = "../../src/ingest/lines.rs"]
pub mod lines;

// The Asterisk source's framing and mapper (pure: no I/O, no clock), at the root so that
// the mapper's `super::ami` is the framing, as in the daemon's `sources`.
#[path = "../../src/sources/ami.rs"]
pub mod ami;
#[path = "../../src/sources/asterisk.rs"]
pub mod asterisk;
// The FreeSWITCH source's framing and mapper, likewise (the mapper's `super::esl`,
// `super::ami` and `super::asterisk` are these).
#[path = "../../src/sources/esl.rs"]
pub mod esl;
#[path = "../../src/sources/freeswitch.rs"]
pub mod freeswitch;

use std::collections::HashMap;

use event::{Aliases, State};

/// Some of the built-in aliases (`config::DEFAULT_ALIASES`), so that the alias path of
/// the decoder is exercised too.
pub fn aliases() -> Aliases {
    let map: HashMap<String, State> =
        [("available", State::Idle), ("break", State::Aux), ("wrapup", State::Acw), ("busy", State::Talking)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    Aliases::new(map)
}
