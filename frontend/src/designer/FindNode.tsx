import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useReactFlow } from "@xyflow/react";
import { Search, X } from "lucide-react";
import { NODE_HEIGHT, NODE_WIDTH } from "../lib/layout";
import type { WorkflowGraph } from "../lib/workflowDoc";
import { useDesigner, useDesignerStoreApi } from "./store";
import type { WorkflowFlowNode } from "./nodes/WorkflowNode";
import "./graphEditing.css";

/** Ids of the nodes whose id, name or type holds `query` (case-insensitive): id matches first. */
export function findNodes(graph: Pick<WorkflowGraph, "nodes">, query: string): string[] {
  const needle = query.trim().toLowerCase();
  if (!needle) return [];
  const rank = (id: string, name = "", type = "") =>
    id.toLowerCase() === needle ? 0 : id.toLowerCase().includes(needle) ? 1 : name.toLowerCase().includes(needle) ? 2 : type.toLowerCase().includes(needle) ? 3 : 4;
  return graph.nodes
    .map((n) => ({ id: n.id, rank: rank(n.id, n.name, n.type), index: n.index }))
    .filter((n) => n.rank < 4)
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((n) => n.id);
}

/**
 * Ctrl/⌘+F on the canvas (outside the YAML editor, which has its own search): a box that finds a
 * node by id, name or type. Enter selects the next match and brings it to the middle of the view,
 * Shift+Enter the one before; Escape closes.
 */
export function FindNode() {
  const store = useDesignerStoreApi();
  const graph = useDesigner((s) => s.graph);
  const { getNode, setCenter, getZoom } = useReactFlow<WorkflowFlowNode>();
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const [at, setAt] = useState(-1);
  const input = useRef<HTMLInputElement>(null);
  const matches = useMemo(() => (open ? findNodes(graph, query) : []), [graph, query, open]);
  useEffect(() => setAt(-1), [query]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== "f" || event.shiftKey || event.altKey) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest?.(".cm-editor")) return;
      event.preventDefault();
      const box = input.current;
      if (box) {
        // Open already: what it holds is selected now, so that typing replaces it. (Selected
        // from a timer instead, the selection could land after the first keys were typed, and
        // the next ones replaced them.)
        box.focus();
        box.select();
      } else {
        setOpen(true); // a new box, empty, takes the focus itself (autoFocus)
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const go = useCallback(
    (step: 1 | -1) => {
      if (matches.length === 0) return;
      const next = (at + step + matches.length) % matches.length;
      setAt(next);
      const id = matches[next];
      store.getState().select([id]);
      const node = getNode(id);
      if (!node) return;
      const width = node.measured?.width ?? NODE_WIDTH;
      const height = node.measured?.height ?? NODE_HEIGHT;
      void setCenter(node.position.x + width / 2, node.position.y + height / 2, { zoom: Math.max(getZoom(), 0.9), duration: 250 });
    },
    [matches, at, store, getNode, setCenter, getZoom],
  );

  if (!open) return null;
  const close = () => {
    setOpen(false);
    setQuery("");
  };
  return (
    <div className="find-node" data-testid="find-node" role="search">
      <Search size={14} />
      <input
        ref={input}
        autoFocus
        value={query}
        placeholder="Find a node: id, name or type"
        aria-label="Find a node"
        data-testid="find-node-input"
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            go(e.shiftKey ? -1 : 1);
          } else if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation();
            close();
          }
        }}
      />
      <span className="muted small" data-testid="find-node-count">
        {query.trim() ? (matches.length ? `${at >= 0 ? at + 1 : 0} of ${matches.length}` : "no match") : ""}
      </span>
      <button className="icon-button" aria-label="Close the search" title="Close (Esc)" onClick={close}>
        <X size={14} />
      </button>
    </div>
  );
}
