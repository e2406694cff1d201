// Agent tiles: grouping, ordering and the size that fits the panel.
//
// Tiles are laid out in groups (a team, or a state), each group a row band with its label
// on the left and a grid of equal tiles on the right. The tile size is the largest that
// fits every group in the panel, between MIN_W and MAX_W pixels wide; past the minimum
// (many hundreds of agents on a small screen) the panel scrolls, and in kiosk mode it
// pages by itself.

export const MIN_W = 56;
export const MAX_W = 300;
const ASPECT = 0.42; // tile height / width
/** Tiles with the roster's line under the state (docs/adherence.md) are taller. */
export const SCHED_ASPECT = 0.5;
/** Under this type unit tiles are laid out densely (sized by height, style.css). */
export const XS_UNIT = 9;
/**
 * Dense tiles with a roster get their schedule as a third line from this tile height (px)
 * on; lower, there are two lines (name / state and time) and out of adherence the time out
 * takes the time in state's place (docs/wallboard.md).
 */
export const XS_SCHED_MIN_H = 44;
// Type units across a tile with a roster: "Sched: coaching" and "out 59:59" on one line,
// with the padding, the gap and some air (style.css .t-sched).
const SCHED_WIDTH_U = 13.5;

/**
 * The type unit of a tile w x h (panels/tiles.js: every size in the tile is a multiple):
 * the tile must hold its lines, top to bottom, in units of it — padding, name, state and
 * aux reason beside the time, and with a roster the schedule line — and be about
 * SCHED_WIDTH_U units wide, so that "Sched: coaching  out 59:59" fits the tile's width.
 * Under XS_UNIT the page lays tiles out densely instead (sized by height, style.css).
 */
export function tileUnit(w, h, sched) {
  return sched ? Math.min(w / SCHED_WIDTH_U, h / 5.8) : Math.min(w / 11, h / 4.6);
}

/**
 * What each agent's tile is called: "Sophie K." (shortName) unless that would make two
 * agents on the board look alike. Then the whole name ("Agent 10", "Agent 11" rather than
 * five "Agent 1."), or, for whole names alike too, the name and the agent id ("Li Wei ·
 * A12"). `agents`: [{ agent, name }]; returns Map agent -> label.
 */
export function tileNames(agents, shortName) {
  const short = new Map();
  const byShort = new Map(); // short label -> agents
  for (const a of agents) {
    const s = a.name ? shortName(a.name) : a.agent;
    short.set(a.agent, s);
    if (!byShort.has(s)) byShort.set(s, []);
    byShort.get(s).push(a);
  }
  const out = new Map();
  for (const [s, list] of byShort) {
    if (list.length < 2) {
      out.set(list[0].agent, s);
      continue;
    }
    const fulls = new Map();
    for (const a of list) fulls.set(a.name ?? a.agent, (fulls.get(a.name ?? a.agent) ?? 0) + 1);
    for (const a of list) {
      const full = a.name ?? a.agent;
      out.set(a.agent, fulls.get(full) > 1 && a.name ? `${full} · ${a.agent}` : full);
    }
  }
  return out;
}

/** State order when grouping by state: what a floor manager acts on first. */
const STATE_ORDER = ['aux_unplanned', 'aux_planned', 'acw', 'talking', 'idle', 'offline'];

export function stateKey(a) {
  if (a.state === 'aux') return a.planned ? 'aux_planned' : 'aux_unplanned';
  return a.state;
}

const byId = (a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0);
const longestFirst = (a, b) => (a.since - b.since) || byId(a, b);
const offlineLast = (cmp) => (a, b) =>
  ((a.state === 'offline') - (b.state === 'offline')) || cmp(a, b);

/**
 * Groups for a sort mode: [{ key, kind: 'team'|'state'|'all', agents: [...] }].
 * team: one group per team (by id), agents by id, offline at the end;
 * state: one group per state in STATE_ORDER, longest in state first;
 * time: one group, longest in state first, offline at the end.
 */
export function groupAgents(agents, sort) {
  if (sort === 'time') {
    return [{ key: 'all', kind: 'all', agents: [...agents].sort(offlineLast(longestFirst)) }];
  }
  if (sort === 'state') {
    const m = new Map(STATE_ORDER.map((s) => [s, []]));
    for (const a of agents) (m.get(stateKey(a)) ?? m.get('idle')).push(a);
    return STATE_ORDER.filter((s) => m.get(s).length)
      .map((s) => ({ key: s, kind: 'state', agents: m.get(s).sort(longestFirst) }));
  }
  const m = new Map();
  for (const a of agents) {
    if (!m.has(a.team)) m.set(a.team, []);
    m.get(a.team).push(a);
  }
  return [...m.keys()].sort().map((k) => ({ key: k, kind: 'team', agents: m.get(k).sort(offlineLast(byId)) }));
}

