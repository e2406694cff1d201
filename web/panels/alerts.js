// The alert list: firing first (by severity, newest first), then recently resolved ones
// fading out. Firing aux_cluster alerts are the banner's. Each line is written from the
// alert's fields in the page's language, and for a figure alert shows the figure at fire
// time beside the figure now ("CV 2.38 when raised · now 0.73"). Only whole entries are shown
// (one that wraps may show cut to one line where that fits): what does not fit becomes
// "+N more", in kiosk mode too, and each kind that is firing keeps at least its first entry
// on screen.

import { t, teamLabel, reasonWord, winLabel, chartKindLabel, rulesLabel, lang, spokenDur } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText, setAttr } from '../dom.js';
import { store, serverNow, asOf, visibleAlerts, agentName } from '../store.js';

/** How long a resolved alert stays visible while it fades (ms of server time). */
export const RESOLVED_FADE_MS = 120_000;

const SEV_RANK = { critical: 0, warning: 1, info: 2 };

const teamBlock = (team) => store.teams.find((x) => x.team === team) ?? null;
const queueBlock = (queue) => (store.queues ?? []).find((x) => x.queue === queue) ?? null;

/** The alert's figure as the board shows it now, or null. */
export function currentValue(al) {
  const b = teamBlock(al.team);
  if (!b) return null;
  switch (al.kind) {
    case 'aux_dispersion':
      return b.windows?.[store.win.cv]?.aux_ratio_cv ?? null;
    case 'utilization_high':
      return b.windows?.[store.win.team]?.talk_utilization ?? null;
    default:
      return null;
  }
}

/** An alert's one line in the page's language, from its fields (never its English `message`). */
export function alertText(al, now) {
  const team = teamLabel(al.team);
  switch (al.kind) {
    case 'aux_cluster':
      return t('alert.aux_cluster', { team, k: (al.agents ?? []).length, share: F.pct(al.value) });
    case 'out_of_adherence': {
      // From the roster (docs/adherence.md): how long the agent has been off its schedule.
      const name = al.agent ? agentName(al.agent) : '';
      const who = name && name !== al.agent ? `${name} ${al.agent}` : (al.agent ?? '');
      const limit = F.mss(al.threshold);
      // A no-show (never seen, team `unassigned`) has not logged in: said as the chats say it
      // (docs/alerts.md), and when it resolves, the scheduled work it missed.
      const noShow = al.team === 'unassigned';
      if (al.state !== 'firing') {
        if (!noShow) return t('alert.out_of_adherence_resolved', { who, team, limit });
        const missed = ((F.toMs(al.resolved_at) ?? asOf(now)) - (F.toMs(al.started_at) ?? asOf(now))) / 1000;
        return t('alert.no_show_resolved', { who, team, dur: spokenDur(missed) });
      }
      // The alert's value is the limit it passed; the time out now is the agent's out_since.
      // An agent that logged in after its no-show alert fired (the alert stays in
      // `unassigned`, the team it fired in) is out of adherence, no longer "not logged in".
      const a = al.agent ? store.agents.get(al.agent) : null;
      const absent = noShow && a?.since == null;
      if (a?.out_since == null) return t(absent ? 'alert.no_show_over' : 'alert.out_of_adherence_over', { who, team, limit });
      return t(absent ? 'alert.no_show' : 'alert.out_of_adherence', { who, team, dur: F.mss((asOf(now) - a.out_since) / 1000), limit });
    }
    case 'long_aux': {
      const name = al.agent ? agentName(al.agent) : '';
      const who = name && name !== al.agent ? `${name} ${al.agent}` : (al.agent ?? '');
      const limit = F.mss(al.threshold);
      if (al.state !== 'firing') return t('alert.long_aux_resolved', { who, team, limit });
      const a = al.agent ? store.agents.get(al.agent) : null;
      if (a && a.state === 'aux' && !a.planned) {
        const dur = F.mss((asOf(now) - a.since) / 1000);
        return t('alert.long_aux', { who, team, reason: reasonWord(a.reason), dur, limit });
      }
      return t('alert.long_aux_noreason', { who, team, dur: F.mss(al.value), limit });
    }
    // The figures with the decimals that tell them from the limit ("74.04% above 74.0%").
    case 'aux_dispersion':
      return t('alert.aux_dispersion', {
        team, value: F.cvBeside(al.value, al.threshold), now: F.cvBeside(currentValue(al), al.threshold), threshold: F.cv(al.threshold),
      });
    case 'utilization_high': {
      const pct = (v) => F.pctBeside(v, [al.threshold]);
      return t('alert.utilization_high', {
        team, value: pct(al.value), now: `${pct(currentValue(al))} (${winLabel(store.win.team)})`, threshold: F.pct(al.threshold),
      });
    }
    case 'aht_out_of_control': {
      // The rules are the end of the message ("...; beyond_3_sigma, 6_trending").
      const rules = (al.message ?? '').split('; ').at(-1).split(', ').filter((r) => r);
      return t('alert.aht_out_of_control', {
        team, kind: chartKindLabel(al.interval), value: F.aht(al.value), threshold: F.aht(al.threshold), rules: rulesLabel(rules),
      });
    }
    case 'long_wait': {
      const q = queueBlock(al.queue);
      const wait = q?.current?.longest_wait_s;
      if (al.state !== 'firing' || wait == null) return t('alert.long_wait_resolved', { queue: al.queue, limit: F.mss(al.threshold) });
      const secs = wait + Math.max(0, (asOf(now) - (store.now ?? now)) / 1000);
      return t('alert.long_wait', { queue: al.queue, dur: F.mss(secs), limit: F.mss(al.threshold) });
    }
    case 'service_level_low': {
      const q = queueBlock(al.queue);
      const cur = q?.windows?.['15m']?.service_level ?? q?.windows?.[store.win.short]?.service_level ?? null;
      const pct = (v) => F.pctBeside(v, [al.threshold]);
      return t('alert.service_level_low', { queue: al.queue, value: pct(al.value), now: pct(cur), threshold: F.pct(al.threshold) });
    }
    default:
      return t('alert.unknown', { team });
  }
}

