// What the server told us (docs/ws-protocol.md), the page's options, and server time.
//
// State flows one way: frames -> `store` -> panels. `onFrame` is the only writer; panels
// read. Server time = client time + offset, the offset learned from each frame's `now`.

import * as F from './format.js';
import { merge } from './merge.js';

const params = new URLSearchParams(location.search);
const truthy = (v) => ['1', 'true', 'yes', 'on'].includes((v || '').toLowerCase());

/** Page options: ?team= ?token= ?kiosk=1 ?sort=team|state|time ?offline=0 ?lang= ?stale_secs= */
export const opts = {
  team: params.get('team') || null,
  token: params.get('token') || null,
  kiosk: truthy(params.get('kiosk')),
  sort: ['team', 'state', 'time'].includes(params.get('sort')) ? params.get('sort') : 'team',
  offline: params.get('offline') !== '0',
  lang: params.get('lang'),
  staleMs: Number(params.get('stale_secs')) > 0 ? Number(params.get('stale_secs')) * 1000 : F.STALE_MS,
};

/** Defaults until the first `full` frame brings the server's config. */
export const DEFAULT_CONFIG = {
  windows: ['15m', '60m', 'today', 'peak_today'],
  push_interval_ms: 1000,
  timezone: undefined,
  talk_band: [0.69, 0.74],
  aux_band: [0.08, 0.09],
  aux_cv_limit: 0.16,
  utilization_high: 0.74,
  long_aux_secs: 600,
  long_aux_per_reason: {},
  planned_reasons: [],
};

export const store = {
  config: DEFAULT_CONFIG,
  win: F.pickWindows(DEFAULT_CONFIG.windows),
  floor: null,
  teams: [],
  queues: [], // every queue (the floor's, whatever ?team=)
  floorQueues: null, // the floor's sums over the queues
  teamIds: null, // every team on the floor (null until a server says)
  teamsSeen: new Set(), // every team this page has seen on the floor (one may empty, then fill again)
  agents: new Map(), // agent id -> board agent
  alerts: [],
  now: null, // `now` of the last full/delta frame (server epoch ms)
  lastEvent: null, // the largest applied event time (server epoch ms)
  sourcesDown: [], // names of the platform sources ([[sources]]) not connected now
  offsets: [], // recent (server now - client receive time) samples
  offset: 0,
  conn: 'connecting',
  retryAt: null,
  frames: { full: 0, delta: 0, alert: 0 },
  agentsDirty: true, // tiles need regrouping
  // Agents whose tiles need redrawing since the last render (ids); `allChanged` after a
  // `full` frame or a language switch. A delta of 20,000 agents' board names a few hundred.
  changed: new Set(),
  allChanged: true,
  // Ids of the agents in unplanned aux: the only ones that can pass their long-aux limit
  // (the action lane looks at these rather than at every agent twice a second).
  auxUnplanned: new Set(),
  // Ids of the `dormant` agents (roster agents never seen, not due now): off the board.
  dormant: new Set(),
};

const inUnplannedAux = (a) => a.state === 'aux' && !a.planned;

/**
 * A scheduled agent never seen who is not due at work now (docs/wallboard.md): a monthly
 * roster's agents of other days, a shift that has not begun or has ended. Not on the
 * floor today, so no square and not in the offline count; a no-show due now (out of
 * adherence since its shift began) is both.
 */
export const dormant = (a) => a.since == null && a.state === 'offline' && a.out_since == null;

/** Whether a changed agent moves its tile to another group or place (the sort decides). */
// Characters that show nothing and turn or hide the text around them: bidi embeddings,
// overrides, isolates and marks, zero-width spaces, the BOM, soft hyphens. In a name they
// let one agent pass for another ("\u202Eaniloraz" shows as "zarolina", and spills its
// reversal over the rest of a sentence). The server refuses them in ids; names keep
// them for other readers, and the board shows them without. The joiners (U+200C, U+200D)
// stay: emoji and Persian and Indic names need them.
const HIDDEN = /[\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]/g;
export function plainName(s) {
  return s.replace(HIDDEN, '');
}

