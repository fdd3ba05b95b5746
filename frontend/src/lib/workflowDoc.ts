/**
 * The workflow YAML as a `yaml` Document, and the graph the canvas draws from it.
 *
 * The text is the source of truth. Canvas edits never rebuild the text from the graph: they edit
 * the parsed Document in place (setIn / deleteIn / add) and print it again, so a person's
 * comments, blank lines, quoting and key order survive every edit that does not touch them.
 */
import {
  Document,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  YAMLMap,
  YAMLSeq,
  visit,
  type ToStringOptions,
} from "yaml";
import { applyEditPreservingFormat } from "./preserve";

/** How every edited document is printed: no folding, `{a: 1}` flow maps, indented sequences. */
export const PRINT_OPTIONS: ToStringOptions = {
  lineWidth: 0,
  minContentWidth: 0,
  flowCollectionPadding: false,
  indentSeq: true,
};

export type EdgeOutcome = "success" | "failure" | "always";

export interface XY {
  x: number;
  y: number;
}

export interface GraphNode {
  id: string;
  type: string;
  name?: string;
  index: number;
  /** Where the YAML puts the node; null when the document has no `position` for it. */
  position: XY | null;
  config: Record<string, unknown>;
  /** The whole node mapping as plain data. */
  raw: Record<string, unknown>;
}

export interface GraphEdge {
  /** Position in `spec.edges`: what validation issues call `edge`. */
  index: number;
  /**
   * The canvas id: `from->to`, with `#2`, `#3`... for further edges between the same pair. It
   * does not depend on `index`, so removing one edge leaves every other edge's id as it was, and
   * editing an edge's `on`, `port` or `condition` keeps it selected.
   */
  key: string;
  from: string;
  to: string;
  on: EdgeOutcome;
  port?: string;
  condition?: string;
}

/** A step of `spec.compensation`: `node` runs, when the execution fails, to undo `compensates` / when `when_failed` failed. */
export interface CompensationStep {
  /** Position in `spec.compensation`. */
  index: number;
  node: string;
  compensates?: string;
  when_failed?: string;
}

export interface WorkflowGraph {
  native: boolean;
  name: string;
  title: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** `spec.compensation` (none when absent). */
  compensation?: CompensationStep[];
}

export interface ParseProblem {
  message: string;
  line: number;
  column: number;
}

export interface ParsedWorkflow {
  doc: Document | null;
  graph: WorkflowGraph;
  problems: ParseProblem[];
}

export const EMPTY_GRAPH: WorkflowGraph = { native: true, name: "", title: "", nodes: [], edges: [] };

/** The name a new workflow has until it is given one. */
export const NEW_WORKFLOW_NAME = "untitled-workflow";

export function newWorkflowYaml(name = NEW_WORKFLOW_NAME, title = "Untitled workflow"): string {
  return [
    "apiVersion: mbflow/v1",
    "kind: Workflow",
    "metadata:",
    `  name: ${name}`,
    `  title: ${title}`,
    "spec:",
    "  nodes: []",
    "  edges: []",
    "",
  ].join("\n");
}

export function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function asPosition(value: unknown): XY | null {
  const pos = asRecord(value);
  const x = Number(pos.x);
  const y = Number(pos.y);
  return Number.isFinite(x) && Number.isFinite(y) && "x" in pos && "y" in pos ? { x, y } : null;
}

export function graphNode(item: unknown, index: number): GraphNode | null {
  const raw = asRecord(item);
  if (typeof raw.id !== "string" && typeof raw.id !== "number") return null;
  return {
    id: String(raw.id),
    type: typeof raw.type === "string" ? raw.type : "",
    name: typeof raw.name === "string" ? raw.name : undefined,
    index,
    position: asPosition(raw.position),
    config: asRecord(raw.config),
    raw,
  };
}

