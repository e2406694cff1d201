// Unit tests of the page's pure modules (no browser): formatting, threshold levels, tile
// grouping and fitting, the reconnect back-off and silence handling, the translations.

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../web/format.js';
import { groupAgents, fitTiles, fitDots, chooseMode, MIN_W } from '../../web/tiles.js';
import { backoffMs, connect } from '../../web/conn.js';
import { merge } from '../../web/merge.js';
import { widthShape, rowWindow, WidthKeys } from '../../web/rows.js';
import { TABLES, pickLang, setLang, t, winLabel, ageLabel, reasonWord } from '../../web/i18n.js';

test('numbers: percent with one decimal, AHT as m:ss, null as a dash', () => {
  const cases = [
    [F.pct(0.72345), '72.3%'], [F.pct(0), '0.0%'], [F.pct(1), '100.0%'], [F.pct(null), '—'],
    [F.aht(312.4), '5:12'], [F.aht(59.5), '1:00'], [F.aht(4500), '75:00'], [F.aht(null), '—'],
    [F.mss(0), '0:00'], [F.mss(61.9), '1:01'], [F.mss(3725), '1:02:05'], [F.mss(-3), '0:00'],
    [F.shortDur(597), '9:57'], [F.shortDur(3725), '1h02'], [F.shortDur(26 * 3600), '26h'],
    [F.cv(0.1549), '0.15'], [F.raw(0.1 + 0.2), '0.30000000000000004'], [F.raw(null), ''],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
});

test('a figure beside a band edge shows the decimals its colour needs (no amber "69.0%" under a 69–74% band)', () => {
  const talk = F.talkEdges([0.69, 0.74], 0.74);
  const cases = [
    [F.pctBeside(0.7234, talk), '72.3%'], [F.pctBeside(0.69, talk), '69.0%'], [F.pctBeside(0.74, talk), '74.0%'],
    [F.pctBeside(0.6899, talk), '68.99%'], [F.pctBeside(0.68996, talk), '68.996%'], [F.pctBeside(0.7404, talk), '74.04%'],
    [F.pctBeside(null, talk), '—'],
    [F.pctBeside(0.0904, F.auxEdges([0.08, 0.09])), '9.04%'], [F.pctBeside(0.0897, F.auxEdges([0.08, 0.09])), '8.97%'],
    [F.pctBeside(0.0874, F.auxEdges([0.08, 0.09])), '8.7%'],
    [F.cvBeside(0.1599, 0.16), '0.1599'], [F.cvBeside(0.1549, 0.16), '0.15'], [F.cvBeside(0.16, 0.16), '0.16'],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
  // The level and the figure agree: below the band's "69.0" is never shown amber.
  assert.equal(F.talkLevel(0.6899, [0.69, 0.74], 0.74), 'low');
});

test('queue levels: a wait against its limit, service level against its target', () => {
  const cases = [
    [F.waitLevel(47.9, 60), 'ok'], [F.waitLevel(48, 60), 'warn'], [F.waitLevel(60, 60), 'bad'],
    [F.waitLevel(null, 60), null], [F.slLevel(0.9, 0.9), 'ok'], [F.slLevel(0.8999, 0.9), 'bad'],
    [F.slLevel(null, 0.9), null],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
});

test('levels follow the configured bands', () => {
  const band = [0.69, 0.74];
  const cases = [
    [F.talkLevel(0.6899, band, 0.74), 'low'], [F.talkLevel(0.69, band, 0.74), 'ok'],
    [F.talkLevel(0.74, band, 0.74), 'ok'], [F.talkLevel(0.7401, band, 0.74), 'bad'],
    [F.talkLevel(0.75, band, 0.76), 'high'], [F.talkLevel(0.77, band, 0.76), 'bad'],
    [F.talkLevel(null, band, 0.74), 'none'], [F.talkLevel(0.5, [0.4, 0.6], 0.6), 'ok'],
    [F.auxLevel(0.05, [0.08, 0.09]), 'ok'], [F.auxLevel(0.09, [0.08, 0.09]), 'ok'],
    [F.auxLevel(0.12, [0.08, 0.09]), 'warn'], [F.auxLevel(0.14, [0.08, 0.09]), 'bad'],
    [F.cvLevel(0.159, 0.16), 'ok'], [F.cvLevel(0.16, 0.16), 'bad'], [F.cvLevel(null, 0.16), 'none'],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
});

test('tiles group by team, state or time in state', () => {
  const a = (agent, team, state, since, planned = false) => ({ agent, team, state, since, planned });
  const agents = [a('A3', 'T2', 'aux', 50), a('A1', 'T1', 'talking', 10), a('A2', 'T1', 'offline', 5),
    a('A4', 'T2', 'aux', 20, true), a('A5', 'T1', 'idle', 40)];
  const ids = (g) => g.map((x) => [x.key, x.agents.map((y) => y.agent).join()]);
  assert.deepEqual(ids(groupAgents(agents, 'team')), [['T1', 'A1,A5,A2'], ['T2', 'A3,A4']]);
  assert.deepEqual(ids(groupAgents(agents, 'state')),
    [['aux_unplanned', 'A3'], ['aux_planned', 'A4'], ['talking', 'A1'], ['idle', 'A5'], ['offline', 'A2']]);
  assert.deepEqual(ids(groupAgents(agents, 'time')), [['all', 'A1,A4,A5,A3,A2']]);
});

test('tiles get the largest size that fits, and never less than the minimum', () => {
  const few = fitTiles([10, 10], 1000, 800, { labelW: 80, gap: 4, groupGap: 8 });
  assert.ok(few.fits && few.w >= 150, JSON.stringify(few));
  const many = fitTiles(Array(40).fill(50), 1000, 600, { labelW: 80, gap: 4, groupGap: 8 });
  assert.equal(many.fits, false);
  assert.ok(many.w >= MIN_W);
  // Whatever it picks fits when it says so.
  for (const n of [1, 7, 40, 300]) {
    const counts = Array(Math.ceil(n / 25)).fill(Math.min(25, n));
    const f = fitTiles(counts, 1100, 700, { labelW: 70, gap: 4, groupGap: 8 });
    const h = counts.reduce((s, c) => s + Math.ceil(c / f.cols) * (f.h + 4) - 4 + 8, 0);
    if (f.fits) assert.ok(h <= 700 && f.cols * (f.w + 4) - 4 <= 1100 - 70 - 4, `${n}: ${JSON.stringify(f)}`);
  }
});

// A 20-agent team on a 4K screen (the team board's tile panel, about 2,650 x 1,570 px, the
// page's type twice 1080p's): tiles capped at 300 px filled 60% of the panel; scaled with
// the type they fill it as at 1080p (the panel at half the size, in the same shape).
test('the largest tile grows with the page type on a 4K screen, and not below 1080p', () => {
  const opts = { labelW: 130, gap: 8, groupGap: 14, aspect: 0.5 };
  const hd = fitTiles([20], 1325, 785, { ...opts, labelW: 65, gap: 4, groupGap: 7 });
  const capped = fitTiles([20], 2650, 1570, opts);
  const k4 = fitTiles([20], 2650, 1570, { ...opts, scale: 2 });
  assert.ok(hd.fits && capped.fits && k4.fits);
  // Without the scale the 4K tiles are hardly larger than 1080p's in pixels.
  assert.ok(capped.cols > hd.cols, `capped ${JSON.stringify(capped)} vs 1080p ${JSON.stringify(hd)}`);
  // With it, the same columns (within one) at twice the pixels.
  assert.ok(Math.abs(k4.cols - hd.cols) <= 1 && k4.w >= 1.8 * hd.w, `4K ${JSON.stringify(k4)} vs 1080p ${JSON.stringify(hd)}`);
  // A scale under 1 (a small screen) never shrinks the cap.
  assert.deepEqual(fitTiles([20], 1325, 785, { ...opts, scale: 0.6 }), fitTiles([20], 1325, 785, opts));
});

// Dense tiles in two rows are shorter than their group's label (a team's name over its
// count): the fit counts the label's height, and does not say a floor fits that does not.
test('a group is as tall as its label when its rows are shorter', () => {
  const counts = Array(11).fill(20);
  const opts = { labelW: 208, gap: 9, groupGap: 16, aspect: 0.5, scale: 2 };
  const blind = fitTiles(counts, 1856, 1083, opts);
  const withLabel = fitTiles(counts, 1856, 1083, { ...opts, labelH: 99 });
  const rows = (f) => counts.reduce((s, n) => s + Math.max(99, Math.ceil(n / f.cols) * (f.h + 9) - 9) + 16, 0);
  // Blind to the label, the fit says yes to tiles whose groups, label and all, are taller than the panel.
  assert.ok(blind.fits && rows(blind) > 1083, JSON.stringify(blind));
  assert.ok(!withLabel.fits || rows(withLabel) <= 1083, JSON.stringify(withLabel));
  // One height per group (a team name wrapped to three lines is taller than the others').
  const perGroup = fitTiles(counts, 1856, 1083, { ...opts, labelH: counts.map((_, i) => (i === 0 ? 160 : 99)) });
  const rowsPer = (f) => counts.reduce((s, n, i) => s + Math.max(i === 0 ? 160 : 99, Math.ceil(n / f.cols) * (f.h + 9) - 9) + 16, 0);
  assert.ok(!perGroup.fits || rowsPer(perGroup) <= 1083, JSON.stringify(perGroup));
  assert.ok(perGroup.w <= withLabel.w, 'a taller label never gives larger tiles');
  // Labels shorter than the rows change nothing.
  assert.deepEqual(fitTiles([20, 20], 1325, 785, { ...opts, scale: 1, labelH: 20 }), fitTiles([20, 20], 1325, 785, { ...opts, scale: 1 }));
});

test('back-off runs 1 s, 2 s, 4 s … to 30 s with jitter inside ±20%', () => {
  const lo = Array.from({ length: 8 }, (_, i) => backoffMs(i, () => 0));
  const hi = Array.from({ length: 8 }, (_, i) => backoffMs(i, () => 1 - 1e-12));
  assert.deepEqual(lo, [800, 1600, 3200, 6400, 12800, 24000, 24000, 24000]);
  assert.deepEqual(hi, [1200, 2400, 4800, 9600, 19200, 30000, 30000, 30000]);
  assert.equal(backoffMs(1000, () => 0.5), 30000);
});

/** A WebSocket stand-in the tests drive by hand. */
class FakeWS {
  static all = [];
  constructor(url) { this.url = url; FakeWS.all.push(this); this.closed = false; }
  close() { if (!this.closed) { this.closed = true; queueMicrotask(() => this.onclose?.()); } }
  open() { this.onopen?.(); }
  send(m) { this.onmessage?.({ data: JSON.stringify(m) }); }
  drop() { this.closed = true; this.onclose?.(); }
}

test('connection: lost with back-off, fresh full on reconnect, quiet refresh after silence', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const saved = globalThis.WebSocket;
  globalThis.WebSocket = FakeWS;
  FakeWS.all = [];
  const states = [];
  const frames = [];
  try {
    const c = connect('ws://x/ws', { frame: (m) => frames.push(m.type), state: (s) => states.push(s) }, { silenceMs: 90_000 });
    const ws0 = FakeWS.all[0];
    ws0.open();
    ws0.send({ type: 'delta' }); // before any full: ignored
    ws0.send({ type: 'full' });
    ws0.send({ type: 'delta' });
    assert.deepEqual(frames, ['full', 'delta']);
    assert.deepEqual(states, ['connecting', 'open']);

    ws0.drop(); // the server goes away
    assert.equal(states.at(-1), 'lost');
    mock.timers.tick(1300);
    assert.equal(FakeWS.all.length, 2, 'retried within 1.2 s');
    FakeWS.all[1].drop();
    mock.timers.tick(1500);
    assert.equal(FakeWS.all.length, 2, 'second retry waits longer');
    mock.timers.tick(1000);
    assert.equal(FakeWS.all.length, 3);
    const ws2 = FakeWS.all[2];
    ws2.open();
    ws2.send({ type: 'delta' });
    assert.equal(states.at(-1), 'lost', 'still lost until a full frame');
    ws2.send({ type: 'full' });
    assert.equal(states.at(-1), 'open');

    // Ninety silent seconds: reconnect at once without showing "lost".
    const before = states.length;
    mock.timers.tick(90_000);
    await Promise.resolve();
    mock.timers.tick(0);
    assert.equal(FakeWS.all.length, 4, 'reconnected after silence');
    assert.equal(states.length, before, 'no state change shown');
    FakeWS.all[3].send({ type: 'full' });
    assert.equal(states.at(-1), 'open');
    c.close();
  } finally {
    globalThis.WebSocket = saved;
    mock.timers.reset();
  }
});

test('translations: same keys in both languages, no English left in Chinese', () => {
  assert.deepEqual(Object.keys(TABLES.zh).sort(), Object.keys(TABLES.en).sort());
  for (const [k, v] of Object.entries(TABLES.zh)) {
    // The language switch speaks the other language on purpose.
    if (k === 'btn.lang' || k === 'btn.lang_title') continue;
    const rest = v.replace(/\{\w+\}/g, '').replace(/floorwatch|EN/g, '');
    assert.doesNotMatch(rest, /[A-Za-z]{2,}/, `${k}: ${v}`);
    const ph = (s) => (s.match(/\{\w+\}/g) ?? []).sort().join();
    assert.equal(ph(v), ph(TABLES.en[k]), `${k}: same placeholders`);
  }
  assert.equal(pickLang(null, ['zh-CN', 'en']), 'zh');
  assert.equal(pickLang(null, ['de-DE', 'en-GB']), 'en');
  assert.equal(pickLang('en', ['zh-CN']), 'en');
  assert.equal(pickLang(null, ['fr']), 'en');
  setLang('zh');
  assert.equal(t('scope.team', { team: 'T07' }), '班组 T07');
  setLang('en');
});

test('windows: the strip, table and CV windows come from floor.windows', () => {
  assert.deepEqual(F.pickWindows(['15m', '60m', 'today', 'peak_today']), { short: '15m', long: '60m', team: '60m', cv: 'peak_today' });
  // A floor configured with 30m only: every slot names a window the board sends (no dashes).
  assert.deepEqual(F.pickWindows(['30m', 'today']), { short: '30m', long: '30m', team: '30m', cv: 'today' });
  assert.deepEqual(F.pickWindows(['2h', '90s', '30m']), { short: '90s', long: '30m', team: '30m', cv: '2h' });
  setLang('en');
  assert.equal(winLabel('30m'), '30 min');
  assert.equal(winLabel('2h'), '2 h');
  assert.equal(winLabel('peak_today'), 'peak today');
  setLang('zh');
  assert.equal(winLabel('30m'), '30分钟');
  assert.equal(winLabel('today'), '今日');
  setLang('en');
});

test('feed: live, stale after the threshold, none before the first event; ages read as a person says them', () => {
  assert.equal(F.feedState(null, 1e6), 'none');
  assert.equal(F.feedState(1e6 - 59_999, 1e6), 'live');
  assert.equal(F.feedState(1e6 - 60_000, 1e6), 'stale');
  assert.equal(F.feedState(1e6 - 5000, 1e6, 4000), 'stale');
  const cases = [[45_000, '45 s'], [3 * 60_000 + 5000, '3 min'], [3 * 3600_000 + 300_000, '3 h 5 min'], [2 * 3600_000, '2 h'], [72 * 3600_000, '3 d']];
  for (const [ms, want] of cases) assert.equal(F.age(ms), want);
  setLang('zh');
  assert.equal(ageLabel('3 h 5 min'), '3小时5分钟');
  assert.equal(t('feed.stale', { age: ageLabel('3 min') }), '已 3分钟 无事件');
  setLang('en');
});

test('alert list: only whole entries, room kept for "+N more"', () => {
  // All fit.
  assert.equal(F.fitCount([30, 30, 30], 94, 2, 20), 3);
  // Three of four would fit, but then "+1 more" has no room: two and "+2 more".
  assert.equal(F.fitCount([30, 30, 30, 30], 94, 2, 20), 2);
  // The list measured with the "+N more" line already shown (moreH 0).
  assert.equal(F.fitCount([30, 30, 30, 30], 94, 2, 0), 3);
  assert.equal(F.fitCount([100], 50, 2, 10), 0);
  assert.equal(F.fitCount([], 50, 2, 10), 0);
});

test('large floors become colour-only team blocks that fit the panel', () => {
  const opts = { labelW: 74, gap: 4, groupGap: 8 };
  // 40 agents in 4 teams on a 1080p panel: tiles with text.
  assert.equal(chooseMode([10, 10, 10, 10], 880, 650, opts), 'tiles');
  // 2,000 agents in 100 teams: dots, every block on screen, squares of at least 5 px.
  const counts = Array(100).fill(20);
  assert.equal(chooseMode(counts, 880, 650, opts), 'dots');
  const d = fitDots(counts, 880, 650);
  assert.ok(d.fits, 'all 100 teams fit');
  assert.ok(d.s >= 5, `square ${d.s}px`);
  // Bigger squares would not have fitted (it is the largest).
  const bigger = fitDots(counts, 880, 650);
  assert.equal(bigger.s, d.s);
  // 200 agents in 10 teams: squares big enough to carry the time (>= 34 px).
  assert.ok(fitDots(Array(10).fill(20), 880, 650).s >= 34);
});

test('Chinese: reason before the duration, one name for aux dispersion, AHT in full', () => {
  setLang('zh');
  assert.equal(t('alert.long_aux', { who: '李娜 A1', team: 'T07', reason: reasonWord('break'), dur: '12:22', limit: '10:00' }),
    '长时示忙：李娜 A1（T07）已休息 12:22，上限 10:00');
  assert.equal(reasonWord('unspecified'), '示忙');
  assert.equal(reasonWord('personal'), '处理私事', '已处理私事, not 已私事');
  assert.equal(t('col.aux_cv'), '示忙离散度');
  assert.match(t('alert.aux_dispersion', { team: 'T07', value: '2.38', now: '0.73', threshold: '0.16' }), /^T07 示忙离散度：触发时 2\.38 · 现在 0\.73/);
  assert.equal(t('col.aht'), '平均处理时长');
  for (const v of Object.values(TABLES.zh)) assert.ok(!v.includes('变异系数'), `one name for aux dispersion: ${v}`);
  setLang('en');
});

test('a retracted alert leaves the board; the corrected one takes its place', async () => {
  // store.js reads the page's query string when loaded.
  globalThis.location ??= { search: '' };
  const { store, onFrame } = await import('../../web/store.js');
  const fired = { id: 'long_aux:T1:A1:1000', kind: 'long_aux', team: 'T1', state: 'firing' };
  onFrame({ type: 'alert', alert: fired });
  assert.ok(store.alerts.some((a) => a.id === fired.id));
  onFrame({ type: 'alert', alert: { ...fired, retracted: true } });
  assert.ok(!store.alerts.some((a) => a.id === fired.id), 'retracted alert still shown');
  const corrected = { ...fired, id: 'aux_cluster:T1:2000', kind: 'aux_cluster' };
  onFrame({ type: 'alert', alert: corrected });
  assert.deepEqual(store.alerts.filter((a) => a.team === 'T1').map((a) => a.id), [corrected.id]);
  // Its figures corrected (the same fire, told again, not retracted): one entry, as it now
  // reads (docs/ws-protocol.md).
  onFrame({ type: 'alert', alert: { ...corrected, value: 0.42, agents: ['A1', 'A3'] } });
  const t1 = store.alerts.filter((a) => a.team === 'T1');
  assert.deepEqual(t1.map((a) => [a.id, a.value]), [[corrected.id, 0.42]]);
});

test('the alert list makes entries for the first 40 alerts and each kind\'s first firing one, not thousands', async () => {
  globalThis.location ??= { search: '' };
  const { entriesFor, MAX_ENTRIES } = await import('../../web/panels/alerts.js');
  const ooa = Array.from({ length: 3000 }, (_, i) => ({ id: `o${i}`, kind: 'out_of_adherence', state: 'firing' }));
  const sl = { id: 's1', kind: 'service_level_low', state: 'firing' };
  const old = { id: 'r1', kind: 'long_wait', state: 'resolved' };
  const got = entriesFor([...ooa, old, sl]);
  assert.equal(got.length, MAX_ENTRIES + 1);
  assert.deepEqual(got.slice(-1).map((a) => a.id), ['s1'], 'the other kind keeps an entry');
  assert.ok(!got.includes(old));
  const few = ooa.slice(0, 5);
  assert.equal(entriesFor(few), few);
});

test('a delta\'s queues_changed replaces those queues, keeping the order and the others', async () => {
  globalThis.location ??= { search: '' };
  const { store, onFrame } = await import('../../web/store.js');
  const q = (queue, waiting) => ({ queue, current: { waiting } });
  onFrame({ type: 'delta', queues: [q('billing', 1), q('sales', 0), q('support', 2)] });
  onFrame({ type: 'delta', queues_changed: [q('sales', 4)] });
  assert.deepEqual(store.queues.map((x) => [x.queue, x.current.waiting]), [['billing', 1], ['sales', 4], ['support', 2]]);
  onFrame({ type: 'delta' });
  assert.equal(store.queues.length, 3);
});

test('a delta changes the alert list by alerts_changed and alerts_removed, keeping the rest', async () => {
  globalThis.location ??= { search: '' };
  const { store, onFrame } = await import('../../web/store.js');
  const a = (id, state = 'firing') => ({ id, kind: 'out_of_adherence', team: 'T9', state });
  onFrame({ type: 'delta', alerts: [a('x1'), a('x2'), a('x3')] });
  assert.deepEqual(store.alerts.map((x) => x.id), ['x1', 'x2', 'x3']);
  onFrame({ type: 'delta', alerts_changed: [a('x2', 'resolved'), a('x4')], alerts_removed: ['x1'] });
  assert.deepEqual(store.alerts.map((x) => [x.id, x.state]), [['x2', 'resolved'], ['x3', 'firing'], ['x4', 'firing']]);
  // A delta without either keeps the list.
  onFrame({ type: 'delta' });
  assert.deepEqual(store.alerts.map((x) => x.id), ['x2', 'x3', 'x4']);
});

// The 15-minute chart of a night shift (or yesterday's points before today's first
// closed) spans two days: its axis said "22:00 … 06:00" with nothing to tell the days.
test('AHT chart axis: the times carry their dates when the first and last point are on different days', async () => {
  const { axisLabels } = await import('../../web/chart.js');
  const clock = (ms, tz) => F.clock(ms, tz, false, false);
  const at = (iso) => ({ start: Date.parse(iso) });
  const tz = 'Asia/Shanghai';
  // 22:00 and 06:00 Shanghai time, the night of 5 to 6 December.
  assert.deepEqual(axisLabels('15m', [at('2026-12-05T14:00:00Z'), at('2026-12-05T22:00:00Z')], tz, clock), ['12-05 22:00', '12-06 06:00']);
  // The same instants in UTC are one day: times only.
  assert.deepEqual(axisLabels('15m', [at('2026-12-05T14:00:00Z'), at('2026-12-05T22:00:00Z')], 'UTC', clock), ['14:00', '22:00']);
  // One point: one label. The days' chart: dates.
  assert.deepEqual(axisLabels('15m', [at('2026-12-05T14:00:00Z')], tz, clock), ['22:00', null]);
  assert.deepEqual(axisLabels('day', [at('2026-12-04T16:00:00Z'), at('2026-12-05T16:00:00Z')], tz, clock), ['12-05', '12-06']);
});

test('AHT control chart: steps per point, violating points marked, limits only where a point has them', async () => {
  const { chartModel, stepPath, niceStep, PAD } = await import('../../web/chart.js');
  // SPEC §10's example: three points without limits, a fourth beyond 3σ, a fifth in control.
  const pts = [
    { start: 0, n: 2, mean_s: 110, cl_s: null, ucl_s: null, lcl_s: null, rules: [] },
    { start: 1, n: 2, mean_s: 100, cl_s: null, ucl_s: null, lcl_s: null, rules: [] },
    { start: 2, n: 2, mean_s: 100, cl_s: null, ucl_s: null, lcl_s: null, rules: [] },
    { start: 3, n: 2, mean_s: 210, cl_s: 103.333, ucl_s: 123.333, lcl_s: 83.333, rules: ['beyond_3_sigma'] },
    { start: 4, n: 2, mean_s: 105, cl_s: 136.667, ucl_s: 241.667, lcl_s: 31.667, rules: [] },
  ];
  const m = chartModel(pts, 600, 240);
  assert.equal(m.dots.length, 5);
  assert.deepEqual(m.dots.map((d) => d.broke), [false, false, false, true, false]);
  assert.equal(m.cl.length, 2, 'only points with a baseline have a centre line');
  assert.equal(m.ucl.length, 2);
  // Evenly spaced, inside the margins, higher AHT drawn higher.
  const xs = m.dots.map((d) => d.x);
  assert.ok(xs[0] > PAD.left && xs[4] < 600 - PAD.right);
  assert.ok(Math.abs((xs[1] - xs[0]) - (xs[4] - xs[3])) < 1e-9);
  assert.ok(m.dots[3].y < m.dots[0].y && m.dots[0].y < m.dots[1].y);
  // Every value drawn is inside the plot.
  for (const v of [31.667, 241.667, 210, 100]) assert.ok(m.y(v) >= m.top - 1e-9 && m.y(v) <= m.bottom + 1e-9, `${v}`);
  assert.ok(m.lo >= 0, 'the axis never goes below 0 s');
  // Adjacent steps join with a vertical.
  assert.equal(stepPath([{ x1: 0, x2: 10, y: 5 }, { x1: 10, x2: 20, y: 7 }, { x1: 30, x2: 40, y: 1 }]), 'M0.0 5.0 H10.0 V7.0 H20.0 M30.0 1.0 H40.0');
  assert.equal(chartModel([], 600, 240), null);
  assert.deepEqual([niceStep(100), niceStep(7), niceStep(0), niceStep(1000), niceStep(40000)], [30, 2, 1, 300, 10800]);
  // One flat point still has a vertical range.
  const flat = chartModel([{ start: 0, n: 5, mean_s: 90, cl_s: null, ucl_s: null, lcl_s: null, rules: [] }], 300, 200);
  assert.ok(flat.hi > flat.lo);
  // Margins scale with the labels on a larger screen (k = 2 at 4K): the plot starts further in.
  const big = chartModel(pts, 1200, 480, 2);
  assert.equal(big.left, PAD.left * 2);
  assert.equal(big.right, 1200 - PAD.right * 2);
  assert.equal(big.bottom, 480 - PAD.bottom * 2);
  // A short box has fewer ticks, never closer than a label's height.
  for (const h of [240, 120, 100]) {
    const t = chartModel(pts, 600, h).ticks;
    assert.ok(t.length >= 1, `${h}px: a tick`);
    for (let i = 1; i < t.length; i++) assert.ok(Math.abs(t[i].y - t[i - 1].y) >= 20, `${h}px: ticks ${JSON.stringify(t)}`);
  }
});

test('AHT alert and rules in both languages', async () => {
  const { rulesLabel, chartKindLabel } = await import('../../web/i18n.js');
  globalThis.location ??= { search: '' };
  const { alertText } = await import('../../web/panels/alerts.js');
  setLang('en');
  assert.equal(rulesLabel(['beyond_3_sigma', '6_trending']), 'beyond 3σ, 6 trending');
  assert.equal(chartKindLabel('15m'), '15 min');
  assert.equal(chartKindLabel('day'), 'days');
  setLang('zh');
  assert.equal(rulesLabel(['9_on_one_side']), '连续 9 点在中心线同侧');
  assert.equal(chartKindLabel('day'), '按日');
  setLang('en');
  const al = { kind: 'aht_out_of_control', team: 'T1', interval: '15m', value: 210, threshold: 123.333, message: 'T1 AHT out of control (...); beyond_3_sigma, 6_trending' };
  assert.equal(alertText(al, 0), 'T1: AHT out of control (15 min) — 3:30 against limit 2:03: beyond 3σ, 6 trending');
});

test('alert list overflow: the firing entries hidden as "+N more", the resolved ones named apart, both languages', async () => {
  globalThis.location ??= { search: '' };
  const { moreLabel } = await import('../../web/panels/alerts.js');
  setLang('en');
  assert.equal(moreLabel(12, 0), '+12 more');
  assert.equal(moreLabel(0, 7), '+7 resolved');
  assert.equal(moreLabel(12, 7), '+12 more · 7 resolved');
  setLang('zh');
  assert.equal(moreLabel(12, 0), '另有 12 条');
  assert.equal(moreLabel(0, 7), '另有 7 条已恢复');
  assert.equal(moreLabel(12, 7), '另有 12 条 · 7 条已恢复');
  setLang('en');
});

test('an out-of-adherence alert names the agent and how long, in both languages (not "Alert in T1")', async () => {
  globalThis.location ??= { search: '' };
  const { alertText } = await import('../../web/panels/alerts.js');
  const { store } = await import('../../web/store.js');
  // The alert's value is the 5-minute limit it passed; the time out is the agent's out_since.
  const al = { kind: 'out_of_adherence', team: 'T1', agent: 'A7', state: 'firing', value: 300, threshold: 300 };
  setLang('en');
  assert.equal(alertText(al, 0), 'Out of adherence: A7, T1 — over 5:00');
  store.agents.set('A7', { agent: 'A7', name: 'Li Na', team: 'T1', state: 'idle', since: 0, out_since: 1_000_000 });
  store.now = null;
  const at = 1_000_000 + 330_000 - store.offset;
  assert.equal(alertText(al, at), 'Out of adherence: Li Na A7, T1 — for 5:30 (limit 5:00)');
  assert.equal(alertText({ ...al, state: 'resolved' }, at), 'Out of adherence: Li Na A7, T1 — back on schedule');
  setLang('zh');
  assert.equal(alertText(al, at), '未按排班执行：Li Na A7（T1）已 5:30，上限 5:00');
  setLang('en');
  store.agents.delete('A7');
});

test('a no-show alert says "not logged in" until the agent logs in, then reads as out of adherence (it stays in Unassigned)', async () => {
  globalThis.location ??= { search: '' };
  const { alertText } = await import('../../web/panels/alerts.js');
  const { store } = await import('../../web/store.js');
  const al = { kind: 'out_of_adherence', team: 'unassigned', agent: 'N7', state: 'firing', value: 300, threshold: 300 };
  setLang('en');
  store.agents.set('N7', { agent: 'N7', name: null, team: 'unassigned', state: 'offline', since: null, out_since: 1_000_000 });
  store.now = null;
  const at = 1_000_000 + 420_000 - store.offset;
  assert.equal(alertText(al, at), 'No-show: N7 (Unassigned) — not logged in for 7:00');
  // Logged in at +7 min on a break nobody scheduled: still out, from the same instant.
  store.agents.set('N7', { agent: 'N7', name: 'Li Na', team: 'T1', state: 'aux', since: 1_420_000, out_since: 1_000_000 });
  assert.equal(alertText(al, at + 60_000), 'Out of adherence: Li Na N7, Unassigned — for 8:00 (limit 5:00)');
  const done = { ...al, state: 'resolved', started_at: 1_000_000, resolved_at: 1_000_000 + 1_200_000 };
  assert.equal(alertText(done, at), 'No-show: Li Na N7 (Unassigned) — missed 20 min of scheduled work');
  setLang('zh');
  assert.equal(alertText(done, at), '未按排班执行：未分组坐席 Li Na N7 偏离排班 20 分钟（告警时未登录）');
  setLang('en');
  store.agents.delete('N7');
});

test('merge: a delta\'s teams_changed entry rebuilds the team exactly (objects by key, null a value, arrays whole)', () => {
  const team = {
    team: 'T01', peak: true, current: { idle: 3, talking: 2 },
    windows: { '15m': { talk_utilization: 0.25, aux_ratio: 0.08, aux_drivers: [{ agent: 'A1', aux_ratio: 0.3 }, { agent: 'A2', aux_ratio: 0.2 }] },
      today: { talk_utilization: 0.5 } },
  };
  const patch = { team: 'T01', current: { idle: 4 }, windows: { '15m': { talk_utilization: null, aux_drivers: [{ agent: 'A2', aux_ratio: 0.21 }] } } };
  const got = merge(team, patch);
  assert.deepEqual(got, {
    team: 'T01', peak: true, current: { idle: 4, talking: 2 },
    windows: { '15m': { talk_utilization: null, aux_ratio: 0.08, aux_drivers: [{ agent: 'A2', aux_ratio: 0.21 }] },
      today: { talk_utilization: 0.5 } },
  });
  assert.equal(team.current.idle, 3, 'the old block is not changed in place');
  assert.equal(got.windows.today, team.windows.today, 'untouched branches are shared');
});

test('index.html preloads every module of the page, and nothing else (issue 20: no import waterfall)', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const web = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../web');
  const html = fs.readFileSync(path.join(web, 'index.html'), 'utf8');
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]).sort();
  const modules = [
    ...fs.readdirSync(web).filter((f) => f.endsWith('.js')),
    ...fs.readdirSync(path.join(web, 'panels')).filter((f) => f.endsWith('.js')).map((f) => `panels/${f}`),
  ].filter((f) => f !== 'app.js').sort();
  assert.deepEqual(preloaded, modules);
});

