// floorwatch wallboard: holds the board pushed over /ws (docs/ws-protocol.md) and draws it.
//
// store.js owns what the server said; each panel in panels/ draws one part of the page
// from it: header (scope, peak, clock), conn (connection and feed state), unknown (an
// unknown ?team=), action (the action lane: aux clusters via banner, long aux, out of
// adherence), strip (counts and KPIs), queues (calls waiting, longest wait, service
// level), teams (the team table), aht (the team view's AHT control chart), alerts (the
// alert list), tiles (the agents).
// This file wires them: frames -> store -> render (batched to one per animation frame),
// plus a one-second tick that moves clocks, timers and fades without waiting for the
// server (and once more the frame after each render), and the controls.
//
// Page parameters: ?team=T07 (one team; passed on to /ws), ?lang=zh|en (default: the
// server's [wallboard] lang, else the browser's), ?kiosk=1 (no controls, pages through what does not fit), ?sort=team|state|time,
// ?offline=0 (hide logged-out agents), ?token=… (viewer token; passed on to /ws),
// ?stale_secs=N (no event for this long = stale feed; default 60).
// The page makes no other requests than its own files and /ws.

import { t, setLang, pickLang, lang } from './i18n.js';
import { connect } from './conn.js';
import { $, setText } from './dom.js';
import { store, opts, onFrame, serverNow } from './store.js';
import * as header from './panels/header.js';
import * as connPanel from './panels/conn.js';
import * as unknown from './panels/unknown.js';
import * as banner from './panels/banner.js';
import * as action from './panels/action.js';
import * as strip from './panels/strip.js';
import * as teams from './panels/teams.js';
import * as aht from './panels/aht.js';
import * as alerts from './panels/alerts.js';
import * as tiles from './panels/tiles.js';
import * as queues from './panels/queues.js';

const app = $('#app');
setLang(pickLang(opts.lang, navigator.languages?.length ? navigator.languages : [navigator.language]));

// A handle for tests and for people poking at a wall screen from devtools: the store (read
// it only) and kiosk paging's next step.
window.floorwatch = { store, opts, page: () => pageAll() };

/** Kiosk paging: the tiles and the team table, each a screenful on. */
function pageAll() {
  tiles.page();
  teams.page();
}

function applyStaticText() {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  document.title = opts.team ? `${t('doc.title')} · ${opts.team}` : t('doc.title');
  for (const e of document.querySelectorAll('[data-i18n]')) setText(e, t(e.dataset.i18n));
  for (const e of document.querySelectorAll('[data-i18n-title]')) e.title = t(e.dataset.i18nTitle);
  for (const e of document.querySelectorAll('[data-i18n-aria]')) e.setAttribute('aria-label', t(e.dataset.i18nAria));
  const langBtn = $('[data-action="lang"]');
  setText(langBtn, t('btn.lang'));
  langBtn.title = t('btn.lang_title');
  langBtn.lang = lang() === 'zh' ? 'en' : 'zh-CN';
  updateFullscreenLabel();
}