export function graphEdges(rawEdges: unknown[]): GraphEdge[] {
  const edges: GraphEdge[] = [];
  const usedKeys = new Set<string>();
  rawEdges.forEach((item, index) => {
    const raw = asRecord(item);
    if (raw.from == null || raw.to == null) return;
    const on = raw.on === "failure" || raw.on === "always" ? raw.on : "success";
    const base = `${String(raw.from)}->${String(raw.to)}`;
    let key = base;
    for (let n = 2; usedKeys.has(key); n++) key = `${base}#${n}`;
    usedKeys.add(key);
    edges.push({
      index,
      key,
      from: String(raw.from),
      to: String(raw.to),
      on,
      port: raw.port != null ? String(raw.port) : undefined,
      condition: typeof raw.condition === "string" ? raw.condition : undefined,
    });
  });
  return edges;
}

export function graphHeader(root: Record<string, unknown>): Pick<WorkflowGraph, "native" | "name" | "title" | "compensation"> {
  const metadata = asRecord(root.metadata);
  const steps = asRecord(root.spec).compensation;
  const text = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : undefined);
  const compensation = Array.isArray(steps)
    ? steps.flatMap((item, index): CompensationStep[] => {
        const step = asRecord(item);
        const node = text(step.node);
        if (!node) return [];
        return [{ index, node, compensates: text(step.compensates), when_failed: text(step.when_failed) }];
      })
    : [];
  return {
    native: root.apiVersion === "mbflow/v1",
    name: typeof metadata.name === "string" ? metadata.name : "",
    title: typeof metadata.title === "string" ? metadata.title : "",
    ...(compensation.length ? { compensation } : {}),
  };
}

/** Adds a compensation step: `node` undoes `compensates`, or runs when `when_failed` failed. */
export function addCompensation(doc: Document, step: Omit<CompensationStep, "index">): boolean {
  const seq = seqAt(doc, ["spec", "compensation"]);
  const same = seq.items.some(
    (item) =>
      isMap(item) &&
      String(item.get("node")) === step.node &&
      String(item.get("compensates") ?? "") === (step.compensates ?? "") &&
      String(item.get("when_failed") ?? "") === (step.when_failed ?? ""),
  );
  if (same) return false;
  const body: Record<string, unknown> = { node: step.node };
  if (step.compensates) body.compensates = step.compensates;
  if (step.when_failed) body.when_failed = step.when_failed;
  seq.items.push(doc.createNode(body, { flow: true }));
  return true;
}

/** Removes the compensation step at `index` (and `compensation:` with its last step). */
export function removeCompensation(doc: Document, index: number): void {
  const seq = doc.getIn(["spec", "compensation"], true);
  if (!isSeq(seq) || index < 0 || index >= seq.items.length) return;
  seq.items.splice(index, 1);
  if (seq.items.length === 0) doc.deleteIn(["spec", "compensation"]);
}

/** Read the graph out of plain data (the document as JSON). */
export function graphFromData(data: unknown): WorkflowGraph {
  const root = asRecord(data);
  const spec = asRecord(root.spec);
  const rawNodes = Array.isArray(spec.nodes) ? spec.nodes : [];
  const rawEdges = Array.isArray(spec.edges) ? spec.edges : [];
  const nodes = rawNodes.flatMap((item, index) => graphNode(item, index) ?? []);
  return { ...graphHeader(root), nodes, edges: graphEdges(rawEdges) };
}

export function parseWorkflow(text: string): ParsedWorkflow {
  const { doc, problems } = readDocument(text);
  return doc ? parsedWorkflow(doc) : { doc: null, graph: EMPTY_GRAPH, problems };
}

/** The Document of `text`, or null and its syntax errors. */
export function readDocument(text: string): { doc: Document | null; problems: ParseProblem[] } {
  const doc = parseDocument(text, { keepSourceTokens: false, prettyErrors: true });
  if (doc.errors.length === 0) return { doc, problems: [] };
  // One mistake often makes the parser report more errors after it (an unclosed `{` gives three,
  // a line indented wrong one per line below it): the first is the mistake, the others come from
  // reading on past it. So one problem, the first, with its line (not repeated in the message).
  const first = doc.errors.reduce((a, b) => (b.pos[0] < a.pos[0] ? b : a));
  return {
    doc: null,
    problems: [
      {
        message: first.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, ""),
        line: first.linePos?.[0].line ?? 1,
        column: first.linePos?.[0].col ?? 1,
      },
    ],
  };
}

/** The plain data of a Document without errors, as the graph is read from. */
export function documentData(doc: Document): unknown {
  return doc.toJS({ maxAliasCount: 100 });
}

