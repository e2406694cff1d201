#!/usr/bin/env python3
"""Independent exact computation of floorwatch's roster and schedule-adherence figures
(SPEC §9), written from SPEC.md and docs/*.md only -- never from src/.

It is a brute-force scan: for every agent the time line is cut at every instant where
anything can change (an event, a shift or activity boundary, a window boundary, now), and
every figure is a sum over the pieces, each piece judged straight from the SPEC's words.
All instants and durations are integer milliseconds, so seconds are exact.

What it computes, at `now`, with the event clock of `floorwatch replay`:
  - per agent (seen, or scheduled and never seen), team and the floor, per window: the
    §3.1 state seconds, `planned_aux_s` with scheduled aux planned (§9.2), `logged_in_s`,
    `staffed_s`, `scheduled_s`, `in_adherence_s`, `talk_utilization`, `aux_ratio`,
    `planned_aux_ratio`, `adherence`, `conformance`; for teams and the floor the six §3.3
    dispersion fields; the current counts and each team's `peak` flag;
  - peak time per team (§4.1): the configured windows and, with `peak.busy_share`, each
    team's load peaks (busy share held for `hold_secs` starts one, below it for `hold_secs`
    ends it), which shape `peak`, `peak_today` (per agent: its current team's peak time)
    and the rules that look at peak;
  - per agent: state, reason, team, `scheduled` (the activity now), `out_of_adherence_since`;
  - the alerts `out_of_adherence` (§9.3), `long_aux` and `aux_cluster` (§4.2, with §9.2's
    scheduled aux counted as planned), and the whole-minute team rules `aux_dispersion`
    (peak_today aux-rate CV, scheduled aux planned) and `utilization_high` (60-minute
    talking over staffed time, staffed = scheduled with a roster);
  - the ingest outcome counts (§2.2).
Not modelled: call events, roster uploads after the start, contacts and AHT.

Usage:
    adherence_oracle.py --roster R.csv|R.json --events E.ndjson --tz ZONE
                        [--windows 15m,60m,today,peak_today] [--now T]
                        [--threshold 300] [--config-json '{...}']
    adherence_oracle.py localize --tz ZONE IN.csv OUT.csv
        (rewrites a CSV roster's RFC 3339 UTC times into the floor's local forms:
         local `YYYY-MM-DD HH:MM[:SS]` and RFC 3339 with the local offset)
    adherence_oracle.py jsonify IN.csv OUT.json
        (rewrites a CSV roster of RFC 3339 times as the JSON form, epoch ms and text)

Output (stdout, one JSON document):
    {"now": "...Z", "windows": [...], "ingest": {"applied", "duplicate", "late", "invalid"},
     "agents": {id: {"team", "state", "reason", "scheduled", "out_of_adherence_since",
                     "aux_unplanned", "rostered", "seen", "windows": {w: {figures}}}},
     "teams": {id: {"peak", "current": {counts}, "windows": {w: {figures + dispersion}}}},
     "floor": {"current": {...}, "windows": {...}},
     "alerts": [{"id", "kind", "severity", "team", "agent", "started_at", "fired_at",
                 "resolved_at", "state", "value", "threshold", "agents"}],
     "load_peaks": {team: [[start, end or null while on at now], ...]}}
Seconds are floats holding whole milliseconds; ratios are null on a zero denominator.
"""

import argparse
import bisect
import csv
import io
import json
import math
import re
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
STATES = ("talking", "acw", "aux", "idle", "offline")

# §2.3: built-in state aliases (matched without regard to ASCII case).
ALIASES = {
    "available": "idle", "ready": "idle",
    "not_ready": "aux", "notready": "aux", "break": "aux",
    "wrapup": "acw", "wrap": "acw", "after_call_work": "acw",
    "busy": "talking", "on_call": "talking", "oncall": "talking",
    "logout": "offline", "logged_out": "offline",
}

DEFAULTS = {
    "planned_reasons": ["training", "meeting", "coaching", "lunch"],
    "peak_windows": ["09:30-11:30", "14:00-16:30"],
    "dispersion_min_logged_secs": 300,
    "max_backfill_secs": 7200,
    "allowed": {},                      # [adherence.allowed] overrides
    "long_aux_max_secs": 600,
    "long_aux_per_reason": {},
    "aliases": {},
    "min_team": 5,                      # [floor] min_team
    "cluster_min_agents": 3,            # [alerts.aux_cluster]
    "cluster_share": 1 / 6,
    "cluster_baseline": 0.085,
    "cluster_alpha": 0.05,
    "cluster_hold_secs": 60,
    "busy_share": None,                 # [peak] busy_share: absent = no load peak
    "peak_hold_secs": 300,              # [peak] hold_secs
    "dispersion_cv_limit": 0.16,        # [alerts.aux_dispersion]
    "dispersion_min_members": 5,
    "dispersion_consecutive": 3,
    "dispersion_min_peak_secs": 1800,
    "utilization_high": 0.74,           # [alerts.utilization_high] high
    "utilization_consecutive": 3,
}


# ----------------------------------------------------------------------------------------
# Time
# ----------------------------------------------------------------------------------------

RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))?$")
DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
EPOCH = datetime(1970, 1, 1)


def naive_ms(dt):
    """Milliseconds of a naive datetime counted from 1970-01-01 00:00 (no zone)."""
    d = dt - EPOCH
    return (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000


def parse_rfc3339(s):
    m = RFC3339.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    frac = m.group(7) or ""
    ms = int((frac[1:] + "000")[:3]) if frac else 0
    off = m.group(8)
    off_ms = 0
    if off not in ("Z", "z"):
        sign = -1 if off[0] == "-" else 1
        off_ms = sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60) * 1000
    return naive_ms(datetime(y, mo, d, h, mi, se)) + ms - off_ms


def local_candidates(naive, tz):
    """The UTC instants (ms) whose wall time in tz is `naive`, earliest first ([] in a gap)."""
    out = set()
    for fold in (0, 1):
        off = naive.replace(tzinfo=tz, fold=fold).utcoffset()
        t = naive_ms(naive) - int(off.total_seconds() * 1000)
        if wall(t, tz) == naive:
            out.add(t)
    return sorted(out)


