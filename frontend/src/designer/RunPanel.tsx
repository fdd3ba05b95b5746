/**
 * Running the saved workflow: an input form from `spec.input_schema`, the start call, and the
 * live node states from the execution's WebSocket (with polling as a fallback). The controls of
 * a run (pause, resume, cancel, retry, run again, replay) are in ./RunControls.
 */
import { useEffect, useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { Check, ExternalLink, History, Play, X } from "lucide-react";
import { api, ApiError, executionSocketUrl } from "../api/client";
import type { Execution, ExecutionEvent, JsonSchema, NodeRun } from "../api/types";
import { NodeRunData } from "../executions/NodeRunData";
import { nodeTimelines } from "../lib/gantt";
import { upstreamOf } from "../lib/upstream";
import { Modal } from "../components/Modal";
import { useSession } from "../components/session";
import { toast } from "../components/toast";
import {
  applyRunEvent,
  canControlRuns,
  canReplayFrom,
  displayStatus,
  FINISHED_STATUSES as TERMINAL,
  liveEventsOf,
  nodeRunsOf,
  runNodeNote,
  runNodesFrom,
} from "../lib/runControls";
import { follow, ReplayDialog } from "./RunControls";
import { SchemaForm, type FieldPath } from "./SchemaForm";
import { useDesigner, useDesignerStoreApi, type RunState } from "./store";

export { nodeRunsOf };

function setPath(target: Record<string, unknown>, path: FieldPath, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...target };
  const [head, ...rest] = path;
  if (rest.length === 0) {
    if (value === undefined) delete copy[String(head)];
    else copy[String(head)] = value;
  } else {
    copy[String(head)] = setPath((copy[String(head)] as Record<string, unknown>) ?? {}, rest, value);
  }
  return copy;
}

function errorText(error: unknown): string {
  if (!error) return "";
  if (typeof error === "string") return error;
  const message = (error as { message?: unknown }).message;
  return typeof message === "string" ? message : JSON.stringify(error);
}

/** Applies one live event to the run state. */
export function applyEvent(run: RunState, event: ExecutionEvent): RunState {
  return applyRunEvent(run, event);
}

export function RunDialog({ workflowId, onClose }: { workflowId: string; onClose: () => void }) {
  const store = useDesignerStoreApi();
  const text = useDesigner((s) => s.text);
  const schema = useMemo(() => {
    const spec = (store.getState().getDoc()?.toJS() as { spec?: { input_schema?: JsonSchema } } | undefined)?.spec;
    return spec?.input_schema ?? { type: "object", properties: {} };
  }, [store, text]);
  const [input, setInput] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState(false);
  const hasFields = Object.keys(schema.properties ?? {}).length > 0;

  const start = async () => {
    const missing = (schema.required ?? []).filter((field) => input[field] === undefined || input[field] === "");
    if (missing.length) {
      toast.error(`Fill in ${missing.join(", ")}: the workflow's input_schema requires ${missing.length > 1 ? "them" : "it"}.`);
      return;
    }
    setBusy(true);
    try {
      const execution = await api.execute(workflowId, input);
      store.getState().setRun({ executionId: execution.id, status: execution.status ?? "pending", nodes: {} });
      toast.info(`Execution ${execution.id.slice(0, 8)} started`);
      onClose();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
        toast.error(`Running is not available on this server: POST /api/v1/workflows/{id}/execute answered ${error.status} (${error.message})`);
      } else toast.fromError(error, "Could not start the run");
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Run workflow"
      onClose={onClose}
      testId="run-dialog"
      footer={
        <>
          <button className="button" onClick={onClose}>
            Cancel
          </button>
          <button className="button primary" onClick={() => void start()} disabled={busy} data-testid="run-start">
            <Play size={14} /> {busy ? "Starting…" : "Start run"}
          </button>
        </>
      }
    >
      {hasFields ? (
        <SchemaForm schema={schema} value={input} onChange={(path, value) => setInput((current) => setPath(current, path, value))} />
      ) : (
        <p className="muted">This workflow declares no input (`spec.input_schema`). It will run with an empty input.</p>
      )}
    </Modal>
  );
}

