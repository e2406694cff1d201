// floorwatch wallboard: holds the board pushed over /ws (docs/ws-protocol.md) and draws it.
//
// State flows one way: frames -> `store` -> render (batched to one per animation frame),
// plus a one-second tick that moves the clocks, time-in-state timers, long-aux highlights
// and alert fades without waiting for the server (server time = client time + offset,
// the offset learned from each frame's `now`).
//
// Page parameters: ?team=T07 (one team; passed on to /ws), ?lang=zh|en (default from the
// browser), ?kiosk=1 (no controls, pages through what does not fit), ?sort=team|state|time,
// ?offline=0 (hide logged-out agents), ?token=… (viewer token; passed on to /ws).
// The page makes no other requests than its own files and /ws.

import { t, setLang, pickLang, reasonLabel, teamLabel, lang } from './i18n.js';
import * as F from './format.js';
import { connect } from './conn.js';
import { groupAgents, fitTiles, stateKey } from './tiles.js';

// ---------------------------------------------------------------------------------------
// Options from the page URL

const params = new URLSearchParams(location.search);
const opts = {
  team: params.get('team') || null,
  token: params.get('token') || null,
  kiosk: ['1', 'true', 'yes', 'on'].includes((params.get('kiosk') || '').toLowerCase()),
  sort: ['team', 'state', 'time'].includes(params.get('sort')) ? params.get('sort') : 'team',
  offline: params.get('offline') !== '0',
};
setLang(pickLang(params.get('lang'), navigator.languages?.length ? navigator.languages : [navigator.language]));

/** How long a resolved alert stays visible while it fades (ms of server time). */
const RESOLVED_FADE_MS = 120_000;

/** Defaults until the first `full` frame brings the server's config. */
const DEFAULT_CONFIG = {
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

// ---------------------------------------------------------------------------------------
// Store: what the server told us. Owned by onFrame; read by render and tick.

const store = {
  config: DEFAULT_CONFIG,
  floor: null,
  teams: [],
  agents: new Map(), // agent id -> board agent
  alerts: [],
  now: null, // `now` of the last full/delta frame (server epoch ms)
  offsets: [], // recent (server now - client receive time) samples
  offset: 0,
  conn: 'connecting',
  retryAt: null,
  frames: { full: 0, delta: 0, alert: 0 },
  agentsDirty: true, // tiles need regrouping
};

// Read-only handle for tests and for people poking at a wall screen from devtools.
window.floorwatch = { store, opts };

const serverNow = () => Date.now() + store.offset;

function learnOffset(now) {
  if (typeof now !== 'number') return;
  // Network delay only ever makes a sample smaller than the true offset, so the largest
  // recent sample is the best estimate; a short window lets a corrected server clock in.
  store.offsets.push(now - Date.now());
  if (store.offsets.length > 10) store.offsets.shift();
  store.offset = Math.max(...store.offsets);
}

function onFrame(msg) {
  switch (msg.type) {
    case 'full':
      store.frames.full++;
      store.config = { ...DEFAULT_CONFIG, ...(msg.config || {}) };
      store.offsets = [];
      learnOffset(msg.now);
      store.now = msg.now;
      store.floor = msg.floor ?? null;
      store.teams = msg.teams ?? [];
      store.agents = new Map((msg.agents ?? []).map((a) => [a.agent, a]));
      store.alerts = msg.alerts ?? [];
      store.agentsDirty = true;
      break;
    case 'delta':
      store.frames.delta++;
      learnOffset(msg.now);
      store.now = msg.now;
      if (msg.floor) store.floor = msg.floor;
      if (msg.teams) store.teams = msg.teams;
      if (msg.alerts) store.alerts = msg.alerts;
      for (const a of msg.agents ?? []) store.agents.set(a.agent, a);
      for (const id of msg.removed ?? []) store.agents.delete(id);
      if ((msg.agents && msg.agents.length) || (msg.removed && msg.removed.length)) store.agentsDirty = true;
      break;
    case 'alert': {
      store.frames.alert++;
      const al = msg.alert;
      if (!al || !al.id) return;
      const i = store.alerts.findIndex((x) => x.id === al.id);
      if (i >= 0) store.alerts[i] = al;
      else store.alerts.push(al);
      break;
    }
    default:
      return; // a frame type from a newer server: ignore
  }
  scheduleRender();
}

function onConnState(state, info) {
  store.conn = state;
  store.retryAt = info?.retryAt ?? null;
  renderConn();
}

// ---------------------------------------------------------------------------------------
// DOM helpers

const $ = (sel, root = document) => root.querySelector(sel);
const app = $('#app');
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};
const setText = (e, s) => {
  if (e.textContent !== s) e.textContent = s;
};
const setAttr = (e, k, v) => {
  if (v == null || v === false) {
    if (e.hasAttribute(k)) e.removeAttribute(k);
  } else if (e.getAttribute(k) !== String(v)) e.setAttribute(k, v);
};
/** A figure: visible text, raw value for tests, and a threshold level for colour. */
const setFig = (e, text, rawVal, level, levelText) => {
  setText(e, text);
  setAttr(e, 'data-value', F.raw(rawVal));
  setAttr(e, 'data-level', level ?? null);
  setAttr(e, 'title', levelText ?? null);
};

