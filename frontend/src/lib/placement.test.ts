import { clearOf, freeSpot, overlaps } from "./placement";

const size = { width: 220, height: 60 };

describe("freeSpot", () => {
  it("keeps the asked place when it is free", () => {
    expect(freeSpot([{ x: 500, y: 500, ...size }], { x: 0, y: 0 }, size)).toEqual({ x: 0, y: 0 });
  });

  it("never puts nodes added at the same place on top of each other", () => {
    const taken: { x: number; y: number; width: number; height: number }[] = [];
    for (let n = 0; n < 12; n++) {
      const spot = freeSpot(taken, { x: 100, y: 100 }, size);
      for (const other of taken) expect(overlaps({ ...spot, ...size }, other)).toBe(false);
      taken.push({ ...spot, ...size });
    }
    // Each stays near the place asked for.
    for (const r of taken) expect(Math.hypot(r.x - 100, r.y - 100)).toBeLessThan(400);
  });
});

describe("clearOf", () => {
  const bounds = { x: 0, y: 0, width: 1000, height: 700 };
  const minimap = { x: 840, y: 590, width: 150, height: 100 };
  const controls = { x: 10, y: 600, width: 30, height: 90 };

  it("moves a node dropped under the minimap out of it, staying on the canvas", () => {
    const dropped = { x: 860, y: 620, width: 110, height: 40 };
    const move = clearOf(dropped, [minimap, controls], bounds);
    const moved = { ...dropped, x: dropped.x + move.x, y: dropped.y + move.y };
    expect(overlaps(moved, minimap)).toBe(false);
    expect(moved.x + moved.width).toBeLessThanOrEqual(1000);
    expect(moved.y + moved.height).toBeLessThanOrEqual(700);
  });

  it("pulls a node dropped half off the canvas back in, and leaves a free one alone", () => {
    const move = clearOf({ x: 950, y: 10, width: 110, height: 40 }, [minimap], bounds);
    expect(950 + move.x + 110).toBeLessThanOrEqual(1000);
    expect(clearOf({ x: 300, y: 300, width: 110, height: 40 }, [minimap, controls], bounds)).toEqual({ x: 0, y: 0 });
  });
});
