import { drawnAsGiven, edgeSourceHandle, geometryMatchesDom, nodeGeometry, sharedNodeGeometry, type NodeGeometry } from "./nodeGeometry";

const at = (geometry: NodeGeometry, id: string) => {
  const handle = geometry.handles.find((h) => h.id === id);
  return handle && { x: handle.x, y: handle.y, position: handle.position, type: handle.type };
};

describe("nodeGeometry", () => {
  // The expected numbers are what Chromium measured for these nodes with styles.css (2026-12).
  it("sizes a node by its rows: title and type, a summary line, one row per output port", () => {
    expect(nodeGeometry({ summary: false, ports: [], success: true })).toMatchObject({ width: 220, height: 57 });
    expect(nodeGeometry({ summary: true, ports: [], success: true })).toMatchObject({ width: 220, height: 74 });
    expect(nodeGeometry({ summary: true, ports: ["true", "false"], success: false }).height).toBe(121);
    expect(nodeGeometry({ summary: true, ports: ["alpha", "beta", "default"], success: false }).height).toBe(140);
  });

  it("centres the input, success and failure handles on the node's edges", () => {
    const plain = nodeGeometry({ summary: true, ports: [], success: true });
    expect(at(plain, "in")).toEqual({ x: -4, y: 32, position: "left", type: "target" });
    expect(at(plain, "success")).toEqual({ x: 214, y: 32, position: "right", type: "source" });
    expect(at(plain, "failure")).toEqual({ x: 105.5, y: 68.5, position: "bottom", type: "source" });
  });

  it("puts one handle on each port row instead of the success handle", () => {
    const routing = nodeGeometry({ summary: true, ports: ["alpha", "beta", "default"], success: false });
    expect(routing.handles.map((h) => h.id)).toEqual(["in", "port:alpha", "port:beta", "port:default", "failure"]);
    expect(routing.handles.filter((h) => h.id?.startsWith("port:")).map((h) => h.y)).toEqual([82.5, 101.5, 120.5]);
    expect(at(routing, "in")?.y).toBe(65);
  });

  it("has no success handle for a type without a success output", () => {
    expect(nodeGeometry({ summary: false, ports: [], success: false }).handles.map((h) => h.id)).toEqual(["in", "failure"]);
  });

  it("hands out one object per shape", () => {
    const a = sharedNodeGeometry({ summary: true, ports: ["a"], success: false });
    expect(sharedNodeGeometry({ summary: true, ports: ["a"], success: false })).toBe(a);
    expect(sharedNodeGeometry({ summary: true, ports: ["b"], success: false })).not.toBe(a);
    expect(sharedNodeGeometry({ summary: false, ports: ["a"], success: false })).not.toBe(a);
  });
});

describe("geometryMatchesDom", () => {
  const geometry = nodeGeometry({ summary: false, ports: [], success: true });
  /** A drawn node as the DOM reports it, at `zoom`, its handles moved by `shift` flow pixels. */
  function drawn(zoom: number, shift = 0, height = geometry.height): HTMLElement {
    const box = { left: 100, top: 50, width: geometry.width * zoom, height: height * zoom };
    const handles = geometry.handles.map((h) => ({
      dataset: { handleid: h.id },
      getBoundingClientRect: () => ({
        left: box.left + (h.x + shift) * zoom,
        top: box.top + h.y * zoom,
        width: (h.width ?? 0) * zoom,
        height: (h.height ?? 0) * zoom,
      }),
    }));
    return {
      offsetWidth: geometry.width,
      offsetHeight: height,
      getBoundingClientRect: () => box,
      querySelectorAll: () => handles,
    } as unknown as HTMLElement;
  }

  it("accepts a node drawn as the model says, at any zoom", () => {
    expect(geometryMatchesDom(drawn(1), geometry, 1)).toBe(true);
    expect(geometryMatchesDom(drawn(0.2), geometry, 0.2)).toBe(true);
  });

  it("rejects a node whose size or handles differ", () => {
    expect(geometryMatchesDom(drawn(1, 0, geometry.height + 1), geometry, 1)).toBe(false);
    expect(geometryMatchesDom(drawn(0.5, 1), geometry, 0.5)).toBe(false);
  });
});

