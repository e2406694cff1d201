//! The floors in the time zones that break naive code: a daylight-saving change at local
//! midnight (America/Santiago: one day starts at 01:00, another ends with its last hour
//! twice), a 30-minute change (Australia/Lord_Howe, both ways), offsets that are not whole
//! hours (Asia/Kathmandu +05:45; America/St_Johns −03:30/−02:30 on the night it falls back).
//!
//! Each floor is `floorwatch simulate --timezone` output (a few teams, shifts across the
//! change, breaks, a late lunch, a no-show, injected clusters and long breaks) with
//! hand-written agents added to its events and roster for the edges: shifts and breaks
//! given in local times in the gap and on the fold, touching shifts across the gap, a
//! break taken on the wrong pass of the fold, out-of-adherence stretches and unplanned
//! aux across the change, late log-ins, no-shows, break over-runs (`long_aux` from the
//! break's end). Every instant below is worked out by hand from SPEC §9.1 and
//! docs/adherence.md (a local time on a fold is the earlier instant; one in a gap moves
//! forward by the gap) and docs/figures.md (a peak-window boundary in a gap moves to the
//! first valid time; `today` starts at local midnight, or where the day starts when it has
//! no midnight), and `HAND` holds the alerts that follow, which the oracle must produce.

use super::{BIN, Floor, epoch_ms, events_ndjson, oracle, run};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Runs `floorwatch simulate` into `dir` (`sim.ndjson`, `sim.csv`): no queues, no noise.
fn simulate(dir: &Path, args: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join("sim.ndjson");
    let roster = dir.join("sim.csv");
    run(Command::new(BIN)
        .args(["simulate", "--queues", "0"])
        .args(args)
        .arg("--out")
        .arg(&out)
        .arg("--roster")
        .arg(&roster));
}

/// `events.ndjson`: the simulated events and the hand-written ones (`events_ndjson`'s
/// format) merged in time order, so that nothing is late.
fn merge_events(dir: &Path, hand: &str) {
    let sim = std::fs::read_to_string(dir.join("sim.ndjson")).unwrap();
    let mut rows: Vec<(i64, String)> = sim
        .lines()
        .chain(events_ndjson(hand).lines())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (epoch_ms(v["ts"].as_str().unwrap()), format!("{l}\n"))
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    std::fs::write(dir.join("events.ndjson"), rows.into_iter().map(|r| r.1).collect::<String>()).unwrap();
}

/// `roster.csv`: the simulated roster in the floor's local forms (`localize`), then the
/// hand-written rows as they are written.
fn csv_roster(dir: &Path, tz: &str, hand: &str) {
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    oracle(&["localize", "--tz", tz, &p("sim.csv"), &p("roster.csv")]);
    let mut text = std::fs::read_to_string(p("roster.csv")).unwrap();
    text.push_str(hand);
    std::fs::write(p("roster.csv"), text).unwrap();
}

