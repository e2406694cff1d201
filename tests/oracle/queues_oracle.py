#!/usr/bin/env python3
"""Independent exact computation of floorwatch's queue and service-level figures (SPEC §8)
and of its contacts and handle times (SPEC §3.2), written from SPEC.md and docs/*.md only
-- never from src/.

Brute force, straight from the SPEC's words. Every instant is an integer number of
milliseconds, so every wait and handle time is exact.

What it computes, at `now`, with the event clock of `floorwatch replay`:
  - the §2.2 / §8.1 outcome of every line (applied, duplicate, late, invalid), agent events
    and call events mixed, with one event clock (§2.4) and `max_backfill_secs` (§2.5);
  - per queue (§8.2): `current` {`waiting`, `longest_wait_s`} and, per configured window
    but `peak_today`, over the calls that ended in [now - L, now]: `offered`, `answered`,
    `abandoned`, `left`, `short_abandoned`, `answered_in_sl`, `service_level`,
    `abandon_rate`, `asa_s`; the floor's queue figures (sums, ratios from the sums);
  - the queue alerts (§8.3): `long_wait` (one per maximal stretch of the union of
    [queued + limit, end) over the queue's waits) and `service_level_low` (every whole
    minute m, the calls ended in [m - 15 min, m], `consecutive` minutes to fire / resolve);
  - contacts (§3.2): per agent, team (sum over current members) and floor, per window:
    `contacts` (completed in [start, now]; `peak_today`: completed in today at an instant
    the agent's current team was at peak, configured `peak.windows` only) and `aht_s`;
    per team `contacts_total`: contacts completed while the agent was in that team.
Not modelled: load peaks (`peak.busy_share`), rosters, percentiles, the team alerts.

Usage:
    queues_oracle.py --events E.ndjson [--now T] [--config-json '{...}']
Config keys (all optional; defaults as the SPEC): timezone, windows, peak_windows,
aliases, max_backfill_secs, sl_secs, short_abandon_secs, sl_mode, sl_target,
long_wait_max_secs, sll_min_calls, sll_consecutive.

Output (stdout, one JSON document):
    {"now", "ingest": {applied, duplicate, late, invalid},
     "queues": {queue: {"current": {...}, "windows": {w: {...}}}},
     "floor_queues": {"current": {...}, "windows": {...}},
     "alerts": [{id, kind, severity, team, queue, agent, state, started_at, fired_at,
                 resolved_at, value, threshold, agents}],
     "agents": {id: {"team", "windows": {w: {"contacts", "aht_s"}}}},
     "teams": {id: {"contacts_total", "windows": {w: {"contacts", "aht_s"}}}},
     "floor": {"windows": {w: {"contacts", "aht_s"}}},
     "stats": {"waits", "contacts", "same_instant"}}
"""

import argparse
import bisect
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
STATES = ("talking", "acw", "aux", "idle", "offline")
ALIASES = {  # §2.3, matched without regard to ASCII case
    "available": "idle", "ready": "idle",
    "not_ready": "aux", "break": "aux", "notready": "aux",
    "wrapup": "acw", "wrap": "acw", "after_call_work": "acw",
    "busy": "talking", "on_call": "talking", "oncall": "talking",
    "logout": "offline", "logged_out": "offline",
}
CALL_EVENTS = ("queued", "answered", "abandoned", "left")
DEFAULTS = {
    "timezone": "UTC",
    "windows": ["15m", "60m", "today", "peak_today"],
    "peak_windows": ["09:30-11:30", "14:00-16:30"],
    "aliases": {},
    "max_backfill_secs": 7200,
    "sl_secs": 10,
    "short_abandon_secs": 5,
    "sl_mode": "with_abandons",
    "sl_target": 0.9,
    "long_wait_max_secs": 60,
    "sll_min_calls": 10,
    "sll_consecutive": 3,
}
MINUTE = 60_000

# ----------------------------------------------------------------------------------------
# Time
# ----------------------------------------------------------------------------------------

RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_ts(v):
    """RFC 3339 with an offset, or integer epoch milliseconds; None if neither."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if not isinstance(v, str):
        return None
    m = RFC3339.match(v)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    try:
        dt = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        return None
    ms = int((m.group(7) or ".0")[1:].ljust(3, "0")[:3])
    off = m.group(8)
    off_min = 0
    if off not in ("Z", "z"):
        off_min = (int(off[1:3]) * 60 + int(off[4:6])) * (-1 if off[0] == "-" else 1)
    return int(dt.timestamp()) * 1000 + ms - off_min * 60_000


def fmt(t):
    if t is None:
        return None
    dt = datetime(1970, 1, 1) + timedelta(milliseconds=t)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 1000:03d}Z"


def local_midnight(now, tz):
    """Epoch ms of local midnight of now's local date (the first valid instant of it)."""
    d = datetime.fromtimestamp(now / 1000, tz).date()
    # walk forward minute by minute until a local time of that date exists (DST gaps)
    naive = datetime(d.year, d.month, d.day)
    while True:
        cand = naive.replace(tzinfo=tz)
        back = cand.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if back == naive:
            return int(cand.astimezone(UTC).timestamp()) * 1000
        naive += timedelta(minutes=1)


def duration_ms(w):
    n, unit = int(w[:-1]), w[-1]
    return n * {"s": 1000, "m": 60_000, "h": 3_600_000}[unit]


def at_peak(t, tz, peak_windows):
    """§4.1 configured windows: local time of day in [start, end), every day; a window
    whose end is not after its start runs over midnight."""
    lt = datetime.fromtimestamp(t / 1000, tz)
    tod = lt.hour * 3_600_000 + lt.minute * 60_000 + lt.second * 1000 + t % 1000
    for w in peak_windows:
        a, b = w.split("-")
        s = int(a[:2]) * 3_600_000 + int(a[3:5]) * 60_000
        e = int(b[:2]) * 3_600_000 + int(b[3:5]) * 60_000
        if s < e and s <= tod < e:
            return True
        if s >= e and (tod >= s or tod < e):
            return True
    return False


# ----------------------------------------------------------------------------------------
# Outcomes (§2.2, §8.1)
# ----------------------------------------------------------------------------------------

def printable_id(v, max_bytes):
    return isinstance(v, str) and 1 <= len(v.encode()) <= max_bytes and v.isprintable()


class AgentBook:
    def __init__(self):
        self.last_ts = None
        self.last_seq = None
        self.last_key = None


class CallBook:
    def __init__(self):
        self.waiting = None      # (queue, queued ts) while the call waits
        self.last_ts = None      # ts of the call's last applied event


def judge(ev, agents, calls, clock, aliases, backfill):
    """Returns "invalid", "duplicate", "late", or ("agent", ...) / ("call", ...)."""
    if not isinstance(ev, dict):
        return "invalid"
    # fields the SPEC defines, present with the wrong JSON type: invalid (null = absent)
    for f in ("team", "reason", "name", "call", "queue", "agent"):
        if ev.get(f) is not None and not isinstance(ev[f], str):
            return "invalid"
    seq = ev.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        return "invalid"
    ts = parse_ts(ev.get("ts"))
    if ev.get("call") is not None:
        return judge_call(ev, ts, calls, clock, backfill)
    agent, state = ev.get("agent"), ev.get("state")
    if not isinstance(state, str) or ts is None or not printable_id(agent, 64):
        return "invalid"
    st = state.lower()
    st = st if st in STATES else aliases.get(st)
    if st is None:
        return "invalid"
    reason = None
    if st == "aux":
        reason = ev.get("reason") if ev.get("reason") is not None else "unspecified"
    book = agents.get(agent)
    if book is not None:
        if seq is not None and book.last_seq is not None and seq <= book.last_seq:
            return "duplicate"
        if seq is None and book.last_key == (ts, st, reason):
            return "duplicate"
        if ts < book.last_ts:
            return "late"
    if clock is not None and ts < clock - backfill:
        return "late"
    return ("agent", ts, agent, st, reason, seq, ev.get("team"))


def judge_call(ev, ts, calls, clock, backfill):
    call, event, queue = ev.get("call"), ev.get("event"), ev.get("queue")
    if not printable_id(call, 128) or ts is None:
        return "invalid"
    if not isinstance(event, str) or event not in CALL_EVENTS:
        return "invalid"                                   # exact lower-case words
    if queue is not None and not printable_id(queue, 64):
        return "invalid"
    if event == "queued" and queue is None:
        return "invalid"
    book = calls.get(call)
    # duplicate: a `queued` for a call already waiting (whatever its ts), or an ending
    # event for a call not waiting
    if event == "queued" and book is not None and book.waiting is not None:
        return "duplicate"
    if event != "queued" and (book is None or book.waiting is None):
        return "duplicate"
    # late: an ending event earlier than the call's `queued`, a `queued` earlier than the
    # call's last applied event, anything older than now - max_backfill_secs
    if event != "queued" and ts < book.waiting[1]:
        return "late"
    if event == "queued" and book is not None and ts < book.last_ts:
        return "late"
    if clock is not None and ts < clock - backfill:
        return "late"
    return ("call", ts, call, event, queue)


