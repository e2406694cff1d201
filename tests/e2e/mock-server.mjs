// A stand-in for the floorwatch daemon's wallboard side, for developing web/ and for the
// browser tests when no real daemon is given (FLOORWATCH_URL unset).
//
// It serves web/ as-is at GET /, speaks the push protocol of docs/ws-protocol.md on
// GET /ws (full, then delta every push interval when something changed, alert at once),
// answers GET /api/v1/board with the same document as the full frame, and accepts
// POST /api/v1/events like the daemon, so the tests drive both the same way.
//
// The floor is generated (seeded, so screenshots are reproducible): agents move between
// states with realistic dwell times, a few are pinned in long aux, and one team is pinned
// in an aux cluster. Current counts are exact; window figures are synthesized per team
// around a per-team baseline (this is a mock, not the accounting core), but the floor's
// figures are time-weighted from the teams', as the daemon's are.
//
// Usage: node mock-server.mjs [--port 8099] [--agents 300] [--teams 12] [--seed 1]
//                             [--static] [--no-cluster] [--token T] [--push-ms 1000]

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = path.resolve(HERE, '../../web');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

const STATES = ['talking', 'acw', 'aux', 'idle', 'offline'];
const ALIASES = {
  available: 'idle', ready: 'idle', not_ready: 'aux', break: 'aux', notready: 'aux',
  wrapup: 'acw', wrap: 'acw', after_call_work: 'acw', busy: 'talking', on_call: 'talking',
  oncall: 'talking', logout: 'offline', logged_out: 'offline',
};

const SURNAMES = ['Li', 'Wang', 'Zhang', 'Liu', 'Chen', 'Yang', 'Zhao', 'Huang', 'Zhou', 'Wu',
  'Xu', 'Sun', 'Hu', 'Zhu', 'Gao', 'Lin', 'He', 'Guo', 'Ma', 'Luo', 'Liang', 'Song', 'Zheng',
  'Xie', 'Han', 'Tang', 'Feng', 'Yu', 'Dong', 'Xiao'];
const GIVEN = ['Na', 'Wei', 'Min', 'Jing', 'Li', 'Qiang', 'Lei', 'Jun', 'Yang', 'Yong', 'Yan',
  'Jie', 'Juan', 'Tao', 'Ming', 'Chao', 'Xiu Ying', 'Hui', 'Xia', 'Ping', 'Gang', 'Fang',
  'Hong', 'Bin', 'Dan', 'Lin', 'Yu', 'Xin', 'Hao', 'Ting', 'Kai', 'Rui', 'Shu Fen', 'Zi Han'];
const UNPLANNED = ['break', 'break', 'break', 'restroom', 'personal', 'unspecified', 'system'];
const PLANNED = ['training', 'meeting', 'coaching', 'lunch'];

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONFIG = {
  windows: ['15m', '60m', 'today', 'peak_today'],
  push_interval_ms: 1000,
  timezone: 'Asia/Shanghai',
  talk_band: [0.69, 0.74],
  aux_band: [0.08, 0.09],
  aux_cv_limit: 0.16,
  utilization_high: 0.74,
  long_aux_secs: 600,
  long_aux_per_reason: { restroom: 900 },
  planned_reasons: ['training', 'meeting', 'coaching', 'lunch'],
};

/** Seconds a configured window covers (the calendar ones as a mid-shift floor has them). */
function windowSecs(name) {
  const m = /^(\d+)([smh])$/.exec(name);
  if (m) return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2]];
  return name === 'today' ? 6 * 3600 : 2 * 3600 + 1200;
}

