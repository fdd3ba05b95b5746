import { describe, expect, it } from "vitest";
import { attemptsOf, criticalPath, formatDuration, layoutBars, nodeTimelines, timeTicks, type TimedEvent } from "./gantt";

const T0 = Date.parse("2025-01-01T00:00:00Z");
let seq = 0;
function at(seconds: number, type: string, node_id: string | null = null, payload: Record<string, unknown> = {}): TimedEvent {
  seq += 1;
  return { seq, type, node_id, payload, time: new Date(T0 + seconds * 1000).toISOString() };
}

describe("nodeTimelines", () => {
  it("splits a node into its attempts and the backoff between them", () => {
    seq = 0;
    const events = [
      at(0, "execution.started"),
      at(0, "node.started", "fetch", { attempt: 1 }),
      at(2, "node.retrying", "fetch", { next_attempt: 2, error: { message: "503" } }),
      at(5, "node.started", "fetch", { attempt: 2 }),
      at(6, "node.succeeded", "fetch", { output: {} }),
      at(6, "execution.succeeded"),
    ];
    const [fetch] = nodeTimelines(events, T0 + 60_000);
    expect(fetch.attempts).toBe(2);
    expect(fetch.status).toBe("succeeded");
    expect(fetch.segments.map((s) => [s.kind, s.start - T0, s.end - T0, s.attempt, s.outcome, s.open])).toEqual([
      ["run", 0, 2000, 1, "retrying", false],
      ["backoff", 2000, 5000, 2, undefined, false],
      ["run", 5000, 6000, 2, "succeeded", false],
    ]);
    expect([fetch.start - T0, fetch.end - T0]).toEqual([0, 6000]);
    expect(attemptsOf(fetch).map((a) => [a.attempt, a.end - a.start, a.outcome, a.error])).toEqual([
      [1, 2000, "retrying", { message: "503" }],
      [2, 1000, "succeeded", undefined],
    ]);
  });

  it("shows a started approval as waiting in the same attempt, open until now while the run goes on", () => {
    seq = 0;
    const events = [at(0, "node.started", "approve", { attempt: 1 }), at(0, "node.waiting", "approve", { reason: "approval" })];
    const [approve] = nodeTimelines(events, T0 + 30_000);
    expect(approve.status).toBe("waiting");
    const wait = approve.segments[approve.segments.length - 1];
    expect([wait.kind, wait.reason, wait.attempt, wait.open, wait.end - T0]).toEqual(["wait", "approval", 1, true, 30_000]);
    expect(attemptsOf(approve)).toMatchObject([{ attempt: 1, open: true, waited: 30_000, reason: "approval" }]);
  });

  it("ends what is still open when the execution ended, and keeps a delay and a limit's wait apart from the run", () => {
    seq = 0;
    const events = [
      at(0, "node.scheduled", "later", { scheduled_at: "x" }),
      at(4, "node.started", "later", { attempt: 1 }),
      at(4, "node.succeeded", "later"),
      at(4, "node.waiting", "limited", { limit: "t:api" }),
      at(7, "node.started", "limited", { attempt: 1 }),
      at(9, "execution.cancelled"),
    ];
    const [later, limited] = nodeTimelines(events, T0 + 99_000);
    expect(later.segments.map((s) => s.kind)).toEqual(["delay", "run"]);
    expect(later.segments[0].end - T0).toBe(4000);
    expect(limited.segments.map((s) => [s.kind, s.reason, s.end - T0, s.open])).toEqual([
      ["wait", "limit", 7000, false],
      ["run", undefined, 9000, false],
    ]);
  });

  it("gives a light node, whose outcome is its only event, an instant attempt", () => {
    seq = 0;
    const [order, skipped] = nodeTimelines([at(1, "node.succeeded", "order", { output: {} }), at(1, "node.skipped", "later")], T0);
    expect(order.segments.map((s) => [s.kind, s.start - T0, s.end - T0, s.outcome])).toEqual([["run", 1000, 1000, "succeeded"]]);
    expect(order.attempts).toBe(1);
    expect(skipped.segments).toEqual([]);
  });

  it("marks a reused node (a replay) as not having run", () => {
    seq = 0;
    const [order] = nodeTimelines([at(0, "node.reused", "order", { from: "abc" })], T0);
    expect(order).toMatchObject({ reused: true, attempts: 0, status: "succeeded", segments: [] });
  });

  it("follows a node falling back until its fallback has stood in", () => {
    seq = 0;
    const events = [
      at(0, "node.started", "pay", { attempt: 1 }),
      at(1, "node.falling_back", "pay", { fallback: "pay_later" }),
      at(3, "node.succeeded", "pay", { fallback: "pay_later" }),
    ];
    const [pay] = nodeTimelines(events, T0);
    expect(pay.segments.map((s) => [s.kind, s.outcome, s.reason])).toEqual([
      ["run", "failed", undefined],
      ["fallback", "succeeded", "pay_later"],
    ]);
  });
});

