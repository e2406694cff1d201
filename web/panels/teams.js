// The team table: counts, the team window's figures, the aux CV and the members who drive
// it (highest aux rates above the team's mean, from the board's `aux_drivers`), AHT and
// contacts. With `?team=` it is one row. A big whole-floor table lays out only the rows near
// its panel's view (rows.js): the others are not displayed, and their cells are written
// when they come near it (their widths are kept up to date in the sizer row).

import { t, teamLabel, winLabel, lang } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText, setAttr, setFig } from '../dom.js';
import { store, opts, agentName } from '../store.js';
import { lvlText, talkFigure } from './levels.js';
import { widthShape, rowWindow, WidthKeys } from '../rows.js';

const TEAM_COLS = [
  // [data-field, class, value(team, config, windows) -> [text, raw, level, levelKind]]
  ['talking', 'c-n', (x) => [F.int(x.current?.talking), x.current?.talking]],
  ['acw', 'c-n', (x) => [F.int(x.current?.acw), x.current?.acw]],
  ['aux_unplanned', 'c-n c-aux', (x) => [F.int(x.current?.aux_unplanned), x.current?.aux_unplanned]],
  ['aux_planned', 'c-n', (x) => {
    const v = x.current?.aux != null && x.current?.aux_unplanned != null ? x.current.aux - x.current.aux_unplanned : null;
    return [F.int(v), v];
  }],
  ['idle', 'c-n', (x) => [F.int(x.current?.idle), x.current?.idle]],
  ['logged_in', 'c-n c-in', (x) => [F.int(x.current?.logged_in), x.current?.logged_in]],
  ['talk_utilization_team', 'c-p c-lv', (x, c, w) => [...talkFigure(x.windows?.[w.team], c), 'talk']],
  ['aux_ratio_team', 'c-p c-lv', (x, c, w) => {
    const v = x.windows?.[w.team]?.aux_ratio ?? null;
    return [F.pctBeside(v, F.auxEdges(c.aux_band)), v, F.auxLevel(v, c.aux_band), 'aux'];
  }],
  ['aux_ratio_cv', 'c-p c-lv c-cv', (x, c, w) => {
    const v = x.windows?.[w.cv]?.aux_ratio_cv ?? null;
    return [F.cvBeside(v, c.aux_cv_limit), v, F.cvLevel(v, c.aux_cv_limit), 'cv'];
  }],
  ['aux_drivers', 'c-drv', null],
  ['aht_s_team', 'c-p', (x, c, w) => {
    const v = x.windows?.[w.team]?.aht_s ?? null;
    return [F.aht(v), v];
  }],
  ['contacts_team', 'c-p', (x, c, w) => {
    const v = x.windows?.[w.team]?.contacts ?? null;
    return [F.int(v), v];
  }],
  // Schedule adherence (docs/adherence.md); "—" for a team nobody in it is scheduled.
  ['adherence_team', 'c-p', (x, c, w) => {
    const v = x.windows?.[w.team]?.adherence ?? null;
    return [F.pct(v), v];
  }],
];

/** Field name of a team-table column -> the window slot it reads (for data-window). */
const SLOT = { aux_ratio_cv: 'cv', aux_drivers: 'cv' };

const teamRows = new Map(); // team -> <tr>
let order = []; // the rows in the table's order (the server's)

/**
 * From this many rows the whole-floor table lays out only the rows near its panel's view
 * (rows.js): 400 rows laid out again on each push were its one long task (issue 20). The
 * demo floor's dozen teams, and `?team=`, lay out every row.
 */
export const WINDOW_FROM = 60;
/** Rows laid out beyond each edge of the panel's view, so a fast scroll shows no gap. */
const WINDOW_MARGIN = 12;
// The windowing's pieces, made with the first render: padding rows above and below the rows
// laid out (as tall as the rows not laid out), the sizer row's cells (0: the team, i + 1:
// TEAM_COLS[i]) and the view as last measured (read only in measure(), never in render()).
let pads = null; // { panel, top, bottom, sizer, cells }
const view = { top0: 0, pitch: 0, scrollTop: 0, viewH: 0 };
let range = [0, -1]; // the rows laid out
// Which widths each row's cells have; the sizer row holds one copy of each.
const widths = new WidthKeys((col, key, copy) => pads.cells[col].append(copy), (col, key, copy) => copy.remove());

