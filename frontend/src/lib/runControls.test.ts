import {
  applyRunEvent,
  canControlRuns,
  canReplayFrom,
  controlsFor,
  displayStatus,
  liveEventsOf,
  runNodeNote,
  runNodesFrom,
  type RunNode,
} from "./runControls";

describe("the buttons a run's status allows", () => {
  it.each([
    ["running", ["pause", "cancel"]],
    ["pending", ["cancel"]],
    ["paused", ["resume", "cancel"]],
    ["failed", ["retry", "rerun"]],
    ["succeeded", ["rerun"]],
    ["cancelled", ["rerun"]],
    ["timed_out", ["rerun"]],
  ])("%s → %j", (status, controls) => {
    expect(controlsFor(status)).toEqual(controls);
  });

  it("offers nothing for a status it does not know, nor to someone who may not change runs", () => {
    expect(controlsFor("compensating")).toEqual([]);
    expect(controlsFor("running", false)).toEqual([]);
    expect(controlsFor("failed", canControlRuns("viewer"))).toEqual([]);
    expect(controlsFor("failed", canControlRuns(undefined))).toEqual([]);
    expect(controlsFor("failed", canControlRuns("editor"))).toEqual(["retry", "rerun"]);
  });

  it("never offers pause and resume together, nor retry on a run that did not fail", () => {
    for (const status of ["pending", "running", "paused", "succeeded", "failed", "cancelled", "timed_out"]) {
      const controls = controlsFor(status);
      expect(controls.includes("pause") && controls.includes("resume")).toBe(false);
      expect(controls.includes("retry")).toBe(status === "failed");
      expect(controls.includes("cancel")).toBe(["pending", "running", "paused"].includes(status));
    }
  });

  it("offers a replay from a node only once the run has finished", () => {
    expect(canReplayFrom("succeeded")).toBe(true);
    expect(canReplayFrom("failed")).toBe(true);
    expect(canReplayFrom("cancelled")).toBe(true);
    expect(canReplayFrom("running")).toBe(false);
    expect(canReplayFrom("paused")).toBe(false);
    expect(canReplayFrom("failed", false)).toBe(false);
  });
});

type Run = { status: string; nodes: Record<string, RunNode> };
const event = (seq: number, type: string, node_id: string | null, payload: Record<string, unknown> = {}) => ({ seq, type, node_id, payload });