/** Every text on the page in language `next` (the button; the floor's `[wallboard] lang`). */
function relabel(next) {
  setLang(next);
  applyStaticText();
  tiles.relabel();
  banner.relabel();
  teams.relabel();
  aht.relabel();
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

// The server time the last tick moved the timers to. A push's frame draws the lane's cards
// and the changed tiles at it too, so that no timer turns over before the others: a card
// drawn at a second's turn read a second more than its agent's tile until the next frame.
let tickNow = null;

function render() {
  const now = tickNow ?? serverNow();
  app.classList.toggle('has-data', store.now != null);
  header.render();
  unknown.render();
  strip.render();
  queues.render();
  teams.render();
  aht.render();
  banner.render();
  action.render(now);
  tiles.render(now);
  alerts.render();
  tickSoon();
}

// The timers and fades moved to the new data in the next frame rather than in the push's:
// at 20,000 agents the panels and the tick together took longer than a frame, and the
// frame was missed while the tiles scrolled (issue 20). A frame later is not to be seen.
let tickQueued = false;
function tickSoon() {
  if (tickQueued) return;
  tickQueued = true;
  requestAnimationFrame(() => {
    tickQueued = false;
    tick(false);
  });
}

function tick(reschedule = true) {
  const now = serverNow();
  tickNow = now;
  connPanel.tick(now);
  if (store.now != null) {
    header.tick(now);
    queues.tick(now);
    tiles.tick(now);
    banner.tick(now);
    action.tick(now);
    alerts.tick(now);
    // Entries' text moves every second (durations) but rarely changes their height: refit
    // every fifth second rather than forcing a layout every tick.
    if (Math.floor(now / 1000) % 5 === 0) alerts.fit();
  }
  if (reschedule) {
    // Wake just after the next whole server second, so all timers turn over together.
    const ms = 1000 - (((serverNow() % 1000) + 1000) % 1000) + 15;
    setTimeout(tick, ms);
  }
}

// Controls -----------------------------------------------------------------------------------

function setParam(k, v) {
  const u = new URL(location.href);
  if (v == null) u.searchParams.delete(k);
  else u.searchParams.set(k, v);
  history.replaceState(null, '', u);
}

function updateSortButtons() {
  for (const b of document.querySelectorAll('[data-sort]')) {
    b.setAttribute('aria-pressed', String(b.dataset.sort === opts.sort));
  }
  app.dataset.sort = opts.sort;
}

function updateFullscreenLabel() {
  const b = $('[data-action="fullscreen"]');
  const on = !!document.fullscreenElement;
  setText($('.label', b), on ? t('btn.exit_fullscreen') : t('btn.fullscreen'));
  b.title = $('.label', b).textContent;
  b.hidden = !document.fullscreenEnabled;
}

document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button');
  if (!b) return;
  if (b.dataset.sort) {
    opts.sort = b.dataset.sort;
    setParam('sort', opts.sort === 'team' ? null : opts.sort);
    updateSortButtons();
    tiles.regroup();
    scheduleRender();
  } else if (b.dataset.action === 'lang') {
    const next = lang() === 'zh' ? 'en' : 'zh';
    relabel(next);
    setParam('lang', next);
    render();
  } else if (b.dataset.action === 'fullscreen') {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen?.().catch(() => {});
  }
});
document.addEventListener('fullscreenchange', () => {
  app.classList.toggle('fullscreen', !!document.fullscreenElement);
  updateFullscreenLabel();
});

// Start --------------------------------------------------------------------------------------

function wsUrl() {
  // Relative to the page, so a reverse proxy that serves the board under a path works.
  const u = new URL('ws', document.baseURI);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (opts.team) u.searchParams.set('team', opts.team);
  if (opts.token) u.searchParams.set('token', opts.token);
  return u.toString();
}

if (opts.kiosk) {
  app.classList.add('kiosk');
  setInterval(pageAll, 12000);
}
app.classList.toggle('team-mode', !!opts.team);
applyStaticText();
updateSortButtons();
tiles.observe();
aht.observe();
new ResizeObserver(() => alerts.fit()).observe($('.alerts'));
connPanel.render(serverNow());
connect(wsUrl(), {
  frame: (msg) => {
    if (!onFrame(msg)) return;
    // The floor's language (`[wallboard] lang`), unless this page's ?lang= chose one: a TV
    // whose browser speaks English shows a Chinese floor's board in Chinese.
    const floorLang = msg.type === 'full' && !opts.lang ? store.config.lang : null;
    if ((floorLang === 'en' || floorLang === 'zh') && floorLang !== lang()) relabel(floorLang);
    scheduleRender();
  },
  state: (state, info) => {
    store.conn = state;
    store.retryAt = info?.retryAt ?? null;
    connPanel.render(serverNow());
  },
});
tick();
