import { useCallback } from "react";
import { useReactFlow, type Node } from "@xyflow/react";
import { autoLayout, type LayoutShape } from "../lib/layout";
import { moveNodes } from "../lib/workflowDoc";
import { useDesignerStoreApi } from "./store";
import type { WorkflowNodeData } from "./nodes/WorkflowNode";

/** Each node's size as drawn (given or measured) and its outputs, for the layout engine. */
export function layoutShapes(nodes: Node[]): Record<string, LayoutShape> {
  const shapes: Record<string, LayoutShape> = {};
  for (const node of nodes) {
    const data = node.data as Partial<WorkflowNodeData>;
    shapes[node.id] = {
      width: node.measured?.width,
      height: node.measured?.height,
      ports: data.ports ?? [],
      success: data.success ?? true,
    };
  }
  return shapes;
}

/**
 * Auto-layout (the toolbar button, L): ELK's layered layout with every node's real size and
 * outputs (lib/layout), written into the YAML as one undo step, then the view fitted.
 */
export function useAutoLayout(): () => Promise<void> {
  const store = useDesignerStoreApi();
  const { fitView, getNodes } = useReactFlow();
  return useCallback(async () => {
    const { graph } = store.getState();
    if (!graph.nodes.length) return;
    const positions = await autoLayout(graph.nodes, graph.edges, layoutShapes(getNodes()));
    store.getState().edit((doc) => moveNodes(doc, positions));
    window.setTimeout(() => void fitView({ duration: 300, padding: 0.2 }), 50);
  }, [store, fitView, getNodes]);
}
