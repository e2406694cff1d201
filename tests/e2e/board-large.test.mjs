// Issue 20: boards of many thousand agents. Squares too small for text are painted on a few
// canvases ("slabs") laid over the scrolled panel, only those near the screen exist, and
// each team keeps a group box (heading and an empty grid of the right size): the page's
// element count does not grow with the floor, and what is painted is each agent's state.
// Always against the mock: the daemon under test in scripts/e2e.sh has a demo floor of a
// few hundred agents. `board-scale.mjs` measures the real thing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, sleep } from './harness.mjs';
import { startMock } from './mock-server.mjs';

/**
 * In the page: every member of `which` (indexes into the panel's groups, or 'all')
 * whose square is on screen, its pixel on the slab compared with the colour its state
 * should have. Returns { checked, wrong: [...], nWrong, pending, first } (`pending`: the
 * store holds changes not drawn yet; `first`: the first agent checked not in aux).
 */
function checkSquares(which) {
  const box = document.querySelector('[data-testid="agent-tiles"]');
  const { store } = window.floorwatch;
  const pending = store.changed.size > 0 || store.allChanged || store.agentsDirty;
  const css = getComputedStyle(document.documentElement);
  const rgb = (name) => {
    const h = css.getPropertyValue(name).trim().replace('#', '');
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)).join(',');
  };
  const fill = {
    talking: rgb('--talking'), acw: rgb('--acw'), aux_unplanned: rgb('--aux'), aux_planned: rgb('--planned'),
    idle: rgb('--idle'), offline: rgb('--offline'), over: rgb('--over'),
  };
  const cfg = store.config;
  const firing = new Set(store.alerts.filter((a) => a.kind === 'long_aux' && a.state === 'firing').map((a) => a.agent));
  const key = (a) => {
    if (a.state === 'aux' && !a.planned) {
      const limit = (cfg.long_aux_per_reason?.[a.reason ?? 'unspecified'] ?? cfg.long_aux_secs) * 1000;
      if (firing.has(a.agent) || Date.now() + store.offset - a.since >= limit) return ['over'];
      // Near the limit or about to be: the tick may not have repainted it yet.
      if (Date.now() + store.offset - a.since >= 0.75 * limit) return ['over', 'aux_unplanned'];
      return ['aux_unplanned'];
    }
    if (a.state === 'aux') return ['aux_planned'];
    return [a.state];
  };
  const s = parseFloat(box.style.getPropertyValue('--dot'));
  const gap = parseFloat(box.style.getPropertyValue('--gap'));
  const view = box.getBoundingClientRect();
  // Each slab's pixels read back once (a read per square was thousands of GPU read-backs).
  const slabs = [...box.querySelectorAll(':scope > canvas.slab')].map((c) => {
    const ctx = c.getContext('2d');
    return { c, r: c.getBoundingClientRect(), px: ctx.getImageData(0, 0, c.width, c.height), sx: c.width / c.getBoundingClientRect().width };
  });
  const groups = [...box.querySelectorAll(':scope > .group')];
  const pick = which === 'all' ? groups : which.map((i) => groups.at(i));
  const byTeam = new Map();
  for (const a of store.agents.values()) {
    if (!byTeam.has(a.team)) byTeam.set(a.team, []);
    byTeam.get(a.team).push(a);
  }
  let checked = 0;
  let first = null;
  const wrong = [];
  for (const g of pick) {
    const grid = g.querySelector('.grid');
    const gr = grid.getBoundingClientRect();
    if (gr.bottom < view.top || gr.top > view.bottom) continue; // not on screen
    const cols = Number(grid.style.getPropertyValue('--cols'));
    // The page's order: by id, logged-out agents last (sort=team).
    const members = (byTeam.get(g.dataset.group) ?? [])
      .sort((a, b) => ((a.state === 'offline') - (b.state === 'offline')) || (a.agent < b.agent ? -1 : 1));
    members.forEach((a, i) => {
      const x = gr.left + (i % cols) * (s + gap) + s / 2;
      const y = gr.top + Math.floor(i / cols) * (s + gap) + s / 2;
      if (y < view.top || y > view.bottom) return;
      const slab = slabs.find(({ r }) => y >= r.top && y < r.bottom && x >= r.left && x < r.right);
      if (!slab) {
        wrong.push(`${a.agent}: no slab under its square at ${x},${y}`);
        return;
      }
      const { px, sx } = slab;
      const o = (Math.floor((y - slab.r.top) * sx) * px.width + Math.floor((x - slab.r.left) * sx)) * 4;
      const got = `${px.data[o]},${px.data[o + 1]},${px.data[o + 2]}`;
      const want = key(a);
      if (!want.some((k) => fill[k] === got)) wrong.push(`${a.agent} (${a.team} #${i}, ${want.join('|')}): painted ${got}`);
      if (!first && ['talking', 'idle', 'acw'].includes(a.state)) first = { agent: a.agent, state: a.state };
      checked++;
    });
  }
  return { checked, wrong: wrong.slice(0, 10), nWrong: wrong.length, pending, first };
}