/** The generated floor: agents, per-team baselines, alerts. Pure state; no I/O. */
class Floor {
  constructor({ agents = 300, teams = 12, seed = 1, cluster = true, now = Date.now(),
    pushIntervalMs = 1000, clusterHoldMs = 0, lastEventAgoMs = 0, windows = CONFIG.windows, teamIds: names = null }) {
    this.rand = mulberry32(seed);
    // The largest event time applied: the simulation moves it every step; without
    // simulation (`simulate: false`) it stays where `lastEventAgoMs` put it, a dead feed.
    this.lastEvent = now - lastEventAgoMs;
    this.config = { ...CONFIG, push_interval_ms: pushIntervalMs, windows };
    this.windowSecs = Object.fromEntries(windows.map((w) => [w, windowSecs(w)]));
    this.clusterHoldMs = clusterHoldMs;
    this.agents = new Map(); // id -> agent
    this.teamBase = new Map(); // team -> baseline figures
    this.alerts = new Map(); // id -> alert
    this.pinned = new Set(); // agents the simulation never moves
    this.external = new Set(); // agents created or moved by POST /api/v1/events
    this.changed = new Set(); // agents changed since the last delta
    this.removed = new Set();
    this.clusterCandidate = new Map(); // team -> t0 of a cluster condition not yet fired
    const r = this.rand;
    // `teamIds`: the teams' ids, in place of T01, T02, … (long ones wrap in the tiles' labels).
    const teamIds = names ?? Array.from({ length: teams }, (_, i) => `T${String(i + 1).padStart(2, '0')}`);
    for (const [i, t] of teamIds.entries()) {
      // A spread of teams: most near the band, one hot (T03), one slack (T05), one with
      // dispersed aux (T10, over the CV limit).
      let util = 0.66 + r() * 0.1;
      if (t === 'T03') util = 0.781;
      if (t === 'T05') util = 0.604;
      let aux = 0.065 + r() * 0.04;
      if (t === 'T07') aux = 0.152;
      let cv = 0.08 + r() * 0.07;
      if (t === 'T10' || t === 'T07') cv = 0.19 + r() * 0.08;
      this.teamBase.set(t, { util, aux, cv, aht: 230 + r() * 180, occ: 0.84 + r() * 0.08, peak: i % 6 !== 5 });
    }
    for (let i = 0; i < agents; i++) {
      const id = `A${String(1001 + i)}`;
      const team = teamIds[Math.floor((i * teams) / agents)];
      const name = `${SURNAMES[Math.floor(r() * SURNAMES.length)]} ${GIVEN[Math.floor(r() * GIVEN.length)]}`;
      const a = { agent: id, name, team, state: 'idle', reason: null, planned: false, since: now };
      this.setRandomState(a, now, true);
      this.agents.set(id, a);
    }
    // Pinned long-aux agents: one approaching its limit (>= 80%), two past it.
    const pool = [...this.agents.values()].filter((a) => a.team !== 'T07');
    const pin = (a, reason, agoSecs) => {
      this.put(a, 'aux', reason, now - agoSecs * 1000);
      this.pinned.add(a.agent);
    };
    if (pool.length > 40) {
      pin(pool[3], 'break', 8 * 60 + 40);
      pin(pool[Math.floor(pool.length / 2)], 'unspecified', 11 * 60 + 5);
      pin(pool[pool.length - 5], 'restroom', 16 * 60 + 30);
      pin(pool[pool.length - 18], 'restroom', 12 * 60 + 30); // under its 900 s limit: near
    }
    if (cluster && this.teamBase.has('T07')) {
      const t07 = [...this.agents.values()].filter((a) => a.team === 'T07');
      const k = Math.max(3, Math.ceil(t07.length / 5));
      t07.slice(0, k).forEach((a, j) => {
        this.put(a, 'aux', j % 3 === 2 ? 'personal' : 'break', now - (150 + j * 37) * 1000);
        this.pinned.add(a.agent);
      });
    }
    // A few logged-out agents, as on any real floor.
    const offline = Math.floor(agents * 0.04);
    const free = [...this.agents.values()].filter((a) => !this.pinned.has(a.agent));
    for (let i = 0; i < offline && i < free.length; i++) {
      this.put(free[(i * 37) % free.length], 'offline', null, now - (600 + i * 60) * 1000);
    }
    // A resolved alert a little while ago (fades out on the page) and alerts for what is
    // already true at start.
    if (agents > 20) {
      const a = pool[7];
      const started = now - 25 * 60 * 1000;
      this.addAlert({
        kind: 'long_aux', team: a.team, agent: a.agent, severity: 'warning', started,
        fired: started + 600_000, resolved: now - 20_000, value: 600, threshold: 600, agents: [a.agent],
      });
    }
    this.detect(now, true);
    this.changed.clear();
  }