const LEVEL_TEXT = {
  talk: { ok: 'lvl.ok', low: 'lvl.low', high: 'lvl.high', bad: 'lvl.high' },
  aux: { ok: 'lvl.ok', warn: 'lvl.warn', bad: 'lvl.bad' },
  cv: { ok: 'lvl.in_control', bad: 'lvl.out_of_control' },
};
const lvlText = (kind, level) => (LEVEL_TEXT[kind][level] ? t(LEVEL_TEXT[kind][level]) : null);

function applyStaticText() {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  document.title = opts.team ? `${t('doc.title')} · ${opts.team}` : t('doc.title');
  for (const e of document.querySelectorAll('[data-i18n]')) setText(e, t(e.dataset.i18n));
  const langBtn = $('[data-action="lang"]');
  setText(langBtn, t('btn.lang'));
  langBtn.title = t('btn.lang_title');
  langBtn.lang = lang() === 'zh' ? 'en' : 'zh-CN';
  setText($('[data-testid="scope"]'), opts.team ? t('scope.team', { team: teamLabel(opts.team) }) : t('scope.floor'));
  updateFullscreenLabel();
}

// ---------------------------------------------------------------------------------------
// Render (batched)

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  app.classList.toggle('has-data', store.now != null);
  renderHeader();
  renderStrip();
  renderTeams();
  renderAlerts();
  renderBanner();
  renderTiles();
  tick(false);
}

/** The block the strip shows: the whole floor, or the one team of `?team=`. */
function scopeBlock() {
  if (!opts.team) return store.floor;
  return store.teams.find((x) => x.team === opts.team) ?? null;
}

function renderHeader() {
  const b = scopeBlock();
  const peak = $('[data-testid="peak"]');
  if (!b || b.peak == null) {
    peak.hidden = true;
  } else {
    peak.hidden = false;
    setAttr(peak, 'data-value', String(!!b.peak));
    setText(peak, b.peak ? t('peak.on') : t('peak.off'));
  }
  const tz = store.config.timezone;
  $('[data-testid="clock"]').title = tz ? t('tz', { tz }) : '';
}

function bandText(band) {
  if (!band) return '';
  const short = (x) => F.pct(x).replace('.0%', '%');
  return t('kpi.band', { lo: short(band[0]).replace('%', ''), hi: short(band[1]) });
}

function renderStrip() {
  const strip = $('[data-testid="floor-strip"]');
  setAttr(strip, 'data-scope', opts.team ? 'team' : 'floor');
  const b = scopeBlock();
  const cur = b?.current ?? {};
  const win = b?.windows ?? {};
  const cnt = (field, v) => {
    const e = $(`[data-testid="floor-${field}"]`, strip);
    setFig(e, F.int(v), v ?? null);
  };
  const planned = cur.aux != null && cur.aux_unplanned != null ? cur.aux - cur.aux_unplanned : null;
  cnt('talking', cur.talking);
  cnt('acw', cur.acw);
  cnt('aux_unplanned', cur.aux_unplanned);
  cnt('aux_planned', planned);
  cnt('idle', cur.idle);
  cnt('logged_in', cur.logged_in);
  const off = $('[data-testid="floor-offline"]', strip);
  setText(off, cur.offline != null ? t('offline.count', { n: cur.offline }) : '');
  setAttr(off, 'data-value', F.raw(cur.offline ?? null));

  const c = store.config;
  for (const w of ['15m', '60m']) {
    const f = win[w] ?? {};
    let e = $(`[data-testid="floor-talk_utilization_${w}"]`, strip);
    let lv = F.talkLevel(f.talk_utilization ?? null, c.talk_band, c.utilization_high);
    setFig(e, F.pct(f.talk_utilization), f.talk_utilization ?? null, lv, lvlText('talk', lv));
    e = $(`[data-testid="floor-aux_ratio_${w}"]`, strip);
    lv = F.auxLevel(f.aux_ratio ?? null, c.aux_band);
    setFig(e, F.pct(f.aux_ratio), f.aux_ratio ?? null, lv, lvlText('aux', lv));
    e = $(`[data-testid="floor-occupancy_${w}"]`, strip);
    setFig(e, F.pct(f.occupancy), f.occupancy ?? null, null);
  }
  // "100.0%" needs a size down to fit its box.
  for (const e of strip.querySelectorAll('.w .v')) setAttr(e, 'data-wide', e.textContent.length > 5 ? '' : null);
  setText($('[data-band="talk"]', strip), bandText(c.talk_band));
  setText($('[data-band="aux"]', strip), bandText(c.aux_band));
}

