// Agent tiles: one per agent, grouped (by team, state, or one group by time in state),
// coloured by state, with name, state or reason, and time in state. The size is the
// largest that fits the panel (tiles.js); a floor too large for tiles with readable text
// (2,000 agents on a 1080p screen) becomes colour-only squares in team blocks, and the
// action lane names who needs a lead. With a stale feed the timers stop at the last event.

import { t, reasonLabel, teamLabel, activityLabel } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText, setAttr, remPx, typeScale } from '../dom.js';
import { store, opts, asOf, longLevel, longLimitSecs, firingLongAux, dormant } from '../store.js';
import { shortName } from './teams.js';
import { groupAgents, fitTiles, fitDots, chooseMode, stateKey, tileUnit, tileNames, SCHED_ASPECT, XS_UNIT, XS_SCHED_MIN_H } from '../tiles.js';

const tilesBox = () => $('[data-testid="agent-tiles"]');

/**
 * A tile's name. "Li Wei · A12" (two agents of one name, tiles.js tileNames) in two parts:
 * the name gives way to the id ("Li W… · A12", style.css .t-nid), so that on dense tiles
 * the two do not both read "Li Wei · A…".
 */
function setName(e, label) {
  const cut = label.lastIndexOf(' · ');
  if (cut < 0) {
    setText(e, label);
    return;
  }
  if (e.textContent === label && e.childElementCount === 2) return;
  e.replaceChildren(el('span', 't-nm', label.slice(0, cut)), el('span', 't-nid', label.slice(cut)));
}

const tileEls = new Map(); // agent id -> tile element
const groupEls = new Map(); // group key -> { root, label, count, grid }
let orderSig = '';
let groupCounts = [];
let lastFit = '';
// A roster is loaded (some agent has a scheduled activity): tiles get their schedule line,
// and are taller for it (layout()).
let rostered = false;
// The widest word of the team labels, in px at the label's two sizes (setGroupName), so
// that the label column is wide enough that no word breaks ("Unassig/ned").
const labelWords = new Map(); // group key -> [px at 1.1rem, px at 0.85rem, long]
// What each shown agent's tile is called (tiles.js tileNames: "Sophie K.", but never two
// alike), and the names it was made from; made again when the agents or a name change.
let tileLabels = new Map(); // agent id -> label
const labelNames = new Map(); // agent id -> a.name the labels were made from

function makeTile() {
  const e = el('div', 'tile');
  // Flat children, placed by CSS grid areas (the dense layout moves them around).
  // The schedule line holds the activity and, out of adherence, the time out: one row, the
  // activity giving way to the time (a grid column would size it by the time in state).
  const sched = el('span', 't-sched');
  sched.append(el('span', 't-sl'), el('span', 't-out'));
  e.append(el('span', 't-name'), el('span', 't-state'), el('span', 't-reason'), el('span', 't-time'), sched);
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
  // "Sophie K.": a whole first name reads better than "Sophie Kh…" (full name in the title);
  // the whole name, or the id too, where two would look alike.
  setName(name, tileLabels.get(a.agent) ?? (a.name ? shortName(a.name) : a.agent));
  setText(state, t(sk === 'aux_planned' ? 'short.aux_planned' : `short.${a.state}`));
  setText(reason, a.state === 'aux' ? reasonLabel(a.reason ?? 'unspecified') : '');
  // The roster's activity under the state (docs/adherence.md), always labelled; the time
  // out of adherence beside it is in tickTile().
  setAttr(e, 'data-scheduled', a.scheduled ?? null);
  setAttr(e, 'data-ooa', a.out_since ?? null);
  setText(e.children[4].firstChild, a.scheduled ? schedLabel(a.scheduled) : '');
  if (a.out_since == null) setText(e.children[4].lastChild, '');
  tileTitle(e, a);
}

const schedLabel = (act) => t('sched.label', { activity: activityLabel(act) });

/** Tooltip for a person at the screen with a mouse: who, which state, long-aux limit. */
function titleText(a, lv) {
  let s = `${a.name || a.agent} (${a.agent}) · ${t(`state.${stateKey(a)}`)}`;
  if (a.state === 'aux') s += ` · ${reasonLabel(a.reason ?? 'unspecified')}`;
  if (lv) s += ` · ${t(lv === 'over' ? 'long.over' : 'long.near', { limit: F.mss(longLimitSecs(a.reason ?? 'unspecified')) })}`;
  if (a.scheduled) s += ` · ${schedLabel(a.scheduled)}`;
  if (a.out_since != null) s += ` · ${t('sched.out_since', { time: F.clock(a.out_since, store.config.timezone, false) })}`;
  return s;
}

function tileTitle(e, a, lv = e.dataset.long ?? '') {
  setAttr(e, 'title', titleText(a, lv));
}

