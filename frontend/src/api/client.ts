/**
 * The one way the SPA talks to the server: openapi-fetch over the generated schema
 * (./generated, `npm run api:generate`), the session cookie plus the CSRF header, and the API's
 * error envelope turned into an ApiError carrying `error.message`.
 */
import createClient from "openapi-fetch";
import type { paths } from "./generated/schema";
import type {
  AlertFiring,
  AlertRule,
  AlertRuleIn,
  CursorPage,
  ExecutionTrace,
  Delivery,
  DiffResult,
  Execution,
  ExecutionEvent,
  Me,
  MetricsSummary,
  MetricsWindow,
  NodeRankings,
  NodeType,
  Page,
  TemplateDetail,
  TenantBusinessMetrics,
  TemplateSummary,
  ValidationResult,
  VersionDetail,
  VersionInfo,
  Trigger,
  Webhook,
  Workflow,
  WorkflowBusinessMetrics,
  WorkflowDetail,
  WorkflowDraft,
  WorkflowMetrics,
} from "./types";

/** The filters of the executions list (docs/api.md, Executions). */
export interface ExecutionQuery {
  cursor?: string;
  page_size?: number;
  workflow?: string;
  /** Statuses, comma-separated. */
  status?: string;
  /** Trigger kinds, comma-separated, or one trigger's id. */
  trigger?: string;
  created_after?: string;
  created_before?: string;
  /** An id or its first characters. */
  id?: string;
}

/** The `cursor` of a `next` or `previous` link of a list paged by position. */
export function cursorOf(link: string | null): string | null {
  if (!link) return null;
  return new URL(link, window.location.origin).searchParams.get("cursor");
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

const BASE = "/api/v1";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The typed HTTP client: every path and method is checked against the generated schema. */
const http = createClient<paths>({ credentials: "same-origin", headers: { Accept: "application/json" } });
http.use({
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method)) request.headers.set("X-CSRFToken", csrfToken());
    return request;
  },
});

interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The body of a successful answer, or an ApiError carrying the envelope's `error.message`. */
async function unwrap<T>(call: Promise<FetchResult>, what: string): Promise<T> {
  let result: FetchResult;
  try {
    result = await call;
  } catch {
    throw new ApiError("The server cannot be reached.", 0, "network_error");
  }
  const { data, error, response } = result;
  if (response.status === 401) {
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
  }
  if (!response.ok) {
    const envelope = (error as { error?: { message?: string; code?: string; details?: Record<string, unknown> } } | undefined)?.error;
    throw new ApiError(
      envelope?.message ?? `${what} failed (${response.status})`,
      response.status,
      envelope?.code ?? "http_error",
      envelope?.details ?? {},
    );
  }
  return data as T;
}

const path = <K extends string>(key: K, value: string | number) => ({ path: { [key]: String(value) } as Record<K, string> });

