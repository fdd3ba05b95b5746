import { describe, expect, it } from "vitest";
import type { Trigger } from "../api/types";
import { curlExample, describeTrigger, everyText, offReason, timeAgo } from "./triggers";

function trigger(overrides: Partial<Trigger>): Trigger {
  return {
    id: "t1",
    workflow: { id: "w1", name: "flow", active: true },
    type: "webhook",
    name: null,
    key: "webhook:1",
    enabled: true,
    live: true,
    spec: { type: "webhook" },
    version: 1,
    last_fired_at: null,
    last_execution_id: null,
    webhook: { url: "http://localhost:8181/hooks/abc", mode: "async", input: "body", signed: false, signature_header: "X-MBFlow-Signature" },
    schedule: null,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    ...overrides,
  } as Trigger;
}

describe("curlExample", () => {
  it("posts JSON to the webhook's URL", () => {
    const text = curlExample(trigger({}), `{"it's": 1}`)!;
    expect(text).toContain("curl -X POST -H 'Content-Type: application/json'");
    expect(text).toContain(`-d '{"it'\\''s": 1}'`);
    expect(text.trim().endsWith("http://localhost:8181/hooks/abc")).toBe(true);
  });

  it("is null for a viewer, whom the API does not show the URL", () => {
    const hook = trigger({});
    expect(curlExample({ ...hook, webhook: { ...hook.webhook!, url: null } })).toBeNull();
  });

  it("signs the body with the secret when the webhook is signed", () => {
    const hook = trigger({});
    const text = curlExample({ ...hook, webhook: { ...hook.webhook!, signed: true } })!;
    expect(text).toContain("openssl dgst -sha256 -hmac \"$SECRET\"");
    expect(text).toContain('X-MBFlow-Signature: t=$T,v1=$SIG');
  });
});

describe("describeTrigger", () => {
  it("says when a schedule fires and on what an event trigger starts", () => {
    expect(describeTrigger(trigger({ type: "cron", spec: { schedule: "0 9 * * 1-5" }, schedule: { next_fire_times: [], timezone: "Europe/Paris", missed: "skip" } })))
      .toBe("0 9 * * 1-5 (Europe/Paris)");
    expect(describeTrigger(trigger({ type: "interval", spec: { every: "90s" } }))).toBe("every 90 s");
    expect(describeTrigger(trigger({ type: "event", spec: { event: "order.created", filter: { paid: true } } })))
      .toBe("event order.created where paid = true");
    expect(describeTrigger(trigger({ type: "event", spec: { event: "a.b", source: "shop", filter: "{{ event.data.x > 1 }}" } })))
      .toBe("event a.b from shop where {{ event.data.x > 1 }}");
    expect(describeTrigger(trigger({}))).toBe("POST, answers 202 at once");
  });

  it("reads durations as the language writes them", () => {
    expect([everyText("5m"), everyText(3600), everyText("1h30m"), everyText("2d")]).toEqual([
      "every 5 min", "every 1 h", "every 90 min", "every 2 d"]);
  });
});

describe("timeAgo and offReason", () => {
  it("counts from now", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(timeAgo("2026-01-01T11:59:58Z", now)).toBe("just now");
    expect(timeAgo("2026-01-01T11:59:00Z", now)).toBe("1 min ago");
    expect(timeAgo("2026-01-01T09:00:00Z", now)).toBe("3 h ago");
  });

  it("says why a trigger is off", () => {
    expect(offReason(trigger({}))).toBeNull();
    expect(offReason(trigger({ live: false, workflow: { id: "w", name: "f", active: false } }))).toBe("The workflow is off");
    expect(offReason(trigger({ live: false, enabled: false }))).toBe("Disabled");
  });
});