def load(lines, cfg, now_arg):
    aliases = dict(ALIASES)
    aliases.update({k.lower(): v for k, v in cfg["aliases"].items()})
    backfill = cfg["max_backfill_secs"] * 1000
    agents, calls = {}, {}
    clock = None
    ingest = dict.fromkeys(("applied", "duplicate", "late", "invalid"), 0)
    agent_events = []     # (ts, agent, state, reason, team) in order of application
    waits = []            # dicts: queue, call, queued, end, how (None while waiting)
    for raw in lines:
        raw = raw.strip()
        if not raw:
            continue
        try:
            ev = json.loads(raw)
        except ValueError:
            ingest["invalid"] += 1
            continue
        out = judge(ev, agents, calls, clock, aliases, backfill)
        if isinstance(out, str):
            ingest[out] += 1
            continue
        ingest["applied"] += 1
        if out[0] == "agent":
            _, ts, agent, st, reason, seq, team = out
            book = agents.setdefault(agent, AgentBook())
            book.last_ts = ts
            if seq is not None:
                book.last_seq = seq
            book.last_key = (ts, st, reason)
            agent_events.append((ts, agent, st, reason, team))
        else:
            _, ts, call, event, queue = out
            book = calls.setdefault(call, CallBook())
            book.last_ts = ts
            if event == "queued":
                w = {"queue": queue, "call": call, "queued": ts, "end": None, "how": None}
                waits.append(w)
                book.waiting = (queue, ts, w)
            else:
                # an ending event ends the call where it waits, whatever queue it names
                w = book.waiting[2]
                w["end"], w["how"] = ts, event
                book.waiting = None
        clock = ts if clock is None else max(clock, ts)
    if now_arg is not None:
        now = now_arg
    elif clock is not None:
        now = clock
    else:
        raise SystemExit("oracle: no event applied")
    # `--now T`: as if nothing stamped after T had happened yet
    seen_waits = []
    for w in waits:
        if w["queued"] > now:
            continue
        if w["end"] is not None and w["end"] > now:
            w = dict(w, end=None, how=None)
        seen_waits.append(w)
    return [e for e in agent_events if e[0] <= now], seen_waits, now, ingest


# ----------------------------------------------------------------------------------------
# Queues (§8.2)
# ----------------------------------------------------------------------------------------

def ratio(n, d):
    return None if d == 0 else n / d


def queue_figures(ended, cfg):
    """The §8.2 window figures over a list of ended waits."""
    sl_ms = cfg["sl_secs"] * 1000
    short_ms = cfg["short_abandon_secs"] * 1000
    answered = [w for w in ended if w["how"] == "answered"]
    abandoned = [w for w in ended if w["how"] == "abandoned"]
    left = [w for w in ended if w["how"] == "left"]
    short = [w for w in abandoned if w["end"] - w["queued"] < short_ms]
    in_sl = [w for w in answered if w["end"] - w["queued"] <= sl_ms]
    handled = len(answered) + len(abandoned) - len(short)
    if cfg["sl_mode"] == "answered_only":
        sl = ratio(len(in_sl), len(answered))
    else:
        sl = ratio(len(in_sl), handled)
    asa_ms = sum(w["end"] - w["queued"] for w in answered)
    return {
        "offered": len(answered) + len(abandoned) + len(left),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "left": len(left),
        "short_abandoned": len(short),
        "answered_in_sl": len(in_sl),
        "service_level": sl,
        "abandon_rate": ratio(len(abandoned) - len(short), handled),
        "asa_s": None if not answered else asa_ms / len(answered) / 1000,
        "_handled": handled,
    }


def window_starts(cfg, now, tz):
    out = {}
    for w in cfg["windows"]:
        if w == "peak_today":
            continue
        out[w] = local_midnight(now, tz) if w == "today" else now - duration_ms(w)
    return out


