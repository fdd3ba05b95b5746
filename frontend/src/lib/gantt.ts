/**
 * The timeline of an execution (a Gantt chart): for each node, the stretches of time its events
 * describe — each attempt running, a retry's backoff, a wait (for a signal, a worker, its limit),
 * a delay before it starts, its fallback standing in — and the critical path, the chain of nodes
 * that decided when the run ended. Pure functions over the execution's event log.
 */
import type { ExecutionEvent } from "../api/types";

/** What a node was doing during one segment. */
export type SegmentKind = "run" | "backoff" | "wait" | "delay" | "queued" | "fallback";

export interface Segment {
  kind: SegmentKind;
  /** Milliseconds since the epoch. */
  start: number;
  end: number;
  /** Still going at the time the timeline was made (it ends "now"). */
  open: boolean;
  attempt?: number;
  /** How it ended: succeeded, failed, timed_out, cancelled, retrying, lost, ... */
  outcome?: string;
  /** Why it waited (a wait): approval, function, limit, ... */
  reason?: string;
  /** The error it ended with (an attempt that failed). */
  error?: unknown;
}

export interface NodeTimeline {
  nodeId: string;
  segments: Segment[];
  /** The start of its first segment and the end of its last. */
  start: number;
  end: number;
  /** Attempts made (run segments). */
  attempts: number;
  /** Its output was reused from another execution (a replay): it did not run. */
  reused: boolean;
  /** Its last status as the events tell it. */
  status: string;
}

/** A timed event: the log's events carry `time` (ISO); the live ones too. */
export type TimedEvent = ExecutionEvent & { time?: string | null };

const ENDING: Record<string, string> = {
  "node.succeeded": "succeeded",
  "node.failed": "failed",
  "node.timed_out": "timed_out",
  "node.cancelled": "cancelled",
  "node.skipped": "skipped",
  "node.reset": "reset",
};

const text = (payload: Record<string, unknown> | undefined, key: string): string | undefined =>
  typeof payload?.[key] === "string" ? (payload[key] as string) : undefined;

/**
 * Each node's segments, in the order its first event came. `now` ends the segments still open
 * (the time the execution ended, when it has: a segment cannot outlive its run).
 */