function movesTile(old, a) {
  if (!old || old.team !== a.team || dormant(old) !== dormant(a)) return true;
  if (opts.sort === 'team') return (old.state === 'offline') !== (a.state === 'offline');
  // By state or by time in state: any change of state or `since` reorders.
  return old.state !== a.state || !old.planned !== !a.planned || old.since !== a.since; // `planned` may be absent (false)
}

export const serverNow = () => Date.now() + store.offset;

/** 'none', 'live' or 'stale' at server time `now` (F.feedState with the page's threshold). */
export const feed = (now = serverNow()) => (store.now == null ? 'none' : F.feedState(store.lastEvent, now, opts.staleMs));

/** The instant timers show: now, or with a stale feed the last event (timers stop there). */
export function asOf(now = serverNow()) {
  return feed(now) === 'stale' ? store.lastEvent : now;
}

/** The team of `?team=` when the server does not know it (null when known or unfiltered). */
export function unknownTeam() {
  if (!opts.team || store.teamIds == null) return null;
  return store.teamIds.includes(opts.team) ? null : opts.team;
}

function learnOffset(now) {
  if (typeof now !== 'number') return;
  // Network delay only ever makes a sample smaller than the true offset, so the largest
  // recent sample is the best estimate; a short window lets a corrected server clock in.
  store.offsets.push(now - Date.now());
  if (store.offsets.length > 10) store.offsets.shift();
  store.offset = Math.max(...store.offsets);
}

/**
 * The alert list with `changed` put in place by id (or added at the end) and the ids
 * `removed` taken out: a delta's `alerts_changed` and `alerts_removed`, or one `alert` frame.
 */
function patchAlerts(changed, removed) {
  const at = new Map(store.alerts.map((al, i) => [al.id, i]));
  const next = store.alerts.slice();
  for (const al of changed) {
    const i = at.get(al.id);
    if (i === undefined) {
      at.set(al.id, next.length);
      next.push(al);
    } else next[i] = al;
  }
  const gone = new Set(removed);
  store.alerts = gone.size ? next.filter((al) => !gone.has(al.id)) : next;
}

/** `teams_changed`: per team only what changed since the previous delta, merged by `team`. */
function patchTeams(list) {
  const at = new Map(store.teams.map((x, i) => [x.team, i]));
  const teams = store.teams.slice();
  for (const p of list) {
    const i = at.get(p.team);
    if (i == null) teams.push(p);
    else teams[i] = merge(teams[i], p);
  }
  store.teams = teams;
}

