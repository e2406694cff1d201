// Issue 20: boards of many thousand agents. The page makes the tiles of the groups on screen (and
// those about to scroll in) and leaves the others as empty boxes of the right size until
// they come into view. Always against the mock: the daemon under test in scripts/e2e.sh
// has a demo floor of a few hundred agents. `board-scale.mjs` measures the real thing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './harness.mjs';
import { startMock } from './mock-server.mjs';

test('a 20,000-agent board makes tiles only for the groups on screen, the others as they scroll in', async () => {
  const m = await startMock({ agents: 20000, teams: 400, seed: 3, clusterHoldMs: 0 });
  const browser = await launch();
  try {
    // Not openBoard's 15 s: a 20,000-agent mock on a machine shared with builds is slow to start.
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e));
    await page.goto(m.url + '/');
    await page.waitForSelector('[data-testid="agent-tiles"] .tile', { timeout: 60_000 });
    const state = () => page.evaluate(() => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      const groups = [...box.querySelectorAll(':scope > .group')];
      const shown = [...window.floorwatch.store.agents.values()]; // offline agents are shown too (?offline=1)
      const last = groups.at(-1);
      return {
        tiles: box.querySelectorAll('.tile').length,
        agents: shown.length,
        groups: groups.length,
        scrollable: box.scrollHeight - box.clientHeight,
        lastTeam: last.dataset.group,
        lastTiles: last.querySelectorAll('.tile').length,
        lastHeight: last.querySelector('.grid').getBoundingClientRect().height,
        lastMembers: shown.filter((a) => a.team === last.dataset.group).length,
      };
    });
    const before = await state();
    assert.equal(before.agents, 20000);
    assert.equal(before.groups, 400, 'every team has its group');
    assert.ok(before.scrollable > 0, 'the panel scrolls at 20,000 agents');
    assert.ok(before.tiles > 0 && before.tiles < before.agents / 2, `tiles made: ${before.tiles} of ${before.agents}`);
    assert.equal(before.lastTiles, 0, 'the last group is off screen: no tiles yet');
    assert.ok(before.lastHeight > 0, 'an empty group keeps its place');

    await page.evaluate(() => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      box.scrollTop = box.scrollHeight;
    });
    await page.waitForFunction(() => {
      const last = [...document.querySelectorAll('[data-testid="agent-tiles"] > .group')].at(-1);
      return last.querySelectorAll('.tile').length > 0;
    }, null, { timeout: 10_000 });
    const after = await state();
    assert.equal(after.lastTiles, after.lastMembers, `team ${after.lastTeam}: one tile per member once on screen`);
    assert.ok(Math.abs(after.lastHeight - before.lastHeight) < 1, 'the group did not change size when its tiles came');
    // A tile in view tells the time in state (the one-second tick reaches it).
    const time = await page.evaluate(() => {
      const last = [...document.querySelectorAll('[data-testid="agent-tiles"] > .group')].at(-1);
      return last.querySelector('.tile .t-time').textContent;
    });
    assert.match(time, /\d/);
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
    await m.close();
  }
});