/** In the page: the visible part of the panel down to the last group is under painted slabs. */
function slabsReady() {
  const box = document.querySelector('[data-testid="agent-tiles"]');
  const b = box.getBoundingClientRect();
  const last = [...box.querySelectorAll(':scope > .group')].at(-1)?.querySelector('.grid');
  if (!last) return false;
  // Content coordinates, as the slabs' `top`.
  const end = Math.min(box.scrollTop + box.clientHeight, last.getBoundingClientRect().bottom - b.top - box.clientTop + box.scrollTop);
  const spans = [...box.querySelectorAll(':scope > canvas.slab[data-drawn]')]
    .map((c) => [parseFloat(c.style.top), parseFloat(c.style.top) + parseFloat(c.style.height)])
    .sort((p, q) => p[0] - q[0]);
  let y = box.scrollTop;
  for (const [t0, t1] of spans) if (t0 <= y + 0.5 && t1 > y) y = t1;
  return y >= end - 0.5;
}

// Each wait below is on a condition with a timeout, and the whole test is bounded: on a
// 2-core machine shared with builds it used to take 2 to 30 minutes, mostly because the
// mock spent half a second of this very process on each one-second push of a 20,000-agent
// floor (a pass over the floor per team and window for the aux drivers; now one pass),
// which left the event loop that drives the browser little room under load.
const WAIT = { timeout: 20_000 };


/**
 * In the page: the teams in the order a table taller than its panel shows them (docs/
 * wallboard.md): those with a firing aux_cluster first, the most agents on break first,
 * then those with another team alert firing, then the rest, in the server's order.
 * `attention`: how many come first.
 */