describe("the run's new states from its events", () => {
  it("follows a pause, a resume, a failure and a retry of the execution", () => {
    let run: Run = { status: "running", nodes: {} };
    run = applyRunEvent(run, event(1, "execution.paused", null));
    expect(run.status).toBe("paused");
    run = applyRunEvent(run, event(2, "execution.resumed", null));
    expect(run.status).toBe("running");
    run = applyRunEvent(run, event(3, "node.failed", "a", { attempt: 1 }));
    run = applyRunEvent(run, event(4, "execution.failed", null));
    expect(run.status).toBe("failed");
    run = applyRunEvent(run, event(5, "execution.retried", null, { generation: 1 }));
    run = applyRunEvent(run, event(6, "node.reset", "a", { reason: "the execution was retried" }));
    expect(run.status).toBe("running");
    expect(run.nodes.a).toEqual({ status: "pending", attempt: 1 });
  });

  it("keeps a failing execution running while its compensation steps run", () => {
    const run = applyRunEvent({ status: "running", nodes: {} }, event(1, "execution.compensating", null, { nodes: ["undo"] }));
    expect(run.status).toBe("running");
  });

  it("says why a node waits: its limit, a decision", () => {
    let run: Run = { status: "running", nodes: {} };
    run = applyRunEvent(run, event(1, "node.waiting", "call", { reason: "limit", limit: "t1:crm", since: "2026-01-01T00:00:00Z" }));
    expect(run.nodes.call).toEqual({ status: "waiting", reason: "limit", limit: "t1:crm" });
    expect(runNodeNote(run.nodes.call)).toBe("Waiting for its turn: the limit t1:crm is full.");
    run = applyRunEvent(run, event(2, "node.started", "call", { attempt: 1, limit: "t1:crm" }));
    expect(run.nodes.call).toEqual({ status: "running", attempt: 1 });
    expect(runNodeNote(run.nodes.call)).toBeUndefined();
    run = applyRunEvent(run, event(3, "node.waiting", "ask", { attempt: 1, reason: "approval" }));
    expect(runNodeNote(run.nodes.ask)).toBe("Waiting for a decision.");
  });

  it("shows a node falling back, then standing in with its fallback's output", () => {
    let run: Run = { status: "running", nodes: {} };
    run = applyRunEvent(run, event(1, "node.falling_back", "charge", { error: { message: "down" }, fallback: "charge_later", attempt: 3 }));
    expect(displayStatus(run.nodes.charge)).toBe("falling_back");
    expect(runNodeNote(run.nodes.charge)).toBe("It failed; its fallback charge_later is running in its place.");
    run = applyRunEvent(run, event(2, "node.succeeded", "charge", { output: {}, fallback: "charge_later" }));
    expect(displayStatus(run.nodes.charge)).toBe("succeeded");
    expect(runNodeNote(run.nodes.charge)).toBe("It failed; its fallback charge_later stood in for it.");
  });

  it("draws a node a replay reused as reused, not as run", () => {
    const run = applyRunEvent<Run>({ status: "running", nodes: {} }, event(1, "node.reused", "fetch", { output: { v: 1 }, from: "0f9e8d7c-aaaa" }));
    expect(run.nodes.fetch).toEqual({ status: "succeeded", reusedFrom: "0f9e8d7c-aaaa" });
    expect(displayStatus(run.nodes.fetch)).toBe("reused");
    expect(runNodeNote(run.nodes.fetch)).toBe("Not run again: its output is reused from execution 0f9e8d7c.");
    const pinned = applyRunEvent<Run>({ status: "running", nodes: {} }, event(1, "node.reused", "fetch", { output: {}, from: "pinned" }));
    expect(runNodeNote(pinned.nodes.fetch)).toBe("Not run: a test run used its pinned sample data.");
  });
});

describe("the run's nodes from the execution's detail", () => {
  it("marks reused steps and keeps what events said of a node whose status has not changed", () => {
    const previous: Record<string, RunNode> = {
      call: { status: "waiting", reason: "limit", limit: "t1:crm" },
      ask: { status: "waiting", reason: "approval" },
    };
    const nodes = runNodesFrom(
      {
        id: "e",
        status: "running",
        steps: [
          { node_id: "fetch", status: "succeeded", attempt: 0, reused_from: "0f9e8d7c" },
          { node_id: "call", status: "waiting", attempt: 0 },
          { node_id: "ask", status: "succeeded", attempt: 1 },
          { node_id: "pay", status: "succeeded", attempt: 1, error: { message: "down", replaced_by: "pay_later" } },
        ],
      },
      previous,
    );
    expect(displayStatus(nodes.fetch)).toBe("reused");
    expect(nodes.call).toEqual({ status: "waiting", reason: "limit", limit: "t1:crm", attempt: 0 });
    expect(nodes.ask).toEqual({ status: "succeeded", attempt: 1 });
    expect(runNodeNote(nodes.pay)).toBe("It failed; its fallback pay_later stood in for it.");
  });
});

describe("the execution's WebSocket messages", () => {
  it("reads an event message as the consumer sends it", () => {
    const message = {
      type: "event",
      event: "node.falling_back",
      execution_id: "e",
      seq: 4,
      node_id: "pay",
      payload: { fallback: "pay_later" },
      time: "2026-01-01T00:00:00Z",
    };
    expect(liveEventsOf(message)).toEqual([{ seq: 4, type: "node.falling_back", node_id: "pay", payload: { fallback: "pay_later" } }]);
    expect(liveEventsOf({ ...message, event: "execution.paused", node_id: "" })[0].node_id).toBeNull();
  });

  it("reads nothing from an error message or a stray value", () => {
    expect(liveEventsOf({ type: "error", message: "Send {\"after_seq\": n}" })).toEqual([]);
    expect(liveEventsOf(null)).toEqual([]);
    expect(liveEventsOf("node.started")).toEqual([]);
  });
});
