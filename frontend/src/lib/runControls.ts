/**
 * What the designer offers for a run, from its state alone: the control buttons an execution's
 * status allows (docs/api.md, Executions: control), and how a node of the run is shown (its
 * status on the canvas and a sentence saying why it is in it).
 */
import type { Execution, ExecutionEvent, NodeRun } from "../api/types";

/** The buttons of the Run panel, in the order they are shown. */
export type RunControl = "pause" | "resume" | "cancel" | "retry" | "rerun";

/** Statuses after which an execution changes only by a retry (failed) or not at all. */
export const FINISHED_STATUSES: ReadonlySet<string> = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

export function isFinished(status: string): boolean {
  return FINISHED_STATUSES.has(status);
}

/**
 * The controls an execution in `status` accepts: pause while running, resume while paused,
 * cancel until it ends, retry in place once failed, run again (with the same or a new input)
 * once finished. None for someone who may not change runs (a viewer), or for a status this
 * version of the designer does not know.
 */
export function controlsFor(status: string, canControl = true): RunControl[] {
  if (!canControl) return [];
  switch (status) {
    case "running":
      return ["pause", "cancel"];
    case "pending":
      return ["cancel"];
    case "paused":
      return ["resume", "cancel"];
    case "failed":
      return ["retry", "rerun"];
    case "succeeded":
    case "cancelled":
    case "timed_out":
      return ["rerun"];
    default:
      return [];
  }
}

/** "Replay from here" is offered on the nodes of a finished run (a new execution from that node). */
export function canReplayFrom(status: string, canControl = true): boolean {
  return canControl && isFinished(status);
}

/** Roles that may not change runs (the API answers them 403). */
export function canControlRuns(role: string | undefined): boolean {
  return role !== undefined && role !== "viewer";
}

/** One node of a run as the designer keeps it (from the execution's events and detail). */
export interface RunNode {
  status: string;
  attempt?: number;
  /** Why it waits: `limit` (its concurrency limit is full), `approval`, `function`, … */
  reason?: string;
  /** The limit it waits for or was scheduled by (`<tenant>:<name>`). */
  limit?: string;
  /** The execution whose output it reused (a replay), instead of running. */
  reusedFrom?: string;
  /** The fallback node that runs (or ran) in its place. */
  fallback?: string;
}

/**
 * The status a node is drawn with: a reused node is `reused` (it succeeded without running);
 * the others as the server says.
 */
export function displayStatus(node: RunNode | undefined): string | undefined {
  if (!node) return undefined;
  if (node.status === "succeeded" && node.reusedFrom) return "reused";
  return node.status;
}

const short = (id: string) => id.slice(0, 8);

/** A sentence saying why the node is in its state, when its status alone does not. */
export function runNodeNote(node: RunNode | undefined): string | undefined {
  if (!node) return undefined;
  switch (node.status) {
    case "succeeded":
      if (node.reusedFrom === "pinned") return "Not run: a test run used its pinned sample data.";
      if (node.reusedFrom) return `Not run again: its output is reused from execution ${short(node.reusedFrom)}.`;
      if (node.fallback) return `It failed; its fallback ${node.fallback} stood in for it.`;
      return undefined;
    case "falling_back":
      return `It failed; its fallback ${node.fallback ?? "node"} is running in its place.`;
    case "waiting":
      if (node.reason === "limit") return `Waiting for its turn: ${node.limit ? `the limit ${node.limit}` : "its limit"} is full.`;
      if (node.reason === "approval") return "Waiting for a decision.";
      if (node.reason === "function") return "Waiting for a worker to take its task.";
      return node.reason ? `Waiting (${node.reason}).` : "Waiting.";
    case "pending":
      if (node.limit) return `Scheduled by its rate limit ${node.limit}.`;
      return undefined;
    default:
      return undefined;
  }
}

/** Node runs of an execution, whichever shape the detail uses (list or map). */
export function nodeRunsOf(execution: Execution): NodeRun[] {
  const raw = execution.steps ?? execution.nodes ?? execution.node_runs ?? [];
  if (Array.isArray(raw)) return raw;
  return Object.entries(raw).map(([node_id, run]) => ({ ...run, node_id: run.node_id ?? node_id }));
}