/// `roster.json`: the simulated roster as JSON (`jsonify`), then the hand-written agents.
fn json_roster(dir: &Path, hand: &str) {
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    oracle(&["jsonify", &p("sim.csv"), &p("roster.json")]);
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(p("roster.json")).unwrap()).unwrap();
    let extra: Value = serde_json::from_str(hand).unwrap();
    doc["agents"].as_array_mut().unwrap().extend(extra.as_array().unwrap().iter().cloned());
    std::fs::write(p("roster.json"), serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

/// The alerts worked out by hand below, which the oracle must have at the floor's last
/// event: (floor, `kind:team:agent`, started, fired, resolved), instants in UTC.
pub const HAND: &[(&str, &str, &str, &str, &str)] = &[
    // santiago-gap: 2026-09-06 00:00 -04 does not exist; 01:00 -03 is 04:00Z.
    ("santiago-gap-csv", "out_of_adherence:unassigned:G1", "04:00", "04:05", "04:20"), // shift from "00:00" = 01:00; in after the fire: a no-show
    ("santiago-gap-csv", "out_of_adherence:TG:G1", "04:45", "04:50", "04:52"), // break "00:30"-"01:45" = 01:30-01:45
    ("santiago-gap-csv", "out_of_adherence:TG:G2", "04:20", "04:25", "04:40"), // break to "00:20" = 01:20
    ("santiago-gap-csv", "long_aux:TG:G2", "04:20", "04:30", "04:40"),
    ("santiago-gap-csv", "out_of_adherence:unassigned:G3", "03:00", "03:05", "05:30"),
    ("santiago-gap-csv", "out_of_adherence:TG:G4", "03:55", "04:00", "04:08"), // fires at the change
    ("santiago-gap-csv", "long_aux:TG:G4", "03:55", "04:05", "04:08"),
    ("santiago-gap-csv", "out_of_adherence:TG:G5", "03:40", "03:45", "04:10"), // meeting "00:10" = 01:10
    ("santiago-gap-csv", "out_of_adherence:TG:G7", "04:30", "04:35", "05:00"), // its day off keeps the shift
    // santiago-fold: 2026-04-04 23:00-23:59 happens at 02:00Z (-03) and again at 03:00Z (-04).
    ("santiago-fold-json", "out_of_adherence:TF:F1", "02:30", "02:35", "02:45"), // break on the first 23:30
    ("santiago-fold-json", "out_of_adherence:TF:F1", "03:30", "03:35", "03:45"), // taken on the second
    ("santiago-fold-json", "long_aux:TF:F1", "03:30", "03:40", "03:45"),
    ("santiago-fold-json", "out_of_adherence:unassigned:F2", "02:15", "02:20", "02:45"), // came on the second pass; in after the fire: a no-show
    ("santiago-fold-json", "out_of_adherence:TF:F3", "02:59", "03:04", "03:59"),         // lunch from the first 23:59
    ("santiago-fold-json", "out_of_adherence:TF:F4", "03:40", "03:45", "04:05"),         // across local midnight
    ("santiago-fold-json", "long_aux:TF:F4", "03:40", "03:50", "04:05"),
    ("santiago-fold-json", "out_of_adherence:unassigned:F5", "02:30", "02:35", "05:00"),
    // lord-howe-spring: 2026-10-04 02:00 +10:30 (15:30Z on the 3rd) becomes 02:30 +11.
    ("lord-howe-spring-csv", "out_of_adherence:TH:H1", "15:45", "15:50", "15:50"), // exactly the threshold
    ("lord-howe-spring-csv", "out_of_adherence:TH:H2", "15:35", "15:40", "15:45"), // shift to "02:15" = 02:45
    ("lord-howe-spring-csv", "out_of_adherence:TH:H3", "15:30", "15:35", "15:50"),
    ("lord-howe-spring-csv", "long_aux:TH:H3", "15:30", "15:40", "15:50"),
    ("lord-howe-spring-csv", "out_of_adherence:unassigned:H4", "15:40", "15:45", "15:50"), // shift from "02:10" = 02:40; in after the fire: a no-show
    ("lord-howe-spring-csv", "out_of_adherence:unassigned:H5", "15:00", "15:05", "16:00"),
    ("lord-howe-spring-csv", "out_of_adherence:TH:H6", "15:20", "15:25", "15:45"),
    // lord-howe-fall: 2026-04-05 01:30-01:59 happens at 14:30Z (+11) and again at 15:00Z (+10:30).
    ("lord-howe-fall-json", "out_of_adherence:TJ:J1", "14:30", "14:35", "14:45"),
    ("lord-howe-fall-json", "out_of_adherence:TJ:J1", "15:00", "15:05", "15:15"),
    ("lord-howe-fall-json", "long_aux:TJ:J1", "15:00", "15:10", "15:15"),
    ("lord-howe-fall-json", "out_of_adherence:unassigned:J2", "14:45", "14:50", "15:15"), // in after the fire: a no-show
    ("lord-howe-fall-json", "out_of_adherence:TJ:J3", "15:35", "15:40", "15:50"),         // break "01:50"-"02:05"
    ("lord-howe-fall-json", "long_aux:TJ:J3", "15:35", "15:45", "15:50"),
    ("lord-howe-fall-json", "out_of_adherence:unassigned:J5", "14:00", "14:05", "15:30"),
    // kathmandu: +05:45 all year; local midnight of the 16th is 18:15Z on the 15th.
    ("kathmandu-csv", "out_of_adherence:TK:K1", "13:10", "13:15", "13:27"), // break over-run
    ("kathmandu-csv", "long_aux:TK:K1", "13:10", "13:20", "13:27"),
    ("kathmandu-csv", "out_of_adherence:unassigned:K2", "10:15", "10:20", "10:35"), // late log-in; in after the fire: a no-show
    ("kathmandu-csv", "out_of_adherence:TK:K2", "18:10", "18:15", "18:35"),         // fires at local midnight
    ("kathmandu-csv", "long_aux:TK:K2", "18:10", "18:20", "18:35"),
    ("kathmandu-csv", "out_of_adherence:unassigned:K3", "14:15", "14:20", "18:45"),
    // st-johns: 2026-11-01 01:00-01:59 happens at 03:30Z (-02:30) and again at 04:30Z (-03:30).
    ("st-johns-json", "out_of_adherence:TN:N1", "03:45", "03:50", "04:00"),
    ("st-johns-json", "out_of_adherence:TN:N1", "04:45", "04:50", "05:00"),
    ("st-johns-json", "long_aux:TN:N1", "04:45", "04:55", "05:00"),
    ("st-johns-json", "out_of_adherence:unassigned:N2", "04:30", "04:35", "04:42"), // in after the fire: a no-show
    ("st-johns-json", "out_of_adherence:unassigned:N3", "04:00", "04:05", "06:00"),
    ("st-johns-json", "out_of_adherence:TN:N4", "05:30", "05:35", "05:45"),
    ("st-johns-json", "long_aux:TN:N4", "05:30", "05:40", "05:45"),
];

/// The `peak` flag of a team at a `--now`, worked out by hand: (run, team, peak). Boundaries
/// in a gap move to the first valid time, on a fold they are the earlier instant
/// (docs/figures.md).
pub const HAND_PEAKS: &[(&str, &str, bool)] = &[
    // "22:00-00:30" and "00:45-02:00": both boundaries are 01:00 -03, peak runs on.
    ("santiago-gap-csv --now 2026-09-06T03:59:59.999Z", "TG", true),
    ("santiago-gap-csv --now 2026-09-06T04:00:00Z", "TG", true),
    ("santiago-gap-csv --now 2026-09-06T04:25:00Z", "TG", true),
    // "23:20-23:40" is on the first pass only; the second 23:00 is off peak.
    ("santiago-fold-json --now 2026-04-05T03:00:00Z", "TF", false),
    // "23:30-02:00" and "02:15-03:00": both boundaries are 02:30 +11, peak runs on.
    ("lord-howe-spring-csv --now 2026-10-03T15:29:59.999Z", "TH", true),
    ("lord-howe-spring-csv --now 2026-10-03T15:30:00Z", "TH", true),
    ("lord-howe-spring-csv --now 2026-10-03T15:45:00Z", "TH", true),
    // "23:45-01:35" ends on the first 01:35; "01:40-02:10" runs from the first 01:40 to 02:10
    // +10:30 (15:40Z), so the second 01:30 is peak time.
    ("lord-howe-fall-json --now 2026-04-04T13:00:00Z", "TJ", true),
    ("lord-howe-fall-json --now 2026-04-04T15:00:00Z", "TJ", true),
    // "23:50-00:35" over local midnight (18:05Z-18:50Z).
    ("kathmandu-csv --now 2026-06-15T18:14:59.999Z", "TK", true),
    ("kathmandu-csv --now 2026-06-15T13:40:00Z", "TK", true),
    // "02:05-03:20" starts after the second pass; the first 01:59 is off peak.
    ("st-johns-json --now 2026-11-01T04:29:59.999Z", "TN", false),
];

/// The date (UTC) of each floor's hand-worked instants in `HAND`.
pub fn hand_date(floor: &str) -> &'static str {
    match floor {
        "santiago-gap-csv" => "2026-09-06",
        "santiago-fold-json" => "2026-04-05",
        "lord-howe-spring-csv" => "2026-10-03",
        "lord-howe-fall-json" => "2026-04-04",
        "kathmandu-csv" => "2026-06-15",
        "st-johns-json" => "2026-11-01",
        f => panic!("no hand-worked alerts for {f}"),
    }
}