// Team table ----------------------------------------------------------------------------

const TEAM_COLS = [
  // [data-field, class, value(team) -> [text, raw, level, levelKind]]
  ['talking', 'c-n', (x) => [F.int(x.current?.talking), x.current?.talking]],
  ['acw', 'c-n', (x) => [F.int(x.current?.acw), x.current?.acw]],
  ['aux_unplanned', 'c-n c-aux', (x) => [F.int(x.current?.aux_unplanned), x.current?.aux_unplanned]],
  ['aux_planned', 'c-n', (x) => {
    const v = x.current?.aux != null && x.current?.aux_unplanned != null ? x.current.aux - x.current.aux_unplanned : null;
    return [F.int(v), v];
  }],
  ['idle', 'c-n', (x) => [F.int(x.current?.idle), x.current?.idle]],
  ['logged_in', 'c-n c-in', (x) => [F.int(x.current?.logged_in), x.current?.logged_in]],
  // 60-minute figures: steady enough to act on; the strip shows the floor's 15 minutes too.
  ['talk_utilization_60m', 'c-p c-lv', (x, c) => {
    const v = x.windows?.['60m']?.talk_utilization ?? null;
    return [F.pct(v), v, F.talkLevel(v, c.talk_band, c.utilization_high), 'talk'];
  }],
  ['aux_ratio_60m', 'c-p c-lv', (x, c) => {
    const v = x.windows?.['60m']?.aux_ratio ?? null;
    return [F.pct(v), v, F.auxLevel(v, c.aux_band), 'aux'];
  }],
  ['aux_ratio_cv_peak_today', 'c-p c-lv c-cv', (x, c) => {
    const v = x.windows?.peak_today?.aux_ratio_cv ?? null;
    return [F.cv(v), v, F.cvLevel(v, c.aux_cv_limit), 'cv'];
  }],
  ['aht_s_60m', 'c-p', (x) => {
    const v = x.windows?.['60m']?.aht_s ?? null;
    return [F.aht(v), v];
  }],
  ['contacts_60m', 'c-p', (x) => {
    const v = x.windows?.['60m']?.contacts ?? null;
    return [F.int(v), v];
  }],
];

const teamRows = new Map(); // team -> <tr>

function renderTeams() {
  const tbody = $('[data-testid="team-rows"]');
  const c = store.config;
  const clusterTeams = new Set(store.alerts.filter((a) => a.kind === 'aux_cluster' && a.state === 'firing').map((a) => a.team));
  const teams = opts.team ? store.teams.filter((x) => x.team === opts.team) : store.teams;
  const seen = new Set();
  let prev = null;
  for (const x of teams) {
    seen.add(x.team);
    let tr = teamRows.get(x.team);
    if (!tr) {
      tr = el('tr');
      tr.dataset.team = x.team;
      const th = el('th', 'c-team');
      th.scope = 'row';
      th.append(el('span', 'tname'), el('span', 'ptag'));
      tr.append(th);
      for (const [field, cls] of TEAM_COLS) {
        const td = el('td', cls);
        const v = el('span', 'v');
        v.dataset.field = field;
        td.append(v);
        tr.append(td);
      }
      teamRows.set(x.team, tr);
    }
    // Keep rows in the server's order (sorted by id) without rebuilding the table.
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
    setText($('.tname', tr), teamLabel(x.team));
    const ptag = $('.ptag', tr);
    setText(ptag, x.peak ? t('peak.tag') : '');
    setAttr(tr, 'data-peak', String(!!x.peak));
    setAttr(tr, 'data-cluster', clusterTeams.has(x.team) ? 'true' : null);
    const cells = tr.querySelectorAll('.v');
    TEAM_COLS.forEach(([, , fn], i) => {
      const [text, v, level, kind] = fn(x, c);
      setFig(cells[i], text, v ?? null, level ?? null, kind ? lvlText(kind, level) : null);
    });
  }
  for (const [team, tr] of teamRows) {
    if (!seen.has(team)) {
      tr.remove();
      teamRows.delete(team);
    }
  }
  $('.teams-empty').hidden = teams.length > 0 || store.now == null;
}

