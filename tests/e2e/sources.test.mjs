// The wallboard's "Source down" pill (SPEC §7) against the real daemon: a floorwatch with
// a `freeswitch` source whose event socket is not there yet shows "Source down:
// freeswitch"; once a fake event socket (here, loopback) answers, the pill goes away.
//
// Needs the daemon binary: FLOORWATCH_BIN (scripts/e2e.sh sets it), else
// target/debug/floorwatch. Starts its own daemon on free loopback ports and stops it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO, launch, openBoard, postEvents, shot, sleep } from './harness.mjs';

const BIN = process.env.FLOORWATCH_BIN ?? path.join(REPO, 'target/debug/floorwatch');

/** A free loopback port (nothing listens on it afterwards). */
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A minimal event socket: auth/request, `+OK accepted`, empty lists, then silence. */
function fakeEsl(port) {
  const server = net.createServer((sock) => {
    sock.write('Content-Type: auth/request\n\n');
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const cmd = buf.slice(0, i).trim();
        buf = buf.slice(i + 2);
        if (cmd.startsWith('auth ')) sock.write('Content-Type: command/reply\nReply-Text: +OK accepted\n\n');
        else if (cmd.startsWith('event ')) sock.write('Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n');
        else if (cmd.startsWith('api ')) sock.write('Content-Type: api/response\nContent-Length: 4\n\n+OK\n');
      }
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

let browser;
let daemon;
let base;
let eslPort;
let dir;

before(async () => {
  assert.ok(fs.existsSync(BIN), `no daemon binary at ${BIN}: cargo build, or set FLOORWATCH_BIN`);
  const [http, tcp] = [await freePort(), await freePort()];
  eslPort = await freePort();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-e2e-sources-'));
  const config = path.join(dir, 'floorwatch.toml');
  fs.writeFileSync(config, `[server]\npush_interval_ms = 200\nweb_dir = ${JSON.stringify(path.join(REPO, 'web'))}\n\n[[sources]]\nkind = "freeswitch"\naddr = "127.0.0.1:${eslPort}"\npassword = "ClueCon"\n`);
  daemon = spawn(BIN, ['serve', '--no-journal', '--http', `127.0.0.1:${http}`, '--tcp', `127.0.0.1:${tcp}`, '--config', config], {
    stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'daemon.log'), 'w')],
    env: { ...process.env, FLOORWATCH_LOG: 'info' },
  });
  base = `http://127.0.0.1:${http}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not yet */ }
    await sleep(100);
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  daemon?.kill();
});

test('the wallboard shows "Source down" while a source is down and hides it when up', async () => {
  // A tile, so that the page has a floor to draw.
  await postEvents(base, [{ agent: 'SRC1', state: 'idle', team: 'SRC' }]);
  const page = await openBoard(browser, base, { lang: 'en' });
  const pill = page.locator('[data-testid="sources-down"]');
  try {
    await page.waitForFunction(() => !document.querySelector('[data-testid="sources-down"]').hidden, null, { timeout: 10_000 });
    assert.match(await pill.innerText(), /Source down: freeswitch/);
    await shot(page, 'e2e-source-down');
    const esl = await fakeEsl(eslPort);
    try {
      // The source's backoff reaches a few seconds at most by now.
      await page.waitForFunction(() => document.querySelector('[data-testid="sources-down"]').hidden, null, { timeout: 30_000 });
      assert.ok(await pill.isHidden(), 'the pill is gone once the source is up');
      await shot(page, 'e2e-source-up');
    } finally {
      esl.close();
    }
  } finally {
    await page.close();
  }
});
