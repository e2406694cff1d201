// Screenshots of the wallboard for a person to look at: each floor size x language x
// screen, against the mock daemon (or FLOORWATCH_URL). Writes artifacts/shot-*.png.
//
//   node tests/e2e/screenshots.mjs            # the whole matrix
//   node tests/e2e/screenshots.mjs 300 zh 1920x1080 [query...]

import { startMock } from './mock-server.mjs';
import { launch, ARTIFACTS } from './harness.mjs';
import path from 'node:path';

const [agentsArg, langArg, sizeArg, ...extra] = process.argv.slice(2);
const matrix = [];
const sizes = sizeArg ? [sizeArg] : ['1920x1080', '1280x800'];
const langs = langArg ? [langArg] : ['en', 'zh'];
const floors = agentsArg ? [Number(agentsArg)] : [300, 40];
for (const n of floors) for (const lang of langs) for (const size of sizes) matrix.push({ n, lang, size });

const browser = await launch();
try {
  for (const { n, lang, size } of matrix) {
    const teams = n >= 200 ? 12 : Math.max(1, Math.round(n / 10));
    const mock = process.env.FLOORWATCH_URL ? null : await startMock({ agents: n, teams, seed: 7 });
    const base = process.env.FLOORWATCH_URL ?? mock.url;
    const [w, h] = size.split('x').map(Number);
    const page = await browser.newPage({ viewport: { width: w, height: h } });
    const q = new URLSearchParams({ lang });
    for (const kv of extra) {
      const [k, v = '1'] = kv.split('=');
      q.set(k, v);
    }
    await page.goto(`${base}/?${q}`);
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]');
    await page.waitForTimeout(1500);
    const name = `shot-${n}-${lang}-${size}${extra.length ? '-' + extra.join('-').replace(/[^a-z0-9-]/gi, '_') : ''}.png`;
    await page.screenshot({ path: path.join(ARTIFACTS, name) });
    console.log(path.join(ARTIFACTS, name));
    await page.close();
    if (mock) await mock.close();
  }
} finally {
  await browser.close();
}
