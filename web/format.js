// Number formatting and threshold levels. Pure functions, no DOM.

export const DASH = '—';

/** 0.7234 -> "72.3%"; null -> "—". */
export function pct(x) {
  return x == null || !Number.isFinite(x) ? DASH : `${(x * 100).toFixed(1)}%`;
}

/** Seconds -> "m:ss", or "h:mm:ss" from an hour; null -> "—". */
export function mss(secs) {
  if (secs == null || !Number.isFinite(secs)) return DASH;
  const s = Math.max(0, Math.floor(secs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Seconds in at most five characters, for small squares: "9:57", "42:05", "1h02", "26h". */
export function shortDur(secs) {
  if (secs == null || !Number.isFinite(secs)) return DASH;
  const s = Math.max(0, Math.floor(secs));
  if (s < 3600) return mss(s);
  const h = Math.floor(s / 3600);
  return h < 10 ? `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}` : `${h}h`;
}

/** AHT is "m:ss" even past an hour (a 75-minute handle time reads 75:00). */
export function aht(secs) {
  if (secs == null || !Number.isFinite(secs)) return DASH;
  const s = Math.max(0, Math.round(secs));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A caller's wait against the `long_wait` limit: 'ok', 'warn' from 80% of it, 'bad' at it. */
export function waitLevel(secs, limit) {
  if (secs == null || !limit) return null;
  if (secs >= limit) return 'bad';
  return secs >= 0.8 * limit ? 'warn' : 'ok';
}

/** Service level against its target: 'ok' at or above it, 'bad' below; none when null. */
export function slLevel(x, target) {
  if (x == null) return null;
  return x < target ? 'bad' : 'ok';
}

export function cv(x) {
  return x == null || !Number.isFinite(x) ? DASH : x.toFixed(2);
}

/**
 * `x` × `scale` with `digits` decimals, or up to two more where those would print a band
 * edge's figure for a value on the other side of it: a level is judged on the exact value,
 * and "69.0%" in amber under a 69–74% band read as a contradiction ("68.99%" does not).
 */
function fixedBeside(x, scale, digits, edges) {
  const show = (v, d) => (v * scale).toFixed(d);
  let d = digits;
  while (d < digits + 2 && edges.some((e) => e != null && e !== x && show(e, d) === show(x, d))) d++;
  return show(x, d);
}

/** A percentage as `pct` shows it, with the decimals its level needs beside `edges`. */
export function pctBeside(x, edges) {
  return x == null || !Number.isFinite(x) ? DASH : `${fixedBeside(x, 100, 1, edges)}%`;
}

/** A CV as `cv` shows it, with the decimals its level needs beside `limit`. */
export function cvBeside(x, limit) {
  return x == null || !Number.isFinite(x) ? DASH : fixedBeside(x, 1, 2, [limit ?? 0.16]);
}

/** The edges of `talkLevel`'s bands. */
export const talkEdges = (band, high) => [...(band ?? [0.69, 0.74]), high];

/** The edges of `auxLevel`'s bands. */
export const auxEdges = (band) => {
  const hi = (band ?? [0.08, 0.09])[1];
  return [hi, hi * 1.5];
};

export function int(x) {
  return x == null || !Number.isFinite(x) ? DASH : String(Math.round(x));
}

/** The raw value for a data-value attribute: the number as JSON would print it, "" for null. */
export function raw(x) {
  return x == null ? '' : String(x);
}

/**
 * Talk utilization against the band [lo, hi] and the "add staff" line `high`:
 * inside the band "ok"; below it "low" (spare capacity); above it "high" (at the limit
 * people endure) and "bad" past `high`. With the default config hi == high, so above the
 * band is red at once, as floor practice has it.
 */
export function talkLevel(x, band, high) {
  if (x == null) return 'none';
  const [lo, hi] = band ?? [0.69, 0.74];
  const lim = high ?? hi;
  if (x < lo) return 'low';
  if (x <= hi) return 'ok';
  return x > lim ? 'bad' : 'high';
}

/**
 * Aux rate against its healthy band [lo, hi]: at or below the band's top is "ok" (less
 * unplanned aux is never a problem for the floor); up to 1.5 x the top "warn"; "well
 * above" (past 1.5 x, 13.5% with the default 9%) "bad". The 1.5 factor is ours: the spec
 * names the band, not where "well above" starts.
 */
export function auxLevel(x, band) {
  if (x == null) return 'none';
  const hi = (band ?? [0.08, 0.09])[1];
  if (x <= hi) return 'ok';
  return x <= hi * 1.5 ? 'warn' : 'bad';
}

/** Aux CV over peak time: in control strictly below the limit. */
export function cvLevel(x, limit) {
  if (x == null) return 'none';
  return x < (limit ?? 0.16) ? 'ok' : 'bad';
}

const fmtCache = new Map();
function formatter(tz, opts) {
  const key = `${tz}|${JSON.stringify(opts)}`;
  let f = fmtCache.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: tz || undefined });
    } catch {
      f = new Intl.DateTimeFormat('en-GB', opts);
    }
    fmtCache.set(key, f);
  }
  return f;
}

const HMS = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
// How far clocks go back at a fall-back: an hour, or half of one (Lord Howe).
const FOLDS = [3_600_000, 1_800_000];

/**
 * "HH:MM:SS" (or "HH:MM") of epoch ms in an IANA time zone; falls back to local time. In
 * the hour a fall-back repeats, the time carries its UTC offset ("01:32 UTC-04", then
 * "01:11 UTC-05"), as the chats' times do: without it, an alert fired at the second 01:11
 * reads as older than one fired at the first 01:32. Not with `offset` false (a chart's
 * axis, whose order says which is later).
 */