/** The drivers shown: the whole-floor table names two, one team's view three. */
function shownDrivers(x) {
  const list = x.windows?.[store.win.cv]?.aux_drivers ?? [];
  return opts.team ? list : list.slice(0, 2);
}

/** A driver's aux rate as shown: "31%", "31.5%". */
const drvPct = (d) => F.pct(d.aux_ratio).replace('.0%', '%');

/** "Li Na 31%" per driver. */
function driverSpans(shown) {
  return shown.map((d) => {
    const s = el('span', 'drv');
    s.dataset.agent = d.agent;
    s.append(el('span', 'drv-name', shortName(agentName(d.agent))), el('span', 'drv-v', drvPct(d)));
    return s;
  });
}

const driversSig = (shown) => shown.map((d) => `${d.agent}:${F.pct(d.aux_ratio)}:${agentName(d.agent)}`).join('|');

function renderDrivers(box, shown) {
  const sig = driversSig(shown);
  setAttr(box, 'data-agents', shown.map((d) => d.agent).join(' ') || null);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.replaceChildren(...driverSpans(shown));
}

// The alerts about a team as a whole, and how each ranks: a cluster first, then the rest.
const TEAM_KINDS = new Map([['aux_cluster', 0], ['aht_out_of_control', 1], ['utilization_high', 1], ['aux_dispersion', 1]]);

/**
 * `teams` (in the server's order) with those that have a firing team alert first: an aux
 * cluster's, the largest first (as the banner lists them), then the other team alerts'
 * (utilization, aux dispersion, AHT out of control), in the server's order; the rest after
 * them, as they were.
 */
export function attentionFirst(teams, alerts) {
  const rank = new Map(); // team -> [group, -agents on break in its cluster]
  for (const a of alerts) {
    const r = TEAM_KINDS.get(a.kind);
    if (r === undefined || a.state !== 'firing') continue;
    const key = [r, r === 0 ? -(a.agents ?? []).length : 0];
    const was = rank.get(a.team);
    if (!was || key[0] < was[0] || (key[0] === was[0] && key[1] < was[1])) rank.set(a.team, key);
  }
  if (!rank.size) return teams;
  const rest = [2, 0];
  return teams
    .map((x, i) => [rank.get(x.team) ?? rest, i, x])
    .sort((p, q) => p[0][0] - q[0][0] || p[0][1] - q[0][1] || p[1] - q[1])
    .map((p) => p[2]);
}

/** Whether the table is taller than its panel, as last laid out. */
function overflows() {
  if (!pads) return false;
  const { panel } = pads;
  return panel.scrollHeight - panel.clientHeight > 4;
}

/**
 * "Sophie Khan" -> "Sophie K." (Latin names); CJK and one-word names stay whole, and so do
 * names ending in a number ("Agent 12" is not "Agent 1.").
 */
export function shortName(name) {
  const parts = String(name).trim().split(/\s+/);
  if (parts.length < 2 || /[\u2e80-\u9fff]/.test(name) || /^\d+$/.test(parts.at(-1))) return name;
  return `${parts[0]} ${parts.at(-1)[0]}.`;
}

