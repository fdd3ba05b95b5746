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

/** A node's drawn size and its outputs, as the canvas draws it (lib/nodeGeometry, React Flow's measure). */
export interface LayoutShape {
  width?: number;
  height?: number;
  /** Labelled outputs (condition `true`/`false`, switch cases), top to bottom on the right side. */
  ports?: string[];
  /** Whether it has a plain success output (when it has no ports). */
  success?: boolean;
}

function sourcePort(edge: GraphEdge, shape: LayoutShape | undefined): string {
  if (edge.port === "failure" || (edge.port === undefined && edge.on === "failure")) return "failure";
  const ports = shape?.ports ?? [];
  if (edge.port !== undefined && ports.includes(edge.port)) return `port:${edge.port}`;
  if (ports.length) return `port:${ports[0]}`;
  return "success";
}

/**
 * ELK layered layout, left to right, with each node's real size and its handles as fixed ports:
 * the input on the left, the labelled outputs on the right in the order they are drawn, the
 * failure output at the bottom. So the `true` branch of a condition is laid out above its `false`
 * branch and their edges do not cross over the port labels. Returns top-left positions by id.
 */
export async function autoLayout(
  nodes: GraphNode[],
  edges: GraphEdge[],
  shapes: Record<string, LayoutShape | undefined> = {},
): Promise<Record<string, XY>> {
  const ids = new Set(nodes.map((n) => n.id));
  const graph = await (await elk()).layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.layered.spacing.nodeNodeBetweenLayers": String(GAP_X),
      "elk.spacing.nodeNode": String(GAP_Y),
      "elk.layered.spacing.edgeNodeBetweenLayers": "24",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
      "elk.layered.crossingMinimization.semiInteractive": "false",
      "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
    },
    children: nodes.map((n) => {
      const shape = shapes[n.id];
      const width = shape?.width ?? NODE_WIDTH;
      const height = shape?.height ?? NODE_HEIGHT;
      const ports = shape?.ports ?? [];
      const outputs = ports.length
        ? ports.map((port, i) => ({
            id: `${n.id}\u0000port:${port}`,
            // (Where the node view draws the port's handle: one 19 px row each, under the body.)
            y: height - (ports.length - i) * 19 - 4 + 9,
            x: width,
            width: 1,
            height: 1,
            layoutOptions: { "elk.port.side": "EAST", "elk.port.index": String(i) },
          }))
        : [{ id: `${n.id}\u0000success`, x: width, y: height / 2, width: 1, height: 1, layoutOptions: { "elk.port.side": "EAST" } }];
      return {
        id: n.id,
        width,
        height,
        layoutOptions: { "elk.portConstraints": "FIXED_POS" },
        ports: [
          { id: `${n.id}\u0000in`, x: 0, y: height / 2, width: 1, height: 1, layoutOptions: { "elk.port.side": "WEST" } },
          ...outputs,
          { id: `${n.id}\u0000failure`, x: width / 2, y: height, width: 1, height: 1, layoutOptions: { "elk.port.side": "SOUTH" } },
        ],
      };
    }),
    edges: edges
      .filter((e) => ids.has(e.from) && ids.has(e.to))
      .map((e) => ({
        id: e.key,
        sources: [`${e.from}\u0000${sourcePort(e, shapes[e.from])}`],
        targets: [`${e.to}\u0000in`],
      })),
  });
  const result: Record<string, XY> = {};
  for (const child of graph.children ?? []) result[child.id] = { x: (child.x ?? 0) + 40, y: (child.y ?? 0) + 40 };
  return result;
}
