// The AHT control chart's geometry (docs/figures.md#aht-control-chart): pure, so it is
// tested without a browser; panels/aht.js turns it into SVG.
//
// Points are spaced evenly (a control chart counts plotted points, not clock time). The
// centre line and limits are steps, one per point, since every point has its own
// baseline (and its limits its own n); a point without a full baseline has no step.

/** Margins in px around the plot: room for the y labels on the left, the line names on the right. */
export const PAD = { left: 64, right: 96, top: 14, bottom: 30 };

/** Tick steps in seconds that read well as m:ss. */
const STEPS = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200];

/** A step for about `n` ticks over `span` seconds, from `STEPS` (whole hours beyond). */
export function niceStep(span, n = 4) {
  if (!(span > 0)) return 1;
  const raw = span / n;
  return STEPS.find((s) => s >= raw) ?? Math.ceil(raw / 3600) * 3600;
}

/**
 * The chart of `points` (the board's `aht_chart[kind]`, oldest first) in a `w` x `h` px box:
 * `{x, y, ticks, dots, mean, cl, ucl, lcl}` where `dots` are `{x, y, broke, point}`, `mean`
 * the polyline through them, and `cl`/`ucl`/`lcl` lists of horizontal segments
 * `{x1, x2, y}`; `y(v)` maps seconds to px. Null without points. `k` scales the margins
 * with the labels' size (a 4K screen's).
 */
export function chartModel(points, w, h, k = 1) {
  if (!Array.isArray(points) || points.length === 0 || !(w > 0) || !(h > 0)) return null;
  const vals = [];
  for (const p of points) {
    for (const v of [p.mean_s, p.cl_s, p.ucl_s, p.lcl_s]) if (typeof v === 'number' && Number.isFinite(v)) vals.push(v);
  }
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  if (hi - lo < 1) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.08;
  lo = Math.max(0, lo - pad);
  hi += pad;
  const left = PAD.left * k;
  const right = w - PAD.right * k;
  const top = PAD.top * k;
  const bottom = h - PAD.bottom * k;
  const n = points.length;
  const dx = (right - left) / n;
  const x = (i) => left + dx * (i + 0.5);
  const y = (v) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
  // About four ticks, fewer in a short box: never closer than a label's height (a team
  // board's chart under the action lane is 80-100 px; four labels there touched).
  const tickAt = (step) => {
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push({ v, y: y(v) });
    return out;
  };
  let ticks = tickAt(niceStep(hi - lo, Math.max(1, Math.min(4, Math.floor((bottom - top) / (28 * k))))));
  // A step as long as the range may leave no tick in it: a finer one then.
  if (ticks.length === 0) ticks = tickAt(niceStep(hi - lo, 2)).slice(0, 1);
  const dots = points.map((p, i) => ({ x: x(i), y: y(p.mean_s), broke: (p.rules ?? []).length > 0, point: p }));
  const seg = (key) =>
    points
      .map((p, i) => (typeof p[key] === 'number' ? { x1: x(i) - dx / 2, x2: x(i) + dx / 2, y: y(p[key]) } : null))
      .filter((s) => s);
  return {
    x, y, lo, hi, dx, left, right, top, bottom, ticks, dots,
    mean: dots.map((d) => `${d.x.toFixed(1)},${d.y.toFixed(1)}`).join(' '),
    cl: seg('cl_s'),
    ucl: seg('ucl_s'),
    lcl: seg('lcl_s'),
  };
}

/** Joins horizontal steps into one SVG path ("M x1 y H x2" per step, "V" between adjacent ones). */
export function stepPath(segs) {
  let d = '';
  let prev = null;
  for (const s of segs) {
    if (prev && Math.abs(prev.x2 - s.x1) < 0.01) d += ` V${s.y.toFixed(1)} H${s.x2.toFixed(1)}`;
    else d += ` M${s.x1.toFixed(1)} ${s.y.toFixed(1)} H${s.x2.toFixed(1)}`;
    prev = s;
  }
  return d.trim();
}

const dateFmt = new Map();
/** "11-23" of epoch ms in zone `tz`. */
export function monthDay(ms, tz) {
  let f = dateFmt.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-CA', { month: '2-digit', day: '2-digit', timeZone: tz || undefined });
    } catch {
      f = new Intl.DateTimeFormat('en-CA', { month: '2-digit', day: '2-digit' });
    }
    dateFmt.set(tz, f);
  }
  return f.format(new Date(ms));
}

/**
 * The time axis' labels under the first and the last point (`to` null for one point): the
 * days' chart its dates ("11-23"); the short intervals' their clock times (`clock(ms, tz)`),
 * with the dates when the two are on different days in `tz` ("12-05 23:45", "12-06 09:15":
 * a night shift, or yesterday's points before today's first closed), which the times alone
 * did not tell.
 */
export function axisLabels(kind, points, tz, clock) {
  const first = points[0].start;
  const last = points.at(-1).start;
  const one = points.length < 2;
  if (kind === 'day') return [monthDay(first, tz), one ? null : monthDay(last, tz)];
  const dated = !one && monthDay(first, tz) !== monthDay(last, tz);
  const label = (ms) => (dated ? `${monthDay(ms, tz)} ${clock(ms, tz)}` : clock(ms, tz));
  return [label(first), one ? null : label(last)];
}