export function nodeTimelines(events: TimedEvent[], now: number): NodeTimeline[] {
  const rows = new Map<string, NodeTimeline>();
  const openOf = new Map<string, Segment>();
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  const close = (nodeId: string, at: number, outcome?: string, error?: unknown) => {
    const open = openOf.get(nodeId);
    if (!open) return;
    open.end = Math.max(open.start, at);
    open.open = false;
    if (outcome) open.outcome = outcome;
    if (error !== undefined && error !== null) open.error = error;
    openOf.delete(nodeId);
  };
  const begin = (row: NodeTimeline, segment: Omit<Segment, "end" | "open">) => {
    const opened: Segment = { ...segment, end: segment.start, open: true };
    row.segments.push(opened);
    openOf.set(row.nodeId, opened);
  };
  let finishedAt: number | null = null;
  for (const event of ordered) {
    const at = event.time ? Date.parse(event.time) : NaN;
    if (!Number.isFinite(at)) continue;
    if (!event.node_id) {
      if (["execution.succeeded", "execution.failed", "execution.cancelled", "execution.timed_out"].includes(event.type)) finishedAt = at;
      else if (event.type === "execution.retried" || event.type === "execution.resumed") finishedAt = null;
      continue;
    }
    const nodeId = event.node_id;
    let row = rows.get(nodeId);
    if (!row) {
      row = { nodeId, segments: [], start: at, end: at, attempts: 0, reused: false, status: "pending" };
      rows.set(nodeId, row);
    }
    const payload = event.payload;
    const attempt = typeof payload?.attempt === "number" ? payload.attempt : undefined;
    switch (event.type) {
      case "node.scheduled":
        close(nodeId, at);
        begin(row, { kind: "delay", start: at });
        row.status = "pending";
        break;
      case "node.started": {
        const current = openOf.get(nodeId);
        // A start right after its wait for a limit: the wait ends here.
        close(nodeId, at, current?.kind === "run" ? "lost" : undefined);
        begin(row, { kind: "run", start: at, attempt });
        row.attempts += 1;
        row.status = "running";
        break;
      }
      case "node.waiting": {
        const current = openOf.get(nodeId);
        const reason = text(payload, "reason") ?? (text(payload, "limit") ? "limit" : undefined);
        if (current?.kind === "run") {
          // An approval or a function task: it started and then waits, in the same attempt.
          close(nodeId, at, "waiting");
          begin(row, { kind: "wait", start: at, attempt: current.attempt, reason });
        } else {
          close(nodeId, at);
          begin(row, { kind: "wait", start: at, reason });
        }
        row.status = "waiting";
        break;
      }
      case "node.retrying":
        close(nodeId, at, "retrying", payload?.error);
        begin(row, { kind: "backoff", start: at, attempt: typeof payload?.next_attempt === "number" ? payload.next_attempt : undefined });
        row.status = "retrying";
        break;
      case "node.requeued":
        close(nodeId, at, "lost");
        begin(row, { kind: "queued", start: at });
        row.status = "pending";
        break;
      case "node.falling_back":
        close(nodeId, at, "failed", payload?.error);
        begin(row, { kind: "fallback", start: at, reason: text(payload, "fallback") });
        row.status = "falling_back";
        break;
      case "node.reused":
        close(nodeId, at);
        row.reused = true;
        row.status = "succeeded";
        break;
      default: {
        const outcome = ENDING[event.type];
        if (!outcome) break;
        if (!openOf.has(nodeId) && outcome !== "skipped" && outcome !== "reset" && outcome !== "cancelled") {
          // A light node runs inside the step that decides it: its outcome is its only event.
          begin(row, { kind: "run", start: at, attempt: attempt ?? row.attempts + 1 });
          row.attempts += 1;
        }
        close(nodeId, at, outcome, payload?.error);
        row.status = outcome === "reset" ? "pending" : outcome;
      }
    }
    row.end = Math.max(row.end, at);
  }
  const end = finishedAt ?? now;
  for (const [nodeId, segment] of openOf) {
    segment.end = Math.max(segment.start, end);
    segment.open = finishedAt === null;
    const row = rows.get(nodeId);
    if (row) row.end = Math.max(row.end, segment.end);
  }
  for (const row of rows.values()) {
    if (row.segments.length) {
      row.start = row.segments[0].start;
      row.end = Math.max(...row.segments.map((s) => s.end));
    }
  }
  return [...rows.values()];
}

/** One attempt of a node: its run and the wait it went into (an approval, a function task). */
export interface Attempt {
  attempt: number;
  start: number;
  end: number;
  open: boolean;
  /** How it ended: succeeded, failed, retrying (failed, then tried again), timed_out, ... */
  outcome?: string;
  error?: unknown;
  /** The part of it spent waiting, and why. */
  waited: number;
  reason?: string;
}

/** A node's attempts, in order (from its timeline's run and wait segments). */
export function attemptsOf(timeline: NodeTimeline): Attempt[] {
  const attempts: Attempt[] = [];
  for (const segment of timeline.segments) {
    const last = attempts[attempts.length - 1];
    if (segment.kind === "run") {
      attempts.push({
        attempt: segment.attempt ?? attempts.length + 1,
        start: segment.start,
        end: segment.end,
        open: segment.open,
        outcome: segment.outcome,
        error: segment.error,
        waited: 0,
      });
    } else if (segment.kind === "wait" && last && segment.attempt === last.attempt && last.outcome === "waiting") {
      Object.assign(last, { end: segment.end, open: segment.open, outcome: segment.outcome, error: segment.error, reason: segment.reason });
      last.waited += segment.end - segment.start;
    }
  }
  return attempts;
}

