/**
 * One execution, followed live: its detail, its whole event log (read page by page, then from
 * the execution's WebSocket), and the node states the events give. After a dropped connection the
 * socket comes back asking for the events after the last one seen (lib/liveSocket), so none is
 * lost; the detail is read again then, and whenever an event changes what it holds.
 */
import { useCallback, useEffect, useReducer, useRef } from "react";
import { api, ApiError } from "../api/client";
import type { Execution, ExecutionEvent } from "../api/types";
import { LiveSocket, liveEventOf, SeenEvents, socketUrl, type SocketStatus } from "../lib/liveSocket";
import { applyRunEvent, isFinished, runNodesFrom, type RunNode } from "../lib/runControls";

/** The most events read over REST when the page opens (the log of a huge run is cut to its end). */
const MAX_EVENTS = 50_000;
const EVENT_PAGE = 500;

export interface LiveExecution {
  execution: Execution | null;
  /** Why it could not be loaded (not found, no access). */
  problem: string | null;
  events: ExecutionEvent[];
  /** The node states as the events tell them (with the detail's). */
  nodes: Record<string, RunNode>;
  status: string;
  socket: SocketStatus;
}

type Action =
  | { type: "detail"; execution: Execution }
  | { type: "problem"; problem: string }
  | { type: "events"; events: ExecutionEvent[] }
  | { type: "socket"; socket: SocketStatus }
  | { type: "reset" };

const INITIAL: LiveExecution = { execution: null, problem: null, events: [], nodes: {}, status: "pending", socket: "connecting" };

function reduce(state: LiveExecution, action: Action): LiveExecution {
  switch (action.type) {
    case "reset":
      return INITIAL;
    case "problem":
      return { ...state, problem: action.problem };
    case "socket":
      return { ...state, socket: action.socket };
    case "detail":
      return { ...state, execution: action.execution, status: action.execution.status, nodes: runNodesFrom(action.execution, state.nodes) };
    case "events": {
      let run = { status: state.status, nodes: state.nodes };
      for (const event of action.events) run = applyRunEvent(run, event);
      return { ...state, events: [...state.events, ...action.events], status: run.status, nodes: run.nodes };
    }
  }
}

/** Events after which the detail holds something new (an output, an input, an error, a status). */
function changesDetail(event: ExecutionEvent): boolean {
  return event.type.startsWith("execution.") || /^node\.(started|succeeded|failed|timed_out|retrying|falling_back|reused|reset|waiting|skipped|cancelled)$/.test(event.type);
}

export function useExecutionLive(executionId: string): LiveExecution & { reload: () => void; take: (execution: Execution) => void } {
  const [state, dispatch] = useReducer(reduce, INITIAL);
  const seen = useRef(new SeenEvents());
  const refreshTimer = useRef<number | null>(null);

  const reload = useCallback(() => {
    api
      .getExecution(executionId)
      .then((execution) => dispatch({ type: "detail", execution }))
      .catch((error) => {
        if (error instanceof ApiError && (error.status === 404 || error.status === 403)) dispatch({ type: "problem", problem: error.message });
      });
  }, [executionId]);

  const reloadSoon = useCallback(() => {
    if (refreshTimer.current !== null) return;
    refreshTimer.current = window.setTimeout(() => {
      refreshTimer.current = null;
      reload();
    }, 250);
  }, [reload]);

  useEffect(() => {
    dispatch({ type: "reset" });
    seen.current = new SeenEvents();
    let closed = false;
    let socket: LiveSocket | null = null;
    const take = (events: ExecutionEvent[]) => {
      const fresh = events.filter((event) => seen.current.accept(executionId, event.seq, event.time));
      if (fresh.length) dispatch({ type: "events", events: fresh });
      return fresh;
    };
    const open = async () => {
      try {
        dispatch({ type: "detail", execution: await api.getExecution(executionId) });
      } catch (error) {
        dispatch({ type: "problem", problem: error instanceof Error ? error.message : String(error) });
        return;
      }
      // The log so far, page by page, before the socket carries on from its last seq.
      for (let read = 0; !closed && read < MAX_EVENTS; ) {
        const page = await api.listEvents(executionId, seen.current.lastSeq(executionId), EVENT_PAGE).catch(() => null);
        if (!page) break;
        take(page.results);
        read += page.results.length;
        if (!page.next || page.results.length === 0) break;
      }
      if (closed) return;
      socket = new LiveSocket({
        url: () => socketUrl(`/ws/executions/${executionId}/?after_seq=${seen.current.lastSeq(executionId)}`),
        onMessage: (data) => {
          const event = liveEventOf(data);
          if (!event || event.execution_id !== executionId) return;
          if (take([event]).length && changesDetail(event)) reloadSoon();
        },
        onStatus: (socketStatus) => dispatch({ type: "socket", socket: socketStatus }),
        onReconnected: reloadSoon,
      }).start();
    };
    void open();
    return () => {
      closed = true;
      socket?.close();
      if (refreshTimer.current !== null) window.clearTimeout(refreshTimer.current);
      refreshTimer.current = null;
    };
  }, [executionId, reloadSoon]);

  // While the socket is down, the log is read over REST so the page keeps up anyway.
  useEffect(() => {
    if (state.socket !== "reconnecting" || isFinished(state.status)) return;
    const timer = window.setInterval(() => {
      void api
        .listEvents(executionId, seen.current.lastSeq(executionId), EVENT_PAGE)
        .then((page) => {
          const fresh = page.results.filter((event) => seen.current.accept(executionId, event.seq, event.time));
          if (fresh.length) {
            dispatch({ type: "events", events: fresh });
            reloadSoon();
          }
        })
        .catch(() => undefined);
    }, 2000);
    return () => window.clearInterval(timer);
  }, [state.socket, state.status, executionId, reloadSoon]);

  const take = useCallback((execution: Execution) => dispatch({ type: "detail", execution }), []);
  return { ...state, reload, take };
}
