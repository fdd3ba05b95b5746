/**
 * One store per open designer, created by <DesignerProvider> and read through selector hooks.
 *
 * It holds the YAML text (the truth), the graph derived from it, the selection, the last
 * validation, undo/redo history of texts, and the live run's node states. The `yaml` Document
 * behind canvas edits is not kept in the state: `getDoc()` and `edit()` reach it through a
 * LiveWorkflow, which parses it only when needed (see lib/liveDoc.ts).
 */
import { createContext, useContext } from "react";
import { createStore, useStore, type StoreApi } from "zustand";
import { isNode, type Document } from "yaml";
import type { Issue, NodeType } from "../api/types";
import { History } from "../lib/history";
import { mark, timed } from "../lib/perf";
import { LiveWorkflow } from "../lib/liveDoc";
import type { RunNode } from "../lib/runControls";
import { EMPTY_GRAPH, type ParseProblem, type WorkflowGraph } from "../lib/workflowDoc";

export type Origin = "load" | "editor" | "canvas" | "history";

export interface RunState {
  executionId: string;
  status: string;
  nodes: Record<string, RunNode>;
  /** A run that had finished when it was opened (the last run shown again), not one started here. */
  past?: boolean;
  /** Bumped to follow the same execution again (it was retried in place after it had ended). */
  follow?: number;
}

export interface DesignerState {
  text: string;
  /** Bumped on every change not typed in the YAML editor, so the editor knows to take it in. */
  externalRevision: number;
  savedText: string;
  graph: WorkflowGraph;
  parseProblems: ParseProblem[];
  /**
   * The text does not parse (see `parseProblems`): `graph` is the last one that did, shown
   * read-only. Canvas and form edits (`edit`, `remove`) are refused until the text is fixed, so
   * they never overwrite what is being typed.
   */
  canvasReadOnly: boolean;
  issues: Issue[];
  warnings: Issue[];
  validating: boolean;
  dialect: string;
  selectedNodes: string[];
  selectedEdges: string[];
  nodeTypes: Record<string, NodeType>;
  run: RunState | null;
  history: History;
  canUndo: boolean;
  canRedo: boolean;
  /** The text the server keeps as the draft (designer/DraftStatus), when it is kept; null: none. */
  keptText: string | null;

  setKeptText(text: string | null): void;
  setText(text: string, origin: Origin, coalesceKey?: string): void;
  /** The `yaml` Document of the current text (parsed on demand); null on a syntax error. */
  getDoc(): Document | null;
  /**
   * `spec.<key>` of the current text as plain data (not `nodes` or `edges`); undefined when absent
   * or on a syntax error. Read from the last parse when it can be: no Document parsed or converted.
   */
  specValue(key: string): unknown;
  load(text: string, saved?: string): void;
  markSaved(text?: string): void;
  /**
   * Edits the Document (canvas / form) and prints it; one undo step, or merged by coalesceKey.
   * `nodeIds`: the change touches only these nodes' own mappings (a move, a field), which lets
   * it be made on those nodes' YAML alone. Returns false, changing nothing, while the text has a
   * syntax error (`canvasReadOnly`).
   */
  edit(change: (doc: Document) => void, coalesceKey?: string, nodeIds?: string[]): boolean;
  /** Removes nodes (with every edge touching them) and edges by index, as one undo step; false as `edit`. */
  remove(nodeIds: string[], edgeIndices?: number[]): boolean;
  /**
   * Removes the selected nodes and edges as `remove` does (the Delete key), and clears the
   * selection; while the text has a syntax error, nothing (the selection stays).
   */
  removeSelection(): void;
  undo(): void;
  redo(): void;
  select(nodes: string[], edges?: string[]): void;
  setValidation(issues: Issue[], warnings: Issue[], dialect: string): void;
  setValidating(validating: boolean): void;
  setNodeTypes(types: NodeType[]): void;
  setRun(run: RunState | null | ((run: RunState | null) => RunState | null)): void;
}