export function clock(ms, tz, seconds = true, offset = true) {
  const opts = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  if (seconds) opts.second = '2-digit';
  const text = formatter(tz, opts).format(new Date(ms));
  const suffix = offset ? foldSuffix(ms, tz) : '';
  return suffix ? `${text} ${suffix}` : text;
}

// By zone and minute (offsets change on whole minutes): the offset to show, or ''. A
// board writes the same few minutes' times over and over (the tiles' "out since").
const foldCache = new Map();
function foldSuffix(ms, tz) {
  const key = `${tz}|${Math.floor(ms / 60_000)}`;
  let v = foldCache.get(key);
  if (v === undefined) {
    const hms = formatter(tz, HMS);
    const wall = hms.format(new Date(ms));
    const repeated = FOLDS.some((d) => hms.format(new Date(ms - d)) === wall || hms.format(new Date(ms + d)) === wall);
    v = repeated ? utcOffset(ms, tz) : '';
    if (foldCache.size >= 4096) foldCache.clear();
    foldCache.set(key, v);
  }
  return v;
}

/** "UTC-04", "UTC+10:30": the zone's offset at ms. */
function utcOffset(ms, tz) {
  let name = '';
  try {
    name = formatter(tz, { timeZoneName: 'longOffset' }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? '';
  } catch {
    return '';
  }
  // "GMT-04:00", "GMT+10:30", "GMT" (UTC itself)
  const m = /^GMT([+-])(\d\d):(\d\d)$/.exec(name);
  if (!m) return 'UTC';
  return `UTC${m[1]}${m[2]}${m[3] === '00' ? '' : `:${m[3]}`}`;
}

/** Parses an alert timestamp (RFC 3339 string or epoch ms) to epoch ms; null stays null. */
export function toMs(v) {
  if (v == null) return null;
  if (typeof v === 'number') return v;
  const n = Date.parse(v);
  return Number.isNaN(n) ? null : n;
}

/** A window name of `floor.windows` ("15m", "90s", "2h", "today", "peak_today") in seconds;
 * null for the calendar windows. */
export function windowSecs(name) {
  const m = /^(\d+)([smh])$/.exec(name ?? '');
  if (!m) return null;
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2]];
}

/**
 * Which configured windows the board shows: `short` and `long` for the strip's pair (the
 * two shortest sliding windows; one window serves both when there is only one), `team`
 * for the team table (the longer of the pair: steady enough to act on), and `cv` for the
 * aux dispersion (peak_today, else today, else the longest sliding window).
 */
export function pickWindows(names) {
  const list = Array.isArray(names) ? names : [];
  const sliding = list.filter((n) => windowSecs(n) != null).sort((a, b) => windowSecs(a) - windowSecs(b));
  const cal = list.filter((n) => windowSecs(n) == null);
  const short = sliding[0] ?? cal[0] ?? null;
  const long = sliding[1] ?? short;
  const cv = list.includes('peak_today') ? 'peak_today' : list.includes('today') ? 'today' : (sliding.at(-1) ?? null);
  return { short, long, team: long, cv };
}

/** Milliseconds as a coarse age: "45 s", "3 min", "2 h 5 min", "3 d". */
export function age(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/** No applied event for this long and the feed counts as stale (see docs/ws-protocol.md). */
export const STALE_MS = 60_000;

/** The feed's state at server time `now`: 'none' (no event yet), 'live' or 'stale'. */
export function feedState(lastEvent, now, staleMs = STALE_MS) {
  if (lastEvent == null) return 'none';
  return now - lastEvent >= staleMs ? 'stale' : 'live';
}

/**
 * How many of a list's items fit whole in `avail` pixels (item heights in order, `gap`
 * between them), keeping room for a "+N more" line of height `moreH` when not all fit.
 */
export function fitCount(heights, avail, gap, moreH) {
  let used = 0;
  for (let i = 0; i < heights.length; i++) {
    used += (i ? gap : 0) + heights[i];
    if (used > avail) {
      // Item i does not fit: back off until the "+N more" line fits after the kept ones.
      let n = i;
      let h = used - heights[i] - (i ? gap : 0);
      while (n > 0 && h + (moreH ? gap : 0) + moreH > avail) {
        n -= 1;
        h -= heights[n] + (n ? gap : 0);
      }
      return n;
    }
  }
  return heights.length;
}

/**
 * Which entries of a list that does not fit whole to show (indexes, in list order): first
 * the first entry of each kind (`kinds[i]`; null for an entry that reserves nothing, e.g. a
 * resolved alert), then the others in list order while they fit in `avail` pixels. Without
 * it a dozen alerts of one kind (service level, fired later) pushed the one firing
 * out_of_adherence alert of the floor under "+12 more". With `short` (each entry's height
 * cut to one line), an entry too tall for the room left is shown cut when that fits
 * (`clamped`): a second alert that wrapped to two lines left a line's gap at 1080p.
 */
export function pickShown(kinds, heights, avail, gap, short = null) {
  const shown = new Set();
  const clamped = [];
  let used = 0;
  // At most one entry is cut: once one is, the room left is under a line.
  const add = (i) => {
    const g = shown.size ? gap : 0;
    let h = heights[i] + g;
    if (used + h > avail) {
      if (!short || used + short[i] + g > avail) return false;
      h = short[i] + g;
      clamped.push(i);
    }
    used += h;
    shown.add(i);
    return true;
  };
  const seen = new Set();
  kinds.forEach((k, i) => {
    if (k == null || seen.has(k)) return;
    seen.add(k);
    add(i);
  });
  for (let i = 0; i < heights.length; i++) if (!shown.has(i) && !add(i)) break;
  return { shown: [...shown].sort((a, b) => a - b), clamped: clamped.sort((a, b) => a - b) };
}
