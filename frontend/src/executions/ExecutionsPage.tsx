/**
 * /executions (and /workflows/<id>/executions): the tenant's runs, newest first, filtered by
 * workflow, status, trigger and time, found by id; paged by cursor (as fast on the thousandth page)
 * and kept current by the tenant's live feed.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { Activity, BarChart3, ChevronLeft, ChevronRight, PenLine, Radio, RefreshCw, Search, WifiOff, X } from "lucide-react";
import { api, cursorOf } from "../api/client";
import type { Execution, Workflow } from "../api/types";
import { toast } from "../components/toast";
import { useSession } from "../components/session";
import {
  filtersFrom,
  filtersToParams,
  isIdPrefix,
  isWholeId,
  listQuery,
  RANGES,
  runDuration,
  STATUSES,
  statusFromEvent,
  TRIGGER_KINDS,
  triggerText,
  type ListFilters,
} from "../lib/executionList";
import { LiveSocket, liveEventOf, SeenEvents, socketUrl, type SocketStatus } from "../lib/liveSocket";
import { timeAgo } from "../lib/triggers";
import "./executions.css";

const PAGE_SIZE = 50;

/** The tenant's live feed: each execution event, as long as the page is open (resumed after a drop). */
export function useTenantFeed(onEvent: (event: NonNullable<ReturnType<typeof liveEventOf>>) => void): SocketStatus {
  const [status, setStatus] = useState<SocketStatus>("connecting");
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const seen = new SeenEvents();
    const opened = new Date().toISOString();
    const socket = new LiveSocket({
      url: () => socketUrl("/ws/executions/"),
      resume: () => seen.tenantResume(opened),
      onMessage: (data) => {
        const event = liveEventOf(data);
        if (event && seen.accept(event.execution_id, event.seq, event.time)) handler.current(event);
      },
      onStatus: setStatus,
    }).start();
    return () => socket.close();
  }, []);
  return status;
}

function WorkflowTabs({ workflowId, name }: { workflowId: string; name: string }) {
  return (
    <div className="workflow-tabs" data-testid="workflow-tabs">
      <span className="muted">Workflow</span> <strong className="mono">{name}</strong>
      <nav className="tabs">
        <Link to={`/designer/${workflowId}`}>
          <PenLine size={13} /> Designer
        </Link>
        <Link to={`/workflows/${workflowId}/executions`} className="active">
          <Activity size={13} /> Executions
        </Link>
        <Link to={`/dashboard?workflow=${workflowId}`}>
          <BarChart3 size={13} /> Metrics
        </Link>
      </nav>
    </div>
  );
}

