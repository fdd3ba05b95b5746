import { describe, expect, it } from "vitest";
import { filtersFrom, filtersToParams, isIdPrefix, isWholeId, listQuery, runDuration, statusFromEvent, triggerText } from "./executionList";

const NOW = Date.parse("2025-03-01T12:00:00Z");

describe("filters", () => {
  it("round-trips through the URL, leaving empty ones out", () => {
    const params = filtersToParams({ status: "failed", range: "24h", workflow: "", cursor: "abc" });
    expect(params.toString()).toBe("status=failed&range=24h&cursor=abc");
    expect(filtersFrom(params)).toEqual({ workflow: "", status: "failed", trigger: "", range: "24h", from: "", to: "", id: "", cursor: "abc" });
  });

  it("turns a range into the window the API takes", () => {
    const base = filtersFrom(new URLSearchParams("status=failed&trigger=webhook&range=1h&id= 1a2b "));
    expect(listQuery(base, NOW)).toEqual({
      cursor: "",
      page_size: 50,
      workflow: "",
      status: "failed",
      trigger: "webhook",
      id: "1a2b",
      created_after: "2025-03-01T11:00:00.000Z",
    });
    const custom = listQuery(filtersFrom(new URLSearchParams("range=custom&from=2025-02-01T00:00")), NOW);
    expect(custom.created_after).toBe(new Date("2025-02-01T00:00").toISOString());
    expect(custom.created_before).toBeUndefined();
    expect(listQuery(filtersFrom(new URLSearchParams("range=custom&from=nonsense")), NOW).created_after).toBeUndefined();
  });

  it("tells a whole id from the start of one", () => {
    expect(isWholeId("0b6f7a3c-1111-4000-8000-000000000001")).toBe(true);
    expect(isWholeId("0b6f7a3c")).toBe(false);
    expect(isIdPrefix("0b6f7a3c-11")).toBe(true);
    expect(isIdPrefix("order 12")).toBe(false);
  });
});

describe("triggerText", () => {
  it("says what started the run and who or which", () => {
    expect(triggerText({ type: "api", by: "ann" })).toBe("API by ann");
    expect(triggerText({ type: "webhook", id: "x", name: "inbox" })).toBe("Webhook inbox");
    expect(triggerText({ type: "cron", name: "nightly" })).toBe("Schedule nightly");
    expect(triggerText({ type: "replay", of: "1a2b3c4d5e6f", from: "charge" })).toBe("Replay of 1a2b3c4d from charge");
    expect(triggerText({ type: "rerun", of: "1a2b3c4d5e6f" })).toBe("Re-run of 1a2b3c4d");
    expect(triggerText({})).toBe("—");
    expect(triggerText(undefined)).toBe("—");
  });
});

describe("runDuration and statusFromEvent", () => {
  it("measures a finished run, or a running one up to now", () => {
    expect(runDuration({ started_at: "2025-03-01T11:59:58Z", finished_at: "2025-03-01T11:59:59.250Z" }, NOW)).toBe("1.25 s");
    expect(runDuration({ started_at: "2025-03-01T11:57:00Z", finished_at: null }, NOW)).toBe("3 min");
    expect(runDuration({ started_at: null, finished_at: null }, NOW)).toBe("—");
  });

  it("reads the status an execution event sets", () => {
    expect(statusFromEvent("execution.failed")).toBe("failed");
    expect(statusFromEvent("execution.retried")).toBe("running");
    expect(statusFromEvent("execution.created")).toBe("pending");
    expect(statusFromEvent("node.failed")).toBeNull();
    expect(statusFromEvent("execution.compensated")).toBeNull();
  });
});
