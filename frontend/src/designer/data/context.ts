/**
 * The data an expression of a node would see, for the data panel, autocomplete and preview:
 * the last run's outputs (or a test run's) with each pinned node's sample output over them.
 */
import type { Execution, NodeRun } from "../../api/types";
import { upstreamOf } from "../../lib/upstream";
import type { GraphEdge, GraphNode } from "../../lib/workflowDoc";
import { nodeRunsOf } from "../../lib/runControls";
import type { Pinned } from "./storage";

export interface NodeData {
  nodeId: string;
  /** Where `output` comes from: pinned sample data, the last run, or nothing yet. */
  source: "pinned" | "run" | "none";
  output: unknown;
  status?: string;
}

/** Each node's output as the data panel shows it: pinned first, else the run's. */
export function nodeData(nodeIds: string[], execution: Execution | null, pinned: Pinned): Record<string, NodeData> {
  const steps: Record<string, NodeRun> = {};
  if (execution) for (const step of nodeRunsOf(execution)) steps[step.node_id] = step;
  const data: Record<string, NodeData> = {};
  for (const id of nodeIds) {
    if (id in pinned) data[id] = { nodeId: id, source: "pinned", output: pinned[id], status: steps[id]?.status };
    else if (steps[id] && steps[id].output !== undefined && steps[id].output !== null)
      data[id] = { nodeId: id, source: "run", output: steps[id].output, status: steps[id].status };
    else data[id] = { nodeId: id, source: "none", output: undefined, status: steps[id]?.status };
  }
  return data;
}

/** The nodes before `nodeId` (by edges and fallbacks), nearest first. */
export function nodesBefore(nodeId: string, nodes: Pick<GraphNode, "id" | "raw">[], edges: Pick<GraphEdge, "from" | "to">[]): string[] {
  const before = new Map<string, string[]>();
  for (const edge of edges) before.set(edge.to, [...(before.get(edge.to) ?? []), edge.from]);
  for (const node of nodes) {
    const fallback = node.raw?.fallback;
    if (typeof fallback === "string") before.set(fallback, [...(before.get(fallback) ?? []), node.id]);
  }
  const found: string[] = [];
  let frontier = [nodeId];
  while (frontier.length) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const source of before.get(id) ?? []) {
        if (source !== nodeId && !found.includes(source)) {
          found.push(source);
          next.push(source);
        }
      }
    }
    frontier = next;
  }
  return found;
}

/** The expression context of `nodeId`: input, nodes (outputs), upstream, vars, secrets by name. */
export function expressionContext(
  nodeId: string,
  graph: { nodes: Pick<GraphNode, "id" | "type" | "raw">[]; edges: GraphEdge[] },
  execution: Execution | null,
  pinned: Pinned,
  input: unknown,
  extra: { vars?: Record<string, unknown>; secrets?: string[] } = {},
): Record<string, unknown> {
  const data = nodeData(graph.nodes.map((n) => n.id), execution, pinned);
  const nodes: Record<string, unknown> = {};
  const steps: Record<string, NodeRun> = {};
  for (const [id, item] of Object.entries(data)) {
    if (item.source === "none") continue;
    nodes[id] = { output: item.output, status: item.status ?? "succeeded" };
    steps[id] = { node_id: id, status: item.status && item.source === "run" ? item.status : "succeeded", output: item.output };
  }
  const runInput = execution?.input ?? input ?? {};
  if (steps[nodeId] === undefined) steps[nodeId] = { node_id: nodeId, status: "succeeded" }; // as if it ran: its upstream
  const upstream = upstreamOf(nodeId, graph.nodes, graph.edges, steps, runInput).value;
  return {
    input: runInput,
    nodes,
    upstream: upstream ?? {},
    vars: extra.vars ?? {},
    secrets: Object.fromEntries((extra.secrets ?? []).map((name) => [name, "[secret]"])),
  };
}

/** The outputs a step test needs: every node before it, from pinned data or the last run. */
export function outputsBefore(nodeId: string, graph: { nodes: Pick<GraphNode, "id" | "raw">[]; edges: GraphEdge[] }, execution: Execution | null, pinned: Pinned): { outputs: Record<string, unknown>; missing: string[] } {
  const before = nodesBefore(nodeId, graph.nodes, graph.edges);
  const data = nodeData(before, execution, pinned);
  const outputs: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const id of before) {
    if (data[id].source === "none") missing.push(id);
    else outputs[id] = data[id].output;
  }
  return { outputs, missing };
}

/** Outputs a node type is known to give, when no run has shown one yet (no catalog output schema exists). */
export function knownOutputShape(type: string, config: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (type === "http") return { status: 200, headers: {}, body: {} };
  if (type === "transform") {
    const mapping = config?.mapping;
    if (mapping && typeof mapping === "object" && !Array.isArray(mapping)) return Object.fromEntries(Object.keys(mapping).map((key) => [key, null]));
  }
  return null;
}