def queue_entry(ws, now, starts, cfg):
    waiting = [w for w in ws if w["end"] is None]
    oldest = min((w["queued"] for w in waiting), default=None)
    windows = {}
    for name, lo in starts.items():
        f = queue_figures([w for w in ws if w["end"] is not None and lo <= w["end"] <= now], cfg)
        del f["_handled"]
        windows[name] = f
    return {
        "current": {"waiting": len(waiting),
                    "longest_wait_s": None if oldest is None else (now - oldest) / 1000},
        "windows": windows,
    }


# ----------------------------------------------------------------------------------------
# Queue alerts (§8.3)
# ----------------------------------------------------------------------------------------

def queue_alert(kind, queue, start, fired, resolved, value, threshold):
    return {
        "id": f"{kind}:queue:{queue}:{start}",
        "kind": kind,
        "severity": "critical" if kind == "long_wait" else "warning",
        "team": None,
        "queue": queue,
        "agent": None,
        "state": "firing" if resolved is None else "resolved",
        "started_at": fmt(start),
        "fired_at": fmt(fired),
        "resolved_at": fmt(resolved),
        "value": value,
        "threshold": threshold,
        "agents": [],
    }


def long_wait_alerts(queue, ws, now, cfg):
    limit = cfg["long_wait_max_secs"] * 1000
    INF = float("inf")
    spans = []
    for w in ws:
        s = w["queued"] + limit
        e = INF if w["end"] is None else w["end"]
        if s < e:                      # a call ending as it reaches the limit raises nothing
            spans.append((s, e))
    spans.sort()
    merged = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:          # overlapping or touching: one stretch
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out = []
    for s, e in merged:
        if s > now:
            continue                   # fires later than now: not yet
        resolved = None if e == INF or e > now else e
        out.append(queue_alert("long_wait", queue, s, s, resolved,
                               float(cfg["long_wait_max_secs"]), float(cfg["long_wait_max_secs"])))
    return out


