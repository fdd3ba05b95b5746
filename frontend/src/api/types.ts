/**
 * Answer shapes of the MBFlow REST API v1 (docs/api.md) that the generated schema leaves open
 * (views documented as a plain object). Paths, methods and request bodies are checked against
 * ./generated/schema.ts by the client.
 */
import type { components } from "./generated/schema";

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface TenantRef {
  id: string;
  slug: string;
  name: string;
}

export interface Me {
  username: string;
  tenant: TenantRef;
  role: string;
  tenants: (TenantRef & { role: string })[];
}

export interface VersionInfo {
  number: number;
  checksum: string;
  message: string;
  author: string;
  created_at: string;
}

export interface Workflow {
  id: string;
  name: string;
  title: string;
  description: string;
  tags: string[];
  archived: boolean;
  /** Whether its triggers start runs. */
  active: boolean;
  version: VersionInfo | null;
  created_at: string;
  updated_at: string;
}

export interface WorkflowDetail extends Workflow {
  yaml: string;
  spec: Record<string, unknown>;
}

/** A workflow's draft: its saved work in progress, any text (docs/api.md, Drafts). */
export type WorkflowDraft = components["schemas"]["Draft"];

/** A trigger of the workflow's active version, as the server keeps it (docs/api.md, Triggers). */
export type Trigger = components["schemas"]["Trigger"];

/** An outbound webhook of the tenant (docs/api.md, Webhooks out). */
export type Webhook = components["schemas"]["Subscription"];
/** One event owed to one webhook, with each attempt to send it. */
export type Delivery = components["schemas"]["Delivery"];
export type DeliveryAttempt = components["schemas"]["Attempt"];
export type DeliveryStatus = components["schemas"]["DeliveryStatusEnum"];

export interface VersionDetail extends VersionInfo {
  yaml: string;
  spec: Record<string, unknown>;
}

export interface Issue {
  code: string;
  message: string;
  severity?: "error" | "warning";
  node_id?: string | null;
  edge?: number | null;
  path?: (string | number)[] | null;
  line?: number | null;
  column?: number | null;
}

export interface ValidationResult {
  valid: boolean;
  dialect: string;
  errors: Issue[];
  warnings: Issue[];
  yaml: string;
}

export interface DiffResult {
  from: number;
  to: number;
  unified: string;
  nodes: { added: string[]; removed: string[]; changed: string[] };
  edges: { added: unknown[]; removed: unknown[]; changed: unknown[] };
}

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  examples?: unknown[];
  "x-expression"?: boolean;
  [key: string]: unknown;
};

export interface NodeType {
  type: string;
  title: string;
  category: string;
  description: string;
  config_schema: JsonSchema;
  output_ports: string[] | null;
  icon: string | null;
}

export interface TemplateSummary {
  id: string;
  name: string;
  title: string;
  description: string;
  tags: string[];
  builtin: boolean;
}

export interface TemplateDetail extends TemplateSummary {
  yaml: string;
}

export type NodeRunStatus =
  | "pending"
  | "running"
  | "waiting"
  | "falling_back"
  | "succeeded"
  | "failed"
  | "skipped"
  | "retrying"
  | "timed_out"
  | "cancelled";

export interface NodeRun {
  node_id: string;
  status: NodeRunStatus | string;
  attempt?: number;
  attempts?: number | unknown[];
  input?: unknown;
  output?: unknown;
  error?: unknown;
  started_at?: string | null;
  finished_at?: string | null;
  scheduled_at?: string | null;
  /** A replay: the execution whose output this node reused instead of running. */
  reused_from?: string | null;
}

/** What started an execution: `{"type": "webhook"|"cron"|"api"|"rerun"|..., "id"?, "name"?, "by"?, "of"?}`. */
export interface ExecutionTrigger {
  type?: string;
  id?: string;
  name?: string;
  /** Who started it over the API (a user, or `key:<name>`). */
  by?: string;
  /** The execution a rerun or a replay comes from. */
  of?: string;
  from?: string;
  [key: string]: unknown;
}

export interface Execution {
  id: string;
  status: string;
  workflow?: { id: string; name: string } | null;
  version?: number | null;
  trigger?: ExecutionTrigger;
  metadata?: Record<string, unknown>;
  parent_id?: string | null;
  created_at?: string;
  started_at?: string | null;
  finished_at?: string | null;
  total_steps?: number;
  completed_steps?: number;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  /** The execution this one replays (POST /executions/{id}/replay). */
  replay_of?: string | null;
  compensation?: { error?: unknown; nodes?: string[]; status?: string } | null;
  steps?: NodeRun[];
  nodes?: NodeRun[] | Record<string, NodeRun>;
  node_runs?: NodeRun[];
}

export interface ExecutionEvent {
  seq: number;
  type: string;
  node_id?: string | null;
  payload?: Record<string, unknown>;
  /** When it happened (server time, ISO). */
  time?: string | null;
}

/** A list paged by position (`?cursor=`): no count, links to the pages before and after. */
export interface CursorPage<T> {
  next: string | null;
  previous: string | null;
  results: T[];
}

/** The metrics API (docs/api.md, Metrics; docs/metrics.md). */
export type MetricsSummary = components["schemas"]["SummarySchema"];
export type WorkflowMetrics = components["schemas"]["WorkflowMetricsSchema"];
export type NodeRankings = components["schemas"]["NodeRankingsSchema"];
export type MetricsPoint = components["schemas"]["PointSchema"];
export type MetricsFigures = components["schemas"]["FiguresSchema"];
/** Business metrics (spec.metrics; docs/workflow-language.md, Business metrics). */
export type BusinessMetric = components["schemas"]["BusinessMetricSchema"];
export type WorkflowBusinessMetrics = components["schemas"]["WorkflowBusinessMetricsSchema"];
export type TenantBusinessMetrics = components["schemas"]["TenantBusinessMetricsSchema"];
/** Alert rules and their firings (docs/api.md, Alerts). */
export type AlertRule = components["schemas"]["AlertRule"];
export type AlertFiring = components["schemas"]["AlertFiring"];
export type AlertRuleIn = components["schemas"]["RuleInRequest"];
/** An execution's OpenTelemetry trace id (docs/api.md, Tracing). */
export type ExecutionTrace = components["schemas"]["TraceSchema"];
/** A metrics window: `period` back from now, or `start` (and `end`). */
export interface MetricsWindow {
  period?: string;
  start?: string;
  end?: string;
  granularity?: string;
}