// ------------------------------------------------------------------------------------------
// America/Santiago, 2026-09-06: clocks go from 00:00 -04 to 01:00 -03 (04:00Z), so the day
// has no 00:00 and `today` starts at 01:00.
// ------------------------------------------------------------------------------------------

/// G1 shift from "00:00" (= 01:00), logs in at 01:20; its break "00:30"-"01:45" is
/// 01:30-01:45, back at 01:52. G2 on a break "23:50"-"00:20" (23:50 -04 to 01:20 -03, 30
/// minutes) until 01:40. G3 a no-show across the change. G4 two shifts that touch across
/// the gap ("21:00"-"01:00" and "00:00"-"02:00"), in unplanned aux 23:55 -04 to 01:08 -03.
/// G5 offline 23:40 -04 to its meeting "00:10"-"00:40" (= 01:10-01:40). G6 mixes RFC 3339
/// and local times, its break starting the day. G7 has a day off on the 6th, the day
/// without midnight, beside a shift of the 5th that runs into it (a row belongs to the
/// day of its start: the shift stays).
const SANTIAGO_GAP_ROSTER: &str = "\
G1,2026-09-06 00:00,2026-09-06 04:00,shift
G1,2026-09-06 00:30,2026-09-06 01:45,break
G2,2026-09-05 22:00,2026-09-06 03:00,shift
G2,2026-09-05 23:50,2026-09-06 00:20,break
G3,2026-09-05 23:00,2026-09-06 02:30,shift
G4,2026-09-05 21:00,2026-09-06 01:00,shift
G4,2026-09-06 00:00,2026-09-06 02:00,Shift
G5,2026-09-05 22:30,2026-09-06 03:30,shift
G5,2026-09-06 00:10,2026-09-06 00:40,meeting
G6,2026-09-05T22:00:00-04:00,2026-09-06 03:00,shift
G6,2026-09-06T01:00:00-03:00,2026-09-06 01:15,break
G7,2026-09-05 23:00,2026-09-06 02:00,shift
G7,2026-09-06,,Day Off
";

