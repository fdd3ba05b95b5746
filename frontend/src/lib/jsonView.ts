/**
 * What the JSON viewer draws of a value: a tree whose long strings, long lists and large objects
 * are cut to what a page can show (the whole value stays downloadable), and the helpers it needs.
 */

export interface ViewLimits {
  /** Characters of a string shown before it is cut. */
  maxString: number;
  /** Items of a list, or keys of an object, shown before the rest is summed up. */
  maxItems: number;
}

export const DEFAULT_LIMITS: ViewLimits = { maxString: 240, maxItems: 50 };

/** Values above this many characters of JSON are not drawn whole: they are offered as a download first. */
export const LARGE_JSON = 200_000;

export type JsonTree =
  | { kind: "null" }
  | { kind: "boolean" | "number"; text: string }
  | { kind: "string"; text: string; /** characters left out */ hidden: number }
  | { kind: "array"; items: JsonTree[]; /** items left out */ hidden: number; size: number }
  | { kind: "object"; entries: [string, JsonTree][]; hidden: number; size: number };

/** The tree of `value` as it is drawn, cut to `limits`. */
export function viewTree(value: unknown, limits: ViewLimits = DEFAULT_LIMITS): JsonTree {
  if (value === null || value === undefined) return { kind: "null" };
  if (typeof value === "boolean") return { kind: "boolean", text: String(value) };
  if (typeof value === "number") return { kind: "number", text: String(value) };
  if (typeof value === "string") {
    const hidden = Math.max(0, value.length - limits.maxString);
    return { kind: "string", text: hidden ? value.slice(0, limits.maxString) : value, hidden };
  }
  if (Array.isArray(value)) {
    const shown = value.slice(0, limits.maxItems);
    return { kind: "array", items: shown.map((item) => viewTree(item, limits)), hidden: value.length - shown.length, size: value.length };
  }
  if (typeof value === "object") {
    const keys = Object.keys(value as object);
    const shown = keys.slice(0, limits.maxItems);
    return {
      kind: "object",
      entries: shown.map((key) => [key, viewTree((value as Record<string, unknown>)[key], limits)]),
      hidden: keys.length - shown.length,
      size: keys.length,
    };
  }
  return { kind: "string", text: String(value), hidden: 0 };
}

/** Whether the tree left anything out (then the viewer offers the whole value as a file). */
export function isCut(tree: JsonTree): boolean {
  switch (tree.kind) {
    case "string":
      return tree.hidden > 0;
    case "array":
      return tree.hidden > 0 || tree.items.some(isCut);
    case "object":
      return tree.hidden > 0 || tree.entries.some(([, child]) => isCut(child));
    default:
      return false;
  }
}

/** A one-line summary of a collapsed list or object: `[3 items]`, `{2 keys}`. */
export function summary(tree: JsonTree): string {
  if (tree.kind === "array") return `[${tree.size} item${tree.size === 1 ? "" : "s"}]`;
  if (tree.kind === "object") return `{${tree.size} key${tree.size === 1 ? "" : "s"}}`;
  return "";
}

/** The value as the file the download gives: pretty JSON, or the text itself for a string. */
export function downloadText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value ?? null, null, 2);
}

/** Its size as JSON in characters (without building the pretty text twice for big values). */
export function jsonLength(value: unknown): number {
  try {
    return (JSON.stringify(value) ?? "").length;
  } catch {
    return 0;
  }
}

/** A size in characters as a person reads it: 812 B, 4.1 kB, 2.3 MB. */
export function sizeText(length: number): string {
  if (length < 1000) return `${length} B`;
  if (length < 1_000_000) return `${(length / 1000).toFixed(1)} kB`;
  return `${(length / 1_000_000).toFixed(1)} MB`;
}
