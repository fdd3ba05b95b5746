/**
 * What the Triggers panel says about a trigger: pure functions of the API's trigger shape
 * (docs/api.md, "Triggers"), so they are tested without a browser.
 */
import type { Trigger } from "../api/types";

type Spec = Record<string, unknown>;

/** Shell-quotes a string for a POSIX shell. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export const SAMPLE_BODY = '{"hello": "world"}';

/** Said instead of a webhook's URL to a viewer: the API leaves it out (its token starts runs). */
export const URL_HIDDEN = "Only editors see this webhook's URL: its token starts runs.";

/** A curl command that calls the webhook (a signed one computes X-MBFlow-Signature with
 * openssl); null when the caller is not shown the URL. */
export function curlExample(trigger: Trigger, body: string = SAMPLE_BODY): string | null {
  const url = trigger.webhook?.url;
  if (!url) return null;
  if (!trigger.webhook?.signed) {
    return `curl -X POST -H 'Content-Type: application/json' \\\n     -d ${quote(body)} \\\n     ${url}`;
  }
  return [
    `BODY=${quote(body)}; T=$(date +%s)`,
    `SIG=$(printf '%s.%s' "$T" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')`,
    `curl -X POST -H 'Content-Type: application/json' -H "X-MBFlow-Signature: t=$T,v1=$SIG" \\`,
    `     -d "$BODY" ${url}`,
  ].join("\n");
}

function seconds(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return null;
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  const parts = value.replace(/\s+/g, "").match(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g);
  if (!parts) return Number.isFinite(Number(value)) ? Number(value) : null;
  for (const part of parts) {
    const [, amount, unit] = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(part)!;
    total += Number(amount) * units[unit];
  }
  return total;
}

/** "every 90 s", "every 5 min", "every 2 h" */
export function everyText(value: unknown): string {
  const total = seconds(value);
  if (total == null) return String(value);
  if (total % 86400 === 0) return `every ${total / 86400} d`;
  if (total % 3600 === 0) return `every ${total / 3600} h`;
  if (total % 60 === 0) return `every ${total / 60} min`;
  return `every ${total} s`;
}

/** One line saying when or on what the trigger starts a run. */
export function describeTrigger(trigger: Trigger): string {
  const spec = (trigger.spec ?? {}) as Spec;
  switch (trigger.type) {
    case "cron":
      return `${spec.schedule} (${trigger.schedule?.timezone ?? spec.timezone ?? "UTC"})`;
    case "interval":
      return everyText(spec.every);
    case "webhook":
      return `POST, ${trigger.webhook?.mode === "sync" ? "waits for the answer" : "answers 202 at once"}` +
        `${trigger.webhook?.signed ? ", signed" : ""}`;
    case "event": {
      const filter = spec.filter;
      const where =
        typeof filter === "string"
          ? ` where ${filter}`
          : filter && typeof filter === "object" && Object.keys(filter).length
            ? ` where ${Object.entries(filter as Spec).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ")}`
            : "";
      return `event ${spec.event}${spec.source ? ` from ${spec.source}` : ""}${where}`;
    }
    default:
      return "started by hand (Run, or the API)";
  }
}

/** A time as people read it here, with the zone it is shown in (seconds only when not :00). */
export function fireTime(iso: string, timeZone?: string): string {
  const moment = new Date(iso);
  return moment.toLocaleString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    second: moment.getUTCSeconds() ? "2-digit" : undefined,
    timeZone,
    timeZoneName: "short",
  });
}

/** "just now", "12 s ago", "5 min ago", "3 h ago", then the date. */
export function timeAgo(iso: string, now: number = Date.now()): string {
  const elapsed = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (elapsed < 5) return "just now";
  if (elapsed < 60) return `${Math.floor(elapsed)} s ago`;
  if (elapsed < 3600) return `${Math.floor(elapsed / 60)} min ago`;
  if (elapsed < 86400) return `${Math.floor(elapsed / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

/** Why a trigger starts no run now, or null. */
export function offReason(trigger: Trigger): string | null {
  if (trigger.live) return null;
  if (!trigger.workflow.active) return "The workflow is off";
  if (!trigger.enabled) return "Disabled";
  return "Not starting runs";
}