  put(a, state, reason, since) {
    a.state = state;
    a.reason = state === 'aux' ? (reason ?? 'unspecified') : null;
    a.planned = state === 'aux' && this.config.planned_reasons.includes(a.reason);
    a.since = since;
    this.changed.add(a.agent);
  }

  setRandomState(a, now, initial) {
    const r = this.rand();
    let state, reason = null, dwell;
    if (r < 0.63) { state = 'talking'; dwell = 280; }
    else if (r < 0.73) { state = 'acw'; dwell = 45; }
    else if (r < 0.80) { state = 'aux'; reason = UNPLANNED[Math.floor(this.rand() * UNPLANNED.length)]; dwell = 240; }
    else if (r < 0.84) { state = 'aux'; reason = PLANNED[Math.floor(this.rand() * PLANNED.length)]; dwell = 900; }
    else { state = 'idle'; dwell = 25; }
    const ago = initial ? this.rand() * dwell * 1000 : 0;
    this.put(a, state, reason, now - Math.floor(ago));
  }

  /** One simulated second (or more): agents leave their state at their state's hazard. */
  step(now, dtMs) {
    const mean = { talking: 280, acw: 45, aux: 240, idle: 25, offline: 1e9 };
    for (const a of this.agents.values()) {
      if (this.pinned.has(a.agent) || this.external.has(a.agent) || a.state === 'offline') continue;
      const m = a.state === 'aux' && a.planned ? 1200 : mean[a.state];
      if (this.rand() >= dtMs / 1000 / m) continue;
      const r = this.rand();
      let next, reason = null;
      switch (a.state) {
        case 'talking': next = r < 0.88 ? 'acw' : 'idle'; break;
        case 'acw': next = r < 0.75 ? 'idle' : r < 0.93 ? 'talking' : 'aux'; break;
        case 'idle': next = r < 0.93 ? 'talking' : 'aux'; break;
        default: next = 'idle';
      }
      if (next === 'aux') {
        reason = this.rand() < 0.8 ? UNPLANNED[Math.floor(this.rand() * UNPLANNED.length)]
          : PLANNED[Math.floor(this.rand() * PLANNED.length)];
      }
      this.put(a, next, reason, now);
    }
    // Baselines wander a little, so the figures move like a live floor's.
    for (const b of this.teamBase.values()) {
      if (!b) continue;
      b.util = Math.min(0.86, Math.max(0.5, b.util + (this.rand() - 0.5) * 0.0016));
      b.aux = Math.min(0.2, Math.max(0.03, b.aux + (this.rand() - 0.5) * 0.0008));
    }
  }

  /** Apply native events (SPEC §2.1) as POST /api/v1/events does; returns outcome counts. */
  apply(events, now) {
    const out = { applied: 0, duplicate: 0, late: 0, invalid: 0, skewed: 0 };
    if (!Array.isArray(events)) { out.invalid++; return out; }
    for (const ev of events) {
      if (!ev || typeof ev.agent !== 'string' || !ev.agent || typeof ev.state !== 'string') { out.invalid++; continue; }
      const state = ALIASES[ev.state] ?? ev.state;
      if (!STATES.includes(state)) { out.invalid++; continue; }
      let a = this.agents.get(ev.agent);
      if (!a) {
        a = { agent: ev.agent, name: null, team: 'unassigned', state, reason: null, planned: false, since: now };
        this.agents.set(ev.agent, a);
      }
      if (typeof ev.team === 'string' && ev.team) a.team = ev.team;
      if (typeof ev.name === 'string') a.name = ev.name;
      if (!this.teamBase.has(a.team)) this.teamBase.set(a.team, null); // figures from states
      const reason = state === 'aux' ? (typeof ev.reason === 'string' ? ev.reason : 'unspecified') : null;
      // Live, a missing ts means time of receipt; one in the future is applied at now.
      let at = typeof ev.ts === 'number' ? ev.ts : typeof ev.ts === 'string' ? Date.parse(ev.ts) : now;
      if (!Number.isFinite(at)) { out.invalid++; continue; }
      if (at > now) at = now;
      if (a.state !== state || a.reason !== reason) this.put(a, state, reason, at);
      this.changed.add(a.agent);
      this.external.add(a.agent);
      this.pinned.delete(a.agent);
      out.applied++;
    }
    return out;
  }

