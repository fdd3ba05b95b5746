/**
 * The controls of the run on show (docs/api.md, Executions: control): the buttons its status
 * allows (lib/runControls `controlsFor`) in the designer's toolbar, and the dialogs that cancel
 * it or start a new execution from it: run again (same version, input editable) and replay from
 * a node. The dialogs know no store: the designer and the execution page each say what to do
 * with the execution they answer.
 */
import { useEffect, useState } from "react";
import { Ban, History, Loader2, Pause, Play, RefreshCcw, RotateCw, Square } from "lucide-react";
import { api } from "../api/client";
import type { Execution, VersionInfo } from "../api/types";
import { Modal } from "../components/Modal";
import { useSession } from "../components/session";
import { toast } from "../components/toast";
import { canControlRuns, controlsFor, runNodesFrom, type RunControl } from "../lib/runControls";
import { useDesigner, useDesignerStoreApi, type RunState } from "./store";
import "./runControls.css";

type StoreApi = ReturnType<typeof useDesignerStoreApi>;

export const CONTROL_LABELS: Record<RunControl, { label: string; title: string; icon: typeof Pause }> = {
  pause: { label: "Pause", title: "Start no new node (those running finish); resume later", icon: Pause },
  resume: { label: "Resume", title: "Go on from the pause", icon: Play },
  cancel: { label: "Stop", title: "Cancel the run: what is still open is cancelled", icon: Square },
  retry: { label: "Retry", title: "Go on from the failed nodes, in place: the nodes that succeeded keep their outputs", icon: RotateCw },
  rerun: { label: "Re-run", title: "A new execution of the same version, with the same input or an edited one", icon: RefreshCcw },
};

/** Shows an execution's detail, as a control answered it, in the run on show. */
function takeDetail(store: StoreApi, execution: Execution, change: (run: RunState) => Partial<RunState> = () => ({})): void {
  store.getState().setRun((run) =>
    run && run.executionId === execution.id
      ? { ...run, status: execution.status, nodes: runNodesFrom(execution, run.nodes), ...change(run) }
      : run,
  );
}

/** Shows a new execution (a re-run or a replay) and follows it. */
export function follow(store: StoreApi, execution: Execution): void {
  store.getState().setRun({ executionId: execution.id, status: execution.status, nodes: runNodesFrom(execution) });
}