export function render() {
  const tbody = $('[data-testid="team-rows"]');
  pads ??= makeParts(tbody);
  const c = store.config;
  const w = store.win;
  for (const e of document.querySelectorAll('.teams [data-win]')) setText(e, winLabel(w[e.dataset.win]));
  const clusterTeams = new Set(store.alerts.filter((a) => a.kind === 'aux_cluster' && a.state === 'firing').map((a) => a.team));
  ctx = { c, w, clusterTeams };
  const all = opts.team ? store.teams.filter((x) => x.team === opts.team) : store.teams;
  // A table taller than its panel puts the teams with a firing team alert first, so the
  // first screen (and kiosk paging's) shows them; one that fits keeps the server's order.
  orderedFor = overflows();
  const teams = orderedFor ? attentionFirst(all, store.alerts) : all;
  // The rows to be laid out (place() below): only their cells are written now.
  const [first, last] = wantRange(teams.length);
  // The adherence column only on a floor with a roster (docs/adherence.md): elsewhere it
  // would be a column of dashes taking width from the figures.
  const rostered = store.teams.some((x) => Object.values(x.windows ?? {}).some((win) => win?.adherence != null));
  setAttr(tbody.closest('table'), 'data-rostered', String(rostered));
  const seen = new Set();
  let prev = null;
  order = [];
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
        const td = el('td', `${cls} f-${field}`);
        const v = el(field === 'aux_drivers' ? 'div' : 'span', field === 'aux_drivers' ? 'drivers' : 'v');
        v.dataset.field = field;
        td.append(v);
        tr.append(td);
      }
      // The row's parts; what each cell shows as last written (compared here, in the page's
      // memory, rather than read back from the DOM: 400 rows times 14 cells a push), and
      // what its width key was last made from (the same, for a row not laid out).
      tr._name = th.firstChild;
      tr._ptag = th.lastChild;
      tr._cells = [...tr.querySelectorAll('[data-field]')];
      tr._shown = [];
      tr._seen = [];
      teamRows.set(x.team, tr);
    }
    // Keep rows in this order (the server's, by id, or attention first) without
    // rebuilding the table.
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
    order.push(tr);
    // A team block a delta left alone is the same object (store.js merges `teams_changed`):
    // its row is already drawn, unless the language, windows or clusters changed since.
    const sig = `${lang()}|${w.team}|${w.cv}|${clusterTeams.has(x.team)}`;
    if (tr._drawn === x && tr._sig === sig) continue;
    tr._drawn = x;
    tr._sig = sig;
    const i = order.length - 1;
    drawRow(tr, x, sig, i >= first && i <= last);
  }
  for (const [team, tr] of teamRows) {
    if (!seen.has(team)) {
      tr.remove();
      teamRows.delete(team);
      widths.forget(tr);
    }
  }
  $('.teams-empty').hidden = teams.length > 0 || store.now == null;
  place();
  remeasureSoon();
}

// Whether the rows' order was made for a table taller than its panel (`render`).
let orderedFor = false;

// What a row is drawn with besides its team's block, as of the last render.
let ctx = null; // { c, w, clusterTeams }

/**
 * Draws a team's row: its cells' widths always (the sizer needs every row's), its cells
 * only when `laidOut` (a row not laid out is drawn when it comes near the view: place()).
 */
function drawRow(tr, x, sig, laidOut) {
  const { c, w, clusterTeams } = ctx;
  const cluster = clusterTeams.has(x.team);
  const label = teamLabel(x.team);
  // No "Peak" on `unassigned`, the no-shows' row: by the configured windows it is at
  // peak like every team, which tells a floor manager nothing there (docs/wallboard.md).
  const ptag = x.peak && x.team !== 'unassigned' ? t('peak.tag') : '';
  const head = `${sig}\u0000${label}\u0000${ptag}`;
  if (tr._shown[0] !== head) {
    tr._shown[0] = head;
    setText(tr._name, label);
    setText(tr._ptag, ptag);
    setAttr(tr, 'data-peak', String(!!x.peak));
    setAttr(tr, 'data-cluster', cluster ? 'true' : null);
    widths.set(tr, 0, `${widthShape(label)}\u0000${ptag}\u0000${cluster}`, () => {
      const d = el('div');
      d.append(el('span', 'tname', label), el('span', 'ptag', ptag));
      if (cluster) d.append(el('span', 'warn', ' ⚠')); // the row's th::after
      return d;
    });
  }
  tr._late = !laidOut;
  const cells = tr._cells;
  TEAM_COLS.forEach(([field, , fn], i) => {
    const cell = cells[i];
    if (!fn) {
      const shown = shownDrivers(x);
      const memo = `${sig}\u0000${driversSig(shown)}`;
      if (tr._seen[i + 1] !== memo) {
        tr._seen[i + 1] = memo;
        const key = shown.map((d) => `${shortName(agentName(d.agent))}\u0001${widthShape(drvPct(d))}`).join('\u0000');
        widths.set(tr, i + 1, key, () => {
          const d = el('div', 'drivers');
          d.append(...driverSpans(shown));
          return d;
        });
      }
      if (!laidOut || tr._shown[i + 1] === memo) return;
      tr._shown[i + 1] = memo;
      setAttr(cell, 'data-window', w[SLOT[field] ?? 'team'] ?? null);
      renderDrivers(cell, shown);
      return;
    }
    const [text, v, level, kind] = fn(x, c, w);
    const memo = `${sig}\u0000${text}\u0000${v}\u0000${level}`;
    if (tr._seen[i + 1] !== memo) {
      tr._seen[i + 1] = memo;
      widths.set(tr, i + 1, `${level ?? ''}\u0000${widthShape(text)}`, () => {
        const d = el('div');
        const e = el('span', 'v', text);
        if (level) e.dataset.level = level;
        d.append(e);
        return d;
      });
    }
    if (!laidOut || tr._shown[i + 1] === memo) return;
    tr._shown[i + 1] = memo;
    setAttr(cell, 'data-window', w[SLOT[field] ?? 'team'] ?? null);
    setFig(cell, text, v ?? null, level ?? null, kind ? lvlText(kind, level) : null);
  });
}

