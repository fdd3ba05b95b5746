/**
 * What the canvas needs to know about node kinds beyond the server's catalog: an icon per type,
 * the labelled output ports of routing nodes, and the common fields every node has.
 */
import {
  Box,
  CalendarClock,
  Circle,
  Code2,
  GitBranch,
  Globe,
  Merge,
  OctagonX,
  Repeat,
  Reply,
  ScrollText,
  Shuffle,
  Sparkles,
  Split,
  Timer,
  UserCheck,
  Workflow,
  type LucideIcon,
} from "lucide-react";
import type { JsonSchema, NodeType } from "../api/types";
import type { GraphNode } from "./workflowDoc";

const ICONS: Record<string, LucideIcon> = {
  http: Globe,
  transform: Shuffle,
  condition: GitBranch,
  switch: Split,
  merge: Merge,
  foreach: Repeat,
  delay: Timer,
  wait_until: CalendarClock,
  approval: UserCheck,
  sub_workflow: Workflow,
  llm: Sparkles,
  function: Code2,
  log: ScrollText,
  noop: Circle,
  webhook_response: Reply,
  fail: OctagonX,
};

export function iconFor(type: string): LucideIcon {
  return ICONS[type] ?? Box;
}

const OUTCOMES = new Set(["success", "failure", "always", "error"]);

/** Labelled outputs of a node: `true`/`false` for condition, the case labels for switch. */
export function outputPorts(node: Pick<GraphNode, "type" | "config">, nodeType?: NodeType): string[] {
  if (node.type === "switch") {
    const labels: string[] = [];
    const cases = Array.isArray(node.config.cases) ? node.config.cases : [];
    for (const c of cases) {
      const label = (c as Record<string, unknown>)?.output;
      if (label != null && !labels.includes(String(label))) labels.push(String(label));
    }
    const fallback = node.config.default ?? "default";
    if (!labels.includes(String(fallback))) labels.push(String(fallback));
    return labels;
  }
  const declared = (nodeType?.output_ports ?? []).filter((p) => !OUTCOMES.has(p));
  if (declared.length > 0) return declared;
  return node.type === "condition" ? ["true", "false"] : [];
}

const DURATION: JsonSchema = { type: "string", description: "e.g. 500ms, 30s, 1m, 1h30m", examples: ["30s"] };

/** Whether the node has a plain "on success" output (a `fail` node, for one, never succeeds). */
export function hasSuccessOutput(nodeType?: NodeType): boolean {
  const declared = nodeType?.output_ports;
  if (!declared) return true;
  return declared.includes("success") || (declared.length > 0 && declared.every((p) => OUTCOMES.has(p)));
}

/** The fields every node has, whatever its type (docs/workflow-language.md, "Nodes"). */
export const COMMON_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    name: { type: "string", title: "Name", description: "Display name" },
    description: { type: "string", title: "Description" },
    when: { type: "string", title: "Run when", description: "Expression; false skips the node", "x-expression": true },
    timeout: { ...DURATION, title: "Timeout" },
    timeout_action: {
      type: "string",
      title: "On timeout",
      enum: ["cancel_and_cleanup", "retry", "fallback", "ignore"],
    },
    retry: {
      type: "object",
      title: "Retry",
      properties: {
        max_attempts: { type: "integer", minimum: 1, title: "Max attempts" },
        backoff: { type: "string", enum: ["fixed", "linear", "exponential"], title: "Backoff" },
        initial_delay: { ...DURATION, title: "Initial delay" },
        max_delay: { ...DURATION, title: "Max delay" },
        multiplier: { type: "number", title: "Multiplier" },
        jitter: { type: "boolean", title: "Jitter" },
      },
    },
    circuit_breaker: {
      type: "object",
      title: "Circuit breaker",
      properties: {
        failure_threshold: { type: "integer", minimum: 1, title: "Failure threshold" },
        recovery_timeout: { ...DURATION, title: "Recovery timeout" },
        half_open_max_calls: { type: "integer", minimum: 1, title: "Half-open max calls" },
        failure_rate_threshold: { type: "number", minimum: 0, maximum: 1, title: "Failure rate threshold" },
      },
    },
    fallback: { type: "string", title: "Fallback node", description: "Node run instead when this one fails", format: "node-id" },
  },
};

const S = (extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: "string", ...extra });
const EXPR = (extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: "string", "x-expression": true, ...extra });
const MAP: JsonSchema = { type: "object", additionalProperties: { type: "string" } };

/** Shown only when the server's catalog cannot be read, so the palette is never empty. */
export const FALLBACK_NODE_TYPES: NodeType[] = [
  {
    type: "http", title: "HTTP request", category: "Integrations", description: "Call an HTTP API", icon: null, output_ports: null,
    config_schema: {
      type: "object", required: ["url"],
      properties: {
        method: { type: "string", enum: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], default: "GET" },
        url: EXPR(), headers: MAP, query: MAP, json: { type: "object", additionalProperties: true },
        body: S(), response: { type: "string", enum: ["auto", "json", "text", "binary"] },
        expected_status: { type: "array", items: { type: "integer" } },
        follow_redirects: { type: "boolean" }, max_response_bytes: { type: "integer" },
      },
    },
  },
  {
    type: "llm", title: "LLM", category: "AI", description: "Chat completion", icon: null, output_ports: null,
    config_schema: {
      type: "object", required: ["model"],
      properties: {
        provider: { type: "string", enum: ["openai", "anthropic"] }, model: S(), base_url: S(), api_key: EXPR(),
        system: EXPR(), prompt: EXPR(), temperature: { type: "number" }, max_tokens: { type: "integer" },
      },
    },
  },
  {
    type: "transform", title: "Transform", category: "Data", description: "Map expressions to a new object", icon: null, output_ports: null,
    config_schema: {
      type: "object",
      properties: { mapping: { type: "object", additionalProperties: EXPR() }, jmespath: S(), source: EXPR() },
    },
  },
  { type: "condition", title: "Condition", category: "Flow", description: "Route on true / false", icon: null, output_ports: ["true", "false"],
    config_schema: { type: "object", required: ["expression"], properties: { expression: EXPR() } } },
  {
    type: "switch", title: "Switch", category: "Flow", description: "Route by value to labelled edges", icon: null, output_ports: null,
    config_schema: {
      type: "object",
      properties: {
        value: EXPR(),
        cases: { type: "array", items: { type: "object", properties: { equals: S(), when: EXPR(), output: S() } } },
        default: S(),
      },
    },
  },
  { type: "merge", title: "Merge", category: "Flow", description: "Join branches", icon: null, output_ports: null,
    config_schema: { type: "object", properties: { mode: { type: "string", enum: ["all", "first", "any"] }, strategy: { type: "string", enum: ["keyed", "object", "list"] } } } },
  { type: "delay", title: "Delay", category: "Flow", description: "Wait for a duration", icon: null, output_ports: null,
    config_schema: { type: "object", required: ["duration"], properties: { duration: S() } } },
  { type: "log", title: "Log", category: "Utilities", description: "Write a log line", icon: null, output_ports: null,
    config_schema: { type: "object", properties: { message: EXPR(), level: { type: "string", enum: ["debug", "info", "warning", "error"] } } } },
  { type: "noop", title: "No-op", category: "Utilities", description: "Pass upstream through", icon: null, output_ports: null,
    config_schema: { type: "object", properties: {} } },
];
