// The action lane: what needs a team lead on their feet, in type large enough to read
// across the room. Row one is the aux-cluster banner (banner.js); row two names every
// agent over their aux limit now, longest first, with team, reason and time; row three
// every agent whose out_of_adherence alert fires now (docs/adherence.md: the threshold
// passed, not merely out of adherence), longest out first, with team, what the schedule
// says beside what the agent does ("Lunch · Talking"; a no-show "Not logged in") and
// the time out. Each row is one line of cards of one size ("+N more" when they do not
// fit), so a shift start with many no-shows never pushes the long-aux row off the screen.
//
// An agent over its aux limit is out of adherence too on a floor with a roster (aux the
// schedule allows is planned, and never long aux): it is in row two only. Its card there
// says more (the reason, the limit), and it moves up from row three when its aux passes
// the limit: the lane escalates, it does not repeat. Tiles still mark the same agents
// (red, the corner flag); on a floor of 2,000 a red dot is not enough.

import { t, teamLabel, reasonWord, reasonLabel, activityLabel } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText, setAttr, remPx } from '../dom.js';
import { store, opts, asOf, longLevel, longLimitSecs, firingLongAux, firingOutOfAdherence } from '../store.js';
import { firingClusters } from './banner.js';
import { shortName } from './teams.js';

/** Agents over their long-aux limit at `at`, longest in aux first. */
export function overLimit(at) {
  const firing = firingLongAux();
  // Only an agent in unplanned aux can be over (longLevel); 20,000 agents hold ~1,000.
  return [...store.auxUnplanned].map((id) => store.agents.get(id))
    .filter((a) => a && (!opts.team || a.team === opts.team) && longLevel(a, at, firing) === 'over')
    .sort((a, b) => (a.since - b.since) || (a.agent < b.agent ? -1 : 1));
}

/**
 * Agents whose out_of_adherence alert fires, longest out first, but those in `skip` (row
 * two's): [{ agent, a, team, since }], `a` the agent's record (null if the board has none),
 * `since` when it went out (its `out_since`, as its tile counts; else the alert's start).
 */
export function outOfAdherence(skip) {
  const list = [];
  for (const [id, al] of firingOutOfAdherence()) {
    if (skip.has(id)) continue;
    const a = store.agents.get(id) ?? null;
    // The agent's team now (one that logged in after its no-show alert fired is in its
    // team, on its team's board, though the alert stays in `unassigned`), else the alert's.
    const team = a?.team ?? al.team;
    if (opts.team && team !== opts.team) continue;
    const since = a?.out_since ?? F.toMs(al.started_at) ?? store.now;
    list.push({ agent: id, a, team, since });
  }
  return list.sort((x, y) => (x.since - y.since) || (x.agent < y.agent ? -1 : 1));
}

// One row of cards: its elements, its cards by agent id, and its width in px, kept by a
// ResizeObserver (measured on resize, not read, a forced layout, every tick).
function cardRow(testid) {
  const row = $(`[data-testid="${testid}"]`);
  return { row, box: $('.act-cards', row), cards: new Map(), width: 0, observed: false };
}
let rows = null;

/**
 * Fills a row with one line of cards for `list` (objects with `agent`): as many as fit,
 * the last place saying "+N more" when some do not. `make()` makes a card, `fill(c, x)`
 * writes one.
 */