function groupLabel(g) {
  if (g.kind === 'team') return teamLabel(g.key);
  if (g.kind === 'state') return t(g.key === 'aux_unplanned' ? 'short.aux' : `short.${g.key}`);
  return t('group.all');
}

function setGroupName(G, text, gkey) {
  if (G.name.textContent === text && labelWords.has(gkey)) return;
  setText(G.name, text);
  // Wide (CJK) characters count double.
  const width = [...text].reduce((n, c) => n + (c.codePointAt(0) >= 0x2e80 ? 2 : 1), 0);
  G.name.classList.toggle('long', width > 5);
  // Its widest word at both sizes, for the label column's width (layout()).
  const words = text.split(/\s+/);
  const px = [Math.max(...words.map((w) => textPx(w, 1.1))), Math.max(...words.map((w) => textPx(w, 0.85)))];
  labelWords.set(gkey, [...px, width > 5]);
  // A word too wide even for the widest column is set smaller rather than broken; one that
  // would need less than LABEL_MIN_REM to fit (a 64-character team id) is cut with "…".
  const size = width > 5 ? 0.85 : 1.1;
  const word = px[width > 5 ? 1 : 0];
  const fitted = (size * (LABEL_MAX_REM - LABEL_PAD_REM)) / word;
  G.name.style.fontSize = word > LABEL_MAX_REM - LABEL_PAD_REM ? `${Math.max(LABEL_MIN_REM, fitted).toFixed(3)}rem` : '';
  G.name.classList.toggle('cut', fitted < LABEL_MIN_REM);
}

// Text widths without a layout: a canvas measures in the label's font.
let measureCtx = null;
let labelFont = null;
function textPx(text, sizeRem) {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  labelFont ??= getComputedStyle(document.body).fontFamily;
  measureCtx.font = `800 ${sizeRem * 16}px ${labelFont}`;
  return measureCtx.measureText(text).width / 16; // in rem
}

/**
 * The label column's width in px: the usual 4.3 rem, wider (up to 8 rem) when a team label
 * has a word that would not fit whole at its size. Past 8 rem the word is set smaller
 * (setGroupName), so it still never breaks.
 */
const LABEL_MAX_REM = 8;
const LABEL_MIN_REM = 0.7; // smaller is unreadable across a room
const LABEL_PAD_REM = 0.35 * 2 + 0.3 + 0.15; // .glabel's padding and border, and a little air
// A group label's height in rem (style.css .glabel: its padding, 0.3rem; the name's lines,
// up to three, each 1.1 times its size; the count under it, about 1.3rem; a little air):
// 2.81rem measured for one line of a 1.1rem name.
const labelLines = new Map(); // text, size, room -> lines
function labelHeightRem(G, innerRem) {
  const name = G?.name;
  if (!name) return 2.85;
  const size = name.style.fontSize ? parseFloat(name.style.fontSize) : name.classList.contains('long') ? 0.85 : 1.1;
  const text = name.textContent;
  const key = `${text}\u0000${size}\u0000${innerRem.toFixed(2)}`;
  let lines = name.classList.contains('cut') ? 1 : labelLines.get(key);
  if (lines == null) {
    // Breaks between words, and between wide (CJK) characters, as the browser does.
    const units = text.split(/\s+/).filter(Boolean).flatMap((w) => (/[\u2e80-\u9fff]/.test(w) ? [...w] : [w]));
    const space = textPx(' ', size);
    lines = 1;
    let line = 0;
    for (const u of units) {
      const w = textPx(u, size);
      if (line > 0 && line + space + w > innerRem) {
        lines++;
        line = w;
      } else line += (line > 0 ? space : 0) + w;
    }
    lines = Math.min(3, lines);
    if (labelLines.size > 5000) labelLines.clear();
    labelLines.set(key, lines);
  }
  return 0.3 + lines * size * 1.1 + 1.3 + 0.05;
}

/** Each group's label height in px, in the groups' order (as groupCounts). */
function labelHeights(rem, labelW) {
  const inner = labelW / rem - LABEL_PAD_REM;
  return [...tilesBox().querySelectorAll(':scope > .group')].map((root) => Math.ceil(rem * labelHeightRem(root._group, inner)));
}
let labelHPx = ''; // the label heights the last tile fit used
function labelWidth(rem) {
  let widest = 0;
  for (const [short, long, isLong] of labelWords.values()) widest = Math.max(widest, isLong ? long : short);
  return Math.round(rem * Math.min(LABEL_MAX_REM, Math.max(4.3, widest + LABEL_PAD_REM)));
}

const shown = (a) => (opts.offline || a.state !== 'offline') && (!opts.team || a.team === opts.team) && !dormant(a);

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