def wall(t, tz):
    """The naive local wall time of instant t (ms) in tz."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t)).astimezone(tz).replace(tzinfo=None)


def local_to_ms(naive, tz):
    """§9.1 / docs: a local time on a DST fold takes the earlier instant; one in a gap is
    moved forward by the gap (02:30 on a spring-forward night in New York is 03:30)."""
    c = local_candidates(naive, tz)
    if c:
        return c[0]
    # In a gap: read the wall time with the offset in force before the gap, which is the
    # same as moving it forward by the gap's length (PEP 495: fold=0 in a gap uses it).
    off = naive.replace(tzinfo=tz, fold=0).utcoffset()
    return naive_ms(naive) - int(off.total_seconds() * 1000)


def local_to_ms_first_valid(naive, tz):
    """docs/figures.md (peak windows): a boundary in a DST gap moves forward to the first
    valid time, i.e. the instant the gap ends. Folds take the earlier instant."""
    c = local_candidates(naive, tz)
    if c:
        return c[0]
    lo = naive_ms(naive) - int(naive.replace(tzinfo=tz, fold=1).utcoffset().total_seconds() * 1000)
    hi = naive_ms(naive) - int(naive.replace(tzinfo=tz, fold=0).utcoffset().total_seconds() * 1000)
    lo, hi = min(lo, hi), max(lo, hi)
    # First instant whose wall time is >= naive.
    while lo < hi:
        mid = (lo + hi) // 2
        if wall(mid, tz) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return lo


def parse_roster_time(v, tz):
    """A roster time: RFC 3339 with an offset, local `YYYY-MM-DD HH:MM[:SS]`, or (JSON)
    integer epoch milliseconds."""
    if isinstance(v, bool):
        raise ValueError(f"bad time {v!r}")
    if isinstance(v, int):
        return v
    if not isinstance(v, str):
        raise ValueError(f"bad time {v!r}")
    s = v.strip()
    t = parse_rfc3339(s)
    if t is not None:
        return t
    m = LOCAL.match(s)
    if m:
        y, mo, d, h, mi = (int(x) for x in m.group(1, 2, 3, 4, 5))
        se = int(m.group(6) or 0)
        return local_to_ms(datetime(y, mo, d, h, mi, se), tz)
    raise ValueError(f"bad time {v!r}")


def fmt(t):
    """RFC 3339 UTC with milliseconds, as the snapshot writes instants."""
    if t is None:
        return None
    dt = datetime(1970, 1, 1) + timedelta(milliseconds=t)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 1000:03d}Z"


def parse_event_ts(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        return parse_rfc3339(v)
    return None


# ----------------------------------------------------------------------------------------
# Roster (§9.1)
# ----------------------------------------------------------------------------------------

class Schedule:
    """One agent's schedule: merged shifts and the activities inside them."""

    def __init__(self):
        self.raw_shifts = []   # (start, end)
        self.activities = []   # (start, end, name, listing order)
        self.shifts = []       # merged, sorted, disjoint and non-touching (start, end)

    def finish(self):
        # "Shifts that overlap or touch merge."
        merged = []
        for s, e in sorted(self.raw_shifts):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self.shifts = [tuple(x) for x in merged]
        self.shift_starts = [s for s, _ in self.shifts]

    def in_shift(self, t):
        i = bisect.bisect_right(self.shift_starts, t) - 1
        return i >= 0 and self.shifts[i][0] <= t < self.shifts[i][1]

    def activity_at(self, t):
        """§9.1: `off` when no shift covers t; else the activity whose span covers t (the one
        starting last; a tie: the one listed later); else `work`. Spans are [start, end)."""
        if not self.in_shift(t):
            return "off"
        best = None
        for s, e, name, order in self.activities:
            if s <= t < e and (best is None or (s, order) > (best[0], best[1])):
                best = (s, order, name)
        return best[2] if best else "work"

    def boundaries(self):
        out = set()
        for s, e in self.shifts:
            out.update((s, e))
        for s, e, _, _ in self.activities:
            out.update((s, e))
        return out


DAY_OFF = {"off", "day off", "dayoff", "day_off"}
HEADER_NAMES = {
    "agent": {"agent", "agentid", "employee", "employeeid"},
    "start": {"start", "starttime"},
    "end": {"end", "endtime", "stop", "stoptime"},
    "activity": {"activity", "activityname", "activitytype", "segment"},
}


def norm_header(h):
    return re.sub(r"[ _\-]", "", h.strip().lower())


def csv_separator(header_line):
    """docs: whichever of `,` `;` tab occurs most often in the header line outside quotes
    (a comma when none does, or on a tie)."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts.values())
    winners = [c for c, n in counts.items() if n == best]
    if best == 0 or len(winners) > 1:
        return ","
    return winners[0]


def fold_activity(name):
    """docs: `shift` in any case is the shift; day-off words in any case; any other name is
    folded to lower case."""
    low = name.strip().lower()
    if low == "shift":
        return "shift"
    if low in DAY_OFF:
        return "off"
    return low


def load_roster(text, tz):
    """Returns {agent: Schedule}. Every agent the roster names (a shift, an activity or a day
    off) is in the map."""
    sched = {}
    order = 0
    if text.lstrip()[:1] in ("{", "["):
        doc = json.loads(text)
        if not isinstance(doc, dict) or set(doc) != {"agents"}:
            raise ValueError("a JSON roster is an object with `agents`")
        for a in doc["agents"]:
            extra = set(a) - {"agent", "shifts", "days_off"}
            if extra:
                raise ValueError(f"unknown field {extra}")
            shifts = a.get("shifts") or []
            days = a.get("days_off") or []
            if not shifts and not days:
                continue  # names no day: nothing of its schedule changes
            s = sched.setdefault(a["agent"], Schedule())
            for sh in shifts:
                if set(sh) - {"start", "end", "activities"}:
                    raise ValueError(f"unknown field in shift {sh}")
                st, en = parse_roster_time(sh["start"], tz), parse_roster_time(sh["end"], tz)
                if en <= st:
                    raise ValueError(f"shift end not after start: {sh}")
                s.raw_shifts.append((st, en))
                for act in sh.get("activities") or []:
                    if set(act) - {"activity", "start", "end"}:
                        raise ValueError(f"unknown field in activity {act}")
                    name = fold_activity(act["activity"])
                    if name in ("shift", "off"):
                        raise ValueError(f"{name} is not an activity inside a shift")
                    ast, aen = parse_roster_time(act["start"], tz), parse_roster_time(act["end"], tz)
                    if aen <= ast:
                        raise ValueError(f"activity end not after start: {act}")
                    order += 1
                    s.activities.append((ast, aen, name, order))
            for d in days:
                if not DATE.match(d):
                    raise ValueError(f"bad day off {d!r}")
    else:
        lines = text.splitlines()
        sep = csv_separator(lines[0])
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
        header = [norm_header(h) for h in rows[0]]
        col = {}
        for key, names in HEADER_NAMES.items():
            idx = [i for i, h in enumerate(header) if h in names]
            if len(idx) != 1:
                raise ValueError(f"header: {key} found {len(idx)} times")
            col[key] = idx[0]
        for line_no, row in enumerate(rows[1:], start=2):
            if not row or all(not f.strip() for f in row):
                continue
            agent = row[col["agent"]].strip()
            act = fold_activity(row[col["activity"]])
            s = sched.setdefault(agent, Schedule())
            if act == "off":
                continue  # a day off adds no shift (one upload: nothing earlier to cancel)
            st = parse_roster_time(row[col["start"]], tz)
            en = parse_roster_time(row[col["end"]], tz)
            if en <= st:
                raise ValueError(f"line {line_no}: end not after start")
            if act == "shift":
                s.raw_shifts.append((st, en))
            else:
                order += 1
                s.activities.append((st, en, act, order))
    for s in sched.values():
        s.finish()
    return sched


# ----------------------------------------------------------------------------------------
# Events (§2): outcomes and each agent's timeline
# ----------------------------------------------------------------------------------------

class Timeline:
    def __init__(self, agent):
        self.agent = agent
        self.times = []     # instants where state/reason changed (strictly increasing)
        self.states = []    # (state, reason) from that instant on; reason None unless aux
        self.team_times = []
        self.teams = []
        # bookkeeping for outcomes
        self.last_ts = None
        self.last_seq = None
        self.last_key = None
        self.team = "unassigned"

    def state_at(self, t):
        """(state, reason) in force at t, after every event stamped t; None before the
        agent's first event."""
        i = bisect.bisect_right(self.times, t) - 1
        return self.states[i] if i >= 0 else None

    def team_at(self, t):
        i = bisect.bisect_right(self.team_times, t) - 1
        return self.teams[i] if i >= 0 else None

    def first(self):
        return self.times[0] if self.times else None


