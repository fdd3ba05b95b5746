import { nodeDetailAt } from "./levelOfDetail";
import { fittedViewport } from "./viewport";

const OPTIONS = { padding: 0.25, minZoom: 0.2, maxZoom: 1, fallback: { width: 220, height: 72 } };
const grid = (count: number, columns: number) =>
  Array.from({ length: count }, (_, i) => ({ position: { x: (i % columns) * 300, y: Math.floor(i / columns) * 160 }, measured: { width: 220, height: 74 } }));

describe("fittedViewport", () => {
  it("shows a small drawing at zoom 1, centred, in full detail", () => {
    const viewport = fittedViewport(grid(2, 2), 800, 600, OPTIONS)!;
    expect(viewport.zoom).toBe(1);
    // Two nodes side by side, 520 × 74 px, centred on the 800 × 600 canvas.
    expect(viewport.x).toBeCloseTo((800 - 520) / 2);
    expect(viewport.y).toBeCloseTo((600 - 74) / 2);
    expect(nodeDetailAt(viewport.zoom)).toBe("full");
  });

  it("zooms a 500-node drawing out as far as allowed, where nodes are drawn compact", () => {
    const viewport = fittedViewport(grid(500, 25), 683, 655, OPTIONS)!;
    expect(viewport.zoom).toBe(0.2);
    expect(nodeDetailAt(viewport.zoom)).toBe("compact");
  });

  it("uses the fallback size of a node not sized yet", () => {
    const unsized = fittedViewport([{ position: { x: 0, y: 0 } }, { position: { x: 900, y: 500 } }], 1000, 800, OPTIONS);
    const sized = fittedViewport(
      [{ position: { x: 0, y: 0 }, measured: { width: 220, height: 72 } }, { position: { x: 900, y: 500 }, measured: { width: 220, height: 72 } }],
      1000,
      800,
      OPTIONS,
    );
    expect(unsized).toEqual(sized);
    expect(unsized!.zoom).toBeLessThan(1);
  });

  it("has nothing to fit without nodes or without a canvas size (not laid out yet)", () => {
    expect(fittedViewport([], 800, 600, OPTIONS)).toBeNull();
    expect(fittedViewport(grid(3, 3), 0, 0, OPTIONS)).toBeNull();
  });
});
