/**
 * /executions/<id>: one run, live — its graph coloured by node state, its timeline with the
 * critical path, the data of the node chosen, the event log, and the controls its state allows.
 */
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ArrowLeft, Copy, History, Loader2, PenLine, Radio, WifiOff } from "lucide-react";
import { api } from "../api/client";
import type { Execution, ExecutionTrace, NodeRun } from "../api/types";
import { JsonViewer } from "../components/JsonViewer";
import { useSession } from "../components/session";
import { toast } from "../components/toast";
import { CancelDialog, CONTROL_LABELS, ReplayDialog, RerunDialog } from "../designer/RunControls";
import { approversOf, Decision, messageOf } from "../designer/RunPanel";
import { triggerText, runDuration } from "../lib/executionList";
import { criticalPath, nodeTimelines } from "../lib/gantt";
import { canControlRuns, canReplayFrom, controlsFor, displayStatus, isFinished, nodeRunsOf, runNodeNote, type RunControl } from "../lib/runControls";
import { upstreamOf } from "../lib/upstream";
import { EMPTY_GRAPH, graphFromData, type WorkflowGraph } from "../lib/workflowDoc";
import { EventLog } from "./EventLog";
import { ExecutionGraph } from "./ExecutionGraph";
import { Gantt } from "./Gantt";
import { ErrorDetails, NodeRunData } from "./NodeRunData";
import { useExecutionLive } from "./useExecutionLive";
import "./executions.css";

/** The time, every second while `running`. */
export function useNow(running: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    if (!running) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [running]);
  return now;
}

/**
 * The graph of the version the run pinned (ad hoc runs: their steps, without edges), and whether
 * that version has compensation steps.
 */
function useRunGraph(execution: Execution | null): { graph: WorkflowGraph; compensates: boolean } {
  const [graph, setGraph] = useState<WorkflowGraph>(EMPTY_GRAPH);
  const [compensates, setCompensates] = useState(false);
  const workflowId = execution?.workflow?.id;
  const version = execution?.version;
  const stepIds = execution ? nodeRunsOf(execution).map((s) => s.node_id).join(",") : "";
  useEffect(() => {
    if (!workflowId || !version) {
      const ids = stepIds ? stepIds.split(",") : [];
      setGraph({ ...EMPTY_GRAPH, nodes: ids.map((id, index) => ({ id, type: "", index, position: null, config: {}, raw: { id } })) });
      return;
    }
    let live = true;
    api
      .getVersion(workflowId, version)
      .then((detail) => {
        if (!live) return;
        setGraph(graphFromData(detail.spec));
        const compensation = (detail.spec as { spec?: { compensation?: unknown } }).spec?.compensation;
        setCompensates(Array.isArray(compensation) && compensation.length > 0);
      })
      .catch((error) => toast.fromError(error, "Could not load the workflow's graph"));
    return () => {
      live = false;
    };
  }, [workflowId, version, stepIds]);
  return { graph, compensates };
}

function Meta({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <span className="exec-meta">
      <span className="muted">{label}</span> {children}
    </span>
  );
}

