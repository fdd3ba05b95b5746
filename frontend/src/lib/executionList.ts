/**
 * The executions list's pure parts: its filters as the page's URL holds them and as the API takes
 * them, a time range as a window, what started a run in words, and a run's duration.
 */
import type { ExecutionQuery } from "../api/client";
import type { Execution, ExecutionTrigger } from "../api/types";
import { formatDuration } from "./gantt";

export const STATUSES = ["pending", "running", "paused", "succeeded", "failed", "cancelled"] as const;
export const TRIGGER_KINDS = ["api", "webhook", "cron", "interval", "event", "manual", "rerun", "replay", "adhoc"] as const;

/** The ranges the pickers offer; `custom` reads `from` and `to`. */
export const RANGES = ["1h", "24h", "7d", "30d"] as const;
const RANGE_MS: Record<string, number> = { "1h": 3_600_000, "24h": 86_400_000, "7d": 604_800_000, "30d": 2_592_000_000 };

/** The list's filters, as the URL's search parameters name them. */
export interface ListFilters {
  workflow: string;
  status: string;
  trigger: string;
  /** "" (any time), one of RANGES, or "custom" (then `from`, `to`: datetime-local text). */
  range: string;
  from: string;
  to: string;
  /** An id or its first characters. */
  id: string;
  cursor: string;
}

const KEYS: (keyof ListFilters)[] = ["workflow", "status", "trigger", "range", "from", "to", "id", "cursor"];

export function filtersFrom(params: URLSearchParams): ListFilters {
  return Object.fromEntries(KEYS.map((key) => [key, params.get(key) ?? ""])) as unknown as ListFilters;
}

/** The search parameters of `filters` (empty ones left out), for the page's URL. */
export function filtersToParams(filters: Partial<ListFilters>): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of KEYS) if (filters[key]) params.set(key, filters[key] as string);
  return params;
}

/** A `datetime-local` value (the browser's time zone) as an ISO instant, or "" if it is not one. */
export function localToIso(local: string): string {
  if (!local) return "";
  const time = new Date(local).getTime();
  return Number.isFinite(time) ? new Date(time).toISOString() : "";
}

/** The list's API query for `filters` at `now`. */
export function listQuery(filters: ListFilters, now: number, pageSize = 50): ExecutionQuery {
  const query: ExecutionQuery = {
    cursor: filters.cursor,
    page_size: pageSize,
    workflow: filters.workflow,
    status: filters.status,
    trigger: filters.trigger,
    id: filters.id.trim(),
  };
  if (RANGE_MS[filters.range]) query.created_after = new Date(now - RANGE_MS[filters.range]).toISOString();
  if (filters.range === "custom") {
    query.created_after = localToIso(filters.from) || undefined;
    query.created_before = localToIso(filters.to) || undefined;
  }
  return query;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Whether the search text is a whole execution id (the page then opens it). */
export function isWholeId(text: string): boolean {
  return UUID.test(text.trim());
}

/** Whether the search text can start an id (hex digits and dashes). */
export function isIdPrefix(text: string): boolean {
  return /^[0-9a-f-]{1,36}$/i.test(text.trim());
}

const KIND_WORDS: Record<string, string> = {
  api: "API",
  webhook: "Webhook",
  cron: "Schedule",
  interval: "Interval",
  event: "Event",
  manual: "Manual",
  rerun: "Re-run",
  replay: "Replay",
  adhoc: "Ad hoc",
};

/** What started a run, in a few words: "Webhook inbox", "API by ann", "Re-run of 1a2b3c4d". */
export function triggerText(trigger: ExecutionTrigger | undefined): string {
  const type = trigger?.type ?? "";
  const kind = KIND_WORDS[type] ?? (type || "—");
  if (!trigger) return kind;
  if ((type === "rerun" || type === "replay") && trigger.of) {
    return `${kind} of ${trigger.of.slice(0, 8)}${type === "replay" && trigger.from ? ` from ${trigger.from}` : ""}`;
  }
  if (trigger.by) return `${kind} by ${trigger.by}`;
  if (trigger.name) return `${kind} ${trigger.name}`;
  return kind;
}

/** How long the run took, or has been running at `now`; "—" before it started. */
export function runDuration(execution: Pick<Execution, "started_at" | "finished_at">, now: number): string {
  if (!execution.started_at) return "—";
  const end = execution.finished_at ? Date.parse(execution.finished_at) : now;
  return formatDuration(Math.max(0, end - Date.parse(execution.started_at)));
}

/** The status an execution event puts the run in (`execution.<status>`), if it says one. */
export function statusFromEvent(type: string): string | null {
  if (!type.startsWith("execution.")) return null;
  const name = type.slice("execution.".length);
  const map: Record<string, string> = { created: "pending", started: "running", resumed: "running", retried: "running", compensating: "running" };
  if (map[name]) return map[name];
  return (STATUSES as readonly string[]).includes(name) ? name : null;
}