function fillRow(R, list, make, fill) {
  R.row.hidden = list.length === 0;
  setAttr(R.row, 'data-count', list.length);
  // Every agent of the row in order, those under "+N more" too (tests, devtools).
  setAttr(R.row, 'data-agents', list.map((x) => x.agent).join(' '));
  if (!list.length) {
    R.box.replaceChildren();
    R.cards.clear();
    return;
  }
  if (!R.observed) {
    R.observed = true;
    new ResizeObserver(() => { R.width = R.box.clientWidth; }).observe(R.box);
    R.width = R.box.clientWidth;
  }
  const rem = remPx();
  const cardW = 22 * rem;
  const gap = 0.6 * rem;
  let n = list.length;
  if (R.width > 0 && R.width < cardW * 1.6) {
    // A phone stacks the cards (three, then "+N more").
    if (n > 4) n = 3;
  } else if (R.width > 0 && n * (cardW + gap) - gap > R.width) {
    // As many cards as fit beside the "+N more" card, at its width.
    const moreW = moreWidth(t('lane.more', { n: list.length }), rem);
    n = Math.max(1, Math.min(n - 1, Math.floor((R.width - moreW) / (cardW + gap))));
  } else if (R.width === 0 && n > 4) n = 3;
  const shown = list.slice(0, n);
  const keep = new Set();
  const els = shown.map((x) => {
    keep.add(x.agent);
    let c = R.cards.get(x.agent);
    if (!c) {
      c = make();
      R.cards.set(x.agent, c);
    }
    c.dataset.agent = x.agent;
    fill(c, x);
    return c;
  });
  for (const id of R.cards.keys()) if (!keep.has(id)) R.cards.delete(id);
  if (list.length > shown.length) {
    const n = list.length - shown.length;
    const more = el('div', 'act-card act-more', t('lane.more', { n }));
    more.dataset.n = n;
    els.push(more);
  }
  const cur = [...R.box.children];
  if (cur.length !== els.length || cur.some((c, i) => c !== els[i] || c.classList.contains('act-more'))) R.box.replaceChildren(...els);
  shortenWho(els);
}

// The "+N more" card's width in px (style.css .act-more: its text at 1.6rem, 900, between
// paddings of 0.8rem, at least 8rem), from the text's metrics rather than a layout.
let measure = null;
function moreWidth(text, rem) {
  if (!measure) {
    measure = document.createElement('canvas').getContext('2d');
    measure.family = getComputedStyle(document.body).fontFamily;
  }
  measure.font = `900 ${1.6 * rem}px ${measure.family}`;
  // A pixel each side for rounding: too wide shows a card less, too narrow would clip it.
  return Math.max(8 * rem, Math.ceil(measure.measureText(text).width) + 1.6 * rem + 2);
}

/** A card of class `cls`: who (name, id), then `what` (the team first) and `tail` lines. */
function cardOf(cls, what, tail) {
  const c = el('div', cls);
  const who = el('div', 'ac-who');
  who.append(el('span', 'ac-name'), el('span', 'ac-id'));
  const w = el('div', 'ac-what');
  w.append(el('span', 'ac-team'), ...what);
  c.append(who, w, ...tail);
  return c;
}

const makeCard = () => cardOf('act-card', [el('span', 'ac-reason')], [el('div', 'ac-time'), el('div', 'ac-limit')]);

/**
 * A card's who: the name, and the agent id beside it. A name too long for the card is
 * shortened as the tiles shorten it ("Laura J."), then cut with "…"; the id always shows
 * (style.css .ac-who: two "Laura Jones" on a floor of thousands are told apart by it).
 * Measured only when the name, the screen's width or the fonts loaded change.
 */
function setWho(c, name, agent) {
  const n = $('.ac-name', c);
  setText($('.ac-id', c), name ? agent : '');
  // Measured again once the page's fonts have come (the fallback's wider letters shortened
  // names that fit), and when the time beside it grows or shrinks a digit ("59:59", "1:00:00").
  const key = `${name ?? ''}|${agent}|${window.innerWidth}|${document.fonts?.status}|${$('.ac-time', c).textContent.length}`;
  if (c._who === key) return;
  c._who = key;
  setText(n, name || agent);
  // Measured once the row's cards are in place (fillRow), with one layout for all.
  c._whoCheck = name && shortName(name) !== name ? name : null;
}

