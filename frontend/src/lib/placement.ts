/**
 * Where a new node goes: near where it was asked for, but never on top of another node, and never
 * under the canvas's own overlays (the minimap, the zoom controls) where it could not be seen.
 */
import type { XY } from "./workflowDoc";

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Size {
  width: number;
  height: number;
}

/** Whether two rectangles overlap, or come closer than `gap` to each other. */
export function overlaps(a: Rect, b: Rect, gap = 0): boolean {
  return a.x < b.x + b.width + gap && b.x < a.x + a.width + gap && a.y < b.y + b.height + gap && b.y < a.y + a.height + gap;
}

const STEP = 24;
const RINGS = 40;
// Candidate offsets (in steps) nearest first; made once.
let offsets: [number, number][] | null = null;
function candidateOffsets(): [number, number][] {
  if (offsets) return offsets;
  const all: [number, number][] = [];
  for (let i = -RINGS; i <= RINGS; i++) for (let j = -RINGS; j <= RINGS; j++) all.push([i, j]);
  // Nearest first; at equal distance, below and to the right first (where a flow goes on).
  all.sort(([ai, aj], [bi, bj]) => ai * ai + aj * aj - (bi * bi + bj * bj) || bj - aj || bi - ai);
  offsets = all;
  return all;
}

/**
 * The top-left nearest to `at` where a node of `size` overlaps none of `taken` (keeping `gap`
 * between them): `at` itself when that place is free. Searched on a 24 px grid up to ~1,000 px
 * away; past that (a crowded canvas), `at`.
 */
export function freeSpot(taken: Rect[], at: XY, size: Size, gap = 16): XY {
  const reach = RINGS * STEP + Math.max(size.width, size.height) + gap;
  const near = taken.filter((r) => overlaps(r, { x: at.x - reach, y: at.y - reach, width: 2 * reach, height: 2 * reach }));
  for (const [i, j] of candidateOffsets()) {
    const spot = { x: at.x + i * STEP, y: at.y + j * STEP, ...size };
    if (!near.some((r) => overlaps(spot, r, gap))) return { x: spot.x, y: spot.y };
  }
  return at;
}

/**
 * How far (dx, dy) to move `rect` so it lies inside `bounds` and clear of every obstacle (all in
 * the same coordinates, e.g. screen pixels): the smallest such move tried among up, left, right
 * and down from each obstacle it meets, {0, 0} when it is already clear.
 */
export function clearOf(rect: Rect, obstacles: Rect[], bounds: Rect, margin = 8): XY {
  const inside = (r: Rect) =>
    r.x >= bounds.x && r.y >= bounds.y && r.x + r.width <= bounds.x + bounds.width && r.y + r.height <= bounds.y + bounds.height;
  const clamp = (r: Rect): Rect => ({
    ...r,
    x: Math.min(Math.max(r.x, bounds.x + margin), bounds.x + bounds.width - r.width - margin),
    y: Math.min(Math.max(r.y, bounds.y + margin), bounds.y + bounds.height - r.height - margin),
  });
  const start = inside(rect) ? rect : clamp(rect);
  const free = (r: Rect) => inside(r) && !obstacles.some((o) => overlaps(r, o, margin - 1));
  if (free(start)) return { x: start.x - rect.x, y: start.y - rect.y };
  const moves: Rect[] = [];
  for (const o of obstacles) {
    if (!overlaps(start, o, margin - 1)) continue;
    moves.push(
      { ...start, y: o.y - start.height - margin },
      { ...start, x: o.x - start.width - margin },
      { ...start, x: o.x + o.width + margin },
      { ...start, y: o.y + o.height + margin },
    );
  }
  const best = moves
    .filter(free)
    .sort((a, b) => Math.hypot(a.x - start.x, a.y - start.y) - Math.hypot(b.x - start.x, b.y - start.y))[0];
  const end = best ?? start;
  return { x: end.x - rect.x, y: end.y - rect.y };
}
