/**
 * The size of a workflow node on the canvas and where its handles sit, known before it is drawn.
 *
 * React Flow draws a node's edges only once it knows the node's size and handle positions, which it
 * otherwise reads from the DOM after the first paint: on a 500-node drawing that measuring pass
 * (a ResizeObserver callback reading 500 nodes and 1,500 handles, then a second render of every
 * node and of all the edges) cost more than the first render itself. The node's CSS fixes the
 * height of every part (see `.wf-node*` in styles.css), so both are computed here and handed to
 * React Flow with the node (`measured`, `handles`).
 *
 * The numbers below mirror that CSS and must change with it. A node whose layout the model does
 * not cover (one showing a validation error, whose message wraps) gets no geometry and is measured
 * by React Flow as before. The canvas checks the model against the DOM once per page (see
 * `geometryMatchesDom`) and falls back to measuring every node if they disagree.
 */
import type { NodeHandle } from "@xyflow/react";
import { Position } from "@xyflow/react";

/** `.wf-node`: width (border-box) and border. */
export const NODE_BOX_WIDTH = 220;
const BORDER = 1;
/** `.wf-node-body`: vertical padding; the icon's height; the text rows' heights. */
const BODY_PADDING_Y = 10;
const ICON = 32;
const TITLE_ROW = 19;
const SUB_ROW = 16;
const SUMMARY_ROW = 2 + 15; // margin-top + height
/** `.wf-node-ports`: border-top + padding-top; padding-bottom; one `.wf-port` row. */
const PORTS_TOP = 1 + 4;
const PORTS_BOTTOM = 4;
const PORT_ROW = 19;
/** `.react-flow__handle` (border-box), `.handle-failure`. */
const HANDLE = 10;
const FAILURE_HANDLE = 9;

export interface NodeShape {
  /** The node shows a summary line under its type. */
  summary: boolean;
  /** Output ports, one row and one handle each (replacing the success handle). */
  ports: string[];
  /** The node has a success handle (when it has no ports). */
  success: boolean;
}

export interface NodeGeometry {
  width: number;
  height: number;
  /** `{ width, height }`, as React Flow's `measured`. */
  measured: { width: number; height: number };
  handles: NodeHandle[];
}

/** Height of `.wf-node-body` (the icon and text rows), which a compact node keeps too. */
export function nodeBodyHeight(shape: Pick<NodeShape, "summary">): number {
  const text = TITLE_ROW + SUB_ROW + (shape.summary ? SUMMARY_ROW : 0);
  return 2 * BODY_PADDING_Y + Math.max(ICON, text);
}

/** Size and handles of a node of this shape, relative to its top-left corner. */
export function nodeGeometry(shape: NodeShape): NodeGeometry {
  const body = nodeBodyHeight(shape);
  const portsHeight = shape.ports.length ? PORTS_TOP + shape.ports.length * PORT_ROW + PORTS_BOTTOM : 0;
  const height = 2 * BORDER + body + portsHeight;
  const width = NODE_BOX_WIDTH;
  // Handles are placed inside the border (the `.wf-node` padding box), centred on an edge of it.
  const inner = { left: BORDER, top: BORDER, right: width - BORDER, bottom: height - BORDER };
  const middleY = (inner.top + inner.bottom) / 2;
  const handles: NodeHandle[] = [
    { id: "in", type: "target", position: Position.Left, x: inner.left - HANDLE / 2, y: middleY - HANDLE / 2, width: HANDLE, height: HANDLE },
  ];
  if (shape.ports.length) {
    shape.ports.forEach((port, index) => {
      const rowTop = inner.top + body + PORTS_TOP + index * PORT_ROW;
      handles.push({
        id: `port:${port}`,
        type: "source",
        position: Position.Right,
        x: inner.right - HANDLE / 2,
        y: rowTop + PORT_ROW / 2 - HANDLE / 2,
        width: HANDLE,
        height: HANDLE,
      });
    });
  } else if (shape.success) {
    handles.push({ id: "success", type: "source", position: Position.Right, x: inner.right - HANDLE / 2, y: middleY - HANDLE / 2, width: HANDLE, height: HANDLE });
  }
  handles.push({
    id: "failure",
    type: "source",
    position: Position.Bottom,
    x: (inner.left + inner.right) / 2 - FAILURE_HANDLE / 2,
    y: inner.bottom - FAILURE_HANDLE / 2,
    width: FAILURE_HANDLE,
    height: FAILURE_HANDLE,
  });
  return { width, height, measured: { width, height }, handles };
}

