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
}

impl Source {
    pub const ALL: [Source; 6] = [Source::Tcp, Source::Ws, Source::Http, Source::Replay, Source::Demo, Source::Journal];

    pub fn to_u8(self) -> u8 {
        Source::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8
    }

    pub fn from_u8(b: u8) -> Option<Source> {
        Source::ALL.get(b as usize).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
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