// Alerts ----------------------------------------------------------------------------------

const SEV_RANK = { critical: 0, warning: 1, info: 2 };

function agentName(id) {
  const a = store.agents.get(id);
  return a?.name || id;
}

function longLimitSecs(reason) {
  const per = store.config.long_aux_per_reason ?? {};
  return per[reason] ?? store.config.long_aux_secs ?? 600;
}

/** An alert's one line in the page's language, from its fields (never its English `message`). */
function alertText(al, now) {
  const team = teamLabel(al.team);
  switch (al.kind) {
    case 'aux_cluster':
      return t('alert.aux_cluster', { team, k: (al.agents ?? []).length, share: F.pct(al.value) });
    case 'long_aux': {
      const name = al.agent ? agentName(al.agent) : '';
      const who = name && name !== al.agent ? `${name} ${al.agent}` : (al.agent ?? '');
      const limit = F.mss(al.threshold);
      if (al.state !== 'firing') return t('alert.long_aux_resolved', { who, team, limit });
      const a = al.agent ? store.agents.get(al.agent) : null;
      if (a && a.state === 'aux' && !a.planned) {
        const dur = F.mss((now - a.since) / 1000);
        return t('alert.long_aux', { who, team, reason: reasonLabel(a.reason ?? 'unspecified'), dur, limit });
      }
      return t('alert.long_aux_noreason', { who, team, dur: F.mss(al.value), limit });
    }
    case 'aux_dispersion':
      return t('alert.aux_dispersion', { team, value: F.cv(al.value), threshold: F.cv(al.threshold) });
    case 'utilization_high':
      return t('alert.utilization_high', { team, value: F.pct(al.value), threshold: F.pct(al.threshold) });
    default:
      return t('alert.unknown', { team });
  }
}

function visibleAlerts() {
  return opts.team ? store.alerts.filter((a) => a.team === opts.team) : store.alerts;
}

const alertItems = new Map(); // id -> <li>

function renderAlerts() {
  const list = $('.alerts');
  const now = serverNow();
  const items = visibleAlerts()
    .filter((a) => !(a.kind === 'aux_cluster' && a.state === 'firing')) // those are the banner
    .filter((a) => a.state === 'firing' || now - (F.toMs(a.resolved_at) ?? 0) < RESOLVED_FADE_MS)
    .sort((a, b) => {
      const fa = a.state === 'firing' ? 0 : 1;
      const fb = b.state === 'firing' ? 0 : 1;
      if (fa !== fb) return fa - fb;
      const sa = SEV_RANK[a.severity] ?? 3;
      const sb = SEV_RANK[b.severity] ?? 3;
      if (sa !== sb) return sa - sb;
      return (F.toMs(b.fired_at) ?? 0) - (F.toMs(a.fired_at) ?? 0);
    });
  const seen = new Set();
  let prev = null;
  for (const al of items) {
    seen.add(al.id);
    let li = alertItems.get(al.id);
    if (!li) {
      li = el('li', 'alert');
      li.dataset.alertId = al.id;
      li.append(el('span', 'sev'), el('span', 'msg'), el('span', 'when'));
      alertItems.set(al.id, li);
    }
    const want = prev ? prev.nextSibling : list.firstChild;
    if (want !== li) list.insertBefore(li, want);
    prev = li;
    setAttr(li, 'data-kind', al.kind);
    setAttr(li, 'data-team', al.team);
    setAttr(li, 'data-state', al.state);
    setAttr(li, 'data-severity', al.severity);
    setText($('.sev', li), al.state === 'firing' ? t(`sev.${al.severity}`) : t('alert.resolved'));
    updateAlertItem(li, al, now);
  }
  for (const [id, li] of alertItems) {
    if (!seen.has(id)) {
      li.remove();
      alertItems.delete(id);
    }
  }
  const firing = items.filter((a) => a.state === 'firing').length;
  setText($('[data-testid="alert-count"]'), firing ? String(firing) : '');
  $('.alerts-empty').hidden = items.length > 0 || store.now == null;
}