const alertItems = new Map(); // id -> <li>
// Entries made at most: the panel shows a few; a roster on a 20,000-agent floor makes
// thousands of alerts, and laying out and measuring each one took the page's main thread
// whole seconds at a time. The first firing entry of each kind is made too (fit() keeps one
// on screen); the rest are counted in "+N more" without being made.
export const MAX_ENTRIES = 40;
// The entries not made: { firing, resolved }.
let offList = { firing: 0, resolved: 0 };

/** The alerts to make entries for: the first MAX_ENTRIES, and each kind's first firing one. */
export function entriesFor(all) {
  if (all.length <= MAX_ENTRIES) return all;
  const keep = new Set(all.slice(0, MAX_ENTRIES));
  const kinds = new Set();
  for (const a of all) {
    if (a.state !== 'firing' || kinds.has(a.kind)) continue;
    kinds.add(a.kind);
    keep.add(a);
  }
  return all.filter((a) => keep.has(a));
}
// The entries (and their language) the last render fitted: a push that changes only their
// figures leaves the fitting to the tick's and the resize's (a fit forces a layout of the
// page in the middle of the frame, once a second while the tiles scroll).
let fittedSig = '';

function shownAlerts(now) {
  return visibleAlerts()
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
}

export function render() {
  const list = $('.alerts');
  const now = serverNow();
  const all = shownAlerts(now);
  const items = entriesFor(all);
  const firingAll = all.filter((a) => a.state === 'firing').length;
  const firingMade = items.filter((a) => a.state === 'firing').length;
  offList = { firing: firingAll - firingMade, resolved: all.length - items.length - (firingAll - firingMade) };
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
    updateItem(li, al, now);
  }
  for (const [id, li] of alertItems) {
    if (!seen.has(id)) {
      li.remove();
      alertItems.delete(id);
    }
  }
  setText($('[data-testid="alert-count"]'), firingAll ? String(firingAll) : '');
  $('.alerts-empty').hidden = items.length > 0 || store.now == null;
  const sig = `${lang()}|${offList.firing}|${offList.resolved}|${items.map((a) => `${a.id}:${a.state}`).join(' ')}`;
  if (sig !== fittedSig) {
    fittedSig = sig;
    fit();
  }
}