/**
 * The largest tile width w (MIN_W..MAX_W × `scale`) such that all groups fit in width W and
 * height H, where each group takes ceil(n / cols) rows of height w * `aspect`, at least
 * `labelH` (its label's height: one for all, or per group), and `labelW` of width.
 * `scale`: the page's type size over its size at 1080p, at least 1 (a 4K screen's tiles
 * may grow as large for the eye as a 1080p screen's; with MAX_W in pixels a 20-agent team
 * filled 60% of its panel at 3840x2160). Returns { w, h, cols, fits }.
 */
export function fitTiles(counts, W, H, { labelW = 80, labelH = 0, gap = 4, groupGap = 8, aspect = ASPECT, scale = 1 } = {}) {
  const usable = Math.max(1, W - labelW - gap);
  const maxW = 2 * Math.round((MAX_W * Math.max(1, scale)) / 2); // even: the steps of 2 end at MIN_W
  let best = null;
  for (let w = maxW; w >= MIN_W; w -= 2) {
    const cols = Math.max(1, Math.floor((usable + gap) / (w + gap)));
    const h = Math.round(w * aspect);
    let height = 0;
    // A group is as tall as its label when that is taller than its rows (the team's name
    // and count over two rows of dense tiles: at 4K the demo floor's last teams were under
    // the panel's edge while the fit said they were not).
    counts.forEach((n, i) => {
      const lh = Array.isArray(labelH) ? labelH[i] ?? 0 : labelH;
      height += Math.max(lh, Math.max(1, Math.ceil(n / cols)) * (h + gap) - gap) + groupGap;
    });
    best = { w, h, cols, fits: height <= H };
    if (best.fits) break;
  }
  if (!best) best = { w: MIN_W, h: Math.round(MIN_W * aspect), cols: 1, fits: false };
  // Stretch to the panel's full width: the columns share what is left over.
  best.w = Math.floor((usable + gap) / best.cols) - gap;
  // Keep tiles from growing much taller than the fit allows when stretched.
  return best;
}

/**
 * Dot mode, for floors too large for tiles with text (2,000 agents on a 1080p screen):
 * each group is a block (a heading line over a grid of colour-only squares) and blocks
 * flow in rows across the panel. Returns the largest square `s` (DOT_MAX..DOT_MIN) for
 * which every block (heading, `headGap`, squares) fits in W x H, with each group's column count:
 * { s, gap, cols: [..], fits }. Columns make a block about twice as wide as tall, capped
 * by the panel's width. `headW` is the headings' width: one for all, or per group (a block
 * as wide as its heading, "Unassigned 0", when its squares are narrower).
 */
export const DOT_MIN = 5;
export const DOT_MAX = 64;
export function fitDots(counts, W, H, { headH = 20, headW = 60, blockGap = 10, headGap = 0 } = {}) {
  const place = (s, k) => {
    const gap = Math.max(1, Math.round(s * 0.2));
    const maxCols = Math.max(1, Math.floor((W + gap) / (s + gap)));
    const cols = counts.map((n) => Math.min(maxCols, Math.max(1, Math.ceil(Math.sqrt(Math.max(1, n) * k)))));
    // Shelf packing, as flex-wrap lays the blocks out.
    let x = 0;
    let shelfH = 0;
    let height = 0;
    counts.forEach((n, i) => {
      const bw = Math.max(Array.isArray(headW) ? headW[i] ?? 0 : headW, cols[i] * (s + gap) - gap);
      // The heading, the gap under it (style.css: the block's flex gap), and the squares.
      const bh = headH + headGap + Math.ceil(Math.max(1, n) / cols[i]) * (s + gap) - gap;
      if (x > 0 && x + bw > W) {
        height += shelfH + blockGap;
        x = 0;
        shelfH = 0;
      }
      x += bw + blockGap;
      shelfH = Math.max(shelfH, bh);
    });
    height += shelfH;
    return { s, gap, cols, fits: height <= H };
  };
  let best = null;
  for (let s = DOT_MAX; s >= DOT_MIN; s--) {
    // Blocks about twice as wide as tall first; wider or squarer ones when they pack better
    // (square ones last: a team of 20 as 5 x 4 gave the English demo floor, whose team
    // table is the wider, squares of 32 px and the time in them, where 6 x 4 gave 31).
    for (const k of [2, 3, 1.3, 5, 1]) {
      best = place(s, k);
      if (best.fits) return best;
    }
  }
  return best ?? { s: DOT_MIN, gap: 1, cols: counts.map(() => 1), fits: false };
}

/**
 * Which layout a panel of W x H pixels gets for these group counts: 'tiles' (with text)
 * when tiles at least `minTextW` wide fit, else 'dots'. Below that width a tile's text is
 * too small to read from across the room anyway (about 11 px names); colour, the time in
 * state inside squares big enough for it, and the action lane carry it.
 */
export function chooseMode(counts, W, H, opts = {}, minTextW = 76) {
  const fit = fitTiles(counts, W, H, opts);
  return fit.fits && fit.w >= minTextW ? 'tiles' : 'dots';
}
