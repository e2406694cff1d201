// The team table: counts, the team window's figures, the aux CV and the members who drive
// it (highest aux rates above the team's mean, from the board's `aux_drivers`), AHT and
// contacts. With `?team=` it is one row.

import { t, teamLabel, winLabel, lang } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText, setAttr, setFig } from '../dom.js';
import { store, opts, agentName } from '../store.js';
import { lvlText } from './levels.js';

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
  ['talk_utilization_team', 'c-p c-lv', (x, c, w) => {
    const v = x.windows?.[w.team]?.talk_utilization ?? null;
    return [F.pct(v), v, F.talkLevel(v, c.talk_band, c.utilization_high), 'talk'];
  }],
  ['aux_ratio_team', 'c-p c-lv', (x, c, w) => {
    const v = x.windows?.[w.team]?.aux_ratio ?? null;
    return [F.pct(v), v, F.auxLevel(v, c.aux_band), 'aux'];
  }],
  ['aux_ratio_cv', 'c-p c-lv c-cv', (x, c, w) => {
    const v = x.windows?.[w.cv]?.aux_ratio_cv ?? null;
    return [F.cv(v), v, F.cvLevel(v, c.aux_cv_limit), 'cv'];
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

/** "Li Na 31%" per driver; the whole-floor table names two, one team's view three. */
function renderDrivers(box, x) {
  const list = x.windows?.[store.win.cv]?.aux_drivers ?? [];
  const shown = opts.team ? list : list.slice(0, 2);
  const sig = shown.map((d) => `${d.agent}:${F.pct(d.aux_ratio)}:${agentName(d.agent)}`).join('|');
  setAttr(box, 'data-agents', shown.map((d) => d.agent).join(' ') || null);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.replaceChildren(...shown.map((d) => {
    const s = el('span', 'drv');
    s.dataset.agent = d.agent;
    s.append(el('span', 'drv-name', shortName(agentName(d.agent))), el('span', 'drv-v', F.pct(d.aux_ratio).replace('.0%', '%')));
    return s;
  }));
}

/** "Sophie Khan" -> "Sophie K." (Latin names); CJK and one-word names stay whole. */
export function shortName(name) {
  const parts = String(name).trim().split(/\s+/);
  if (parts.length < 2 || /[\u2e80-\u9fff]/.test(name)) return name;
  return `${parts[0]} ${parts.at(-1)[0]}.`;
}

export function render() {
  const tbody = $('[data-testid="team-rows"]');
  const c = store.config;
  const w = store.win;
  for (const e of document.querySelectorAll('.teams [data-win]')) setText(e, winLabel(w[e.dataset.win]));
  setText($('.teams th.c-drv'), t('col.aux_drivers', { window: winLabel(w.cv) }));
  const clusterTeams = new Set(store.alerts.filter((a) => a.kind === 'aux_cluster' && a.state === 'firing').map((a) => a.team));
  const teams = opts.team ? store.teams.filter((x) => x.team === opts.team) : store.teams;
  // The adherence column only on a floor with a roster (docs/adherence.md): elsewhere it
  // would be a column of dashes taking width from the figures.
  const rostered = store.teams.some((x) => Object.values(x.windows ?? {}).some((win) => win?.adherence != null));
  setAttr(tbody.closest('table'), 'data-rostered', String(rostered));
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
        const td = el('td', `${cls} f-${field}`);
        const v = el(field === 'aux_drivers' ? 'div' : 'span', field === 'aux_drivers' ? 'drivers' : 'v');
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
    // A team block a delta left alone is the same object (store.js merges `teams_changed`):
    // its row is already drawn, unless the language, windows or clusters changed since.
    const sig = `${lang()}|${w.team}|${w.cv}|${clusterTeams.has(x.team)}`;
    if (tr._drawn === x && tr._sig === sig) continue;
    tr._drawn = x;
    tr._sig = sig;
    setText($('.tname', tr), teamLabel(x.team));
    setText($('.ptag', tr), x.peak ? t('peak.tag') : '');
    setAttr(tr, 'data-peak', String(!!x.peak));
    setAttr(tr, 'data-cluster', clusterTeams.has(x.team) ? 'true' : null);
    const cells = tr.querySelectorAll('[data-field]');
    TEAM_COLS.forEach(([field, , fn], i) => {
      setAttr(cells[i], 'data-window', w[SLOT[field] ?? 'team'] ?? null);
      if (!fn) {
        renderDrivers(cells[i], x);
        return;
      }
      const [text, v, level, kind] = fn(x, c, w);
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

/** Labels and driver names in the new language. */
export function relabel() {
  for (const tr of teamRows.values()) {
    const d = tr.querySelector('.drivers');
    if (d) d.dataset.sig = '';
    tr._drawn = null;
  }
}
