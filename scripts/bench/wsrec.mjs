// node wsrec.mjs URL SECONDS [label]  -> per-frame sizes, by key
import { createRequire } from 'node:module';
const WebSocket = createRequire(import.meta.url)('../../tests/e2e/node_modules/ws');
const [url, secs, label = ''] = process.argv.slice(2);
const ws = new WebSocket(url, { headers: { Origin: new URL(url.replace('ws', 'http')).origin } });
let total = 0, frames = 0, t0 = null; const byType = {}; const byKey = {}; const sizes = [];
ws.on('message', (data) => {
  const s = data.toString(); const n = Buffer.byteLength(s);
  t0 ??= Date.now();
  const m = JSON.parse(s); frames++; total += n;
  byType[m.type] = (byType[m.type] ?? 0) + n;
  if (m.type === 'delta') for (const [k, v] of Object.entries(m)) byKey[k] = (byKey[k] ?? 0) + JSON.stringify(v).length;
  sizes.push([Math.round((Date.now() - t0) / 100) / 10, m.type, n, m.alerts ? m.alerts.length : '-', m.agents ? m.agents.length : '-']);
});
setTimeout(() => {
  const dur = (Date.now() - t0) / 1000;
  const k = (o) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]).map(([a, b]) => [a, Math.round(b / 1024)]));
  console.log(JSON.stringify({ label, dur, frames, totalKB: Math.round(total / 1024), KBps_excl_first: Math.round((total - sizes[0][2]) / 1024 / dur), byTypeKB: k(byType), deltaKeysKB: k(byKey) }));
  console.log(JSON.stringify(sizes.slice(0, 8)), '...', JSON.stringify(sizes.slice(-5)));
  process.exit(0);
}, Number(secs) * 1000);
