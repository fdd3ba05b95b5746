import { memo, useContext } from "react";
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { AlertTriangle, Ban, CheckCircle2, CornerDownRight, Hourglass, Loader2, Plus, Recycle, RotateCw, SkipForward, XCircle } from "lucide-react";
import type { Issue } from "../../api/types";
import { nodeBodyHeight } from "../../lib/nodeGeometry";
import { iconFor } from "../../lib/nodeKinds";
import { NodeDetailContext } from "./detail";
import { NodeActionsContext } from "../addNodes";
import "../graphEditing.css";

export type WorkflowNodeData = {
  nodeId: string;
  type: string;
  name?: string;
  typeTitle: string;
  known: boolean;
  ports: string[];
  success: boolean;
  issues: Issue[];
  status?: string;
  /** Why the node of the run is in its status (a limit, its fallback, a reused output). */
  statusNote?: string;
  summary?: string;
  /** The node's `when` (it runs only when this is true): shown as a badge. */
  when?: string;
  /** A compensation step undoing no one node: it runs when the execution fails. */
  compensation?: boolean;
};

/** Every workflow node on the canvas; its kind only changes icon, summary and output ports. */
export type WorkflowFlowNode = Node<WorkflowNodeData, "workflow">;

const STATUS_ICON: Record<string, typeof CheckCircle2> = {
  running: Loader2,
  waiting: Hourglass,
  succeeded: CheckCircle2,
  failed: XCircle,
  timed_out: XCircle,
  skipped: SkipForward,
  retrying: RotateCw,
  cancelled: Ban,
  falling_back: CornerDownRight,
  reused: Recycle,
};

function WorkflowNodeView({ data, selected }: NodeProps<WorkflowFlowNode>) {
  const compact = useContext(NodeDetailContext) === "compact";
  const actions = useContext(NodeActionsContext);
  // The "+" after an output: on the selected node only (one node's buttons, not 500's).
  const addAfter = (port?: string) =>
    selected && !compact && actions ? (
      <button
        type="button"
        className="wf-add-after nodrag nopan"
        data-testid={`add-after-${data.nodeId}${port !== undefined ? `-${port}` : ""}`}
        title={port !== undefined ? `Add a node after "${port}"` : "Add the next node"}
        aria-label={port !== undefined ? `Add a node after ${port}` : "Add the next node"}
        onClick={(event) => {
          event.stopPropagation();
          const r = event.currentTarget.getBoundingClientRect();
          actions.openPicker({ from: data.nodeId, port, anchor: { left: r.left, top: r.top, right: r.right, bottom: r.bottom } });
        }}
      >
        <Plus size={12} />
      </button>
    ) : null;
  const Icon = iconFor(data.type);
  const StatusIcon = data.status ? STATUS_ICON[data.status] : undefined;
  const errors = data.issues.filter((i) => i.severity !== "warning");
  const classes = [
    "wf-node",
    `kind-${data.type}`,
    compact ? "is-compact" : "",
    selected ? "is-selected" : "",
    errors.length ? "has-error" : "",
    data.status ? `status-${data.status}` : "",
  ].join(" ");
  return (
    <div
      className={classes}
      data-testid={`node-${data.nodeId}`}
      data-status={data.status ?? ""}
      data-status-note={data.statusNote}
      data-errors={errors.length}
      title={errors.map((e) => e.message).join("\n") || undefined}
    >
      <Handle type="target" position={Position.Left} id="in" className="handle-in" />
      {!compact && (data.when !== undefined || data.compensation) && (
        <div className="wf-node-badges">
          {data.when !== undefined && (
            <span className="wf-node-badge badge-when" data-testid={`node-when-${data.nodeId}`} title={`Runs only when ${data.when}`}>
              when {data.when.replace(/^\{\{\s*|\s*\}\}$/g, "")}
            </span>
          )}
          {data.compensation && (
            <span className="wf-node-badge badge-compensation" title="A compensation step: runs when the execution fails">
              on failure: undo
            </span>
          )}
        </div>
      )}
      {compact ? (
        // Zoomed out (lib/levelOfDetail): the title alone, in a body of the full one's height.
        <div className="wf-node-compact" style={{ height: nodeBodyHeight({ summary: Boolean(data.summary) }) }}>
          <div className="wf-node-title">{data.name || data.nodeId}</div>
        </div>
      ) : (
        <div className="wf-node-body">
          <span className="wf-node-icon">
            <Icon size={16} />
          </span>
          <div className="wf-node-text">
            <div className="wf-node-title">{data.name || data.nodeId}</div>
            <div className="wf-node-sub">
              <span className="mono">{data.type || "?"}</span>
              {data.name && <span className="mono muted"> · {data.nodeId}</span>}
            </div>
            {data.summary && <div className="wf-node-summary mono">{data.summary}</div>}
          </div>
          {StatusIcon && (
            <span className={`wf-node-status status-${data.status}`} title={data.statusNote ? `${data.status}: ${data.statusNote}` : data.status}>
              <StatusIcon size={15} className={data.status === "running" ? "spin" : ""} />
            </span>
          )}
        </div>
      )}
      {errors.length > 0 && (
        <div className="wf-node-error" data-testid={`node-error-${data.nodeId}`}>
          <AlertTriangle size={12} />
          <span>{errors[0].message}</span>
          {errors.length > 1 && <span className="muted"> +{errors.length - 1}</span>}
        </div>
      )}
      {data.ports.length > 0 ? (
        <div className="wf-node-ports">
          {data.ports.map((port) => (
            <div className="wf-port" key={port}>
              <span>{port}</span>
              <Handle type="source" position={Position.Right} id={`port:${port}`} className="handle-port" />
              {addAfter(port)}
            </div>
          ))}
        </div>
      ) : data.success ? (
        <>
          <Handle type="source" position={Position.Right} id="success" className="handle-success" title="on success" />
          {addAfter()}
        </>
      ) : null}
      <Handle type="source" position={Position.Bottom} id="failure" className="handle-failure" title="on failure" />
    </div>
  );
}

/**
 * The view reads only `data`, `selected` and the level of detail (a context). React Flow also passes the node's measured size and
 * absolute position, which change when it measures every node after the first render and when a
 * node moves; neither changes what is drawn, so they do not re-render it.
 */
export const WorkflowNode = memo(
  WorkflowNodeView,
  (before: NodeProps<WorkflowFlowNode>, after: NodeProps<WorkflowFlowNode>) =>
    before.data === after.data && before.selected === after.selected,
);