/**
 * The handle an edge leaves its source node from, among the handles a node of that shape has
 * (those `nodeGeometry` places and the node view draws): `port:<port>` for an edge with a port,
 * `failure` for `on: failure`, `success` otherwise.
 *
 * React Flow does not draw an edge whose source handle the node lacks, so such an edge would
 * vanish from the canvas and could be neither selected nor deleted there. It is drawn from the
 * node's default outgoing handle instead (`success`, else its first port, else `failure`, which
 * every node has). A `port` the node has no output of is an error, named by `missing`; a plain
 * edge from a routing node (taken whatever port was chosen) is not. `shape` undefined (a node
 * not on the canvas): as written.
 */
export function edgeSourceHandle(
  edge: { on: string; port?: string },
  shape: Pick<NodeShape, "ports" | "success"> | undefined,
): { handle: string; missing?: string } {
  // `port: failure` / `port: success` name the node's own failure and success outputs (the
  // engine reads `port: failure` as `on: failure`).
  if (edge.port === "failure") return { handle: "failure" };
  if (edge.port === "success" && (!shape || shape.success)) return { handle: "success" };
  if (edge.port !== undefined) {
    if (!shape || shape.ports.includes(edge.port)) return { handle: `port:${edge.port}` };
    return { handle: defaultSourceHandle(shape), missing: edge.port };
  }
  if (edge.on === "failure") return { handle: "failure" };
  return { handle: shape ? defaultSourceHandle(shape) : "success" };
}

function defaultSourceHandle(shape: Pick<NodeShape, "ports" | "success">): string {
  if (shape.ports.length) return `port:${shape.ports[0]}`;
  return shape.success ? "success" : "failure";
}

const cache = new Map<string, NodeGeometry>();

/** `nodeGeometry`, one shared object per shape (so unchanged nodes compare equal cheaply). */
export function sharedNodeGeometry(shape: NodeShape): NodeGeometry {
  const key = `${shape.summary ? 1 : 0}${shape.success ? 1 : 0}|${shape.ports.join("\u0000")}`;
  let found = cache.get(key);
  if (!found) {
    found = nodeGeometry(shape);
    cache.set(key, found);
  }
  return found;
}

/**
 * Whether a drawn node element has the size and handle positions of `geometry` (to half a pixel),
 * read as React Flow reads them: the size from offsetWidth / offsetHeight, each handle's box
 * relative to the node's box, divided by the zoom.
 */
export function geometryMatchesDom(element: HTMLElement, geometry: NodeGeometry, zoom: number): boolean {
  const close = (a: number, b: number) => Math.abs(a - b) <= 0.5;
  if (element.offsetWidth !== geometry.width || element.offsetHeight !== geometry.height) return false;
  const box = element.getBoundingClientRect();
  const drawn = element.querySelectorAll<HTMLElement>(".react-flow__handle");
  if (drawn.length !== geometry.handles.length) return false;
  return Array.from(drawn).every((handle) => {
    const wanted = geometry.handles.find((h) => h.id === handle.dataset.handleid);
    if (!wanted) return false;
    const rect = handle.getBoundingClientRect();
    return (
      close((rect.left - box.left) / zoom, wanted.x) &&
      close((rect.top - box.top) / zoom, wanted.y) &&
      close(rect.width / zoom, wanted.width ?? 0) &&
      close(rect.height / zoom, wanted.height ?? 0)
    );
  });
}

/**
 * Whether React Flow can skip measuring a node it reports (a ResizeObserver's report): it was
 * handed `geometry`, still has it (its size and handle bounds), and is drawn at exactly that size.
 */
export function drawnAsGiven(
  geometry: NodeGeometry | undefined,
  known: { measured: { width?: number; height?: number }; hasHandles: boolean } | undefined,
  drawn: { offsetWidth: number; offsetHeight: number },
): boolean {
  return (
    geometry !== undefined &&
    known !== undefined &&
    known.hasHandles &&
    known.measured.width === geometry.width &&
    known.measured.height === geometry.height &&
    drawn.offsetWidth === geometry.width &&
    drawn.offsetHeight === geometry.height
  );
}
