/**
 * What the Deliveries page says about an outbound webhook delivery: pure functions of the API's
 * delivery shape (docs/api.md, "Webhooks out"), so they are tested without a browser.
 */
import type { Delivery, DeliveryAttempt } from "../api/types";

/** The status filters the page offers, as the API's `status` parameter takes them. */
export const STATUS_FILTERS: { value: string; label: string }[] = [
  { value: "", label: "All" },
  { value: "failed", label: "Failed" },
  { value: "pending", label: "Pending" },
  { value: "succeeded", label: "Delivered" },
];

/** "12 ms", "1.4 s" */
export function durationText(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
}

/** What came of one attempt: "503 in 12 ms", "no answer: ConnectError: ... in 3 ms". */
export function attemptText(attempt: DeliveryAttempt): string {
  const what = attempt.status_code != null ? String(attempt.status_code) : `no answer: ${attempt.error ?? "unknown error"}`;
  return `${what} in ${durationText(attempt.duration_ms)}`;
}

function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** One line saying where the delivery stands. */
export function deliverySummary(delivery: Delivery): string {
  const tries = delivery.attempts === 1 ? "1 attempt" : `${delivery.attempts} attempts`;
  switch (delivery.status) {
    case "succeeded":
      return delivery.attempts <= 1 ? "Delivered" : `Delivered on attempt ${delivery.attempts}`;
    case "failed":
      return `Gave up after ${tries}${delivery.last_error ? `: ${delivery.last_error}` : ""}`;
    default:
      if (delivery.attempts === 0) return "Waiting to be sent";
      return delivery.next_attempt_at
        ? `Retrying after ${tries}, next at ${clock(delivery.next_attempt_at)}`
        : `Retrying after ${tries}`;
  }
}

/** Whether the list may still change on its own (a delivery is waiting for an attempt). */
export function anyPending(deliveries: Delivery[]): boolean {
  return deliveries.some((delivery) => delivery.status === "pending");
}

/** The host and path of a webhook URL, short enough for a table cell. */
export function shortUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const text = `${parsed.host}${parsed.pathname}${parsed.search}`;
    return text.length > 48 ? `${text.slice(0, 47)}…` : text;
  } catch {
    return url;
  }
}
