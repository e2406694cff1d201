// The wallboard at a large floor (issue 20): a real daemon fed a live simulated floor over
// TCP, one headless Chromium wallboard, and three numbers:
//   1. first frame: from navigation start to the agent tiles on screen (the page's own
//      performance clock, polled every animation frame);
//   2. bytes per second of /ws frames the page received, over --secs seconds of the live
//      floor (counted in the browser through the DevTools protocol; the first `full` frame
//      is reported on its own);
//   3. frame rate while scrolling the agent tiles for --scroll-secs seconds: a Chromium
//      performance trace (`Tracing.start` over CDP; frames presented and dropped from its
//      PipelineReporter events, as DevTools counts them, and main-thread tasks over 50 ms)
//      and, beside it, the page's requestAnimationFrame intervals.
// Also a 1920x1080 screenshot (artifacts/board-scale-<agents>.png) and the feed's event
// rate. Everything is on 127.0.0.1 on free ports; the script stops what it started.
//
//   node tests/e2e/board-scale.mjs [--bin target/debug/floorwatch] [--web web/] [--agents 20000]
//        [--teams 400] [--secs 60] [--scroll-secs 10] [--json] [--profile] [--trace-names]
//        [--url http://127.0.0.1:8099]   (measure a running board instead)
//
// Not part of `npm test`: it takes two to three minutes (the floor logs in over the first
// simulated minute, then --secs of measuring).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { launch, REPO, ARTIFACTS, sleep } from './harness.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] != null ? argv[i + 1] : dflt;
};
const BIN = path.resolve(REPO, arg('bin', 'target/debug/floorwatch'));
const AGENTS = Number(arg('agents', 20000));
const TEAMS = Number(arg('teams', 400));
const SECS = Number(arg('secs', 60));
const SCROLL_SECS = Number(arg('scroll-secs', 10));
const JSON_OUT = argv.includes('--json');
// The page to serve (another checkout's web/ measures that version's page).
const WEB = path.resolve(arg('web', path.join(REPO, 'web')));

const log = (...a) => console.error('[board-scale]', ...a);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const children = [];
function start(name, args) {
  const out = fs.openSync(path.join(ARTIFACTS, `board-scale-${name}.log`), 'w');
  const p = spawn(BIN, args, { stdio: ['ignore', out, out] });
  children.push(p);
  return p;
}
function stopAll() {
  for (const p of children) if (p.exitCode == null) p.kill('SIGTERM');
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopAll(); process.exit(130); });

/** The hottest functions (self time) of a CDP CPU profile. */
function logProfile(what, profile) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const k = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    self.set(k, (self.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  log(`self time, ${what} (ms):`, [...self].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
}

async function metrics(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  let applied = 0;
  let loggedIn = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('floorwatch_events_total{') && line.includes('outcome="applied"')) {
      applied += Number(line.split(' ').pop());
    } else if (line.startsWith('floorwatch_agents{') && !line.includes('state="offline"')) {
      loggedIn += Number(line.split(' ').pop());
    }
  }
  return { applied, loggedIn };
}

async function main() {
  // --url: measure a board someone else serves (e.g. `node mock-server.mjs --agents 20000`,
  // for page work without waiting for a floor to log in); no daemon or feed is started.
  const url = arg('url', null);
  const base = url ? url.replace(/\/+$/, '') : await startFloor();
  await measure(base);
}