/** The toolbar's status of the run and the buttons its status allows. */
export function RunControls() {
  const store = useDesignerStoreApi();
  const run = useDesigner((s) => s.run);
  const canControl = canControlRuns(useSession((s) => s.me?.role));
  const [busy, setBusy] = useState<RunControl | null>(null);
  const [dialog, setDialog] = useState<"cancel" | "rerun" | null>(null);
  if (!run) return null;
  const executionId = run.executionId;

  const act = async (control: RunControl) => {
    if (control === "cancel" || control === "rerun") {
      setDialog(control);
      return;
    }
    setBusy(control);
    try {
      if (control === "pause") {
        takeDetail(store, await api.pauseExecution(executionId));
        toast.info("Paused: the nodes running finish, no new node starts.");
      } else if (control === "resume") {
        takeDetail(store, await api.resumeExecution(executionId));
        toast.info("Resumed");
      } else if (control === "retry") {
        // The same execution goes on: follow it again, and say how it ends this time.
        takeDetail(store, await api.retryExecution(executionId), (current) => ({ past: false, follow: (current.follow ?? 0) + 1 }));
        toast.info("Retrying from the failed nodes");
      }
    } catch (error) {
      toast.fromError(error, `Could not ${CONTROL_LABELS[control].label.toLowerCase()} the run`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <span className="run-controls" data-testid="run-controls">
      <span className={`status-pill status-${run.status}`} data-testid="run-status" title={`Execution ${executionId}`}>
        {run.status}
      </span>
      {controlsFor(run.status, canControl).map((control) => {
        const { label, title, icon: Icon } = CONTROL_LABELS[control];
        return (
          <button
            key={control}
            className={`button small ${control === "cancel" ? "danger-outline" : ""}`}
            onClick={() => void act(control)}
            disabled={busy !== null}
            title={title}
            data-testid={`run-control-${control}`}
          >
            {busy === control ? <Loader2 size={14} className="spin" /> : <Icon size={14} />} {label}
          </button>
        );
      })}
      {dialog === "cancel" && (
        <CancelDialog
          executionId={executionId}
          hasCompensation={hasCompensation(store)}
          onCancelled={(execution) => takeDetail(store, execution)}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === "rerun" && <RerunDialog executionId={executionId} onStarted={(execution) => follow(store, execution)} onClose={() => setDialog(null)} />}
    </span>
  );
}

/** Whether the workflow on show has compensation steps to offer. */
function hasCompensation(store: StoreApi): boolean {
  const spec = (store.getState().getDoc()?.toJS() as { spec?: { compensation?: unknown[] } } | undefined)?.spec;
  return Array.isArray(spec?.compensation) && spec.compensation.length > 0;
}

/** Asks before cancelling a run (and whether to compensate first, when the workflow can). */
export function CancelDialog({
  executionId,
  hasCompensation,
  onCancelled,
  onClose,
}: {
  executionId: string;
  hasCompensation: boolean;
  onCancelled: (execution: Execution) => void;
  onClose: () => void;
}) {
  const [compensate, setCompensate] = useState(false);
  const [busy, setBusy] = useState(false);
  const cancel = async () => {
    setBusy(true);
    try {
      onCancelled(await api.cancelExecution(executionId, compensate));
      onClose();
    } catch (error) {
      toast.fromError(error, "Could not cancel the run");
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Cancel this run?"
      onClose={onClose}
      testId="cancel-dialog"
      footer={
        <>
          <button className="button" onClick={onClose}>
            Keep running
          </button>
          <button className="button danger" onClick={() => void cancel()} disabled={busy} data-testid="cancel-confirm">
            <Ban size={14} /> Cancel the run
          </button>
        </>
      }
    >
      <p>The nodes still open are cancelled; what already ran stays done.</p>
      {hasCompensation && (
        <label className="checkbox-line">
          <input type="checkbox" checked={compensate} onChange={(event) => setCompensate(event.target.checked)} data-testid="cancel-compensate" />
          First run the compensation steps that undo what succeeded
        </label>
      )}
    </Modal>
  );
}

/** The run's input as editable JSON, and whether the text is JSON. */
function useInputText(execution: Execution | null): [string, (text: string) => void, { value?: unknown; error?: string }] {
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? (execution ? JSON.stringify(execution.input ?? {}, null, 2) : "");
  let parsed: { value?: unknown; error?: string };
  try {
    parsed = { value: JSON.parse(shown) };
  } catch (error) {
    parsed = { error: error instanceof Error ? error.message : String(error) };
  }
  return [shown, setText, parsed];
}

function useExecution(executionId: string, onError: () => void): Execution | null {
  const [execution, setExecution] = useState<Execution | null>(null);
  useEffect(() => {
    let live = true;
    api
      .getExecution(executionId)
      .then((loaded) => live && setExecution(loaded))
      .catch((error) => {
        toast.fromError(error, "Could not load the run");
        onError();
      });
    return () => {
      live = false;
    };
  }, [executionId]); // eslint-disable-line react-hooks/exhaustive-deps
  return execution;
}

function InputEditor({ text, onChange, error }: { text: string; onChange: (text: string) => void; error?: string }) {
  return (
    <div className="field">
      <label htmlFor="run-input">Input (JSON)</label>
      <textarea
        id="run-input"
        className="mono run-input"
        rows={10}
        spellCheck={false}
        value={text}
        onChange={(event) => onChange(event.target.value)}
        data-testid="run-input-editor"
      />
      {error && (
        <p className="inline-error" data-testid="run-input-error">
          Not JSON: {error}
        </p>
      )}
    </div>
  );
}

/** Runs the execution again as a new one, with its input or an edited one. */
export function RerunDialog({ executionId, onStarted, onClose }: { executionId: string; onStarted: (execution: Execution) => void; onClose: () => void }) {
  const execution = useExecution(executionId, onClose);
  const [text, setText, parsed] = useInputText(execution);
  const [busy, setBusy] = useState(false);
  const start = async () => {
    setBusy(true);
    try {
      const started = await api.rerunExecution(executionId, parsed.value);
      onStarted(started);
      toast.info(`Execution ${started.id.slice(0, 8)} started`);
      onClose();
    } catch (error) {
      toast.fromError(error, "Could not run it again");
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Run again"
      onClose={onClose}
      testId="rerun-dialog"
      footer={
        <>
          <button className="button" onClick={onClose}>
            Cancel
          </button>
          <button className="button primary" onClick={() => void start()} disabled={busy || !execution || Boolean(parsed.error)} data-testid="rerun-start">
            <RefreshCcw size={14} /> Re-run
          </button>
        </>
      }
    >
      <p className="muted">
        A new execution of version {execution?.version ?? "…"} (the one this run used), with this input.
      </p>
      <InputEditor text={text} onChange={setText} error={parsed.error} />
    </Modal>
  );
}

/** "Replay from here": a new execution that runs `nodeId` and everything after it again. */
export function ReplayDialog({
  executionId,
  nodeId,
  onStarted,
  onClose,
}: {
  executionId: string;
  nodeId: string;
  onStarted: (execution: Execution) => void;
  onClose: () => void;
}) {
  const execution = useExecution(executionId, onClose);
  const [text, setText, parsed] = useInputText(execution);
  const [versions, setVersions] = useState<VersionInfo[]>([]);
  const [version, setVersion] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const workflowId = (execution?.workflow as { id?: string } | null | undefined)?.id;
  useEffect(() => {
    if (!workflowId) return;
    api
      .listVersions(workflowId)
      .then((page) => setVersions(page.results))
      .catch(() => setVersions([]));
  }, [workflowId]);
  const chosen = version ?? execution?.version ?? null;
  const start = async () => {
    setBusy(true);
    try {
      const started = await api.replayExecution(executionId, { from: nodeId, input: parsed.value, version: chosen });
      onStarted(started);
      toast.info(`Replay ${started.id.slice(0, 8)} started from ${nodeId}`);
      onClose();
    } catch (error) {
      toast.fromError(error, "Could not replay the run");
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Replay from ${nodeId}`}
      onClose={onClose}
      testId="replay-dialog"
      footer={
        <>
          <button className="button" onClick={onClose}>
            Cancel
          </button>
          <button className="button primary" onClick={() => void start()} disabled={busy || !execution || Boolean(parsed.error)} data-testid="replay-start">
            <History size={14} /> Replay
          </button>
        </>
      }
    >
      <p className="muted">
        A new execution: <span className="mono">{nodeId}</span> and every node after it run again; the nodes before it keep the outputs
        they had in this run.
      </p>
      {versions.length > 1 && (
        <div className="field">
          <label htmlFor="replay-version">Version</label>
          <select
            id="replay-version"
            value={chosen ?? ""}
            onChange={(event) => setVersion(Number(event.target.value))}
            data-testid="replay-version"
          >
            {versions.map((v) => (
              <option key={v.number} value={v.number}>
                v{v.number}
                {v.number === execution?.version ? " (this run's)" : ""}
                {v.message ? ` — ${v.message}` : ""}
              </option>
            ))}
          </select>
        </div>
      )}
      <InputEditor text={text} onChange={setText} error={parsed.error} />
    </Modal>
  );
}
