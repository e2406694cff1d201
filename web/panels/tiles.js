// Agent tiles: one per agent, grouped (by team, state, or one group by time in state),
// coloured by state, with name, state or reason, and time in state. The size is the
// largest that fits the panel (tiles.js); a floor too large for tiles with readable text
// (2,000 agents on a 1080p screen) becomes colour-only squares in team blocks, and the
// action lane names who needs a lead. With a stale feed the timers stop at the last event.

import { t, reasonLabel, teamLabel } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText, setAttr } from '../dom.js';
import { store, opts, asOf, longLevel, longLimitSecs, firingLongAux } from '../store.js';
import { shortName } from './teams.js';
import { groupAgents, fitTiles, fitDots, chooseMode, stateKey } from '../tiles.js';

const tilesBox = () => $('[data-testid="agent-tiles"]');
const tileEls = new Map(); // agent id -> tile element
const groupEls = new Map(); // group key -> { root, label, count, grid }
let orderSig = '';
let groupCounts = [];
let lastFit = '';

function makeTile() {
  const e = el('div', 'tile');
  // Flat children, placed by CSS grid areas (the dense layout moves them around).
  e.append(el('span', 't-name'), el('span', 't-state'), el('span', 't-reason'), el('span', 't-time'), el('span', 't-sched'));
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
  // "Sophie K.": a whole first name reads better than "Sophie Kh…" (full name in the title).
  setText(name, a.name ? shortName(a.name) : a.agent);
  setText(state, t(sk === 'aux_planned' ? 'short.aux_planned' : `short.${a.state}`));
  setText(reason, a.state === 'aux' ? reasonLabel(a.reason ?? 'unspecified') : '');
  // The roster's activity beside the state (docs/adherence.md); the time out is in tick().
  setAttr(e, 'data-scheduled', a.scheduled ?? null);
  setAttr(e, 'data-ooa', a.out_since ?? null);
  setText(e.children[4], a.scheduled ? schedLabel(a.scheduled) : '');
  tileTitle(e, a);
}

function schedLabel(act) {
  return ['work', 'off'].includes(act) ? t(`sched.${act}`) : reasonLabel(act);
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

const shown = (a) => (opts.offline || a.state !== 'offline') && (!opts.team || a.team === opts.team);

/**
 * From this many agents on the board, a group's tiles are made only once the group is on
 * screen or about to be (an IntersectionObserver); until then its grid is an empty box of
 * the right size. 20,000 tiles in the DOM took the page over a second to draw and made it
 * scroll at a few frames a second (issue 20). Smaller boards make every tile at once.
 */
export const LAZY_FROM = 3000;
let lazy = false;
let shownCount = 0;

/** The tile of agent `id`, made and drawn if it has none yet. */
function tileFor(id) {
  let e = tileEls.get(id);
  if (!e) {
    e = makeTile();
    tileEls.set(id, e);
    const a = store.agents.get(id);
    if (a) updateTile(e, a);
  }
  return e;
}

/** Puts a group's tiles in its grid, in order (made if need be). */
function fill(G) {
  G.filled = true;
  const els = G.ids.map(tileFor);
  const cur = G.grid.children;
  let same = cur.length === els.length;
  for (let i = 0; same && i < els.length; i++) same = cur[i] === els[i];
  if (!same) G.grid.replaceChildren(...els);
}

/**
 * Draws the tiles. Only the agents a frame changed are touched (a delta of a 20,000-agent
 * floor names a few hundred); all drawn tiles after a `full` frame or a language switch.
 * The groups are rebuilt only when a tile moves (store.agentsDirty).
 */
export function render() {
  const box = tilesBox();
  const all = store.allChanged;
  const ids = all ? [...tileEls.keys()] : store.changed;
  const at = asOf();
  const firing = all ? null : firingLongAux();
  for (const id of ids) {
    const a = store.agents.get(id);
    const e = tileEls.get(id);
    if (!a || !shown(a)) {
      if (e) {
        e.remove();
        tileEls.delete(id);
      }
      continue;
    }
    if (!e) continue; // in a group not drawn yet: drawn when it is
    updateTile(e, a);
    if (!all) tickTile(e, a, at, firing);
  }
  store.allChanged = false;
  store.changed.clear();
  if (store.agentsDirty) {
    store.agentsDirty = false;
    const agents = [...store.agents.values()].filter(shown);
    shownCount = agents.length;
    lazy = shownCount >= LAZY_FROM;
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
          G = { root, name, count, grid, ids: [], visible: false, filled: false };
          root._group = G;
          seenGroups.observe(root);
          groupEls.set(gkey, G);
        }
        const want = prev ? prev.nextSibling : box.firstChild;
        if (want !== G.root) box.insertBefore(G.root, want);
        prev = G.root;
        G.root.dataset.statekey = g.kind === 'state' ? g.key : '';
        G.ids = g.agents.map((a) => a.agent);
        if (!lazy || G.filled || G.visible) fill(G);
      }
      for (const [k, G] of groupEls) {
        if (!keep.has(k)) {
          seenGroups.unobserve(G.root);
          G.root.remove();
          groupEls.delete(k);
        }
      }
      groupCounts = groups.map((g) => g.agents.length);
      layout();
      setRows();
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
  $('.tiles-empty').hidden = shownCount > 0 || store.now == null;
}