function makeParts(tbody) {
  const table = tbody.closest('table');
  const pad = () => {
    const b = el('tbody', 'pad');
    b.setAttribute('aria-hidden', 'true');
    b.hidden = true;
    const td = el('td');
    td.colSpan = TEAM_COLS.length + 1;
    b.append(el('tr'));
    b.firstChild.append(td);
    return b;
  };
  const top = pad();
  const bottom = pad();
  const sizer = el('tbody', 'sizer');
  sizer.setAttribute('aria-hidden', 'true');
  sizer.hidden = true;
  const cells = [el('th', 'c-team'), ...TEAM_COLS.map(([field, cls]) => el('td', `${cls} f-${field}`))];
  sizer.append(el('tr'));
  sizer.firstChild.append(...cells);
  table.insertBefore(top, tbody);
  tbody.after(bottom, sizer);
  const panel = table.closest('.teams-panel');
  const again = () => {
    measure();
    place();
    snap();
    fitNames();
  };
  panel.addEventListener('scroll', again, { passive: true });
  new ResizeObserver(again).observe(panel);
  return { panel, top, bottom, sizer, cells };
}

const windowed = (n) => !opts.team && n >= WINDOW_FROM;

/**
 * The rows to lay out: near the view, or all of a small table's. Until a row has been
 * measured, a few (measure() follows their first layout).
 */
const wantRange = (n) => (windowed(n) ? rowWindow(n, view, WINDOW_MARGIN) : [0, n - 1]);

/**
 * Lays out the rows near the view (all of a small table's), hides the others, and draws
 * the rows that come in with what the last render had for them. Writes only.
 */
function place() {
  if (!pads) return;
  const n = order.length;
  const on = windowed(n);
  pads.sizer.hidden = !on;
  range = wantRange(n);
  const [first, last] = range;
  for (let i = 0; i < n; i++) {
    const tr = order[i];
    const off = i < first || i > last;
    if (tr.hidden !== off) tr.hidden = off;
    if (!off && tr._late) drawRow(tr, tr._drawn, tr._sig, true);
  }
  padTo(pads.top, on ? first * view.pitch : 0);
  padTo(pads.bottom, on ? (n - 1 - last) * view.pitch : 0);
}

function padTo(body, px) {
  body.hidden = !(px > 0);
  const h = `${Math.round(px)}px`;
  const td = body.firstChild.firstChild;
  if (td.style.height !== h) td.style.height = h;
}

/** Where the rows are and how tall (reads only: the scroll, a resize, after a frame). */
function measure() {
  if (!pads) return;
  const { panel, top } = pads;
  const rows = $('[data-testid="team-rows"]');
  const shown = range[1] - range[0] + 1;
  const r = rows.getBoundingClientRect();
  if (shown > 0 && r.height > 0) view.pitch = r.height / shown;
  const p = panel.getBoundingClientRect();
  view.top0 = (top.hidden ? r : top.getBoundingClientRect()).top - p.top - panel.clientTop + panel.scrollTop;
  view.scrollTop = panel.scrollTop;
  view.viewH = panel.clientHeight;
}

// After the frame that drew a render (render() runs in an animation frame, so a timeout set
// there runs once its layout is done and reading it costs nothing): the rows' height may
// have changed with their words (a language switch), or this was the first layout.
let remeasureQueued = false;
function remeasureSoon() {
  if (remeasureQueued || !pads) return;
  remeasureQueued = true;
  setTimeout(() => {
    remeasureQueued = false;
    measure();
    place();
    snap();
    fitNames();
    // Laid out and measured now: a table found taller than its panel only now (its first
    // frame, a resize) is put in attention order at once, not at the next push that moves
    // a team (a quiet floor's board stayed in id order).
    if (overflows() !== orderedFor) render();
  }, 0);
}

/**
 * A team id may be 64 characters: the names are cut with "…" (style.css .tname) to the
 * width the panel leaves beside the figures, so that a long one never pushes them off it
 * (the panel is as wide as the table, up to 55% of the screen). `--tname-max` on the table:
 * unset while everything fits; set from the widest name when the table is wider than its
 * panel, and lowered while it still is; let go when the window's width changes (a resize,
 * a TV switched), to fit anew. (Not the panel's: it is as wide as the table, so a cut name
 * narrows it, and letting go then would widen it again, back and forth.)
 */
