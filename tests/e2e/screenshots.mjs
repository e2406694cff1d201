// Screenshots of the wallboard for a person to look at. Writes artifacts/shot-*.png.
//
//   node tests/e2e/screenshots.mjs            # the matrix against the mock (page work)
//   node tests/e2e/screenshots.mjs 300 zh 1920x1080 [query...]
//   FLOORWATCH_URL=http://127.0.0.1:8080 [FLOORWATCH_URL_2000=http://…] \
//     node tests/e2e/screenshots.mjs --set   # issue 15's set against real daemons:
//       whole floor (200, and 2,000 when FLOORWATCH_URL_2000 is fed by
//       `floorwatch simulate --agents 2000 --teams 100 --live --tcp …`), team view,
//       kiosk, zh at 1920x1080; 1366x768; 390x844 (full page).

import { startMock } from './mock-server.mjs';
import { launch, ARTIFACTS } from './harness.mjs';
import path from 'node:path';

const args = process.argv.slice(2);
const browser = await launch();

async function shoot(base, name, size, query, { fullPage = false, waitMs = 2500 } = {}) {
  const [w, h] = size.split('x').map(Number);
  const page = await browser.newPage({ viewport: { width: w, height: h } });
  await page.goto(`${base}/?${new URLSearchParams(query)}`);
  await page.waitForSelector('[data-testid="conn-state"][data-state="open"]');
  await page.waitForTimeout(waitMs);
  const file = path.join(ARTIFACTS, `shot-${name}.png`);
  await page.screenshot({ path: file, fullPage });
  console.log(file);
  await page.close();
}

try {
  if (args[0] === '--set') {
    const base = process.env.FLOORWATCH_URL;
    if (!base) throw new Error('--set needs FLOORWATCH_URL (a daemon running --demo)');
    await shoot(base, 'floor-200-en-1920x1080', '1920x1080', { lang: 'en' });
    if (process.env.FLOORWATCH_URL_2000) {
      await shoot(process.env.FLOORWATCH_URL_2000, 'floor-2000-en-1920x1080', '1920x1080', { lang: 'en' }, { waitMs: 4000 });
    }
    await shoot(base, 'team-T03-en-1920x1080', '1920x1080', { lang: 'en', team: 'T03' });
    await shoot(base, 'kiosk-en-1920x1080', '1920x1080', { lang: 'en', kiosk: '1' });
    await shoot(base, 'floor-200-zh-1920x1080', '1920x1080', { lang: 'zh' });
    await shoot(base, 'floor-200-en-1366x768', '1366x768', { lang: 'en' });
    await shoot(base, 'floor-200-en-390x844', '390x844', { lang: 'en' });
    await shoot(base, 'floor-200-en-390x844-full', '390x844', { lang: 'en' }, { fullPage: true });
    await shoot(base, 'unknown-team-en-1920x1080', '1920x1080', { lang: 'en', team: 'T7' });
  } else {
    const [agentsArg, langArg, sizeArg, ...extra] = args;
    const sizes = sizeArg ? [sizeArg] : ['1920x1080', '1280x800'];
    const langs = langArg ? [langArg] : ['en', 'zh'];
    const floors = agentsArg ? [Number(agentsArg)] : [300, 40];
    for (const n of floors) for (const lang of langs) for (const size of sizes) {
      const teams = n >= 200 ? 12 : Math.max(1, Math.round(n / 10));
      const mock = process.env.FLOORWATCH_URL ? null : await startMock({ agents: n, teams, seed: 7 });
      const q = { lang };
      for (const kv of extra) {
        const [k, v = '1'] = kv.split('=');
        q[k] = v;
      }
      const tag = extra.length ? '-' + extra.join('-').replace(/[^a-z0-9-]/gi, '_') : '';
      await shoot(process.env.FLOORWATCH_URL ?? mock.url, `${n}-${lang}-${size}${tag}`, size, q, { waitMs: 1500 });
      if (mock) await mock.close();
    }
  }
} finally {
  await browser.close();
}
