// The queue strip (SPEC §8.4): for the floor and each queue, calls waiting, the longest
// wait counting up between pushes, service level against its target (naming the mode and
// the threshold) and abandon rate, over the shortest configured window. Queues are the
// whole floor's: a `?team=` board shows them too. Hidden while no queue exists.

import { t, winLabel } from '../i18n.js';
import * as F from '../format.js';
import { $, el, setText, setAttr, setFig } from '../dom.js';
import { store, asOf } from '../store.js';

/** Queue cards shown at most (the floor's first); the rest are counted. */
export const MAX_CARDS = 7;

const cards = new Map(); // key ('' = floor) -> card element

function card(key) {
  let c = cards.get(key);
  if (c) return c;
  c = el('div', 'qcard');
  c.dataset.queue = key;
  c.dataset.testid = key === '' ? 'queue-floor' : `queue-${key}`;
  const name = el('div', 'qname');
  const figs = el('div', 'qfigs');
  for (const f of ['waiting', 'longest_wait', 'service_level', 'abandon_rate']) {
    const box = el('div', `qf qf-${f}`);
    box.append(el('div', 'ql'), el('div', 'qv'));
    box.lastChild.dataset.field = f;
    figs.append(box);
  }
  c.append(name, figs);
  cards.set(key, c);
  return c;
}

function fill(c, block, name, q) {
  setText($('.qname', c), name);
  const win = block.windows?.[store.win.short] ?? {};
  const cur = block.current ?? {};
  const labels = {
    waiting: t('queue.waiting'),
    longest_wait: t('queue.longest_wait'),
    service_level: t('queue.sl'),
    abandon_rate: t('queue.abandon_rate'),
  };
  for (const [f, l] of Object.entries(labels)) setText($(`.qf-${f} .ql`, c), l);
  setFig($('[data-field="waiting"]', c), F.int(cur.waiting), cur.waiting ?? null, (cur.waiting ?? 0) > 0 ? 'warn' : null);
  const sl = win.service_level ?? null;
  setFig($('[data-field="service_level"]', c), F.pct(sl), sl, F.slLevel(sl, q.sl_target ?? 0.9));
  setFig($('[data-field="abandon_rate"]', c), F.pct(win.abandon_rate ?? null), win.abandon_rate ?? null, null);
  const lw = $('[data-field="longest_wait"]', c);
  // The tick counts it up from the frame's `now`.
  lw.dataset.base = cur.longest_wait_s ?? '';
  lw.dataset.at = store.now ?? '';
}

export function render() {
  const strip = $('[data-testid="queue-strip"]');
  const queues = store.queues ?? [];
  strip.hidden = queues.length === 0;
  if (strip.hidden) return;
  const q = store.config.queues ?? {};
  // The head names the mode, the threshold and the target (short abandons are left out
  // of "abandoned", docs/figures.md#queues).
  const den = q.sl_mode === 'answered_only' ? t('queue.mode_answered_only') : t('queue.mode_with_abandons');
  const target = F.pct(q.sl_target ?? 0.9).replace('.0%', '%');
  setText($('.qs-title', strip), t('queue.title'));
  setText($('.qs-mode', strip), t('queue.mode', { secs: q.sl_secs ?? 10, den, target, win: winLabel(store.win.short) }));
  const list = $('.qcards', strip);
  const want = [['', store.floorQueues, t('queue.floor')]];
  // Busiest first: most waiting, then the longest wait, then by name.
  const sorted = [...queues].sort(
    (a, b) => (b.current?.waiting ?? 0) - (a.current?.waiting ?? 0)
      || (b.current?.longest_wait_s ?? -1) - (a.current?.longest_wait_s ?? -1)
      || (a.queue < b.queue ? -1 : 1),
  );
  for (const x of sorted.slice(0, MAX_CARDS - 1)) want.push([x.queue, x, x.queue]);
  const keep = new Set(want.map((w) => w[0]));
  for (const [k, c] of cards) {
    if (!keep.has(k)) {
      c.remove();
      cards.delete(k);
    }
  }
  want.forEach(([k, block, name], i) => {
    const c = card(k);
    if (block) fill(c, block, name, q);
    if (list.children[i] !== c) list.insertBefore(c, list.children[i] ?? null);
  });
  const more = $('.qs-more', strip);
  const hidden = queues.length - (want.length - 1);
  more.hidden = hidden <= 0;
  setText(more, hidden > 0 ? t('queue.more', { n: hidden }) : '');
  tick(asOf());
}

/** Moves the longest waits on: the wait at the last frame plus the time since. */
export function tick(now) {
  const limit = store.config.queues?.long_wait_secs;
  for (const c of cards.values()) {
    const e = $('[data-field="longest_wait"]', c);
    const base = e.dataset.base === '' ? null : Number(e.dataset.base);
    const at = Number(e.dataset.at);
    const secs = base == null ? null : base + Math.max(0, (asOf(now) - at) / 1000);
    setFig(e, base == null ? F.DASH : F.mss(secs), base == null ? null : Math.floor(secs), F.waitLevel(secs, limit));
  }
}