function attentionOrder() {
  const s = window.floorwatch.store;
  const teamKinds = ['aux_cluster', 'utilization_high', 'aux_dispersion', 'aht_out_of_control'];
  const rank = new Map();
  const onBreak = new Map();
  for (const a of s.alerts) {
    if (a.state !== 'firing' || !teamKinds.includes(a.kind)) continue;
    rank.set(a.team, Math.min(rank.get(a.team) ?? 2, a.kind === 'aux_cluster' ? 0 : 1));
    if (a.kind === 'aux_cluster') onBreak.set(a.team, Math.max(onBreak.get(a.team) ?? 0, a.agents.length));
  }
  const ids = s.teams.map((x) => x.team);
  const groups = [0, 1, 2].map((g) => ids.filter((t) => (rank.get(t) ?? 2) === g));
  groups[0] = groups[0].map((t, i) => [t, i]).sort((p, q) => onBreak.get(q[0]) - onBreak.get(p[0]) || p[1] - q[1]).map((p) => p[0]);
  return { ids: groups.flat(), attention: groups[0].length + groups[1].length };
}
test('a 20,000-agent board paints its squares on a few canvases: the element count does not grow with the floor, and scrolling shows each agent as it is', { timeout: 100_000 }, async () => {
  const m = await startMock({ agents: 20000, teams: 400, seed: 3, clusterHoldMs: 0 });
  const browser = await launch();
  try {
    // Not openBoard's 15 s: a 20,000-agent mock on a machine shared with builds is slow to start.
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e));
    await page.goto(m.url + '/?lang=en', { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.waitForSelector('[data-testid="agent-tiles"] canvas.slab[data-drawn]', { timeout: 60_000 });
    await page.evaluate(`window.__checkSquares = ${checkSquares}; window.__slabsReady = ${slabsReady}`);
    // Five-digit counts fit their boxes (the board audit: "14118" ran into the ACW count,
    // "20000" was cut off).
    await page.waitForFunction(() => [...document.querySelectorAll('.count .num')].some((e) => e.textContent.trim().length >= 5), null, { timeout: 30_000 });
    const clipped = await page.evaluate(() => [...document.querySelectorAll('.count .num')]
      .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > e.closest('.count').getBoundingClientRect().right + 1)
      .map((e) => `${e.dataset.field} "${e.textContent.trim()}" ${e.scrollWidth}>${e.clientWidth}`));
    assert.deepEqual(clipped, [], 'five-digit counts fit');
    // Team names are never cut below a few letters to make the table fit: "T100" stays
    // whole (a first cut left "T··" on every row of the 400).
    await sleep(1500);
    const cutNames = await page.evaluate(() => [...document.querySelectorAll('[data-testid="team-rows"] tr[data-team] .tname')]
      .filter((e) => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent));
    assert.deepEqual(cutNames, [], 'team names whole');
    await page.screenshot({ path: new URL('../../artifacts/e2e-20k-counts.png', import.meta.url).pathname });
    const state = () => page.evaluate(() => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      const slabs = [...box.querySelectorAll(':scope > canvas.slab')];
      const last = [...box.querySelectorAll(':scope > .group')].at(-1).querySelector('.grid').getBoundingClientRect();
      const b = box.getBoundingClientRect();
      // The last group's place in the content, and whether a slab covers any of it.
      const lastTop = last.top - b.top + box.scrollTop;
      const lastBottom = lastTop + last.height;
      return {
        size: box.dataset.size,
        dotText: box.hasAttribute('data-dot-text'),
        agents: window.floorwatch.store.agents.size,
        groups: box.querySelectorAll(':scope > .group').length,
        elements: box.querySelectorAll('*').length,
        tiles: box.querySelectorAll('.tile').length,
        slabs: slabs.length,
        slabHeight: Math.max(...slabs.map((c) => c.getBoundingClientRect().height)),
        painted: slabs.reduce((n, c) => n + Number(c.dataset.drawn), 0),
        scrollable: box.scrollHeight - box.clientHeight,
        viewH: box.clientHeight,
        lastHeight: last.height,
        lastPainted: slabs.some((c) => {
          const top = parseFloat(c.style.top);
          return top < lastBottom && top + c.getBoundingClientRect().height > lastTop;
        }),
      };
    });
    const before = await state();
    assert.equal(before.agents, 20000);
    assert.equal(before.groups, 400, 'every team has its group');
    assert.equal(before.size, 'dot');
    assert.equal(before.dotText, false, 'squares too small for text at 20,000 agents on 1080p');
    assert.ok(before.scrollable > 0, 'the panel scrolls at 20,000 agents');
    assert.equal(before.tiles, 0, 'no element per agent');
    // A heading (name, count), a grid and the group box per team, and the slabs.
    assert.ok(before.elements <= before.groups * 5 + before.slabs, `elements in the panel: ${before.elements}`);
    // Slabs near the screen only: the visible part and a margin, never the whole panel.
    assert.ok(before.slabs >= 1 && before.slabs * before.slabHeight <= before.viewH + 2 * 300 + 2 * before.slabHeight,
      `${before.slabs} slabs of ${before.slabHeight} px for ${before.viewH} px on screen`);
    assert.ok(before.painted > 1000 && before.painted < before.agents, `squares painted: ${before.painted}`);
    assert.equal(before.lastPainted, false, 'the last group is far off screen: nothing painted for it yet');
    assert.ok(before.lastHeight > 0, 'an unpainted group keeps its place');

    // What is on screen is each agent's state: waited for until the page has drawn what it
    // holds (a delta may be between the store and the next frame) and every square agrees.
    const settle = async (which, what) => {
      try {
        return await (await page.waitForFunction((w) => {
          const r = window.__checkSquares(w);
          return r.pending || r.checked === 0 || r.nWrong > 0 ? false : r;
        }, which, { polling: 100, ...WAIT })).jsonValue();
      } catch (e) {
        const last = await page.evaluate((w) => window.__checkSquares(w), which);
        assert.fail(`${what}: ${last.nWrong} of ${last.checked} squares wrong (render pending: ${last.pending}): ${last.wrong.join('; ')} (${e.message.split('\n')[0]})`);
      }
    };
    const slabsCoverScreen = (what) => page.waitForFunction(() => window.__slabsReady(), null, WAIT)
      .catch(() => assert.fail(`${what}: no painted slab under part of the visible panel`));
    const top = await settle('all', 'top of the board');
    assert.ok(top.checked > 200, `squares checked on screen: ${top.checked}`);

    // A delta repaints the square of the agent it names: an agent on screen goes to another
    // state (posted to the mock, which then leaves it alone) and its square follows.
    const probe = await page.evaluate(() => window.__checkSquares([0], 1).first);
    const next = probe.state === 'talking' ? 'idle' : 'talking';
    const res = await fetch(`${m.url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ agent: probe.agent, state: next }]) });
    assert.equal(res.status, 200);
    await page.waitForFunction(([id, st]) => window.floorwatch.store.agents.get(id)?.state === st, [probe.agent, next], WAIT);
    const moved = await settle([0], `after ${probe.agent} went ${next}`);
    assert.ok(moved.checked > 0);

    // Down to the bottom, through the middle, and back to the top.
    for (const at of [0.5, 1, 0]) {
      await page.evaluate((f) => {
        const box = document.querySelector('[data-testid="agent-tiles"]');
        box.scrollTop = f * (box.scrollHeight - box.clientHeight);
      }, at);
      await slabsCoverScreen(`scrolled to ${at}`);
      const st = await state();
      assert.equal(st.tiles, 0);
      assert.equal(st.elements - st.slabs, before.elements - before.slabs, `scrolled to ${at}: no elements added`);
      assert.ok(st.slabs * st.slabHeight <= st.viewH + 2 * 300 + 2 * st.slabHeight, `scrolled to ${at}: ${st.slabs} slabs`);
      if (at === 1) {
        assert.equal(st.lastPainted, true, 'the last group is painted once it scrolled in');
        assert.ok(Math.abs(st.lastHeight - before.lastHeight) < 1, 'the group did not change size when painted');
      }
      const seen = await settle('all', `scrolled to ${at}`);
      assert.ok(seen.checked > 100, `scrolled to ${at}: ${seen.checked} squares checked`);
    }
    await page.evaluate(() => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      box.scrollTop = box.scrollHeight;
    });
    await slabsCoverScreen('the bottom');
    await settle([-1], 'the last team');

    // The mouse on a square of the last team: its title names that agent.
    const spot = await page.evaluate(() => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      const grid = [...box.querySelectorAll(':scope > .group')].at(-1).querySelector('.grid');
      grid.scrollIntoView({ block: 'nearest' }); // the page itself may scroll on a small screen
      const r = grid.getBoundingClientRect();
      const s = parseFloat(box.style.getPropertyValue('--dot'));
      const gap = parseFloat(box.style.getPropertyValue('--gap'));
      const cols = Number(grid.style.getPropertyValue('--cols'));
      const team = grid.parentElement.dataset.group;
      const members = [...window.floorwatch.store.agents.values()].filter((a) => a.team === team)
        .sort((a, b) => ((a.state === 'offline') - (b.state === 'offline')) || (a.agent < b.agent ? -1 : 1));
      // The second row's third square.
      const i = Math.min(members.length - 1, cols + 2);
      return { x: r.left + (i % cols) * (s + gap) + s / 2, y: r.top + Math.floor(i / cols) * (s + gap) + s / 2, agent: members[i].agent };
    });
    const lastTitle = () => page.evaluate(() => [...document.querySelectorAll('[data-testid="agent-tiles"] > .group')].at(-1).querySelector('.grid').title);
    let title = '';
    // A few moves at most (the first may land before the page has the listener's layout).
    for (let i = 0; i < 10 && !title.includes(`(${spot.agent})`); i++) {
      await page.mouse.move(spot.x + (i % 2) * 0.5, spot.y);
      title = await lastTitle();
    }
    assert.ok(title.includes(`(${spot.agent})`), `the square of ${spot.agent} at ${spot.x},${spot.y}: title "${title}"`);

    // Grouped by state instead: six groups, painted again in their new order.
    await page.evaluate(() => {
      document.querySelector('[data-testid="agent-tiles"]').scrollTop = 0;
      window.scrollTo(0, 0); // the page scrolled to show the last team on a short screen
    });
    await page.locator('[data-sort="state"]').dispatchEvent('click');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="agent-tiles"] > .group').length <= 6, null, WAIT);
    await slabsCoverScreen('sorted by state');
    const byState = await page.evaluate(() => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      const g = box.querySelector(':scope > .group');
      const grid = g.querySelector('.grid');
      const r = grid.getBoundingClientRect();
      const s = parseFloat(box.style.getPropertyValue('--dot'));
      const slab = box.querySelector(':scope > canvas.slab[data-slab="0"]');
      const sr = slab.getBoundingClientRect();
      const px = slab.getContext('2d').getImageData(Math.floor(r.left - sr.left + s / 2), Math.floor(r.top - sr.top + s / 2), 1, 1).data;
      return { key: g.dataset.statekey, px: `${px[0]},${px[1]},${px[2]}` };
    });
    // The first state group's first square has that state's colour (or red: over its limit).
    const want = await page.evaluate((k) => {
      const css = getComputedStyle(document.documentElement);
      const name = { aux_unplanned: '--aux', aux_planned: '--planned' }[k] ?? `--${k}`;
      return [name, '--over'].map((n) => {
        const h = css.getPropertyValue(n).trim().replace('#', '');
        return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)).join(',');
      });
    }, byState.key);
    assert.ok(want.includes(byState.px), `first ${byState.key} square painted ${byState.px}, want ${want.join(' or ')}`);
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
    await m.close();
  }
});

test('a floor under 3,000 agents keeps an element per agent, squares or tiles (no canvases)', { timeout: 60_000 }, async () => {
  const m = await startMock({ agents: 300, teams: 12, seed: 3, clusterHoldMs: 0 });
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(m.url + '/?lang=en');
    await page.waitForSelector('[data-testid="agent-tiles"] .tile', WAIT);
    const st = await page.evaluate(() => ({
      tiles: document.querySelectorAll('[data-testid="agent-tiles"] .tile[data-agent]').length,
      slabs: document.querySelectorAll('[data-testid="agent-tiles"] canvas').length,
      agents: window.floorwatch.store.agents.size,
    }));
    assert.equal(st.slabs, 0);
    assert.equal(st.tiles, st.agents, 'one tile per agent');
  } finally {
    await browser.close();
    await m.close();
  }
});

// Issue 20: a 400-row team table lays out only the rows near its panel's view (the others
// are not displayed, and drawn when they come near it), with a sizer row that keeps the
// columns as wide as the whole table would make them. A changed figure must reach its row
// on screen, and be there when a row that was off screen scrolls in.
test('a 400-team table lays out the rows near its view: changed values reach the rows shown and those scrolled in, columns as wide as the whole table', { timeout: 90_000 }, async () => {
  const m = await startMock({ agents: 2000, teams: 400, seed: 3, clusterHoldMs: 0 });
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e));
    await page.goto(m.url + '/?lang=en', { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="team-rows"] tr[data-team]').length === 400, null, WAIT);
    // The rows laid out: those near the panel's view, a screenful and a margin, not 400.
    const laidOut = () => page.evaluate(() => {
      const panel = document.querySelector('.teams-panel');
      const p = panel.getBoundingClientRect();
      const rows = [...document.querySelectorAll('[data-testid="team-rows"] tr[data-team]')];
      const shown = rows.filter((r) => !r.hidden && r.getClientRects().length);
      const onScreen = shown.filter((r) => {
        const b = r.getBoundingClientRect();
        return b.bottom > p.top && b.top < p.bottom;
      });
      return { shown: shown.length, onScreen: onScreen.length, first: shown[0]?.dataset.team, last: shown.at(-1)?.dataset.team, panelH: panel.clientHeight,
        rows: shown.map((r) => r.dataset.team) };
    });
    await page.waitForFunction(() => document.querySelector('.teams tbody.sizer') && !document.querySelector('.teams tbody.sizer').hidden, null, WAIT);
    // The floor held still, so the rows' order is the one its alerts give.
    m.pause();
    await sleep(300);
    const top = await laidOut();
    const order = await page.evaluate(attentionOrder);
    m.resume();
    assert.ok(top.onScreen >= 10, `rows on screen: ${top.onScreen} in ${top.panelH} px`);
    assert.ok(top.shown >= top.onScreen && top.shown <= top.onScreen + 2 * 12 + 2, `rows laid out: ${top.shown} for ${top.onScreen} on screen`);
    assert.ok(order.attention > 0 && order.attention < order.ids.length, `some teams have a team alert firing: ${order.attention}`);
    assert.equal(top.first, order.ids[0], 'the table taller than its panel begins with a team whose team alert fires');
    assert.deepEqual(top.rows, order.ids.slice(0, top.rows.length), 'the rows laid out, attention first');

    // The columns and the table as wide as with every row laid out (and no sizer): with the
    // floor holding still, the widths as the page lays them out, then every row drawn (the
    // panel scrolled through: each row is drawn as it comes near the view) and laid out.
    const frames = (n) => page.evaluate(async (k) => {
      for (let i = 0; i < k; i++) await new Promise((r) => requestAnimationFrame(r));
    }, n);
    const sameWidths = async (what) => {
      m.pause();
      try {
        await sleep(300); // a push on its way
        await frames(3);
        const read = () => page.evaluate(() => ({
          table: document.querySelector('.teams').getBoundingClientRect().width,
          panel: document.querySelector('.teams-panel').getBoundingClientRect().width,
          cols: [...document.querySelectorAll('[data-testid="team-rows"] tr[data-team]:not([hidden])')][0]
            .querySelectorAll(':scope > *').values().map((c) => Math.round(c.getBoundingClientRect().width * 10) / 10).toArray(),
        }));
        const windowed = await read();
        await page.evaluate(async () => {
          const panel = document.querySelector('.teams-panel');
          const was = panel.scrollTop;
          for (let y = 0; y < panel.scrollHeight; y += panel.clientHeight / 2) {
            panel.scrollTop = y;
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          }
          panel.scrollTop = was;
          // Every row shown; padding and sizer gone (the next render puts them back).
          for (const e of document.querySelectorAll('[data-testid="team-rows"] tr[hidden], .teams tbody.pad, .teams tbody.sizer')) e.hidden = !e.matches('tr');
        });
        assert.deepEqual(windowed, await read(), what);
      } finally {
        m.resume();
      }
    };
    await sameWidths('at the top');

    // Every row laid out shows what the store holds (waited for: a push may be between the
    // store and the next frame).
    const sameAsStore = () => page.waitForFunction(() => {
      const { store } = window.floorwatch;
      const w = store.win.team;
      return store.teams.length > 0 && store.teams.every((x) => {
        const tr = document.querySelector(`[data-testid="team-rows"] tr[data-team="${x.team}"]`);
        if (tr?.hidden) return true;
        const v = (f) => tr?.querySelector(`[data-field="${f}"]`)?.getAttribute('data-value');
        return v('talking') === String(x.current.talking) && v('logged_in') === String(x.current.logged_in)
          && v('talk_utilization_team') === String(x.windows?.[w]?.talk_utilization ?? '');
      });
    }, null, { polling: 50, ...WAIT });
    await sameAsStore();

    // A new team at the end of the table (ids sort as text: TZZ after T99), far off screen,
    // then a change of its figures.
    const post = async (events) => {
      const res = await fetch(`${m.url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      assert.equal(res.status, 200);
    };
    const cell = (team, field) => page.evaluate(([t, f]) => {
      const tr = document.querySelector(`[data-testid="team-rows"] tr[data-team="${t}"]`);
      const c = tr?.querySelector(`[data-field="${f}"]`);
      return c ? { v: c.getAttribute('data-value'), text: c.textContent, laidOut: !tr.hidden } : null;
    }, [team, field]);
    const waitCell = (team, field, v) => page.waitForFunction(([t, f, want]) => document
      .querySelector(`[data-testid="team-rows"] tr[data-team="${t}"] [data-field="${f}"]`)?.getAttribute('data-value') === want, [team, field, v], WAIT)
      .catch(async () => assert.fail(`${team} ${field}: want ${v}, the table shows ${JSON.stringify(await cell(team, field))}`));
    // What the page holds for the team (the frame arrived), whether drawn yet or not.
    const waitStore = (team, field, v) => page.waitForFunction(([t, f, want]) => window.floorwatch.store.teams
      .find((x) => x.team === t)?.current?.[f] === want, [team, field, v], WAIT);
    await post([{ agent: 'E2E-W1', team: 'TZZ', state: 'talking' }]);
    await waitStore('TZZ', 'talking', 1);
    await page.waitForSelector('[data-testid="team-rows"] tr[data-team="TZZ"]', { state: 'attached', ...WAIT });
    assert.equal((await cell('TZZ', 'talking')).laidOut, false, 'the last row is off screen, not laid out');
    // Changed while off screen.
    await post([{ agent: 'E2E-W1', state: 'aux', reason: 'break' }]);
    await waitStore('TZZ', 'aux_unplanned', 1);
    await waitStore('TZZ', 'talking', 0);

    // Scrolled to the bottom: the last rows are laid out and on screen, the first are not,
    // and the last row shows its figures as they are now, drawn as it came in (read within
    // three frames of the scroll: the mock's next push would draw it again anyway).
    const came = await page.evaluate(async () => {
      const panel = document.querySelector('.teams-panel');
      panel.scrollTop = panel.scrollHeight;
      for (let i = 0; i < 3; i++) await new Promise((r) => requestAnimationFrame(r));
      const tr = document.querySelector('[data-testid="team-rows"] tr[data-team="TZZ"]');
      const b = tr.getBoundingClientRect();
      const p = panel.getBoundingClientRect();
      const v = (f) => tr.querySelector(`[data-field="${f}"]`).textContent;
      return { onScreen: !tr.hidden && b.height > 0 && b.top >= p.top && b.bottom <= p.bottom + 1, talking: v('talking'), aux: v('aux_unplanned'), in: v('logged_in') };
    });
    assert.deepEqual(came, { onScreen: true, talking: '0', aux: '1', in: '1' }, 'the last row as it scrolled in');
    // Changed on screen: the row follows at the next push.
    await post([{ agent: 'E2E-W1', state: 'talking' }]);
    await waitCell('TZZ', 'talking', '1');
    await waitCell('TZZ', 'aux_unplanned', '0');
    const bottom = await laidOut();
    assert.equal(bottom.last, 'TZZ');
    assert.ok(bottom.shown <= bottom.onScreen + 2 * 12 + 2, `rows laid out at the bottom: ${bottom.shown}`);
    assert.deepEqual([(await cell('TZZ', 'talking')).text, (await cell('TZZ', 'aux_unplanned')).text], ['1', '0']);
    // And the figures of every row still follow the store after the scroll, the columns
    // still as wide as the whole table's (some pushes of live figures and aux drivers later).
    await sameAsStore();
    await sameWidths('at the bottom');
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
    await m.close();
  }
});

