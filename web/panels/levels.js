// Threshold levels in words (a level is never told by colour alone).

import { t } from '../i18n.js';

const LEVEL_TEXT = {
  talk: { ok: 'lvl.ok', low: 'lvl.low', high: 'lvl.high', bad: 'lvl.high', na: 'util.na_title' },
  aux: { ok: 'lvl.ok', warn: 'lvl.warn', bad: 'lvl.bad' },
  cv: { ok: 'lvl.in_control', bad: 'lvl.out_of_control' },
};

export const lvlText = (kind, level) => (LEVEL_TEXT[kind]?.[level] ? t(LEVEL_TEXT[kind][level]) : null);