  limitFor(reason) {
    return (this.config.long_aux_per_reason[reason] ?? this.config.long_aux_secs) * 1000;
  }

  addAlert({ kind, team, agent = null, severity, started, fired, resolved = null, value, threshold, agents, message }) {
    const id = agent ? `${kind}:${team}:${agent}:${started}` : `${kind}:${team}:${started}`;
    const iso = (ms) => (ms == null ? null : new Date(ms).toISOString());
    const alert = {
      id, kind, team, agent, severity, state: resolved == null ? 'firing' : 'resolved',
      started_at: iso(started), fired_at: iso(fired), resolved_at: iso(resolved),
      value, threshold, message: message ?? englishMessage(kind, team, agent, value, threshold, agents), agents,
    };
    this.alerts.set(id, alert);
    return alert;
  }

  /** Minimal detectors (not the daemon's exact rules): long aux, aux cluster, util high. Returns alerts that changed. */
  detect(now, initial = false) {
    const changed = [];
    const firing = (kind, team, agent) => [...this.alerts.values()].find((x) =>
      x.state === 'firing' && x.kind === kind && x.team === team && (agent == null || x.agent === agent));
    const resolve = (al) => {
      al.state = 'resolved';
      al.resolved_at = new Date(now).toISOString();
      changed.push(al);
    };
    for (const a of this.agents.values()) {
      const open = firing('long_aux', a.team, a.agent);
      const inUnplanned = a.state === 'aux' && !a.planned;
      if (inUnplanned && now - a.since >= this.limitFor(a.reason) && !open) {
        const limit = this.limitFor(a.reason);
        changed.push(this.addAlert({ kind: 'long_aux', team: a.team, agent: a.agent, severity: 'warning',
          started: a.since, fired: a.since + limit, value: limit / 1000, threshold: limit / 1000, agents: [a.agent] }));
      } else if (open && !inUnplanned) resolve(open);
    }
    // Old firing long_aux alerts of agents that no longer exist in a team (moved) resolve too.
    for (const al of this.alerts.values()) {
      if (al.kind === 'long_aux' && al.state === 'firing') {
        const a = this.agents.get(al.agent);
        if (!a || a.team !== al.team) resolve(al);
      }
    }
    const byTeam = this.countsByTeam();
    for (const [team, c] of byTeam) {
      const base = this.teamBase.get(team);
      const peak = base ? base.peak : true;
      const k = c.aux_unplanned, n = c.logged_in;
      const cond = peak && n >= 5 && k >= 3 && k / n >= 1 / 6 - 1e-9 && binomTail(n, k, 0.085) < 0.05;
      const open = firing('aux_cluster', team);
      if (cond && !open) {
        const t0 = this.clusterCandidate.get(team) ?? now;
        this.clusterCandidate.set(team, t0);
        if (now - t0 >= this.clusterHoldMs) {
          const agents = [...this.agents.values()].filter((a) => a.team === team && a.state === 'aux' && !a.planned)
            .map((a) => a.agent).sort();
          const started = initial ? now - 4 * 60_000 : t0;
          changed.push(this.addAlert({ kind: 'aux_cluster', team, severity: 'critical', started,
            fired: started + 60_000 > now ? now : started + 60_000, value: k / n, threshold: 1 / 6, agents }));
        }
      } else if (!cond) {
        this.clusterCandidate.delete(team);
        if (open) resolve(open);
      }
    }
    if (initial) {
      for (const [team, b] of this.teamBase) {
        if (!b) continue;
        if (b.util > this.config.utilization_high) {
          changed.push(this.addAlert({ kind: 'utilization_high', team, severity: 'info', started: now - 7 * 60_000,
            fired: now - 5 * 60_000, value: b.util, threshold: this.config.utilization_high, agents: [] }));
        }
        if (b.cv >= this.config.aux_cv_limit && b.peak && team !== 'T07') {
          changed.push(this.addAlert({ kind: 'aux_dispersion', team, severity: 'info', started: now - 9 * 60_000,
            fired: now - 7 * 60_000, value: b.cv, threshold: this.config.aux_cv_limit, agents: [] }));
        }
      }
    }
    // Forget resolved alerts after 10 minutes, as the push's alert list does.
    for (const [id, al] of this.alerts) {
      if (al.resolved_at && now - Date.parse(al.resolved_at) > 10 * 60_000) this.alerts.delete(id);
    }
    return changed;
  }

