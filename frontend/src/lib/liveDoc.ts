/**
 * The designer's view of a workflow text that changes a little at a time: typing in the editor,
 * canvas edits, undo / redo.
 *
 * `parse` reads the graph chunk by chunk (see ./chunks): a change re-parses only the items it
 * touched, and every node whose item did not change keeps its GraphNode object (or, when items
 * before it came or went, the objects its fields hold), so memoised views of it skip their work. The full `yaml` Document, which canvas edits need, is parsed only when
 * one is asked for (or ahead of time, when the page is idle) and then kept while edits go on.
 *
 * The first text is read by js-yaml (./quickRead), much faster than the `yaml` library on a big
 * workflow. The first Document parsed afterwards checks that reading: should the two libraries
 * ever read the text differently, every cached value is dropped and `takeStale()` tells the
 * caller to parse the text again.
 */
import { parseDocument, visit, type Document } from "yaml";
import { chunkFrame, parseChunk, parseSkeleton, splitWorkflow, type SeqChunks, type SplitWorkflow } from "./chunks";
import { applyEditPreservingFormat } from "./preserve";
import { quickData } from "./quickRead";
import {
  asRecord,
  documentData,
  graphEdges,
  graphFromData,
  graphHeader,
  graphNode,
  parseWorkflow,
  printDocument,
  readDocument,
  removeElements,
  type GraphEdge,
  type GraphNode,
  type ParseProblem,
  type WorkflowGraph,
} from "./workflowDoc";

type Parsed = { value: unknown } | undefined;

export interface LiveParse {
  /** null when the text has a syntax error (see `problems`). */
  graph: WorkflowGraph | null;
  problems: ParseProblem[];
}

interface ChunkState {
  text: string;
  split: SplitWorkflow;
  skeleton: unknown;
  nodes: unknown[];
  edges: unknown[];
}

