// DOM helpers shared by the panels: create, and update only what changed (a wall screen
// redraws every second for hours; untouched nodes cost nothing).

import * as F from './format.js';

export const $ = (sel, root = document) => root.querySelector(sel);

export const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};

export const setText = (e, s) => {
  if (e.textContent !== s) e.textContent = s;
};

export const setAttr = (e, k, v) => {
  if (v == null || v === false) {
    if (e.hasAttribute(k)) e.removeAttribute(k);
  } else if (e.getAttribute(k) !== String(v)) e.setAttribute(k, v);
};

/** A figure: visible text, raw value for tests, and a threshold level for colour. */
export const setFig = (e, text, rawVal, level, levelText) => {
  setText(e, text);
  setAttr(e, 'data-value', F.raw(rawVal));
  setAttr(e, 'data-level', level ?? null);
  setAttr(e, 'title', levelText ?? null);
};

/** The page's type size (the root's font size, px): style.css sets it from the screen's size. */
export const remPx = () => parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;

/**
 * The type size at 1920x1080 (style.css: min(0.9vw, 1.6vh)). Sizes kept in pixels (the
 * AHT charts' labels, the largest tile) grow by the page's type over it on bigger screens.
 */
const REM_1080P = 17.28;

/** The page's type over its size at 1080p (of `rem`, the page's now by default), never below 1. */
export const typeScale = (rem = remPx()) => Math.max(1, rem / REM_1080P);