/** The parts of an alert item that move with time: long-aux duration, fade. */
function updateAlertItem(li, al, now) {
  setText($('.msg', li), alertText(al, now));
  const tz = store.config.timezone;
  if (al.state === 'firing') {
    setText($('.when', li), t('alerts.since', { time: F.clock(F.toMs(al.fired_at) ?? now, tz, false) }));
    li.style.opacity = '';
  } else {
    const r = F.toMs(al.resolved_at) ?? now;
    setText($('.when', li), t('alerts.resolved_at', { time: F.clock(r, tz, false) }));
    const age = Math.max(0, now - r);
    li.style.opacity = String(Math.max(0, 0.75 * (1 - age / RESOLVED_FADE_MS)).toFixed(3));
  }
}

// Cluster banner --------------------------------------------------------------------------

const bannerRows = new Map(); // alert id -> row element

function renderBanner() {
  const banner = $('[data-testid="cluster-banner"]');
  const firing = visibleAlerts().filter((a) => a.kind === 'aux_cluster' && a.state === 'firing');
  banner.hidden = firing.length === 0;
  app.classList.toggle('has-banner', firing.length > 0);
  if (!banner.firstChild) {
    const title = el('div', 'cl-title');
    title.append(el('span', 'cl-icon', '⚠'), el('span', 'cl-title-text'));
    banner.append(title, el('div', 'cl-rows'));
  }
  setText($('.cl-title-text', banner), t('banner.title'));
  const rows = $('.cl-rows', banner);
  const seen = new Set();
  for (const al of firing) {
    seen.add(al.id);
    let row = bannerRows.get(al.id);
    if (!row) {
      row = el('div', 'cluster');
      row.dataset.alertId = al.id;
      row.append(el('span', 'cl-team'), el('span', 'cl-line'), el('div', 'cl-agents'), el('span', 'cl-since'));
      bannerRows.set(al.id, row);
      rows.append(row);
    }
    row.dataset.team = al.team;
    row.dataset.agents = (al.agents ?? []).join(' ');
    setText($('.cl-team', row), teamLabel(al.team));
    setText($('.cl-line', row), t('banner.line', { k: (al.agents ?? []).length, share: F.pct(al.value), team: teamLabel(al.team) }));
    const box = $('.cl-agents', row);
    // The alert names who was on break when it fired. The banner stays while the cluster
    // lasts, so it also shows who is on break in that team now: those named first (struck
    // out once back), then the team's others now in unplanned aux (marked as joined).
    const named = al.agents ?? [];
    const joined = [...store.agents.values()]
      .filter((a) => a.team === al.team && stateKey(a) === 'aux_unplanned' && !named.includes(a.agent))
      .map((a) => a.agent)
      .sort();
    const chips = [
      ...named.map((id) => {
        const a = store.agents.get(id);
        return { id, kind: a && stateKey(a) !== 'aux_unplanned' ? 'back' : 'named' };
      }),
      ...joined.map((id) => ({ id, kind: 'joined' })),
    ];
    // Still on break first, those back last.
    chips.sort((x, y) => (x.kind === 'back') - (y.kind === 'back'));
    // Rebuild the chips only when the list or their states changed.
    const sig = chips.map((c) => `${c.id}:${c.kind}:${store.agents.get(c.id)?.name ?? ''}`).join('|') + lang();
    if (box.dataset.sig !== sig) {
      box.dataset.sig = sig;
      box.replaceChildren(...chips.map(({ id, kind }) => {
        const a = store.agents.get(id);
        const chip = el('span', `chip ${kind}`);
        chip.dataset.agent = id;
        if (kind === 'joined') chip.title = t('banner.joined');
        chip.append(el('span', 'chip-name', agentName(id)));
        if (a?.name) chip.append(el('span', 'chip-id', id));
        if (kind === 'back') chip.append(el('span', 'chip-back', t('banner.back')));
        return chip;
      }));
    }
  }
  for (const [id, row] of bannerRows) {
    if (!seen.has(id)) {
      row.remove();
      bannerRows.delete(id);
    }
  }
}