test('team table windowing: the rows near the view, margins clamped to the table', () => {
  // 400 rows of 30 px starting 50 px down the panel's content, a 600 px view, 5 rows' margin.
  const at = (scrollTop, n = 400) => rowWindow(n, { top0: 50, pitch: 30, scrollTop, viewH: 600 }, 5);
  const cases = [
    [at(0), [0, 24]], // rows 0..19 on screen (550 px of rows), 5 more below
    [at(3000), [93, 124]], // rows 98..118 on screen, 5 more each side
    [at(12000), [393, 399]], // at the bottom: never past the last row
    [at(99999), [399, 399]], // scrolled past the end (the table just shrank): the last row
    [at(0, 10), [0, 9]], // a table shorter than the view: every row
    [at(0, 0), [0, -1]],
    // Not measured yet (pitch 0, no view): a few rows, never none.
    [rowWindow(400, { top0: 0, pitch: 0, scrollTop: 0, viewH: 0 }, 5), [0, 5]],
  ];
  for (const [got, want] of cases) assert.deepEqual(got, want);
});

test('team table sizer: one copy per distinct cell width, made and dropped as rows change', () => {
  assert.equal(widthShape('98.7%'), '00.0%');
  assert.equal(widthShape('T123 高峰'), 'T000 高峰');
  assert.equal(widthShape(null), '');
  const log = [];
  const w = new WidthKeys((col, key, copy) => log.push(['add', col, key, copy]), (col, key, copy) => log.push(['drop', col, key, copy]));
  let made = 0;
  const make = () => ++made;
  w.set('T1', 1, '00.0%', make);
  w.set('T2', 1, '00.0%', make); // the same width: no second copy
  w.set('T3', 1, '0.0%', make);
  assert.deepEqual(w.keys(1), ['00.0%', '0.0%']);
  assert.equal(made, 2);
  w.set('T1', 1, '00.0%', make); // unchanged: nothing happens
  w.set('T1', 1, '0.0%', make); // T2 still has the wide one
  assert.deepEqual(w.keys(1), ['00.0%', '0.0%']);
  w.set('T2', 1, '0.0%', make); // the last wide one narrows: its copy goes
  assert.deepEqual(w.keys(1), ['0.0%']);
  w.set('T3', 2, 'x', make);
  w.forget('T3'); // a team gone: its keys released in every column
  assert.deepEqual(w.keys(2), []);
  assert.deepEqual(w.keys(1), ['0.0%']);
  w.forget('T1');
  w.forget('T2');
  assert.deepEqual(w.keys(1), []);
  assert.deepEqual(log, [
    ['add', 1, '00.0%', 1], ['add', 1, '0.0%', 2], ['drop', 1, '00.0%', 1], ['add', 2, 'x', 3], ['drop', 2, 'x', 3], ['drop', 1, '0.0%', 2],
  ]);
});

