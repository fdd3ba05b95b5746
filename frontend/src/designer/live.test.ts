import { minimalChange } from "./YamlPanel";
import { applyEvent, nodeRunsOf } from "./RunPanel";

describe("bringing canvas edits into the editor", () => {
  it("replaces only the changed middle, so the cursor elsewhere stays put", () => {
    const before = "a: 1\nb: {x: 10, y: 20}\nc: 3\n";
    const after = "a: 1\nb: {x: 15, y: 20}\nc: 3\n";
    expect(minimalChange(before, after)).toEqual({ from: 13, to: 14, insert: "5" });
    expect(minimalChange("same", "same")).toEqual({ from: 4, to: 4, insert: "" });
  });
});

describe("live run state", () => {
  it("colours nodes from node events and follows the execution's status", () => {
    let run = { executionId: "e", status: "pending", nodes: {} as Record<string, { status: string; attempt?: number }> };
    run = applyEvent(run, { seq: 1, type: "execution.started", node_id: null, payload: {} });
    run = applyEvent(run, { seq: 2, type: "node.started", node_id: "a", payload: { attempt: 1 } });
    run = applyEvent(run, { seq: 3, type: "node.retrying", node_id: "a", payload: { attempt: 2 } });
    run = applyEvent(run, { seq: 4, type: "node.succeeded", node_id: "a", payload: {} });
    run = applyEvent(run, { seq: 5, type: "node.skipped", node_id: "b", payload: {} });
    run = applyEvent(run, { seq: 6, type: "execution.succeeded", node_id: null, payload: {} });
    expect(run.status).toBe("succeeded");
    expect(run.nodes).toEqual({ a: { status: "succeeded", attempt: 2 }, b: { status: "skipped", attempt: undefined } });
  });

  it("reads node runs from the execution detail's steps", () => {
    expect(nodeRunsOf({ id: "e", status: "running", steps: [{ node_id: "a", status: "running" }] })).toEqual([
      { node_id: "a", status: "running" },
    ]);
  });
});
