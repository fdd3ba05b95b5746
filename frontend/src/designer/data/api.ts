/**
 * The calls of the data panel and test runs (docs/api.md: Expressions, `executions/adhoc` with
 * `pinned` and `step`), through the typed client's error envelope handling.
 */
import { ApiError, csrfToken } from "../../api/client";
import type { Execution } from "../../api/types";

async function post<T>(path: string, body: unknown, what: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api/v1/${path}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError("The server cannot be reached.", 0, "network_error");
  }
  const data = (await response.json().catch(() => null)) as { error?: { message?: string; code?: string; details?: Record<string, unknown> } } | null;
  if (!response.ok) {
    const envelope = data?.error;
    throw new ApiError(envelope?.message ?? `${what} failed (${response.status})`, response.status, envelope?.code ?? "http_error", envelope?.details ?? {});
  }
  return data as T;
}

export interface Evaluated {
  value: unknown;
  type: string;
}

/** The expression's value on `context` (and the run `execution`, when given). */
export function evaluateExpression(body: { expression: string; execution?: string; node?: string; context?: Record<string, unknown> }): Promise<Evaluated> {
  return post<Evaluated>("expressions/evaluate/", body, "Evaluating the expression");
}

export interface TestRun {
  yaml: string;
  input?: unknown;
  pinned?: Record<string, unknown>;
  step?: string;
  wait?: number;
}

/** A test run of the document on show (saved or not): pinned nodes keep their output; `step` alone. */
export function startTestRun(body: TestRun): Promise<Execution> {
  return post<Execution>("executions/adhoc/", body, "Starting the test run");
}

/** The tenant's secret names (editors; never values), or none when not allowed. */
export async function secretNames(): Promise<string[]> {
  try {
    const response = await fetch("/api/v1/expressions/secrets/", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return [];
    const body = (await response.json()) as { secrets?: unknown };
    return Array.isArray(body.secrets) ? body.secrets.filter((name): name is string => typeof name === "string") : [];
  } catch {
    return [];
  }
}