test('alert list overflow: the first firing entry of each kind stays on screen, then list order', async () => {
  const { pickShown } = await import('../../web/format.js');
  // Twelve service-level alerts fired after the one out_of_adherence alert: room for four.
  const kinds = [...Array(12).fill('service_level_low'), 'out_of_adherence', 'aux_dispersion'];
  const h = Array(kinds.length).fill(30);
  assert.deepEqual(pickShown(kinds, h, 4 * 30 + 3 * 5, 5).shown, [0, 1, 12, 13]);
  // Room for two: the first of the first two kinds, in list order.
  assert.deepEqual(pickShown(kinds, h, 2 * 30 + 5, 5).shown, [0, 12]);
  // Resolved entries (null) reserve nothing; all that fits is shown in order.
  assert.deepEqual(pickShown(['a', 'a', null, 'b'], [30, 30, 30, 30], 100, 5).shown, [0, 1, 3]);
  assert.deepEqual(pickShown(['a', 'a', 'a'], [30, 30, 30], 1000, 5).shown, [0, 1, 2]);
  // An entry too tall to fit is skipped as a kind's first, and stops the list order after.
  assert.deepEqual(pickShown(['a', 'b', 'a'], [30, 200, 30], 100, 5).shown, [0]);
  // Without one-line heights nothing is cut.
  assert.deepEqual(pickShown(['a', 'b'], [30, 55], 80, 5).clamped, []);
});