/**
 * The run's nodes as the execution's detail shows them. The detail does not say why a node
 * waits or which fallback stands in (its events do): what `previous` knew of a node still in
 * the same status is kept.
 */
export function runNodesFrom(execution: Execution, previous: Record<string, RunNode> = {}): Record<string, RunNode> {
  const nodes = { ...previous };
  for (const step of nodeRunsOf(execution)) {
    const known = previous[step.node_id];
    const node: RunNode = known && known.status === step.status ? { ...known } : { status: step.status };
    if (typeof step.attempt === "number") node.attempt = step.attempt;
    else if (known?.attempt !== undefined) node.attempt = known.attempt;
    if (step.reused_from) node.reusedFrom = step.reused_from;
    // Succeeded by its fallback node: its error says which one replaced it.
    const replacedBy = (step.error as { replaced_by?: unknown } | null | undefined)?.replaced_by;
    if (step.status === "succeeded" && typeof replacedBy === "string" && replacedBy !== "fallback_output") node.fallback = replacedBy;
    nodes[step.node_id] = node;
  }
  return nodes;
}

const NODE_EVENT_STATUS: Record<string, string> = {
  "node.started": "running",
  "node.waiting": "waiting",
  "node.falling_back": "falling_back",
  "node.succeeded": "succeeded",
  "node.reused": "succeeded",
  "node.failed": "failed",
  "node.skipped": "skipped",
  "node.retrying": "retrying",
  "node.cancelled": "cancelled",
  "node.timed_out": "timed_out",
  "node.scheduled": "pending",
  "node.requeued": "pending",
  "node.reset": "pending",
};

// Execution events whose status is not their name. Compensating, it is still running (it ends
// failed or cancelled); retried, it runs again.
const EXECUTION_EVENT_STATUS: Record<string, string> = {
  created: "pending",
  started: "running",
  resumed: "running",
  retried: "running",
  compensating: "running",
};

/** The run's state after one of its events. */
export function applyRunEvent<T extends { status: string; nodes: Record<string, RunNode> }>(run: T, event: ExecutionEvent): T {
  const status = NODE_EVENT_STATUS[event.type];
  if (event.node_id && status) {
    const payload = event.payload ?? {};
    const text = (key: string) => (typeof payload[key] === "string" ? (payload[key] as string) : undefined);
    const previous = run.nodes[event.node_id];
    const node: RunNode = { status, attempt: typeof payload.attempt === "number" ? payload.attempt : previous?.attempt };
    if (event.type === "node.waiting") node.reason = text("reason");
    if (event.type === "node.waiting" || event.type === "node.scheduled") node.limit = text("limit");
    if (event.type === "node.reused") node.reusedFrom = text("from");
    if (event.type === "node.falling_back" || event.type === "node.succeeded") node.fallback = text("fallback");
    for (const key of Object.keys(node) as (keyof RunNode)[]) if (node[key] === undefined) delete node[key];
    return { ...run, nodes: { ...run.nodes, [event.node_id]: node } };
  }
  if (event.type.startsWith("execution.")) {
    const name = event.type.slice("execution.".length);
    return { ...run, status: EXECUTION_EVENT_STATUS[name] ?? name };
  }
  return run;
}

/**
 * The events in one message of an execution's WebSocket: `{"type": "event", "event": "<event
 * type>", "seq", "node_id", "payload", …}` (executions/live/consumers.py); anything else (an
 * error message) carries none.
 */
export function liveEventsOf(message: unknown): ExecutionEvent[] {
  const data = message as { type?: unknown; event?: unknown; seq?: unknown; node_id?: unknown; payload?: unknown } | null;
  if (!data || data.type !== "event" || typeof data.event !== "string" || typeof data.seq !== "number") return [];
  return [
    {
      seq: data.seq,
      type: data.event,
      node_id: typeof data.node_id === "string" && data.node_id ? data.node_id : null,
      payload: data.payload && typeof data.payload === "object" ? (data.payload as Record<string, unknown>) : {},
    },
  ];
}
