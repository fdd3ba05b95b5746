import { describe, expect, it } from "vitest";
import { chartRows, durationMs, endsNow, percentText, rangeWindow, secondsText, throughputText } from "./dashboard";

describe("rangeWindow", () => {
  it("asks for a period back from now, or a custom window that makes sense", () => {
    expect(rangeWindow("7d")).toEqual({ period: "7d" });
    expect(rangeWindow("")).toEqual({ period: "24h" });
    const from = "2025-02-01T00:00";
    const to = "2025-02-02T12:30";
    expect(rangeWindow("custom", from, to)).toEqual({ start: new Date(from).toISOString(), end: new Date(to).toISOString() });
    expect(rangeWindow("custom", from)).toEqual({ start: new Date(from).toISOString() });
    expect(rangeWindow("custom", to, from)).toBeNull(); // ends before it starts
    expect(rangeWindow("custom", "")).toBeNull();
    expect(endsNow({ period: "1h" })).toBe(true);
    expect(endsNow({ start: "x" })).toBe(true);
    expect(endsNow({ start: "x", end: "y" })).toBe(false);
  });
});

describe("chartRows", () => {
  it("splits each bucket by how its runs ended and keeps the open ones apart", () => {
    const rows = chartRows(
      [
        {
          time: "2025-03-01T10:00:00Z",
          execution_count: 10,
          success_count: 6,
          failure_count: 2,
          cancelled_count: 1,
          success_rate: 6 / 9,
          avg_duration: 1.5,
          p95_duration: 4,
        },
        { time: "2025-03-01T11:00:00Z", execution_count: 0, success_count: 0, failure_count: 0, cancelled_count: 0, success_rate: null, avg_duration: null, p95_duration: null },
      ],
      "1h",
    );
    expect(rows.map(({ label: _label, ...row }) => row)).toEqual([
      { time: Date.parse("2025-03-01T10:00:00Z"), succeeded: 6, failed: 2, cancelled: 1, open: 1, successRate: 66.7, avg: 1.5, p95: 4 },
      { time: Date.parse("2025-03-01T11:00:00Z"), succeeded: 0, failed: 0, cancelled: 0, open: 0, successRate: null, avg: null, p95: null },
    ]);
    expect(durationMs("15m")).toBe(900_000);
    expect(durationMs("1w")).toBe(604_800_000);
    expect(durationMs("soon")).toBe(0);
  });
});

describe("figures as text", () => {
  it("reads throughput, rates and seconds", () => {
    expect(throughputText(120, 3_600_000)).toBe("2.0/min");
    expect(throughputText(1200, 3_600_000)).toBe("20/min");
    expect(throughputText(12, 86_400_000)).toBe("0.5/h");
    expect(throughputText(5, 0)).toBe("—");
    expect([percentText(1), percentText(0.9512), percentText(null)]).toEqual(["100%", "95.1%", "—"]);
    expect([secondsText(0.1204), secondsText(2.4), secondsText(12.04), secondsText(186), secondsText(5400), secondsText(null)]).toEqual([
      "120 ms",
      "2.4 s",
      "12 s",
      "3.1 min",
      "1.5 h",
      "—",
    ]);
  });
});