def judge(raw, agents, clock, aliases, backfill):
    """§2.2 outcome of one line: None (blank), "invalid", "duplicate", "late", or the
    applied event's fields (ts, agent, state, reason, seq, team)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        ev = json.loads(raw)
    except ValueError:
        return "invalid"                                   # not_json
    if not isinstance(ev, dict):
        return "invalid"                                   # not_object
    if "call" in ev and ev["call"] is not None:
        raise SystemExit("oracle: call events are not modelled; simulate with --queues 0")
    agent, state, ts = ev.get("agent"), ev.get("state"), parse_event_ts(ev.get("ts"))
    if not isinstance(agent, str) or not isinstance(state, str) or ts is None:
        return "invalid"                                   # missing / bad type / bad ts
    if not (1 <= len(agent.encode()) <= 64) or not agent.isprintable():
        return "invalid"
    st = state.lower()
    st = st if st in STATES else aliases.get(st)
    if st is None:
        return "invalid"                                   # unknown_state
    for f in ("team", "reason", "name"):
        if ev.get(f) is not None and not isinstance(ev[f], str):
            return "invalid"                               # bad_type
    seq = ev.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        return "invalid"
    reason = None
    if st == "aux":
        reason = ev.get("reason") if ev.get("reason") is not None else "unspecified"
    tl = agents.get(agent)
    if tl is not None:                                     # duplicate, checked before late
        if seq is not None and tl.last_seq is not None and seq <= tl.last_seq:
            return "duplicate"
        if seq is None and tl.last_key == (ts, st, reason):
            return "duplicate"
    if tl is not None and ts < tl.last_ts:
        return "late"                                      # older_than_last
    if clock is not None and ts < clock - backfill:
        return "late"                                      # too_old
    return ts, agent, st, reason, seq, ev.get("team")


def judge_all(lines, aliases, backfill):
    """Judges the lines in order (§2.2); returns (applied, ingest, clock): the applied
    events (ts, agent, state, reason, team) in order, the outcome counts, the event clock."""
    agents = {}
    clock = None
    applied = []
    ingest = dict.fromkeys(("applied", "duplicate", "late", "invalid"), 0)
    for raw in lines:
        outcome = judge(raw, agents, clock, aliases, backfill)
        if outcome is None:
            continue                                   # a blank line is no event
        if isinstance(outcome, str):
            ingest[outcome] += 1
            continue
        ingest["applied"] += 1
        ts, agent, st, reason, seq, team = outcome
        tl = agents.get(agent)
        if tl is None:
            tl = agents[agent] = Timeline(agent)
        tl.last_ts = ts
        if seq is not None:
            tl.last_seq = seq
        tl.last_key = (ts, st, reason)
        clock = ts if clock is None else max(clock, ts)
        applied.append((ts, agent, st, reason, team))
    return applied, ingest, clock


def stamp_of(raw):
    """A line's `ts` in epoch ms, None when it has none (or is no event)."""
    try:
        ev = json.loads(raw)
    except ValueError:
        return None
    return parse_event_ts(ev.get("ts")) if isinstance(ev, dict) else None


def load_events(lines, cfg, now_arg):
    """Applies the NDJSON lines with the event clock; returns ({agent: Timeline}, now).
    `ingest` counts every line of the file. With `--now T` the timelines are those of the
    lines stamped at or before T, judged among themselves, as if nothing after T had
    happened yet (`replay --now`, SPEC §5.1): a line behind an agent's later lines in the
    file is late only if one of those is at or before T."""
    aliases = dict(ALIASES)
    aliases.update({k.lower(): v for k, v in cfg["aliases"].items()})
    backfill = cfg["max_backfill_secs"] * 1000
    applied, ingest, clock = judge_all(lines, aliases, backfill)

    if now_arg is not None:
        now = now_arg
        upto = [raw for raw in lines if (t := stamp_of(raw)) is not None and t <= now]
        applied = judge_all(upto, aliases, backfill)[0]
    elif clock is not None:
        now = clock
    else:
        raise SystemExit("oracle: no event applied")

    timelines = {}
    for ts, agent, st, reason, team in applied:  # all stamped at or before now
        tl = timelines.get(agent)
        if tl is None:
            tl = timelines[agent] = Timeline(agent)
        # state: an event repeating the current state and reason changes nothing but the
        # bookkeeping; several events at one instant: the state after the last of them.
        cur = tl.states[-1] if tl.states else None
        if cur != (st, reason):
            if tl.times and tl.times[-1] == ts:
                tl.states[-1] = (st, reason)
                if len(tl.states) >= 2 and tl.states[-2] == tl.states[-1]:
                    tl.times.pop()
                    tl.states.pop()
            else:
                tl.times.append(ts)
                tl.states.append((st, reason))
        # team: sticky; an agent never given one is in `unassigned`
        if team is not None:
            tl.team = team
        if not tl.team_times or tl.teams[-1] != tl.team:
            if tl.team_times and tl.team_times[-1] == ts:
                tl.teams[-1] = tl.team
            else:
                tl.team_times.append(ts)
                tl.teams.append(tl.team)
    return timelines, now, ingest


# ----------------------------------------------------------------------------------------
# Judging one instant (§9.1 allowed states, §9.2 scheduled aux is planned)
# ----------------------------------------------------------------------------------------