/** Puts a group's tiles in its grid, in order (made if need be), or draws its squares. */
function fill(G) {
  G.filled = true;
  if (painted) return; // its squares are on the slabs (paintAll)
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
/**
 * Makes the tiles' labels again when the agents shown or a name changed; returns the ids
 * whose label moved (their tiles are drawn again, even if the frame did not name them).
 */
function relabelTiles(changed) {
  const renamed = [];
  let again = store.agentsDirty;
  for (const id of changed) if (!again && (store.agents.get(id)?.name ?? null) !== (labelNames.get(id) ?? null)) again = true;
  if (!again) return renamed;
  const agents = [...store.agents.values()].filter(shown);
  const next = tileNames(agents, shortName);
  labelNames.clear();
  for (const a of agents) labelNames.set(a.agent, a.name ?? null);
  for (const [id, label] of next) if (tileLabels.get(id) !== label && tileEls.has(id)) renamed.push(id);
  tileLabels = next;
  return renamed;
}

/**
 * `now`: the server time the timers show (the last tick's, app.js), the one the action
 * lane's cards are drawn with, so a tile and its agent's card never read a second apart.
 */
export function render(now) {
  const box = tilesBox();
  const all = store.allChanged;
  let ids = all ? [...tileEls.keys()] : store.changed;
  const renamed = relabelTiles(all ? tileEls.keys() : store.changed);
  if (renamed.length) ids = [...new Set([...ids, ...renamed])];
  const at = asOf(now);
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
    if (!e) continue; // in a group not drawn yet (or painted on the slabs): drawn when it is
    updateTile(e, a);
    if (!all) tickTile(e, a, at, firing);
  }
  // Painted squares: which to paint again (all of them after a `full` frame).
  const repaint = !painted ? null : all ? 'all' : [...store.changed];
  store.allChanged = false;
  store.changed.clear();
  if (store.agentsDirty) {
    store.agentsDirty = false;
    const agents = [...store.agents.values()].filter(shown);
    shownCount = agents.length;
    const sched = agents.some((a) => a.scheduled != null);
    if (sched !== rostered) {
      rostered = sched;
      $('.legend .s-ooa').hidden = !sched;
      orderSig = ''; // lay the tiles out again, taller or not
    }
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
          G = { root, name, count, grid, ids: [], visible: false, filled: false, cols: 1 };
          root._group = G;
          if (!painted) seenGroups.observe(root); // painted squares need no tiles made
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
          labelWords.delete(k);
        }
      }
      groupCounts = groups.map((g) => g.agents.length);
      layout();
      setRows();
      syncMode(); // the floor may have crossed LAZY_FROM; groups moved: read where they are
    }
    for (const g of groups) {
      const G = groupEls.get(`${g.kind}:${g.key}`);
      if (!G) continue;
      setGroupName(G, groupLabel(g), `${g.kind}:${g.key}`);
      // Team groups count who is logged in; state groups count their tiles.
      const n = g.kind === 'team' ? g.agents.filter((a) => a.state !== 'offline').length : g.agents.length;
      setText(G.count, String(n));
      G.root.title = `${groupLabel(g)} · ${t(g.kind === 'team' ? 'agents.logged_in' : 'agents.count', { n })}`;
    }
    // A new team's or language's label may need a wider label column; in dot mode a
    // heading that grew ("9" logged in to "10", a new team's name) a wider block.
    const rem = (boxSize ?? { rem: remPx() }).rem;
    // With tiles, a name that wraps to more lines (or fewer) a taller (or shorter) group.
    if (labelWidth(rem) !== labelPx || (box.dataset.size === 'dot' && headWidths(rem).join(',') !== headPx)
      || (box.dataset.size !== 'dot' && labelHeights(rem, labelPx).join(',') !== labelHPx)) layout();
  }
  // Painted squares: the slabs near the screen again when the groups moved, else the
  // squares of the agents this frame changed (a few hundred of 20,000).
  if (painted) {
    // After the other panels' writes (a microtask): one layout for the groups' places.
    if (repaint === 'all' || geo == null) paintSoon(true);
    else if (repaint.length) paintAgents(repaint, at, firingLongAux());
  }
  const empty = $('.tiles-empty');
  empty.hidden = shownCount > 0 || store.now == null;
  // Before the first shift of a rostered floor: say who is on the roster, not due yet.
  const later = empty.hidden ? 0 : store.dormant.size;
  setText($('.tiles-rostered', empty), later ? t('tiles.rostered', { n: later }) : '');
}

/** Each grid's row count, so that a group whose tiles are not made yet takes its place. */
let colsOf = () => 1;
function setRows() {
  // In page order, as the fit's columns.
  [...tilesBox().querySelectorAll(':scope > .group')].forEach((root, i) => {
    const G = root._group;
    if (G) G.cols = Math.max(1, colsOf(i));
    if (G) G.grid.style.setProperty('--rows', String(Math.max(1, Math.ceil(G.ids.length / Math.max(1, colsOf(i))))));
  });
}