  countsByTeam() {
    const m = new Map();
    for (const t of this.teamBase.keys()) m.set(t, zeroCounts());
    for (const a of this.agents.values()) {
      if (!m.has(a.team)) m.set(a.team, zeroCounts());
      addCount(m.get(a.team), a);
    }
    return m;
  }

  /** Logged-in members by team, in one pass (the drivers of every team's aux CV). */
  membersByTeam() {
    const m = new Map();
    for (const a of this.agents.values()) {
      if (a.state === 'offline') continue;
      if (!m.has(a.team)) m.set(a.team, []);
      m.get(a.team).push(a);
    }
    return m;
  }

  teamWindows(team, c, now, byTeam = this.membersByTeam()) {
    const base = this.teamBase.get(team);
    const out = {};
    // Deterministic wobble: the same state and now give the same figures, as in the daemon.
    const sec = Math.floor(now / 1000);
    for (const [w, secs] of Object.entries(this.windowSecs)) {
      const logged = c.logged_in * secs * 0.97 + c.offline * secs * 0.05;
      if (logged <= 0) {
        out[w] = { talk_utilization: null, aux_ratio: null, occupancy: null, aht_s: null, contacts: 0, logged_in_s: 0, aux_ratio_cv: null };
        continue;
      }
      let util, aux, occ, aht, cv;
      if (base) {
        const wobble = secs <= 900 ? 0.018 : secs <= 3600 ? 0.006 : 0.002;
        const n = (salt) => noise(`${team}|${w}|${salt}|${sec}`) - 0.5;
        util = clamp01(base.util + n('u') * wobble);
        aux = clamp01(base.aux * (w === 'peak_today' ? 1.05 : 1) + n('a') * wobble * 0.4);
        occ = clamp01(base.occ + n('o') * wobble);
        aht = base.aht + n('h') * (secs <= 900 ? 30 : 8);
        cv = base.cv + n('c') * 0.01;
      } else {
        // A team made only of posted agents: figures from the current states.
        util = c.talking / c.logged_in;
        aux = c.aux_unplanned / c.logged_in;
        const busy = c.talking + c.acw;
        occ = busy + c.idle > 0 ? busy / (busy + c.idle) : null;
        aht = null;
        cv = null;
      }
      const contacts = aht ? Math.round((logged * util) / aht) : 0;
      // Drivers of the aux CV: the members with the highest aux rates above the team's
      // (made up deterministically from the members' ids). One pass over the floor for all
      // teams (byTeam): a pass per team and window made each push of a 20,000-agent floor
      // take half a second of this process, the test's own, and seconds on a loaded machine.
      const members = byTeam.get(team) ?? [];
      const aux_drivers = members
        .map((a) => ({ agent: a.agent, aux_ratio: clamp01(aux * (1.2 + 3 * noise(`${a.agent}|${w}|drv`))) }))
        .sort((x, y) => y.aux_ratio - x.aux_ratio || cmp(x.agent, y.agent))
        .slice(0, 3);
      out[w] = { talk_utilization: util, aux_ratio: aux, occupancy: occ, aht_s: contacts ? aht : null,
        contacts, logged_in_s: Math.round(logged * 1000) / 1000, aux_ratio_cv: c.logged_in >= 2 ? cv : null, aux_drivers };
    }
    return out;
  }