test('alert list overflow: an entry that wraps shows cut to one line where only that fits', async () => {
  const { pickShown } = await import('../../web/format.js');
  // Room for one and a half two-line entries (the 1080p demo: a gap under the first).
  const h = [55, 55, 30], short = [30, 30, 30];
  assert.deepEqual(pickShown(['a', 'b', 'c'], h, 90, 5, short), { shown: [0, 1], clamped: [1] });
  // Whole where whole fits: nothing cut.
  assert.deepEqual(pickShown(['a', 'b'], h.slice(0, 2), 115, 5, short.slice(0, 2)), { shown: [0, 1], clamped: [] });
  // A kind's first entry may be the cut one, and list order still stops at the first that
  // fits neither way.
  assert.deepEqual(pickShown(['a', 'a', 'b'], [30, 30, 55], 70, 5, [30, 30, 30]), { shown: [0, 2], clamped: [2] });
  assert.deepEqual(pickShown([null, null, null], [55, 55, 55], 60, 5, [30, 30, 30]), { shown: [0], clamped: [] });
  assert.deepEqual(pickShown([null, null], [55, 55], 40, 5, [30, 30]), { shown: [0], clamped: [0] });
  // The entry cut may stand before a kind's first entry shown whole after it (rather
  // than a line's gap at the end: CI, 1366x800)...
  assert.deepEqual(
    pickShown(['a', 'a', 'b', null], [55, 55, 55, 20], 150, 5, [30, 30, 30, 20]),
    { shown: [0, 1, 2], clamped: [1] },
  );
  // ... or be a kind's first entry, the list order filling in before it.
  assert.deepEqual(
    pickShown(['a', null, 'b', null], [30, 20, 80, 20], 100, 5, [30, 20, 30, 20]),
    { shown: [0, 1, 2], clamped: [2] },
  );
  assert.deepEqual(
    pickShown(['a', 'b', null], [30, 55, 20], 70, 5, [30, 30, 20]),
    { shown: [0, 1], clamped: [1] },
  );
});