function tickBanner(now) {
  for (const [id, row] of bannerRows) {
    const al = store.alerts.find((a) => a.id === id);
    if (!al) continue;
    const since = F.toMs(al.fired_at) ?? now;
    setText($('.cl-since', row), t('banner.since', { dur: F.mss((now - since) / 1000) }));
  }
}

// Tiles -----------------------------------------------------------------------------------

const tilesBox = $('[data-testid="agent-tiles"]');
const tileEls = new Map(); // agent id -> tile element
const groupEls = new Map(); // group key -> { root, label, count, grid }
let orderSig = '';
let groupCounts = [];

function makeTile() {
  const e = el('div', 'tile');
  // Flat children, placed by CSS grid areas (the dense layout moves them around).
  e.append(el('span', 't-name'), el('span', 't-state'), el('span', 't-reason'), el('span', 't-time'));
  return e;
}

function updateTile(e, a) {
  const sk = stateKey(a);
  const [name, state, reason] = e.children;
  setAttr(e, 'data-agent', a.agent);
  setAttr(e, 'data-state', a.state);
  setAttr(e, 'data-statekey', sk);
  setAttr(e, 'data-team', a.team);
  setAttr(e, 'data-reason', a.state === 'aux' ? (a.reason ?? 'unspecified') : null);
  setAttr(e, 'data-since', a.since);
  setText(name, a.name || a.agent);
  setText(state, t(sk === 'aux_planned' ? 'short.aux_planned' : `short.${a.state}`));
  setText(reason, a.state === 'aux' ? reasonLabel(a.reason ?? 'unspecified') : '');
  tileTitle(e, a);
}

/** Tooltip for a person at the screen with a mouse: who, which state, long-aux limit. */
function tileTitle(e, a, lv = e.dataset.long ?? '') {
  let s = `${a.name || a.agent} (${a.agent}) · ${t(`state.${stateKey(a)}`)}`;
  if (a.state === 'aux') s += ` · ${reasonLabel(a.reason ?? 'unspecified')}`;
  if (lv) s += ` · ${t(lv === 'over' ? 'long.over' : 'long.near', { limit: F.mss(longLimitSecs(a.reason ?? 'unspecified')) })}`;
  setAttr(e, 'title', s);
}

function groupLabel(g) {
  if (g.kind === 'team') return teamLabel(g.key);
  if (g.kind === 'state') return t(g.key === 'aux_unplanned' ? 'short.aux' : `short.${g.key}`);
  return t('group.all');
}

function setGroupName(G, text) {
  setText(G.name, text);
  // Wide (CJK) characters count double.
  const width = [...text].reduce((n, c) => n + (c.codePointAt(0) >= 0x2e80 ? 2 : 1), 0);
  G.name.classList.toggle('long', width > 5);
}

function renderTiles() {
  const agents = [...store.agents.values()].filter((a) => (opts.offline || a.state !== 'offline')
    && (!opts.team || a.team === opts.team));
  // Refresh every tile's content (cheap; text only changes when it differs).
  const seen = new Set();
  for (const a of agents) {
    seen.add(a.agent);
    let e = tileEls.get(a.agent);
    if (!e) {
      e = makeTile();
      tileEls.set(a.agent, e);
      store.agentsDirty = true;
    }
    updateTile(e, a);
  }
  for (const [id, e] of tileEls) {
    if (!seen.has(id)) {
      e.remove();
      tileEls.delete(id);
      store.agentsDirty = true;
    }
  }
  if (store.agentsDirty) {
    store.agentsDirty = false;
    const groups = groupAgents(agents, opts.sort);
    const sig = opts.sort + '#' + groups.map((g) => g.key + ':' + g.agents.map((a) => a.agent).join(',')).join(';');
    if (sig !== orderSig) {
      orderSig = sig;
      const keep = new Set();
      let prev = null;
      for (const g of groups) {
        const gkey = `${g.kind}:${g.key}`;
        keep.add(gkey);
        let G = groupEls.get(gkey);
        if (!G) {
          const root = el('div', 'group');
          root.dataset.group = g.key;
          root.dataset.kind = g.kind;
          const label = el('div', 'glabel');
          const name = el('span', 'gname');
          const count = el('span', 'gcount');
          label.append(name, count);
          const grid = el('div', 'grid');
          root.append(label, grid);
          G = { root, name, count, grid };
          groupEls.set(gkey, G);
        }
        const want = prev ? prev.nextSibling : tilesBox.firstChild;
        if (want !== G.root) tilesBox.insertBefore(G.root, want);
        prev = G.root;
        G.root.dataset.statekey = g.kind === 'state' ? g.key : '';
        // Append in order; appendChild moves a tile that is already elsewhere.
        const els = g.agents.map((a) => tileEls.get(a.agent));
        const cur = G.grid.children;
        let same = cur.length === els.length;
        for (let i = 0; same && i < els.length; i++) same = cur[i] === els[i];
        if (!same) G.grid.replaceChildren(...els);
      }
      for (const [k, G] of groupEls) {
        if (!keep.has(k)) {
          G.root.remove();
          groupEls.delete(k);
        }
      }
      groupCounts = groups.map((g) => g.agents.length);
      layoutTiles();
    }
    for (const g of groups) {
      const G = groupEls.get(`${g.kind}:${g.key}`);
      if (!G) continue;
      setGroupName(G, groupLabel(g));
      // Team groups count who is logged in; state groups count their tiles.
      const n = g.kind === 'team' ? g.agents.filter((a) => a.state !== 'offline').length : g.agents.length;
      setText(G.count, String(n));
      G.root.title = `${groupLabel(g)} · ${t(g.kind === 'team' ? 'agents.logged_in' : 'agents.count', { n })}`;
    }
  }
  $('.tiles-empty').hidden = agents.length > 0 || store.now == null;
}

