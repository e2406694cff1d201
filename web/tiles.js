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
 * The largest tile width w (MIN_W..MAX_W) such that all groups fit in width W and height
 * H, where each group takes ceil(n / cols) rows of height w * ASPECT and `labelW` of width.
 * Returns { w, h, cols, fits }.
 */
export function fitTiles(counts, W, H, { labelW = 80, gap = 4, groupGap = 8 } = {}) {
  const usable = Math.max(1, W - labelW - gap);
  let best = null;
  for (let w = MAX_W; w >= MIN_W; w -= 2) {
    const cols = Math.max(1, Math.floor((usable + gap) / (w + gap)));
    const h = Math.round(w * ASPECT);
    let height = 0;
    for (const n of counts) height += Math.max(1, Math.ceil(n / cols)) * (h + gap) - gap + groupGap;
    best = { w, h, cols, fits: height <= H };
    if (best.fits) break;
  }
  if (!best) best = { w: MIN_W, h: Math.round(MIN_W * ASPECT), cols: 1, fits: false };
  // Stretch to the panel's full width: the columns share what is left over.
  best.w = Math.floor((usable + gap) / best.cols) - gap;
  // Keep tiles from growing much taller than the fit allows when stretched.
  return best;
}
