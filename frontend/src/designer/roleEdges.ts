/**
 * The links the YAML makes outside `spec.edges`, drawn on the canvas too: a node's `fallback` (the
 * node run in its place when it fails) and the workflow's `compensation` steps (the node that
 * undoes another when the execution fails). They are drawn from the node's failure handle with
 * their own look (styles in graphEditing.css), can be selected and deleted, and are drawn by
 * people in the "Fallback" / "Compensation" connect modes of the canvas.
 */
import { MarkerType, type Edge } from "@xyflow/react";
import type { Document } from "yaml";
import { removeCompensation, setNodeField, type WorkflowGraph } from "../lib/workflowDoc";

export type ConnectMode = "edge" | "fallback" | "compensation";

const FALLBACK = "fallback:";
const COMPENSATION = "compensation:";
const FALLBACK_MARKER = { type: MarkerType.ArrowClosed, width: 16, height: 16, color: "#7a5af8" };
const COMPENSATION_MARKER = { type: MarkerType.ArrowClosed, width: 16, height: 16, color: "#0e9384" };

export function isRoleEdge(key: string): boolean {
  return key.startsWith(FALLBACK) || key.startsWith(COMPENSATION);
}

/** The fallback and compensation links of `graph` between nodes it has, as canvas edges. */
export function roleEdges(graph: Pick<WorkflowGraph, "nodes" | "compensation">, selected: Set<string>): Edge[] {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const edges: Edge[] = [];
  for (const node of graph.nodes) {
    const target = node.raw.fallback;
    if ((typeof target !== "string" && typeof target !== "number") || !ids.has(String(target))) continue;
    const id = `${FALLBACK}${node.id}`;
    edges.push({
      id,
      source: node.id,
      sourceHandle: "failure",
      target: String(target),
      targetHandle: "in",
      className: "edge-fallback",
      label: "fallback",
      selected: selected.has(id),
      markerEnd: FALLBACK_MARKER,
      data: { title: `${node.id} falls back to ${String(target)}` },
    });
  }
  for (const step of graph.compensation ?? []) {
    const from = step.compensates ?? step.when_failed;
    if (!from || !ids.has(from) || !ids.has(step.node)) continue;
    const id = `${COMPENSATION}${step.index}`;
    edges.push({
      id,
      source: from,
      sourceHandle: "failure",
      target: step.node,
      targetHandle: "in",
      className: "edge-compensation",
      label: step.compensates ? "undo" : "if failed: undo",
      selected: selected.has(id),
      markerEnd: COMPENSATION_MARKER,
      data: { title: step.compensates ? `${step.node} undoes ${from}` : `${step.node} runs when ${from} failed` },
    });
  }
  return edges;
}

/** Removes the fallback / compensation links named by these canvas edge ids from the document. */
export function removeRoleEdges(doc: Document, keys: string[]): void {
  const steps: number[] = [];
  for (const key of keys) {
    if (key.startsWith(FALLBACK)) setNodeField(doc, key.slice(FALLBACK.length), ["fallback"], undefined);
    else if (key.startsWith(COMPENSATION)) steps.push(Number(key.slice(COMPENSATION.length)));
  }
  steps.sort((a, b) => b - a).forEach((index) => removeCompensation(doc, index));
}

/** A key for the list of role edges, to keep the same array while nothing about them changed. */
export function roleEdgesKey(edges: Edge[]): string {
  return edges.map((e) => `${e.id}|${e.source}|${e.target}|${e.label}|${e.selected ? 1 : 0}`).join(";");
}