export function relabel() {
  for (const [gkey, G] of groupEls) {
    const [kind, ...rest] = gkey.split(':');
    setGroupName(G, groupLabel({ kind, key: rest.join(':') }), gkey);
  }
  store.agentsDirty = true;
  store.allChanged = true;
}

/** Regroup from scratch (the sort changed). */
export function regroup() {
  store.agentsDirty = true;
  orderSig = '';
}

// The panel's size and the root font size, as the ResizeObserver last saw them: reading
// them in render() forced a layout of a page just filled with 400 groups and 400 team rows
// (issue 20's first frame). Read directly only before the observer has reported.
let boxSize = null;

let labelPx = 0; // the label column's width as last laid out

/**
 * The dot-mode headings' widths in px at `rem`, in group (and page) order: a block is as
 * wide as its heading or its squares, whichever is wider (style.css .tiles[data-size="dot"]
 * .glabel: the name at 1rem, the count at 0.85rem, 0.35rem between, 0.2rem padding each
 * side), at least 3.6rem. The fit once took 3.6rem for every heading, and the one no-show's
 * block, "Unassigned 0" over a square, wrapped under the bottom of the panel.
 */
const headRem = new Map(); // heading text -> its width in rem (weights measured at 800: never short)
function headWidths(rem) {
  return [...tilesBox().querySelectorAll(':scope > .group')].map((root) => {
    const G = root._group;
    const key = `${G?.name.textContent ?? ''}\u0000${G?.count.textContent ?? ''}`;
    let w = headRem.get(key);
    if (w == null) {
      if (headRem.size > 5000) headRem.clear();
      w = textPx(G?.name.textContent ?? '', 1) + 0.35 + textPx(G?.count.textContent ?? '', 0.85) + 0.4;
      headRem.set(key, w);
    }
    return Math.ceil(Math.max(3.6, w) * rem) + 1;
  });
}
let headPx = ''; // the headings' widths the last dot fit used

export function layout() {
  const box = tilesBox();
  const { W, H, rem } = boxSize ?? { W: box.clientWidth, H: box.clientHeight, rem: remPx() };
  if (!W || !H) return;
  const labelW = labelWidth(rem);
  labelPx = labelW;
  const gap = Math.max(3, Math.round(rem * 0.25));
  const groupGap = Math.max(4, Math.round(rem * 0.45));
  const s = box.style;
  let aspect = rostered ? SCHED_ASPECT : undefined;
  const scale = typeScale(rem);
  const labelH = labelHeights(rem, labelW);
  labelHPx = labelH.join(',');
  let mode = chooseMode(groupCounts, W, H, { labelW, labelH, gap, groupGap, aspect, scale });
  // A team's board with a roster: where tiles with the schedule's line do not fit, dense
  // tiles of two lines (the name; the state and time, the schedule as the corner flag and
  // the time out) before squares without names: a team lead reads who (a team of 100 at
  // 1280x720 was squares).
  if (mode === 'dots' && rostered && opts.team && chooseMode(groupCounts, W, H, { labelW, labelH, gap, groupGap, scale }) === 'tiles') {
    mode = 'tiles';
    aspect = undefined;
  }
  if (mode === 'dots') {
    const headH = Math.round(rem * 1.35);
    const headGap = Math.max(2, Math.round(rem * 0.15)); // the heading's gap to its squares
    const blockGap = Math.round(rem * 0.7);
    const headW = headWidths(rem);
    headPx = headW.join(',');
    const fit = fitDots(groupCounts, W - 2, H, { headH, headGap, headW, blockGap });
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
    s.setProperty('--head-gap', `${headGap}px`);
    // Blocks in the DOM are in group order, as groupCounts.
    [...box.querySelectorAll(':scope > .group > .grid')].forEach((g, i) => g.style.setProperty('--cols', String(fit.cols[i] ?? 1)));
    colsOf = (i) => fit.cols[i] ?? 1;
    dotGeom = { s: fit.s, gap: fit.gap };
    setRows();
    syncMode();
    return;
  }
  const fit = fitTiles(groupCounts, W, H, { labelW, labelH, gap, groupGap, aspect, scale });
  const key = `${fit.w}x${fit.h}x${fit.cols}x${labelW}x${gap}x${rostered}`;
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
  // Type follows the tile: the smaller of width- and height-bound sizes, so that every line
  // fits (tileUnit). Small tiles switch to a dense two-line layout (name / state and time)
  // sized by height.
  const u = tileUnit(fit.w, fit.h, rostered);
  s.setProperty('--tu', `${u.toFixed(2)}px`);
  box.dataset.size = u < XS_UNIT ? 'xs' : u < 13 ? 's' : 'l';
  // Dense tiles tall enough for the schedule as a third line (style.css).
  setAttr(box, 'data-xs-sched', rostered && u < XS_UNIT && fit.h >= XS_SCHED_MIN_H ? '' : null);
  syncMode();
}