describe("drawnAsGiven", () => {
  const geometry = nodeGeometry({ summary: true, ports: [], success: true });
  const known = { measured: { width: 220, height: 74 }, hasHandles: true };
  const drawn = { offsetWidth: 220, offsetHeight: 74 };

  it("lets React Flow skip a node drawn at the size it was given, with its handles", () => {
    expect(drawnAsGiven(geometry, known, drawn)).toBe(true);
  });

  it("has React Flow measure a node drawn at another size, or one without a model", () => {
    expect(drawnAsGiven(geometry, known, { offsetWidth: 220, offsetHeight: 90 })).toBe(false);
    expect(drawnAsGiven(undefined, known, drawn)).toBe(false);
    expect(drawnAsGiven(geometry, undefined, drawn)).toBe(false);
  });

  it("has React Flow measure a node whose size or handles it no longer holds", () => {
    expect(drawnAsGiven(geometry, { ...known, hasHandles: false }, drawn)).toBe(false);
    expect(drawnAsGiven(geometry, { ...known, measured: { width: 220, height: 57 } }, drawn)).toBe(false);
  });
});

describe("edgeSourceHandle", () => {
  const plain = { ports: [], success: true };
  const routing = { ports: ["true", "false"], success: false };
  const failOnly = { ports: [], success: false };

  it("leaves from the handle the edge names when the node has it", () => {
    expect(edgeSourceHandle({ on: "success" }, plain)).toEqual({ handle: "success" });
    expect(edgeSourceHandle({ on: "always" }, plain)).toEqual({ handle: "success" });
    expect(edgeSourceHandle({ on: "failure" }, plain)).toEqual({ handle: "failure" });
    expect(edgeSourceHandle({ on: "success", port: "false" }, routing)).toEqual({ handle: "port:false" });
    expect(edgeSourceHandle({ on: "failure" }, routing)).toEqual({ handle: "failure" });
  });

  it("draws an edge with a port the node has no output of from its default handle, naming the port", () => {
    expect(edgeSourceHandle({ on: "success", port: "nosuch" }, plain)).toEqual({ handle: "success", missing: "nosuch" });
    expect(edgeSourceHandle({ on: "success", port: "maybe" }, routing)).toEqual({ handle: "port:true", missing: "maybe" });
    expect(edgeSourceHandle({ on: "success", port: "x" }, failOnly)).toEqual({ handle: "failure", missing: "x" });
  });

  it("draws a plain edge from a routing node (taken whatever the port) from its first port, as no error", () => {
    expect(edgeSourceHandle({ on: "success" }, routing)).toEqual({ handle: "port:true" });
    expect(edgeSourceHandle({ on: "always" }, failOnly)).toEqual({ handle: "failure" });
  });

  it("takes port failure and port success as the node's own failure and success outputs", () => {
    expect(edgeSourceHandle({ on: "success", port: "failure" }, routing)).toEqual({ handle: "failure" });
    expect(edgeSourceHandle({ on: "success", port: "failure" }, plain)).toEqual({ handle: "failure" });
    expect(edgeSourceHandle({ on: "success", port: "success" }, plain)).toEqual({ handle: "success" });
    expect(edgeSourceHandle({ on: "success", port: "success" }, routing)).toEqual({ handle: "port:true", missing: "success" });
  });

  it("keeps the handle as written for a node it does not know", () => {
    expect(edgeSourceHandle({ on: "success", port: "p" }, undefined)).toEqual({ handle: "port:p" });
    expect(edgeSourceHandle({ on: "success" }, undefined)).toEqual({ handle: "success" });
  });

  it("always names a handle the node is drawn with, so React Flow draws every edge", () => {
    const shapes = [plain, routing, failOnly, { ports: ["a"], success: true }];
    const edges = [{ on: "success" }, { on: "failure" }, { on: "always" }, { on: "success", port: "a" }, { on: "success", port: "nosuch" }, { on: "failure", port: "true" }];
    for (const shape of shapes) {
      const ids = nodeGeometry({ summary: false, ...shape }).handles.filter((h) => h.type === "source").map((h) => h.id);
      for (const edge of edges) expect(ids).toContain(edgeSourceHandle(edge, shape).handle);
    }
  });
});