const SANTIAGO_GAP_EVENTS: &str = "
2026-09-06T01:20:00-03:00 G1 idle - TG
2026-09-06T01:30:00-03:00 G1 aux break
2026-09-06T01:52:00-03:00 G1 idle
2026-09-06T04:00:00-03:00 G1 offline
2026-09-05T21:57:00-04:00 G2 idle - TG
2026-09-05T23:50:00-04:00 G2 aux break
2026-09-06T01:40:00-03:00 G2 idle
2026-09-06T03:00:00-03:00 G2 offline
2026-09-05T20:58:00-04:00 G4 idle - TG
2026-09-05T23:55:00-04:00 G4 aux personal
2026-09-06T01:08:00-03:00 G4 idle
2026-09-06T02:00:00-03:00 G4 offline
2026-09-05T22:25:00-04:00 G5 idle - TG
2026-09-05T23:40:00-04:00 G5 offline
2026-09-06T01:10:00-03:00 G5 aux meeting
2026-09-06T01:40:00-03:00 G5 idle
2026-09-06T03:30:00-03:00 G5 offline
2026-09-05T21:58:00-04:00 G6 idle - TG
2026-09-06T01:00:00-03:00 G6 aux break
2026-09-06T01:15:00-03:00 G6 idle
2026-09-06T02:10:00-03:00 G6 talking
2026-09-06T02:40:00-03:00 G6 acw
2026-09-06T02:42:00-03:00 G6 idle
2026-09-06T03:00:00-03:00 G6 offline
2026-09-05T22:58:00-04:00 G7 idle - TG
2026-09-06T01:30:00-03:00 G7 offline
";

/// Peak windows with boundaries in the gap: "22:00-00:30" ends, and "00:45-02:00" starts,
/// at 01:00 (the first valid time), so peak time runs on from 22:00 to 02:00.
pub fn santiago_gap_csv(root: &Path) -> Floor {
    let dir = root.join("santiago-gap");
    simulate(
        &dir,
        &[
            "--agents",
            "18",
            "--teams",
            "3",
            "--seed",
            "11",
            "--timezone",
            "America/Santiago",
            "--start",
            "2026-09-05T19:00:00-04:00",
            "--duration",
            "11h",
            "--shift-start",
            "20:00",
            "--shift",
            "8h",
            "--peaks",
            "22:00-01:30",
            "--cluster",
            "T02@01:10",
            "--long-break",
            "1@23:40:25:restroom",
        ],
    );
    merge_events(&dir, SANTIAGO_GAP_EVENTS);
    csv_roster(&dir, "America/Santiago", SANTIAGO_GAP_ROSTER);
    Floor {
        name: "santiago-gap-csv",
        dir,
        tz: "America/Santiago",
        roster: "roster.csv",
        events: "events.ndjson",
        windows: &["15m", "60m", "today", "peak_today", "90m"],
        toml: "[peak]\nwindows = [\"22:00-00:30\", \"00:45-02:00\"]\n\
               [alerts.long_aux]\nper_reason = { restroom = 900 }\n",
        oracle_cfg: r#"{"peak_windows": ["22:00-00:30", "00:45-02:00"],
                        "long_aux_per_reason": {"restroom": 900}}"#,
        threshold_secs: 300,
        nows: &[
            None,
            Some("2026-09-06T03:59:59.999Z"), // 23:59:59.999 -04, the last instant of the 5th
            Some("2026-09-06T04:00:00Z"),     // 01:00 -03: the 6th starts, `today` is empty
            Some("2026-09-06T04:00:00.001Z"),
            Some("2026-09-06T04:25:00Z"), // G2's alert fires exactly now
        ],
    }
}

// ------------------------------------------------------------------------------------------
// America/Santiago, 2026-04-04/05: at 00:00 -03 on the 5th (03:00Z) clocks go back to 23:00
// -04 on the 4th, which has 25 hours and its last hour twice.
// ------------------------------------------------------------------------------------------

/// F1's break "23:30"-"23:45" is on the first pass (02:30Z); it takes it on the second.
/// F2's shift "23:15"-"23:45" is on the first pass; it logs in on the second. F3's shift
/// "23:00"-"00:00" lasts two hours, its lunch from the first 23:59 (61 minutes). F4 starts
/// on the second pass (an offset) and ends in epoch ms, in unplanned aux across local
/// midnight. F5 a no-show. F6 has a day off on the 5th and a shift on the 4th ending on the
/// first 23:30.
const SANTIAGO_FOLD_ROSTER: &str = r#"[
 {"agent": "F1", "shifts": [{"start": "2026-04-04 22:00", "end": "2026-04-05 02:00",
    "activities": [{"activity": "break", "start": "2026-04-04 23:30", "end": "2026-04-04 23:45"}]}]},
 {"agent": "F2", "shifts": [{"start": "2026-04-04 23:15", "end": "2026-04-04 23:45"}]},
 {"agent": "F3", "shifts": [{"start": "2026-04-04 23:00", "end": "2026-04-05 00:00",
    "activities": [{"activity": "Lunch", "start": "2026-04-04 23:59", "end": "2026-04-05 00:00"}]}]},
 {"agent": "F4", "shifts": [{"start": "2026-04-04T23:10:00-04:00", "end": 1775365200000}]},
 {"agent": "F5", "shifts": [{"start": "2026-04-04 23:30", "end": "2026-04-05 01:00"}]},
 {"agent": "F6", "days_off": ["2026-04-05"], "shifts": [{"start": "2026-04-04 20:00", "end": "2026-04-04 23:30"}]}
]"#;

