/**
 * /dashboard: how the tenant's runs go (or one workflow's, `?workflow=`): executions over time by
 * status, success rate, p50/p95/p99, throughput, the slowest and most failing nodes, what runs and
 * waits now, and a live feed; for 1h, 24h, 7d, 30d or a custom window. Figures from the metrics
 * API (docs/metrics.md), refreshed when the feed says a run started or ended. Below them: the
 * alert rules' firings (read again every 10 s: rules are evaluated on the schedule tick) and the
 * business metrics the workflows declare (spec.metrics).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { Activity, Radio, RefreshCw, WifiOff } from "lucide-react";
import { Bar, CartesianGrid, ComposedChart, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../api/client";
import type { AlertFiring, Execution, MetricsFigures, MetricsPoint, NodeRankings, Workflow } from "../api/types";
import { toast } from "../components/toast";
import { useSession } from "../components/session";
import { useTenantFeed } from "../executions/ExecutionsPage";
import { chartRows, DASHBOARD_RANGES, endsNow, percentText, rangeWindow, secondsText, throughputText } from "../lib/dashboard";
import type { LiveEvent } from "../lib/liveSocket";
import { Alerts } from "./Alerts";
import { BusinessMetrics, type BusinessRow } from "./BusinessMetrics";
import "./dashboard.css";

interface Figures {
  metrics: MetricsFigures;
  series: MetricsPoint[];
  period: { start: string; end: string; granularity: string };
  workflows: { id: string | null; name: string; execution_count: number; success_rate: number | null; failure_count: number; p95_duration: number | null }[];
  steps: { node_id: string; execution_count: number; failure_rate: number | null; retry_count: number; p95_duration: number | null }[];
}

interface Active {
  running: number;
  waiting: number | null;
  paused: number;
  pending: number;
}

const COLOURS = { succeeded: "#12b76a", failed: "#f04438", cancelled: "#98a2b3", open: "#84adff", rate: "#4f46e5", avg: "#1570ef", p95: "#dc6803" };
const FEED_SIZE = 40;
const ALERTS_EVERY_MS = 10_000;
const FEED_TYPES = new Set(["execution.started", "execution.succeeded", "execution.failed", "execution.cancelled", "execution.paused", "execution.resumed", "execution.retried", "node.failed"]);

function Card({ label, value, hint, testId, tone }: { label: string; value: string; hint?: string; testId?: string; tone?: string }) {
  return (
    <div className={`stat-card ${tone ?? ""}`} data-testid={testId}>
      <span className="stat-label">{label}</span>
      <span className="stat-value" data-testid={testId ? `${testId}-value` : undefined}>
        {value}
      </span>
      {hint && <span className="stat-hint">{hint}</span>}
    </div>
  );
}

/** The workflow names of the feed's executions, read once each. */
function useExecutionNames(): [Map<string, string>, (id: string) => void] {
  const [names, setNames] = useState(new Map<string, string>());
  const asked = useRef(new Set<string>());
  const ask = useCallback((id: string) => {
    if (asked.current.has(id)) return;
    asked.current.add(id);
    api
      .listExecutions({ id, page_size: 1 })
      .then((page: { results: Execution[] }) => {
        const name = page.results[0]?.workflow?.name ?? "ad hoc";
        setNames((current) => new Map(current).set(id, name));
      })
      .catch(() => undefined);
  }, []);
  return [names, ask];
}

