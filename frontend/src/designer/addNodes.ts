/**
 * Adding nodes from the palette, the "+" of a node's output and the picker: each new node goes to
 * a free place near where it was asked for (lib/placement), never on top of another one.
 */
import { createContext } from "react";
import type { ReactFlowInstance } from "@xyflow/react";
import { NODE_HEIGHT, NODE_WIDTH } from "../lib/layout";
import { freeSpot, type Rect } from "../lib/placement";
import { addEdge, addNode, uniqueId, type XY } from "../lib/workflowDoc";
import { toast } from "../components/toast";
import type { DesignerState } from "./store";
import type { WorkflowFlowNode } from "./nodes/WorkflowNode";
import type { StoreApi } from "zustand";

type Flow = Pick<ReactFlowInstance<WorkflowFlowNode>, "getNodes" | "getInternalNode">;
type Store = StoreApi<DesignerState>;

const READ_ONLY = "The YAML has a syntax error: fix it before adding nodes.";
// A node showing a validation problem (a new node usually does, until it is filled in) grows by
// a row of about this much: places are kept for that row, so no node comes to overlap another.
const ERROR_ROW = 44;
const NEW_NODE = { width: NODE_WIDTH, height: NODE_HEIGHT + ERROR_ROW };

/** Every node's box on the canvas, in flow coordinates. */
export function nodeRects(flow: Flow): (Rect & { id: string })[] {
  return flow.getNodes().map((n) => ({
    id: n.id,
    x: n.position.x,
    y: n.position.y,
    width: n.measured?.width ?? NODE_WIDTH,
    // (React Flow's own copy has the size it measured: a node showing a problem is taller.)
    height: Math.max(n.measured?.height ?? NODE_HEIGHT, flow.getInternalNode(n.id)?.measured.height ?? 0) + ERROR_ROW,
  }));
}

/** Adds a node of `type` at the free place nearest `at` (its top-left); selects it. Returns its id. */
export function addNodeNear(store: Store, flow: Flow, type: string, at: XY): string | null {
  const spot = freeSpot(nodeRects(flow), at, NEW_NODE);
  let newId = "";
  const done = store.getState().edit((doc) => {
    newId = uniqueId(doc, type);
    addNode(doc, { id: newId, type, position: spot });
  });
  if (!done) {
    toast.info(READ_ONLY);
    return null;
  }
  store.getState().select([newId]);
  return newId;
}

/** Where a picked node's "+" came from: the node and its output (a port, or its success output). */
export interface AddAfter {
  from: string;
  port?: string;
  /** The "+" button's box on the screen, where the picker opens. */
  anchor: { left: number; top: number; bottom: number; right: number };
}

/**
 * Adds a node of `type` after `from` (to its right, level with the output it leaves from) and
 * connects them: through `port` when given. Selects the new node; returns its id and place.
 */
export function addNodeAfter(
  store: Store,
  flow: Flow,
  type: string,
  after: Pick<AddAfter, "from" | "port">,
): { id: string; position: XY } | null {
  const rects = nodeRects(flow);
  const source = rects.find((r) => r.id === after.from);
  if (!source) return null;
  const at = { x: source.x + source.width + 90, y: source.y };
  const spot = freeSpot(rects, at, NEW_NODE, 24);
  let newId = "";
  const done = store.getState().edit((doc) => {
    newId = uniqueId(doc, type);
    addNode(doc, { id: newId, type, position: spot });
    addEdge(doc, { from: after.from, to: newId, port: after.port });
  });
  if (!done) {
    toast.info(READ_ONLY);
    return null;
  }
  store.getState().select([newId]);
  return { id: newId, position: spot };
}

/** Given by the canvas to its nodes: what their "+" buttons call. */
export const NodeActionsContext = createContext<{ openPicker(after: AddAfter): void } | null>(null);
