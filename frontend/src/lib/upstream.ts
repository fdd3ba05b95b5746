/**
 * The data that actually arrived at a node of a run: the outputs of the nodes whose edges into it
 * were taken (the engine's `upstream`, executions/engine/step.py `node_context`).
 *
 * Derived here from the version's graph and the run's steps rather than stored by the server:
 * the steps already carry every output, so the answer costs nothing more, and the engine records
 * no edge decision a serializer could read instead (computing one there would mean evaluating
 * edge conditions again on the server, as here). An edge is decided as the engine decides it —
 * its source's outcome against its `on`, its `port` against the port the source's output takes —
 * except an edge `condition`, whose value no record keeps: such an edge is "unknown", unless the
 * node ran and it is the only edge that can have brought it there.
 */
import type { NodeRun } from "../api/types";
import type { GraphEdge, GraphNode } from "./workflowDoc";

export type Taken = "yes" | "no" | "unknown";

export interface UpstreamSource {
  nodeId: string;
  /** The edge, or null for the implicit one from a node to its `fallback`. */
  edge: GraphEdge | null;
  taken: Taken;
  /** Why the edge was or was not taken, for a person. */
  why: string;
  output: unknown;
}

export interface Upstream {
  /** No inbound edge: the node received the execution's input. */
  fromInput: boolean;
  sources: UpstreamSource[];
  /**
   * What reached the node as `upstream`: the one taken source's output, the taken sources'
   * objects merged when several, else the execution's input. Undefined while it has not run.
   */
  value: unknown;
  /** Some edge's condition decided it, and that is not recorded: `value` counts the known ones. */
  uncertain: boolean;
}

/** The labelled port an output takes (executions/executors/base.py and approval.py `port`). */
export function portOf(sourceType: string, output: unknown): string {
  if (sourceType === "approval" && output && typeof output === "object" && !Array.isArray(output)) {
    return String((output as { decision?: unknown }).decision);
  }
  if (typeof output === "boolean") return output ? "true" : "false";
  if (output === null || output === undefined) return "None";
  return typeof output === "string" ? output : JSON.stringify(output);
}

const RAN = new Set(["running", "waiting", "succeeded", "failed", "timed_out", "retrying", "falling_back"]);

function decide(edge: GraphEdge, source: NodeRun | undefined, sourceType: string): { taken: Taken; why: string } {
  const status = source?.status ?? "pending";
  let ok: boolean;
  if (status === "succeeded") ok = true;
  else if (status === "failed" || status === "timed_out") ok = false;
  else if (status === "skipped" || status === "cancelled") return { taken: "no", why: `${edge.from} was ${status}: the path ends there` };
  else return { taken: "no", why: `${edge.from} has not finished` };
  if (edge.on === "success" && !ok) return { taken: "no", why: `an on-success edge, and ${edge.from} ${status === "failed" ? "failed" : "timed out"}` };
  if (edge.on === "failure" && ok) return { taken: "no", why: `an on-failure edge, and ${edge.from} succeeded` };
  if (edge.port !== undefined) {
    if (edge.port === "success" || edge.port === "failure") {
      if ((edge.port === "failure") === ok) return { taken: "no", why: `the ${edge.port} port, and ${edge.from} ${ok ? "succeeded" : "failed"}` };
    } else {
      const port = ok ? portOf(sourceType, source?.output) : null;
      if (port !== edge.port) return { taken: "no", why: ok ? `the ${edge.port} port, and ${edge.from} took ${port}` : `the ${edge.port} port, and ${edge.from} failed` };
    }
  }
  if (edge.condition) return { taken: "unknown", why: `its condition ${edge.condition} decided it (not recorded)` };
  const via = edge.port !== undefined ? `the ${edge.port} port` : edge.on === "always" ? "an always edge" : edge.on === "failure" ? "on failure" : "on success";
  return { taken: "yes", why: `${via}: ${edge.from} ${ok ? "succeeded" : status === "failed" ? "failed" : "timed out"}` };
}

/** Mixes several inputs as the engine does: their objects merged in edge order, others left out. */
function merged(values: unknown[]): unknown {
  if (values.length === 1) return values[0];
  const result: Record<string, unknown> = {};
  for (const value of values) if (value && typeof value === "object" && !Array.isArray(value)) Object.assign(result, value);
  return result;
}

export function upstreamOf(
  nodeId: string,
  nodes: Pick<GraphNode, "id" | "type" | "raw">[],
  edges: GraphEdge[],
  steps: Record<string, NodeRun>,
  executionInput: unknown,
): Upstream {
  const typeOf = new Map(nodes.map((n) => [n.id, n.type]));
  const sources: UpstreamSource[] = edges
    .filter((edge) => edge.to === nodeId)
    .map((edge) => ({ nodeId: edge.from, edge, ...decide(edge, steps[edge.from], typeOf.get(edge.from) ?? ""), output: steps[edge.from]?.output }));
  // The implicit edge from a node to its fallback: taken while that node waits for it.
  for (const node of nodes) {
    if (node.raw.fallback !== nodeId) continue;
    const replaced = steps[node.id];
    const stoodIn =
      replaced?.status === "falling_back" ||
      (replaced?.status === "succeeded" && (replaced.error as { replaced_by?: unknown } | null | undefined)?.replaced_by === nodeId);
    sources.push({
      nodeId: node.id,
      edge: null,
      taken: stoodIn ? "yes" : "no",
      why: stoodIn ? `stands in for ${node.id}, which failed` : `the fallback of ${node.id}, which did not need it`,
      output: replaced?.output,
    });
  }
  const ran = RAN.has(steps[nodeId]?.status ?? "");
  const unknown = sources.filter((s) => s.taken === "unknown");
  // It ran, so some edge brought it there: when only one could have, that one did.
  if (ran && unknown.length === 1 && !sources.some((s) => s.taken === "yes")) {
    unknown[0].taken = "yes";
    unknown[0].why = `its condition ${unknown[0].edge?.condition ?? ""} held: the only edge that could have started it`;
  }
  const taken = sources.filter((s) => s.taken === "yes");
  const fromInput = sources.length === 0;
  let value: unknown;
  if (ran && fromInput) value = executionInput;
  else if (ran && taken.length) value = merged(taken.map((s) => s.output));
  return { fromInput, sources, value, uncertain: sources.some((s) => s.taken === "unknown") };
}

/** Each edge's decision in the run (by its canvas key), for drawing taken and untaken paths. */
export function edgeDecisions(
  nodes: Pick<GraphNode, "id" | "type" | "raw">[],
  edges: GraphEdge[],
  steps: Record<string, NodeRun>,
): Map<string, Taken> {
  const decisions = new Map<string, Taken>();
  for (const target of new Set(edges.map((edge) => edge.to))) {
    for (const source of upstreamOf(target, nodes, edges, steps, undefined).sources) {
      if (source.edge) decisions.set(source.edge.key, source.taken);
    }
  }
  return decisions;
}