// A table found taller than its panel when it is first laid out is put in attention order
// at once, not at the first push that moves a team (a quiet floor's board stayed in id order).
test('a 400-team table opens with the teams whose team alert fires first, before any push', { timeout: 60_000 }, async () => {
  const m = await startMock({ agents: 2000, teams: 400, seed: 3, clusterHoldMs: 0 });
  const browser = await launch();
  try {
    m.pause(); // the full frame on connecting only
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(m.url + '/?lang=en', { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="team-rows"] tr[data-team]').length === 400, null, WAIT);
    const order = await page.evaluate(attentionOrder);
    assert.ok(order.attention > 0, 'some team alert fires');
    const first = () => page.evaluate(() => [...document.querySelectorAll('[data-testid="team-rows"] tr[data-team]')].slice(0, 10).map((r) => r.dataset.team));
    await page.waitForFunction((want) => [...document.querySelectorAll('[data-testid="team-rows"] tr[data-team]')]
      .slice(0, want.length).map((r) => r.dataset.team).join(' ') === want.join(' '), order.ids.slice(0, 10), WAIT)
      .catch(() => {});
    assert.deepEqual(await first(), order.ids.slice(0, 10));
  } finally {
    await browser.close();
    await m.close();
  }
});

// The whole-floor table of 400 teams without a roster at 1080p: with two aux drivers' names
// per team it was 47 px wider than its panel (the layout audit; AHT and contacts off the
// screen). The second name goes first (panels/teams.js fitNames), names stay readable.
test('a 400-team table fits its panel at 1920x1080: the second aux driver gives way', { timeout: 60_000 }, async () => {
  const m = await startMock({ agents: 2000, teams: 400, seed: 3, clusterHoldMs: 0 });
  const browser = await launch();
  try {
    m.pause();
    for (const [w, h] of [[1920, 1080], [3840, 2160]]) {
      const page = await browser.newPage({ viewport: { width: w, height: h } });
      await page.goto(m.url + '/?lang=en', { waitUntil: 'domcontentloaded', timeout: 60_000 });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="team-rows"] tr[data-team]').length === 400, null, WAIT);
      let fit = null;
      for (let i = 0; i < 20; i++) {
        fit = await page.evaluate(() => {
          const panel = document.querySelector('.teams-panel');
          const rows = [...document.querySelectorAll('[data-testid="team-rows"] tr[data-team]')].filter((r) => !r.hidden);
          const shown = (sel) => rows.flatMap((r) => [...r.querySelectorAll(sel)]).filter((e) => e.getClientRects().length).length;
          const cut = rows.map((r) => r.querySelector('.tname')).filter((e) => e && e.scrollWidth > e.clientWidth + 1).length;
          return { over: Math.max(0, panel.scrollWidth - panel.clientWidth), names: shown('.drivers .drv:nth-child(1)'), seconds: shown('.drivers .drv:nth-child(2)'), made: rows.flatMap((r) => [...r.querySelectorAll('.drivers .drv:nth-child(2)')]).length, cut };
        });
        if (fit.over <= 1) break;
        await sleep(200);
      }
      assert.ok(fit.made > 0, `the mock gives teams two drivers at ${w}x${h}`);
      assert.ok(fit.over <= 1, `the table scrolls sideways by ${fit.over}px at ${w}x${h}`);
      assert.ok(fit.names > 0, `the rows shown name their first driver at ${w}x${h}: ${JSON.stringify(fit)}`);
      assert.equal(fit.cut, 0, `no team id is cut at ${w}x${h}`);
      assert.deepEqual(page.errors ?? [], []);
      await page.close();
    }
  } finally {
    await browser.close();
    await m.close();
  }
});

