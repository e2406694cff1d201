// The aux-cluster banner (first row of the action lane): per firing aux_cluster alert, the
// team, how many are on break, who (named by the alert first, struck out once back, then
// the team's others now on unplanned break), and for how long. At most MAX_ROWS rows: a
// lunch wave on a floor of a hundred teams can fire a dozen clusters at once, and a row
// each would push the tiles off the screen. Past that, the largest clusters (most agents
// named, then the longest firing) keep their rows and the last row names the other teams
// ("+4 more: T05 · T09 · …"); each of those teams' rows in the table is marked too.

import { t, teamLabel, lang } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText } from '../dom.js';
import { store, visibleAlerts, agentName } from '../store.js';
import { stateKey } from '../tiles.js';

const bannerRows = new Map(); // alert id -> row element
const MAX_ROWS = 3;

/** The clusters that get a row, and the rest (named in the last row), when more fire than fit. */
export function splitClusters(firing, max = MAX_ROWS) {
  if (firing.length <= max) return { shown: firing, rest: [] };
  const bySize = [...firing].sort((a, b) => ((b.agents ?? []).length - (a.agents ?? []).length)
    || ((F.toMs(a.fired_at) ?? 0) - (F.toMs(b.fired_at) ?? 0))
    || (a.team < b.team ? -1 : 1));
  return { shown: bySize.slice(0, max - 1), rest: bySize.slice(max - 1) };
}

/** Firing aux_cluster alerts in scope. */
export const firingClusters = () => visibleAlerts().filter((a) => a.kind === 'aux_cluster' && a.state === 'firing');

export function render() {
  const banner = $('[data-testid="cluster-banner"]');
  if (!refitOnResize) {
    refitOnResize = true;
    addEventListener('resize', () => { for (const box of document.querySelectorAll('.cl-agents')) fitChips(box); });
  }
  const firing = firingClusters();
  banner.hidden = firing.length === 0;
  if (!banner.firstChild) {
    const title = el('div', 'cl-title');
    title.append(el('span', 'cl-icon', '⚠'), el('span', 'cl-title-text'));
    banner.append(title, el('div', 'cl-rows'));
  }
  setText($('.cl-title-text', banner), t('banner.title'));
  const rows = $('.cl-rows', banner);
  const seen = new Set();
  const { shown, rest } = splitClusters(firing);
  const toFit = [];
  for (const al of shown) {
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
      box.dataset.fitted = '';
    }
    if (box.dataset.fitted !== '1') toFit.push(box);
  }
  // Measured once laid out: the lane may be shown only by this frame's render.
  if (toFit.length) requestAnimationFrame(() => toFit.forEach(fitChips));
  for (const [id, row] of bannerRows) {
    if (!seen.has(id)) {
      row.remove();
      bannerRows.delete(id);
    }
  }
  // The rows in the order chosen (a cluster that grew past another moves up), the others'
  // teams last.
  let more = $('.cl-more', rows);
  if (rest.length) {
    if (!more) more = el('div', 'cl-more');
    more.dataset.teams = rest.map((a) => a.team).join(' ');
    setText(more, t('banner.more', { n: rest.length, teams: rest.map((a) => teamLabel(a.team)).join(' · ') }));
  } else if (more) {
    more.remove();
    more = null;
  }
  const order = [...shown.map((al) => bannerRows.get(al.id)), ...(more ? [more] : [])];
  if (order.some((row, i) => rows.children[i] !== row) || rows.children.length !== order.length) {
    rows.replaceChildren(...order);
  }
}

/**
 * The chips that do not fit the row's two lines make way for a "+N more" chip, the last
 * ones first (those back from break, then those who joined): a cluster of twelve showed
 * eight names and said nothing of the other four.
 */
export function fitChips(box) {
  if (!box.isConnected) return;
  box.querySelector('.chip-more')?.remove();
  const chips = [...box.querySelectorAll('.chip')];
  for (const c of chips) c.hidden = false;
  const over = () => box.scrollHeight > box.clientHeight + 1;
  // Not laid out yet (the lane hidden): the next render tries again.
  if (!box.clientHeight) return;
  box.dataset.fitted = '1';
  if (!over()) return;
  const more = el('span', 'chip chip-more');
  box.append(more);
  let n = 0;
  for (let i = chips.length - 1; i > 0 && (n === 0 || over()); i--) {
    chips[i].hidden = true;
    n += 1;
    setText(more, t('lane.more', { n }));
  }
  more.dataset.n = n;
}

let refitOnResize = false;

export function tick(now) {
  for (const [id, row] of bannerRows) {
    const al = store.alerts.find((a) => a.id === id);
    if (!al) continue;
    const since = F.toMs(al.fired_at) ?? now;
    setText($('.cl-since', row), t('banner.since', { dur: F.mss((now - since) / 1000) }));
  }
}

export function relabel() {
  for (const box of document.querySelectorAll('.cl-agents')) box.dataset.sig = '';
}
