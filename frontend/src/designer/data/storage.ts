/**
 * What the designer remembers per workflow in this browser: the last input given to a test run.
 * Pinned sample outputs are kept on the server now (designer/serverDrafts.ts, shared with the
 * tenant's editors); those an older designer left here are read once and moved there.
 */

const PREFIX = "mbflow:designer";

function read<T>(key: string, fallback: T): T {
  try {
    const raw = window.localStorage.getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

function write(key: string, value: unknown): void {
  try {
    if (value === undefined) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: remembered for this page only */
  }
}

/** The key of a workflow: its id, or `new` for one not saved yet. */
export function workflowKey(id: string | undefined): string {
  return id || "new";
}

export type Pinned = Record<string, unknown>;

/** Pinned data an older designer kept in this browser (moved to the server on first open). */
export function loadLegacyPinned(workflow: string): Pinned {
  const value = read<unknown>(`${PREFIX}:pinned:${workflow}`, {});
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Pinned) : {};
}

export function forgetLegacyPinned(workflow: string): void {
  write(`${PREFIX}:pinned:${workflow}`, undefined);
}

export function loadLastInput(workflow: string): string | null {
  return read<string | null>(`${PREFIX}:input:${workflow}`, null);
}

export function saveLastInput(workflow: string, text: string): void {
  write(`${PREFIX}:input:${workflow}`, text);
}
