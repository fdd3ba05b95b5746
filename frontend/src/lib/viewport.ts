/**
 * The view a drawing opens with, computed before React Flow draws anything.
 *
 * React Flow's `fitView` prop fits the view only once it has measured the nodes, i.e. after their
 * first paint: a big drawing was first drawn at zoom 1 (its top-left corner, every node in full)
 * and redrawn fitted a few hundred milliseconds later. Given the nodes' sizes up front (see
 * ./nodeGeometry) and the canvas's size, the fitted view is known before the first render, and the
 * first picture is the right one, drawn at the right level of detail (./levelOfDetail).
 */
import { getViewportForBounds, type Viewport } from "@xyflow/react";

export interface Box {
  position: { x: number; y: number };
  /** The size the node is drawn with; `fallback` when not known. */
  measured?: { width?: number; height?: number };
}

export interface FitOptions {
  padding: number;
  minZoom: number;
  maxZoom: number;
  fallback: { width: number; height: number };
}

/** The viewport React Flow's fitView would give these nodes on a `width` × `height` canvas. */
export function fittedViewport(nodes: Box[], width: number, height: number, options: FitOptions): Viewport | null {
  if (nodes.length === 0 || width <= 0 || height <= 0) return null;
  let left = Infinity;
  let top = Infinity;
  let right = -Infinity;
  let bottom = -Infinity;
  for (const node of nodes) {
    const w = node.measured?.width ?? options.fallback.width;
    const h = node.measured?.height ?? options.fallback.height;
    left = Math.min(left, node.position.x);
    top = Math.min(top, node.position.y);
    right = Math.max(right, node.position.x + w);
    bottom = Math.max(bottom, node.position.y + h);
  }
  const bounds = { x: left, y: top, width: right - left, height: bottom - top };
  return getViewportForBounds(bounds, width, height, options.minZoom, options.maxZoom, options.padding);
}