def service_level_low_alerts(queue, ws, now, cfg):
    ended = [w for w in ws if w["end"] is not None]
    if not ended:
        return []
    n = cfg["sll_consecutive"]
    first = min(w["end"] for w in ended)
    m = (first // MINUTE) * MINUTE
    out = []
    run_start, run_len, firing = None, 0, None   # firing: [start, fired, value]
    while m <= now:
        f = queue_figures([w for w in ended if m - 15 * MINUTE <= w["end"] <= m], cfg)
        sl = f["service_level"]
        true = f["_handled"] >= cfg["sll_min_calls"] and sl is not None and sl < cfg["sl_target"]
        if firing is None:
            if true:
                if run_len == 0:
                    run_start = m
                run_len += 1
                if run_len == n:
                    firing = [run_start, m, sl]
                    run_len = 0
            else:
                run_len = 0
        else:
            if not true:
                run_len += 1
                if run_len == n:
                    out.append(queue_alert("service_level_low", queue, firing[0], firing[1], m,
                                           firing[2], cfg["sl_target"]))
                    firing, run_len = None, 0
            else:
                run_len = 0
        m += MINUTE
    if firing is not None:
        out.append(queue_alert("service_level_low", queue, firing[0], firing[1], None,
                               firing[2], cfg["sl_target"]))
    return out


# ----------------------------------------------------------------------------------------
# Contacts (§3.2)
# ----------------------------------------------------------------------------------------

def timelines(agent_events):
    """Per agent: stretches [(t, state)] (one per instant: the state after the last event
    stamped then; a repeat of the current state and reason starts nothing) and the team
    in force from each instant."""
    tl = {}
    same_instant = 0
    for ts, agent, st, reason, team in agent_events:
        a = tl.setdefault(agent, {"times": [], "states": [], "team": "unassigned",
                                  "team_times": [], "teams": []})
        cur = a["states"][-1] if a["states"] else None
        if cur != (st, reason):
            if a["times"] and a["times"][-1] == ts:
                same_instant += 1
                a["states"][-1] = (st, reason)
                if len(a["states"]) >= 2 and a["states"][-2] == a["states"][-1]:
                    a["times"].pop()
                    a["states"].pop()
            else:
                a["times"].append(ts)
                a["states"].append((st, reason))
        if team is not None:
            a["team"] = team
        if not a["teams"] or a["teams"][-1] != a["team"]:
            if a["team_times"] and a["team_times"][-1] == ts:
                a["teams"][-1] = a["team"]
            else:
                a["team_times"].append(ts)
                a["teams"].append(a["team"])
    return tl, same_instant


def contacts_of(a):
    """Completed contacts [(completed at, handle ms)]. A contact starts when the agent
    enters talking from any other state (or first appears talking); its handle time is
    the talking plus the acw directly after it; it completes when the agent leaves
    talking for anything but acw, or leaves that acw."""
    out = []
    times, states = a["times"], a["states"]
    handle, phase = 0, None        # phase: None, "talking", "acw" (of an open contact)
    for i, (t, (st, _)) in enumerate(zip(times, states)):
        # the transition at t, from states[i-1] to st
        if phase == "talking" and st != "acw":
            out.append((t, handle))
            phase = None
        elif phase == "acw":
            out.append((t, handle))
            phase = None
        if st == "talking":
            phase, handle = "talking", 0
        elif st == "acw" and phase == "talking":
            phase = "acw"
        # the stretch from t to the next event (or it is still open: in progress)
        if phase is not None and i + 1 < len(times):
            handle += times[i + 1] - t
    return out


def team_at(a, t):
    i = bisect.bisect_right(a["team_times"], t) - 1
    return a["teams"][i]


def contact_windows(done, now, cfg, tz, midnight):
    out = {}
    for w in cfg["windows"]:
        if w == "peak_today":
            sel = [h for c, h in done
                   if midnight <= c <= now and at_peak(c, tz, cfg["peak_windows"])]
        else:
            lo = midnight if w == "today" else now - duration_ms(w)
            sel = [h for c, h in done if lo <= c <= now]
        out[w] = (len(sel), sum(sel))
    return out


def aht(pair):
    n, total = pair
    return {"contacts": n, "aht_s": None if n == 0 else total / n / 1000}


# ----------------------------------------------------------------------------------------

def compute(lines, cfg, now_arg):
    tz = ZoneInfo(cfg["timezone"])
    agent_events, ws, now, ingest = load(lines, cfg, now_arg)
    starts = window_starts(cfg, now, tz)

    queues, alerts = {}, []
    for q in sorted({w["queue"] for w in ws}):
        qws = [w for w in ws if w["queue"] == q]
        queues[q] = queue_entry(qws, now, starts, cfg)
        alerts += long_wait_alerts(q, qws, now, cfg)
        alerts += service_level_low_alerts(q, qws, now, cfg)
    floor_q = queue_entry(ws, now, starts, cfg)

    tl, same_instant = timelines(agent_events)
    midnight = local_midnight(now, tz)
    agents, sums, floor, totals = {}, {}, {}, {}
    n_contacts = 0
    for agent in sorted(tl):
        a = tl[agent]
        done = contacts_of(a)
        n_contacts += len(done)
        wins = contact_windows(done, now, cfg, tz, midnight)
        team = a["team"]                          # the agent's current team
        agents[agent] = {"team": team, "windows": {w: aht(p) for w, p in wins.items()}}
        for w, (n, s) in wins.items():
            for d in (sums.setdefault(team, {}), floor):
                n0, s0 = d.get(w, (0, 0))
                d[w] = (n0 + n, s0 + s)
        for c, _ in done:                         # credited to the team at completion
            totals[team_at(a, c)] = totals.get(team_at(a, c), 0) + 1
    # teams listed: those with at least one current member
    teams = {team: {"contacts_total": totals.get(team, 0),
                    "windows": {w: aht(sums[team].get(w, (0, 0))) for w in cfg["windows"]}}
             for team in sums}

    return {
        "now": fmt(now),
        "ingest": ingest,
        "queues": queues,
        "floor_queues": floor_q,
        "alerts": alerts,
        "agents": agents,
        "teams": teams,
        "floor": {"windows": {w: aht(floor.get(w, (0, 0))) for w in cfg["windows"]}},
        "stats": {"waits": len(ws), "contacts": n_contacts, "same_instant": same_instant},
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", required=True)
    p.add_argument("--now")
    p.add_argument("--config-json", default="{}")
    a = p.parse_args()
    cfg = dict(DEFAULTS)
    cfg.update(json.loads(a.config_json))
    now = None
    if a.now is not None:
        now = int(a.now) if a.now.isdigit() else parse_ts(a.now)
    with open(a.events, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    json.dump(compute(lines, cfg, now), sys.stdout)


if __name__ == "__main__":
    main()