const SANTIAGO_FOLD_EVENTS: &str = "
2026-04-04T21:55:00-03:00 F1 idle - TF
2026-04-04T23:30:00-04:00 F1 aux break
2026-04-04T23:45:00-04:00 F1 idle
2026-04-05T02:00:00-04:00 F1 offline
2026-04-04T23:20:00-04:00 F2 idle - TF
2026-04-05T00:30:00-04:00 F2 offline
2026-04-04T22:58:00-03:00 F3 idle - TF
2026-04-04T23:59:00-04:00 F3 aux lunch
2026-04-05T00:00:00-04:00 F3 offline
2026-04-04T23:12:00-04:00 F4 idle - TF
2026-04-04T23:40:00-04:00 F4 aux personal
2026-04-05T00:05:00-04:00 F4 idle
2026-04-05T00:50:00-04:00 F4 talking
2026-04-05T01:00:00-04:00 F4 offline
2026-04-04T19:58:00-03:00 F6 idle - TF
2026-04-04T23:20:00-04:00 F6 offline
";

/// Peak window "23:20-23:40" on the fold: from the first 23:20 to the first 23:40.
pub fn santiago_fold_json(root: &Path) -> Floor {
    let dir = root.join("santiago-fold");
    simulate(
        &dir,
        &[
            "--agents",
            "12",
            "--teams",
            "2",
            "--seed",
            "12",
            "--timezone",
            "America/Santiago",
            "--start",
            "2026-04-04T19:00:00-03:00",
            "--duration",
            "11h",
            "--shift-start",
            "20:00",
            "--shift",
            "8h",
            "--peaks",
            "21:00-01:00",
            "--cluster",
            "T01@23:20",
            "--long-break",
            "2@21:30:20",
        ],
    );
    merge_events(&dir, SANTIAGO_FOLD_EVENTS);
    json_roster(&dir, SANTIAGO_FOLD_ROSTER);
    Floor {
        name: "santiago-fold-json",
        dir,
        tz: "America/Santiago",
        roster: "roster.json",
        events: "events.ndjson",
        windows: &["15m", "60m", "today", "peak_today", "2h"],
        toml: "[peak]\nwindows = [\"21:00-22:00\", \"23:20-23:40\", \"00:30-02:00\"]\n",
        oracle_cfg: r#"{"peak_windows": ["21:00-22:00", "23:20-23:40", "00:30-02:00"]}"#,
        threshold_secs: 300,
        nows: &[
            None,
            Some("2026-04-05T02:59:59.999Z"), // the first 23:59:59.999
            Some("2026-04-05T03:00:00Z"),     // the second 23:00: still the 4th
            Some("2026-04-05T04:00:00Z"),     // 00:00 of the 5th: `today` is empty
        ],
    }
}

// ------------------------------------------------------------------------------------------
// Australia/Lord_Howe, 2026-10-04: at 02:00 +10:30 (15:30Z on the 3rd) clocks go forward
// half an hour to 02:30 +11.
// ------------------------------------------------------------------------------------------

/// H1's break "02:00"-"02:15" is 02:30-02:45 +11, back at 02:50: exactly the threshold.
/// H2's shift ends at "02:15" = 02:45; it logs off at 02:35. H3 on a break "01:45"-"02:30"
/// (15 minutes) until 02:50. H4's shift starts at "02:10" = 02:40; it logs in at 02:50. H5
/// a no-show over the change. H6 offline 01:50 +10:30 to 02:45 +11.
const LORD_HOWE_SPRING_ROSTER: &str = "\
H1,2026-10-04 00:00,2026-10-04 06:00,shift
H1,2026-10-04 02:00,2026-10-04 02:15,break
H2,2026-10-03 23:00,2026-10-04 02:15,shift
H3,2026-10-03 22:00,2026-10-04 06:00,shift
H3,2026-10-04 01:45,2026-10-04 02:30,break
H4,2026-10-04 02:10,2026-10-04 07:00,shift
H5,2026-10-04 01:30,2026-10-04 03:00,shift
H6,2026-10-03T22:00:00+10:30,2026-10-04T06:00:00+11:00,shift
";