test('the roster\'s activity on a tile is always labelled, in both languages', async () => {
  const { activityLabel } = await import('../../web/i18n.js');
  setLang('en');
  assert.equal(t('sched.label', { activity: activityLabel('work') }), 'Sched: work');
  assert.equal(t('sched.label', { activity: activityLabel('lunch') }), 'Sched: lunch');
  assert.equal(t('sched.label', { activity: activityLabel('huddle_A') }), 'Sched: huddle A');
  setLang('zh');
  assert.equal(t('sched.label', { activity: activityLabel('lunch') }), '排班：用餐');
  assert.equal(t('sched.label', { activity: activityLabel('off') }), '排班：下班');
  setLang('en');
});

test('tile type unit: with the schedule line the tile holds 5.8 lines of it, and 13.5 across', async () => {
  const { tileUnit, fitTiles, SCHED_ASPECT } = await import('../../web/tiles.js');
  const fit = fitTiles([5, 5, 4, 1], 900, 560, { labelW: 90, gap: 4, groupGap: 8, aspect: SCHED_ASPECT });
  assert.ok(fit.h > fit.w * 0.42, 'taller than tiles without the line');
  const u = tileUnit(fit.w, fit.h, true);
  assert.ok(u * 5.8 <= fit.h + 1e-9 && u * 13.5 <= fit.w + 1e-9);
  assert.ok(tileUnit(fit.w, fit.h, false) > u, 'tiles without the line keep larger type');
});

