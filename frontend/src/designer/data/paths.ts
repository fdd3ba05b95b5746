/**
 * Paths into run data, as expressions: what a field dragged from the data panel inserts
 * (`{{ nodes.http.output.body.name }}`), and what autocomplete offers after `{{` in an
 * expression field (the names of the context, node ids, the keys of the data one level down).
 */

export type Segment = string | number;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One step of a path as Jinja reads it: `.name`, `['odd key']` or `[0]`. */
export function segmentText(segment: Segment): string {
  if (typeof segment === "number") return `[${segment}]`;
  return IDENT.test(segment) ? `.${segment}` : `['${segment.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}']`;
}

/** `nodes.http.output.body.name` (a node id that is not an identifier goes in brackets). */
export function pathText(root: string, segments: Segment[]): string {
  return root + segments.map(segmentText).join("");
}

/** The path of a node's output field: `nodes.<id>.output...`. */
export function nodeOutputPath(nodeId: string, segments: Segment[]): string {
  return pathText("nodes", [nodeId, "output", ...segments]);
}

/** The expression a dragged field inserts. */
export function expressionFor(path: string): string {
  return `{{ ${path} }}`;
}

/** The names an expression starts from (workflows/spec/expressions CONTEXT_NAMES). */
export const ROOT_NAMES = ["input", "nodes", "vars", "secrets", "execution", "upstream"] as const;

export interface Completion {
  /** What the list shows: the key, or the name. */
  label: string;
  /** The text put in place of [from, to). */
  insert: string;
  /** A short description: the value's type, or what the name is. */
  detail: string;
}

export interface CompletionResult {
  from: number;
  to: number;
  items: Completion[];
}

/** The open expression around the caret: the text from `{{` up to the caret, or null outside one. */
export function openExpression(text: string, caret: number): { start: number; body: string } | null {
  const before = text.slice(0, caret);
  const open = before.lastIndexOf("{{");
  if (open < 0) return null;
  if (before.indexOf("}}", open) >= 0) return null;
  return { start: open + 2, body: before.slice(open + 2) };
}

export function typeName(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `array(${value.length})`;
  return typeof value;
}

/** Reads a path of segments in a value; undefined when it is not there. */
export function valueAt(value: unknown, segments: Segment[]): unknown {
  let current = value;
  for (const segment of segments) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[segment as string];
  }
  return current;
}

/** Splits a typed path (`nodes.http.output.bo`, `nodes['a-b'].output[0].x`) into its segments and the partial last one. */
export function splitTyped(path: string): { segments: Segment[]; partial: string } | null {
  const segments: Segment[] = [];
  let rest = path;
  const first = rest.match(/^[A-Za-z_][A-Za-z0-9_]*/);
  if (!first) return path === "" ? { segments: [], partial: "" } : null;
  rest = rest.slice(first[0].length);
  if (rest === "") return { segments: [], partial: first[0] };
  segments.push(first[0]);
  while (rest) {
    let match = rest.match(/^\.([A-Za-z_][A-Za-z0-9_-]*)?/);
    if (match) {
      if (match[0].length === rest.length) return { segments, partial: match[1] ?? "" };
      if (!match[1]) return null;
      segments.push(match[1]);
      rest = rest.slice(match[0].length);
      continue;
    }
    match = rest.match(/^\[(\d+)\]/);
    if (match) {
      segments.push(Number(match[1]));
      rest = rest.slice(match[0].length);
      if (rest === "") return { segments, partial: "" };
      continue;
    }
    match = rest.match(/^\[['"]([^'"]*)['"]\]/);
    if (match) {
      segments.push(match[1]);
      rest = rest.slice(match[0].length);
      if (rest === "") return { segments, partial: "" };
      continue;
    }
    return null;
  }
  return { segments, partial: "" };
}

const ROOT_DETAIL: Record<string, string> = {
  input: "the run's input",
  nodes: "the nodes' outputs",
  vars: "the workflow's variables",
  secrets: "the tenant's secrets (used whole)",
  execution: "id, workflow, version, started_at",
  upstream: "what reached this node",
};

/**
 * What to offer at `caret` in an expression field's `text`, given the context the expression
 * would see (`{input, nodes: {id: {output, ...}}, vars, secrets: {NAME: "[secret]"}, upstream}`).
 * Null outside an expression or where no path is being typed.
 */
export function completionsAt(text: string, caret: number, context: Record<string, unknown>, limit = 50): CompletionResult | null {
  const open = openExpression(text, caret);
  if (!open) return null;
  const typed = open.body.match(/[A-Za-z_][A-Za-z0-9_.\-[\]'"]*$|$/)![0];
  // A bare `-` is subtraction outside brackets: a path never starts after one.
  const split = splitTyped(typed);
  if (!split) return null;
  const from = caret - split.partial.length;
  const want = split.partial.toLowerCase();
  let items: Completion[];
  if (split.segments.length === 0) {
    items = ROOT_NAMES.filter((name) => name in context || name === "input" || name === "nodes").map((name) => ({
      label: name,
      insert: name,
      detail: ROOT_DETAIL[name] ?? "",
    }));
  } else {
    const target = valueAt(context, split.segments);
    if (target === null || typeof target !== "object") return null;
    const keys = Array.isArray(target) ? [] : Object.keys(target as Record<string, unknown>);
    items = keys.map((key) => {
      const value = (target as Record<string, unknown>)[key];
      return { label: key, insert: key, detail: typeName(value) };
    });
  }
  // Keys that are not identifiers need brackets: they are offered with them, replacing the dot.
  const result = items.filter((item) => item.label.toLowerCase().startsWith(want)).slice(0, limit);
  const fixed = result.map((item) => {
    if (IDENT.test(item.label) || split.segments.length === 0) return item;
    return { ...item, insert: `['${item.label}']` };
  });
  if (fixed.length === 0) return null;
  return { from, to: caret, items: fixed };
}

/** The text and caret after choosing `item` of `result`. */
export function applyCompletion(text: string, result: CompletionResult, item: Completion): { text: string; caret: number } {
  let from = result.from;
  if (item.insert.startsWith("[") && text[from - 1] === ".") from -= 1;
  const next = text.slice(0, from) + item.insert + text.slice(result.to);
  return { text: next, caret: from + item.insert.length };
}