export function observe() {
  new ResizeObserver((entries) => {
    const box = tilesBox();
    // clientWidth/Height (inside the scrollbar), read here where layout is clean.
    boxSize = entries.length ? { W: box.clientWidth, H: box.clientHeight, rem: remPx() } : boxSize;
    lastFit = '';
    layout();
  }).observe(tilesBox());
  tilesBox().addEventListener('scroll', scrolled, { passive: true });
  tilesBox().addEventListener('mousemove', hover, { passive: true });
  // Its width (the team table's is what is left) and its entries (a roster's "Out of
  // adherence", the language) move it.
  new ResizeObserver(fitLegend).observe(document.querySelector('.tiles-head'));
}

/**
 * The tiles' heading on one line (docs/wallboard.md): where the legend would wrap (a team
 * table a few pixels wider, "Out of adherence" shown with a roster, the English words), its
 * entries close up and their type steps down (`data-tight`), rather than a second line
 * taking its height from the squares, and with it their time in state.
 */
function fitLegend() {
  const head = document.querySelector('.tiles-head');
  const wraps = () =>
    new Set(
      [...head.querySelectorAll('.legend .lg')]
        .filter((x) => x.getClientRects().length)
        .map((x) => Math.round(x.getBoundingClientRect().top)),
    ).size > 1;
  head.removeAttribute('data-tight');
  if (wraps()) head.setAttribute('data-tight', '');
}

/** A tile's time in state and long-aux level as of `at`. */
function tickTile(e, a, at, firing, size = tilesBox().dataset.size) {
  const secs = a.since == null ? null : Math.max(0, (at - a.since) / 1000);
  // Squares and dense tiles have room for five characters: "1h02" rather than "1:02:05"
  // (which ran over the state label of a dense tile).
  const dots = size === 'dot';
  setText(e.children[3], dots || size === 'xs' ? F.shortDur(secs) : F.mss(secs));
  // Out of adherence: how long, beside the schedule line ("out 7:02", "out 1h05": as short
  // as the activity needs it); a square has room for the time alone, on a band of its own.
  // Dense tiles of two lines show it alone, in the time in state's place.
  if (a.out_since != null) {
    const out = F.shortDur(Math.max(0, (at - a.out_since) / 1000));
    const alone = dots || (size === 'xs' && !tilesBox().hasAttribute('data-xs-sched'));
    setText(e.children[4].lastChild, alone ? out : t('sched.out', { time: out }));
  }
  const lv = longLevel(a, at, firing);
  if ((e.dataset.long ?? '') !== lv) {
    setAttr(e, 'data-long', lv || null);
    tileTitle(e, a, lv);
  }
}

function tickGroup(G, at, firing) {
  const size = tilesBox().dataset.size;
  for (const e of G.grid.children) {
    const a = store.agents.get(e.dataset.agent);
    if (a) tickTile(e, a, at, firing, size);
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
    if (painted) continue; // the slabs paint what scrolls in
    if (!G.filled) fill(G);
    tickGroup(G, at, (firing ??= firingLongAux()));
  }
}, { root: tilesBox(), rootMargin: '200px 0px' });

export function tick(now) {
  const at = asOf(now);
  const firing = firingLongAux();
  // Painted squares have no timers, but long-aux levels move with time.
  if (painted) paintLongAux(at, firing);
  else for (const G of groupEls.values()) if (G.visible) tickGroup(G, at, firing);
}

/** Kiosk paging (app.js): tiles that do not fit show a screenful at a time. */
export function page() {
  const box = tilesBox();
  if (box.scrollHeight > box.clientHeight + 4) {
    const next = box.scrollTop + box.clientHeight * 0.9;
    box.scrollTo({ top: next >= box.scrollHeight - box.clientHeight + 4 ? 0 : next });
  }
}

// Colour-only squares ----------------------------------------------------------------------
//
// Squares too small for text (dot mode under 32 px: 20,000 agents on a 1080p screen) on a
// floor of LAZY_FROM agents or more are not elements: they are painted on a few canvases
// ("slabs", SLAB_PX tall, as wide as the panel) laid over the scrolled content, and only
// the slabs near the screen exist. Six thousand squares on screen as elements cost the page
// most of each frame to style, lay out, paint and layerize while scrolling, and the first
// frame waited for them; a canvas per group made each one a compositor layer of its own,
// as costly (issue 20). Slabs scroll with the content on the compositor and are painted
// again only where the board changed (the agents a delta names, or whose long-aux level
// the one-second tick moved), or whole when the groups moved; the panel holds one group
// box per team however large the floor. The group boxes keep their place and size (the
// grid's rows), so the headings stay where they were. What the elements gave is kept: a
// grid's title follows the mouse (who, state, long-aux limit), and the squares look as the
// CSS drew them (colours from the same custom properties, the rounding, the red ring of a
// long aux near its limit, the outline of a logged-out agent).

