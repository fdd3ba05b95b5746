import { describe, expect, it } from "vitest";
import type { NodeRun } from "../api/types";
import { edgeDecisions, portOf, upstreamOf } from "./upstream";
import { graphFromData } from "./workflowDoc";

function graph(nodes: Record<string, unknown>[], edges: Record<string, unknown>[]) {
  return graphFromData({ apiVersion: "mbflow/v1", spec: { nodes, edges } });
}

function steps(runs: Record<string, Partial<NodeRun>>): Record<string, NodeRun> {
  return Object.fromEntries(Object.entries(runs).map(([id, run]) => [id, { node_id: id, status: "pending", ...run }]));
}

describe("upstreamOf", () => {
  it("gives a first node the execution's input", () => {
    const g = graph([{ id: "a", type: "noop" }], []);
    const up = upstreamOf("a", g.nodes, g.edges, steps({ a: { status: "succeeded" } }), { email: "x@y" });
    expect(up).toMatchObject({ fromInput: true, value: { email: "x@y" }, uncertain: false, sources: [] });
  });

  it("takes the output of the one success edge whose source succeeded, not the failure edge's", () => {
    const g = graph(
      [{ id: "fetch", type: "http" }, { id: "save", type: "noop" }, { id: "alert", type: "log" }],
      [{ from: "fetch", to: "save" }, { from: "fetch", to: "alert", on: "failure" }],
    );
    const runs = steps({ fetch: { status: "succeeded", output: { body: 1 } }, save: { status: "succeeded" }, alert: { status: "skipped" } });
    const save = upstreamOf("save", g.nodes, g.edges, runs, {});
    expect(save.value).toEqual({ body: 1 });
    expect(save.sources.map((s) => [s.nodeId, s.taken])).toEqual([["fetch", "yes"]]);
    const alert = upstreamOf("alert", g.nodes, g.edges, runs, {});
    expect(alert.sources[0]).toMatchObject({ taken: "no", why: "an on-failure edge, and fetch succeeded" });
    expect(alert.value).toBeUndefined();
    expect(Object.fromEntries(edgeDecisions(g.nodes, g.edges, runs))).toEqual({ "fetch->save": "yes", "fetch->alert": "no" });
  });

  it("follows a condition's port and an approval's decision", () => {
    const g = graph(
      [{ id: "check", type: "condition" }, { id: "yes", type: "noop" }, { id: "no", type: "noop" }, { id: "ok", type: "approval" }, { id: "go", type: "noop" }],
      [
        { from: "check", to: "yes", port: "true" },
        { from: "check", to: "no", port: "false" },
        { from: "ok", to: "go", port: "approved" },
      ],
    );
    const runs = steps({
      check: { status: "succeeded", output: true },
      yes: { status: "succeeded" },
      no: { status: "skipped" },
      ok: { status: "succeeded", output: { decision: "approved", by: "ann" } },
      go: { status: "running" },
    });
    expect(upstreamOf("yes", g.nodes, g.edges, runs, {}).sources[0].taken).toBe("yes");
    expect(upstreamOf("no", g.nodes, g.edges, runs, {}).sources[0]).toMatchObject({ taken: "no", why: "the false port, and check took true" });
    expect(upstreamOf("go", g.nodes, g.edges, runs, {}).value).toEqual({ decision: "approved", by: "ann" });
    expect(portOf("switch", "enterprise")).toBe("enterprise");
    expect(portOf("switch", 2)).toBe("2");
  });

  it("merges the objects of several taken inputs in edge order", () => {
    const g = graph(
      [{ id: "a", type: "noop" }, { id: "b", type: "noop" }, { id: "join", type: "merge" }],
      [{ from: "a", to: "join" }, { from: "b", to: "join" }],
    );
    const runs = steps({ a: { status: "succeeded", output: { x: 1, y: 1 } }, b: { status: "succeeded", output: { y: 2 } }, join: { status: "succeeded" } });
    expect(upstreamOf("join", g.nodes, g.edges, runs, {}).value).toEqual({ x: 1, y: 2 });
  });

  it("cannot tell a condition it did not record, unless only that edge can have started the node", () => {
    const g = graph(
      [{ id: "a", type: "noop" }, { id: "b", type: "noop" }, { id: "one", type: "noop" }, { id: "both", type: "merge" }],
      [
        { from: "a", to: "one", condition: "{{ output.n > 1 }}" },
        { from: "a", to: "both", condition: "{{ output.n > 1 }}" },
        { from: "b", to: "both", condition: "{{ output.m }}" },
      ],
    );
    const runs = steps({ a: { status: "succeeded", output: { n: 2 } }, b: { status: "succeeded", output: { m: 0 } }, one: { status: "succeeded" }, both: { status: "succeeded" } });
    const one = upstreamOf("one", g.nodes, g.edges, runs, {});
    expect(one).toMatchObject({ uncertain: false, value: { n: 2 } });
    expect(one.sources[0].why).toContain("the only edge that could have started it");
    const both = upstreamOf("both", g.nodes, g.edges, runs, {});
    expect(both.uncertain).toBe(true);
    expect(both.sources.map((s) => s.taken)).toEqual(["unknown", "unknown"]);
    expect(both.value).toBeUndefined();
  });

  it("shows a fallback node standing in for the node that failed", () => {
    const g = graph([{ id: "pay", type: "http", fallback: "later" }, { id: "later", type: "function" }], []);
    const runs = steps({ pay: { status: "falling_back", output: null }, later: { status: "waiting" } });
    const later = upstreamOf("later", g.nodes, g.edges, runs, {});
    expect(later.sources).toMatchObject([{ nodeId: "pay", edge: null, taken: "yes", why: "stands in for pay, which failed" }]);
  });
});
