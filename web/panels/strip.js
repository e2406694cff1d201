// The strip under the header: state counts and the three KPIs over the two shortest
// configured windows (`store.win.short`, `store.win.long`), for the floor or `?team=`.

import { t, winLabel } from '../i18n.js';
import * as F from '../format.js';
import { $, setText, setAttr, setFig } from '../dom.js';
import { store, opts, scopeBlock } from '../store.js';
import { lvlText, talkFigure } from './levels.js';

function bandText(band) {
  if (!band) return '';
  const short = (x) => F.pct(x).replace('.0%', '%');
  return t('kpi.band', { lo: short(band[0]).replace('%', ''), hi: short(band[1]) });
}

export function render() {
  const strip = $('[data-testid="floor-strip"]');
  setAttr(strip, 'data-scope', opts.team ? 'team' : 'floor');
  const b = scopeBlock();
  const cur = b?.current ?? {};
  const win = b?.windows ?? {};
  const cnt = (field, v) => {
    const e = $(`[data-testid="floor-${field}"]`, strip);
    const text = F.int(v);
    setFig(e, text, v ?? null);
    // Five digits and more (a 20,000-seat floor) are set smaller to fit their box
    // (style.css .count .num): "14118" ran into the next count.
    const len = String(text).length;
    const want = len > 4 ? String(len) : '';
    if (e.style.getPropertyValue('--len') !== want) e.style.setProperty('--len', want);
  };
  const planned = cur.aux != null && cur.aux_unplanned != null ? cur.aux - cur.aux_unplanned : null;
  cnt('talking', cur.talking);
  cnt('acw', cur.acw);
  cnt('aux_unplanned', cur.aux_unplanned);
  cnt('aux_planned', planned);
  cnt('idle', cur.idle);
  cnt('logged_in', cur.logged_in);
  // Agents not due on the floor today (dormant: a roster's other days) are not counted.
  const offline = cur.offline != null ? Math.max(0, cur.offline - store.dormant.size) : null;
  const off = $('[data-testid="floor-offline"]', strip);
  setText(off, offline != null ? t('offline.count', { n: offline }) : '');
  setAttr(off, 'data-value', F.raw(offline));

  const c = store.config;
  for (const slot of ['short', 'long']) {
    const name = store.win[slot];
    const f = win[name] ?? {};
    for (const e of strip.querySelectorAll(`[data-win="${slot}"]`)) setText(e, winLabel(name));
    let e = $(`[data-testid="floor-talk_utilization_${slot}"]`, strip);
    const [text, v, tlv] = talkFigure(f, c);
    setFig(e, text, v, tlv, lvlText('talk', tlv));
    setAttr(e, 'data-window', name);
    e = $(`[data-testid="floor-aux_ratio_${slot}"]`, strip);
    const lv = F.auxLevel(f.aux_ratio ?? null, c.aux_band);
    setFig(e, F.pctBeside(f.aux_ratio, F.auxEdges(c.aux_band)), f.aux_ratio ?? null, lv, lvlText('aux', lv));
    setAttr(e, 'data-window', name);
    e = $(`[data-testid="floor-occupancy_${slot}"]`, strip);
    setFig(e, F.pct(f.occupancy), f.occupancy ?? null, null);
    setAttr(e, 'data-window', name);
  }
  // One window only: the pair would show the same figure twice.
  strip.classList.toggle('one-window', store.win.short === store.win.long);
  // "100.0%" needs a size down to fit its box.
  for (const e of strip.querySelectorAll('.w .v')) setAttr(e, 'data-wide', e.textContent.length > 5 ? '' : null);
  setText($('[data-band="talk"]', strip), bandText(c.talk_band));
  setText($('[data-band="aux"]', strip), bandText(c.aux_band));
}
