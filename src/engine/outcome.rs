//! Where events come from and what became of each (SPEC §2.2, §2.6): outcomes and their
//! counts per source and reason.

use crate::event::Refusal;

/// Where events come from; outcomes are counted per source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Tcp,
    Ws,
    Http,
    Replay,
    Demo,
    Journal,
    /// A platform source (`[[sources]]`, SPEC §7), by its index in the table of names
    /// ([`Source::named`]).
    Named(u8),
}

/// Platform sources' names, interned once each: a `Source` stays `Copy` and its label
/// `&'static str`. Bounded by [`MAX_NAMED`] (names come from the configuration only).
static NAMES: std::sync::RwLock<Vec<&'static str>> = std::sync::RwLock::new(Vec::new());

/// Most platform source names one process interns.
pub const MAX_NAMED: usize = 200;
/// `to_u8` of `Named(0)` (the built-in sources stay below it, as journaled before).
const NAMED_BASE: u8 = 32;

impl Source {
    pub const ALL: [Source; 6] = [Source::Tcp, Source::Ws, Source::Http, Source::Replay, Source::Demo, Source::Journal];

    /// The source named `name` (a `[[sources]]` entry), interned on first use. Every
    /// process registers its configured names in configuration order before it reads its
    /// journal, so a journaled `Named(i)` means the same source after a restart with the
    /// same configuration. `None` once [`MAX_NAMED`] names are taken.
    pub fn named(name: &str) -> Option<Source> {
        let mut names = NAMES.write().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = names.iter().position(|n| *n == name) {
            return Some(Source::Named(i as u8));
        }
        if names.len() >= MAX_NAMED {
            return None;
        }
        names.push(Box::leak(name.to_owned().into_boxed_str()));
        Some(Source::Named((names.len() - 1) as u8))
    }

    /// Every source: the built-in ones, then the named ones interned so far.
    pub fn all() -> Vec<Source> {
        let n = NAMES.read().unwrap_or_else(|p| p.into_inner()).len();
        Source::ALL.into_iter().chain((0..n).map(|i| Source::Named(i as u8))).collect()
    }

    pub fn to_u8(self) -> u8 {
        match self {
            Source::Named(i) => NAMED_BASE + i,
            _ => Source::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8,
        }
    }

    pub fn from_u8(b: u8) -> Option<Source> {
        match b.checked_sub(NAMED_BASE) {
            Some(i) if (i as usize) < MAX_NAMED => Some(Source::Named(i)),
            _ => Source::ALL.get(b as usize).copied(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Named(i) => {
                NAMES.read().unwrap_or_else(|p| p.into_inner()).get(i as usize).copied().unwrap_or("unnamed")
            }
            Source::Tcp => "tcp",
            Source::Ws => "ws",
            Source::Http => "http",
            Source::Replay => "replay",
            Source::Demo => "demo",
            Source::Journal => "journal",
        }
    }
}

/// What became of one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied {
        skewed: bool,
    },
    /// Always [`Refusal::Repeated`].
    Duplicate,
    /// [`Refusal::TooOld`] or [`Refusal::OlderThanLast`].
    Late(Refusal),
    Invalid(Refusal),
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied { .. } => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Late(_) => "late",
            Outcome::Invalid(_) => "invalid",
        }
    }

    /// The reason of a refused outcome.
    pub fn refusal(self) -> Option<Refusal> {
        match self {
            Outcome::Applied { .. } => None,
            Outcome::Duplicate => Some(Refusal::Repeated),
            Outcome::Late(r) | Outcome::Invalid(r) => Some(r),
        }
    }
}

/// Outcome counts: applied, duplicate, late, invalid, skewed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IngestCounts {
    pub applied: u64,
    pub duplicate: u64,
    pub late: u64,
    pub invalid: u64,
    pub skewed: u64,
}

impl IngestCounts {
    pub fn count(&mut self, o: Outcome) {
        match o {
            Outcome::Applied { skewed } => {
                self.applied += 1;
                self.skewed += skewed as u64;
            }
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Late(_) => self.late += 1,
            Outcome::Invalid(_) => self.invalid += 1,
        }
    }

    pub fn merge(&mut self, o: &IngestCounts) {
        self.applied += o.applied;
        self.duplicate += o.duplicate;
        self.late += o.late;
        self.invalid += o.invalid;
        self.skewed += o.skewed;
    }
}

/// Refused events per reason (indexed by `Refusal as usize`).
pub type RefusalCounts = [u64; Refusal::ALL.len()];

#[cfg(test)]
mod tests {
    use super::*;

    /// A platform source keeps its number (and so its journaled counts) for its name; the
    /// built-in sources keep theirs.
    #[test]
    fn named_sources_round_trip_through_their_byte() {
        let a = Source::named("pbx-a").unwrap();
        let b = Source::named("pbx-b").unwrap();
        assert_eq!(Source::named("pbx-a"), Some(a));
        assert_ne!(a, b);
        for s in [a, b, Source::Tcp, Source::Journal] {
            assert_eq!(Source::from_u8(s.to_u8()), Some(s));
        }
        assert_eq!((a.as_str(), b.as_str()), ("pbx-a", "pbx-b"));
        assert_eq!(Source::Tcp.to_u8(), 0);
        assert!(Source::all().contains(&a) && Source::all().contains(&Source::Demo));
    }
}
