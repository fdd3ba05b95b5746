/**
 * Secrets (credentials) and filling a template in: plain JSON calls with the session cookie and
 * the CSRF header, failing with the same ApiError as the typed client (`details.fields` kept, so
 * a form can show each message at its field).
 */
import { ApiError, csrfToken } from "./client";
import type { Page, TemplateSummary, WorkflowDetail } from "./types";

/** A workflow whose active version reads a secret. */
export interface SecretUser {
  id: string;
  name: string;
  title: string;
}

/** A secret as listed: never its value. `set` is false for a name read by a workflow but with no value. */
export interface SecretEntry {
  name: string;
  set?: boolean;
  created_at?: string | null;
  updated_at?: string | null;
  used_by: SecretUser[];
}

export interface TemplateNeeds {
  variables: { name: string; description: string; default: string | number | boolean | null }[];
  secrets: { name: string; description: string }[];
}

export type TemplateWithNeeds = TemplateSummary & { needs?: TemplateNeeds };

export interface Instantiation {
  name: string;
  title: string;
  variables: Record<string, string | number | boolean>;
}

async function call<T>(method: string, url: string, what: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response: Response;
  try {
    response = await fetch(url, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError("The server cannot be reached.", 0, "network_error");
  }
  if (response.status === 401) {
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
  }
  if (response.status === 204) return undefined as T;
  const data: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const envelope = (data as { error?: { message?: string; code?: string; details?: Record<string, unknown> } } | undefined)?.error;
    throw new ApiError(envelope?.message ?? `${what} failed (${response.status})`, response.status, envelope?.code ?? "http_error", envelope?.details ?? {});
  }
  return data as T;
}

const SECRETS = "/api/v1/secrets";

export const secretsApi = {
  /** Every secret of the tenant, and (withUnset) the names workflows read that have no value. */
  list: (withUnset = true) =>
    call<Page<SecretEntry>>("GET", `${SECRETS}?page_size=500${withUnset ? "&with_unset=true" : ""}`, "Loading the credentials"),
  /** Creates the secret or replaces its value. */
  set: (name: string, value: string) =>
    call<SecretEntry>("PUT", `${SECRETS}/${encodeURIComponent(name)}`, `Saving ${name}`, { value }),
  remove: (name: string) => call<void>("DELETE", `${SECRETS}/${encodeURIComponent(name)}`, `Deleting ${name}`),
  instantiateTemplate: (id: string, body: Instantiation) =>
    call<WorkflowDetail>("POST", `/api/v1/templates/${encodeURIComponent(id)}/instantiate`, "Creating the workflow", body),
};

/** The message of each field of a 400's `details.fields` (the first one per field). */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const fields = (error.details as { fields?: Record<string, unknown> }).fields ?? {};
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key, Array.isArray(value) ? String(value[0]) : String(value)]),
  );
}