// Short enough that the slabs alive (the screen and SLAB_MARGIN_PX around it) stay near
// what is shown: on a 4K screen at 2x each 512 px slab is 15 MB of pixels.
export const SLAB_PX = 512;
/** How far beyond the visible part slabs are kept ready, in pixels. */
const SLAB_MARGIN_PX = 300;
let painted = false; // colour-only dot mode: the squares are on slabs; set by syncMode()
let dotGeom = { s: 8, gap: 2 }; // square and gap in CSS pixels, from the dot fit
let colours = null; // fill by state key, read once from the stylesheet
const slabs = new Map(); // slab index -> canvas (only those near the screen)
// Where each group's grid is in the scrolled content, in page order; null = read again
// (after a regroup or a layout). { list: [{ G, x, y, h }], height }.
let geo = null;
let geoKey = ''; // the groups' places and sizes as last read (readGeo)
let repaintAll = false; // the queued paintAll paints every slab again, not only new ones
const where = new Map(); // agent id -> [its geo entry, index in the group], with geo
const drawnLevel = new Map(); // agent id -> long-aux level its square shows ('near'/'over')
let paintQueued = false;

/** Painted from LAZY_FROM agents; a smaller floor keeps an element per agent even as squares. */
function paintMode() {
  const box = tilesBox();
  return lazy && box.dataset.size === 'dot' && !box.hasAttribute('data-dot-text');
}

/**
 * After a layout: switches between painted squares and elements when the mode changed
 * (the groups drawn as elements so far are emptied, or made again), and repaints.
 */
function syncMode() {
  const want = paintMode();
  const switched = want !== painted;
  geo = null;
  if (switched) {
    painted = want;
    // Tiles are let go while painted, and made again (with their timers) when text fits.
    tileEls.clear();
    for (const G of groupEls.values()) {
      G.grid.replaceChildren();
      G.grid.removeAttribute('title'); // the painted square's last tooltip
      G.filled = false;
      // Groups coming into view matter only to tiles; observing again reports each at once.
      if (painted) {
        seenGroups.unobserve(G.root);
        G.visible = false;
      } else {
        seenGroups.observe(G.root);
        if (!lazy) fill(G);
      }
    }
  }
  if (!painted) dropSlabs(() => true);
  // The groups' places are read again; the slabs are painted again only if they moved (a
  // live team table's width moves the panel by a pixel every few seconds: nothing to paint).
  else paintSoon(switched);
}

/**
 * paintAll once the caller and the rest of the page's render are done, before the frame;
 * `all`: the squares changed (a full frame, new groups), not only perhaps their places.
 */
function paintSoon(all) {
  repaintAll ||= all;
  if (paintQueued) return;
  paintQueued = true;
  queueMicrotask(() => paintQueued && paintAll());
}

function readColours() {
  const cs = getComputedStyle(document.documentElement);
  const v = (name) => cs.getPropertyValue(name).trim();
  return {
    talking: v('--talking'), acw: v('--acw'), aux_unplanned: v('--aux'), aux_planned: v('--planned'),
    idle: v('--idle'), offline: v('--offline'), over: v('--over'), other: v('--dim'),
  };
}

/** Where the groups' grids are (one layout read for all, after the DOM writes). */
function readGeo() {
  const { s, gap } = dotGeom;
  const box = tilesBox();
  const b = box.getBoundingClientRect();
  // Content coordinates: against the panel's padding box, whatever its scroll.
  const x0 = b.left + box.clientLeft - box.scrollLeft;
  const y0 = b.top + box.clientTop - box.scrollTop;
  const list = [];
  let height = 0;
  let width = 1;
  where.clear();
  for (const root of box.querySelectorAll(':scope > .group')) {
    const G = root._group;
    if (!G) continue;
    const r = G.grid.getBoundingClientRect();
    const h = Math.max(1, Math.ceil(G.ids.length / G.cols)) * (s + gap) - gap;
    const y = r.top - y0;
    const g = { G, x: r.left - x0, y, h };
    list.push(g);
    G.ids.forEach((id, i) => where.set(id, [g, i]));
    height = Math.max(height, y + h);
    width = Math.max(width, g.x + G.cols * (s + gap));
  }
  // As wide as the squares, not the panel: a panel a pixel wider keeps its slabs.
  width = Math.ceil(width);
  geoKey = `${s}:${gap}:${width}|${list.map((g) => `${g.x},${g.y},${g.G.cols},${g.G.ids.length}`).join(';')}`;
  return { list, height, width };
}