const LORD_HOWE_SPRING_EVENTS: &str = "
2026-10-03T23:58:00+10:30 H1 idle - TH
2026-10-04T02:30:00+11:00 H1 aux break
2026-10-04T02:50:00+11:00 H1 idle
2026-10-04T06:00:00+11:00 H1 offline
2026-10-03T22:55:00+10:30 H2 idle - TH
2026-10-04T02:35:00+11:00 H2 offline
2026-10-03T21:55:00+10:30 H3 idle - TH
2026-10-04T01:45:00+10:30 H3 aux break
2026-10-04T02:50:00+11:00 H3 idle
2026-10-04T06:00:00+11:00 H3 offline
2026-10-04T02:50:00+11:00 H4 idle - TH
2026-10-04T07:00:00+11:00 H4 offline
2026-10-03T21:57:00+10:30 H6 idle - TH
2026-10-04T01:50:00+10:30 H6 offline
2026-10-04T02:45:00+11:00 H6 idle
2026-10-04T06:00:00+11:00 H6 offline
";

/// Peak windows "23:30-02:00" and "02:15-03:00": both boundaries in (or at) the gap are
/// 02:30 +11, so peak time runs on from 23:30 to 03:00.
pub fn lord_howe_spring_csv(root: &Path) -> Floor {
    let dir = root.join("lord-howe-spring");
    simulate(
        &dir,
        &[
            "--agents",
            "14",
            "--teams",
            "2",
            "--seed",
            "13",
            "--timezone",
            "Australia/Lord_Howe",
            "--start",
            "2026-10-03T21:00:00+10:30",
            "--duration",
            "11h",
            "--shift-start",
            "22:00",
            "--shift",
            "8h",
            "--peaks",
            "01:00-03:00",
            "--cluster",
            "T02@02:40",
            "--long-break",
            "1@01:50:20:restroom",
        ],
    );
    merge_events(&dir, LORD_HOWE_SPRING_EVENTS);
    csv_roster(&dir, "Australia/Lord_Howe", LORD_HOWE_SPRING_ROSTER);
    Floor {
        name: "lord-howe-spring-csv",
        dir,
        tz: "Australia/Lord_Howe",
        roster: "roster.csv",
        events: "events.ndjson",
        windows: &["15m", "60m", "today", "peak_today", "45m"],
        toml: "[peak]\nwindows = [\"23:30-02:00\", \"02:15-03:00\"]\n",
        oracle_cfg: r#"{"peak_windows": ["23:30-02:00", "02:15-03:00"]}"#,
        threshold_secs: 300,
        nows: &[
            None,
            Some("2026-10-03T13:30:00Z"),     // 00:00 +10:30 on the 4th: `today` is empty
            Some("2026-10-03T15:29:59.999Z"), // 01:59:59.999 +10:30
            Some("2026-10-03T15:30:00Z"),     // 02:30 +11
            Some("2026-10-03T15:45:00Z"),
        ],
    }
}

// ------------------------------------------------------------------------------------------
// Australia/Lord_Howe, 2026-04-05: at 02:00 +11 (15:00Z on the 4th) clocks go back half an
// hour to 01:30 +10:30, so 01:30-01:59 happens twice.
// ------------------------------------------------------------------------------------------

/// J1's break "01:30"-"01:45" is on the first pass; it takes it on the second. J2's shift
/// starts on the first 01:45; it logs in on the second. J3's break "01:50"-"02:05" runs from
/// the first 01:50 (45 minutes), and it stays out to 02:20. J4 starts on the second 01:30
/// (an offset), ends in epoch ms. J5 a no-show. J6 in training on the first pass.
const LORD_HOWE_FALL_ROSTER: &str = r#"[
 {"agent": "J1", "shifts": [{"start": "2026-04-04 22:00", "end": "2026-04-05 06:00",
    "activities": [{"activity": "break", "start": "2026-04-05 01:30", "end": "2026-04-05 01:45"}]}]},
 {"agent": "J2", "shifts": [{"start": "2026-04-05 01:45", "end": "2026-04-05 05:00"}]},
 {"agent": "J3", "shifts": [{"start": "2026-04-04 23:00", "end": "2026-04-05 04:00",
    "activities": [{"activity": "BREAK", "start": "2026-04-05 01:50", "end": "2026-04-05 02:05"}]}]},
 {"agent": "J4", "shifts": [{"start": "2026-04-05T01:30:00+10:30", "end": 1775327400000}]},
 {"agent": "J5", "shifts": [{"start": "2026-04-05 01:00", "end": "2026-04-05 02:00"}]},
 {"agent": "J6", "shifts": [{"start": "2026-04-04 23:00", "end": "2026-04-05 04:00",
    "activities": [{"activity": "training", "start": "2026-04-05 01:35", "end": "2026-04-05 01:55"}]}]}
]"#;

