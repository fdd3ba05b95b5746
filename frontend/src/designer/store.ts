/**
 * One store per open designer, created by <DesignerProvider> and read through selector hooks.
 *
 * It holds the YAML text (the truth), what is derived from it (Document, graph), the selection,
 * the last validation, undo/redo history of texts, and the live run's node states.
 */
import { createContext, useContext } from "react";
import { createStore, useStore, type StoreApi } from "zustand";
import type { Document } from "yaml";
import type { Issue, NodeType } from "../api/types";
import { History } from "../lib/history";
import { mark, timed } from "../lib/perf";
import {
  editDocument,
  EMPTY_GRAPH,
  parsedWorkflow,
  parseWorkflow,
  primeEdit,
  type ParseProblem,
  type WorkflowGraph,
} from "../lib/workflowDoc";

export type Origin = "load" | "editor" | "canvas" | "history";

export interface RunState {
  executionId: string;
  status: string;
  nodes: Record<string, { status: string; attempt?: number }>;
}

export interface DesignerState {
  text: string;
  /** Bumped on every change not typed in the YAML editor, so the editor knows to take it in. */
  externalRevision: number;
  savedText: string;
  doc: Document | null;
  graph: WorkflowGraph;
  parseProblems: ParseProblem[];
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

  /** `parsed`: the Document of exactly this text when the caller has one (spares a parse). */
  setText(text: string, origin: Origin, coalesceKey?: string, parsed?: Document | null): void;
  load(text: string, saved?: string): void;
  markSaved(text?: string): void;
  /** Edits the Document (canvas / form) and prints it; one undo step, or merged by coalesceKey. */
  edit(change: (doc: Document) => void, coalesceKey?: string): void;
  undo(): void;
  redo(): void;
  select(nodes: string[], edges?: string[]): void;
  setValidation(issues: Issue[], warnings: Issue[], dialect: string): void;
  setValidating(validating: boolean): void;
  setNodeTypes(types: NodeType[]): void;
  setRun(run: RunState | null | ((run: RunState | null) => RunState | null)): void;
}

/** Quiet time after a change not typed in the editor before the next canvas edit is prepared. */
const PRIME_DELAY_MS = 150;

export function createDesignerStore(initialText: string): StoreApi<DesignerState> {
  const first = timed("parse", () => parseWorkflow(initialText));
  let primeTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * After a canvas / history / load change, canvas edits often follow: do the parse and print
   * the next one starts with while the page is idle (see primeEdit). Not after typing in the
   * editor, where the next change is usually more typing.
   */
  const schedulePrime = (origin: Origin) => {
    clearTimeout(primeTimer);
    if (origin === "editor" || typeof window === "undefined") return;
    primeTimer = setTimeout(() => {
      const run = () => {
        const { text, doc } = store.getState();
        if (doc) timed("prime-edit", () => primeEdit(text));
      };
      if (typeof window.requestIdleCallback === "function") window.requestIdleCallback(run, { timeout: 1000 });
      else run();
    }, PRIME_DELAY_MS);
  };
  const store = createStore<DesignerState>()((set, get) => ({
    text: initialText,
    externalRevision: 0,
    savedText: initialText,
    doc: first.doc,
    graph: first.graph,
    parseProblems: first.problems,
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

    setText(text, origin, coalesceKey, parsedDoc) {
      const state = get();
      if (text === state.text) return;
      mark("text-changed");
      const parsed = parsedDoc ? timed("graph", () => parsedWorkflow(parsedDoc)) : timed("parse", () => parseWorkflow(text));
      if (origin !== "history" && origin !== "load") state.history.push(text, coalesceKey);
      const ids = new Set(parsed.graph.nodes.map((n) => n.id));
      set({
        text,
        doc: parsed.doc,
        // A YAML syntax error leaves the last good drawing on the canvas.
        graph: parsed.doc ? parsed.graph : state.graph,
        parseProblems: parsed.problems,
        externalRevision: origin === "editor" ? state.externalRevision : state.externalRevision + 1,
        selectedNodes: parsed.doc ? state.selectedNodes.filter((id) => ids.has(id)) : state.selectedNodes,
        canUndo: state.history.canUndo(),
        canRedo: state.history.canRedo(),
      });
      schedulePrime(origin);
    },

    load(text, saved) {
      get().history.reset(text);
      mark("text-changed");
      const parsed = timed("parse", () => parseWorkflow(text));
      set({
        text,
        doc: parsed.doc,
        graph: parsed.doc ? parsed.graph : EMPTY_GRAPH,
        parseProblems: parsed.problems,
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

    edit(change, coalesceKey) {
      const { text, doc } = get();
      if (!doc) return; // the YAML has a syntax error: the editor must fix it first
      const edited = timed("edit-text", () => editDocument(text, change));
      get().setText(edited.text, "canvas", coalesceKey, edited.doc);
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
      set({ issues, warnings, dialect, validating: false });
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
  return store;
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
