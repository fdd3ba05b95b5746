import { DETAIL_MIN_ZOOM, nodeDetailAt } from "./levelOfDetail";

describe("nodeDetailAt", () => {
  it("draws full nodes from the detail zoom up", () => {
    expect(nodeDetailAt(1)).toBe("full");
    expect(nodeDetailAt(2)).toBe("full");
    expect(nodeDetailAt(DETAIL_MIN_ZOOM)).toBe("full");
  });

  it("draws compact nodes when zoomed out below it, as a fit view of a big drawing is", () => {
    expect(nodeDetailAt(DETAIL_MIN_ZOOM - 0.01)).toBe("compact");
    expect(nodeDetailAt(0.2)).toBe("compact");
  });
});