export function ExecutionsPage() {
  const { workflowId } = useParams();
  const navigate = useNavigate();
  const tenant = useSession((s) => s.me?.tenant.slug);
  const [params, setParams] = useSearchParams();
  const filters = useMemo<ListFilters>(() => ({ ...filtersFrom(params), ...(workflowId ? { workflow: workflowId } : {}) }), [params, workflowId]);
  const [page, setPage] = useState<{ items: Execution[]; next: string | null; previous: string | null } | null>(null);
  const [workflows, setWorkflows] = useState<Workflow[]>([]);
  const [search, setSearch] = useState(filters.id);
  const [fresh, setFresh] = useState(0);
  const [now, setNow] = useState(() => Date.now());

  const update = useCallback(
    (change: Partial<ListFilters>) => {
      const next = { ...filters, cursor: "", ...change };
      if (workflowId) next.workflow = "";
      setParams(filtersToParams(next));
    },
    [filters, setParams, workflowId],
  );

  // Only the newest load's answer is shown: filters changed in quick succession send loads whose
  // answers can come back out of order, and an older one must not replace the newer page.
  const latestLoad = useRef(0);
  const load = useCallback(async () => {
    const ticket = ++latestLoad.current;
    try {
      const answer = await api.listExecutions(listQuery(filters, Date.now(), PAGE_SIZE));
      if (ticket !== latestLoad.current) return;
      setPage({ items: answer.results, next: answer.next, previous: answer.previous });
      setFresh(0);
    } catch (error) {
      if (ticket !== latestLoad.current) return;
      toast.fromError(error, "Could not load the executions");
      setPage({ items: [], next: null, previous: null });
    }
  }, [filters]);

  useEffect(() => {
    void load();
  }, [load, tenant]);

  useEffect(() => {
    api
      .listWorkflows({ page_size: 200 })
      .then((answer) => setWorkflows(answer.results))
      .catch(() => setWorkflows([]));
  }, [tenant]);

  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);

  // Live: a run on the page changes in place; new runs are fetched on the first page, counted on the others.
  const reloadTimer = useRef<number | null>(null);
  const pageRef = useRef(page);
  pageRef.current = page;
  const socket = useTenantFeed((event) => {
    const status = statusFromEvent(event.type);
    if (!status) return;
    const listed = pageRef.current?.items.find((item) => item.id === event.execution_id);
    if (listed) {
      setPage((current) =>
        current && {
          ...current,
          items: current.items.map((item) =>
            item.id === event.execution_id
              ? {
                  ...item,
                  status,
                  started_at: item.started_at ?? (status === "running" ? event.time : item.started_at),
                  finished_at: ["succeeded", "failed", "cancelled"].includes(status) ? event.time : status === "running" ? null : item.finished_at,
                }
              : item,
          ),
        },
      );
    } else if (event.type === "execution.created" || event.type === "execution.started") {
      if (filters.cursor) setFresh((count) => count + 1);
      else if (reloadTimer.current === null) {
        reloadTimer.current = window.setTimeout(() => {
          reloadTimer.current = null;
          void load();
        }, 400);
      }
    }
  });
  useEffect(() => () => void (reloadTimer.current !== null && window.clearTimeout(reloadTimer.current)), []);

  const submitSearch = () => {
    const text = search.trim();
    if (isWholeId(text)) navigate(`/executions/${text}`);
    else if (!text || isIdPrefix(text)) update({ id: text });
    else toast.info("Search by an execution's id, or its first characters (0-9, a-f).");
  };

  const workflowName = workflowId ? (workflows.find((w) => w.id === workflowId)?.name ?? "…") : "";

  return (
    <div className="list-page executions-page" data-testid="executions-page">
      {workflowId && <WorkflowTabs workflowId={workflowId} name={workflowName} />}
      <div className="page-header">
        <div>
          <h1>Executions</h1>
          <p className="muted">Every run of {workflowId ? "this workflow" : "the tenant's workflows"}, newest first, updated live.</p>
        </div>
        <div className="row">
          <span className={`live-chip ${socket}`} title={socket === "live" ? "Updated live" : "Connection lost: reconnecting"} data-testid="list-live">
            {socket === "live" ? <Radio size={12} /> : <WifiOff size={12} />} {socket === "live" ? "live" : socket}
          </span>
          <button className="button" onClick={() => void load()} title="Refresh">
            <RefreshCw size={14} /> Refresh
          </button>
        </div>
      </div>

      <div className="filters exec-filters">
        <label className="search compact" title="An execution's id, or its first characters">
          <Search size={15} />
          <input
            placeholder="Execution id…"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            onKeyDown={(e) => e.key === "Enter" && submitSearch()}
            onBlur={() => search.trim() !== filters.id && submitSearch()}
            data-testid="filter-id"
          />
          {search && (
            <button className="icon-button tiny" aria-label="Clear" onClick={() => (setSearch(""), update({ id: "" }))}>
              <X size={12} />
            </button>
          )}
        </label>
        {!workflowId && (
          <select value={filters.workflow} onChange={(e) => update({ workflow: e.target.value })} aria-label="Workflow" data-testid="filter-workflow">
            <option value="">All workflows</option>
            {workflows.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        )}
        <select value={filters.status} onChange={(e) => update({ status: e.target.value })} aria-label="Status" data-testid="filter-status">
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
          <option value="failed,cancelled">failed or cancelled</option>
        </select>
        <select value={filters.trigger} onChange={(e) => update({ trigger: e.target.value })} aria-label="Trigger" data-testid="filter-trigger">
          <option value="">Any trigger</option>
          {TRIGGER_KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {triggerText({ type: kind })}
            </option>
          ))}
        </select>
        <select value={filters.range} onChange={(e) => update({ range: e.target.value })} aria-label="Time range" data-testid="filter-range">
          <option value="">Any time</option>
          {RANGES.map((range) => (
            <option key={range} value={range}>
              Last {range}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
        {filters.range === "custom" && (
          <>
            <input type="datetime-local" className="date-input" value={filters.from} onChange={(e) => update({ from: e.target.value })} aria-label="From" data-testid="filter-from" />
            <span className="muted">to</span>
            <input type="datetime-local" className="date-input" value={filters.to} onChange={(e) => update({ to: e.target.value })} aria-label="To" data-testid="filter-to" />
          </>
        )}
      </div>

      {fresh > 0 && (
        <button className="banner-button" onClick={() => update({})} data-testid="fresh-runs">
          {fresh} new run{fresh === 1 ? "" : "s"} since — show the newest
        </button>
      )}

      {page === null ? (
        <div className="table-card">
          {[0, 1, 2].map((i) => (
            <div key={i} className="skeleton-row" />
          ))}
        </div>
      ) : page.items.length === 0 ? (
        <div className="empty-state" data-testid="executions-empty">
          <Activity size={36} />
          <h2>No execution matches</h2>
          <p className="muted">Runs appear here as soon as they start: from the designer's Run button, the API, a webhook, a schedule or an event.</p>
        </div>
      ) : (
        <div className="table-card">
          <table className="table exec-table" data-testid="executions-table">
            <thead>
              <tr>
                <th>Status</th>
                <th>Execution</th>
                <th>Workflow</th>
                <th>Started by</th>
                <th>Started</th>
                <th>Duration</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((execution) => (
                <tr key={execution.id} data-testid={`execution-row-${execution.id}`} data-status={execution.status} onClick={() => navigate(`/executions/${execution.id}`)} className="clickable">
                  <td>
                    <span className={`status-pill status-${execution.status}`}>{execution.status}</span>
                  </td>
                  <td>
                    <Link className="mono" to={`/executions/${execution.id}`} onClick={(e) => e.stopPropagation()} title={execution.id}>
                      {execution.id.slice(0, 8)}
                    </Link>
                  </td>
                  <td>
                    {execution.workflow ? (
                      <>
                        <span className="wf-title">{execution.workflow.name}</span>
                        {execution.version ? <span className="badge">v{execution.version}</span> : null}
                      </>
                    ) : (
                      <span className="muted">ad hoc</span>
                    )}
                  </td>
                  <td className="muted">{triggerText(execution.trigger)}</td>
                  <td title={execution.created_at ? new Date(execution.created_at).toLocaleString() : ""}>
                    {execution.created_at ? timeAgo(execution.created_at, now) : "—"}
                  </td>
                  <td className="mono small">{runDuration(execution, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            <button className="button small" disabled={!page.previous} onClick={() => update({ cursor: cursorOf(page.previous) ?? "" })} data-testid="page-newer">
              <ChevronLeft size={14} /> Newer
            </button>
            <button className="button small" disabled={!page.next} onClick={() => update({ cursor: cursorOf(page.next) ?? "" })} data-testid="page-older">
              Older <ChevronRight size={14} />
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