/** Slab indexes within SLAB_MARGIN_PX of the visible part of the panel. */
function wantedSlabs() {
  const box = tilesBox();
  const top = Math.max(0, box.scrollTop - SLAB_MARGIN_PX);
  const bottom = Math.min(geo.height, box.scrollTop + (boxSize?.H ?? box.clientHeight) + SLAB_MARGIN_PX);
  const want = new Set();
  for (let k = Math.floor(top / SLAB_PX); k * SLAB_PX < bottom; k++) want.add(k);
  return want;
}

function dropSlabs(pred) {
  for (const [k, c] of slabs) {
    if (pred(k)) {
      c.remove();
      slabs.delete(k);
    }
  }
}

/** Repaints every slab near the screen (the board changed, or time moved). */
function paintAll(at = asOf(), firing = firingLongAux()) {
  paintQueued = false;
  const all = repaintAll;
  repaintAll = false;
  if (!painted) return;
  geo ??= readGeo();
  const want = wantedSlabs();
  dropSlabs((k) => !want.has(k));
  // No square changed: only slabs new near the screen or painted where the groups were.
  for (const k of want) if (all || stale(k)) paintSlab(k, at, firing);
}

/** A slab not painted yet, or painted for groups that have moved since. */
const stale = (k) => slabs.get(k)?._geoKey !== geoKey;

/** On scroll: paints the slabs that came near the screen, lets go of those far from it. */
function scrolled() {
  if (!painted) return;
  geo ??= readGeo();
  const want = wantedSlabs();
  dropSlabs((k) => !want.has(k));
  let at = null;
  let firing = null;
  for (const k of want) if (stale(k)) paintSlab(k, (at ??= asOf()), (firing ??= firingLongAux()));
}

function paintSlab(k, at, firing) {
  const box = tilesBox();
  let c = slabs.get(k);
  if (!c) {
    c = document.createElement('canvas');
    c.className = 'slab';
    c.dataset.slab = String(k);
    c.setAttribute('aria-hidden', 'true'); // the group boxes carry the names (title)
    slabs.set(k, c);
    box.append(c);
  }
  colours ??= readColours();
  const top = k * SLAB_PX;
  const w = geo.width;
  // Never past the content: the slab must not make the panel scroll further.
  const h = Math.max(1, Math.min(SLAB_PX, Math.ceil(geo.height) - top));
  const dpr = window.devicePixelRatio || 1;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.width = `${w}px`;
    c.style.height = `${h}px`;
    c.style.top = `${top}px`;
  }
  const ctx = c.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const { s, gap } = dotGeom;
  const r = Math.max(1, s * 0.18);
  // Per fill colour, the squares' corners (x, y, x, y, ...): one fillStyle per colour.
  const paths = new Map();
  const near = new Path2D();
  const off = new Path2D();
  const flags = [new Path2D(), new Path2D()]; // out of adherence: on a fill, on a logged-out square
  let drawn = 0;
  for (const g of geo.list) {
    if (g.y >= top + h || g.y + g.h <= top) continue;
    const { G } = g;
    const cols = G.cols;
    // Only the rows of this group inside the slab.
    const row0 = Math.max(0, Math.floor((top - g.y) / (s + gap)));
    const row1 = Math.ceil((top + h - g.y) / (s + gap));
    const end = Math.min(G.ids.length, row1 * cols);
    for (let i = row0 * cols; i < end; i++) {
      const a = store.agents.get(G.ids[i]);
      if (!a) continue;
      const x = g.x + (i % cols) * (s + gap);
      const y = g.y - top + Math.floor(i / cols) * (s + gap);
      const lv = longLevel(a, at, firing);
      if (lv) drawnLevel.set(a.agent, lv);
      else drawnLevel.delete(a.agent);
      const key = lv === 'over' ? 'over' : stateKey(a);
      let p = paths.get(key);
      if (!p) paths.set(key, (p = []));
      p.push(x, y);
      if (lv === 'near') near.rect(x, y, s, s);
      if (key === 'offline') off.rect(x + 0.5, y + 0.5, s - 1, s - 1);
      if (a.out_since != null) flagPath(flags[key === 'offline' ? 1 : 0], x, y, s);
      drawn++;
    }
  }
  // Squares under 8 px get square corners (a 1 px rounding nobody sees across a room, and
  // 9,000 rounded paths were most of a slab's paint).
  const round = s >= 8;
  for (const [key, p] of paths) {
    ctx.fillStyle = colours[key] ?? colours.other;
    if (round) {
      const path = new Path2D();
      for (let j = 0; j < p.length; j += 2) path.roundRect(p[j], p[j + 1], s, s, r);
      ctx.fill(path);
    } else for (let j = 0; j < p.length; j += 2) ctx.fillRect(p[j], p[j + 1], s, s);
  }
  // A logged-out agent's 1 px outline, and the red ring of a long aux near its limit
  // (as `.tile[data-long="near"]`'s inset shadow), inside the square.
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#2c3a4a';
  ctx.stroke(off);
  ctx.fillStyle = FLAG[0];
  ctx.fill(flags[0]);
  ctx.fillStyle = FLAG[1];
  ctx.fill(flags[1]);
  ctx.save();
  ctx.clip(near);
  ctx.lineWidth = 2 * Math.max(1, s * 0.2);
  ctx.strokeStyle = colours.over;
  ctx.stroke(near);
  ctx.restore();
  c.dataset.drawn = String(drawn);
  c._geoKey = geoKey;
}