// Long team names wrap to two or three lines in the tiles' labels: a group is then as tall
// as its label, and the fit counts it (it counted one line, said the tiles fit, and the
// last teams were under the panel's edge).
test('tiles the fit says fit are all on the panel when team names wrap', { timeout: 60_000 }, async () => {
  const ids = ['Retail Banking North Evening', 'Cards Disputes Weekend Team', 'Mortgage Advice Line Two', 'Business Banking Support Desk',
    'Fraud Prevention Night Shift', 'Collections Early Morning Crew', 'Savings Accounts Help Line', 'Premier Clients Concierge Desk'];
  const browser = await launch();
  try {
    for (const [w, h, agents] of [[1920, 1080, 60], [1366, 768, 50]]) {
      const m = await startMock({ agents, teams: ids.length, teamIds: ids, seed: 3, clusterHoldMs: 0 });
      try {
        const page = await browser.newPage({ viewport: { width: w, height: h } });
        await page.goto(m.url + '/?lang=en', { waitUntil: 'domcontentloaded', timeout: 60_000 });
        await page.waitForFunction((n) => document.querySelectorAll('[data-testid="agent-tiles"] .group').length >= n, ids.length, WAIT);
        await sleep(1500);
        const r = await page.evaluate(() => {
          const b = document.querySelector('[data-testid="agent-tiles"]');
          const lines = [...b.querySelectorAll('.gname')].map((n) => Math.round(n.getBoundingClientRect().height / parseFloat(getComputedStyle(n).lineHeight)));
          return { size: b.dataset.size, fits: b.dataset.fits, over: b.scrollHeight - b.clientHeight, lines };
        });
        const at = `${w}x${h}, ${agents} agents: ${JSON.stringify(r)}`;
        if (r.size !== 'dot') assert.ok(r.lines.some((n) => n > 1), `the names wrap (${at})`);
        assert.equal(r.fits, 'true', at);
        assert.ok(r.over <= 1, `the tiles said to fit are all on the panel (${at})`);
        assert.deepEqual(page.errors ?? [], []);
        await page.close();
      } finally {
        await m.close();
      }
    }
  } finally {
    await browser.close();
  }
});

