/**
 * Live events that survive a dropped connection: the bookkeeping of what was seen (per
 * execution, each counts its own `seq`), the message that asks the server for what was missed
 * (executions/live/consumers.py: `{"after_seq": n}` on an execution's socket, `{"after": {...},
 * "since": ...}` on the tenant's feed), and a socket that reconnects with a growing pause and asks
 * for it. Duplicates (a replay overlapping live messages) are dropped here as well as there.
 */
import type { ExecutionEvent } from "../api/types";

/** One event of a live message, with the execution it belongs to and its server time. */
export type LiveEvent = ExecutionEvent & { execution_id: string; time: string | null };

/** The events in one WebSocket message (`{"type": "event", "event", "execution_id", "seq", ...}`). */
export function liveEventOf(message: unknown): LiveEvent | null {
  const data = message as Record<string, unknown> | null;
  if (!data || data.type !== "event" || typeof data.event !== "string" || typeof data.seq !== "number") return null;
  if (typeof data.execution_id !== "string") return null;
  return {
    execution_id: data.execution_id,
    seq: data.seq,
    type: data.event,
    node_id: typeof data.node_id === "string" && data.node_id ? data.node_id : null,
    payload: data.payload && typeof data.payload === "object" ? (data.payload as Record<string, unknown>) : {},
    time: typeof data.time === "string" ? data.time : null,
  };
}

/** The last `seq` seen of each execution, and the newest server time among them. */
export class SeenEvents {
  private readonly last = new Map<string, number>();
  private newest: string | null = null;

  /** `keep`: how many executions are remembered (the most recently active); older ones are asked for by time. */
  constructor(private readonly keep = 200) {}

  /** Notes the event; false when it was seen already (its `seq` is not past the last one). */
  accept(executionId: string, seq: number, time?: string | null): boolean {
    const last = this.last.get(executionId) ?? 0;
    if (seq <= last) return false;
    // Re-inserted so that the map's order is the order of activity (oldest first).
    this.last.delete(executionId);
    this.last.set(executionId, seq);
    while (this.last.size > this.keep) this.last.delete(this.last.keys().next().value as string);
    if (time && (this.newest === null || time > this.newest)) this.newest = time;
    return true;
  }

  lastSeq(executionId: string): number {
    return this.last.get(executionId) ?? 0;
  }

  /** What an execution's socket is sent (or connects with) to get what it missed. */
  executionResume(executionId: string): { after_seq: number } {
    return { after_seq: this.lastSeq(executionId) };
  }

  /**
   * What the tenant's feed is sent after a reconnect: the executions seen (each from its last
   * `seq`), and the others' events since the newest one seen, or since `fallbackSince` when
   * nothing was (the time the feed was first opened).
   */
  tenantResume(fallbackSince: string): { after: Record<string, number>; since: string } {
    return { after: Object.fromEntries(this.last), since: this.newest ?? fallbackSince };
  }
}

/** The pause before reconnect attempt `attempt` (0-based): 0.5 s doubling to 15 s, with jitter. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(15_000, 500 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.75 + 0.5 * random()));
}

export type SocketStatus = "connecting" | "live" | "reconnecting" | "closed";

export interface LiveSocketOptions {
  /** The URL of each connection (an execution's carries `?after_seq=` of what was seen by then). */
  url: () => string;
  /** Sent right after each connection after the first (the tenant feed's resume message). */
  resume?: () => unknown;
  onMessage: (data: unknown) => void;
  onStatus?: (status: SocketStatus) => void;
  /** Called after a reconnect (the page may reload what the socket does not replay). */
  onReconnected?: () => void;
  WebSocketImpl?: typeof WebSocket;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

/** A WebSocket that comes back after a drop (not after a close it was told to make, nor a refusal 44xx). */
export class LiveSocket {
  private socket: WebSocket | null = null;
  private attempts = 0;
  private connections = 0;
  private timer: unknown = null;
  private closed = false;

  constructor(private readonly options: LiveSocketOptions) {}

  start(): this {
    this.connect();
    return this;
  }

  private status(status: SocketStatus): void {
    this.options.onStatus?.(status);
  }

  private connect(): void {
    if (this.closed) return;
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    this.status(this.connections === 0 ? "connecting" : "reconnecting");
    let socket: WebSocket;
    try {
      socket = new Impl(this.options.url());
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.connections += 1;
      if (this.connections > 1) {
        const resume = this.options.resume?.();
        if (resume !== undefined) socket.send(JSON.stringify(resume));
        this.options.onReconnected?.();
      }
      this.status("live");
    };
    socket.onmessage = (message: MessageEvent) => {
      try {
        this.options.onMessage(JSON.parse(String(message.data)));
      } catch {
        /* not JSON: not ours */
      }
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      // 4401 (signed out), 4403 (origin), 4404 (not this tenant's): asking again changes nothing.
      if (this.closed || (event.code >= 4400 && event.code < 4500)) {
        this.status("closed");
        return;
      }
      this.retry();
    };
  }

  private retry(): void {
    if (this.closed) return;
    this.status("reconnecting");
    const delay = reconnectDelay(this.attempts);
    this.attempts += 1;
    const set = this.options.setTimer ?? ((fn, ms) => window.setTimeout(fn, ms));
    this.timer = set(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) (this.options.clearTimer ?? ((t) => window.clearTimeout(t as number)))(this.timer);
    this.socket?.close();
    this.socket = null;
    this.status("closed");
  }
}

/** `ws(s)://<this host><path>` */
export function socketUrl(path: string): string {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}${path}`;
}
