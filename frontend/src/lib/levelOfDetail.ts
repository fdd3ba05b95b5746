/**
 * How much of a node the canvas draws at a given zoom.
 *
 * A node's rows are 11–13 px text: at the zoom that fits a big drawing (0.2 for 500 nodes) they
 * are 2–3 px on screen, unreadable, yet they were most of the page's elements (an icon's SVG, the
 * type, the id, a summary: ~17 elements a node, ~8,500 for 500 nodes) and most of what each frame
 * laid out and painted. Below `DETAIL_MIN_ZOOM` a node is drawn compact: its box, in its kind's
 * colour, with only its title, large enough to read zoomed out. Its size and handles stay those of
 * the full node (lib/nodeGeometry), so edges attach to the same places at every zoom.
 */
export type NodeDetail = "full" | "compact";

/** The full node's smallest text (11 px) is about 5 px on screen here. */
export const DETAIL_MIN_ZOOM = 0.45;

export function nodeDetailAt(zoom: number): NodeDetail {
  return zoom >= DETAIL_MIN_ZOOM ? "full" : "compact";
}