// A team table taller than its room ends on a whole row: the alerts under it take the part
// of a row that would show cut (panels/teams.js snap; at 1080p the demo floor's
// `unassigned` row was half under the panel's edge). Floors of 24 and 80 teams (the second
// windowed), at screen sizes from 1080p down; scrolled by hand, the table stays put.
test('a team table taller than its room shows whole rows, and stays where it is scrolled', { timeout: 90_000 }, async () => {
  const browser = await launch();
  try {
    for (const teams of [24, 80]) {
      const m = await startMock({ agents: 320, teams, seed: 5, clusterHoldMs: 0 });
      try {
        const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
        await page.goto(m.url + '/?lang=en');
        await page.waitForSelector('[data-testid="team-rows"] tr[data-team]', WAIT);
        for (const [w, h] of [[1920, 1080], [1920, 1000], [1920, 940], [1366, 768], [1280, 800], [1280, 720]]) {
          await page.setViewportSize({ width: w, height: h });
          await sleep(300);
          const g = await page.evaluate(() => {
            const p = document.querySelector('.teams-panel');
            const bottom = p.getBoundingClientRect().top + p.clientTop + p.clientHeight;
            const rows = [...document.querySelectorAll('[data-testid="team-rows"] tr[data-team]')]
              .filter((tr) => !tr.hidden).map((tr) => tr.getBoundingClientRect());
            return {
              over: p.scrollHeight > p.clientHeight + 1,
              cut: rows.filter((b) => b.top < bottom - 1 && b.bottom > bottom + 1).length,
              whole: rows.filter((b) => b.bottom <= bottom + 1).length,
              given: document.querySelector('.body').style.getPropertyValue('--teams-cut'),
            };
          });
          assert.ok(g.over, `${teams} teams at ${w}x${h}: more rows than room (${JSON.stringify(g)})`);
          assert.equal(g.cut, 0, `${teams} teams at ${w}x${h}: no row cut by the panel's edge (${JSON.stringify(g)})`);
          assert.ok(g.whole >= 3, `${teams} teams at ${w}x${h}: rows shown`);
        }
        // Scrolled by hand: left where the reader put it, a row cut there or not.
        await page.evaluate(() => { document.querySelector('.teams-panel').scrollTop = 13; });
        await sleep(400);
        assert.equal(await page.evaluate(() => document.querySelector('.teams-panel').scrollTop), 13);
        await page.close();
      } finally {
        await m.close();
      }
    }
  } finally {
    await browser.close();
  }
});