/** Same plain data (JSON-like values from `toJS`). */
function sameData(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameEdges(a: GraphEdge[], b: GraphEdge[]): boolean {
  return (
    a.length === b.length &&
    a.every((e, i) => {
      const f = b[i];
      return e.index === f.index && e.key === f.key && e.on === f.on && e.port === f.port && e.condition === f.condition;
    })
  );
}

export class LiveWorkflow {
  private chunks: ChunkState | null = null;
  private skeletonCache: { text: string; value: unknown } | null = null;
  private nodeValues = new Map<string, Parsed>();
  private edgeValues = new Map<string, Parsed>();
  /** The edges last made from the edge items' values (the values themselves, compared by identity). */
  private edgesFrom: { values: unknown[]; edges: GraphEdge[] } | null = null;
  /** Last graph's node objects by their item's text. */
  private nodeObjects = new Map<string, GraphNode>();
  private graph: WorkflowGraph | null = null;
  /** The full Document of `docText` (content-wise; it may have been edited since it was parsed) and its print. */
  private docText: string | null = null;
  private doc: Document | null = null;
  private printed: string | undefined;
  /** Whether the first text has been read (by js-yaml, when it could). */
  private firstRead = false;
  /** The chunk caches hold values read by js-yaml that no `yaml` Document has confirmed yet. */
  private unchecked = false;
  /** The check found them wrong: the last graph must be read again. */
  private stale = false;

  /** Reads `text`; the graph keeps every node object whose YAML did not change. */
  parse(text: string): LiveParse {
    // A canvas edit has read its own text already (to check it): the store reads it again.
    if (this.chunks?.text === text && this.graph) return { graph: this.graph, problems: [] };
    // The first text is read whole (one parse is quicker than a thousand small ones), and its
    // items seed the chunk caches; later ones chunk by chunk.
    if (this.chunks === null && this.nodeValues.size === 0) {
      const quick = this.firstRead ? null : this.quickParse(text);
      this.firstRead = true;
      if (quick) return { graph: quick, problems: [] };
      const { doc, problems } = readDocument(text);
      if (!doc) return { graph: null, problems };
      this.docText = text;
      this.doc = doc;
      this.printed = undefined;
      // One plain copy of the data serves both the chunk caches and, failing those, the graph.
      const data = documentData(doc);
      const split = this.seed(text, doc, data);
      const graph = (split && this.parseChunks(text, split)) || graphFromData(data);
      return { graph: this.keep(graph.nodes, graph), problems: [] };
    }
    const chunked = this.parseChunks(text);
    if (chunked) return { graph: chunked, problems: [] };
    // Not chunkable, or a chunk does not parse alone: the whole text, which also names the errors.
    const full = parseWorkflow(text);
    this.chunks = null;
    if (this.unchecked) this.forgetValues(); // values from js-yaml are checked against a Document of their own text only
    if (!full.doc) return { graph: null, problems: full.problems };
    this.docText = text;
    this.doc = full.doc;
    this.printed = undefined;
    return { graph: this.keep(full.graph.nodes, full.graph), problems: [] };
  }

  /**
   * The graph of the first text from js-yaml's reading, its items seeding the chunk caches; null
   * when js-yaml refuses the text or it cannot be read chunk by chunk.
   */
  private quickParse(text: string): WorkflowGraph | null {
    const split = splitWorkflow(text);
    const data = split && quickData(text);
    if (!split || !data) return null;
    // (js-yaml was told to refuse aliases: no item leans on another.)
    if (!this.fill(split, data.value)) return null;
    // The skeleton too: the `yaml` library's first parse, even of a few lines, costs ~10 ms.
    const skeleton = quickData(split.skeleton);
    if (skeleton) this.skeletonCache = { text: split.skeleton, value: skeleton.value };
    const graph = this.parseChunks(text, split);
    if (!graph) {
      this.forgetValues();
      return null;
    }
    this.unchecked = true;
    return graph;
  }

  /** Whether the last graph was drawn from a reading the `yaml` library disagreed with (once). */
  takeStale(): boolean {
    const stale = this.stale;
    this.stale = false;
    return stale;
  }

  /** Drops every value and node object read so far: the next parse reads the whole text. */
  private forgetValues(): void {
    this.nodeValues.clear();
    this.edgeValues.clear();
    this.nodeObjects.clear();
    this.skeletonCache = null;
    this.chunks = null;
    this.unchecked = false;
  }

  /**
   * Checks the values read by js-yaml against `doc`, the `yaml` library's parse of `text` (null
   * when it found errors): the data the chunk caches give for `text` must be the Document's.
   */
  private check(text: string, doc: Document | null): void {
    if (this.chunks?.text !== text) this.parseChunks(text);
    const mine = this.dataOf(text);
    const same = doc !== null && mine !== null && sameData(mine, documentData(doc));
    this.unchecked = false;
    if (!same) {
      this.forgetValues();
      this.graph = null;
      this.stale = true;
    }
  }

  private parseChunks(text: string, knownSplit?: SplitWorkflow): WorkflowGraph | null {
    const split = knownSplit ?? splitWorkflow(text);
    if (!split) return null;
    let skeleton: unknown;
    if (this.skeletonCache?.text === split.skeleton) skeleton = this.skeletonCache.value;
    else {
      const parsed = parseSkeleton(split.skeleton);
      if (!parsed) return null;
      skeleton = parsed.value;
      this.skeletonCache = { text: split.skeleton, value: skeleton };
    }
    // Each item's value, and the cache of this text's items (the last one's items that are gone are dropped).
    const values = (seq: SeqChunks | null, cache: Map<string, Parsed>, fallback: unknown): [unknown[], Map<string, Parsed>] | null => {
      if (!seq) return [Array.isArray(fallback) ? fallback : [], cache];
      const next = new Map<string, Parsed>();
      const out: unknown[] = [];
      for (const chunk of seq.items) {
        const parsed = next.get(chunk.text) ?? cache.get(chunk.text) ?? parseChunk(chunk.text);
        if (!parsed) return null;
        next.set(chunk.text, parsed);
        out.push(parsed.value);
      }
      return [out, next];
    };
    const spec = asRecord(asRecord(skeleton).spec);
    if (split.nodes && spec.nodes != null) return null; // `nodes:` with both a value and items: let the full parse say why
    if (split.edges && spec.edges != null) return null;
    const nodesRead = values(split.nodes, this.nodeValues, spec.nodes);
    const edgesRead = nodesRead && values(split.edges, this.edgeValues, spec.edges);
    if (!nodesRead || !edgesRead) return null;
    const [nodeValues, edgeValues] = [nodesRead[0], edgesRead[0]];
    this.nodeValues = nodesRead[1];
    this.edgeValues = edgesRead[1];
    this.chunks = { text, split, skeleton, nodes: nodeValues, edges: edgeValues };

    const objects = new Map<string, GraphNode>();
    const nodes: GraphNode[] = [];
    nodeValues.forEach((value, index) => {
      const chunkText = split.nodes?.items[index].text;
      const previous = chunkText !== undefined ? this.nodeObjects.get(chunkText) : undefined;
      // An item that moved (one before it was added or removed) keeps the values it was read to:
      // views of it see the same `raw`, `position` and `config` objects.
      const node = !previous || previous.raw !== value ? graphNode(value, index) : previous.index === index ? previous : { ...previous, index };
      if (!node) return;
      nodes.push(node);
      if (chunkText !== undefined) objects.set(chunkText, node);
    });
    this.nodeObjects = objects;
    // The very same edge values as last time (an edit of a node's lines): the same edges.
    const lastEdges = this.edgesFrom;
    const edges =
      lastEdges && lastEdges.values.length === edgeValues.length && lastEdges.values.every((v, i) => v === edgeValues[i])
        ? lastEdges.edges
        : graphEdges(edgeValues);
    this.edgesFrom = { values: edgeValues, edges };
    return this.keep(nodes, { ...graphHeader(asRecord(skeleton)), nodes, edges });
  }

  /**
   * Fills the chunk caches with the items of `doc`, the whole parse of `text` (whose plain data
   * is `data`): what each chunk would parse to alone, when no item can lean on another (the
   * document has no alias). Returns the split of `text`, or null when the caches stay empty.
   */
  private seed(text: string, doc: Document, data: unknown): SplitWorkflow | null {
    const split = splitWorkflow(text);
    if (!split) return null;
    // An alias needs an anchor (`&name`) to refer to: without a `&` anywhere, there is none.
    let aliased = false;
    if (text.includes("&")) {
      visit(doc, {
        Alias() {
          aliased = true;
          return visit.BREAK;
        },
      });
    }
    if (aliased) return null;
    return this.fill(split, data) ? split : null;
  }

  /** Fills the chunk caches with the items of `data`, the plain data of the text `split` cut. */
  private fill(split: SplitWorkflow, data: unknown): boolean {
    const spec = asRecord(asRecord(data).spec);
    const fill = (seq: SeqChunks | null, data: unknown, cache: Map<string, Parsed>) => {
      if (!seq) return true;
      if (!Array.isArray(data) || data.length !== seq.items.length) return false;
      seq.items.forEach((chunk, i) => cache.set(chunk.text, { value: data[i] }));
      return true;
    };
    if (!fill(split.nodes, spec.nodes, this.nodeValues) || !fill(split.edges, spec.edges, this.edgeValues)) {
      this.nodeValues.clear();
      this.edgeValues.clear();
      return false;
    }
    return true;
  }

  /** The new graph, reusing the last one's arrays when their items are the same. */
  private keep(nodes: GraphNode[], graph: WorkflowGraph): WorkflowGraph {
    const last = this.graph;
    if (last) {
      if (last.nodes.length === nodes.length && last.nodes.every((n, i) => n === nodes[i])) graph.nodes = last.nodes;
      if (sameEdges(last.edges, graph.edges)) graph.edges = last.edges;
      if (sameCompensation(last.compensation, graph.compensation)) graph.compensation = last.compensation;
      if (
        last.nodes === graph.nodes &&
        last.edges === graph.edges &&
        last.native === graph.native &&
        last.name === graph.name &&
        last.title === graph.title &&
        last.compensation === graph.compensation
      ) {
        return last;
      }
    }
    this.graph = graph;
    return graph;
  }

  /** The plain data of `text` as read by the last `parse` of it, or null. */
  private dataOf(text: string): unknown {
    const state = this.chunks;
    if (!state || state.text !== text) return null;
    const root = structuredClone(asRecord(state.skeleton));
    const spec = asRecord(root.spec);
    if (state.split.nodes) spec.nodes = state.nodes;
    if (state.split.edges) spec.edges = state.edges;
    return root;
  }

  /**
   * `spec.<key>` of `text` (a key other than `nodes` and `edges`) as plain data, from the last
   * parse of it: what the rest of the document reads cheaply, without the full Document. Undefined
   * when that parse was not read chunk by chunk (then the Document has it).
   */
  specValue(text: string, key: string): { value: unknown } | undefined {
    const state = this.chunks;
    if (!state || state.text !== text || key === "nodes" || key === "edges") return undefined;
    return { value: asRecord(asRecord(state.skeleton).spec)[key] };
  }

  /** The full Document of `text` (parsed now unless already at hand); null on a syntax error. */
  document(text: string): Document | null {
    if (this.docText === text && this.doc) return this.doc;
    const doc = parseDocument(text, { keepSourceTokens: false });
    this.docText = text;
    this.doc = doc.errors.length > 0 ? null : doc;
    this.printed = undefined;
    if (this.unchecked) this.check(text, this.doc);
    return this.doc;
  }

  /** Whether the Document of `text` is at hand (no parse needed for an edit of it). */
  hasDocument(text: string): boolean {
    return this.docText === text && this.doc !== null;
  }

  /**
   * Does ahead of time what the next canvas edit of `text` starts with: the parse and the print
   * (or, with `parseOnly`, just the parse).
   */
  prime(text: string, parseOnly = false): void {
    const doc = this.document(text);
    if (doc && !parseOnly && this.printed === undefined) this.printed = printDocument(doc);
  }

  /**
   * Applies `change` to the Document of `text` and returns the new text, in which only the lines
   * the change touched differ (see ./preserve); unchanged on a syntax error.
   *
   * With `nodeIds`, the caller promises that `change` only touches those nodes' own mappings
   * (a move, a field): each node's item is then edited on its own, in a Document of that item alone.
   */
  edit(text: string, change: (doc: Document) => void, nodeIds?: string[]): string {
    if (nodeIds && nodeIds.length > 0 && nodeIds.length <= 20) {
      const done = this.editItems(text, change, nodeIds);
      if (done !== null) return done;
    }
    const doc = this.document(text);
    if (!doc) return text;
    const before = this.printed ?? printDocument(doc);
    change(doc);
    const after = printDocument(doc);
    let next = applyEditPreservingFormat(text, before, after);
    const edited = doc;
    if (next !== after) {
      // The patch must mean exactly what the printer meant; if not, the printer's text is the truth.
      this.parse(next);
      const data = this.dataOf(next);
      if (!(data ? sameData(data, doc.toJS()) : sameData(parseDocument(next).toJS(), doc.toJS()))) next = after;
    }
    this.docText = next;
    this.doc = edited;
    this.printed = after;
    return next;
  }

  /**
   * `removeElements(doc, nodeIds, edgeIndices)` as an edit of `text`: the removed items' lines are
   * cut out of the text when that is sure to give what the Document edit gives (no comment or
   * blank line that the Document would keep or drop with an item, a sequence left non-empty);
   * otherwise the Document is edited.
   */
  remove(text: string, nodeIds: string[], edgeIndices: number[] = []): string {
    const change = (doc: Document) => removeElements(doc, nodeIds, edgeIndices);
    if (this.chunks?.text !== text) this.parse(text);
    const state = this.chunks;
    if (!state || state.text !== text) return this.edit(text, change);
    const gone = new Set(nodeIds);
    const nodeCuts = state.nodes.flatMap((value, i) => (gone.has(String(asRecord(value).id)) ? [i] : []));
    const dropEdges = new Set(edgeIndices);
    state.edges.forEach((value, i) => {
      const edge = asRecord(value);
      if (gone.has(String(edge.from)) || gone.has(String(edge.to))) dropEdges.add(i);
    });
    const edgeCuts = [...dropEdges].filter((i) => i >= 0 && i < state.edges.length);
    const cuttable = (seq: SeqChunks | null, cuts: number[]) => {
      if (cuts.length === 0) return true;
      if (!seq || cuts.length >= seq.items.length) return false;
      return cuts.every((i) => {
        const near = [seq.items[i], seq.items[i - 1]].filter(Boolean);
        if (near.some((chunk) => /(^|\n)[ ]*(#|\n|$)/.test(chunk.text.replace(/\n$/, "")))) return false;
        return i > 0 || text.slice(0, seq.items[0].start).endsWith(`${seq.keyLine}\n`);
      });
    };
    if (!cuttable(state.split.nodes, nodeCuts) || !cuttable(state.split.edges, edgeCuts)) return this.edit(text, change);
    const ranges = [
      ...nodeCuts.map((i) => state.split.nodes!.items[i]),
      ...edgeCuts.map((i) => state.split.edges!.items[i]),
    ].sort((a, b) => b.start - a.start);
    let next = text;
    for (const chunk of ranges) next = next.slice(0, chunk.start) + next.slice(chunk.end);
    if (ranges.length === 0 || !this.parseChunks(next)) return this.edit(text, change);
    if (this.doc && this.docText === text) {
      change(this.doc);
      this.docText = next;
      this.printed = undefined;
    }
    return next;
  }

  private editItems(text: string, change: (doc: Document) => void, nodeIds: string[]): string | null {
    if (this.chunks?.text !== text) this.parse(text);
    let current = text;
    for (const id of nodeIds) {
      const state = this.chunks;
      if (!state || state.text !== current || !state.split.nodes) return null;
      const seq = state.split.nodes;
      const index = state.nodes.findIndex((value) => String(asRecord(value).id) === id);
      if (index < 0 || state.nodes.findIndex((value, i) => i > index && String(asRecord(value).id) === id) >= 0) return null;
      const chunk = seq.items[index];
      const { prefix, suffix } = chunkFrame(seq, index);
      const body = chunk.text.endsWith("\n") ? chunk.text : `${chunk.text}\n`;
      const original = prefix + body + suffix;
      const mini = parseDocument(original, { keepSourceTokens: false });
      if (mini.errors.length > 0) return null;
      const before = printDocument(mini);
      change(mini);
      const after = printDocument(mini);
      if (before === after) continue;
      const patched = applyEditPreservingFormat(original, before, after);
      if (!patched.startsWith(prefix) || !patched.endsWith(suffix)) return null;
      let item = patched.slice(prefix.length, patched.length - suffix.length);
      if (!chunk.text.endsWith("\n")) {
        if (!item.endsWith("\n")) return null;
        item = item.slice(0, -1);
      }
      const check = parseChunk(item);
      const wanted = (asRecord(asRecord(mini.toJS()).spec).nodes as unknown[] | undefined)?.[0];
      if (!check || !sameData(check.value, wanted)) return null;
      const next = current.slice(0, chunk.start) + item + current.slice(chunk.end);
      const graph = this.parseChunks(next);
      if (!graph) return null;
      current = next;
    }
    // The full Document, when at hand, takes the same change; its print is redone when next needed.
    if (this.doc && this.docText === text) {
      change(this.doc);
      this.docText = current;
      this.printed = undefined;
    }
    return current;
  }
}

function sameCompensation(a: WorkflowGraph["compensation"], b: WorkflowGraph["compensation"]): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((s, i) => s.index === b[i].index && s.node === b[i].node && s.compensates === b[i].compensates && s.when_failed === b[i].when_failed);
}