const LORD_HOWE_FALL_EVENTS: &str = "
2026-04-04T21:55:00+11:00 J1 idle - TJ
2026-04-05T01:30:00+10:30 J1 aux break
2026-04-05T01:45:00+10:30 J1 idle
2026-04-05T06:00:00+10:30 J1 offline
2026-04-05T01:45:00+10:30 J2 idle - TJ
2026-04-05T05:00:00+10:30 J2 offline
2026-04-04T22:58:00+11:00 J3 idle - TJ
2026-04-05T01:50:00+11:00 J3 aux break
2026-04-05T02:20:00+10:30 J3 idle
2026-04-05T04:00:00+10:30 J3 offline
2026-04-05T01:29:00+10:30 J4 idle - TJ
2026-04-05T05:00:00+10:30 J4 offline
2026-04-04T22:55:00+11:00 J6 idle - TJ
2026-04-05T01:35:00+11:00 J6 aux training
2026-04-05T01:55:00+11:00 J6 idle
2026-04-05T04:00:00+10:30 J6 offline
";

/// Peak windows "23:45-01:35" (ends on the first 01:35) and "01:40-02:10" (from the first
/// 01:40, an hour of real time).
pub fn lord_howe_fall_json(root: &Path) -> Floor {
    let dir = root.join("lord-howe-fall");
    simulate(
        &dir,
        &[
            "--agents",
            "12",
            "--teams",
            "2",
            "--seed",
            "14",
            "--timezone",
            "Australia/Lord_Howe",
            "--start",
            "2026-04-04T21:00:00+11:00",
            "--duration",
            "11h",
            "--shift-start",
            "22:00",
            "--shift",
            "8h",
            "--peaks",
            "00:30-02:30",
            "--cluster",
            "T01@00:50",
            "--long-break",
            "2@01:40:18",
        ],
    );
    merge_events(&dir, LORD_HOWE_FALL_EVENTS);
    json_roster(&dir, LORD_HOWE_FALL_ROSTER);
    Floor {
        name: "lord-howe-fall-json",
        dir,
        tz: "Australia/Lord_Howe",
        roster: "roster.json",
        events: "events.ndjson",
        windows: &["15m", "60m", "today", "peak_today", "30m"],
        toml: "[peak]\nwindows = [\"23:45-01:35\", \"01:40-02:10\"]\n",
        oracle_cfg: r#"{"peak_windows": ["23:45-01:35", "01:40-02:10"]}"#,
        threshold_secs: 300,
        nows: &[
            None,
            Some("2026-04-04T13:00:00Z"),     // 00:00 +11 on the 5th: `today` is empty
            Some("2026-04-04T14:59:59.999Z"), // the first 01:59:59.999
            Some("2026-04-04T15:00:00Z"),     // the second 01:30
        ],
    }
}

// ------------------------------------------------------------------------------------------
// Asia/Kathmandu, +05:45 all year: shifts into the night of 2026-06-15/16 and peak windows
// that align with no UTC hour or quarter.
// ------------------------------------------------------------------------------------------

/// K1 over-runs its break (18:40-18:55 local, given as UTC and local) to 19:12. K2 logs in
/// 20 minutes late, and is in unplanned aux 23:55-00:20 across local midnight. K3 a
/// no-show. K4 at lunch as scheduled.
const KATHMANDU_ROSTER: &str = "\
K1,2026-06-15T15:00:00+05:45,2026-06-15 23:30,shift
K1,2026-06-15T12:55:00Z,2026-06-15 18:55,break
K2,2026-06-15 16:00,2026-06-16 00:30,shift
K3,2026-06-15 20:00,2026-06-16 00:30,shift
K4,2026-06-15T09:15:00Z,2026-06-16T00:15:00+05:45,shift
K4,2026-06-15 19:00,2026-06-15T14:00:00.000Z,lunch
";

const KATHMANDU_EVENTS: &str = "
2026-06-15T14:58:00+05:45 K1 idle - TK
2026-06-15T18:40:00+05:45 K1 aux break
2026-06-15T19:12:00+05:45 K1 idle
2026-06-15T23:30:00+05:45 K1 offline
2026-06-15T16:20:00+05:45 K2 idle - TK
2026-06-15T23:55:00+05:45 K2 aux personal
2026-06-16T00:20:00+05:45 K2 idle
2026-06-16T00:30:00+05:45 K2 offline
2026-06-15T14:59:00+05:45 K4 idle - TK
2026-06-15T19:00:00+05:45 K4 aux lunch
2026-06-15T19:45:00+05:45 K4 idle
2026-06-16T00:15:00+05:45 K4 offline
";

