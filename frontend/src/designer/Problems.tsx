import { useState } from "react";
import { AlertCircle, AlertTriangle, CheckCircle2, ChevronDown, ChevronUp, Loader2 } from "lucide-react";
import { useReactFlow } from "@xyflow/react";
import type { Issue } from "../api/types";
import { useDesigner, useDesignerStoreApi } from "./store";
import { revealLine } from "./YamlPanel";

/** The problems list under the canvas; a click selects the node (or edge) and shows the line. */
export function Problems() {
  const store = useDesignerStoreApi();
  const issues = useDesigner((s) => s.issues);
  const warnings = useDesigner((s) => s.warnings);
  const parseProblems = useDesigner((s) => s.parseProblems);
  const validating = useDesigner((s) => s.validating);
  const { fitView } = useReactFlow();
  const [open, setOpen] = useState(true);
  const all: (Issue & { severity: "error" | "warning" })[] = [
    ...parseProblems.map((p) => ({ code: "yaml_syntax", message: p.message, line: p.line, column: p.column, severity: "error" as const })),
    ...issues.map((i) => ({ ...i, severity: "error" as const })),
    ...warnings.map((i) => ({ ...i, severity: "warning" as const })),
  ];
  const errors = all.filter((i) => i.severity === "error").length;

  const pick = (issue: Issue) => {
    // (The graph is read here, not followed: the list does not render again on every edit.)
    const { graph } = store.getState();
    if (issue.node_id && graph.nodes.some((n) => n.id === issue.node_id)) {
      store.getState().select([issue.node_id]);
      void fitView({ nodes: [{ id: issue.node_id }], duration: 300, maxZoom: 1.2, padding: 0.6 });
    } else if (typeof issue.edge === "number") {
      const edge = graph.edges.find((e) => e.index === issue.edge);
      if (edge) store.getState().select([], [edge.key]);
    }
    if (issue.line) revealLine(issue.line);
  };

  return (
    <div className={`problems ${open ? "open" : ""}`} data-testid="problems">
      <button className="problems-head" onClick={() => setOpen(!open)}>
        {validating ? (
          <Loader2 size={14} className="spin" />
        ) : errors ? (
          <AlertCircle size={14} className="text-danger" />
        ) : (
          <CheckCircle2 size={14} className="text-success" />
        )}
        <span data-testid="problems-summary">
          {errors ? `${errors} error${errors > 1 ? "s" : ""}` : "No errors"}
          {all.length - errors ? `, ${all.length - errors} warning${all.length - errors > 1 ? "s" : ""}` : ""}
        </span>
        <span className="grow" />
        {open ? <ChevronDown size={14} /> : <ChevronUp size={14} />}
      </button>
      {open && all.length > 0 && (
        <ul className="problem-list">
          {all.map((issue, n) => (
            <li key={n}>
              <button className={`problem ${issue.severity}`} onClick={() => pick(issue)} data-testid="problem">
                {issue.severity === "error" ? <AlertCircle size={13} /> : <AlertTriangle size={13} />}
                <span className="problem-msg">{issue.message}</span>
                <span className="problem-where mono">
                  {issue.node_id ?? (typeof issue.edge === "number" ? `edge ${issue.edge}` : "")}
                  {issue.line ? ` · L${issue.line}` : ""}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
