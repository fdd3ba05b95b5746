import { memo, useMemo } from "react";
import {
  Background,
  BackgroundVariant,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  ReactFlowProvider,
  type Edge,
  type Node,
  type NodeProps,
  type NodeTypes,
} from "@xyflow/react";
import { iconFor } from "../lib/nodeKinds";
import { diffGraphs, type DiffNode } from "../lib/graphDiff";
import { parseWorkflow } from "../lib/workflowDoc";
import "./graphEditing.css";

type DiffFlowNode = Node<DiffNode & Record<string, unknown>, "diff">;

const CHANGE_LABEL: Record<DiffNode["change"], string> = { added: "added", removed: "removed", changed: "changed", same: "" };

const DiffNodeView = memo(function DiffNodeView({ data }: NodeProps<DiffFlowNode>) {
  const Icon = iconFor(data.type);
  return (
    <div
      className={`diff-node diff-${data.change}`}
      data-testid={`diff-node-${data.id}`}
      data-change={data.change}
      title={data.fields.length ? `Changed: ${data.fields.join(", ")}` : CHANGE_LABEL[data.change] || "unchanged"}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="diff-node-icon">
        <Icon size={14} />
      </span>
      <span className="diff-node-text">
        <span className="diff-node-title">{data.name || data.id}</span>
        <span className="diff-node-sub mono">
          {data.type}
          {data.fields.length > 0 && ` · ${data.fields.join(", ")}`}
        </span>
      </span>
      {data.change !== "same" && <span className={`diff-tag diff-tag-${data.change}`}>{CHANGE_LABEL[data.change]}</span>}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const NODE_TYPES: NodeTypes = { diff: DiffNodeView };
const EDGE_COLOURS = { added: "#12b76a", removed: "#f04438", changed: "#f79009", same: "#98a2b3" };
const FIT = { padding: 0.15 };

/**
 * Two versions on one canvas, read-only: the newer one's nodes and edges with what was added in
 * green, removed (where it was) in red and dashed, changed in amber (the changed keys under the
 * node's type), the rest grey.
 */
export function DiffCanvas({ before, after }: { before: string; after: string }) {
  const diff = useMemo(() => diffGraphs(parseWorkflow(before).graph, parseWorkflow(after).graph), [before, after]);
  const nodes = useMemo<DiffFlowNode[]>(
    () => diff.nodes.map((n) => ({ id: n.id, type: "diff", position: n.position, data: { ...n }, draggable: false, selectable: false })),
    [diff],
  );
  const edges = useMemo<Edge[]>(
    () =>
      diff.edges.map((e) => ({
        id: e.key,
        source: e.from,
        target: e.to,
        label: e.change === "same" ? e.label : `${e.change}${e.label ? ` · ${e.label}` : ""}`,
        className: `diff-edge diff-edge-${e.change}`,
        type: "smoothstep",
        selectable: false,
        markerEnd: { type: MarkerType.ArrowClosed, color: EDGE_COLOURS[e.change] },
      })),
    [diff],
  );
  const c = diff.counts;
  return (
    <div className="diff-canvas-wrap">
      <div className="diff-legend" data-testid="diff-legend">
        <span className="chip diff-chip-added">+{c.added} added</span>
        <span className="chip diff-chip-removed">−{c.removed} removed</span>
        <span className="chip diff-chip-changed">~{c.changed} changed</span>
        <span className="chip">{c.same} unchanged</span>
        <span className="muted small">
          edges: +{c.edgesAdded} / −{c.edgesRemoved} / ~{c.edgesChanged}
        </span>
      </div>
      <div className="diff-canvas" data-testid="diff-canvas">
        <ReactFlowProvider>
          <ReactFlow<DiffFlowNode, Edge>
            nodes={nodes}
            edges={edges}
            nodeTypes={NODE_TYPES}
            fitView
            fitViewOptions={FIT}
            minZoom={0.02}
            nodesDraggable={false}
            nodesConnectable={false}
            elementsSelectable={false}
            proOptions={{ hideAttribution: true }}
          >
            <Background variant={BackgroundVariant.Dots} gap={18} size={1.2} color="#cfd4dc" />
            <Controls showInteractive={false} />
          </ReactFlow>
        </ReactFlowProvider>
      </div>
    </div>
  );
}
