import { describe, expect, it } from "vitest";
import type { Delivery } from "../api/types";
import { anyPending, attemptText, deliverySummary, durationText, shortUrl } from "./deliveries";

function delivery(overrides: Partial<Delivery>): Delivery {
  return {
    id: "d1",
    webhook: { id: "w1", url: "https://hooks.example.com/mbflow" },
    event: "execution.succeeded",
    event_id: "e1:7",
    execution_id: "e1",
    node_id: null,
    status: "succeeded",
    attempts: 1,
    next_attempt_at: null,
    last_status_code: 200,
    last_error: null,
    redelivery_of: null,
    created_at: "2026-01-01T00:00:00Z",
    finished_at: "2026-01-01T00:00:01Z",
    attempt_log: [],
    ...overrides,
  } as Delivery;
}

describe("deliverySummary", () => {
  it("says on which attempt a delivery went through", () => {
    expect(deliverySummary(delivery({}))).toBe("Delivered");
    expect(deliverySummary(delivery({ attempts: 3 }))).toBe("Delivered on attempt 3");
  });
  it("says why it gave up", () => {
    expect(deliverySummary(delivery({ status: "failed", attempts: 8, last_error: "The receiver answered 500." }))).toBe(
      "Gave up after 8 attempts: The receiver answered 500.",
    );
    expect(deliverySummary(delivery({ status: "failed", attempts: 1, last_error: null }))).toBe("Gave up after 1 attempt");
  });
  it("says when a pending one is tried next", () => {
    expect(deliverySummary(delivery({ status: "pending", attempts: 0 }))).toBe("Waiting to be sent");
    expect(deliverySummary(delivery({ status: "pending", attempts: 2, next_attempt_at: null }))).toBe("Retrying after 2 attempts");
    expect(deliverySummary(delivery({ status: "pending", attempts: 2, next_attempt_at: "2026-01-01T10:00:00Z" }))).toMatch(
      /^Retrying after 2 attempts, next at /,
    );
  });
});

describe("attempts", () => {
  it("shows the status code or the error, and the time taken", () => {
    const base = { number: 1, started_at: "2026-01-01T00:00:00Z", response: "" };
    expect(attemptText({ ...base, status_code: 503, error: null, duration_ms: 12 })).toBe("503 in 12 ms");
    expect(attemptText({ ...base, status_code: null, error: "ConnectError: refused", duration_ms: 3 })).toBe(
      "no answer: ConnectError: refused in 3 ms",
    );
    expect(durationText(1450)).toBe("1.4 s");
    expect(durationText(12500)).toBe("13 s");
  });
});

describe("the list", () => {
  it("knows whether something is still pending", () => {
    expect(anyPending([delivery({}), delivery({ status: "failed" })])).toBe(false);
    expect(anyPending([delivery({}), delivery({ status: "pending" })])).toBe(true);
  });
  it("shortens long webhook URLs", () => {
    expect(shortUrl("https://hooks.example.com/mbflow?x=1")).toBe("hooks.example.com/mbflow?x=1");
    expect(shortUrl(`https://example.com/${"a".repeat(80)}`)).toHaveLength(48);
    expect(shortUrl("not a url")).toBe("not a url");
  });
});
