/**
 * The run's workflow, read-only, each node in the colour of its state as it changes, the edges
 * the run took drawn solid and those it did not faint. Zoomed out, nodes are drawn compact
 * (lib/levelOfDetail) with their state's colour filling them, so a big workflow reads at any zoom.
 */
import { memo, useEffect, useMemo, useState } from "react";
import {
  Background,
  BackgroundVariant,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  useStore as useFlowStore,
  type Edge,
  type NodeTypes,
} from "@xyflow/react";
import type { NodeRun } from "../api/types";
import { NodeDetailContext } from "../designer/nodes/detail";
import { WorkflowNode, type WorkflowFlowNode } from "../designer/nodes/WorkflowNode";
import { autoLayout, displayPositions } from "../lib/layout";
import { nodeDetailAt } from "../lib/levelOfDetail";
import { edgeSourceHandle, sharedNodeGeometry } from "../lib/nodeGeometry";
import { outputPorts } from "../lib/nodeKinds";
import { displayStatus, runNodeNote, type RunNode } from "../lib/runControls";
import { edgeDecisions } from "../lib/upstream";
import type { WorkflowGraph, XY } from "../lib/workflowDoc";

const nodeTypes: NodeTypes = { workflow: WorkflowNode };
const FIT_VIEW_OPTIONS = { padding: 0.2, maxZoom: 1 };
const PRO_OPTIONS = { hideAttribution: true };
const ARROW = { type: MarkerType.ArrowClosed, width: 16, height: 16 };
const MINIMAP_STYLE = { width: 140, height: 90 };

const STATUS_COLOURS: Record<string, string> = {
  running: "#1570ef",
  retrying: "#1570ef",
  waiting: "#dc6803",
  falling_back: "#dc6803",
  succeeded: "#12b76a",
  reused: "#12b76a",
  failed: "#f04438",
  timed_out: "#f04438",
  cancelled: "#98a2b3",
  skipped: "#d0d5dd",
};

const miniMapColour = (node: WorkflowFlowNode) => STATUS_COLOURS[node.data.status ?? ""] ?? "#cfd4dc";

function Flow({
  graph,
  runNodes,
  steps,
  selected,
  onSelect,
}: {
  graph: WorkflowGraph;
  runNodes: Record<string, RunNode>;
  steps: Record<string, NodeRun>;
  selected: string | null;
  onSelect: (nodeId: string | null) => void;
}) {
  const detail = useFlowStore((s) => nodeDetailAt(s.transform[2]));
  const { fitView } = useReactFlow();
  const [placed, setPlaced] = useState<Record<string, XY>>({});
  const unplaced = graph.nodes.some((n) => !n.position);
  useEffect(() => {
    if (!unplaced) return;
    let live = true;
    autoLayout(graph.nodes, graph.edges)
      .then((positions) => live && setPlaced(positions))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [graph, unplaced]);
  // The graph comes after the page (the version is read once the run is): fit it when it does.
  const shape = graph.nodes.map((n) => n.id).join(",") + `|${Object.keys(placed).length}`;
  useEffect(() => {
    if (!graph.nodes.length) return;
    const timer = window.setTimeout(() => void fitView(FIT_VIEW_OPTIONS), 30);
    return () => window.clearTimeout(timer);
  }, [shape, fitView]); // eslint-disable-line react-hooks/exhaustive-deps
  const positions = useMemo(() => {
    const fallback = displayPositions(graph.nodes, graph.edges);
    return Object.fromEntries(graph.nodes.map((n) => [n.id, n.position ?? placed[n.id] ?? fallback[n.id]]));
  }, [graph, placed]);

  const nodes: WorkflowFlowNode[] = useMemo(
    () =>
      graph.nodes.map((n) => {
        const ports = outputPorts(n);
        const geometry = sharedNodeGeometry({ summary: false, ports, success: n.type !== "fail" });
        return {
          id: n.id,
          type: "workflow" as const,
          position: positions[n.id] ?? { x: 0, y: 0 },
          selected: selected === n.id,
          draggable: false,
          connectable: false,
          measured: geometry.measured,
          handles: geometry.handles,
          data: {
            nodeId: n.id,
            type: n.type,
            name: n.name,
            typeTitle: n.type,
            known: true,
            ports,
            success: n.type !== "fail",
            issues: [],
            status: displayStatus(runNodes[n.id]) ?? "pending",
            statusNote: runNodeNote(runNodes[n.id]),
          },
        };
      }),
    [graph, positions, runNodes, selected],
  );
  const decisions = useMemo(() => edgeDecisions(graph.nodes, graph.edges, steps), [graph, steps]);
  const edges: Edge[] = useMemo(() => {
    const shapes = new Map(graph.nodes.map((n) => [n.id, { ports: outputPorts(n), success: n.type !== "fail" }]));
    return graph.edges.map((e) => {
      const taken = decisions.get(e.key);
      return {
        id: e.key,
        source: e.from,
        target: e.to,
        sourceHandle: edgeSourceHandle(e, shapes.get(e.from)).handle,
        targetHandle: "in",
        type: "smoothstep",
        className: `edge-${e.on} ${taken === "yes" ? "edge-taken" : taken === "no" ? "edge-not-taken" : ""}`,
        label: detail === "full" ? (e.port ?? (e.condition ? "if" : undefined)) : undefined,
        markerEnd: ARROW,
        selectable: false,
        focusable: false,
      };
    });
  }, [graph, decisions, detail]);
  return (
    <NodeDetailContext.Provider value={detail}>
      <ReactFlow<WorkflowFlowNode, Edge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={FIT_VIEW_OPTIONS}
        minZoom={0.2}
        maxZoom={2}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        onNodeClick={(_, node) => onSelect(node.id)}
        onPaneClick={() => onSelect(null)}
        proOptions={PRO_OPTIONS}
        onlyRenderVisibleElements
      >
        <Background variant={BackgroundVariant.Dots} gap={18} size={1} color="#d0d5dd" />
        <Controls showInteractive={false} />
        {graph.nodes.length > 12 && (
          <MiniMap<WorkflowFlowNode> pannable zoomable style={MINIMAP_STYLE} nodeColor={miniMapColour} nodeBorderRadius={8} />
        )}
      </ReactFlow>
    </NodeDetailContext.Provider>
  );
}

export const ExecutionGraph = memo(function ExecutionGraph(props: {
  graph: WorkflowGraph;
  runNodes: Record<string, RunNode>;
  steps: Record<string, NodeRun>;
  selected: string | null;
  onSelect: (nodeId: string | null) => void;
}) {
  return (
    <div className={`exec-graph`} data-testid="execution-graph">
      <ReactFlowProvider>
        <Flow {...props} />
      </ReactFlowProvider>
    </div>
  );
});