export const api = {
  me: () => unwrap<Me>(http.GET("/api/v1/me/"), "Loading your account"),
  switchTenant: (tenant: string) => unwrap<Me>(http.POST("/api/v1/me/tenant/", { body: { tenant } }), "Switching tenant"),

  listWorkflows: (query: { search?: string; tag?: string; archived?: boolean; page_size?: number }) =>
    unwrap<Page<Workflow>>(
      http.GET("/api/v1/workflows/", {
        params: { query: { search: query.search || undefined, tag: query.tag || undefined, archived: query.archived, page_size: query.page_size } as never },
      }),
      "Listing workflows",
    ),
  getWorkflow: (id: string) =>
    unwrap<WorkflowDetail>(http.GET("/api/v1/workflows/{ref}/", { params: path("ref", id) }), "Opening the workflow"),
  createWorkflow: (yaml: string, message: string) =>
    unwrap<WorkflowDetail>(http.POST("/api/v1/workflows/", { body: { yaml, message } }), "Creating the workflow"),
  saveWorkflow: (id: string, yaml: string, message: string) =>
    unwrap<WorkflowDetail>(http.PUT("/api/v1/workflows/{ref}/", { params: path("ref", id), body: { yaml, message } }), "Saving"),
  /** The workflow's draft (saved work in progress, never run); null when it has none. */
  getDraft: async (id: string): Promise<WorkflowDraft | null> => {
    try {
      return await unwrap<WorkflowDraft>(http.GET("/api/v1/workflows/{ref}/draft/", { params: path("ref", id) }), "Loading the draft");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && error.code === "not_found") return null;
      throw error;
    }
  },
  saveDraft: (id: string, yaml: string, baseVersion: number | null) =>
    unwrap<WorkflowDraft>(
      http.PUT("/api/v1/workflows/{ref}/draft/", { params: path("ref", id), body: { yaml, base_version: baseVersion } }),
      "Saving the draft",
    ),
  discardDraft: (id: string) =>
    unwrap<void>(http.DELETE("/api/v1/workflows/{ref}/draft/", { params: path("ref", id) }), "Discarding the draft"),
  setArchived: (id: string, archived: boolean) =>
    unwrap<WorkflowDetail>(http.PATCH("/api/v1/workflows/{ref}/", { params: path("ref", id), body: { archived } }), "Archiving"),
  /** Turns the workflow's triggers on or off. */
  setActive: (id: string, active: boolean) =>
    unwrap<WorkflowDetail>(
      http.PATCH("/api/v1/workflows/{ref}/", { params: path("ref", id), body: { active } }),
      active ? "Turning the workflow on" : "Turning the workflow off",
    ),
  listTriggers: (workflowId: string) =>
    unwrap<Page<Trigger>>(
      http.GET("/api/v1/workflows/{ref}/triggers/", { params: { ...path("ref", workflowId), query: { page_size: 100 } as never } }),
      "Loading the triggers",
    ),
  /** Enables or disables a trigger: the server saves a new version of the workflow. */
  setTriggerEnabled: (id: string, enabled: boolean) =>
    unwrap<Trigger>(
      enabled
        ? http.POST("/api/v1/triggers/{trigger_id}/enable/", { params: path("trigger_id", id) })
        : http.POST("/api/v1/triggers/{trigger_id}/disable/", { params: path("trigger_id", id) }),
      enabled ? "Enabling the trigger" : "Disabling the trigger",
    ),
  listWebhooks: () =>
    unwrap<Page<Webhook>>(
      http.GET("/api/v1/webhooks/", { params: { query: { page_size: 100 } as never } }),
      "Loading the webhooks",
    ),
  /** The tenant's outbound webhook deliveries, newest first (`status`: comma-separated). */
  listDeliveries: (query: { status?: string; webhook?: string; page_size?: number }) =>
    unwrap<Page<Delivery>>(
      http.GET("/api/v1/webhooks/deliveries/", {
        params: { query: { status: query.status || undefined, webhook: query.webhook || undefined, page_size: query.page_size } as never },
      }),
      "Loading the deliveries",
    ),
  /** Sends the delivery's body to its webhook again, as a new delivery. */
  redeliver: (id: string) =>
    unwrap<Delivery>(
      http.POST("/api/v1/webhooks/deliveries/{delivery_id}/redeliver/", { params: path("delivery_id", id) }),
      "Redelivering",
    ),
  duplicateWorkflow: (id: string, name: string) =>
    unwrap<WorkflowDetail>(
      http.POST("/api/v1/workflows/{ref}/duplicate/", { params: path("ref", id), body: { name } }),
      "Duplicating",
    ),
  importWorkflow: (file: File) => {
    const form = new FormData();
    form.append("file", file);
    // A WorkflowContext sets the schemas of its workflow (200, with `id`) or is kept until that
    // workflow exists (202, no `id`); `context.message` says which.
    type Imported = Partial<Workflow> & {
      kind: "Workflow" | "WorkflowContext";
      dialect: string;
      warnings: unknown[];
      context?: { action: string; message: string };
    };
    return unwrap<Imported>(
      http.POST("/api/v1/workflows/import/", { body: form as never, bodySerializer: (body: unknown) => body as FormData }),
      "Importing",
    );
  },
  exportUrl: (id: string, version?: number) => `${BASE}/workflows/${id}/export${version ? `?version=${version}` : ""}`,
  validate: (yaml: string) =>
    unwrap<ValidationResult>(http.POST("/api/v1/workflows/validate/", { body: { yaml } }), "Validating"),

  listVersions: (id: string) =>
    unwrap<Page<VersionInfo>>(
      http.GET("/api/v1/workflows/{ref}/versions/", { params: { ...path("ref", id), query: { page_size: 100 } as never } }),
      "Listing versions",
    ),
  getVersion: (id: string, n: number) =>
    unwrap<VersionDetail>(
      http.GET("/api/v1/workflows/{ref}/versions/{number}/", { params: { path: { ref: id, number: String(n) } } }),
      "Loading the version",
    ),
  diff: (id: string, from: number, to: number) =>
    unwrap<DiffResult>(
      http.GET("/api/v1/workflows/{ref}/diff/", { params: { ...path("ref", id), query: { from, to } } }),
      "Comparing versions",
    ),
  rollback: (id: string, version: number, message: string) =>
    unwrap<WorkflowDetail>(
      http.POST("/api/v1/workflows/{ref}/rollback/", { params: path("ref", id), body: { version, message } }),
      "Rolling back",
    ),

  nodeTypes: () =>
    unwrap<Page<NodeType>>(http.GET("/api/v1/node-types/", { params: { query: { page_size: 500 } as never } }), "Loading node types"),
  listTemplates: () =>
    unwrap<Page<TemplateSummary>>(http.GET("/api/v1/templates/", { params: { query: { page_size: 200 } as never } }), "Loading templates"),
  getTemplate: (id: string) =>
    unwrap<TemplateDetail>(http.GET("/api/v1/templates/{template_id}/", { params: path("template_id", id) }), "Loading the template"),

  execute: (id: string, input: unknown) =>
    unwrap<Execution>(
      http.POST("/api/v1/workflows/{ref}/execute/", { params: path("ref", id), body: { input } as never }),
      "Starting the run",
    ),
  /** The workflow's most recent execution, or null when it never ran. */
  lastExecution: async (workflowId: string) => {
    const page = await unwrap<Page<Execution>>(
      http.GET("/api/v1/executions/", { params: { query: { workflow: workflowId, page_size: 1 } as never } }),
      "Loading the last run",
    );
    return page.results[0] ?? null;
  },
  /** Decides a waiting approval node. */
  signal: (executionId: string, body: { node_id: string; decision: "approved" | "rejected"; comment?: string }) =>
    unwrap<Execution>(
      http.POST("/api/v1/executions/{execution_id}/signals/", {
        params: path("execution_id", executionId),
        body: { ...body, comment: body.comment ?? null, data: null },
      }),
      "Sending the decision",
    ),
  /**
   * A page of the tenant's executions, newest first, paged by position (`cursor`: empty for the
   * first page, then the one in `next` or `previous`): as fast on the last page of a million.
   */
  listExecutions: (query: ExecutionQuery) =>
    unwrap<CursorPage<Execution>>(
      http.GET("/api/v1/executions/", {
        params: {
          query: {
            cursor: query.cursor ?? "",
            page_size: query.page_size,
            workflow: query.workflow || undefined,
            status: query.status || undefined,
            trigger: query.trigger || undefined,
            created_after: query.created_after || undefined,
            created_before: query.created_before || undefined,
            id: query.id || undefined,
          } as never,
        },
      }),
      "Loading the executions",
    ),
  /** The execution's events after `afterSeq`, in seq order (a page of up to `pageSize`). */
  listEvents: (id: string, afterSeq = 0, pageSize = 500) =>
    unwrap<Page<ExecutionEvent>>(
      http.GET("/api/v1/executions/{execution_id}/events/", {
        params: { ...path("execution_id", id), query: { after_seq: afterSeq, page_size: pageSize } as never },
      }),
      "Loading the event log",
    ),
  metricsSummary: (window: MetricsWindow) =>
    unwrap<MetricsSummary>(http.GET("/api/v1/metrics/summary/", { params: { query: window } }), "Loading the metrics"),
  workflowMetrics: (ref: string, window: MetricsWindow) =>
    unwrap<WorkflowMetrics>(
      http.GET("/api/v1/workflows/{ref}/metrics/", { params: { ...path("ref", ref), query: window as never } }),
      "Loading the workflow's metrics",
    ),
  nodeMetrics: (window: MetricsWindow & { workflow?: string; limit?: number }) =>
    unwrap<NodeRankings>(
      http.GET("/api/v1/metrics/nodes/", { params: { query: { ...window, workflow: window.workflow || undefined } } }),
      "Loading the node metrics",
    ),
  businessMetrics: (window: MetricsWindow) =>
    unwrap<TenantBusinessMetrics>(http.GET("/api/v1/metrics/business/", { params: { query: window as never } }), "Loading the business metrics"),
  workflowBusinessMetrics: (ref: string, window: MetricsWindow) =>
    unwrap<WorkflowBusinessMetrics>(
      http.GET("/api/v1/workflows/{ref}/business-metrics/", { params: { ...path("ref", ref), query: window as never } }),
      "Loading the workflow's business metrics",
    ),
  listAlertRules: () => unwrap<Page<AlertRule>>(http.GET("/api/v1/alerts/rules/", { params: { query: { page_size: 200 } as never } }), "Loading the alert rules"),
  createAlertRule: (rule: AlertRuleIn) => unwrap<AlertRule>(http.POST("/api/v1/alerts/rules/", { body: rule }), "Creating the alert rule"),
  /** Firings, the latest first; `status` and `severity` comma-separated. */
  listAlertFirings: (query: { status?: string; severity?: string; rule?: string; page_size?: number }) =>
    unwrap<Page<AlertFiring>>(http.GET("/api/v1/alerts/firings/", { params: { query: query as never } }), "Loading the alerts"),
  executionTrace: (id: string) =>
    unwrap<ExecutionTrace>(http.GET("/api/v1/executions/{execution_id}/trace/", { params: path("execution_id", id) }), "Loading the trace id"),
  getExecution: (id: string) =>
    unwrap<Execution>(
      http.GET("/api/v1/executions/{execution_id}/", { params: path("execution_id", id) }),
      "Loading the execution",
    ),

  // Control of an execution (docs/api.md, Executions): each answers the execution's detail.
  pauseExecution: (id: string) =>
    unwrap<Execution>(http.POST("/api/v1/executions/{execution_id}/pause/", { params: path("execution_id", id) }), "Pausing"),
  resumeExecution: (id: string) =>
    unwrap<Execution>(http.POST("/api/v1/executions/{execution_id}/resume/", { params: path("execution_id", id) }), "Resuming"),
  /** With `compensate`, the compensation steps undoing what succeeded run before it ends. */
  cancelExecution: (id: string, compensate = false) =>
    unwrap<Execution>(
      http.POST("/api/v1/executions/{execution_id}/cancel/", { params: path("execution_id", id), body: { compensate } }),
      "Cancelling",
    ),
  /** A failed execution goes on in place from its failed nodes. */
  retryExecution: (id: string) =>
    unwrap<Execution>(http.POST("/api/v1/executions/{execution_id}/retry/", { params: path("execution_id", id) }), "Retrying"),
  /** A new execution of the same version, with `input`. */
  rerunExecution: (id: string, input: unknown) =>
    unwrap<Execution>(
      http.POST("/api/v1/executions/{execution_id}/rerun/", {
        params: path("execution_id", id),
        // Only the input: the start body's other fields keep their defaults (as `execute` sends it).
        body: { input } as never,
      }),
      "Running again",
    ),
  /** A new execution (`replay_of` this one) running `from` and everything after it; the others reuse their outputs. */
  replayExecution: (id: string, body: { from: string; input: unknown; version?: number | null }) =>
    unwrap<Execution>(
      http.POST("/api/v1/executions/{execution_id}/replay/", {
        params: path("execution_id", id),
        body: { from: body.from, input: body.input, version: body.version ?? null, idempotency_key: null, wait: null },
      }),
      "Replaying",
    ),
};

export function executionSocketUrl(executionId: string): string {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  // after_seq=0: the server first replays what happened before the socket opened.
  return `${scheme}://${window.location.host}/ws/executions/${executionId}/?after_seq=0`;
}
