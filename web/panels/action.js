// The action lane: what needs a team lead on their feet, in type large enough to read
// across the room. Row one is the aux-cluster banner (banner.js); row two names every
// agent over their aux limit now, longest first, with team, reason and time, as one row of
// cards ("+N more" when they do not fit). Out-of-adherence joins here once it exists.
// Tiles still mark the same agents red; on a floor of 2,000 a red dot is not enough.

import { t, teamLabel, reasonWord } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText, setAttr } from '../dom.js';
import { store, opts, asOf, longLevel, longLimitSecs, firingLongAux } from '../store.js';
import { firingClusters } from './banner.js';

const cards = new Map(); // agent id -> card element
let observed = false;
let width = 0; // the card row's width in px, kept by a ResizeObserver

/** Agents over their long-aux limit at `at`, longest in aux first. */
export function overLimit(at) {
  const firing = firingLongAux();
  // Only an agent in unplanned aux can be over (longLevel); 20,000 agents hold ~1,000.
  return [...store.auxUnplanned].map((id) => store.agents.get(id))
    .filter((a) => a && (!opts.team || a.team === opts.team) && longLevel(a, at, firing) === 'over')
    .sort((a, b) => (a.since - b.since) || (a.agent < b.agent ? -1 : 1));
}

function makeCard() {
  const c = el('div', 'act-card');
  const who = el('div', 'ac-who');
  who.append(el('span', 'ac-name'), el('span', 'ac-id'));
  const what = el('div', 'ac-what');
  what.append(el('span', 'ac-team'), el('span', 'ac-reason'));
  c.append(who, what, el('div', 'ac-time'), el('div', 'ac-limit'));
  return c;
}

export function render(now) {
  const lane = $('[data-testid="action-lane"]');
  const row = $('[data-testid="long-aux-lane"]');
  const box = $('.act-cards', row);
  const at = asOf(now);
  const over = store.now == null ? [] : overLimit(at);
  row.hidden = over.length === 0;
  lane.hidden = over.length === 0 && firingClusters().length === 0;
  setAttr(row, 'data-count', over.length);
  if (!over.length) {
    box.replaceChildren();
    cards.clear();
    return;
  }
  // One row of cards: as many as fit, the last place says "+N more" when some do not.
  // The row's width is measured on resize, not read (a forced layout) every tick.
  if (!observed) {
    observed = true;
    new ResizeObserver(() => { width = box.clientWidth; }).observe(box);
    width = box.clientWidth;
  }
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const cardW = 22 * rem;
  const gap = 0.6 * rem;
  // A phone stacks the cards (three, then "+N more").
  const narrow = width > 0 && width < cardW * 1.6;
  const cap = narrow ? 4 : Math.max(2, Math.floor((width + gap) / (cardW + gap)) || 4);
  const shown = over.length > cap ? over.slice(0, cap - 1) : over;
  const keep = new Set();
  const els = shown.map((a) => {
    keep.add(a.agent);
    let c = cards.get(a.agent);
    if (!c) {
      c = makeCard();
      cards.set(a.agent, c);
    }
    c.dataset.agent = a.agent;
    c.dataset.team = a.team;
    setText($('.ac-name', c), a.name || a.agent);
    setText($('.ac-id', c), a.name ? a.agent : '');
    setText($('.ac-team', c), teamLabel(a.team));
    setText($('.ac-reason', c), reasonWord(a.reason));
    setText($('.ac-time', c), F.mss((at - a.since) / 1000));
    setText($('.ac-limit', c), t('lane.limit', { limit: F.mss(longLimitSecs(a.reason ?? 'unspecified')) }));
    return c;
  });
  for (const id of cards.keys()) if (!keep.has(id)) cards.delete(id);
  if (over.length > shown.length) {
    const more = el('div', 'act-card act-more', t('lane.more', { n: over.length - shown.length }));
    more.dataset.n = over.length - shown.length;
    els.push(more);
  }
  const cur = [...box.children];
  if (cur.length !== els.length || cur.some((c, i) => c !== els[i] || c.classList.contains('act-more'))) box.replaceChildren(...els);
}

export const tick = render;