function relabelGroups() {
  for (const [gkey, G] of groupEls) {
    const [kind, ...rest] = gkey.split(':');
    setGroupName(G, groupLabel({ kind, key: rest.join(':') }));
  }
  store.agentsDirty = true;
}

let lastFit = '';
function layoutTiles() {
  const W = tilesBox.clientWidth;
  const H = tilesBox.clientHeight;
  if (!W || !H) return;
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const labelW = Math.round(rem * 4.3);
  const gap = Math.max(3, Math.round(rem * 0.25));
  const groupGap = Math.max(4, Math.round(rem * 0.45));
  const fit = fitTiles(groupCounts, W, H, { labelW, gap, groupGap });
  const key = `${fit.w}x${fit.h}x${fit.cols}x${labelW}x${gap}`;
  tilesBox.dataset.fits = String(fit.fits);
  if (key === lastFit) return;
  lastFit = key;
  const s = tilesBox.style;
  s.setProperty('--tile-w', `${fit.w}px`);
  s.setProperty('--tile-h', `${fit.h}px`);
  s.setProperty('--cols', String(fit.cols));
  s.setProperty('--label-w', `${labelW}px`);
  s.setProperty('--gap', `${gap}px`);
  s.setProperty('--group-gap', `${groupGap}px`);
  // Type follows the tile: the smaller of width- and height-bound sizes. Small tiles
  // switch to a dense two-line layout (name / state and time) sized by height.
  const u = Math.min(fit.w / 11, fit.h / 4.4);
  s.setProperty('--tu', `${u.toFixed(2)}px`);
  tilesBox.dataset.size = u < 9 ? 'xs' : u < 13 ? 's' : 'l';
}

new ResizeObserver(() => {
  lastFit = '';
  layoutTiles();
}).observe(tilesBox);

/** The long-aux level of an agent at server time `now`: '', 'near' (>= 80% of its limit), 'over'. */
function longLevel(a, now, firingLong) {
  if (a.state !== 'aux' || a.planned || a.since == null) return '';
  if (firingLong.has(a.agent)) return 'over';
  const limit = longLimitSecs(a.reason ?? 'unspecified') * 1000;
  const el = now - a.since;
  if (el >= limit) return 'over';
  return el >= 0.8 * limit ? 'near' : '';
}

function tickTiles(now) {
  const firingLong = new Set(store.alerts.filter((a) => a.kind === 'long_aux' && a.state === 'firing').map((a) => a.agent));
  for (const [id, e] of tileEls) {
    const a = store.agents.get(id);
    if (!a) continue;
    setText(e.children[3], a.since == null ? F.DASH : F.mss(Math.max(0, (now - a.since) / 1000)));
    const lv = longLevel(a, now, firingLong);
    if ((e.dataset.long ?? '') !== lv) {
      setAttr(e, 'data-long', lv || null);
      tileTitle(e, a, lv);
    }
  }
}

// Connection state ---------------------------------------------------------------------------