def allowed_entries(activity, cfg):
    """[adherence.allowed] or the defaults: work -> talking, acw, idle; off -> offline; any
    other activity A -> offline, aux:A (training/meeting/coaching: also any planned reason)."""
    conf = {k.lower(): v for k, v in sorted(cfg["allowed"].items(), key=lambda kv: kv[0] == kv[0].lower())}
    if activity in conf:
        return conf[activity]
    if activity == "work":
        return ["talking", "acw", "idle"]
    if activity == "off":
        return ["offline"]
    entries = ["offline", "aux:" + activity]
    if activity in ("training", "meeting", "coaching"):
        entries += ["aux:" + r for r in cfg["planned_reasons"]]
    return entries


def allows(activity, state, reason, cfg):
    for e in allowed_entries(activity, cfg):
        if e == state:
            return True
        if state == "aux" and e.startswith("aux:") and e[4:] == reason:
            return True
    return False


def aux_planned(state, reason, activity, rostered, cfg):
    """Aux is planned when its reason's category is planned (§2.3), or -- for an agent with a
    roster -- when the scheduled activity at that instant allows it (§9.2)."""
    if state != "aux":
        return False
    if reason in cfg["planned_reasons"]:
        return True
    return rostered and allows(activity, "aux", reason, cfg)


# ----------------------------------------------------------------------------------------
# Pieces: an agent's time line cut where anything can change
# ----------------------------------------------------------------------------------------

class Piece:
    __slots__ = ("a", "b", "state", "reason", "activity", "seen")


def pieces(tl, sch, cuts, lo, now, cfg):
    """Constant pieces [a, b) covering [lo, now). `state` is the agent's state (offline
    before its first event, §9.2), `seen` whether the agent existed then (state seconds are
    only counted for an agent that exists, §3)."""
    pts = set(cuts)
    if tl is not None:
        pts.update(tl.times)
    if sch is not None:
        pts.update(sch.boundaries())
    pts = sorted(t for t in pts if lo < t < now)
    edges = [lo] + pts + [now]
    out = []
    for a, b in zip(edges, edges[1:]):
        if a >= b:
            continue
        p = Piece()
        p.a, p.b = a, b
        sr = tl.state_at(a) if tl is not None else None
        p.seen = sr is not None
        p.state, p.reason = sr if sr is not None else ("offline", None)
        p.activity = sch.activity_at(a) if sch is not None else None
        out.append(p)
    return out


def overlap(a, b, intervals):
    return sum(max(0, min(b, e) - max(a, s)) for s, e in intervals)


# ----------------------------------------------------------------------------------------
# Windows (§3.1)
# ----------------------------------------------------------------------------------------

def parse_duration(w):
    m = re.fullmatch(r"(\d+)([smh])", w)
    if not m:
        raise ValueError(f"bad window {w!r}")
    return int(m.group(1)) * {"s": 1000, "m": 60000, "h": 3600000}[m.group(2)]


def local_midnight(now, tz):
    d = wall(now, tz).date()
    return local_to_ms_first_valid(datetime(d.year, d.month, d.day), tz)


def peak_intervals(today_start, now, tz, peaks):
    """§4.1 configured peak windows (local, every day, closed-open, may wrap midnight),
    intersected with today = [local midnight, now). No load peak (busy_share unset)."""
    out = []
    d0 = wall(today_start, tz).date()
    for day in (d0 - timedelta(days=1), d0):
        for p in peaks:
            a, b = p.split("-")
            ah, am = (int(x) for x in a.split(":"))
            bh, bm = (int(x) for x in b.split(":"))
            s = local_to_ms_first_valid(datetime(day.year, day.month, day.day, ah, am), tz)
            eday = day + timedelta(days=1) if (bh, bm) <= (ah, am) else day
            e = local_to_ms_first_valid(datetime(eday.year, eday.month, eday.day, bh, bm), tz)
            s, e = max(s, today_start), min(e, now)
            if s < e:
                out.append((s, e))
    return out


def window_intervals(windows, now, tz, cfg):
    today = local_midnight(now, tz)
    out = {}
    for w in windows:
        if w == "today":
            out[w] = [(today, now)] if today < now else []
        elif w == "peak_today":
            out[w] = peak_intervals(today, now, tz, cfg["peak_windows"])
        else:
            out[w] = [(now - parse_duration(w), now)]
    return out


# ----------------------------------------------------------------------------------------
# Peak time per team (§4.1): the configured windows, and with busy_share the load peaks
# ----------------------------------------------------------------------------------------

def merge(intervals):
    """Sorted union of [s, e) intervals (touching ones joined: peak time is a set)."""
    out = []
    for s, e in sorted(intervals):
        if s >= e:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [tuple(x) for x in out]


def clip(intervals, a, b):
    return [(max(s, a), min(e, b)) for s, e in intervals if max(s, a) < min(e, b)]


def measure(intervals):
    return sum(e - s for s, e in intervals)


def inside(intervals, t):
    return any(s <= t < e for s, e in intervals)


def runs_of(steps, now):
    """steps: [(t, value)] in time order (value from t on; before the first: False) ->
    maximal runs [start, end, value] covering up to now."""
    runs = []
    for j, (t, v) in enumerate(steps):
        if t >= now:
            break
        end = steps[j + 1][0] if j + 1 < len(steps) else now
        end = min(end, now)
        if runs and runs[-1][2] == v:
            runs[-1][1] = end
        else:
            runs.append([t, end, v])
    return runs


def hysteresis(runs, hold, now):
    """[(on, off)] where the condition held throughout [t0, t0 + hold) -> on = t0 + hold;
    then false throughout [t1, t1 + hold) -> off = t1 + hold; still on at now -> off None."""
    out, on = [], None
    for s, e, v in runs:
        if e - s < hold:
            continue
        if on is None and v:
            on = s + hold
        elif on is not None and not v:
            out.append((on, s + hold))
            on = None
    if on is not None:
        out.append((on, None))
    return out


def census_steps(timelines):
    """{team: [(t, N logged in, busy = talking or acw)]}: each team's counts after every
    event stamped t, recorded where they change (membership and states at an instant)."""
    at = {}
    for a, tl in timelines.items():
        for t in tl.times:
            at.setdefault(t, set()).add(a)
        for t in tl.team_times:
            at.setdefault(t, set()).add(a)
    cur = {}                                   # agent -> (team, logged in, busy)
    count = {}                                 # team -> [N, busy]
    steps = {}
    for t in sorted(at):
        touched = set()
        for a in at[t]:
            tl = timelines[a]
            old = cur.get(a)
            if old is not None:
                c = count[old[0]]
                c[0] -= old[1]
                c[1] -= old[2]
                touched.add(old[0])
            st, _ = tl.state_at(t)
            team = tl.team_at(t)
            new = (team, int(st != "offline"), int(st in ("talking", "acw")))
            cur[a] = new
            c = count.setdefault(team, [0, 0])
            c[0] += new[1]
            c[1] += new[2]
            touched.add(team)
        for team in touched:
            n, b = count[team]
            seq = steps.setdefault(team, [])
            if not seq or seq[-1][1:] != (n, b):
                seq.append((t, n, b))
    return steps


