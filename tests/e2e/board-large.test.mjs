// Issue 20: boards of many thousand agents. Squares too small for text are painted on a few
// canvases ("slabs") laid over the scrolled panel, only those near the screen exist, and
// each team keeps a group box (heading and an empty grid of the right size): the page's
// element count does not grow with the floor, and what is painted is each agent's state.
// Always against the mock: the daemon under test in scripts/e2e.sh has a demo floor of a
// few hundred agents. `board-scale.mjs` measures the real thing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './harness.mjs';
import { startMock } from './mock-server.mjs';

/**
 * In the page: every member of `groups` (indexes into the panel's groups, or 'all'
 * intersecting the visible part) whose square is painted on a slab, compared with the
 * colour its state should have. Returns { checked, wrong: [...] }.
 */
function checkSquares(which) {
  const box = document.querySelector('[data-testid="agent-tiles"]');
  const { store } = window.floorwatch;
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
  const slabs = [...box.querySelectorAll(':scope > canvas.slab')].map((c) => ({ c, r: c.getBoundingClientRect(), ctx: c.getContext('2d') }));
  const groups = [...box.querySelectorAll(':scope > .group')];
  const pick = which === 'all' ? groups : which.map((i) => groups.at(i));
  const byTeam = new Map();
  for (const a of store.agents.values()) {
    if (!byTeam.has(a.team)) byTeam.set(a.team, []);
    byTeam.get(a.team).push(a);
  }
  let checked = 0;
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
      const px = slab.ctx.getImageData(Math.floor(x - slab.r.left), Math.floor(y - slab.r.top), 1, 1).data;
      const got = `${px[0]},${px[1]},${px[2]}`;
      const want = key(a);
      if (!want.some((k) => fill[k] === got)) wrong.push(`${a.agent} (${a.team} #${i}, ${want.join('|')}): painted ${got}`);
      checked++;
    });
  }
  return { checked, wrong: wrong.slice(0, 10), nWrong: wrong.length };
}

test('a 20,000-agent board paints its squares on a few canvases: the element count does not grow with the floor, and scrolling shows each agent as it is', async () => {
  const m = await startMock({ agents: 20000, teams: 400, seed: 3, clusterHoldMs: 0 });
  const browser = await launch();
  try {
    // Not openBoard's 15 s: a 20,000-agent mock on a machine shared with builds is slow to start.
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e));
    await page.goto(m.url + '/?lang=en', { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.waitForSelector('[data-testid="agent-tiles"] canvas.slab[data-drawn]', { timeout: 60_000 });
    const state = () => page.evaluate(() => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      const slabs = [...box.querySelectorAll(':scope > canvas.slab')];
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

    // What is on screen is each agent's state (retried: a delta may be between store and paint).
    const settle = async (which, what) => {
      let last = null;
      for (let i = 0; i < 30; i++) {
        last = await page.evaluate(checkSquares, which);
        if (last.checked > 0 && last.nWrong === 0) return last;
        await page.waitForTimeout(200);
      }
      assert.fail(`${what}: ${last.nWrong} of ${last.checked} squares wrong: ${last.wrong.join('; ')}`);
    };
    const top = await settle('all', 'top of the board');
    assert.ok(top.checked > 200, `squares checked on screen: ${top.checked}`);

    // Down to the bottom, through the middle, and back to the top.
    for (const at of [0.5, 1, 0]) {
      await page.evaluate((f) => {
        const box = document.querySelector('[data-testid="agent-tiles"]');
        box.scrollTop = f * (box.scrollHeight - box.clientHeight);
      }, at);
      await page.waitForTimeout(300);
      const st = await state();
      assert.equal(st.tiles, 0);
      assert.equal(st.elements - st.slabs, before.elements - before.slabs, `scrolled to ${at}: no elements added`);
      assert.ok(st.slabs * st.slabHeight <= st.viewH + 2 * 300 + 2 * st.slabHeight, `scrolled to ${at}: ${st.slabs} slabs`);
      const seen = await settle('all', `scrolled to ${at}`);
      assert.ok(seen.checked > 100, `scrolled to ${at}: ${seen.checked} squares checked`);
    }
    await page.evaluate(() => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      box.scrollTop = box.scrollHeight;
    });
    await page.waitForTimeout(300);
    await settle([-1], 'the last team');

    // The mouse on a square of the last team: its title names that agent.
    const probe = await page.evaluate(() => {
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
    await page.mouse.move(probe.x, probe.y);
    let title = '';
    for (let i = 0; i < 25 && !title.includes(`(${probe.agent})`); i++) {
      await page.mouse.move(probe.x + (i % 2) * 0.5, probe.y);
      title = await page.evaluate(() => [...document.querySelectorAll('[data-testid="agent-tiles"] > .group')].at(-1).querySelector('.grid').title);
    }
    assert.ok(title.includes(`(${probe.agent})`), `the square of ${probe.agent} at ${probe.x},${probe.y}: title "${title}"`);

    // Grouped by state instead: six groups, painted again in their new order.
    await page.evaluate(() => {
      document.querySelector('[data-testid="agent-tiles"]').scrollTop = 0;
      window.scrollTo(0, 0); // the page scrolled to show the last team on a short screen
    });
    await page.locator('[data-sort="state"]').dispatchEvent('click');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="agent-tiles"] > .group').length <= 6);
    const byState = await page.evaluate(() => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      const { store } = window.floorwatch;
      const g = box.querySelector(':scope > .group');
      const grid = g.querySelector('.grid');
      const r = grid.getBoundingClientRect();
      const s = parseFloat(box.style.getPropertyValue('--dot'));
      const gap = parseFloat(box.style.getPropertyValue('--gap'));
      const slab = box.querySelector(':scope > canvas.slab[data-slab="0"]');
      const sr = slab.getBoundingClientRect();
      const px = slab.getContext('2d').getImageData(Math.floor(r.left - sr.left + s / 2), Math.floor(r.top - sr.top + s / 2), 1, 1).data;
      return { key: g.dataset.statekey, px: `${px[0]},${px[1]},${px[2]}`, gap, n: store.agents.size };
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

test('a floor under 3,000 agents keeps an element per agent, squares or tiles (no canvases)', async () => {
  const m = await startMock({ agents: 300, teams: 12, seed: 3, clusterHoldMs: 0 });
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(m.url + '/?lang=en');
    await page.waitForSelector('[data-testid="agent-tiles"] .tile');
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