pub fn kathmandu_csv(root: &Path) -> Floor {
    let dir = root.join("kathmandu");
    simulate(
        &dir,
        &[
            "--agents",
            "18",
            "--teams",
            "3",
            "--seed",
            "15",
            "--timezone",
            "Asia/Kathmandu",
            "--start",
            "2026-06-15T14:00:00+05:45",
            "--duration",
            "12h",
            "--shift-start",
            "15:00",
            "--shift",
            "8h30m",
            "--peaks",
            "19:10-20:25,23:50-00:35",
            "--cluster",
            "T03@19:40",
            "--long-break",
            "2@23:45:20:restroom",
        ],
    );
    merge_events(&dir, KATHMANDU_EVENTS);
    csv_roster(&dir, "Asia/Kathmandu", KATHMANDU_ROSTER);
    Floor {
        name: "kathmandu-csv",
        dir,
        tz: "Asia/Kathmandu",
        roster: "roster.csv",
        events: "events.ndjson",
        windows: &["15m", "60m", "today", "peak_today", "45m"],
        toml: "[peak]\nwindows = [\"19:10-20:25\", \"23:50-00:35\"]\n",
        oracle_cfg: r#"{"peak_windows": ["19:10-20:25", "23:50-00:35"]}"#,
        threshold_secs: 300,
        nows: &[
            None,
            Some("2026-06-15T13:40:00Z"),     // 19:25 local, in a peak window
            Some("2026-06-15T18:14:59.999Z"), // 23:59:59.999 local
            Some("2026-06-15T18:15:00Z"),     // local midnight: `today` is empty, K2's alert fires
        ],
    }
}

// ------------------------------------------------------------------------------------------
// America/St_Johns, 2026-11-01: at 02:00 -02:30 (04:30Z) clocks go back to 01:00 -03:30,
// so 01:00-01:59 happens twice.
// ------------------------------------------------------------------------------------------

/// N1's break "01:15"-"01:30" is on the first pass; it takes it on the second. N2's shift
/// starts on the second 01:00 (an offset); it logs in 12 minutes late. N3 a no-show from
/// the first 01:30. N4 over-runs a break given on the second pass.
const ST_JOHNS_ROSTER: &str = r#"[
 {"agent": "N1", "shifts": [{"start": "2026-11-01 00:30", "end": "2026-11-01 03:00",
    "activities": [{"activity": "break", "start": "2026-11-01 01:15", "end": "2026-11-01 01:30"}]}]},
 {"agent": "N2", "shifts": [{"start": "2026-11-01T01:00:00-03:30", "end": "2026-11-01 04:00"}]},
 {"agent": "N3", "shifts": [{"start": "2026-11-01 01:30", "end": "2026-11-01 02:30"}]},
 {"agent": "N4", "shifts": [{"start": "2026-10-31 21:00", "end": 1793521800000,
    "activities": [{"activity": "break", "start": "2026-11-01T01:50:00-03:30", "end": "2026-11-01 02:00"}]}]}
]"#;

const ST_JOHNS_EVENTS: &str = "
2026-11-01T00:28:00-02:30 N1 idle - TN
2026-11-01T01:15:00-03:30 N1 aux break
2026-11-01T01:30:00-03:30 N1 idle
2026-11-01T03:00:00-03:30 N1 offline
2026-11-01T01:12:00-03:30 N2 idle - TN
2026-11-01T04:00:00-03:30 N2 offline
2026-10-31T20:57:00-02:30 N4 idle - TN
2026-11-01T01:50:00-03:30 N4 aux break
2026-11-01T02:15:00-03:30 N4 idle
2026-11-01T05:00:00-03:30 N4 offline
";

pub fn st_johns_json(root: &Path) -> Floor {
    let dir = root.join("st-johns");
    simulate(
        &dir,
        &[
            "--agents",
            "14",
            "--teams",
            "2",
            "--seed",
            "16",
            "--timezone",
            "America/St_Johns",
            "--start",
            "2026-10-31T19:00:00-02:30",
            "--duration",
            "11h",
            "--shift-start",
            "20:00",
            "--shift",
            "8h",
            "--peaks",
            "21:10-22:25,02:05-03:20",
            "--cluster",
            "T02@21:40",
            "--long-break",
            "1@02:20:22",
        ],
    );
    merge_events(&dir, ST_JOHNS_EVENTS);
    json_roster(&dir, ST_JOHNS_ROSTER);
    Floor {
        name: "st-johns-json",
        dir,
        tz: "America/St_Johns",
        roster: "roster.json",
        events: "events.ndjson",
        windows: &["15m", "60m", "today", "peak_today", "3h"],
        toml: "[peak]\nwindows = [\"21:10-22:25\", \"02:05-03:20\"]\n",
        oracle_cfg: r#"{"peak_windows": ["21:10-22:25", "02:05-03:20"]}"#,
        threshold_secs: 300,
        nows: &[
            None,
            Some("2026-11-01T02:30:00Z"),     // 00:00 -02:30: `today` is empty
            Some("2026-11-01T04:29:59.999Z"), // the first 01:59:59.999
            Some("2026-11-01T04:30:00Z"),     // the second 01:00
        ],
    }
}