// Out of adherence: a corner flag (as `.tile[data-ooa]`'s), dark on a fill, white on the
// dark square of a logged-out agent.
const FLAG = ['#061019', '#ffffff'];
function flagPath(p, x, y, s) {
  const k = Math.max(3, Math.round(s * 0.42));
  p.moveTo(x + s - k, y);
  p.lineTo(x + s, y);
  p.lineTo(x + s, y + k);
  p.closePath();
}

/** Paints again the squares of these agents, in the slabs that exist. */
function paintAgents(ids, at, firing) {
  if (!painted || geo == null) return;
  const { s, gap } = dotGeom;
  const r = Math.max(1, s * 0.18);
  for (const id of ids) {
    const w = where.get(id);
    const a = store.agents.get(id);
    if (!w || !a) {
      drawnLevel.delete(id); // gone from the board: its group was painted again
      continue;
    }
    const [g, i] = w;
    const x = g.x + (i % g.G.cols) * (s + gap);
    const y = g.y + Math.floor(i / g.G.cols) * (s + gap);
    const lv = longLevel(a, at, firing);
    if (lv) drawnLevel.set(id, lv);
    else drawnLevel.delete(id);
    const key = lv === 'over' ? 'over' : stateKey(a);
    // A square on a slab's edge is in two slabs.
    for (let k = Math.floor(y / SLAB_PX); k * SLAB_PX < y + s; k++) {
      const c = slabs.get(k);
      if (!c) continue;
      const ctx = c.getContext('2d');
      const yy = y - k * SLAB_PX;
      ctx.clearRect(x, yy, s, s);
      ctx.fillStyle = colours[key] ?? colours.other;
      if (s < 8) ctx.fillRect(x, yy, s, s);
      else {
        ctx.beginPath();
        ctx.roundRect(x, yy, s, s, r);
        ctx.fill();
      }
      if (key === 'offline') {
        ctx.lineWidth = 1;
        ctx.strokeStyle = '#2c3a4a';
        ctx.strokeRect(x + 0.5, yy + 0.5, s - 1, s - 1);
      }
      if (lv === 'near') {
        const ring = Math.max(1, s * 0.2);
        ctx.lineWidth = ring;
        ctx.strokeStyle = colours.over;
        ctx.strokeRect(x + ring / 2, yy + ring / 2, s - ring, s - ring);
      }
      if (a.out_since != null) {
        const p = new Path2D();
        flagPath(p, x, yy, s);
        ctx.fillStyle = FLAG[key === 'offline' ? 1 : 0];
        ctx.fill(p);
      }
    }
  }
}

/**
 * The one-second tick: squares have no timers, but an agent in unplanned aux passes 80%
 * of its limit and then the limit with time alone. Only those whose level moved are
 * painted again (a few of 20,000 each second).
 */
function paintLongAux(at, firing) {
  if (!painted || geo == null) return;
  const moved = [];
  for (const id of store.auxUnplanned) {
    const a = store.agents.get(id);
    if (a && longLevel(a, at, firing) !== (drawnLevel.get(id) ?? '')) moved.push(id);
  }
  // Those that left aux were painted again when they changed.
  for (const id of drawnLevel.keys()) if (!store.auxUnplanned.has(id)) moved.push(id);
  if (moved.length) paintAgents(moved, at, firing);
}

/** A painted square's title follows the mouse, as a tile's would say. */
function hover(ev) {
  if (!painted) return;
  const grid = ev.target.closest?.('.grid');
  const G = grid?.parentElement?._group;
  if (!G) return;
  const { s, gap } = dotGeom;
  const col = Math.floor(ev.offsetX / (s + gap));
  const row = Math.floor(ev.offsetY / (s + gap));
  const id = col < G.cols ? G.ids[row * G.cols + col] : undefined;
  const a = id == null ? null : store.agents.get(id);
  setAttr(grid, 'title', a ? titleText(a, longLevel(a, asOf(), firingLongAux())) : null);
}