/** The parts of an alert item that move with time: durations, figures now, fade. */
function updateItem(li, al, now) {
  setText($('.msg', li), alertText(al, now));
  const cur = currentValue(al);
  setAttr(li, 'data-value-now', cur == null ? null : String(cur));
  setAttr(li, 'data-value-fired', al.value == null ? null : String(al.value));
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

/**
 * Shows the entries that fit whole in the panel (at most one of them cut to one line
 * where only that fits) and "+N more" for the rest. Measured with every entry shown whole, so an
 * entry that now fits comes back.
 */
export function fit() {
  const list = $('.alerts');
  const more = $('[data-testid="alerts-more"]');
  const items = [...list.children];
  for (const li of items) {
    li.hidden = false;
    li.classList.remove('one-line');
  }
  more.hidden = true;
  setAttr(more, 'data-n', null);
  setAttr(more, 'data-firing', null);
  list.classList.remove('roomy');
  if (!items.length || !list.clientHeight) return;
  const gap = parseFloat(getComputedStyle(list).rowGap) || 0;
  // Heights to the fraction of a pixel: rounded, three entries of 33.6 px took 102.
  const height = (e) => e.getBoundingClientRect().height;
  const room = height(list);
  const heights = items.map(height);
  const off = offList.firing + offList.resolved;
  if (!off && F.fitCount(heights, room, gap, 0) >= items.length) {
    // Every entry fits at two lines: with room to spare (a team's board), they run to
    // four, so a long one is read whole instead of ending in "below…".
    list.classList.add('roomy');
    if (F.fitCount(items.map(height), room, gap, 0) < items.length) list.classList.remove('roomy');
    return;
  }
  // Not all fit: the "+N more" line takes its place under the list, then as many whole
  // entries as the list has room for, the first firing one of each kind among them (one
  // kind's overflow never hides another kind, e.g. out_of_adherence under service level).
  setText(more, moreLabel(items.length + off, 0));
  more.hidden = false;
  const kinds = items.map((li) => (li.dataset.state === 'firing' ? li.dataset.kind : null));
  // Each entry's height cut to one line: one that wraps may then still fit, cut.
  for (const li of items) li.classList.add('one-line');
  const short = items.map(height);
  for (const li of items) li.classList.remove('one-line');
  const pick = F.pickShown(kinds, heights, room, gap, short);
  const shown = new Set(pick.shown);
  items.forEach((li, i) => { li.hidden = !shown.has(i); });
  for (const i of pick.clamped) items[i].classList.add('one-line');
  const hidden = items.filter((_, i) => !shown.has(i));
  const firing = hidden.filter((li) => li.dataset.state === 'firing').length + offList.firing;
  const resolved = hidden.length - (firing - offList.firing) + offList.resolved;
  // Every entry shown, the last cut to one line: nothing more to count ("+0 more" stood
  // beside the title of a team board whose five alerts were all there).
  if (firing + resolved === 0) {
    more.hidden = true;
    return;
  }
  setText(more, moreLabel(firing, resolved));
  setAttr(more, 'data-n', firing + resolved);
  setAttr(more, 'data-firing', firing);
}

/**
 * The line for the entries not shown: the firing ones as "+N more" (the badge's count is
 * the firing entries shown and these), the resolved ones fading out named apart, so "18"
 * beside the title and "+19 more" never stand side by side.
 */
export function moreLabel(firing, resolved) {
  if (!resolved) return t('alerts.more', { n: firing });
  if (!firing) return t('alerts.more_resolved', { n: resolved });
  return t('alerts.more_both', { n: firing, r: resolved });
}

export function tick(now) {
  for (const al of visibleAlerts()) {
    const li = alertItems.get(al.id);
    if (li) updateItem(li, al, now);
  }
  // Resolved alerts that faded out leave the list.
  if (visibleAlerts().some((a) => a.state !== 'firing' && alertItems.has(a.id)
    && now - (F.toMs(a.resolved_at) ?? 0) >= RESOLVED_FADE_MS)) render();
}