class Peaks:
    """§4.1: a team is at peak at t when t falls in a configured window (local, every day,
    closed-open; every team) or, with `peak.busy_share`, in one of its load peaks: the share
    of its logged-in members in talking + acw >= busy_share with >= min_team logged in
    throughout [t0, t0 + hold) starts one at t0 + hold; below it (or fewer logged in)
    throughout [t1, t1 + hold) ends it at t1 + hold. Only instants <= now are asked for."""

    def __init__(self, timelines, lo, now, tz, cfg):
        conf = []
        d, last = wall(lo, tz).date() - timedelta(days=1), wall(now, tz).date()
        while d <= last:
            start = local_to_ms_first_valid(datetime(d.year, d.month, d.day), tz)
            conf += peak_intervals(start, now + 1, tz, cfg["peak_windows"])
            d += timedelta(days=1)
        self.conf = merge(conf)
        self.load = {}
        share = cfg["busy_share"]
        if share is not None:
            hold = cfg["peak_hold_secs"] * 1000
            for team, seq in census_steps(timelines).items():
                truth = [(t, n > 0 and n >= cfg["min_team"] and b / n >= share) for t, n, b in seq]
                ivs = [(on, now + 1 if off is None else off)
                       for on, off in hysteresis(runs_of(truth, now), hold, now)]
                if ivs:
                    self.load[team] = ivs
        self.by_team = {team: merge(self.conf + ivs) for team, ivs in self.load.items()}

    def of(self, team):
        return self.by_team.get(team, self.conf)

    def at(self, team, t):
        return inside(self.of(team), t)

    def today(self, team, midnight, t):
        """peak_today at t for a member of `team`: its peak time in [midnight, t)."""
        return clip(self.of(team), midnight, t)

    def any_at(self, t):
        """Some team at peak at t."""
        return inside(self.conf, t) or any(inside(ivs, t) for ivs in self.load.values())

    def boundaries(self):
        return {x for ivs in self.load.values() for se in ivs for x in se} | {x for se in self.conf for x in se}


# ----------------------------------------------------------------------------------------
# Figures (§3.1, §3.3, §9.2)
# ----------------------------------------------------------------------------------------

SUM_KEYS = ("talking", "acw", "aux", "idle", "offline", "planned_aux",
            "scheduled", "in_adherence", "work", "conform", "staffed")


def ratio(n, d):
    return None if d == 0 else n / d


def agent_sums(ps, intervals, rostered, cfg):
    """Integer-ms sums for one agent over one window (a list of intervals)."""
    s = dict.fromkeys(SUM_KEYS, 0)
    for p in ps:
        d = overlap(p.a, p.b, intervals)
        if d == 0:
            continue
        if p.seen:
            s[p.state] += d
            if aux_planned(p.state, p.reason, p.activity, rostered, cfg):
                s["planned_aux"] += d
        if rostered and p.activity != "off":
            s["scheduled"] += d                                   # shift time in the window
            if allows(p.activity, p.state, p.reason, cfg):
                s["in_adherence"] += d
            if p.activity == "work":
                s["work"] += d
                if p.state in ("talking", "acw", "idle"):
                    s["conform"] += d
    logged = s["talking"] + s["acw"] + s["aux"] + s["idle"]
    s["staffed"] = s["scheduled"] if rostered else logged
    return s


def figures(s):
    logged = s["talking"] + s["acw"] + s["aux"] + s["idle"]
    sec = lambda ms: ms / 1000.0
    return {
        "talking_s": sec(s["talking"]), "acw_s": sec(s["acw"]), "aux_s": sec(s["aux"]),
        "idle_s": sec(s["idle"]), "offline_s": sec(s["offline"]),
        "planned_aux_s": sec(s["planned_aux"]), "logged_in_s": sec(logged),
        "staffed_s": sec(s["staffed"]), "scheduled_s": sec(s["scheduled"]),
        "in_adherence_s": sec(s["in_adherence"]),
        "talk_utilization": ratio(s["talking"], s["staffed"]),
        "aux_ratio": ratio(s["aux"] - s["planned_aux"], logged),
        "planned_aux_ratio": ratio(s["planned_aux"], logged),
        "adherence": ratio(s["in_adherence"], s["scheduled"]),
        "conformance": ratio(s["conform"], s["work"]),
    }


def dispersion(values):
    """mean, population std, CV (null with < 2 values or mean 0); mean/std null with none."""
    if not values:
        return None, None, None
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in values) / n)
    cv = None if n < 2 or mean == 0 else std / mean
    return mean, std, cv


def group_figures(member_sums, cfg):
    tot = dict.fromkeys(SUM_KEYS, 0)
    for s in member_sums:
        for k in SUM_KEYS:
            tot[k] += s[k]
    f = figures(tot)
    min_logged = cfg["dispersion_min_logged_secs"] * 1000
    aux_vals, util_vals = [], []
    for s in member_sums:
        logged = s["talking"] + s["acw"] + s["aux"] + s["idle"]
        if logged >= min_logged:
            aux_vals.append((s["aux"] - s["planned_aux"]) / logged)
            if s["staffed"] > 0:    # §9.2: a member with staffed_s 0 leaves the utilization ones
                util_vals.append(s["talking"] / s["staffed"])
    f["aux_ratio_mean"], f["aux_ratio_std"], f["aux_ratio_cv"] = dispersion(aux_vals)
    (f["talk_utilization_mean"], f["talk_utilization_std"],
     f["talk_utilization_cv"]) = dispersion(util_vals)
    return f


# ----------------------------------------------------------------------------------------
# Alerts: out_of_adherence (§9.3) and long_aux (§4.2 with §9.2's scheduled aux)
# ----------------------------------------------------------------------------------------

def stretches(ps, pred, now, open_at_now):
    """Maximal runs [start, end) of consecutive pieces where pred holds. A run reaching now
    is still open (end None) when pred holds at the instant now itself."""
    runs = []
    for p in ps:
        if pred(p):
            if runs and runs[-1][1] == p.a:
                runs[-1][1] = p.b
            else:
                runs.append([p.a, p.b])
    out = []
    for s, e in runs:
        out.append((s, None if (e == now and open_at_now) else e))
    return out


def alert_team(tl, t):
    """The agent's team at t (SPEC 9.3: 'team is the agent's team at fired_at'); an agent
    with no event stamped at or before t was a no-show then, in `unassigned` (9.2), however
    soon after it logged in."""
    if tl is None:
        return "unassigned"
    team = tl.team_at(t)
    return team if team is not None else "unassigned"


