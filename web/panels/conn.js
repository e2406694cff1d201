// Connection and feed state: the pill in the header ("Live", amber "No events for 3 min"),
// the age of the last event beside it, and the "connection lost" notice over the board.
//
// Two different failures: the socket to the daemon is gone (conn 'lost': red notice, the
// figures are as of the last frame), or the daemon is up but its feed died (no applied
// event for `opts.staleMs`, default 60 s: amber pill, tiles stop counting up at the last
// event, the board dims). A floor busy enough to need a wallboard sends an event every few
// seconds; 60 s of silence in working hours means a broken feed, not a quiet floor.

import { t, ageLabel } from '../i18n.js';
import * as F from '../format.js';
import { $, setText, setAttr } from '../dom.js';
import { store, feed } from '../store.js';

export function render(now) {
  const app = $('#app');
  const c = $('[data-testid="conn-state"]');
  const lost = store.conn === 'lost';
  const fs = store.conn === 'open' ? feed(now) : 'none';
  setAttr(c, 'data-state', store.conn);
  setAttr(c, 'data-feed', fs);
  setAttr(app, 'data-conn', store.conn);
  setAttr(app, 'data-feed', store.conn === 'open' ? fs : null);
  let text;
  if (store.conn === 'open') {
    if (fs === 'stale') text = t('feed.stale', { age: ageLabel(F.age(now - store.lastEvent)) });
    else if (fs === 'none') text = t('feed.none');
    else text = t('conn.open');
  } else if (store.conn === 'connecting') text = t('conn.connecting');
  else text = t('conn.lost');
  setText($('.conn-text', c), text);

  // Served without a viewer token on an address other hosts reach: say so, on purpose.
  const openEl = $('[data-testid="open-badge"]');
  openEl.hidden = !store.config.open;
  setText(openEl, store.config.open ? t('conn.open_access') : '');
  openEl.title = store.config.open ? t('conn.open_access_title') : '';

  // A platform source (Asterisk...) that lost its connection: its agents' states are as of
  // the loss until it is back.
  const down = store.conn === 'open' ? store.sourcesDown ?? [] : [];
  const downEl = $('[data-testid="sources-down"]');
  downEl.hidden = down.length === 0;
  setText(downEl, down.length ? t('conn.sources_down', { names: down.join(', ') }) : '');

  const ageEl = $('[data-testid="feed-age"]');
  const tz = store.config.timezone;
  if (store.lastEvent != null && store.conn === 'open') {
    setAttr(ageEl, 'data-age-ms', Math.max(0, now - store.lastEvent));
    setText(ageEl, fs === 'stale'
      ? t('feed.stale_sub', { time: F.clock(store.lastEvent, tz) })
      : t('feed.age', { age: ageLabel(F.age(now - store.lastEvent)) }));
  } else {
    setAttr(ageEl, 'data-age-ms', null);
    setText(ageEl, '');
  }

  const overlay = $('[data-testid="conn-lost"]');
  overlay.hidden = !lost;
  if (lost) {
    const secs = store.retryAt ? Math.max(1, Math.ceil((store.retryAt - Date.now()) / 1000)) : 0;
    setText($('.lost-title', overlay), store.retryAt ? t('conn.retry', { s: secs }) : t('conn.retrying'));
    setText($('.lost-sub', overlay), store.now != null ? t('conn.last', { time: F.clock(store.now, tz) }) : '');
  }
}

export const tick = render;