function renderConn() {
  const c = $('[data-testid="conn-state"]');
  const lost = store.conn === 'lost';
  setAttr(c, 'data-state', store.conn);
  setAttr(app, 'data-conn', store.conn);
  let text;
  if (store.conn === 'open') text = t('conn.open');
  else if (store.conn === 'connecting') text = t('conn.connecting');
  else text = t('conn.lost');
  setText($('.conn-text', c), text);
  const overlay = $('[data-testid="conn-lost"]');
  overlay.hidden = !lost;
  if (lost) {
    const secs = store.retryAt ? Math.max(1, Math.ceil((store.retryAt - Date.now()) / 1000)) : 0;
    setText($('.lost-title', overlay), store.retryAt ? t('conn.retry', { s: secs }) : t('conn.retrying'));
    setText($('.lost-sub', overlay), store.now != null ? t('conn.last', { time: F.clock(store.now, store.config.timezone) }) : '');
  }
}

// Tick ---------------------------------------------------------------------------------------

function tick(reschedule = true) {
  const now = serverNow();
  if (store.now != null) {
    setText($('.clock-time'), F.clock(now, store.config.timezone));
    tickTiles(now);
    tickBanner(now);
    for (const al of visibleAlerts()) {
      const li = alertItems.get(al.id);
      if (li) updateAlertItem(li, al, now);
    }
    // Resolved alerts that faded out leave the list.
    if (visibleAlerts().some((a) => a.state !== 'firing' && alertItems.has(a.id)
      && now - (F.toMs(a.resolved_at) ?? 0) >= RESOLVED_FADE_MS)) renderAlerts();
  }
  if (store.conn === 'lost') renderConn();
  if (reschedule) {
    // Wake just after the next whole server second, so all timers turn over together.
    const ms = 1000 - (((serverNow() % 1000) + 1000) % 1000) + 15;
    setTimeout(tick, ms);
  }
}

// Kiosk paging: what does not fit (tiles, a long team table) shows a screenful at a time.
function kioskPager() {
  for (const box of [tilesBox, $('.teams-panel')]) {
    if (box.scrollHeight > box.clientHeight + 4) {
      const next = box.scrollTop + box.clientHeight * 0.9;
      box.scrollTo({ top: next >= box.scrollHeight - box.clientHeight + 4 ? 0 : next });
    }
  }
}

// Controls -----------------------------------------------------------------------------------

function setParam(k, v) {
  const u = new URL(location.href);
  if (v == null) u.searchParams.delete(k);
  else u.searchParams.set(k, v);
  history.replaceState(null, '', u);
}

function updateSortButtons() {
  for (const b of document.querySelectorAll('[data-sort]')) {
    b.setAttribute('aria-pressed', String(b.dataset.sort === opts.sort));
  }
  app.dataset.sort = opts.sort;
}

function updateFullscreenLabel() {
  const b = $('[data-action="fullscreen"]');
  const on = !!document.fullscreenElement;
  setText($('.label', b), on ? t('btn.exit_fullscreen') : t('btn.fullscreen'));
  b.title = $('.label', b).textContent;
  b.hidden = !document.fullscreenEnabled;
}

document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button');
  if (!b) return;
  if (b.dataset.sort) {
    opts.sort = b.dataset.sort;
    setParam('sort', opts.sort === 'team' ? null : opts.sort);
    updateSortButtons();
    store.agentsDirty = true;
    orderSig = '';
    scheduleRender();
  } else if (b.dataset.action === 'lang') {
    const next = lang() === 'zh' ? 'en' : 'zh';
    setLang(next);
    setParam('lang', next);
    applyStaticText();
    relabelGroups();
    for (const box of document.querySelectorAll('.cl-agents')) box.dataset.sig = '';
    renderConn();
    render();
  } else if (b.dataset.action === 'fullscreen') {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen?.().catch(() => {});
  }
});
document.addEventListener('fullscreenchange', () => {
  app.classList.toggle('fullscreen', !!document.fullscreenElement);
  updateFullscreenLabel();
});

// ---------------------------------------------------------------------------------------
// Start

function wsUrl() {
  // Relative to the page, so a reverse proxy that serves the board under a path works.
  const u = new URL('ws', document.baseURI);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (opts.team) u.searchParams.set('team', opts.team);
  if (opts.token) u.searchParams.set('token', opts.token);
  return u.toString();
}


if (opts.kiosk) {
  app.classList.add('kiosk');
  setInterval(kioskPager, 12000);
}
app.classList.toggle('team-mode', !!opts.team);
applyStaticText();
updateSortButtons();
renderConn();
connect(wsUrl(), { frame: onFrame, state: onConnState });
tick();
