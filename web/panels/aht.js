// The AHT control chart of the team view (`?team=`): one chart per kind of point (the
// short intervals and days), each the team's last closed points with the centre line and
// control limits each point was judged against, the points that broke a rule marked in
// red, and above it the last point's AHT and whether it broke a rule. Drawn as inline SVG
// at the box's own pixel size (so text and dots stay round and legible on a TV across the
// room), redrawn only when the points, the size or the language change.

import { t, lang, chartKindLabel, rulesLabel } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText, setAttr, remPx, typeScale } from '../dom.js';
import { store, opts, scopeBlock } from '../store.js';
import { chartModel, stepPath, axisLabels, monthDay, PAD } from '../chart.js';

const SVG = 'http://www.w3.org/2000/svg';
const boxes = new Map(); // kind -> {root, head, svg, sig}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

/** A point's start in its dot's tooltip: "11-23", "11-23 09:15". */
function timeLabel(kind, ms) {
  const tz = store.config.timezone;
  return kind === 'day' ? monthDay(ms, tz) : `${monthDay(ms, tz)} ${F.clock(ms, tz, false, false)}`;
}

function box(kind) {
  let b = boxes.get(kind);
  if (b) return b;
  const root = el('div', 'aht-chart');
  root.dataset.kind = kind;
  root.dataset.testid = `aht-chart-${kind}`;
  const head = el('div', 'aht-head');
  head.append(el('span', 'aht-title'), el('span', 'aht-last'), el('span', 'aht-state'));
  const svg = svgEl('svg', { class: 'aht-svg', role: 'img' });
  root.append(head, svg);
  b = { root, head, svg, sig: '' };
  boxes.set(kind, b);
  return b;
}

