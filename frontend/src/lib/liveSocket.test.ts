import { describe, expect, it } from "vitest";
import { LiveSocket, liveEventOf, reconnectDelay, SeenEvents, type SocketStatus } from "./liveSocket";

describe("SeenEvents", () => {
  it("drops what it has seen and asks each execution for what follows its last seq", () => {
    const seen = new SeenEvents();
    expect(seen.accept("e1", 1, "2025-01-01T00:00:01Z")).toBe(true);
    expect(seen.accept("e1", 2, "2025-01-01T00:00:02Z")).toBe(true);
    expect(seen.accept("e1", 2)).toBe(false); // a replay overlapping a live message
    expect(seen.accept("e1", 1)).toBe(false);
    expect(seen.accept("e2", 1, "2025-01-01T00:00:00Z")).toBe(true);
    expect(seen.executionResume("e1")).toEqual({ after_seq: 2 });
    expect(seen.executionResume("unseen")).toEqual({ after_seq: 0 });
    // The newest server time, not the last one received.
    expect(seen.tenantResume("2024-12-31T00:00:00Z")).toEqual({ after: { e1: 2, e2: 1 }, since: "2025-01-01T00:00:02Z" });
    expect(new SeenEvents().tenantResume("2024-12-31T00:00:00Z")).toEqual({ after: {}, since: "2024-12-31T00:00:00Z" });
  });

  it("remembers the most recently active executions only", () => {
    const seen = new SeenEvents(2);
    seen.accept("a", 1);
    seen.accept("b", 1);
    seen.accept("a", 2); // a is active again
    seen.accept("c", 1); // b, the least recent, is let go
    expect(Object.keys(seen.tenantResume("t").after).sort()).toEqual(["a", "c"]);
  });
});

describe("reconnectDelay", () => {
  it("doubles from half a second to 15 s, jittered by a quarter", () => {
    expect([0, 1, 2, 5, 12].map((n) => reconnectDelay(n, () => 0.5))).toEqual([500, 1000, 2000, 15000, 15000]);
    expect(reconnectDelay(0, () => 0)).toBe(375);
    expect(reconnectDelay(0, () => 1)).toBe(625);
  });
});

describe("liveEventOf", () => {
  it("reads an event message and ignores anything else", () => {
    expect(liveEventOf({ type: "event", event: "node.failed", execution_id: "e", seq: 3, node_id: "n", payload: { x: 1 }, time: "t" })).toEqual({
      execution_id: "e",
      seq: 3,
      type: "node.failed",
      node_id: "n",
      payload: { x: 1 },
      time: "t",
    });
    expect(liveEventOf({ type: "error", message: "no" })).toBeNull();
  });
});

/** A WebSocket the test opens, feeds and drops by hand. */
class FakeSocket {
  static made: FakeSocket[] = [];
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.onclose?.({ code: 1000 });
  }
  open() {
    this.onopen?.();
  }
  drop(code = 1006) {
    this.onclose?.({ code });
  }
  deliver(data: unknown) {
    this.onmessage?.({ data: JSON.stringify(data) });
  }
}

describe("LiveSocket", () => {
  it("reconnects after a drop, from what was seen, without handing on an event twice", () => {
    FakeSocket.made = [];
    const seen = new SeenEvents();
    const got: number[] = [];
    const statuses: SocketStatus[] = [];
    const timers: (() => void)[] = [];
    let reconnected = 0;
    const live = new LiveSocket({
      url: () => `/ws/executions/e/?after_seq=${seen.lastSeq("e")}`,
      resume: () => seen.executionResume("e"),
      onMessage: (data) => {
        const event = liveEventOf(data);
        if (event && seen.accept(event.execution_id, event.seq, event.time)) got.push(event.seq);
      },
      onStatus: (status) => statuses.push(status),
      onReconnected: () => (reconnected += 1),
      WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
      setTimer: (fn) => timers.push(fn),
      clearTimer: () => undefined,
    }).start();
    const event = (seq: number) => ({ type: "event", event: "node.started", execution_id: "e", seq, node_id: "n", payload: {}, time: null });

    const first = FakeSocket.made[0];
    expect(first.url).toBe("/ws/executions/e/?after_seq=0");
    first.open();
    first.deliver(event(1));
    first.deliver(event(2));
    first.drop();
    expect(statuses).toEqual(["connecting", "live", "reconnecting"]);
    expect(timers).toHaveLength(1);

    timers[0]();
    const second = FakeSocket.made[1];
    expect(second.url).toBe("/ws/executions/e/?after_seq=2");
    second.open();
    expect(second.sent).toEqual(['{"after_seq":2}']);
    expect(reconnected).toBe(1);
    second.deliver(event(2)); // replayed and live at once
    second.deliver(event(3));
    expect(got).toEqual([1, 2, 3]);

    live.close();
    expect(statuses[statuses.length - 1]).toBe("closed");
    expect(FakeSocket.made).toHaveLength(2); // closing on purpose does not reconnect
  });

  it("gives up on a refusal (another tenant's execution, signed out)", () => {
    FakeSocket.made = [];
    const timers: (() => void)[] = [];
    const statuses: SocketStatus[] = [];
    new LiveSocket({
      url: () => "/ws/executions/x/",
      onMessage: () => undefined,
      onStatus: (status) => statuses.push(status),
      WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
      setTimer: (fn) => timers.push(fn),
    }).start();
    FakeSocket.made[0].drop(4404);
    expect(timers).toHaveLength(0);
    expect(statuses).toEqual(["connecting", "closed"]);
  });
});
