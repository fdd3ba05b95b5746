import { ChangeSet, Text } from "@codemirror/state";
import { textChanges } from "./YamlPanel";
import { applyEvent, nodeRunsOf } from "./RunPanel";

/** `text` with the changes applied, as the editor applies them (positions in the old text). */
function applied(text: string, changes: ReturnType<typeof textChanges>): string {
  return ChangeSet.of(changes, text.length).apply(Text.of(text.split("\n"))).toString();
}

describe("bringing canvas edits into the editor", () => {
  it("replaces only what changed, so the cursor elsewhere stays put", () => {
    const before = "a: 1\nb: {x: 10, y: 20}\nc: 3\n";
    const after = "a: 1\nb: {x: 15, y: 20}\nc: 3\n";
    expect(textChanges(before, after)).toEqual([{ from: 13, to: 14, insert: "5" }]);
    expect(textChanges("same", "same")).toEqual([]);
  });

  it("replaces far-apart changes apart, leaving the lines between them alone", () => {
    const middle = Array.from({ length: 2000 }, (_, i) => `    - from: n${i}\n      to: n${i + 1}\n`).join("");
    const before = `nodes:\n  - id: gone\n  - id: kept\nedges:\n    - from: gone\n      to: kept\n${middle}end: 1\n`;
    const after = `nodes:\n  - id: kept\nedges:\n${middle}end: 2\n`;
    const changes = textChanges(before, after);
    expect(changes.length).toBeGreaterThanOrEqual(3);
    expect(changes.every((c) => c.to - c.from < 40 && c.insert.length < 40)).toBe(true);
    expect(applied(before, changes)).toBe(after);
  });

  it("turns any text into any other", () => {
    const a = "apiVersion: mbflow/v1\nspec:\n  nodes: []\n";
    const b = "kind: Workflow\nspec:\n  nodes:\n    - id: x\n";
    expect(applied(a, textChanges(a, b))).toBe(b);
    expect(applied("", textChanges("", b))).toBe(b);
    expect(applied(b, textChanges(b, ""))).toBe("");
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

  it("shows a node waiting for a decision as waiting until it is decided", () => {
    let run = { executionId: "e", status: "running", nodes: {} as Record<string, { status: string; attempt?: number }> };
    run = applyEvent(run, { seq: 1, type: "node.started", node_id: "approve", payload: { attempt: 1 } });
    run = applyEvent(run, { seq: 2, type: "node.waiting", node_id: "approve", payload: { attempt: 1, reason: "approval" } });
    expect(run.nodes.approve).toEqual({ status: "waiting", attempt: 1, reason: "approval" });
    run = applyEvent(run, { seq: 3, type: "node.succeeded", node_id: "approve", payload: {} });
    expect(run.nodes.approve.status).toBe("succeeded");
  });

  it("reads node runs from the execution detail's steps", () => {
    expect(nodeRunsOf({ id: "e", status: "running", steps: [{ node_id: "a", status: "running" }] })).toEqual([
      { node_id: "a", status: "running" },
    ]);
  });
});