  /** The board document (docs/ws-protocol.md), whole floor or one team. */
  board(now, team = null, { agents: withAgents = true } = {}) {
    const counts = this.countsByTeam();
    const byTeam = this.membersByTeam();
    const teams = [];
    for (const t of [...counts.keys()].sort()) {
      const c = counts.get(t);
      const base = this.teamBase.get(t);
      teams.push({ team: t, peak: base ? base.peak : true, current: c, windows: this.teamWindows(t, c, now, byTeam) });
    }
    const floorCur = zeroCounts();
    for (const c of counts.values()) for (const k of Object.keys(floorCur)) floorCur[k] += c[k];
    const floorWin = {};
    for (const w of Object.keys(this.windowSecs)) {
      let L = 0, talk = 0, aux = 0, busy = 0, occDen = 0, contacts = 0, handle = 0, cvs = 0, cvn = 0;
      for (const t of teams) {
        const f = t.windows[w];
        if (!f.logged_in_s) continue;
        L += f.logged_in_s;
        talk += (f.talk_utilization ?? 0) * f.logged_in_s;
        aux += (f.aux_ratio ?? 0) * f.logged_in_s;
        if (f.occupancy != null) { busy += f.occupancy * f.logged_in_s; occDen += f.logged_in_s; }
        contacts += f.contacts;
        handle += (f.aht_s ?? 0) * f.contacts;
        if (f.aux_ratio_cv != null) { cvs += f.aux_ratio_cv; cvn++; }
      }
      floorWin[w] = {
        talk_utilization: L ? talk / L : null, aux_ratio: L ? aux / L : null, occupancy: occDen ? busy / occDen : null,
        aht_s: contacts ? handle / contacts : null, contacts, logged_in_s: Math.round(L * 1000) / 1000,
        aux_ratio_cv: cvn ? (cvs / cvn) * 1.1 : null,
      };
    }
    // A delta (withAgents false) sends only the agents that changed: no copy of the floor.
    const agents = !withAgents ? [] : [...this.agents.values()].sort((a, b) => cmp(a.agent, b.agent)).map((a) => ({ ...a }));
    const doc = {
      type: 'full', now, last_event: this.lastEvent, team_ids: teams.map((t) => t.team), config: this.config,
      floor: { peak: teams.some((t) => t.peak), current: floorCur, windows: floorWin },
      // A team client's team block carries its AHT chart; the floor board's do not.
      teams: team ? teams.filter((t) => t.team === team).map((t) => ({ ...t, aht_chart: ahtChart(t.team, now) })) : teams,
      agents: team ? agents.filter((a) => a.team === team) : agents,
      alerts: this.activeAlerts(now),
    };
    return doc;
  }

  activeAlerts(now) {
    return [...this.alerts.values()]
      .filter((a) => a.state === 'firing' || now - Date.parse(a.resolved_at) <= 10 * 60_000)
      .sort((a, b) => cmp(a.fired_at, b.fired_at) || cmp(a.id, b.id));
  }
}

function englishMessage(kind, team, agent, value, threshold, agents) {
  switch (kind) {
    case 'aux_cluster': return `${team}: ${agents.length} agents in unplanned aux at peak (${(value * 100).toFixed(1)}% of logged in)`;
    case 'long_aux': return `${agent} (${team}) in aux for ${Math.round(value)} s`;
    case 'aux_dispersion': return `${team}: aux rate CV ${value.toFixed(2)} over peak today`;
    case 'utilization_high': return `${team}: talk utilization ${(value * 100).toFixed(1)}% over 60m`;
    default: return `${kind} ${team}`;
  }
}

/** A number in [0, 1) from a string (FNV-1a), for reproducible wobble. */
/**
 * A team's AHT control chart as the daemon sends it to a team client (docs/ws-protocol.md):
 * 32 quarter-hours ending at the quarter before `now`, the first 8 without a baseline, a
 * shift up from the 24th (beyond 3σ twice, then 9 on one side), and 6 days without one.
 * Made up deterministically from the team id; the rules are given, not computed.
 */