/** The names set since the last look that are too long for their card, shortened. */
function shortenWho(cards) {
  const long = cards.filter((c) => c._whoCheck && c.isConnected).map((c) => [c, $('.ac-name', c)])
    .filter(([, n]) => n.scrollWidth > n.clientWidth + 1);
  for (const [c, n] of long) setText(n, shortName(c._whoCheck));
  for (const c of cards) c._whoCheck = null;
}

function fillLongAux(at) {
  return (c, a) => {
    c.dataset.team = a.team;
    setText($('.ac-team', c), teamLabel(a.team));
    setText($('.ac-reason', c), reasonWord(a.reason));
    setText($('.ac-time', c), F.mss((at - a.since) / 1000));
    setText($('.ac-limit', c), t('lane.limit', { limit: F.mss(longLimitSecs(a.reason ?? 'unspecified')) }));
    setWho(c, a.name, a.agent);
  };
}

// An out-of-adherence card: the schedule and what the agent does ("Lunch · Talking", the
// row's title says which is which) in the place of the long-aux card's reason and limit.
const makeOoaCard = () => cardOf(
  'act-card ooa',
  [el('span', 'ac-sched'), el('span', 'ac-sep', '·'), el('span', 'ac-doing')],
  [el('div', 'ac-time')],
);

/** "Lunch", "Work": the roster's activity as a card's value (the tiles say "Sched: lunch"). */
const upFirst = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

/** A scheduled agent never seen (docs/adherence.md, no-shows); `a` null: not on this board. */
const noShow = (a) => !a || (a.since == null && a.state === 'offline');

/** What an agent out of adherence does now, in a word or two. */
function doingLabel(a) {
  if (noShow(a)) return t('lane.not_logged_in');
  switch (a.state) {
    case 'aux':
      return a.reason == null || a.reason === 'unspecified' || a.reason === 'not_ready' ? t('state.aux') : reasonLabel(a.reason);
    case 'acw':
      return t('strip.acw');
    default:
      return t(`state.${a.state}`);
  }
}

function fillOoa(at) {
  return (c, x) => {
    const { a } = x;
    const name = a?.name;
    c.dataset.team = x.team;
    setAttr(c, 'data-since', x.since);
    setText($('.ac-team', c), teamLabel(x.team));
    // A no-show is just "Not logged in": its schedule (work, almost always) is what it
    // missed, and "Unassigned  Work · Not logged in" is wider than the card.
    const sched = noShow(a) ? '' : (a.scheduled ?? '');
    setText($('.ac-sched', c), sched ? upFirst(activityLabel(sched)) : '');
    $('.ac-sep', c).hidden = !sched;
    const doing = doingLabel(a);
    setText($('.ac-doing', c), doing);
    // As the tiles count it: "12:04", "1h05" (F.shortDur).
    setText($('.ac-time', c), F.shortDur(Math.max(0, (at - x.since) / 1000)));
    setWho(c, name, x.agent);
    const parts = [name ? `${name} (${x.agent})` : x.agent, teamLabel(x.team)];
    if (a?.scheduled) parts.push(t('sched.label', { activity: activityLabel(a.scheduled) }));
    parts.push(doing, t('sched.out_since', { time: F.clock(x.since, store.config.timezone, false) }));
    setAttr(c, 'title', parts.join(' · '));
  };
}

export function render(now) {
  rows ??= { long: cardRow('long-aux-lane'), ooa: cardRow('ooa-lane') };
  const lane = $('[data-testid="action-lane"]');
  const at = asOf(now);
  const over = store.now == null ? [] : overLimit(at);
  const ooa = store.now == null ? [] : outOfAdherence(new Set(over.map((a) => a.agent)));
  lane.hidden = over.length === 0 && ooa.length === 0 && firingClusters().length === 0;
  fillRow(rows.long, over, makeCard, fillLongAux(at));
  fillRow(rows.ooa, ooa, makeOoaCard, fillOoa(at));
}

export const tick = render;
