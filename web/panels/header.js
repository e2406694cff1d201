// The header: scope (whole floor or one team), peak tag, and the clock in the floor's zone.

import { t, teamLabel } from '../i18n.js';
import * as F from '../format.js';
import { $, setText, setAttr } from '../dom.js';
import { store, opts, scopeBlock } from '../store.js';

export function render() {
  setText($('[data-testid="scope"]'), opts.team ? t('scope.team', { team: teamLabel(opts.team) }) : t('scope.floor'));
  const b = scopeBlock();
  const peak = $('[data-testid="peak"]');
  if (!b || b.peak == null) {
    peak.hidden = true;
  } else {
    peak.hidden = false;
    setAttr(peak, 'data-value', String(!!b.peak));
    setText(peak, b.peak ? t('peak.on') : t('peak.off'));
  }
  const tz = store.config.timezone;
  $('[data-testid="clock"]').title = tz ? t('tz', { tz }) : '';
}

export function tick(now) {
  // The wall clock keeps time even when the feed is stale: it is the room's clock.
  if (store.now != null) setText($('.clock-time'), F.clock(now, store.config.timezone));
}