/** The ParsedWorkflow of a Document without errors (one just parsed or edited). */
export function parsedWorkflow(doc: Document): ParsedWorkflow {
  return { doc, graph: graphFromData(documentData(doc)), problems: [] };
}

export function printDocument(doc: Document): string {
  return doc.toString(PRINT_OPTIONS);
}

// ---------------------------------------------------------------------------------------------
// Edits. Each takes the Document and changes it in place; the caller prints it once afterwards.

function seqAt(doc: Document, path: string[]): YAMLSeq {
  const found = doc.getIn(path, true);
  if (isSeq(found)) {
    // `nodes: []` written as a flow sequence would stay `[...]` forever; grow it as a block.
    if (found.flow && found.items.length === 0) found.flow = false;
    return found;
  }
  const created = new YAMLSeq();
  doc.setIn(path, created);
  return created;
}

function nodeSeq(doc: Document): YAMLSeq {
  return seqAt(doc, ["spec", "nodes"]);
}

function edgeSeq(doc: Document): YAMLSeq {
  return seqAt(doc, ["spec", "edges"]);
}

function scalarValue(node: unknown): unknown {
  return isScalar(node) ? node.value : node;
}

export function nodeIndex(doc: Document, id: string): number {
  const seq = doc.getIn(["spec", "nodes"], true);
  if (!isSeq(seq)) return -1;
  return seq.items.findIndex((item) => isMap(item) && String(scalarValue(item.get("id", true))) === id);
}

export function nodeIds(doc: Document): string[] {
  const seq = doc.getIn(["spec", "nodes"], true);
  if (!isSeq(seq)) return [];
  return seq.items.flatMap((item) => (isMap(item) && item.get("id") != null ? [String(item.get("id"))] : []));
}