test('tile names: short, but never two alike; names ending in a number stay whole', async () => {
  const { tileNames } = await import('../../web/tiles.js');
  const { shortName } = await import('../../web/panels/teams.js');
  assert.equal(shortName('Agent 12'), 'Agent 12');
  assert.equal(shortName('Sophie Khan'), 'Sophie K.');
  const names = (list) => [...tileNames(list.map(([agent, name]) => ({ agent, name })), shortName).values()];
  // Five "Agent 1." before: distinct now.
  assert.deepEqual(names([['L10', 'Agent 10'], ['L11', 'Agent 11'], ['L1', 'Agent 1']]), ['Agent 10', 'Agent 11', 'Agent 1']);
  // Alike when short: the whole names; alike whole too: the name and the id.
  assert.deepEqual(names([['A1', 'Alexander Smith'], ['A2', 'Alexander Smyth'], ['A3', 'Li Wei']]), ['Alexander Smith', 'Alexander Smyth', 'Li W.']);
  assert.deepEqual(names([['A1', 'Li Wei'], ['A2', 'Li Wei'], ['A3', null]]), ['Li Wei · A1', 'Li Wei · A2', 'A3']);
});

test('dot fit: the heading gap to its squares is counted (the last block once spilled out of the panel)', () => {
  const counts = Array(11).fill(20);
  const without = fitDots(counts, 830, 600, { headH: 23, headW: 62, blockGap: 12 });
  const withGap = fitDots(counts, 830, 600, { headH: 23, headW: 62, blockGap: 12, headGap: 3 });
  assert.ok(withGap.s <= without.s);
  // The blocks as laid out (shelf packing) fit in height with the gap.
  const { s, gap, cols } = withGap;
  let x = 0; let shelf = 0; let height = 0;
  counts.forEach((n, i) => {
    const bw = Math.max(62, cols[i] * (s + gap) - gap);
    const bh = 23 + 3 + Math.ceil(n / cols[i]) * (s + gap) - gap;
    if (x > 0 && x + bw > 830) { height += shelf + 12; x = 0; shelf = 0; }
    x += bw + 12; shelf = Math.max(shelf, bh);
  });
  assert.ok(height + shelf <= 600, `blocks ${height + shelf} px in 600`);
});

