/**
 * User Timing marks around the designer's sync paths, for bench/frontend_sync.py and the browser's
 * Performance panel. Every entry is named `mbflow:*`; nothing here changes behaviour, and it is a
 * no-op where the User Timing API is missing (older test environments).
 */
const api: Performance | undefined = typeof performance !== "undefined" && typeof performance.measure === "function" ? performance : undefined;

// The browser keeps every entry: a long session drops the oldest measures now and then.
const MAX_MEASURES = 1000;
const measureNames = new Set<string>();
let measureCount = 0;

function record(name: string, measure: (full: string) => void): void {
  const full = `mbflow:${name}`;
  try {
    if (++measureCount > MAX_MEASURES) {
      measureNames.forEach((n) => api?.clearMeasures(n));
      measureCount = 1;
    }
    measureNames.add(full);
    measure(full);
  } catch {
    // a measure must never break an edit
  }
}

/** Runs `fn` and records its duration as the measure `mbflow:<name>`. */
export function timed<T>(name: string, fn: () => T): T {
  if (!api) return fn();
  const start = api.now();
  try {
    return fn();
  } finally {
    record(name, (full) => api.measure(full, { start, end: api.now() }));
  }
}

/** Sets the mark `mbflow:<name>` (e.g. the moment the YAML text changed); only the latest is kept. */
export function mark(name: string): void {
  try {
    api?.clearMarks(`mbflow:${name}`);
    api?.mark(`mbflow:${name}`);
  } catch {
    // ignored, as above
  }
}

/** Records `mbflow:<name>` from the mark `mbflow:<since>` to now, if that mark exists. */
export function measureSince(name: string, since: string): void {
  if (!api || api.getEntriesByName(`mbflow:${since}`, "mark").length === 0) return;
  record(name, (full) => api.measure(full, `mbflow:${since}`));
}
