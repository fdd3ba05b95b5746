/**
 * The dashboard's pure parts: the time range picked as the metrics API's window, the time series
 * as chart rows, throughput, and the words and numbers the cards show (docs/metrics.md says what
 * each figure counts).
 */
import type { MetricsPoint, MetricsWindow } from "../api/types";
import { localToIso } from "./executionList";

export const DASHBOARD_RANGES = ["1h", "24h", "7d", "30d"] as const;

/** The window of a range: `period` back from now, or a custom `start`/`end` (datetime-local text). */
export function rangeWindow(range: string, from = "", to = ""): MetricsWindow | null {
  if ((DASHBOARD_RANGES as readonly string[]).includes(range)) return { period: range };
  if (range !== "custom") return { period: "24h" };
  const start = localToIso(from);
  const end = localToIso(to);
  if (!start || (to && !end) || (end && end <= start)) return null;
  return end ? { start, end } : { start };
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `1m`, `15m`, `1h`, `1d`, `1w` in milliseconds (0 if it is none of those). */
export function durationMs(text: string): number {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2]] : 0;
}

export interface ChartRow {
  time: number;
  label: string;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Still pending, running or paused (counted, not ended). */
  open: number;
  /** Percent, or null when none ended. */
  successRate: number | null;
  avg: number | null;
  p95: number | null;
}

/** How a bucket's start is labelled: the time for buckets under a day, else the date. */
export function bucketLabel(time: number, granularityMs: number): string {
  const date = new Date(time);
  if (granularityMs >= 86_400_000) return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  const clock = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
  return granularityMs >= 3_600_000 && date.getHours() === 0 ? `${date.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${clock}` : clock;
}

export function chartRows(series: MetricsPoint[], granularity: string): ChartRow[] {
  const step = durationMs(granularity);
  return series.map((point) => {
    const time = Date.parse(point.time);
    const ended = point.success_count + point.failure_count + point.cancelled_count;
    return {
      time,
      label: bucketLabel(time, step),
      succeeded: point.success_count,
      failed: point.failure_count,
      cancelled: point.cancelled_count,
      open: Math.max(0, point.execution_count - ended),
      successRate: point.success_rate == null ? null : Math.round(point.success_rate * 1000) / 10,
      avg: point.avg_duration ?? null,
      p95: point.p95_duration ?? null,
    };
  });
}

/** Executions per minute (or per hour when that reads better) over a window `lengthMs` long. */
export function throughputText(count: number, lengthMs: number): string {
  if (lengthMs <= 0) return "—";
  const perMinute = count / (lengthMs / 60_000);
  if (perMinute >= 1) return `${perMinute >= 10 ? Math.round(perMinute) : perMinute.toFixed(1)}/min`;
  const perHour = perMinute * 60;
  return `${perHour >= 10 ? Math.round(perHour) : perHour.toFixed(1)}/h`;
}

/** A rate (0–1) as a percent, "—" for none. */
export function percentText(rate: number | null | undefined): string {
  if (rate == null) return "—";
  const percent = rate * 100;
  return `${percent === 100 || percent === 0 ? percent.toFixed(0) : percent.toFixed(1)}%`;
}

/** Seconds as a person reads them: 120 ms, 2.4 s, 3.1 min, 1.5 h. */
export function secondsText(seconds: number | null | undefined): string {
  if (seconds == null) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(2).replace(/\.?0+$/, "") : seconds.toFixed(1).replace(/\.0$/, "")} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1).replace(/\.0$/, "")} min`;
  return `${(seconds / 3600).toFixed(1).replace(/\.0$/, "")} h`;
}

/** Whether a window ends now (so the live feed changes what it shows). */
export function endsNow(window: MetricsWindow | null): boolean {
  return window !== null && (window.period !== undefined || window.end === undefined);
}