/** The run's OpenTelemetry trace id (docs/api.md, Tracing), linked to the trace viewer when one is set. */
function TraceMeta({ id }: { id: string }) {
  const [trace, setTrace] = useState<ExecutionTrace | null>(null);
  useEffect(() => {
    let live = true;
    api
      .executionTrace(id)
      .then((found) => live && setTrace(found))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [id]);
  if (!trace) return null;
  const hint = trace.enabled ? "OpenTelemetry trace id: its spans are exported over OTLP" : "OpenTelemetry trace id (this server exports no traces: OTEL_EXPORTER_OTLP_ENDPOINT is unset)";
  return (
    <Meta label="trace">
      {trace.url ? (
        <a className="mono" href={trace.url} target="_blank" rel="noreferrer" title={hint} data-testid="execution-trace">
          {trace.trace_id}
        </a>
      ) : (
        <span className={`mono${trace.enabled ? "" : " muted"}`} title={hint} data-testid="execution-trace">
          {trace.trace_id}
        </span>
      )}
      <button className="icon-button tiny" title="Copy the trace id" aria-label="Copy the trace id" onClick={() => void navigator.clipboard?.writeText(trace.trace_id)}>
        <Copy size={12} />
      </button>
    </Meta>
  );
}

export function ExecutionDetailPage() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const live = useExecutionLive(id);
  const { execution, events, nodes: runNodes, status } = live;
  const role = useSession((s) => s.me?.role);
  const canControl = canControlRuns(role);
  const { graph, compensates } = useRunGraph(execution);
  const running = !isFinished(status);
  const now = useNow(running);
  const [selected, setSelected] = useState<string | null>(null);
  const [tab, setTab] = useState<"timeline" | "events" | "data">("timeline");
  const [dialog, setDialog] = useState<"cancel" | "rerun" | "replay" | null>(null);
  const [busy, setBusy] = useState<RunControl | null>(null);

  const steps = useMemo(() => Object.fromEntries((execution ? nodeRunsOf(execution) : []).map((s) => [s.node_id, s])) as Record<string, NodeRun>, [execution]);
  const finishedAt = execution?.finished_at && !running ? Date.parse(execution.finished_at) : null;
  const timelines = useMemo(() => nodeTimelines(events, finishedAt ?? now), [events, finishedAt, now]);
  const critical = useMemo(() => (running ? [] : criticalPath(timelines, graph.edges)), [timelines, graph.edges, running]);
  const from = execution?.started_at ? Date.parse(execution.started_at) : timelines.length ? Math.min(...timelines.map((t) => t.start)) : now;
  const to = Math.max(from + 1, finishedAt ?? now, ...timelines.map((t) => t.end));

  // The node a person comes for: the one that failed, else the one at work.
  useEffect(() => {
    if (selected || !execution) return;
    const failed = nodeRunsOf(execution).find((s) => s.status === "failed" || s.status === "timed_out");
    if (failed) setSelected(failed.node_id);
  }, [execution, selected]);

  if (live.problem) {
    return (
      <div className="empty-state" data-testid="execution-missing">
        <h2>Execution not found</h2>
        <p className="muted">{live.problem}</p>
        <Link className="button" to="/executions">
          Back to executions
        </Link>
      </div>
    );
  }
  if (!execution) {
    return (
      <div className="loading">
        <Loader2 className="spin" size={18} /> Loading the execution…
      </div>
    );
  }

  const act = async (control: RunControl) => {
    if (control === "cancel" || control === "rerun") {
      setDialog(control);
      return;
    }
    setBusy(control);
    try {
      if (control === "pause") live.take(await api.pauseExecution(id));
      else if (control === "resume") live.take(await api.resumeExecution(id));
      else if (control === "retry") {
        live.take(await api.retryExecution(id));
        toast.info("Retrying from the failed nodes");
      }
    } catch (error) {
      toast.fromError(error, `Could not ${CONTROL_LABELS[control].label.toLowerCase()} the run`);
    } finally {
      setBusy(null);
    }
  };

  const selectedNode = selected ? graph.nodes.find((n) => n.id === selected) : undefined;
  const selectedStep = selected ? steps[selected] : undefined;
  const upstream = selected ? upstreamOf(selected, graph.nodes, graph.edges, steps, execution.input) : null;
  const nodeStatus = selected ? (displayStatus(runNodes[selected]) ?? selectedStep?.status ?? "pending") : null;
  const title = execution.workflow?.name ?? "Ad hoc run";

  return (
    <div className="exec-page" data-testid="execution-page" data-status={status}>
      <header className="exec-header">
        <div className="exec-title-row">
          <Link to="/executions" className="icon-button" title="All executions" aria-label="All executions">
            <ArrowLeft size={16} />
          </Link>
          <h1>
            {title}
            {execution.version ? <span className="badge">v{execution.version}</span> : null}
          </h1>
          <span className={`status-pill big status-${status}`} data-testid="execution-status">
            {status}
          </span>
          <span className={`live-chip ${running ? live.socket : "ended"}`} data-testid="live-status" title={live.socket === "live" ? "Following live" : "Connection lost: reconnecting"}>
            {live.socket === "live" || !running ? <Radio size={12} /> : <WifiOff size={12} />} {running ? (live.socket === "live" ? "live" : live.socket) : "ended"}
          </span>
          <span className="grow" />
          {controlsFor(status, canControl).map((control) => {
            const { label, title: hint, icon: Icon } = CONTROL_LABELS[control];
            return (
              <button
                key={control}
                className={`button small ${control === "cancel" ? "danger-outline" : ""}`}
                onClick={() => void act(control)}
                disabled={busy !== null}
                title={hint}
                data-testid={`execution-control-${control}`}
              >
                {busy === control ? <Loader2 size={14} className="spin" /> : <Icon size={14} />} {label}
              </button>
            );
          })}
          {execution.workflow && (
            <Link className="button small" to={`/designer/${execution.workflow.id}`} title="Open the workflow in the designer">
              <PenLine size={14} /> Designer
            </Link>
          )}
        </div>
        <div className="exec-meta-row">
          <Meta label="id">
            <span className="mono" data-testid="execution-id">{execution.id}</span>
            <button className="icon-button tiny" title="Copy the id" aria-label="Copy the id" onClick={() => void navigator.clipboard?.writeText(execution.id)}>
              <Copy size={12} />
            </button>
          </Meta>
          <Meta label="started by">{triggerText(execution.trigger)}</Meta>
          <TraceMeta id={execution.id} />
          <Meta label="created">{execution.created_at ? new Date(execution.created_at).toLocaleString() : "—"}</Meta>
          <Meta label="took">
            <span data-testid="execution-duration">{runDuration(execution, now)}</span>
          </Meta>
          <Meta label="steps">
            {execution.completed_steps ?? 0}/{execution.total_steps ?? 0}
          </Meta>
          {execution.replay_of && (
            <Meta label="replay of">
              <Link className="mono" to={`/executions/${execution.replay_of}`}>
                {execution.replay_of.slice(0, 8)}
              </Link>
            </Meta>
          )}
          {execution.parent_id && (
            <Meta label="started by run">
              <Link className="mono" to={`/executions/${execution.parent_id}`}>
                {execution.parent_id.slice(0, 8)}
              </Link>
            </Meta>
          )}
        </div>
      </header>
      <div className="exec-body">
        <div className="exec-main">
          <div className="exec-graph-wrap">
            <ExecutionGraph graph={graph} runNodes={runNodes} steps={steps} selected={selected} onSelect={setSelected} />
          </div>
          <div className="tabs exec-tabs" role="tablist">
            <button className={tab === "timeline" ? "active" : ""} onClick={() => setTab("timeline")} data-testid="tab-timeline">
              Timeline
            </button>
            <button className={tab === "events" ? "active" : ""} onClick={() => setTab("events")} data-testid="tab-events">
              Events <span className="muted small">{events.length}</span>
            </button>
            <button className={tab === "data" ? "active" : ""} onClick={() => setTab("data")} data-testid="tab-data">
              Run input & output
            </button>
          </div>
          <div className="exec-tab-body">
            {tab === "timeline" && <Gantt timelines={timelines} critical={critical} selected={selected} onSelect={setSelected} from={from} to={to} />}
            {tab === "events" && <EventLog events={events} nodeId={selected} onSelectNode={setSelected} />}
            {tab === "data" && (
              <div className="run-data">
                <div>
                  <h5>Input</h5>
                  <JsonViewer value={execution.input ?? null} name="input" testId="execution-input" />
                </div>
                <div>
                  <h5>Output</h5>
                  <JsonViewer value={execution.output ?? null} name="output" testId="execution-output" />
                </div>
                {execution.error != null && (
                  <div>
                    <h5>Error</h5>
                    <ErrorDetails error={execution.error} testId="execution-error" />
                  </div>
                )}
                {execution.metadata && Object.keys(execution.metadata).length > 0 && (
                  <div>
                    <h5>Metadata</h5>
                    <JsonViewer value={execution.metadata} name="metadata" />
                  </div>
                )}
              </div>
            )}
          </div>
        </div>
        <aside className="exec-side" data-testid="node-panel">
          {selected ? (
            <>
              <div className="exec-side-head">
                <h3 className="mono" data-testid="node-panel-id">{selected}</h3>
                <span className="muted small">{selectedNode?.type}</span>
                <span className={`status-pill status-${nodeStatus}`} data-testid="node-panel-status">
                  {nodeStatus}
                </span>
                <span className="grow" />
                {canReplayFrom(status, canControl) && selectedNode && (
                  <button className="button small" onClick={() => setDialog("replay")} data-testid="replay-from-node" title="A new execution from this node: the nodes before it keep their outputs">
                    <History size={13} /> Replay from here
                  </button>
                )}
              </div>
              {runNodeNote(runNodes[selected]) && <p className="run-note">{runNodeNote(runNodes[selected])}</p>}
              {nodeStatus === "waiting" && selectedNode?.type === "approval" && (
                <Decision executionId={execution.id} nodeId={selected} message={messageOf(selectedStep?.input)} approvers={approversOf(selectedStep?.input)} />
              )}
              <NodeRunData step={selectedStep} upstream={upstream} timeline={timelines.find((t) => t.nodeId === selected)} now={now} />
            </>
          ) : (
            <div className="exec-side-empty">
              <p className="muted">Select a node on the graph or the timeline to see the data that reached it, its config, output, error and attempts.</p>
              {execution.error != null && (
                <>
                  <h5>Why the run failed</h5>
                  <ErrorDetails error={execution.error} />
                </>
              )}
            </div>
          )}
        </aside>
      </div>
      {dialog === "cancel" && (
        <CancelDialog executionId={id} hasCompensation={compensates} onCancelled={live.take} onClose={() => setDialog(null)} />
      )}
      {dialog === "rerun" && <RerunDialog executionId={id} onStarted={(started) => navigate(`/executions/${started.id}`)} onClose={() => setDialog(null)} />}
      {dialog === "replay" && selected && (
        <ReplayDialog executionId={id} nodeId={selected} onStarted={(started) => navigate(`/executions/${started.id}`)} onClose={() => setDialog(null)} />
      )}
    </div>
  );
}