let fitWidth = 0;
const FIT_SLACK_PX = 12;
const NAME_LEAST_EM = 4.5;
function fitNames() {
  if (!pads) return;
  const { panel } = pads;
  const table = panel.querySelector('table');
  if (!table) return;
  if (window.innerWidth !== fitWidth) {
    fitWidth = window.innerWidth;
    if (table.style.getPropertyValue('--tname-max')) table.style.removeProperty('--tname-max');
    if (table.dataset.oneDriver) delete table.dataset.oneDriver;
  }
  let over = panel.scrollWidth - panel.clientWidth;
  if (over <= 1) return;
  // First the second aux driver's name goes (style.css): two names took the room of about
  // three figures, and the whole-floor table of 400 teams without a roster scrolled 47 px
  // sideways at 1920x1080 with them, the AHT and contacts off the screen.
  if (!opts.team && !table.dataset.oneDriver && table.querySelector('.drivers .drv:nth-child(2)')) {
    table.dataset.oneDriver = 'true';
    over = panel.scrollWidth - panel.clientWidth;
    if (over <= 1) return;
  }
  let widest = 0;
  let least = 0;
  for (const e of table.querySelectorAll('.tname')) {
    widest = Math.max(widest, Math.min(e.scrollWidth, e.clientWidth || e.scrollWidth));
    // Never cut shorter than about five letters ("T100", "Cards…"): a row whose team
    // cannot be read is no use, even if the table then still scrolls sideways (a 400-team
    // floor's figures alone may be wider than the panel at 1080p).
    least ||= parseFloat(getComputedStyle(e).fontSize) * NAME_LEAST_EM;
  }
  if (widest <= 0 || widest <= least) return;
  // A few pixels more than needed: the next push's figures may be a digit wider.
  table.style.setProperty('--tname-max', `${Math.max(least, Math.floor(widest - over - FIT_SLACK_PX))}px`);
}

/**
 * Kiosk paging (app.js): the table's next screenful, by whole rows (the last row of this
 * screen is the first of the next), back to the top after the last. With the room ending
 * on a row (snap), each screen then shows whole rows under the heading, as the first one
 * does. Nothing while the table fits or is not laid out yet.
 */
export function page() {
  if (!pads || !(view.pitch > 0)) return;
  const { panel } = pads;
  const max = panel.scrollHeight - panel.clientHeight;
  if (max <= 4) return;
  const rows = Math.max(1, Math.floor((panel.clientHeight - view.top0 + 1) / view.pitch));
  const next = (Math.round(panel.scrollTop / view.pitch) + Math.max(1, rows - 1)) * view.pitch;
  panel.scrollTo({ top: panel.scrollTop >= max - 1 ? 0 : Math.min(next, max) });
}

/**
 * When the table is taller than its room, ends its panel on a row's bottom: the alerts
 * under it take the part of a row that would show cut (the `unassigned` row half under
 * the panel's edge at 1080p). Writes `--teams-cut` on the body, which the alerts' least
 * height adds (style.css .body); 0 when every row fits. The criterion counts the cut given
 * back, so writing it does not change it (the resize it causes finds the same value).
 */
function snap() {
  if (!pads || !(view.pitch > 0)) return;
  const { panel } = pads;
  const body = panel.closest('.body');
  if (!body) return;
  if (panel.scrollTop !== 0) return; // scrolled by hand: the rows are cut where it stopped
  const cut = parseFloat(body.style.getPropertyValue('--teams-cut')) || 0;
  const room = panel.clientHeight + cut;
  let next = panel.scrollHeight > room + 0.5 ? (room - view.top0) % view.pitch : 0;
  // Within a pixel of a whole row: nothing to give.
  if (next > view.pitch - 1) next = 0;
  next = Math.max(0, Math.round(next));
  if (Math.abs(next - cut) >= 1) body.style.setProperty('--teams-cut', `${next}px`);
}

/** Labels and driver names in the new language. */
export function relabel() {
  for (const tr of teamRows.values()) {
    const d = tr.querySelector('.drivers');
    if (d) d.dataset.sig = '';
    tr._drawn = null;
    tr._shown = [];
    tr._seen = [];
  }
}