/** An edge of the graph, as far as the critical path cares. */
export interface DependsOn {
  from: string;
  to: string;
}

/** How late a node may start after the node it waited for ended and still count as waiting for it. */
const SLACK_MS = 1500;

/**
 * The chain of nodes that decided when the run ended, first to last: from the node that ended
 * last, back through the upstream node it waited for (of those that ended before it started, the
 * one that ended last), until a node waited for none. Nodes that did not run (skipped, reused)
 * have no time on it.
 */
export function criticalPath(timelines: NodeTimeline[], edges: DependsOn[]): string[] {
  const ran = new Map(timelines.filter((t) => t.segments.length > 0).map((t) => [t.nodeId, t]));
  if (ran.size === 0) return [];
  const parents = new Map<string, string[]>();
  for (const edge of edges) parents.set(edge.to, [...(parents.get(edge.to) ?? []), edge.from]);
  // Of nodes ending at once (a light node ends in the step that ended the node before it), the
  // one that started last is the later in the chain.
  const later = (a: NodeTimeline, b: NodeTimeline) => (b.end > a.end || (b.end === a.end && b.start > a.start) ? b : a);
  let current = [...ran.values()].reduce(later);
  const path = [current.nodeId];
  const seen = new Set(path);
  for (;;) {
    const waitedFor = (parents.get(current.nodeId) ?? [])
      .map((id) => ran.get(id))
      .filter((t): t is NodeTimeline => t !== undefined && !seen.has(t.nodeId) && t.end <= current.start + SLACK_MS);
    if (waitedFor.length === 0) break;
    current = waitedFor.reduce(later);
    path.unshift(current.nodeId);
    seen.add(current.nodeId);
  }
  return path;
}

export interface GanttBar {
  nodeId: string;
  segment: Segment;
  /** Pixels from the chart's left edge, and width (at least `minWidth`). */
  left: number;
  width: number;
}

export interface GanttTick {
  at: number;
  left: number;
  label: string;
}

/** Where each segment goes on a chart `width` pixels wide spanning `[from, to]`. */
export function layoutBars(timelines: NodeTimeline[], from: number, to: number, width: number, minWidth = 2): GanttBar[][] {
  const span = Math.max(1, to - from);
  const x = (t: number) => ((t - from) / span) * width;
  return timelines.map((timeline) =>
    timeline.segments.map((segment) => {
      const left = Math.max(0, Math.min(width - minWidth, x(segment.start)));
      return { nodeId: timeline.nodeId, segment, left, width: Math.max(minWidth, x(segment.end) - x(segment.start)) };
    }),
  );
}

const STEPS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

/** A duration as a person reads it: 850 ms, 4.2 s, 3 min 5 s, 2 h 10 min. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, "")} s`;
  if (ms < 3_600_000) {
    const minutes = Math.floor(ms / 60_000);
    const seconds = Math.round((ms % 60_000) / 1_000);
    return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
  }
  if (ms < 86_400_000) {
    const hours = Math.floor(ms / 3_600_000);
    const minutes = Math.round((ms % 3_600_000) / 60_000);
    return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
  }
  const days = Math.floor(ms / 86_400_000);
  const hours = Math.round((ms % 86_400_000) / 3_600_000);
  return hours ? `${days} d ${hours} h` : `${days} d`;
}

/** Offsets from the start of the run at a round step, at most `count` of them, for the axis. */
export function timeTicks(from: number, to: number, width: number, count = 8): GanttTick[] {
  const span = Math.max(1, to - from);
  const step = STEPS_MS.find((s) => span / s <= count) ?? Math.ceil(span / count / 86_400_000) * 86_400_000;
  const ticks: GanttTick[] = [];
  for (let offset = 0; offset <= span; offset += step) {
    ticks.push({ at: from + offset, left: (offset / span) * width, label: offset === 0 ? "0" : `+${formatDuration(offset)}` });
  }
  return ticks;
}