export function ahtChart(team, now) {
  const Q = 900_000;
  const end = Math.floor(now / Q) * Q;
  const base = 200 + 40 * noise(`${team}|aht`);
  const q = [];
  for (let i = 0; i < 32; i++) {
    const shift = i >= 24 ? 45 : 0;
    const mean = base + shift + 14 * (noise(`${team}|q${i}`) - 0.5);
    const n = 12 + Math.floor(8 * noise(`${team}|n${i}`));
    const limits = i >= 8;
    const half = 3 * 30 / Math.sqrt(n);
    const cl = base + (i > 26 ? 20 : 0);
    const rules = i === 24 || i === 25 ? ['beyond_3_sigma'] : i === 31 ? ['9_on_one_side'] : [];
    q.push({ start: end - (32 - i) * Q, n, mean_s: mean, cl_s: limits ? cl : null, ucl_s: limits ? cl + half : null,
      lcl_s: limits ? Math.max(0, cl - half) : null, rules: limits ? rules : [] });
  }
  const day = [];
  for (let i = 0; i < 6; i++) {
    day.push({ start: end - (6 - i) * 86_400_000, n: 300, mean_s: base + 6 * (noise(`${team}|d${i}`) - 0.5), cl_s: null, ucl_s: null, lcl_s: null, rules: [] });
  }
  return { '15m': q, day };
}

function noise(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  return mulberry32(h)();
}

function binomTail(n, k, p) {
  let sum = 0;
  let c = 1; // C(n, i)
  for (let i = 0; i <= n; i++) {
    if (i > 0) c = (c * (n - i + 1)) / i;
    if (i >= k) sum += c * p ** i * (1 - p) ** (n - i);
  }
  return sum;
}

const zeroCounts = () => ({ talking: 0, acw: 0, aux: 0, aux_unplanned: 0, idle: 0, offline: 0, logged_in: 0 });
function addCount(c, a) {
  c[a.state]++;
  if (a.state === 'aux' && !a.planned) c.aux_unplanned++;
  if (a.state !== 'offline') c.logged_in++;
}
const clamp01 = (x) => Math.min(1, Math.max(0, x));
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Start a mock daemon. Returns a handle with `url`, `stop()` / `start()` (the server goes
 * away and comes back on the same port; the floor lives on, like a daemon with a journal),
 * and `close()`.
 */