export function DashboardPage() {
  const tenant = useSession((s) => s.me?.tenant.slug);
  const [params, setParams] = useSearchParams();
  const range = params.get("range") ?? "24h";
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const workflow = params.get("workflow") ?? "";
  const window_ = useMemo(() => rangeWindow(range, from, to), [range, from, to]);
  const [figures, setFigures] = useState<Figures | null>(null);
  const [active, setActive] = useState<Active | null>(null);
  const [nodes, setNodes] = useState<NodeRankings | null>(null);
  const [workflows, setWorkflows] = useState<Workflow[]>([]);
  const [feed, setFeed] = useState<LiveEvent[]>([]);
  const [names, askName] = useExecutionNames();
  const [loading, setLoading] = useState(false);
  const [business, setBusiness] = useState<BusinessRow[]>([]);
  const [firings, setFirings] = useState<AlertFiring[]>([]);
  const [ruleCount, setRuleCount] = useState<number | null>(null);

  const set = (change: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(change)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setParams(next, { replace: true });
  };

  // Only the newest load's answers are shown: after a quick change of window or workflow (or a
  // live refresh), an older load that comes back late must not replace the newer figures.
  const latestLoad = useRef(0);
  const latestBusiness = useRef(0);
  const load = useCallback(async () => {
    if (!window_) return;
    const ticket = ++latestLoad.current;
    setLoading(true);
    try {
      if (workflow) {
        const [metrics, ranking, open] = await Promise.all([
          api.workflowMetrics(workflow, window_),
          api.nodeMetrics({ ...window_, workflow, limit: 8 }),
          api.listExecutions({ workflow, status: "pending,running,paused", page_size: 500 }),
        ]);
        if (ticket !== latestLoad.current) return;
        setFigures({
          metrics: metrics.metrics,
          series: metrics.time_series,
          period: metrics.period,
          workflows: [],
          steps: Object.entries(metrics.step_metrics).map(([node_id, step]) => ({ node_id, ...step })),
        });
        const count = (status: string) => open.results.filter((e) => e.status === status).length;
        setActive({ running: count("running"), pending: count("pending"), paused: count("paused"), waiting: null });
        setNodes(ranking);
      } else {
        const [summary, ranking] = await Promise.all([api.metricsSummary(window_), api.nodeMetrics({ ...window_, limit: 8 })]);
        if (ticket !== latestLoad.current) return;
        setFigures({
          metrics: summary.metrics,
          series: summary.time_series,
          period: summary.period,
          workflows: summary.workflows.map((w) => ({ ...w, id: w.workflow?.id ?? null, name: w.workflow?.name ?? "(ad hoc)" })),
          steps: [],
        });
        setActive(summary.active);
        setNodes(ranking);
      }
    } catch (error) {
      if (ticket === latestLoad.current) toast.fromError(error, "Could not load the metrics");
    } finally {
      if (ticket === latestLoad.current) setLoading(false);
    }
  }, [window_, workflow]);

  useEffect(() => {
    void load();
  }, [load, tenant]);

  const loadBusiness = useCallback(async () => {
    if (!window_) return;
    const ticket = ++latestBusiness.current;
    try {
      if (workflow) {
        const answer = await api.workflowBusinessMetrics(workflow, window_);
        if (ticket !== latestBusiness.current) return;
        setBusiness(answer.metrics.map((metric) => ({ workflow: answer.workflow as BusinessRow["workflow"], metric })));
      } else {
        const answer = await api.businessMetrics(window_);
        if (ticket !== latestBusiness.current) return;
        setBusiness(answer.workflows.flatMap((entry) => entry.metrics.map((metric) => ({ workflow: entry.workflow as BusinessRow["workflow"], metric }))));
      }
    } catch {
      if (ticket === latestBusiness.current) setBusiness([]);
    }
  }, [window_, workflow]);
  useEffect(() => {
    void loadBusiness();
  }, [loadBusiness, tenant]);

  const loadAlerts = useCallback(async () => {
    try {
      const [page, rules] = await Promise.all([api.listAlertFirings({ page_size: 50 }), api.listAlertRules()]);
      setFirings(page.results);
      setRuleCount(rules.count);
    } catch {
      setRuleCount(null);
    }
  }, []);
  useEffect(() => {
    void loadAlerts();
    const timer = window.setInterval(() => void loadAlerts(), ALERTS_EVERY_MS);
    return () => window.clearInterval(timer);
  }, [loadAlerts, tenant]);

  useEffect(() => {
    api
      .listWorkflows({ page_size: 200 })
      .then((answer) => setWorkflows(answer.results))
      .catch(() => setWorkflows([]));
  }, [tenant]);

  // The live feed; a run that starts or ends changes the figures of a window that ends now.
  const refresh = useRef<number | null>(null);
  const socket = useTenantFeed((event) => {
    if (!FEED_TYPES.has(event.type)) return;
    askName(event.execution_id);
    setFeed((current) => [event, ...current].slice(0, FEED_SIZE));
    if (endsNow(window_) && event.type.startsWith("execution.") && refresh.current === null) {
      refresh.current = window.setTimeout(() => {
        refresh.current = null;
        void load();
        void loadBusiness();
      }, 1500);
    }
  });
  useEffect(() => () => void (refresh.current !== null && window.clearTimeout(refresh.current)), []);
  useEffect(() => {
    if (!endsNow(window_)) return;
    const timer = window.setInterval(() => void load(), 60_000);
    return () => window.clearInterval(timer);
  }, [load, window_]);

  const rows = useMemo(() => (figures ? chartRows(figures.series, figures.period.granularity) : []), [figures]);
  const lengthMs = figures ? Date.parse(figures.period.end) - Date.parse(figures.period.start) : 0;
  const m = figures?.metrics;
  const workflowName = workflows.find((w) => w.id === workflow)?.name;
  const visibleFeed = workflow ? feed.filter((event) => names.get(event.execution_id) === undefined || names.get(event.execution_id) === workflowName) : feed;

  return (
    <div className="dashboard" data-testid="dashboard">
      <div className="page-header dash-header">
        <div>
          <h1>Dashboard</h1>
          <p className="muted">
            {workflow ? (
              <>
                Workflow <strong className="mono">{workflowName ?? workflow}</strong> ·{" "}
                <Link to={`/workflows/${workflow}/executions`}>its executions</Link>
              </>
            ) : (
              "Every workflow of the tenant"
            )}
            {figures && (
              <span className="small">
                {" "}
                · {new Date(figures.period.start).toLocaleString()} – {new Date(figures.period.end).toLocaleString()}, by {figures.period.granularity}
              </span>
            )}
          </p>
        </div>
        <div className="dash-controls">
          <select value={workflow} onChange={(e) => set({ workflow: e.target.value })} aria-label="Workflow" data-testid="dash-workflow">
            <option value="">All workflows</option>
            {workflows.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
          <div className="segmented" role="group" aria-label="Time range" data-testid="dash-range">
            {DASHBOARD_RANGES.map((r) => (
              <button key={r} className={`chip${range === r ? " chip-active" : ""}`} onClick={() => set({ range: r, from: "", to: "" })} data-testid={`range-${r}`}>
                {r}
              </button>
            ))}
            <button className={`chip${range === "custom" ? " chip-active" : ""}`} onClick={() => set({ range: "custom" })} data-testid="range-custom">
              Custom
            </button>
          </div>
          {range === "custom" && (
            <span className="row">
              <input type="datetime-local" className="date-input" value={from} onChange={(e) => set({ from: e.target.value })} aria-label="From" data-testid="dash-from" />
              <span className="muted">to</span>
              <input type="datetime-local" className="date-input" value={to} onChange={(e) => set({ to: e.target.value })} aria-label="To" data-testid="dash-to" />
            </span>
          )}
          <span className={`live-chip ${socket}`} title={socket === "live" ? "Live" : "Connection lost: reconnecting"} data-testid="dash-live">
            {socket === "live" ? <Radio size={12} /> : <WifiOff size={12} />} {socket === "live" ? "live" : socket}
          </span>
          <button className="icon-button" onClick={() => void Promise.all([load(), loadBusiness(), loadAlerts()])} title="Refresh" aria-label="Refresh">
            <RefreshCw size={15} className={loading ? "spin" : ""} />
          </button>
        </div>
      </div>
      {range === "custom" && !window_ && <p className="inline-error">Pick when the window starts (and, if not now, when it ends, after its start).</p>}

      <div className="stat-row">
        <Card label="Executions" value={m ? m.execution_count.toLocaleString() : "…"} hint={m ? `${m.success_count} ok · ${m.failure_count} failed · ${m.cancelled_count} cancelled` : undefined} testId="stat-executions" />
        <Card label="Success rate" value={percentText(m?.success_rate)} hint="of the runs that ended" testId="stat-success" tone={m?.success_rate != null && m.success_rate < 0.9 ? "bad" : ""} />
        <div className="stat-card" data-testid="stat-durations">
          <span className="stat-label">Duration</span>
          <span className="stat-trio">
            {(["p50", "p95", "p99"] as const).map((p) => (
              <span key={p}>
                <span className="stat-trio-value" data-testid={`stat-${p}`}>
                  {m ? secondsText(m[`${p}_duration`]) : "…"}
                </span>
                <span className="stat-hint">{p}</span>
              </span>
            ))}
          </span>
          <span className="stat-hint" title="Of the runs that ended">average {m ? secondsText(m.avg_duration) : "…"}</span>
        </div>
        <Card label="Throughput" value={m ? throughputText(m.execution_count, lengthMs) : "…"} hint="executions started" testId="stat-throughput" />
        <Card label="Running now" value={active ? String(active.running) : "…"} hint={active ? `${active.pending} pending · ${active.paused} paused` : undefined} testId="stat-running" tone={active?.running ? "live" : ""} />
        <Card label="Waiting now" value={active?.waiting == null ? "—" : String(active.waiting)} hint="on a signal, a worker, a limit" testId="stat-waiting" />
      </div>

      <div className="dash-grid">
        <section className="dash-card span-2">
          <h3>Executions over time, by status</h3>
          <div className="chart" data-testid="chart-executions">
            <ResponsiveContainer width="100%" height="100%">
              <ComposedChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: -12 }}>
                <CartesianGrid strokeDasharray="3 3" stroke="#eaecf0" vertical={false} />
                <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={24} />
                <YAxis yAxisId="count" allowDecimals={false} tick={{ fontSize: 11 }} />
                <YAxis yAxisId="rate" orientation="right" domain={[0, 100]} tick={{ fontSize: 11 }} unit="%" width={44} />
                <Tooltip />
                <Legend wrapperStyle={{ fontSize: 12 }} />
                <Bar yAxisId="count" dataKey="succeeded" stackId="s" fill={COLOURS.succeeded} name="succeeded" isAnimationActive={false} />
                <Bar yAxisId="count" dataKey="failed" stackId="s" fill={COLOURS.failed} name="failed" isAnimationActive={false} />
                <Bar yAxisId="count" dataKey="cancelled" stackId="s" fill={COLOURS.cancelled} name="cancelled" isAnimationActive={false} />
                <Bar yAxisId="count" dataKey="open" stackId="s" fill={COLOURS.open} name="not ended" isAnimationActive={false} />
                <Line yAxisId="rate" dataKey="successRate" stroke={COLOURS.rate} dot={{ r: 2 }} name="success rate" connectNulls isAnimationActive={false} />
              </ComposedChart>
            </ResponsiveContainer>
          </div>
        </section>
        <section className="dash-card feed-card">
          <h3>
            Live feed <span className="muted small">{socket === "live" ? "as it happens" : "reconnecting…"}</span>
          </h3>
          <ul className="feed" data-testid="live-feed">
            {visibleFeed.length === 0 && <li className="muted small">Runs starting and ending appear here.</li>}
            {visibleFeed.map((event) => {
              const kind = event.type.split(".")[1];
              return (
                <li key={`${event.execution_id}-${event.seq}`} data-testid="feed-item" data-type={event.type}>
                  <span className={`status-pill status-${kind === "started" || kind === "resumed" || kind === "retried" ? "running" : kind}`}>
                    {event.type === "node.failed" ? "node failed" : kind}
                  </span>
                  <Link to={`/executions/${event.execution_id}`} className="feed-what">
                    {names.get(event.execution_id) ?? "…"}
                    {event.node_id ? <span className="mono muted"> · {event.node_id}</span> : null}
                  </Link>
                  <span className="muted small">{event.time ? new Date(event.time).toLocaleTimeString(undefined, { hour12: false }) : ""}</span>
                </li>
              );
            })}
          </ul>
        </section>
        <section className="dash-card span-2">
          <h3>Duration over time (seconds)</h3>
          <div className="chart short" data-testid="chart-durations">
            <ResponsiveContainer width="100%" height="100%">
              <LineChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: -12 }}>
                <CartesianGrid strokeDasharray="3 3" stroke="#eaecf0" vertical={false} />
                <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={24} />
                <YAxis tick={{ fontSize: 11 }} />
                <Tooltip formatter={(value) => secondsText(typeof value === "number" ? value : null)} />
                <Legend wrapperStyle={{ fontSize: 12 }} />
                <Line dataKey="avg" stroke={COLOURS.avg} dot={{ r: 2 }} name="average" connectNulls isAnimationActive={false} />
                <Line dataKey="p95" stroke={COLOURS.p95} dot={{ r: 2 }} name="p95" connectNulls isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </div>
        </section>
        <section className="dash-card">
          <h3>Slowest nodes <span className="muted small">by p95</span></h3>
          <NodeTable rows={nodes?.slowest ?? []} figure="p95" testId="slowest-nodes" />
          <h3 className="second">Most failing nodes</h3>
          <NodeTable rows={nodes?.most_failing ?? []} figure="failures" testId="failing-nodes" />
        </section>
        <section className="dash-card span-3" data-testid="alerts-card">
          <Alerts firings={workflow ? firings.filter((f) => !f.workflow || f.workflow.id === workflow) : firings} rules={ruleCount} />
        </section>
        <section className="dash-card span-3">
          <h3>
            Business metrics <span className="muted small">what the runs that ended in this window fed (spec.metrics)</span>
          </h3>
          <BusinessMetrics rows={business} showWorkflow={!workflow} />
        </section>
        {figures && figures.workflows.length > 0 && (
          <section className="dash-card span-3">
            <h3>By workflow <span className="muted small">busiest first</span></h3>
            <table className="table compact" data-testid="workflow-figures">
              <thead>
                <tr>
                  <th>Workflow</th>
                  <th className="num">Executions</th>
                  <th className="num">Failed</th>
                  <th className="num">Success rate</th>
                  <th className="num">p95</th>
                </tr>
              </thead>
              <tbody>
                {figures.workflows.slice(0, 12).map((w) => (
                  <tr key={w.id ?? "adhoc"}>
                    <td>{w.id ? <button className="link-button" onClick={() => set({ workflow: w.id! })}>{w.name}</button> : <span className="muted">{w.name}</span>}</td>
                    <td className="num">{w.execution_count.toLocaleString()}</td>
                    <td className="num">{w.failure_count.toLocaleString()}</td>
                    <td className="num">{percentText(w.success_rate)}</td>
                    <td className="num">{secondsText(w.p95_duration)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
        {figures && figures.steps.length > 0 && (
          <section className="dash-card span-3">
            <h3>Nodes of this workflow</h3>
            <table className="table compact" data-testid="step-figures">
              <thead>
                <tr>
                  <th>Node</th>
                  <th className="num">Ran in</th>
                  <th className="num">Failure rate</th>
                  <th className="num">Retries</th>
                  <th className="num">p95</th>
                </tr>
              </thead>
              <tbody>
                {figures.steps.map((s) => (
                  <tr key={s.node_id}>
                    <td className="mono">{s.node_id}</td>
                    <td className="num">{s.execution_count.toLocaleString()}</td>
                    <td className="num">{percentText(s.failure_rate)}</td>
                    <td className="num">{s.retry_count.toLocaleString()}</td>
                    <td className="num">{secondsText(s.p95_duration)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
      </div>
      {m && m.execution_count === 0 && (
        <p className="muted small dash-empty">
          <Activity size={13} /> No execution in this window yet.
        </p>
      )}
    </div>
  );
}

function NodeTable({ rows, figure, testId }: { rows: NodeRankings["slowest"]; figure: "p95" | "failures"; testId: string }) {
  if (rows.length === 0) return <p className="muted small">No node ran in this window.</p>;
  return (
    <table className="table compact" data-testid={testId}>
      <tbody>
        {rows.slice(0, 5).map((row) => (
          <tr key={`${row.workflow?.id ?? ""}:${row.node_id}`}>
            <td>
              <span className="mono">{row.node_id}</span>
              {row.workflow && <div className="muted small">{row.workflow.name}</div>}
            </td>
            <td className="num">
              {figure === "p95" ? (
                secondsText(row.p95_duration)
              ) : (
                <>
                  {percentText(row.failure_rate)}
                  <div className="muted small">
                    {row.failure_count} of {row.execution_count}
                  </div>
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