def make_alert(kind, team, agent, start, limit_ms, end, now):
    fired = start + limit_ms
    if fired > now or (end is not None and end - start < limit_ms):
        return None
    return {
        "id": f"{kind}:{team}:{agent}:{start}", "kind": kind, "team": team, "agent": agent,
        "severity": "warning",    # out_of_adherence and long_aux alike
        "started_at": fmt(start), "fired_at": fmt(fired),
        "resolved_at": fmt(end), "state": "resolved" if end is not None else "firing",
        "value": limit_ms / 1000.0, "threshold": limit_ms / 1000.0, "agents": [agent],
    }


def agent_alerts(agent, tl, sch, ps, now, cfg, threshold_ms):
    out = []
    rostered = sch is not None
    # state at the instant now (after every event stamped now); offline before the first
    sr = tl.state_at(now) if tl is not None else None
    st_now, rs_now = sr if sr is not None else ("offline", None)
    act_now = sch.activity_at(now) if rostered else None

    if rostered:
        # Out of adherence continuously during scheduled shift time (§9.3).
        out_pred = lambda p: p.activity != "off" and not allows(p.activity, p.state, p.reason, cfg)
        open_now = act_now != "off" and not allows(act_now, st_now, rs_now, cfg)
        for s, e in stretches(ps, out_pred, now, open_now):
            a = make_alert("out_of_adherence", None, agent, s, threshold_ms, e, now)
            if a:
                team = alert_team(tl, s + threshold_ms)
                a["team"], a["id"] = team, f"out_of_adherence:{team}:{agent}:{s}"
                out.append(a)

    if tl is not None:
        # Continuously in unplanned aux; the limit by the reason at the stretch's entry.
        un_pred = lambda p: p.seen and p.state == "aux" and not aux_planned(
            p.state, p.reason, p.activity, rostered, cfg)
        open_now = st_now == "aux" and not aux_planned(st_now, rs_now, act_now, rostered, cfg)
        for s, e in stretches(ps, un_pred, now, open_now):
            reason = tl.state_at(s)[1]
            limit = cfg["long_aux_per_reason"].get(reason, cfg["long_aux_max_secs"]) * 1000
            a = make_alert("long_aux", None, agent, s, limit, e, now)
            if a:
                team = alert_team(tl, s + limit)
                a["team"], a["id"] = team, f"long_aux:{team}:{agent}:{s}"
                out.append(a)
    return out


def binomial_tail(n, k, p):
    """P(X >= k), X ~ Bin(n, p)."""
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1))


def cluster_alerts(timelines, sched, peaks, lo, now, tz, cfg):
    """aux_cluster (§4.2), per team: at peak, N logged-in members >= min_team, k members in
    unplanned aux (scheduled aux is planned, §9.2) >= min_agents, k/N >= share (1e-9
    tolerance), P(X >= k) < alpha. Fires at t0 + hold once true throughout [t0, t0 + hold);
    resolves at t1 + hold once false throughout [t1, t1 + hold). Membership and states at an
    instant are those after every event stamped at that instant. Peak time per team
    (configured windows and load peaks) from `peaks`."""
    hold = cfg["cluster_hold_secs"] * 1000
    cuts = peaks.boundaries()
    for tl in timelines.values():
        cuts.update(tl.times)
        cuts.update(tl.team_times)
    for a, s in sched.items():
        if a in timelines:
            cuts.update(s.boundaries())
    cuts = sorted(t for t in cuts if lo <= t <= now)

    def census(t):
        """{team: (N logged in, [agents in unplanned aux])} at instant t."""
        out = {}
        for a, tl in timelines.items():
            sr = tl.state_at(t)
            if sr is None or sr[0] == "offline":
                continue
            team = tl.team_at(t)
            n, aux = out.get(team, (0, []))
            if sr[0] == "aux" and sr[1] not in cfg["planned_reasons"]:
                sch = sched.get(a)
                act = sch.activity_at(t) if sch is not None else None
                if not aux_planned("aux", sr[1], act, sch is not None, cfg):
                    aux = aux + [a]
            out[team] = (n + 1, aux)
        return out

    def holds(n, k, peak):
        return (peak and n >= cfg["min_team"] and k >= cfg["cluster_min_agents"]
                and k / n >= cfg["cluster_share"] - 1e-9
                and binomial_tail(n, k, cfg["cluster_baseline"]) < cfg["cluster_alpha"])

    # Truth of the condition per team on each piece [cuts[i], cuts[i+1]) (and at now).
    truth = {}
    for i, t in enumerate(cuts):
        # off peak the condition is false: no need to count
        c = census(t) if peaks.any_at(t) else {}
        for team in set(c) | set(truth):
            n, aux = c.get(team, (0, []))
            truth.setdefault(team, []).append((t, holds(n, len(aux), peaks.at(team, t))))
    alerts = []
    for team, seq in truth.items():
        # runs of equal truth: [(start, end, value)], the last one ending at now
        runs = []
        for j, (t, v) in enumerate(seq):
            end = seq[j + 1][0] if j + 1 < len(seq) else now
            if runs and runs[-1][2] == v:
                runs[-1][1] = end
            else:
                runs.append([t, end, v])
        firing = None
        for s, e, v in runs:
            if firing is None and v and e - s >= hold and s + hold <= now:
                fired = s + hold
                n, aux = census(fired).get(team, (0, []))
                firing = {"id": f"aux_cluster:{team}:{s}", "kind": "aux_cluster", "team": team,
                          "agent": None, "severity": "critical", "started_at": fmt(s), "fired_at": fmt(fired),
                          "resolved_at": None, "state": "firing",
                          "value": len(aux) / n if n else 0.0,
                          "threshold": cfg["cluster_share"], "agents": sorted(aux)}
                alerts.append(firing)
            elif firing is not None and not v and e - s >= hold and s + hold <= now:
                firing["resolved_at"], firing["state"] = fmt(s + hold), "resolved"
                firing = None
    return alerts


# ----------------------------------------------------------------------------------------
# The whole-minute team rules: aux_dispersion and utilization_high (§4.2, §9.2)
# ----------------------------------------------------------------------------------------

class Integrals:
    """One agent's running totals from lo: F(t) = (logged in, unplanned aux, talking,
    staffed) ms in [lo, t), exact, from its pieces (which cover [lo, now) without gaps).
    Unplanned aux treats scheduled aux as planned (§9.2); staffed is scheduled shift time
    for an agent with a roster, else logged-in time (§3.1, §9.2)."""

    def __init__(self, ps, rostered, cfg):
        self.a = [p.a for p in ps]
        self.b = [p.b for p in ps]
        self.rate = []
        self.cum = []
        tot = (0, 0, 0, 0)
        for p in ps:
            logged = int(p.seen and p.state != "offline")
            unpl = int(p.seen and p.state == "aux"
                       and not aux_planned(p.state, p.reason, p.activity, rostered, cfg))
            talk = int(p.seen and p.state == "talking")
            staffed = int(p.activity != "off") if rostered else logged
            r = (logged, unpl, talk, staffed)
            self.rate.append(r)
            self.cum.append(tot)
            d = p.b - p.a
            tot = tuple(x + y * d for x, y in zip(tot, r))

    def F(self, t):
        i = bisect.bisect_right(self.a, t) - 1
        if i < 0:
            return (0, 0, 0, 0)
        d = min(t, self.b[i]) - self.a[i]
        return tuple(c + r * d for c, r in zip(self.cum[i], self.rate[i]))

    def over(self, intervals):
        out = [0, 0, 0, 0]
        for s, e in intervals:
            fs, fe = self.F(s), self.F(e)
            for k in range(4):
                out[k] += fe[k] - fs[k]
        return out


