/** The run's event log by `seq`: what the engine recorded, in order; a row opens its payload. */
import { Fragment, useMemo, useState } from "react";
import { ChevronDown, ChevronRight } from "lucide-react";
import type { ExecutionEvent } from "../api/types";
import { JsonViewer } from "../components/JsonViewer";
import { formatDuration } from "../lib/gantt";

const PAGE = 200;

function oneLine(payload: Record<string, unknown> | undefined): string {
  if (!payload || Object.keys(payload).length === 0) return "";
  const text = JSON.stringify(payload);
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

export function EventLog({ events, nodeId, onSelectNode }: { events: ExecutionEvent[]; nodeId: string | null; onSelectNode: (id: string) => void }) {
  const [onlyNode, setOnlyNode] = useState(false);
  const [shown, setShown] = useState(PAGE);
  const [open, setOpen] = useState<Set<number>>(new Set());
  const first = events.length && events[0].time ? Date.parse(events[0].time) : null;
  const rows = useMemo(() => (onlyNode && nodeId ? events.filter((e) => e.node_id === nodeId) : events), [events, onlyNode, nodeId]);
  const visible = rows.slice(Math.max(0, rows.length - shown));
  const toggle = (seq: number) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(seq)) next.delete(seq);
      else next.add(seq);
      return next;
    });
  return (
    <div className="event-log" data-testid="event-log">
      <div className="event-log-bar">
        <span className="muted small">
          {rows.length.toLocaleString()} event{rows.length === 1 ? "" : "s"}
          {rows.length > visible.length && `, the last ${visible.length} shown`}
        </span>
        {rows.length > visible.length && (
          <button className="button small" onClick={() => setShown(shown + PAGE)}>
            Show {Math.min(PAGE, rows.length - visible.length)} earlier
          </button>
        )}
        <span className="grow" />
        <label className="toggle small">
          <input type="checkbox" checked={onlyNode} disabled={!nodeId} onChange={(e) => setOnlyNode(e.target.checked)} /> Only {nodeId ?? "the selected node"}
        </label>
      </div>
      <table className="table events">
        <thead>
          <tr>
            <th>seq</th>
            <th>at</th>
            <th>event</th>
            <th>node</th>
            <th>payload</th>
          </tr>
        </thead>
        <tbody>
          {visible.map((event) => {
            const at = event.time ? Date.parse(event.time) : null;
            const isOpen = open.has(event.seq);
            const kind = event.type.split(".").pop() ?? "";
            return (
              <Fragment key={event.seq}>
                <tr data-testid={`event-${event.seq}`} onClick={() => toggle(event.seq)} className="event-row">
                  <td className="mono">{event.seq}</td>
                  <td className="mono small" title={event.time ?? ""}>
                    {at !== null && first !== null ? `+${formatDuration(at - first)}` : "—"}
                  </td>
                  <td>
                    <span className={`event-type ev-${kind}`}>{event.type}</span>
                  </td>
                  <td>
                    {event.node_id && (
                      <button
                        className="link-button mono"
                        onClick={(e) => {
                          e.stopPropagation();
                          onSelectNode(event.node_id!);
                        }}
                      >
                        {event.node_id}
                      </button>
                    )}
                  </td>
                  <td className="mono small payload-cell">
                    {isOpen ? <ChevronDown size={12} /> : <ChevronRight size={12} />} {oneLine(event.payload)}
                  </td>
                </tr>
                {isOpen && (
                  <tr className="event-open">
                    <td colSpan={5}>
                      <JsonViewer value={event.payload ?? {}} name={`event-${event.seq}`} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