/**
 * Quiet time after a change before the next canvas edit is prepared (longer while typing, and
 * after opening, once the page has surely been drawn).
 */
const PRIME_DELAY_MS = 400;
const PRIME_DELAY_TYPING_MS = 2000;

export function createDesignerStore(initialText: string): StoreApi<DesignerState> {
  const live = new LiveWorkflow();
  const first = timed("parse", () => live.parse(initialText));
  let primeTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Do the parse and print the next canvas edit starts with while the page is idle. While
   * someone types in the editor, only once they pause: the next change is usually more typing.
   */
  const schedulePrime = (origin: Origin | "open") => {
    clearTimeout(primeTimer);
    if (typeof window === "undefined") return;
    // Two idle steps (the parse, then the print), each small enough to leave the page responsive.
    const idle = (run: () => void) =>
      typeof window.requestIdleCallback === "function" ? window.requestIdleCallback(run, { timeout: 2000 }) : run();
    const step = () => {
      const { text, canvasReadOnly } = store.getState();
      if (canvasReadOnly) return;
      const parsed = live.hasDocument(text);
      timed("prime-edit", () => live.prime(text, !parsed));
      if (reread()) return;
      if (!parsed) idle(step);
    };
    primeTimer = setTimeout(() => idle(step), origin === "editor" || origin === "open" ? PRIME_DELAY_TYPING_MS : PRIME_DELAY_MS);
  };
  /**
   * The first text was drawn from a quick reading (lib/quickRead) that the Document parsed since
   * disagrees with: the graph is read again. Returns whether it was.
   */
  const reread = (): boolean => {
    if (!live.takeStale()) return false;
    const { text, graph } = store.getState();
    const parsed = live.parse(text);
    store.setState({ graph: parsed.graph ?? graph, parseProblems: parsed.problems, canvasReadOnly: parsed.graph === null });
    return true;
  };
  const store = createStore<DesignerState>()((set, get) => ({
    text: initialText,
    externalRevision: 0,
    savedText: initialText,
    keptText: null,
    setKeptText(text) {
      set({ keptText: text });
    },
    graph: first.graph ?? EMPTY_GRAPH,
    parseProblems: first.problems,
    canvasReadOnly: first.graph === null,
    issues: [],
    warnings: [],
    validating: false,
    dialect: "native",
    selectedNodes: [],
    selectedEdges: [],
    nodeTypes: {},
    run: null,
    history: new History(initialText),
    canUndo: false,
    canRedo: false,

    setText(text, origin, coalesceKey) {
      const state = get();
      if (text === state.text) return;
      mark("text-changed");
      const parsed = timed("parse", () => live.parse(text));
      if (origin !== "history" && origin !== "load") state.history.push(text, coalesceKey);
      const graph = parsed.graph;
      const keepSelection = !graph || (graph === state.graph) || state.selectedNodes.length === 0;
      const ids = keepSelection ? null : new Set(graph.nodes.map((n) => n.id));
      const selectedNodes = ids ? state.selectedNodes.filter((id) => ids.has(id)) : state.selectedNodes;
      set({
        text,
        // A YAML syntax error leaves the last good drawing (and title) on the canvas, read-only.
        graph: graph ?? state.graph,
        parseProblems: parsed.problems,
        canvasReadOnly: graph === null,
        externalRevision: origin === "editor" ? state.externalRevision : state.externalRevision + 1,
        selectedNodes: selectedNodes.length === state.selectedNodes.length ? state.selectedNodes : selectedNodes,
        canUndo: state.history.canUndo(),
        canRedo: state.history.canRedo(),
      });
      schedulePrime(origin);
    },

    load(text, saved) {
      get().history.reset(text);
      mark("text-changed");
      const parsed = timed("parse", () => live.parse(text));
      set({
        text,
        graph: parsed.graph ?? EMPTY_GRAPH,
        parseProblems: parsed.problems,
        canvasReadOnly: parsed.graph === null,
        savedText: saved ?? text,
        selectedNodes: [],
        selectedEdges: [],
        externalRevision: get().externalRevision + 1,
        canUndo: false,
        canRedo: false,
      });
      schedulePrime("load");
    },

    markSaved(text) {
      set({ savedText: text ?? get().text });
    },

    getDoc() {
      if (get().canvasReadOnly) return null;
      const doc = live.document(get().text);
      reread();
      return doc;
    },

    specValue(key) {
      const { text, canvasReadOnly } = get();
      if (canvasReadOnly) return undefined;
      const known = live.specValue(text, key);
      if (known) return known.value;
      const doc = get().getDoc();
      const value = doc?.getIn(["spec", key]);
      return doc && isNode(value) ? value.toJS(doc) : value;
    },

    edit(change, coalesceKey, nodeIds) {
      const { text, canvasReadOnly } = get();
      // The YAML has a syntax error: the graph on show is not the text's, and an edit printed
      // from it would replace what is being typed. The editor must fix it first.
      if (canvasReadOnly) return false;
      const next = timed("edit-text", () => live.edit(text, change, nodeIds));
      if (reread() && get().canvasReadOnly) return false;
      get().setText(next, "canvas", coalesceKey);
      return true;
    },

    remove(nodeIds, edgeIndices = []) {
      const { text, canvasReadOnly } = get();
      if (canvasReadOnly) return false;
      const next = timed("edit-text", () => live.remove(text, nodeIds, edgeIndices));
      if (reread() && get().canvasReadOnly) return false;
      get().setText(next, "canvas");
      return true;
    },

    removeSelection() {
      const { selectedNodes, selectedEdges, graph } = get();
      if (selectedNodes.length === 0 && selectedEdges.length === 0) return;
      const chosen = new Set(selectedEdges);
      if (!get().remove(selectedNodes, graph.edges.flatMap((e) => (chosen.has(e.key) ? [e.index] : [])))) return;
      get().select([], []);
    },

    undo() {
      const text = get().history.undo();
      if (text !== null) get().setText(text, "history");
      set({ canUndo: get().history.canUndo(), canRedo: get().history.canRedo() });
    },

    redo() {
      const text = get().history.redo();
      if (text !== null) get().setText(text, "history");
      set({ canUndo: get().history.canUndo(), canRedo: get().history.canRedo() });
    },

    select(nodes, edges = []) {
      const state = get();
      if (sameList(nodes, state.selectedNodes) && sameList(edges, state.selectedEdges)) return;
      set({ selectedNodes: nodes, selectedEdges: edges });
    },

    setValidation(issues, warnings, dialect) {
      // No problem again (the answer to most edits of a valid workflow): the same empty arrays, so
      // the page and the canvas are not rendered again for it.
      const state = get();
      set({
        issues: sameIssues(issues, state.issues) ? state.issues : issues,
        warnings: sameIssues(warnings, state.warnings) ? state.warnings : warnings,
        dialect,
        validating: false,
      });
    },

    setValidating(validating) {
      set({ validating });
    },

    setNodeTypes(types) {
      set({ nodeTypes: Object.fromEntries(types.map((t) => [t.type, t])) });
    },

    setRun(run) {
      set({ run: typeof run === "function" ? run(get().run) : run });
    },
  }));
  // The opened text too: drawn from js-yaml's reading, its first edit would otherwise parse the
  // whole Document (a canvas edit) or run the `yaml` library for the first time (typing), ~10 ms
  // of it still cold, while someone waits.
  schedulePrime("open");
  return store;
}

function sameIssues(a: Issue[], b: Issue[]): boolean {
  return a === b || (a.length === 0 && b.length === 0);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export const DesignerContext = createContext<StoreApi<DesignerState> | null>(null);

export function useDesignerStoreApi(): StoreApi<DesignerState> {
  const store = useContext(DesignerContext);
  if (!store) throw new Error("useDesigner must be used inside <DesignerContext.Provider>");
  return store;
}

export function useDesigner<T>(selector: (state: DesignerState) => T): T {
  return useStore(useDesignerStoreApi(), selector);
}
