// The pure parts of the team table's windowing (panels/teams.js, issue 20): which rows are
// laid out, and the width keys of the sizer row. No DOM here, so the unit tests run them.
//
// A 400-row table re-laid out every row whenever one cell's text changed (10 ms for one
// cell, 25 ms for a push that changes most rows, on the wall's 1080p screen): the one long
// task of each push while the tiles scrolled. A big table therefore lays out only the rows
// near its panel's view (the others are display:none, with padding rows of their height
// above and below), and a collapsed "sizer" row holds, for each column, one copy of each
// distinct width its cells have over all the rows, so the columns are as wide as if every
// row were laid out.

/**
 * A cell's text as wide as the text: digits made zeros. The page's figures are tabular
 * numerals (style.css), so "12.5%" and "98.0%" take the same width and share one copy.
 */
export const widthShape = (text) => String(text ?? '').replace(/[0-9]/g, '0');

/**
 * The rows [first, last] (indexes, inclusive) to lay out for a view of the panel: `top0`
 * where the first row starts in the panel's content, `pitch` a row's height, `scrollTop`
 * and `viewH` the part of the content on screen, `margin` rows beyond each edge. [0, -1]
 * for no rows.
 */
export function rowWindow(n, { top0, pitch, scrollTop, viewH }, margin) {
  if (n <= 0) return [0, -1];
  const p = pitch > 0 ? pitch : 1;
  const last = Math.max(0, Math.min(n - 1, Math.ceil((scrollTop + viewH - top0) / p) + margin));
  const first = Math.max(0, Math.min(last, Math.floor((scrollTop - top0) / p) - margin));
  return [first, last];
}

/**
 * A multiset of width keys per column: `set(owner, col, key, make)` says the owner's cell
 * in column `col` now has width key `key`; a key's first owner calls `add(col, key,
 * make())` and its last one leaving calls `drop(col, key, thing)`, where `thing` is what
 * `make` returned (the sizer's copy of that width). Owners are rows; `forget(owner)` when
 * one goes. Touching only what changed keeps a push's cost to the cells it changed.
 */
export class WidthKeys {
  constructor(add, drop) {
    this.add = add;
    this.drop = drop;
    this.cols = new Map(); // col -> Map(key -> { thing, n })
    this.owners = new Map(); // owner -> Map(col -> key)
  }

  set(owner, col, key, make) {
    let mine = this.owners.get(owner);
    if (!mine) this.owners.set(owner, (mine = new Map()));
    const old = mine.get(col);
    if (old === key) return;
    if (old !== undefined) this.release(col, old);
    mine.set(col, key);
    let keys = this.cols.get(col);
    if (!keys) this.cols.set(col, (keys = new Map()));
    let k = keys.get(key);
    if (!k) {
      k = { thing: make(), n: 0 };
      keys.set(key, k);
      this.add(col, key, k.thing);
    }
    k.n++;
  }

  forget(owner) {
    const mine = this.owners.get(owner);
    if (!mine) return;
    for (const [col, key] of mine) this.release(col, key);
    this.owners.delete(owner);
  }

  /** The distinct keys of a column (for tests). */
  keys(col) {
    return [...(this.cols.get(col)?.keys() ?? [])];
  }

  release(col, key) {
    const keys = this.cols.get(col);
    const k = keys?.get(key);
    if (!k) return;
    if (--k.n === 0) {
      keys.delete(key);
      this.drop(col, key, k.thing);
    }
  }
}