/** `http`, `http_2`, `http_3`... : the first id of that stem not in use. */
export function uniqueId(doc: Document, stem: string): string {
  const taken = new Set(nodeIds(doc));
  const base = stem.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^[^A-Za-z_]/, "n_") || "node";
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const candidate = `${base}_${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}

function roundedXY(pos: XY): XY {
  return { x: Math.round(pos.x), y: Math.round(pos.y) };
}

export interface NewNode {
  id: string;
  type: string;
  position: XY;
  name?: string;
  config?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

export function addNode(doc: Document, node: NewNode): void {
  const body: Record<string, unknown> = { id: node.id };
  if (node.name) body.name = node.name;
  body.type = node.type;
  if (node.config && Object.keys(node.config).length > 0) body.config = node.config;
  Object.assign(body, node.extra ?? {});
  const map = doc.createNode(body) as YAMLMap;
  map.set("position", doc.createNode(roundedXY(node.position), { flow: true }));
  nodeSeq(doc).items.push(map);
}

export function moveNodes(doc: Document, positions: Record<string, XY>): void {
  for (const [id, pos] of Object.entries(positions)) {
    const index = nodeIndex(doc, id);
    if (index < 0) continue;
    const xy = roundedXY(pos);
    const existing = doc.getIn(["spec", "nodes", index, "position"], true);
    if (isMap(existing)) {
      existing.set("x", xy.x);
      existing.set("y", xy.y);
    } else {
      doc.setIn(["spec", "nodes", index, "position"], doc.createNode(xy, { flow: true }));
    }
  }
}

/** Removes nodes, every edge that touches them, and then the given edges. */
export function removeElements(doc: Document, ids: string[], edgeIndices: number[] = []): void {
  const gone = new Set(ids);
  const edges = doc.getIn(["spec", "edges"], true);
  const dropEdges = new Set(edgeIndices);
  if (isSeq(edges)) {
    edges.items.forEach((item, index) => {
      if (isMap(item) && (gone.has(String(item.get("from"))) || gone.has(String(item.get("to"))))) {
        dropEdges.add(index);
      }
    });
    [...dropEdges].sort((a, b) => b - a).forEach((index) => edges.items.splice(index, 1));
  }
  const nodes = doc.getIn(["spec", "nodes"], true);
  if (isSeq(nodes)) {
    for (let index = nodes.items.length - 1; index >= 0; index--) {
      const item = nodes.items[index];
      if (isMap(item) && gone.has(String(item.get("id")))) nodes.items.splice(index, 1);
    }
  }
}

export interface NewEdge {
  from: string;
  to: string;
  on?: EdgeOutcome;
  port?: string;
  condition?: string;
}

export function hasEdge(doc: Document, edge: NewEdge): boolean {
  const edges = doc.getIn(["spec", "edges"], true);
  if (!isSeq(edges)) return false;
  return edges.items.some(
    (item) =>
      isMap(item) &&
      String(item.get("from")) === edge.from &&
      String(item.get("to")) === edge.to &&
      (item.get("on") ?? "success") === (edge.on ?? "success") &&
      (item.get("port") ?? undefined) === (edge.port ?? undefined),
  );
}

export function addEdge(doc: Document, edge: NewEdge): boolean {
  if (edge.from === edge.to && !edge.port) return false;
  if (hasEdge(doc, edge)) return false;
  const body: Record<string, unknown> = { from: edge.from, to: edge.to };
  if (edge.on && edge.on !== "success") body.on = edge.on;
  if (edge.port) body.port = edge.port;
  if (edge.condition) body.condition = edge.condition;
  edgeSeq(doc).items.push(doc.createNode(body, { flow: true }));
  return true;
}

function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value as object).length === 0;
}

/**
 * Sets (or, for an empty value, removes) a field of a node: `path` is relative to the node,
 * e.g. `["config", "url"]`. Emptied parent maps are removed too, so the YAML stays minimal.
 */
export function setNodeField(doc: Document, id: string, path: (string | number)[], value: unknown): void {
  const index = nodeIndex(doc, id);
  if (index < 0) return;
  const full = ["spec", "nodes", index, ...path];
  if (isEmptyValue(value)) {
    if (doc.hasIn(full)) doc.deleteIn(full);
    for (let depth = full.length - 1; depth > 3; depth--) {
      const parent = doc.getIn(full.slice(0, depth), true);
      if ((isMap(parent) || isSeq(parent)) && parent.items.length === 0) doc.deleteIn(full.slice(0, depth));
      else break;
    }
    return;
  }
  const current = doc.getIn(full, true);
  if (isScalar(current) && (typeof value !== "object" || value === null)) {
    current.value = value; // keeps the scalar's quoting style and its comment
    return;
  }
  doc.setIn(full, typeof value === "object" ? doc.createNode(value) : value);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * `text` with every reference to node `from` renamed to `to`: `nodes.<from>` and
 * `nodes['<from>']` / `nodes["<from>"]` inside `{{ ... }}` and `{% ... %}`, and a whole-string
 * path `$.<from>...`. A dotted reference to an id that is not an identifier (`a-b`) becomes
 * `nodes['a-b']`. Anything outside an expression is left alone.
 */
export function renameInExpression(text: string, from: string, to: string): string {
  if (!text.includes(from)) return text;
  const path = /^\$\.([A-Za-z_][\w-]*)(?=$|[.[])/.exec(text);
  if (path && path[1] === from) {
    return `$.${to}${text.slice(path[0].length)}`;
  }
  const old = escapeRegExp(from);
  const dotted = new RegExp(`(?<![\\w.\\]])nodes\\s*\\.\\s*${old}(?![\\w])`, "g");
  const bracketed = new RegExp(`(?<![\\w.\\]])nodes\\s*\\[\\s*(['"])${old}\\1\\s*\\]`, "g");
  const renameIn = (body: string) =>
    body
      .replace(dotted, () => (IDENTIFIER.test(to) ? `nodes.${to}` : `nodes['${to}']`))
      .replace(bracketed, (_m, quote: string) => `nodes[${quote}${to}${quote}]`);
  return text.replace(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g, renameIn);
}

/**
 * Renames a node and every reference to it: edges, `fallback`, compensation steps (`node`,
 * `compensates`, `when_failed`), and every expression in the document (`{{ nodes.<id>... }}`,
 * `nodes['<id>']`, `$.<id>...`: configs, `when`, edge conditions, variables, the output...).
 * Only the scalars that change are touched, so comments and quoting stay as written.
 */
export function renameNode(doc: Document, from: string, to: string): boolean {
  if (from === to || !to || nodeIndex(doc, to) >= 0) return false;
  const index = nodeIndex(doc, from);
  if (index < 0) return false;
  const rewrite = (seqPath: string[], keys: string[]) => {
    const seq = doc.getIn(seqPath, true);
    if (!isSeq(seq)) return;
    for (const item of seq.items) {
      if (!isMap(item)) continue;
      for (const key of keys) {
        const value = item.get(key, true);
        if (isScalar(value) && String(value.value) === from) value.value = to;
      }
    }
  };
  rewrite(["spec", "edges"], ["from", "to"]);
  rewrite(["spec", "nodes"], ["fallback"]);
  rewrite(["spec", "compensation"], ["node", "compensates", "when_failed"]);
  visit(doc, {
    Scalar(_key, scalar) {
      if (typeof scalar.value !== "string") return;
      const next = renameInExpression(scalar.value, from, to);
      if (next !== scalar.value) scalar.value = next;
    },
  });
  const idNode = doc.getIn(["spec", "nodes", index, "id"], true);
  if (isScalar(idNode)) idNode.value = to;
  else doc.setIn(["spec", "nodes", index, "id"], to);
  return true;
}

export function setMetadata(doc: Document, key: string, value: string): void {
  if (value) doc.setIn(["metadata", key], value);
  else if (doc.hasIn(["metadata", key])) doc.deleteIn(["metadata", key]);
}

/** Plain data of the given nodes and the edges between them, for copy / paste. */
export interface Clip {
  nodes: Record<string, unknown>[];
  edges: Record<string, unknown>[];
}

export function copyElements(doc: Document, ids: string[]): Clip {
  const data = graphFromData(doc.toJS());
  const chosen = new Set(ids);
  return {
    nodes: data.nodes.filter((n) => chosen.has(n.id)).map((n) => structuredClone(n.raw)),
    edges: (asRecord(asRecord(doc.toJS()).spec).edges as Record<string, unknown>[] | undefined ?? []).filter(
      (e) => chosen.has(String(asRecord(e).from)) && chosen.has(String(asRecord(e).to)),
    ),
  };
}

/** Adds copies of the clip's nodes under fresh ids, shifted by `offset`; returns the new ids. */
export function pasteElements(doc: Document, clip: Clip, offset: XY = { x: 40, y: 40 }): string[] {
  const renamed = new Map<string, string>();
  const added: string[] = [];
  for (const raw of clip.nodes) {
    const oldId = String(raw.id);
    const newId = uniqueId(doc, oldId.replace(/_\d+$/, ""));
    renamed.set(oldId, newId);
    const pos = asPosition(raw.position) ?? { x: 0, y: 0 };
    const { id: _id, position: _position, ...rest } = raw;
    void _id;
    void _position;
    const map = doc.createNode({ id: newId, ...rest }) as YAMLMap;
    map.set("position", doc.createNode(roundedXY({ x: pos.x + offset.x, y: pos.y + offset.y }), { flow: true }));
    nodeSeq(doc).items.push(map);
    added.push(newId);
  }
  for (const edge of clip.edges) {
    const from = renamed.get(String(edge.from));
    const to = renamed.get(String(edge.to));
    if (from && to) edgeSeq(doc).items.push(doc.createNode({ ...edge, from, to }, { flow: true }));
  }
  return added;
}

/**
 * Applies `edit` to a fresh parse of `text` and returns the new text (unchanged on a syntax
 * error). Only the lines the edit touched are rewritten; the rest stays byte for byte. The
 * designer edits through LiveWorkflow (./liveDoc), which keeps the parse between edits and
 * must give the same text as this.
 */
export function editText(text: string, edit: (doc: Document) => void): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return text;
  const before = printDocument(doc);
  edit(doc);
  const after = printDocument(doc);
  const patched = applyEditPreservingFormat(text, before, after);
  if (patched === after) return after;
  // The patch must mean exactly what the printer meant; if not, the printer's text is the truth.
  const check = parseDocument(patched);
  const same = check.errors.length === 0 && JSON.stringify(check.toJS()) === JSON.stringify(doc.toJS());
  return same ? patched : after;
}
