import { useEffect, useRef, useState } from "react";
import { MergeView } from "@codemirror/merge";
import { EditorView } from "@codemirror/view";
import { EditorState } from "@codemirror/state";
import { yaml } from "@codemirror/lang-yaml";
import { GitCompare, RotateCcw } from "lucide-react";
import { api } from "../api/client";
import type { DiffResult, VersionInfo, WorkflowDetail } from "../api/types";
import { Modal } from "../components/Modal";
import { toast } from "../components/toast";
import { DiffCanvas } from "./DiffCanvas";

function SideBySide({ left, right }: { left: string; right: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const readOnly = [yaml(), EditorState.readOnly.of(true), EditorView.editable.of(false), EditorView.lineWrapping];
    const view = new MergeView({
      a: { doc: left, extensions: readOnly },
      b: { doc: right, extensions: readOnly },
      parent: host.current!,
      collapseUnchanged: { margin: 3, minSize: 6 },
      gutter: true,
    });
    return () => view.destroy();
  }, [left, right]);
  return <div className="merge-host" ref={host} data-testid="diff-view" />;
}

interface Props {
  workflowId: string;
  currentVersion: number | undefined;
  dirty: boolean;
  onClose: () => void;
  onRolledBack: (workflow: WorkflowDetail) => void;
}

export function HistoryDialog({ workflowId, currentVersion, dirty, onClose, onRolledBack }: Props) {
  const [versions, setVersions] = useState<VersionInfo[] | null>(null);
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const [texts, setTexts] = useState<{ left: string; right: string } | null>(null);
  const [summary, setSummary] = useState<DiffResult | null>(null);
  // The two versions as text side by side, or drawn on one canvas with what changed coloured.
  const [view, setView] = useState<"text" | "canvas">("text");

  useEffect(() => {
    api
      .listVersions(workflowId)
      .then((page) => {
        setVersions(page.results);
        if (page.results.length >= 2) {
          setTo(page.results[0].number);
          setFrom(page.results[1].number);
        } else if (page.results.length === 1) {
          setTo(page.results[0].number);
          setFrom(page.results[0].number);
        }
      })
      .catch((e) => toast.fromError(e, "Could not load the history"));
  }, [workflowId]);

  useEffect(() => {
    if (from == null || to == null) return;
    let cancelled = false;
    Promise.all([api.getVersion(workflowId, from), api.getVersion(workflowId, to), api.diff(workflowId, from, to)])
      .then(([a, b, diff]) => {
        if (cancelled) return;
        setTexts({ left: a.yaml, right: b.yaml });
        setSummary(diff);
      })
      .catch((e) => toast.fromError(e, "Could not compare the versions"));
    return () => {
      cancelled = true;
    };
  }, [workflowId, from, to]);

  const rollback = async (number: number) => {
    if (dirty && !window.confirm("You have unsaved changes. Roll back anyway and lose them?")) return;
    try {
      const workflow = await api.rollback(workflowId, number, `Rolled back to version ${number}`);
      toast.success(`Rolled back: version ${workflow.version?.number} equals version ${number}`);
      onRolledBack(workflow);
    } catch (e) {
      toast.fromError(e, "Rollback failed");
    }
  };

  return (
    <Modal title="Version history" onClose={onClose} wide testId="history-dialog">
      <div className="history">
        <ul className="version-list" data-testid="version-list">
          {versions === null && <li className="muted">Loading…</li>}
          {versions?.map((v) => (
            <li key={v.number} className={v.number === to ? "active" : ""} data-testid={`version-${v.number}`}>
              <div className="version-head">
                <span className="badge">v{v.number}</span>
                {v.number === currentVersion && <span className="chip chip-active">current</span>}
                <span className="muted small">{new Date(v.created_at).toLocaleString()}</span>
              </div>
              <div className="version-message">{v.message || <span className="muted">No message</span>}</div>
              <div className="muted small">by {v.author || "unknown"}</div>
              <div className="row">
                <button className="button small" onClick={() => setFrom(v.number)} title="Use as the left side of the diff">
                  <GitCompare size={13} /> Compare
                </button>
                {v.number !== currentVersion && (
                  <button className="button small" onClick={() => void rollback(v.number)} data-testid={`rollback-${v.number}`}>
                    <RotateCcw size={13} /> Roll back
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
        <div className="diff-pane">
          <div className="diff-controls">
            <label>
              From
              <select value={from ?? ""} onChange={(e) => setFrom(Number(e.target.value))}>
                {versions?.map((v) => (
                  <option key={v.number} value={v.number}>
                    v{v.number}
                  </option>
                ))}
              </select>
            </label>
            <label>
              To
              <select value={to ?? ""} onChange={(e) => setTo(Number(e.target.value))}>
                {versions?.map((v) => (
                  <option key={v.number} value={v.number}>
                    v{v.number}
                  </option>
                ))}
              </select>
            </label>
            <div className="diff-view-switch" role="group" aria-label="Show the difference as">
              <button type="button" aria-pressed={view === "text"} data-testid="diff-as-text" onClick={() => setView("text")}>
                YAML
              </button>
              <button type="button" aria-pressed={view === "canvas"} data-testid="diff-as-canvas" onClick={() => setView("canvas")}>
                Canvas
              </button>
            </div>
            {summary && (
              <div className="diff-summary">
                <span className="chip added">+{summary.nodes.added.length} nodes</span>
                <span className="chip removed">−{summary.nodes.removed.length} nodes</span>
                <span className="chip changed">~{summary.nodes.changed.length} changed</span>
                <span className="chip">
                  edges +{summary.edges.added.length} / −{summary.edges.removed.length}
                </span>
              </div>
            )}
          </div>
          {!texts ? (
            <div className="muted pad">Choose two versions.</div>
          ) : view === "canvas" ? (
            <DiffCanvas before={texts.left} after={texts.right} />
          ) : (
            <SideBySide left={texts.left} right={texts.right} />
          )}
        </div>
      </div>
    </Modal>
  );
}