/** Shows the workflow's last run on the canvas (followed live if it is still going). */
export async function showLastRun(store: ReturnType<typeof useDesignerStoreApi>, workflowId: string): Promise<void> {
  try {
    const last = await api.lastExecution(workflowId);
    if (!last) {
      toast.info("This workflow has not run yet.");
      return;
    }
    const execution = await api.getExecution(last.id);
    store.getState().setRun({
      executionId: execution.id,
      status: execution.status,
      nodes: runNodesFrom(execution),
      past: TERMINAL.has(execution.status),
    });
  } catch (error) {
    toast.fromError(error, "Could not load the last run");
  }
}

/**
 * Keeps the store's run state current: WebSocket events, and a poll of the detail. Follows the
 * run again when `follow` is bumped (a finished run retried in place).
 */
export function useRunStream(): void {
  const store = useDesignerStoreApi();
  const executionId = useDesigner((s) => s.run?.executionId);
  const follow = useDesigner((s) => s.run?.follow ?? 0);
  useEffect(() => {
    if (!executionId) return;
    let closed = false;
    let socket: WebSocket | null = null;
    const onEvent = (event: ExecutionEvent) =>
      store.getState().setRun((run) => (run && run.executionId === executionId ? applyEvent(run, event) : run));
    try {
      socket = new WebSocket(executionSocketUrl(executionId));
      socket.onmessage = (message) => {
        try {
          liveEventsOf(JSON.parse(message.data as string)).forEach(onEvent);
        } catch {
          /* not an event */
        }
      };
    } catch {
      socket = null;
    }
    const poll = async () => {
      while (!closed) {
        try {
          const execution = await api.getExecution(executionId);
          store.getState().setRun((run) =>
            run && run.executionId === executionId ? { ...run, status: execution.status, nodes: runNodesFrom(execution, run.nodes) } : run,
          );
          if (TERMINAL.has(execution.status)) {
            if (store.getState().run?.past) break; // a finished run shown again: nothing new to tell
            if (execution.status === "succeeded") toast.success("Run succeeded");
            else toast.error(`Run ${execution.status}${errorText(execution.error) ? `: ${errorText(execution.error)}` : ""}`);
            break;
          }
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) {
            toast.error("Execution details are not available (GET /api/v1/executions/{id} answered 404).");
            break;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    };
    void poll();
    return () => {
      closed = true;
      socket?.close();
    };
  }, [executionId, follow, store]);
}

export function approversOf(input: unknown): string[] {
  const approvers = (input as { approvers?: unknown } | null | undefined)?.approvers;
  return Array.isArray(approvers) ? approvers.filter((name): name is string => typeof name === "string") : [];
}

export function messageOf(input: unknown): string {
  const message = (input as { message?: unknown } | null | undefined)?.message;
  return typeof message === "string" ? message : "";
}

/** Approve or reject a node waiting for a decision (an approval node). */
export function Decision({ executionId, nodeId, message, approvers }: { executionId: string; nodeId: string; message: string; approvers: string[] }) {
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const username = useSession((s) => s.me?.username);
  const allowed = approvers.length === 0 || (username !== undefined && approvers.includes(username));
  const decide = async (decision: "approved" | "rejected") => {
    setBusy(true);
    try {
      await api.signal(executionId, { node_id: nodeId, decision, comment: comment || undefined });
      toast.success(decision === "approved" ? "Approved" : "Rejected");
    } catch (error) {
      toast.fromError(error, "Could not send the decision");
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="decision" data-testid="approval-decision">
      <h5>Waiting for a decision</h5>
      {message && <p className="decision-message">{message}</p>}
      {!allowed && (
        <p className="muted" data-testid="approval-not-yours">
          Only {approvers.join(", ")} may decide.
        </p>
      )}
      <textarea
        rows={2}
        placeholder="Comment (optional)"
        value={comment}
        onChange={(event) => setComment(event.target.value)}
        data-testid="approval-comment"
      />
      <div className="decision-actions">
        <button className="button primary" disabled={busy || !allowed} onClick={() => void decide("approved")} data-testid="approve-button">
          <Check size={14} /> Approve
        </button>
        <button className="button danger" disabled={busy || !allowed} onClick={() => void decide("rejected")} data-testid="reject-button">
          <X size={14} /> Reject
        </button>
      </div>
    </div>
  );
}

/**
 * One node of the current run: the data that arrived, its rendered config, output, error,
 * attempts and timings (the execution page's NodeRunData), and its controls.
 */
export function RunDetails({ nodeId, nodeType }: { nodeId: string; nodeType?: string }) {
  const store = useDesignerStoreApi();
  const run = useDesigner((s) => s.run);
  const graph = useDesigner((s) => s.graph);
  const status = run?.nodes[nodeId]?.status;
  const note = runNodeNote(run?.nodes[nodeId]);
  const shownStatus = displayStatus(run?.nodes[nodeId]) ?? "pending";
  const canControl = canControlRuns(useSession((s) => s.me?.role));
  const [replaying, setReplaying] = useState(false);
  const [execution, setExecution] = useState<Execution | null>(null);
  const [events, setEvents] = useState<ExecutionEvent[]>([]);
  useEffect(() => {
    if (!run) return;
    let live = true;
    api
      .getExecution(run.executionId)
      .then((loaded) => live && setExecution(loaded))
      .catch(() => live && setExecution(null));
    // The node's attempts and timings come from the log (its first page is enough for one node of a designer run).
    api
      .listEvents(run.executionId, 0, 500)
      .then((page) => live && setEvents(page.results))
      .catch(() => live && setEvents([]));
    return () => {
      live = false;
    };
  }, [run?.executionId, nodeId, status]); // eslint-disable-line react-hooks/exhaustive-deps
  const steps = useMemo(
    () => Object.fromEntries((execution ? nodeRunsOf(execution) : []).map((step) => [step.node_id, step])) as Record<string, NodeRun>,
    [execution],
  );
  const timeline = useMemo(
    () => nodeTimelines(events.filter((event) => event.node_id === nodeId || !event.node_id), Date.now()).find((t) => t.nodeId === nodeId),
    [events, nodeId],
  );
  if (!run) return null;
  const detail: NodeRun | null = steps[nodeId] ?? null;
  const replayOf = execution?.replay_of ?? null;
  const upstream = execution ? upstreamOf(nodeId, graph.nodes, graph.edges, steps, execution.input) : null;
  const attempts = detail?.attempts;
  return (
    <div className="run-details" data-testid="run-details">
      <div className="kv-line">
        <span className="muted">Execution</span> <span className="mono">{run.executionId.slice(0, 8)}</span>
        <span className={`status-pill status-${run.status}`}>{run.status}</span>
        {replayOf && (
          <span className="muted" data-testid="run-replay-of">
            replay of <span className="mono">{replayOf.slice(0, 8)}</span>
          </span>
        )}
        <Link to={`/executions/${run.executionId}`} className="small" data-testid="open-execution-page" title="Its page: the timeline, the event log, every node">
          Open the execution <ExternalLink size={11} />
        </Link>
      </div>
      <div className="kv-line">
        <span className="muted">This node</span>
        <span className={`status-pill status-${shownStatus}`} data-testid="run-node-status">
          {shownStatus}
        </span>
        <span className="muted">attempts: {Array.isArray(attempts) ? attempts.length : attempts ?? run.nodes[nodeId]?.attempt ?? "—"}</span>
      </div>
      {note && (
        <p className="run-note" data-testid="run-node-note">
          {note}
        </p>
      )}
      {canReplayFrom(run.status, canControl) && (
        <button
          className="button small"
          onClick={() => setReplaying(true)}
          data-testid="replay-from-here"
          title="A new execution that runs this node and everything after it; the nodes before it keep their outputs"
        >
          <History size={14} /> Replay from here
        </button>
      )}
      {replaying && (
        <ReplayDialog executionId={run.executionId} nodeId={nodeId} onStarted={(execution) => follow(store, execution)} onClose={() => setReplaying(false)} />
      )}
      {status === "waiting" && nodeType === "approval" && (
        <Decision executionId={run.executionId} nodeId={nodeId} message={messageOf(detail?.input)} approvers={approversOf(detail?.input)} />
      )}
      {status === "waiting" && nodeType === "function" && (
        <p className="decision" data-testid="function-waiting">
          Waiting for a worker of <span className="mono">{String((detail?.input as { executor?: unknown } | null)?.executor ?? "")}</span> to
          take this task (<span className="mono">POST /api/v1/function-tasks/poll</span>).
        </p>
      )}
      <NodeRunData step={detail ?? undefined} upstream={upstream} timeline={timeline} now={Date.now()} />
    </div>
  );
}
