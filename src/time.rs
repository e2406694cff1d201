//! Time in floorwatch is epoch milliseconds (`Ms`) everywhere in the core.
//! Parsing and formatting of RFC 3339 lives here, at the edge.

use jiff::Timestamp;

/// Milliseconds since the Unix epoch, UTC.
pub type Ms = i64;

/// Largest timestamp accepted from the outside world (9999-12-31T23:59:59.999Z).
pub const MAX_MS: Ms = 253_402_300_799_999;

/// Formats `ms` as RFC 3339 UTC with exactly three fractional digits,
/// e.g. `2026-11-23T09:15:02.123Z`.
pub fn fmt_ms(ms: Ms) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => format!("{ms}"),
    }
}

/// Parses an RFC 3339 timestamp with an offset (`Z` or `±hh:mm`). Fractions finer than a
/// millisecond are truncated toward the past.
pub fn parse_rfc3339(s: &str) -> Option<Ms> {
    // jiff accepts a few forms RFC 3339 does not (e.g. a time zone annotation); require
    // the date/time separator and an explicit offset so that naive local times are refused.
    let b = s.as_bytes();
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') || s.contains('[') {
        return None;
    }
    let ts: Timestamp = s.parse().ok()?;
    let ms = ts.as_millisecond();
    // as_millisecond truncates toward zero; make it floor for pre-1970 instants.
    let ms = if ts.subsec_nanosecond() < 0 && ts.subsec_nanosecond() % 1_000_000 != 0 { ms - 1 } else { ms };
    (0..=MAX_MS).contains(&ms).then_some(ms)
}

/// Parses a user-supplied instant: RFC 3339 or integer epoch milliseconds.
pub fn parse_instant(s: &str) -> Option<Ms> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return (0..=MAX_MS).contains(&n).then_some(n);
    }
    parse_rfc3339(s)
}

/// Serde helper: serialize an `Ms` as an RFC 3339 string.
pub mod serde_ms {
    use super::{Ms, fmt_ms};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(ms: &Ms, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fmt_ms(*ms))
    }

    pub mod opt {
        use super::super::{Ms, fmt_ms};
        use serde::Serializer;
        pub fn serialize<S: Serializer>(ms: &Option<Ms>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => s.serialize_str(&fmt_ms(*ms)),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let ms = parse_rfc3339("2026-11-23T09:15:02.123Z").unwrap();
        assert_eq!(ms, 1_795_425_302_123);
        assert_eq!(fmt_ms(ms), "2026-11-23T09:15:02.123Z");
        assert_eq!(fmt_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_rfc3339("2026-11-23T11:15:02.123+02:00"), Some(ms));
        assert_eq!(parse_rfc3339("2026-11-23T09:15:02.1239Z"), Some(ms));
        assert_eq!(parse_rfc3339("2026-11-23T09:15:02Z"), Some(ms - 123));
    }

    #[test]
    fn refuses_timestamps_without_offset_or_garbage() {
        for bad in ["2026-11-23T09:15:02", "2026-11-23", "yesterday", "", "2026-13-01T00:00:00Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(parse_instant("1795425302123"), Some(1_795_425_302_123));
        assert_eq!(parse_instant("-5"), None);
    }
}