test('dot fit: the English demo floor at 1080p gets squares with the time in state (32 px)', () => {
  // Ten teams of 20 and the no-show's "Unassigned 0" block, in the panel the English board
  // leaves the tiles at 1920x1080 (its team table is wider than the Chinese one's), at a
  // 16 px rem (panels/tiles.js: heading 22 px, 2 px under it, 11 px between blocks). Blocks
  // of 7, 8, 6 or 10 columns gave 30-31 px squares, colour only; 5 x 4 fits 32.
  const counts = [...Array(10).fill(20), 1];
  const headW = [...Array(10).fill(58), 130];
  for (const [W, H] of [[874, 540], [889, 540], [856, 540]]) {
    const d = fitDots(counts, W, H, { headH: 22, headGap: 2, blockGap: 11, headW });
    assert.ok(d.fits && d.s >= 32, `${W}x${H}: ${d.s} px squares (${JSON.stringify(d.cols)})`);
  }
});

test('dot fit: a block is as wide as its heading ("Unassigned 0" over one no-show wrapped under the panel)', () => {
  const counts = [20, 20, 1];
  const heads = [60, 60, 180];
  const W = 800;
  const H = 200;
  const one = fitDots(counts, W, H, { headH: 20, headW: 60, blockGap: 10 });
  const each = fitDots(counts, W, H, { headH: 20, headW: heads, blockGap: 10 });
  assert.ok(each.fits);
  assert.ok(each.s < one.s, `the wide heading costs square size (${each.s} < ${one.s})`);
  // Laid out with the headings' real widths, the blocks fit in height.
  const laid = ({ s, gap, cols }) => {
    let x = 0; let shelf = 0; let height = 0;
    counts.forEach((n, i) => {
      const bw = Math.max(heads[i], cols[i] * (s + gap) - gap);
      const bh = 20 + Math.ceil(n / cols[i]) * (s + gap) - gap;
      if (x > 0 && x + bw > W) { height += shelf + 10; x = 0; shelf = 0; }
      x += bw + 10; shelf = Math.max(shelf, bh);
    });
    return height + shelf;
  };
  assert.ok(laid(each) <= H, `blocks ${laid(each)} px in ${H}`);
  assert.ok(laid(one) > H, `a single heading width said ${one.s} px fit, and the blocks took ${laid(one)} px`);
});

