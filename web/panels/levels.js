// Threshold levels in words (a level is never told by colour alone).

import { t } from '../i18n.js';
import * as F from '../format.js';

const LEVEL_TEXT = {
  talk: { ok: 'lvl.ok', low: 'lvl.low', high: 'lvl.high', bad: 'lvl.high', na: 'util.na_title' },
  aux: { ok: 'lvl.ok', warn: 'lvl.warn', bad: 'lvl.bad' },
  cv: { ok: 'lvl.in_control', bad: 'lvl.out_of_control' },
};

export const lvlText = (kind, level) => (LEVEL_TEXT[kind]?.[level] ? t(LEVEL_TEXT[kind][level]) : null);

/**
 * Talk utilization over a window as shown: [text, value, level]. Nobody logged in over the
 * window (a team of no-shows, `unassigned`): the server's figure is talking over scheduled
 * time, 0, but there is no utilization to judge, so "n/a" (level `na`), not an amber
 * "0.0%" read as a team idling. The team table and the strip both show it so.
 */
export function talkFigure(win, c) {
  if (win?.logged_in_s === 0) return [t('util.na'), null, 'na'];
  const v = win?.talk_utilization ?? null;
  return [F.pctBeside(v, F.talkEdges(c.talk_band, c.utilization_high)), v, F.talkLevel(v, c.talk_band, c.utilization_high)];
}