async function startFloor() {
  if (!fs.existsSync(BIN)) throw new Error(`no daemon at ${BIN}: cargo build first, or --bin`);
  const http = await freePort();
  const tcp = await freePort();
  const base = `http://127.0.0.1:${http}`;
  // The page from this checkout's web/ (not the copy embedded in the binary), so that a page
  // change can be measured against any daemon build.
  const cfg = path.join(ARTIFACTS, 'board-scale.toml');
  fs.writeFileSync(cfg, `[server]\nweb_dir = ${JSON.stringify(WEB)}\n`);
  start('daemon', ['serve', '--config', cfg, '--no-journal', '--http', `127.0.0.1:${http}`, '--tcp', `127.0.0.1:${tcp}`]);
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error('daemon did not become ready in 30 s');
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not yet */ }
    await sleep(100);
  }
  start('feed', ['simulate', '--live', '--no-shifts', '--agents', String(AGENTS), '--teams', String(TEAMS),
    '--duration', 'forever', '--tcp', `127.0.0.1:${tcp}`]);
  // Every agent logs in within the first simulated minute (--no-shifts).
  const t0 = Date.now();
  for (;;) {
    const m = await metrics(base);
    if (m.loggedIn >= AGENTS * 0.98) break;
    if (Date.now() - t0 > 180_000) throw new Error(`only ${m.loggedIn} of ${AGENTS} agents logged in after 180 s`);
    await sleep(2000);
  }
  log(`floor of ${AGENTS} agents logged in after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return base;
}

async function measure(base) {

  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    let counting = false;
    let bytes = 0;
    let frames = 0;
    let fullBytes = null;
    const kinds = {};
    const byKey = {}; // bytes of each key over all deltas
    let changedAgents = 0;
    page.on('websocket', (ws) => {
      ws.on('framereceived', ({ payload }) => {
        const n = Buffer.byteLength(payload);
        if (fullBytes == null) { fullBytes = n; return; }
        if (!counting) return;
        bytes += n;
        frames++;
        let m = null;
        try { m = JSON.parse(String(payload)); } catch { /* counted as '?' */ }
        const type = m?.type ?? '?';
        kinds[type] = (kinds[type] ?? 0) + 1;
        if (type === 'delta') {
          for (const [k, v] of Object.entries(m)) byKey[k] = (byKey[k] ?? 0) + JSON.stringify(v).length;
          changedAgents += m.agents?.length ?? 0;
        }
      });
    });
    // When the first /ws message has arrived (before the page has parsed or drawn it).
    await page.addInitScript(() => {
      const W = window.WebSocket;
      window.WebSocket = class extends W {
        constructor(...a) {
          super(...a);
          this.addEventListener('message', () => { window.__firstMessageMs ??= performance.now(); });
        }
      };
    });
    const cdp = await page.context().newCDPSession(page);
    if (argv.includes('--profile')) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    await page.goto(base + '/');
    const firstFrameMs = await (await page.waitForFunction(
      // Tiles as elements, or squares drawn on a group's canvas (colour-only dot mode).
      () => (document.querySelector('#app.has-data [data-testid="agent-tiles"] :is(.tile, canvas.slab[data-drawn])') ? performance.now() : false),
      null, { polling: 'raf', timeout: 60_000 },
    )).jsonValue();
    if (argv.includes('--profile')) logProfile('first frame', (await cdp.send('Profiler.stop')).profile);
    const tilesInDom = await page.evaluate(() => document.querySelectorAll('[data-testid="agent-tiles"] .tile').length);
    // Every element of the tiles panel (tiles, their text, group boxes, canvases).
    const panelElements = () => page.evaluate(() => document.querySelectorAll('[data-testid="agent-tiles"] *').length);
    const elementsFirst = await panelElements();
    const firstMessageMs = await page.evaluate(() => window.__firstMessageMs);
    log(`first frame on screen after ${firstFrameMs.toFixed(0)} ms (received at ${firstMessageMs.toFixed(0)} ms; full frame ${(fullBytes / 1e3).toFixed(0)} KB, ${tilesInDom} tiles and ${elementsFirst} elements in the tiles panel)`);

    const m0 = await metrics(base);
    counting = true;
    const c0 = Date.now();
    await sleep(SECS * 1000);
    counting = false;
    const elapsed = (Date.now() - c0) / 1000;
    const m1 = await metrics(base);
    const bytesPerSec = bytes / elapsed;
    const eventsPerSec = (m1.applied - m0.applied) / elapsed;
    log(`ws: ${(bytesPerSec / 1e3).toFixed(1)} KB/s over ${elapsed.toFixed(0)} s, ${frames} frames ${JSON.stringify(kinds)}; feed ${eventsPerSec.toFixed(0)} events/s`);
    log(`delta KB/s by key: ${Object.entries(byKey).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${(v / elapsed / 1e3).toFixed(1)}`).join(', ')}; ${(changedAgents / elapsed).toFixed(0)} agent records/s`);
    await page.screenshot({ path: path.join(ARTIFACTS, `board-scale-${AGENTS}.png`) });

    // Scrolling: a trace while the page scrolls the tiles panel a little every frame.
    const events = [];
    cdp.on('Tracing.dataCollected', ({ value }) => events.push(...value));
    const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
    await cdp.send('Tracing.start', {
      traceConfig: { includedCategories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline.frame'] },
      transferMode: 'ReportEvents',
    });
    // --profile: the page's hottest functions while scrolling (for finding what to fix).
    if (argv.includes('--profile')) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const raf = await page.evaluate(async (secs) => {
      const box = document.querySelector('[data-testid="agent-tiles"]');
      const max = box.scrollHeight - box.clientHeight;
      const times = [];
      let dir = 1;
      let top = box.scrollTop;
      await new Promise((resolve) => {
        const end = performance.now() + secs * 1000;
        const step = (ts) => {
          times.push(ts);
          if (max > 0) {
            // Kept here rather than read back: reading scrollTop would force a layout.
            top += dir * 12;
            if (top >= max || top <= 0) dir = -dir;
            top = Math.max(0, Math.min(max, top));
            box.scrollTop = top;
          }
          if (ts < end) requestAnimationFrame(step);
          else resolve();
        };
        requestAnimationFrame(step);
      });
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      const span = (times.at(-1) - times[0]) / 1000;
      return {
        scrollable_px: max,
        frames: times.length,
        fps: (times.length - 1) / span,
        long_frames: gaps.filter((g) => g > 25).length, // a frame of 60 Hz missed
        worst_ms: Math.max(...gaps),
      };
    }, SCROLL_SECS);
    if (argv.includes('--profile')) logProfile('scrolling', (await cdp.send('Profiler.stop')).profile);
    const elementsScrolled = await panelElements();
    await cdp.send('Tracing.end');
    await done;
    const count = (name) => events.filter((e) => e.name === name).length;
    if (argv.includes('--trace-names')) {
      const names = {};
      for (const e of events) names[e.name] = (names[e.name] ?? 0) + 1;
      const mainIds = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
      const busy = {};
      for (const e of events) if (e.dur && mainIds.has(`${e.pid}:${e.tid}`)) busy[e.name] = (busy[e.name] ?? 0) + e.dur / 1000;
      log('main thread ms by event:', Object.entries(busy).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
    }
    // Frames as DevTools counts them: one PipelineReporter per frame the compositor began,
    // presented or dropped. Tasks over 50 ms on the page's main thread.
    const states = {};
    for (const e of events) {
      if (e.name === 'PipelineReporter' && e.ph === 'b') {
        const st = (e.args?.frame_reporter ?? e.args?.chrome_frame_reporter)?.state ?? '?';
        states[st] = (states[st] ?? 0) + 1;
      }
    }
    // PRESENTED_PARTIAL reports repeat a frame for another source; ALL is one per frame shown.
    const presented = states.STATE_PRESENTED_ALL ?? 0;
    const dropped = states.STATE_DROPPED ?? 0;
    const main = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
    const longTasks = events.filter((e) => e.name.endsWith('RunTask') && e.dur > 50_000 && main.has(`${e.pid}:${e.tid}`)).length;
    const trace = { presented_frames: presented, dropped_frames: dropped, fps: presented / SCROLL_SECS, long_tasks: longTasks, states };
    log(`scroll ${SCROLL_SECS} s over ${raf.scrollable_px} px: trace ${presented} frames presented (${trace.fps.toFixed(1)} fps), ${dropped} dropped, ${longTasks} main-thread tasks > 50 ms; rAF ${raf.fps.toFixed(1)} fps, ${raf.long_frames} frames > 25 ms, worst ${raf.worst_ms.toFixed(0)} ms; ${elementsScrolled} elements in the tiles panel after`);
    if (errors.length) log('page errors:', errors.slice(0, 5));
    const out = {
      agents: AGENTS, teams: TEAMS, secs: elapsed,
      first_frame_ms: Math.round(firstFrameMs), first_message_ms: Math.round(firstMessageMs), full_frame_bytes: fullBytes, tiles_in_dom: tilesInDom,
      panel_elements_first: elementsFirst, panel_elements_scrolled: elementsScrolled,
      ws_bytes_per_s: Math.round(bytesPerSec), ws_frames: kinds,
      delta_bytes_per_s_by_key: Object.fromEntries(Object.entries(byKey).map(([k, v]) => [k, Math.round(v / elapsed)])),
      agent_records_per_s: Math.round(changedAgents / elapsed), feed_events_per_s: Math.round(eventsPerSec),
      scroll_trace: trace, scroll_raf: raf, page_errors: errors.length,
    };
    console.log(JSON_OUT ? JSON.stringify(out) : [
      `board-scale: ${AGENTS} agents, ${TEAMS} teams, feed ${out.feed_events_per_s} events/s`,
      `  first frame on screen   ${out.first_frame_ms} ms (received at ${out.first_message_ms} ms; full frame ${(fullBytes / 1e3).toFixed(0)} KB)`,
      `  ws bytes per client     ${(bytesPerSec / 1e3).toFixed(1)} KB/s over ${elapsed.toFixed(0)} s`,
      `  scrolling (trace)       ${trace.fps.toFixed(1)} fps presented, ${dropped} frames dropped, ${longTasks} main-thread tasks > 50 ms`,
      `  scrolling (rAF)         ${raf.fps.toFixed(1)} fps, ${raf.long_frames} frames > 25 ms, worst ${raf.worst_ms.toFixed(0)} ms`,
    ].join('\n'));
  } finally {
    await browser.close();
    stopAll();
  }
}

main().catch((e) => { console.error(e); stopAll(); process.exit(1); });
