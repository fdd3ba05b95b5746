/**
 * Keeping last render's objects for what did not change, so React Flow and the memoised node
 * views skip them. Run for each of a drawing's nodes and edges on every change (~1,500 on a
 * 500-node drawing): the comparisons make no arrays.
 */

/** Equal by value down to `depth` levels of plain objects and arrays (=== below that). */
export function sameValue(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (depth === 0 || !a || !b || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  return sameEntries(a as Record<string, unknown>, b as Record<string, unknown>, depth - 1, NO_KEYS);
}

// Sizes only React Flow's own measuring changes.
const MEASURE_KEYS: ReadonlySet<string> = new Set(["measured", "initialWidth", "initialHeight"]);
const NO_KEYS: ReadonlySet<string> = new Set();

/** The same own keys (`skip` aside), each value equal by `sameValue` to `depth`. */
function sameEntries(a: Record<string, unknown>, b: Record<string, unknown>, depth: number, skip: ReadonlySet<string>): boolean {
  let keys = 0;
  for (const key in b) {
    if (!Object.hasOwn(b, key) || skip.has(key)) continue;
    if (!Object.hasOwn(a, key) || !sameValue(a[key], b[key], depth)) return false;
    keys++;
  }
  for (const key in a) if (Object.hasOwn(a, key) && !skip.has(key)) keys--;
  return keys === 0;
}

/**
 * Whether a canvas node or edge equals the cached one, `measured` and the initial sizes aside.
 * (`handles` is compared: it is one shared array per node shape, see ./nodeGeometry.)
 */
export function sameItem(a: object, b: object): boolean {
  return sameEntries(a as Record<string, unknown>, b as Record<string, unknown>, 3, MEASURE_KEYS);
}

/**
 * `fresh` with each item replaced by the cached one of its id when equal (see `sameItem`); the
 * last array itself when no item changed, so React Flow is not handed "new" nodes or edges at
 * all. Refreshes the cache.
 */
export function reuseUnchanged<T extends { id: string }>(cache: { items: Map<string, T>; last: T[] }, fresh: T[]): T[] {
  let changed = fresh.length !== cache.last.length;
  const result = fresh.map((item, index) => {
    const cached = cache.items.get(item.id);
    const kept = cached === item || (cached && sameItem(cached, item)) ? (cached as T) : item;
    if (kept !== cache.last[index]) changed = true;
    return kept;
  });
  if (!changed) return cache.last;
  cache.items.clear();
  for (const item of result) cache.items.set(item.id, item);
  cache.last = result;
  return result;
}