function drawSvg(svg, kind, points, w, h) {
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', w);
  svg.setAttribute('height', h);
  // Labels, dots and margins in px at 1080p and below; larger with the page's type on a
  // larger screen (a 4K TV's labels stayed 16 px while the rest of the board doubled).
  const k = typeScale();
  svg.style.setProperty('--aht-k', String(k));
  const m = chartModel(points, w, h, k);
  if (!m) {
    svg.replaceChildren(svgEl('text', { x: w / 2, y: h / 2, class: 'aht-empty', 'text-anchor': 'middle' }, t('aht.none')));
    return;
  }
  const parts = [];
  for (const tk of m.ticks) {
    parts.push(svgEl('line', { x1: m.left, x2: m.right, y1: tk.y, y2: tk.y, class: 'aht-grid' }));
    parts.push(svgEl('text', { x: m.left - 8 * k, y: tk.y, class: 'aht-tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, F.aht(tk.v)));
  }
  for (const [key, cls] of [['ucl', 'aht-ucl'], ['lcl', 'aht-lcl'], ['cl', 'aht-cl']]) {
    if (m[key].length) parts.push(svgEl('path', { d: stepPath(m[key]), class: cls, 'data-line': key }));
  }
  parts.push(svgEl('polyline', { points: m.mean, class: 'aht-mean' }));
  for (const d of m.dots) {
    const c = svgEl('circle', { cx: d.x, cy: d.y, r: (d.broke ? 10 : 6) * k, class: d.broke ? 'aht-dot aht-broke' : 'aht-dot' });
    c.setAttribute('data-start', d.point.start);
    c.setAttribute('data-value', d.point.mean_s);
    if (d.broke) c.setAttribute('data-rules', d.point.rules.join(' '));
    c.append(svgEl('title', {}, `${timeLabel(kind, d.point.start)} · ${F.aht(d.point.mean_s)}${d.broke ? ` · ${rulesLabel(d.point.rules)}` : ''}`));
    parts.push(c);
  }
  // The last point's lines, named at the right edge.
  const last = points.at(-1);
  const names = [['ucl_s', 'aht.ucl', 'aht-ucl-t'], ['cl_s', 'aht.cl', 'aht-cl-t'], ['lcl_s', 'aht.lcl', 'aht-lcl-t']];
  let prevY = -Infinity;
  for (const [key, label, cls] of names) {
    if (typeof last[key] !== 'number') continue;
    const y = Math.max(m.y(last[key]), prevY + 18 * k); // never on top of each other
    prevY = y;
    parts.push(svgEl('text', { x: m.right + 6 * k, y, class: `aht-line-t ${cls}`, 'dominant-baseline': 'middle' }, `${t(label)} ${F.aht(last[key])}`));
  }
  // First and last start on the time axis (chart.js axisLabels).
  const yAxis = m.bottom + (PAD.bottom - 8) * k;
  const tz = store.config.timezone;
  const [from, to] = axisLabels(kind, points, tz, (ms, z) => F.clock(ms, z, false, false));
  const first = svgEl('text', { x: m.dots[0].x, y: yAxis, class: 'aht-tick aht-x', 'text-anchor': 'start' }, from);
  const lastX = to == null ? null : svgEl('text', { x: m.dots.at(-1).x, y: yAxis, class: 'aht-tick aht-x', 'text-anchor': 'end' }, to);
  parts.push(first);
  if (lastX) parts.push(lastX);
  svg.replaceChildren(...parts);
  // On a narrow chart the two may meet ("12-04 12:00 12-05 10:30"): the first keeps its
  // date only, or goes (the last point's is the one read).
  if (lastX) {
    const meet = () => {
      const a = first.getBBox();
      return a.width > 0 && a.x + a.width + 8 * k > lastX.getBBox().x;
    };
    if (meet() && kind !== 'day' && from.includes(' ')) first.textContent = monthDay(points[0].start, tz);
    if (meet()) first.remove();
  }
}

function renderBox(b, kind, points) {
  const title = `${t('aht.title')} · ${chartKindLabel(kind)}`;
  const last = points.at(-1);
  setText($('.aht-title', b.head), title);
  setText($('.aht-last', b.head), last ? `${t('aht.mean')} ${F.aht(last.mean_s)}` : '');
  const state = $('.aht-state', b.head);
  let level = null;
  let text = '';
  if (!last) {
    // Said in the head: on a team board the empty chart gives its room to the alerts.
    text = t('aht.none');
  } else {
    if ((last.rules ?? []).length) {
      level = 'bad';
      text = `${t('aht.out')}: ${rulesLabel(last.rules)}`;
    } else if (last.cl_s == null) {
      text = t('aht.filling', { n: points.length });
    } else {
      level = 'ok';
      text = t('aht.in_control');
    }
  }
  setText(state, text);
  setAttr(state, 'data-level', level);
  setAttr(b.root, 'data-points', points.length);
  b.svg.setAttribute('aria-label', `${title}: ${text}`);
  if (!last) {
    b.svg.replaceChildren();
    b.sig = '';
    return;
  }
  const w = Math.floor(b.svg.parentElement?.clientWidth ?? 0);
  const h = Math.floor(b.root.clientHeight - b.head.offsetHeight - 4);
  if (!(w > 0 && h >= MIN_PLOT_PX)) {
    // No room for a chart (a team board under a tall action lane): its head only, not a
    // drawing squeezed to a line, its labels on top of each other.
    if (w > 0 && b.svg.childElementCount) {
      b.svg.replaceChildren();
      b.sig = '';
    }
    return;
  }
  // The fonts' state too: the axis labels' overlap is measured in them.
  const sig = `${w}x${h}|${lang()}|${store.config.timezone}|${document.fonts?.status}|${JSON.stringify(points)}`;
  if (b.sig === sig) return;
  b.sig = sig;
  drawSvg(b.svg, kind, points, w, h);
}

export function render() {
  const panel = $('[data-testid="aht-panel"]');
  const chart = opts.team ? scopeBlock()?.aht_chart : null;
  panel.hidden = !chart;
  if (!chart) return;
  const kinds = Object.keys(chart);
  const roots = kinds.map((k) => box(k).root);
  if (panel.children.length !== roots.length || roots.some((r, i) => panel.children[i] !== r)) panel.replaceChildren(...roots);
  // The charts share their column with the alerts (style.css .team-mode, a flex column):
  // with less room than two readable charts take, the first (15 minutes) has it all and
  // the others are their head only (the last point's AHT and its state); under the action
  // lane's three rows there may be room for one head only, and the others go. The panel's
  // height is the grid's there, not its content's, so this does not feed back. (Stacked on
  // a narrow screen, the panel is as tall as its charts: nothing is squeezed.)
  const rem = remPx();
  const room = getComputedStyle(panel).display === 'flex' ? panel.clientHeight : Infinity;
  const squeeze = room < ONE_HEAD_REM * rem ? 'gone' : room < TWO_CHARTS_REM * rem ? 'true' : null;
  kinds.forEach((k, i) => setAttr(box(k).root, 'data-squeezed', i > 0 ? squeeze : null));
  for (const k of kinds) renderBox(box(k), k, chart[k] ?? []);
}

/** A chart is drawn this high or not at all (px). */
const MIN_PLOT_PX = 72;

/** The panel's heights below which one chart is drawn, not two, and one head shown (rem). */
const TWO_CHARTS_REM = 24;
const ONE_HEAD_REM = 9;

/** Redraws when the panel changes size (a window resize, the TV's resolution). */
export function observe() {
  new ResizeObserver(() => render()).observe($('[data-testid="aht-panel"]'));
}

/** After a language switch: texts are redrawn on the next render. */
export function relabel() {
  for (const b of boxes.values()) b.sig = '';
}