/** Takes a frame into the store; false for a frame type from a newer server (ignored). */
export function onFrame(msg) {
  switch (msg.type) {
    case 'full':
      store.frames.full++;
      store.config = { ...DEFAULT_CONFIG, ...(msg.config || {}) };
      store.win = F.pickWindows(store.config.windows);
      store.offsets = [];
      learnOffset(msg.now);
      store.now = msg.now;
      store.lastEvent = msg.last_event ?? null;
      store.teamIds = Array.isArray(msg.team_ids) ? msg.team_ids : null;
      for (const id of store.teamIds ?? []) store.teamsSeen.add(id);
      // Teams the daemon keeps while all their agents are away: opened on one, the page says so.
      for (const id of msg.emptied_team_ids ?? []) store.teamsSeen.add(id);
      store.floor = msg.floor ?? null;
      store.teams = msg.teams ?? [];
      store.queues = msg.queues ?? [];
      store.floorQueues = msg.floor_queues ?? null;
      for (const a of msg.agents ?? []) if (typeof a.name === 'string') a.name = plainName(a.name);
      store.agents = new Map((msg.agents ?? []).map((a) => [a.agent, a]));
      store.auxUnplanned = new Set((msg.agents ?? []).filter(inUnplannedAux).map((a) => a.agent));
      store.dormant = new Set((msg.agents ?? []).filter(dormant).map((a) => a.agent));
      store.alerts = msg.alerts ?? [];
      store.sourcesDown = msg.sources_down ?? [];
      store.agentsDirty = true;
      store.allChanged = true;
      store.changed.clear();
      return true;
    case 'delta':
      store.frames.delta++;
      learnOffset(msg.now);
      store.now = msg.now;
      if ('last_event' in msg) store.lastEvent = msg.last_event ?? null;
      if (Array.isArray(msg.team_ids)) {
        store.teamIds = msg.team_ids;
        for (const id of msg.team_ids) store.teamsSeen.add(id);
      }
      if (msg.floor) store.floor = msg.floor;
      if (msg.teams) store.teams = msg.teams;
      if (Array.isArray(msg.teams_changed)) patchTeams(msg.teams_changed);
      if (msg.queues) store.queues = msg.queues;
      // The queues whose figures moved, the list otherwise as it was (docs/ws-protocol.md).
      if (Array.isArray(msg.queues_changed) && msg.queues_changed.length) {
        const by = new Map(msg.queues_changed.map((q) => [q.queue, q]));
        store.queues = store.queues.map((q) => by.get(q.queue) ?? q);
      }
      if (msg.floor_queues) store.floorQueues = msg.floor_queues;
      if (msg.alerts) store.alerts = msg.alerts;
      // What changed of the list since the last delta (docs/ws-protocol.md).
      if (Array.isArray(msg.alerts_changed) || Array.isArray(msg.alerts_removed)) patchAlerts(msg.alerts_changed ?? [], msg.alerts_removed ?? []);
      if (Array.isArray(msg.sources_down)) store.sourcesDown = msg.sources_down;
      for (const a of msg.agents ?? []) {
        if (typeof a.name === 'string') a.name = plainName(a.name);
        const old = store.agents.get(a.agent);
        // A known agent comes with only what changed of its record (docs/ws-protocol.md).
        const next = old ? { ...old, ...a } : a;
        if (movesTile(old, next)) store.agentsDirty = true;
        store.agents.set(a.agent, next);
        if (inUnplannedAux(next)) store.auxUnplanned.add(a.agent);
        else store.auxUnplanned.delete(a.agent);
        if (dormant(next)) store.dormant.add(a.agent);
        else store.dormant.delete(a.agent);
        store.changed.add(a.agent);
      }
      for (const id of msg.removed ?? []) {
        if (store.agents.delete(id)) store.agentsDirty = true;
        store.auxUnplanned.delete(id);
        store.dormant.delete(id);
        store.changed.add(id);
      }
      return true;
    case 'alert': {
      store.frames.alert++;
      const al = msg.alert;
      if (!al || !al.id) return false;
      // Taken back: events that arrived late show it did not happen as shown. Drop it;
      // the corrected alert (if any) follows in its own frame.
      if (al.retracted) patchAlerts([], [al.id]);
      else patchAlerts([al], []);
      return true;
    }
    default:
      return false;
  }
}

/** The block the strip shows: the whole floor, or the one team of `?team=`. */
export function scopeBlock() {
  if (!opts.team) return store.floor;
  return store.teams.find((x) => x.team === opts.team) ?? null;
}

export function visibleAlerts() {
  // Queue alerts belong to the whole floor: a team's board shows them too.
  return opts.team ? store.alerts.filter((a) => a.team === opts.team || a.queue) : store.alerts;
}

export function agentName(id) {
  const a = store.agents.get(id);
  return a?.name || id;
}

export function longLimitSecs(reason) {
  const per = store.config.long_aux_per_reason ?? {};
  return per[reason] ?? store.config.long_aux_secs ?? 600;
}

/** The long-aux level of an agent at server time `at`: '', 'near' (>= 80% of its limit), 'over'. */
export function longLevel(a, at, firingLong) {
  if (a.state !== 'aux' || a.planned || a.since == null) return '';
  if (firingLong.has(a.agent)) return 'over';
  const limit = longLimitSecs(a.reason ?? 'unspecified') * 1000;
  const d = at - a.since;
  if (d >= limit) return 'over';
  return d >= 0.8 * limit ? 'near' : '';
}

export function firingLongAux() {
  return new Set(store.alerts.filter((a) => a.kind === 'long_aux' && a.state === 'firing').map((a) => a.agent));
}

/** Firing out_of_adherence alerts (docs/adherence.md) by agent: agent id -> alert. */
export function firingOutOfAdherence() {
  return new Map(store.alerts.filter((a) => a.kind === 'out_of_adherence' && a.state === 'firing' && a.agent).map((a) => [a.agent, a]));
}
