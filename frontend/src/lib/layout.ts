/** Node placement: a quick layered fallback for nodes without `position`, and ELK auto-layout. */
import type { GraphEdge, GraphNode, XY } from "./workflowDoc";

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 72;
const GAP_X = 90;
const GAP_Y = 40;

/** Depth of each node along success/failure edges (cycles are cut where they are met). */
function depths(nodes: GraphNode[], edges: GraphEdge[]): Map<string, number> {
  const ids = new Set(nodes.map((n) => n.id));
  const parents = new Map<string, string[]>();
  for (const e of edges) {
    if (!ids.has(e.from) || !ids.has(e.to)) continue;
    parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
  }
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const d = Math.max(-1, ...(parents.get(id) ?? []).map(visit)) + 1;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  nodes.forEach((n) => visit(n.id));
  return depth;
}

/** Positions for display: the YAML's where given, else a left-to-right layered guess. */
export function displayPositions(nodes: GraphNode[], edges: GraphEdge[]): Record<string, XY> {
  const result: Record<string, XY> = {};
  const missing = nodes.filter((n) => !n.position);
  nodes.forEach((n) => {
    if (n.position) result[n.id] = n.position;
  });
  if (missing.length === 0) return result;
  const depth = depths(nodes, edges);
  const rows = new Map<number, number>();
  for (const n of missing) {
    const d = depth.get(n.id) ?? 0;
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    result[n.id] = { x: d * (NODE_WIDTH + GAP_X), y: row * (NODE_HEIGHT + GAP_Y) };
  }
  return result;
}

// ELK is large: it is loaded the first time someone asks for a layout, in its own chunk.
let elkInstance: Promise<{ layout: (graph: ElkGraph) => Promise<ElkGraph> }> | null = null;
type ElkGraph = import("elkjs/lib/elk-api").ElkNode;
function elk() {
  elkInstance ??= import("elkjs/lib/elk.bundled.js").then((module) => new module.default());
  return elkInstance;
}

/** ELK layered layout, left to right; returns top-left positions by node id. */
export async function autoLayout(
  nodes: GraphNode[],
  edges: GraphEdge[],
  sizes: Record<string, { width?: number; height?: number } | undefined> = {},
): Promise<Record<string, XY>> {
  const ids = new Set(nodes.map((n) => n.id));
  const graph = await (await elk()).layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.layered.spacing.nodeNodeBetweenLayers": String(GAP_X),
      "elk.spacing.nodeNode": String(GAP_Y),
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
    },
    children: nodes.map((n) => ({
      id: n.id,
      width: sizes[n.id]?.width ?? NODE_WIDTH,
      height: sizes[n.id]?.height ?? NODE_HEIGHT,
    })),
    edges: edges
      .filter((e) => ids.has(e.from) && ids.has(e.to))
      .map((e) => ({ id: e.key, sources: [e.from], targets: [e.to] })),
  });
  const result: Record<string, XY> = {};
  for (const child of graph.children ?? []) result[child.id] = { x: (child.x ?? 0) + 40, y: (child.y ?? 0) + 40 };
  return result;
}