// Kiosk paging pages the team table by whole rows (panels/teams.js page): each screen
// shows whole rows under the heading and none cut at the bottom, the last row of one screen
// is the first of the next, and after the last screen it starts again at the top. (By 90% of
// the panel's height, each screen cut a row at the top and at the bottom.)
test('kiosk paging moves the team table by whole rows', { timeout: 60_000 }, async () => {
  const browser = await launch();
  const m = await startMock({ agents: 400, teams: 40, seed: 9, clusterHoldMs: 0 });
  try {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(m.url + '/?lang=en&kiosk=1');
    await page.waitForSelector('[data-testid="team-rows"] tr[data-team]', WAIT);
    await sleep(800);
    const screen = () => page.evaluate(() => {
      const p = document.querySelector('.teams-panel');
      const pr = p.getBoundingClientRect();
      // The heading's cells are sticky (the thead itself scrolls away).
      const headBottom = Math.max(...[...document.querySelectorAll('.teams thead th')].map((th) => th.getBoundingClientRect().bottom));
      const bottom = pr.top + p.clientTop + p.clientHeight;
      const rows = [...document.querySelectorAll('[data-testid="team-rows"] tr[data-team]')].filter((tr) => !tr.hidden)
        .map((tr) => ({ team: tr.dataset.team, b: tr.getBoundingClientRect() }));
      const seen = rows.filter((r) => r.b.bottom > headBottom + 1 && r.b.top < bottom - 1);
      return {
        top: p.scrollTop, max: p.scrollHeight - p.clientHeight,
        cutTop: seen.filter((r) => r.b.top < headBottom - 1).length,
        cutBottom: seen.filter((r) => r.b.bottom > bottom + 1).length,
        first: seen[0]?.team, last: seen.at(-1)?.team, n: seen.length,
      };
    });
    // The floor holds still while paging: an alert firing would reorder the rows.
    m.pause();
    await sleep(300);
    const lastTeam = (await page.evaluate(attentionOrder)).ids.at(-1);
    let s = await screen();
    assert.equal(s.top, 0);
    assert.ok(s.max > 0, 'the table is taller than its room');
    assert.equal(s.cutBottom, 0, `the first screen: no row cut (${JSON.stringify(s)})`);
    const screens = [s];
    for (let i = 0; i < 20; i++) {
      await page.evaluate(() => window.floorwatch.page());
      await sleep(250);
      s = await screen();
      if (s.top === 0) break;
      const prev = screens.at(-1);
      assert.equal(s.cutBottom, 0, `screen ${screens.length + 1}: no row cut at the bottom (${JSON.stringify(s)})`);
      // The last screen too starts on a row: the room ends on a row (snap), so the table's
      // end is a row's top less the room, within a pixel.
      assert.equal(s.cutTop, 0, `screen ${screens.length + 1}: no row cut under the heading (${JSON.stringify(s)})`);
      if (s.last !== lastTeam) {
        assert.equal(s.first, prev.last, `screen ${screens.length + 1} starts with the last row of the one before`);
      }
      screens.push(s);
    }
    assert.equal(s.top, 0, 'back to the top after the last screen');
    assert.ok(screens.length >= 3, `several screens (${screens.length})`);
    assert.equal(screens.at(-1).last, lastTeam, 'the last screen ends with the last team');
  } finally {
    await browser.close();
    await m.close();
  }
});