export async function startMock(opts = {}) {
  const { port = 0, host = '127.0.0.1', token = null, simulate = true, webDir = WEB_DIR } = opts;
  const pushIntervalMs = opts.pushIntervalMs ?? 1000;
  const floor = new Floor({ ...opts, pushIntervalMs });
  const clients = new Set(); // { ws, team }
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  let server = null;
  let boundPort = port;
  let last = Date.now();

  const authorized = (req, url) => {
    if (!token) return true;
    return url.searchParams.get('token') === token || req.headers.authorization === `Bearer ${token}`;
  };

  const send = (c, frame) => {
    if (c.ws.readyState === 1) c.ws.send(JSON.stringify(frame));
  };

  const tick = () => {
    const now = Date.now();
    if (simulate) {
      floor.step(now, now - last);
      floor.lastEvent = now;
    }
    last = now;
    const alertChanges = floor.detect(now);
    for (const al of alertChanges) for (const c of clients) {
      if (!c.team || c.team === al.team) send(c, { type: 'alert', alert: al });
    }
    // Figures move every tick on a live floor, so a delta goes out every interval.
    const changed = [...floor.changed];
    const removed = [...floor.removed];
    floor.changed.clear();
    floor.removed.clear();
    const whole = floor.board(now, null, { agents: false });
    for (const c of clients) {
      const agents = changed.map((id) => floor.agents.get(id)).filter((a) => a && (!c.team || a.team === c.team));
      send(c, {
        type: 'delta', now, last_event: floor.lastEvent, team_ids: whole.team_ids, floor: whole.floor,
        teams: c.team ? whole.teams.filter((t) => t.team === c.team).map((t) => ({ ...t, aht_chart: ahtChart(t.team, now) })) : whole.teams,
        agents: agents.map((a) => ({ ...a })), removed, alerts: whole.alerts,
      });
    }
    handle.lastNow = now;
  };
  let timer = setInterval(tick, pushIntervalMs);

  const handler = (req, res) => {
    const url = new URL(req.url, 'http://x');
    const json = (code, body) => {
      res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname.startsWith('/api/')) {
      if (!authorized(req, url)) return json(401, { error: 'unauthorized' });
      if (req.method === 'GET' && url.pathname === '/api/v1/board') {
        // Computed at the last push's now: the mock's clock moves in push steps.
        const team = url.searchParams.get('team');
        return json(200, floor.board(handle.lastNow ?? Date.now(), team));
      }
      if (req.method === 'POST' && url.pathname === '/api/v1/events') {
        let body = '';
        req.on('data', (d) => { body += d; });
        req.on('end', () => {
          let events;
          try { events = JSON.parse(body); } catch { return json(400, { error: 'not json' }); }
          floor.lastEvent = Date.now();
          json(200, floor.apply(events, Date.now()));
        });
        return;
      }
      return json(404, { error: 'not found' });
    }
    if (url.pathname === '/healthz' || url.pathname === '/readyz') return json(200, { ok: true });
    // Static files from web/, as the daemon serves them.
    let rel = decodeURIComponent(url.pathname);
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(webDir, '.' + rel);
    if (!file.startsWith(webDir + path.sep)) { res.writeHead(403); return res.end(); }
    fs.readFile(file, (err, data) => {
      if (err) { res.writeHead(404, { 'content-type': 'text/plain' }); return res.end('not found'); }
      res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(data);
    });
  };

  const onUpgrade = (req, socket, head) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname !== '/ws' || !authorized(req, url)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c = { ws, team: url.searchParams.get('team') || null };
      clients.add(c);
      ws.on('close', () => clients.delete(c));
      ws.on('error', () => clients.delete(c));
      send(c, floor.board(Date.now(), c.team));
    });
  };

  const listen = () => new Promise((resolve, reject) => {
    server = http.createServer(handler);
    server.on('upgrade', onUpgrade);
    server.once('error', reject);
    server.listen(boundPort, host, () => {
      boundPort = server.address().port;
      resolve();
    });
  });

  const handle = {
    floor,
    lastNow: null,
    get port() { return boundPort; },
    get url() { return `http://${host}:${boundPort}`; },
    /** The server goes away: listening socket closed, every WebSocket cut. */
    async stop() {
      if (!server) return;
      for (const c of clients) c.ws.terminate();
      clients.clear();
      const s = server;
      server = null;
      s.closeAllConnections?.();
      await new Promise((r) => s.close(() => r()));
    },
    /** The server comes back on the same port. */
    async start() {
      if (!server) await listen();
    },
    /** No pushes until resume(): a test reads the page while the floor holds still. */
    pause() {
      clearInterval(timer);
      timer = null;
    },
    resume() {
      timer ??= setInterval(tick, pushIntervalMs);
    },
    async close() {
      clearInterval(timer);
      timer = null;
      await handle.stop();
    },
  };
  await listen();
  tick();
  return handle;
}

// CLI
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const m = await startMock({
    port: Number(opt('port', 8099)),
    host: opt('host', '127.0.0.1'),
    agents: Number(opt('agents', 300)),
    teams: Number(opt('teams', 12)),
    seed: Number(opt('seed', 1)),
    token: opt('token', null),
    pushIntervalMs: Number(opt('push-ms', 1000)),
    simulate: !args.includes('--static'),
    cluster: !args.includes('--no-cluster'),
  });
  console.log(`floorwatch mock: ${m.url}/  (Ctrl-C to stop)`);
  const bye = async () => { await m.close(); process.exit(0); };
  process.on('SIGINT', bye);
  process.on('SIGTERM', bye);
}