describe("criticalPath", () => {
  it("goes back from the last node through the upstream node it waited for longest", () => {
    seq = 0;
    // a -> b (slow) -> d ; a -> c (fast) -> d ; d -> e ; f runs alone, early.
    const events = [
      at(0, "node.started", "a", { attempt: 1 }),
      at(1, "node.succeeded", "a"),
      at(1, "node.started", "b", { attempt: 1 }),
      at(1, "node.started", "c", { attempt: 1 }),
      at(2, "node.succeeded", "c"),
      at(8, "node.succeeded", "b"),
      at(8, "node.started", "d", { attempt: 1 }),
      at(9, "node.succeeded", "d"),
      at(9, "node.started", "e", { attempt: 1 }),
      at(12, "node.succeeded", "e"),
      at(0, "node.started", "f", { attempt: 1 }),
      at(3, "node.succeeded", "f"),
    ];
    const edges = [
      { from: "a", to: "b" },
      { from: "a", to: "c" },
      { from: "b", to: "d" },
      { from: "c", to: "d" },
      { from: "d", to: "e" },
    ];
    expect(criticalPath(nodeTimelines(events, T0), edges)).toEqual(["a", "b", "d", "e"]);
  });

  it("ends with the light node that ended in the same step as the node before it", () => {
    seq = 0;
    const events = [
      at(0, "node.started", "charge", { attempt: 1 }),
      at(0, "node.waiting", "charge", { reason: "function" }),
      at(4, "node.succeeded", "charge"),
      at(4, "node.succeeded", "ship"),
    ];
    expect(criticalPath(nodeTimelines(events, T0), [{ from: "charge", to: "ship" }])).toEqual(["charge", "ship"]);
  });

  it("is empty when nothing ran", () => {
    expect(criticalPath([], [])).toEqual([]);
  });
});

describe("layout", () => {
  it("places segments proportionally, never narrower than the minimum", () => {
    seq = 0;
    const timelines = nodeTimelines(
      [at(0, "node.started", "a", { attempt: 1 }), at(5, "node.succeeded", "a"), at(5, "node.started", "b", { attempt: 1 }), at(5, "node.succeeded", "b")],
      T0,
    );
    const [[a], [b]] = layoutBars(timelines, T0, T0 + 10_000, 1000);
    expect([a.left, a.width]).toEqual([0, 500]);
    expect([b.left, b.width]).toEqual([500, 2]);
  });

  it("labels the axis at round offsets", () => {
    const ticks = timeTicks(T0, T0 + 10_000, 1000, 6);
    expect(ticks.map((t) => t.label)).toEqual(["0", "+2 s", "+4 s", "+6 s", "+8 s", "+10 s"]);
    expect(ticks[1].left).toBe(200);
  });

  it("formats durations the way people read them", () => {
    expect([formatDuration(850), formatDuration(4200), formatDuration(12_000), formatDuration(185_000), formatDuration(7_800_000)]).toEqual([
      "850 ms",
      "4.2 s",
      "12 s",
      "3 min 5 s",
      "2 h 10 min",
    ]);
    expect(formatDuration(null)).toBe("—");
  });
});
