/**
 * What changed between two versions of a workflow, node by node and edge by edge, for drawing both
 * on one canvas (designer/DiffCanvas): the nodes and edges of the newer version, plus those only
 * the older one had, each marked added / removed / changed / same.
 */
import { displayPositions } from "./layout";
import type { GraphEdge, GraphNode, WorkflowGraph, XY } from "./workflowDoc";

export type Change = "added" | "removed" | "changed" | "same";

export interface DiffNode {
  id: string;
  type: string;
  name?: string;
  change: Change;
  /** The top-level keys whose values differ (`config`, `when`, `retry`...); position is not a change. */
  fields: string[];
  position: XY;
}

export interface DiffEdge {
  key: string;
  from: string;
  to: string;
  label?: string;
  change: Change;
}

export interface GraphDiff {
  nodes: DiffNode[];
  edges: DiffEdge[];
  counts: Record<Change, number> & { edgesAdded: number; edgesRemoved: number; edgesChanged: number };
}

function edgeIdentity(edge: GraphEdge): string {
  return `${edge.from}->${edge.to}|${edge.port ?? ""}|${edge.on}`;
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function changedFields(before: GraphNode, after: GraphNode): string[] {
  const keys = new Set([...Object.keys(before.raw), ...Object.keys(after.raw)]);
  keys.delete("position");
  return [...keys].filter((k) => stable(before.raw[k]) !== stable(after.raw[k])).sort();
}

/** Both versions on one canvas: the newer one's nodes where it puts them, the removed ones where they were. */
export function diffGraphs(before: Pick<WorkflowGraph, "nodes" | "edges">, after: Pick<WorkflowGraph, "nodes" | "edges">): GraphDiff {
  const old = new Map(before.nodes.map((n) => [n.id, n]));
  const now = new Map(after.nodes.map((n) => [n.id, n]));
  const allNodes = [...after.nodes, ...before.nodes.filter((n) => !now.has(n.id))];
  const allEdges = [...after.edges, ...before.edges.filter((e) => !after.edges.some((a) => edgeIdentity(a) === edgeIdentity(e)))];
  const afterPlaced = displayPositions(after.nodes, after.edges);
  const beforePlaced = displayPositions(before.nodes, before.edges);
  const fallback = displayPositions(allNodes, allEdges);
  const nodes: DiffNode[] = allNodes.map((n) => {
    const was = old.get(n.id);
    const is = now.get(n.id);
    const change: Change = !was ? "added" : !is ? "removed" : changedFields(was, is).length ? "changed" : "same";
    const position = (is ? afterPlaced[n.id] : beforePlaced[n.id]) ?? fallback[n.id] ?? { x: 0, y: 0 };
    return { id: n.id, type: n.type, name: n.name, change, fields: was && is ? changedFields(was, is) : [], position };
  });
  const oldEdges = new Map(before.edges.map((e) => [edgeIdentity(e), e]));
  const newEdges = new Map(after.edges.map((e) => [edgeIdentity(e), e]));
  const edges: DiffEdge[] = allEdges.map((e) => {
    const identity = edgeIdentity(e);
    const was = oldEdges.get(identity);
    const is = newEdges.get(identity);
    const change: Change = !was ? "added" : !is ? "removed" : (was.condition ?? "") !== (is.condition ?? "") ? "changed" : "same";
    return { key: `${change}:${identity}`, from: e.from, to: e.to, label: e.port ?? (e.on !== "success" ? e.on : undefined), change };
  });
  const count = (c: Change) => nodes.filter((n) => n.change === c).length;
  return {
    nodes,
    edges,
    counts: {
      added: count("added"),
      removed: count("removed"),
      changed: count("changed"),
      same: count("same"),
      edgesAdded: edges.filter((e) => e.change === "added").length,
      edgesRemoved: edges.filter((e) => e.change === "removed").length,
      edgesChanged: edges.filter((e) => e.change === "changed").length,
    },
  };
}