def minute_runs(truth_by_minute, minutes, n):
    """(started, fired, resolved) of the rule: fires at the n-th true minute in a row
    (started = the first of them), resolves at the n-th false minute in a row."""
    out, run, firing = [], [], None
    for m in minutes:
        v = truth_by_minute.get(m, False)
        if firing is None:
            run = run + [m] if v else []
            if len(run) == n:
                firing = [run[0], m, None]
                out.append(firing)
                run = []
        else:
            run = run + [m] if not v else []
            if len(run) == n:
                firing[2] = m
                firing = None
                run = []
    return out


def minute_alerts(members_info, peaks, lo, now, tz, cfg):
    """aux_dispersion and utilization_high, evaluated at every whole minute m (epoch ms
    divisible by 60,000) from the first at or after lo up to now. At m, a team's members are
    the agents whose team at m (after every event stamped m) is it; an agent scheduled but
    not seen by m is, as `replay --now m` lists it, a member of `unassigned` (offline).
      aux_dispersion: the team at peak at m; its peak time today (local midnight of m to m)
        >= min_peak_secs; >= min_members members with logged_in_s >= dispersion_min_logged_secs
        in peak_today; the population CV of their aux_ratio (unplanned, scheduled aux
        planned) >= cv_limit. value = that CV, agents = the qualifying members above the mean.
      utilization_high: >= min_team members logged in at m and the team's 60-minute
        talk_utilization (sum talking / sum staffed over [m - 60 min, m)) > high. value = it,
        agents = the members logged in at m.
    members_info: [(agent, Timeline or None, rostered, Integrals)]."""
    first = -(-lo // 60000) * 60000
    minutes = list(range(first, now + 1, 60000))
    # local midnights around the scan, to find "today" of each minute
    mids = []
    d, last = wall(lo, tz).date() - timedelta(days=1), wall(now, tz).date() + timedelta(days=1)
    while d <= last:
        mids.append(local_to_ms_first_valid(datetime(d.year, d.month, d.day), tz))
        d += timedelta(days=1)
    min_logged = cfg["dispersion_min_logged_secs"] * 1000
    disp, util = {}, {}              # team -> {minute: (value, agents)} for true minutes
    teams_seen = set()
    for m in minutes:
        midnight = mids[bisect.bisect_right(mids, m) - 1]
        by_team = {}
        for agent, tl, rostered, ig in members_info:
            team = tl.team_at(m) if tl is not None else None
            if team is None:
                if not rostered:
                    continue            # does not exist yet
                team, state = "unassigned", "offline"
            else:
                state = tl.state_at(m)[0]
            by_team.setdefault(team, []).append((agent, state, ig))
        for team, ms in by_team.items():
            teams_seen.add(team)
            logged_in = sorted(a for a, st, _ in ms if st != "offline")
            if len(logged_in) >= cfg["min_team"]:
                talk = staffed = 0
                for _, _, ig in ms:
                    _, _, t_, s_ = ig.over([(m - 3600000, m)])
                    talk += t_
                    staffed += s_
                if staffed > 0 and talk / staffed > cfg["utilization_high"]:
                    util.setdefault(team, {})[m] = (talk / staffed, logged_in)
            if not peaks.at(team, m):
                continue
            pt = peaks.today(team, midnight, m)
            if measure(pt) < cfg["dispersion_min_peak_secs"] * 1000:
                continue
            rates = []
            for agent, _, ig in ms:
                logged, unpl, _, _ = ig.over(pt)
                if logged >= min_logged:
                    rates.append((agent, unpl / logged))
            if len(rates) < cfg["dispersion_min_members"]:
                continue
            mean, _, cv = dispersion([r for _, r in rates])
            if cv is not None and cv >= cfg["dispersion_cv_limit"]:
                disp.setdefault(team, {})[m] = (cv, sorted(a for a, r in rates if r > mean))
    alerts = []
    for kind, table, n, thr in (
            ("aux_dispersion", disp, cfg["dispersion_consecutive"], cfg["dispersion_cv_limit"]),
            ("utilization_high", util, cfg["utilization_consecutive"], cfg["utilization_high"])):
        for team, truth in table.items():
            for started, fired, resolved in minute_runs(truth, minutes, n):
                value, agents = truth[fired]
                alerts.append({
                    "id": f"{kind}:{team}:{started}", "kind": kind, "team": team, "agent": None,
                    "severity": "info", "started_at": fmt(started), "fired_at": fmt(fired),
                    "resolved_at": fmt(resolved),
                    "state": "firing" if resolved is None else "resolved",
                    "value": value, "threshold": thr, "agents": agents})
    return alerts


# ----------------------------------------------------------------------------------------
# Main computation
# ----------------------------------------------------------------------------------------

def compute(roster_text, event_lines, tz_name, windows, now_arg, threshold_s, cfg):
    tz = ZoneInfo(tz_name)
    sched = load_roster(roster_text, tz) if roster_text is not None else {}
    timelines, now, ingest = load_events(event_lines, cfg, now_arg)
    wins = window_intervals(windows, now, tz, cfg)
    cuts = {s for iv in wins.values() for se in iv for s in se}

    # Where to start scanning: early enough for every shift, event and window.
    starts = [now] + [iv[0][0] for iv in wins.values() if iv]
    starts += [tl.first() for tl in timelines.values()]
    starts += [s.shifts[0][0] for s in sched.values() if s.shifts]
    today = local_midnight(now, tz)
    lo = min(starts + [today])
    peaks = Peaks(timelines, lo, now, tz, cfg)

    # §9.2: agents scheduled but never seen are listed too (a day-off-only agent is not
    # "scheduled").
    ids = set(timelines) | {a for a, s in sched.items() if s.shifts}
    agents, alerts, members, members_info = {}, [], {}, []
    for agent in sorted(ids):
        tl = timelines.get(agent)
        sch = sched.get(agent)
        rostered = sch is not None
        team = tl.teams[-1] if tl is not None else "unassigned"
        ps = pieces(tl, sch, cuts, lo, now, cfg)
        # peak_today: the part of today its current team was at peak (load peaks per team)
        own = dict(wins)
        if "peak_today" in own:
            own["peak_today"] = peaks.today(team, today, now)
        sums = {w: agent_sums(ps, iv, rostered, cfg) for w, iv in own.items()}
        sr = tl.state_at(now) if tl is not None else None
        state, reason = sr if sr is not None else ("offline", None)
        activity = sch.activity_at(now) if rostered else None
        # out_of_adherence_since: start of the current stretch (null in adherence / off)
        since = None
        if rostered and activity != "off" and not allows(activity, state, reason, cfg):
            since = now
            for p in reversed(ps):
                if p.b == since and p.activity != "off" and not allows(p.activity, p.state, p.reason, cfg):
                    since = p.a
                else:
                    break
        agents[agent] = {
            "team": team, "state": state, "reason": reason, "seen": tl is not None,
            "rostered": rostered, "scheduled": activity, "out_of_adherence_since": fmt(since),
            "aux_unplanned": state == "aux" and not aux_planned(state, reason, activity, rostered, cfg),
            "windows": {w: figures(s) for w, s in sums.items()},
        }
        members.setdefault(team, []).append((agent, sums))
        alerts += agent_alerts(agent, tl, sch, ps, now, cfg, threshold_s * 1000)
        members_info.append((agent, tl, rostered, Integrals(ps, rostered, cfg)))

    def current(ids_):
        c = dict.fromkeys(("talking", "acw", "aux", "aux_unplanned", "idle", "offline", "logged_in"), 0)
        for a in ids_:
            st = agents[a]["state"]
            c[st] += 1
            if st != "offline":
                c["logged_in"] += 1
            if agents[a]["aux_unplanned"]:
                c["aux_unplanned"] += 1
        return c

    teams = {}
    for team, ms in sorted(members.items()):
        teams[team] = {
            "peak": peaks.at(team, now),
            "current": current([a for a, _ in ms]),
            "windows": {w: group_figures([s[w] for _, s in ms], cfg) for w in windows},
        }
    every = [s for ms in members.values() for _, s in ms]
    floor = {
        "current": current(list(agents)),
        "windows": {w: group_figures([s[w] for s in every], cfg) for w in windows},
    }
    alerts += cluster_alerts(timelines, sched, peaks, lo, now, tz, cfg)
    alerts += minute_alerts(members_info, peaks, lo, now, tz, cfg)
    alerts.sort(key=lambda a: (a["fired_at"], a["id"]))
    load_peaks = {team: [[fmt(s_), None if e > now else fmt(e)] for s_, e in ivs]
                  for team, ivs in sorted(peaks.load.items())}
    return {"now": fmt(now), "windows": list(windows), "agents": agents, "teams": teams,
            "floor": floor, "alerts": alerts, "ingest": ingest, "load_peaks": load_peaks}


# ----------------------------------------------------------------------------------------
# `localize`: a CSV roster's UTC times rewritten in the floor's local forms
# ----------------------------------------------------------------------------------------

def localize(tz_name, src, dst):
    """Row i (from 0): i % 3 == 0 -> local `YYYY-MM-DD HH:MM[:SS]` when the instant is a
    whole second and its wall time is not on a DST fold or in a gap (else as i % 3 == 1);
    i % 3 == 1 -> RFC 3339 with the local offset; i % 3 == 2 -> unchanged."""
    tz = ZoneInfo(tz_name)
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    si, ei = header.index("start"), header.index("end")

    def local_form(t):
        w = wall(t, tz)
        if t % 1000 == 0 and local_candidates(w, tz) == [t]:
            return w.strftime("%Y-%m-%d %H:%M") if w.second == 0 else w.strftime("%Y-%m-%d %H:%M:%S")
        return None

    def offset_form(t):
        dt = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t)).astimezone(tz)
        off = int(dt.utcoffset().total_seconds()) // 60
        sign = "+" if off >= 0 else "-"
        return (dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 1000:03d}"
                + f"{sign}{abs(off) // 60:02d}:{abs(off) % 60:02d}")

    out = [header]
    for i, row in enumerate(body):
        row = list(row)
        for c in (si, ei):
            t = parse_rfc3339(row[c])
            if t is None or i % 3 == 2:
                continue
            row[c] = (local_form(t) if i % 3 == 0 else None) or offset_form(t)
        out.append(row)
    with open(dst, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(out)


def jsonify(src, dst):
    """Rewrites a CSV roster (agent,start,end,activity; RFC 3339 times) as the JSON form:
    every activity under the shift that contains its start; times alternate between epoch
    milliseconds and the CSV's text."""
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    agents = {}
    for r in rows:
        agents.setdefault(r["agent"], {"shifts": [], "acts": []})
        (agents[r["agent"]]["shifts"] if r["activity"].lower() == "shift"
         else agents[r["agent"]]["acts"]).append(r)
    out, n = [], 0

    def t(v):
        nonlocal n
        n += 1
        return parse_rfc3339(v) if n % 2 else v
    for agent, d in agents.items():
        shifts = []
        for sh in d["shifts"]:
            s, e = parse_rfc3339(sh["start"]), parse_rfc3339(sh["end"])
            acts = [{"activity": a["activity"], "start": t(a["start"]), "end": t(a["end"])}
                    for a in d["acts"] if s <= parse_rfc3339(a["start"]) < e]
            shifts.append({"start": t(sh["start"]), "end": t(sh["end"]), "activities": acts})
        out.append({"agent": agent, "shifts": shifts})
    with open(dst, "w") as f:
        json.dump({"agents": out}, f, indent=1)
        f.write("\n")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "jsonify":
        jsonify(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "localize":
        p = argparse.ArgumentParser(prog="adherence_oracle.py localize")
        p.add_argument("--tz", required=True)
        p.add_argument("src")
        p.add_argument("dst")
        a = p.parse_args(sys.argv[2:])
        localize(a.tz, a.src, a.dst)
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--roster")
    p.add_argument("--events", required=True)
    p.add_argument("--tz", default="UTC")
    p.add_argument("--windows", default="15m,60m,today,peak_today")
    p.add_argument("--now", help="RFC 3339 or epoch ms (default: the last applied event)")
    p.add_argument("--threshold", type=int, default=300, help="out_of_adherence threshold_secs")
    p.add_argument("--config-json", default="{}",
                   help="overrides of: " + ", ".join(sorted(DEFAULTS)))
    a = p.parse_args()
    cfg = dict(DEFAULTS)
    cfg.update(json.loads(a.config_json))
    now = None
    if a.now is not None:
        now = int(a.now) if a.now.isdigit() else parse_rfc3339(a.now)
    roster = open(a.roster, encoding="utf-8").read() if a.roster else None
    with open(a.events, encoding="utf-8") as f:
        lines = f.read().splitlines()
    res = compute(roster, lines, a.tz, a.windows.split(","), now, a.threshold, cfg)
    json.dump(res, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
