// Merging a delta's `teams_changed` entry (docs/ws-protocol.md#delta) into what the page
// holds: objects key by key (recursively), anything else (numbers, strings, null, arrays)
// replaced. `null` is a value here (a ratio with no data), never a deletion: the server
// sends the whole `teams` list when a key goes away.

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

export function merge(into, patch) {
  if (!isObj(into) || !isObj(patch)) return patch;
  const out = { ...into };
  for (const [k, v] of Object.entries(patch)) out[k] = merge(into[k], v);
  return out;
}