test('a no-show\'s alert duration is said as the chats say it', async () => {
  const { spokenDur } = await import('../../web/i18n.js');
  assert.equal(spokenDur(2 * 3600 + 15 * 60 + 20), '2 h 15 min');
  assert.equal(spokenDur(20 * 60 + 6), '20 min 6 s');
  assert.equal(spokenDur(600), '10 min');
  setLang('zh');
  assert.equal(spokenDur(2 * 3600 + 15 * 60), '2 小时 15 分钟');
  assert.equal(spokenDur(20 * 60 + 6), '20 分 6 秒');
  setLang('en');
});

test('aux-cluster banner: at most three rows; past that the largest two and a row naming the rest', async () => {
  globalThis.location ??= { search: '' };
  const { splitClusters } = await import('../../web/panels/banner.js');
  const al = (team, n, fired) => ({ id: `aux_cluster:${team}:${fired}`, team, agents: Array(n).fill('A'), fired_at: fired });
  const three = [al('T1', 3, 1), al('T2', 5, 2), al('T3', 4, 3)];
  assert.deepEqual(splitClusters(three), { shown: three, rest: [] });
  // Five: the two largest (most agents, then the longest firing, then by team) keep rows.
  const five = [...three, al('T4', 5, 0), al('T0', 3, 1)];
  const { shown, rest } = splitClusters(five);
  assert.deepEqual(shown.map((a) => a.team), ['T4', 'T2']);
  assert.deepEqual(rest.map((a) => a.team), ['T3', 'T0', 'T1']);
});

test('clock: a time in the hour a fall-back repeats carries its UTC offset (New York, Lord Howe); others not', () => {
  const at = (s) => Date.parse(s);
  assert.equal(F.clock(at('2026-11-01T05:32:00Z'), 'America/New_York', false), '01:32 UTC-04');
  assert.equal(F.clock(at('2026-11-01T06:11:00Z'), 'America/New_York', false), '01:11 UTC-05');
  assert.equal(F.clock(at('2026-11-01T06:11:05Z'), 'America/New_York'), '01:11:05 UTC-05');
  assert.equal(F.clock(at('2026-11-01T07:30:00Z'), 'America/New_York', false), '02:30');
  assert.equal(F.clock(at('2026-11-01T04:59:59Z'), 'America/New_York'), '00:59:59');
  assert.equal(F.clock(at('2026-11-23T14:05:00Z'), 'America/New_York'), '09:05:00');
  // Spring forward skips an hour: nothing repeats.
  assert.equal(F.clock(at('2026-03-08T07:30:00Z'), 'America/New_York', false), '03:30');
  // Lord Howe goes back half an hour (+11 to +10:30) on 2026-04-05.
  assert.equal(F.clock(at('2026-04-04T14:40:00Z'), 'Australia/Lord_Howe', false), '01:40 UTC+11');
  assert.equal(F.clock(at('2026-04-04T15:10:00Z'), 'Australia/Lord_Howe', false), '01:40 UTC+10:30');
  assert.equal(F.clock(at('2026-04-04T15:10:00Z'), 'Asia/Shanghai', false), '23:10');
});

test('team table: attention first puts teams with a firing team alert first (clusters, then the others), the rest in the server order', async () => {
  globalThis.location ??= { search: '' };
  const { attentionFirst } = await import('../../web/panels/teams.js');
  const teams = ['T01', 'T02', 'T03', 'T04', 'T05', 'unassigned'].map((team) => ({ team }));
  const ids = (xs) => xs.map((x) => x.team);
  const al = (kind, team, state = 'firing') => ({ kind, team, state });
  assert.equal(attentionFirst(teams, []), teams, 'nothing firing: the same list');
  assert.deepEqual(ids(attentionFirst(teams, [al('long_aux', 'T05'), al('out_of_adherence', 'T04'), al('aux_cluster', 'T03', 'resolved')])), ids(teams),
    'agents\' alerts and resolved ones move nothing');
  assert.deepEqual(
    ids(attentionFirst(teams, [al('utilization_high', 'T04'), al('aux_cluster', 'T05'), al('aux_dispersion', 'T02'), al('aux_dispersion', 'T05'), al('aht_out_of_control', 'unassigned')])),
    ['T05', 'T02', 'T04', 'unassigned', 'T01', 'T03'],
  );
  // Clusters the largest first, as the banner lists them.
  const cl = (team, n) => ({ kind: 'aux_cluster', team, state: 'firing', agents: Array.from({ length: n }, (_, i) => `${team}-${i}`) });
  assert.deepEqual(ids(attentionFirst(teams, [cl('T01', 3), cl('T04', 5), al('utilization_high', 'T02'), cl('T03', 3)])),
    ['T04', 'T01', 'T03', 'T02', 'T05', 'unassigned']);
});
