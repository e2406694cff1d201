// Shared helpers for the browser tests: the browser, the target daemon (real or mock),
// its HTTP API, and stopping / starting it.

import { chromium } from 'playwright-core';
import { merge } from '../../web/merge.js';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../..');
export const ARTIFACTS = path.join(REPO, 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Viewer token for the page and the API (`?token=`, `Authorization: Bearer`). */
export const TOKEN = process.env.FLOORWATCH_TOKEN || null;

function authHeaders(token) {
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function getJson(base, p, token = TOKEN) {
  const res = await fetch(new URL(p, base), { headers: authHeaders(token) });
  if (!res.ok) throw new Error(`GET ${p}: HTTP ${res.status} ${await res.text().catch(() => '')}`);
  return res.json();
}

/** GET /api/v1/board[?team=]: the same document as the `full` frame. */
export function fetchBoard(base, team = null, token = TOKEN) {
  return getJson(base, team ? `/api/v1/board?team=${encodeURIComponent(team)}` : '/api/v1/board', token);
}

/**
 * POST /api/v1/events with a JSON array of native events (SPEC §2.1), e.g.
 * [{"agent":"E2E1","state":"aux","reason":"break","team":"E2E"}] — no `ts`, so the daemon
 * stamps them with its own time. Returns the outcome counts; throws unless all applied.
 */
export async function postEvents(base, events, token = process.env.FLOORWATCH_INGEST_TOKEN || TOKEN) {
  const res = await fetch(new URL('/api/v1/events', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders(token) },
    body: JSON.stringify(events),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST /api/v1/events: HTTP ${res.status} ${text}`);
  const out = JSON.parse(text);
  if (typeof out.applied === 'number' && out.applied !== events.length) {
    throw new Error(`POST /api/v1/events: ${out.applied} of ${events.length} applied: ${text}`);
  }
  return out;
}

function sh(cmd) {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', cmd], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * The daemon under test. With FLOORWATCH_URL, the real one (the lead's script started it);
 * otherwise an in-process mock. `stop()`/`start()` make the server go away and come back:
 * in-process for the mock; for the real daemon through FLOORWATCH_STOP_CMD and
 * FLOORWATCH_START_CMD, or FLOORWATCH_RESTART_CMD as one step (see `restartCapability`).
 */
export async function target(mockOpts = {}) {
  const url = process.env.FLOORWATCH_URL;
  if (url) {
    const base = url.replace(/\/+$/, '');
    return {
      real: true,
      base,
      pushIntervalMs: null,
      stopCmd: process.env.FLOORWATCH_STOP_CMD || null,
      startCmd: process.env.FLOORWATCH_START_CMD || null,
      restartCmd: process.env.FLOORWATCH_RESTART_CMD || null,
      async stop() { await sh(this.stopCmd); },
      async start() { await sh(this.startCmd); },
      async restart() { await sh(this.restartCmd); },
      async close() {},
    };
  }
  const { startMock } = await import('./mock-server.mjs');
  const m = await startMock({ agents: 300, teams: 12, seed: 3, clusterHoldMs: 0, ...mockOpts });
  return {
    real: false,
    base: m.url,
    mock: m,
    stopCmd: true,
    startCmd: true,
    restartCmd: null,
    stop: () => m.stop(),
    start: () => m.start(),
    async restart() { await m.stop(); await sleep(1500); await m.start(); },
    close: () => m.close(),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens the wallboard at 1920x1080 and waits for the first full frame to be drawn. */
export async function openBoard(browser, base, query = {}, viewport = { width: 1920, height: 1080 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(new Error(m.text())); });
  const q = new URLSearchParams();
  if (TOKEN && !('token' in query)) q.set('token', TOKEN);
  for (const [k, v] of Object.entries(query)) if (v != null) q.set(k, v);
  const qs = q.toString();
  await page.goto(`${base}/${qs ? '?' + qs : ''}`);
  await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 15_000 });
  await page.waitForFunction(() => document.querySelector('#app').classList.contains('has-data'));
  page.errors = errors;
  return page;
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/**
 * Listens to /ws like a page does and keeps the board as of each frame's `now`, so a test
 * can compare the page with the exact document it was drawn from when the live figures
 * have moved on between the page's last frame and a GET of /api/v1/board.
 */
export async function recordFrames(base, team = null, token = TOKEN) {
  const { WebSocket } = await import('ws');
  const u = new URL('/ws', base.replace(/^http/, 'ws'));
  if (team) u.searchParams.set('team', team);
  if (token) u.searchParams.set('token', token);
  const ws = new WebSocket(u);
  const frames = new Map(); // now -> { floor, teams }
  let cur = null;
  ws.on('message', (data) => {
    let m;
    try { m = JSON.parse(String(data)); } catch { return; }
    if (m.type === 'full') cur = { floor: m.floor, teams: m.teams };
    else if (m.type === 'delta' && cur) {
      // `teams_changed`: per team only what changed, merged as the page merges it.
      const teams = m.teams ?? (m.teams_changed
        ? cur.teams.map((x) => {
          const p = m.teams_changed.find((c) => c.team === x.team);
          return p ? merge(x, p) : x;
        })
        : cur.teams);
      cur = { floor: m.floor ?? cur.floor, teams };
    }
    else return;
    frames.set(m.now, cur);
    if (frames.size > 120) frames.delete(frames.keys().next().value);
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return { frames, close: () => ws.terminate() };
}