/** Each grid's row count, so that a group whose tiles are not made yet takes its place. */
let colsOf = () => 1;
function setRows() {
  // In page order, as the fit's columns.
  [...tilesBox().querySelectorAll(':scope > .group')].forEach((root, i) => {
    const G = root._group;
    if (G) G.grid.style.setProperty('--rows', String(Math.max(1, Math.ceil(G.ids.length / Math.max(1, colsOf(i))))));
  });
}

export function relabel() {
  for (const [gkey, G] of groupEls) {
    const [kind, ...rest] = gkey.split(':');
    setGroupName(G, groupLabel({ kind, key: rest.join(':') }));
  }
  store.agentsDirty = true;
  store.allChanged = true;
}

/** Regroup from scratch (the sort changed). */
export function regroup() {
  store.agentsDirty = true;
  orderSig = '';
}

export function layout() {
  const box = tilesBox();
  const W = box.clientWidth;
  const H = box.clientHeight;
  if (!W || !H) return;
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const labelW = Math.round(rem * 4.3);
  const gap = Math.max(3, Math.round(rem * 0.25));
  const groupGap = Math.max(4, Math.round(rem * 0.45));
  const s = box.style;
  const mode = chooseMode(groupCounts, W, H, { labelW, gap, groupGap });
  if (mode === 'dots') {
    const headH = Math.round(rem * 1.35);
    const blockGap = Math.round(rem * 0.7);
    const fit = fitDots(groupCounts, W - 2, H, { headH, headW: Math.round(rem * 3.6), blockGap });
    const key = `dots:${fit.s}:${fit.cols.join(',')}`;
    box.dataset.fits = String(fit.fits);
    if (key === lastFit) return;
    lastFit = key;
    box.dataset.size = 'dot';
    // Squares big enough for 11 px digits show the time in state.
    setAttr(box, 'data-dot-text', fit.s >= 32 ? '' : null);
    s.setProperty('--dot', `${fit.s}px`);
    s.setProperty('--gap', `${fit.gap}px`);
    s.setProperty('--block-gap', `${blockGap}px`);
    s.setProperty('--head-h', `${headH}px`);
    // Blocks in the DOM are in group order, as groupCounts.
    [...box.querySelectorAll(':scope > .group > .grid')].forEach((g, i) => g.style.setProperty('--cols', String(fit.cols[i] ?? 1)));
    colsOf = (i) => fit.cols[i] ?? 1;
    setRows();
    return;
  }
  const fit = fitTiles(groupCounts, W, H, { labelW, gap, groupGap });
  const key = `${fit.w}x${fit.h}x${fit.cols}x${labelW}x${gap}`;
  box.dataset.fits = String(fit.fits);
  if (key === lastFit) return;
  lastFit = key;
  for (const G of groupEls.values()) G.grid.style.removeProperty('--cols');
  colsOf = () => fit.cols;
  setRows();
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
  box.dataset.size = u < 9 ? 'xs' : u < 13 ? 's' : 'l';
}

export function observe() {
  new ResizeObserver(() => {
    lastFit = '';
    layout();
  }).observe(tilesBox());
}

/** A tile's time in state and long-aux level as of `at`. */
function tickTile(e, a, at, firing, dots = tilesBox().dataset.size === 'dot') {
  const secs = a.since == null ? null : Math.max(0, (at - a.since) / 1000);
  // Squares have room for five characters: "1h02" rather than "1:02:05".
  setText(e.children[3], dots ? F.shortDur(secs) : F.mss(secs));
  if (a.scheduled) {
    const out = a.out_since == null ? '' : ` · ${t('sched.out', { time: F.mss(Math.max(0, (at - a.out_since) / 1000)) })}`;
    setText(e.children[4], `${schedLabel(a.scheduled)}${out}`);
  }
  const lv = longLevel(a, at, firing);
  if ((e.dataset.long ?? '') !== lv) {
    setAttr(e, 'data-long', lv || null);
    tileTitle(e, a, lv);
  }
}

function tickGroup(G, at, firing) {
  const dots = tilesBox().dataset.size === 'dot';
  for (const e of G.grid.children) {
    const a = store.agents.get(e.dataset.agent);
    if (a) tickTile(e, a, at, firing, dots);
  }
}

// Groups on screen (or about to be): the one-second tick moves only their timers, and a
// group scrolled into view catches up at once. 20,000 timers a second held the page's main
// thread for most of each second (issue 20).
const seenGroups = new IntersectionObserver((entries) => {
  const at = asOf();
  let firing = null;
  for (const en of entries) {
    const G = en.target._group;
    if (!G) continue;
    G.visible = en.isIntersecting;
    if (!G.visible) continue;
    if (!G.filled) fill(G);
    tickGroup(G, at, (firing ??= firingLongAux()));
  }
}, { root: tilesBox(), rootMargin: '200px 0px' });

export function tick(now) {
  const at = asOf(now);
  const firing = firingLongAux();
  for (const G of groupEls.values()) if (G.visible) tickGroup(G, at, firing);
}

/** Kiosk paging: what does not fit shows a screenful at a time. */
export function page() {
  for (const box of [tilesBox(), $('.teams-panel')]) {
    if (box.scrollHeight > box.clientHeight + 4) {
      const next = box.scrollTop + box.clientHeight * 0.9;
      box.scrollTo({ top: next >= box.scrollHeight - box.clientHeight + 4 ? 0 : next });
    }
  }
}
