/**
 * The run's timeline: one row per node, a bar per attempt, backoff, wait, delay or fallback
 * (lib/gantt), the critical path outlined. Click a row to select its node.
 */
import { useLayoutEffect, useMemo, useRef, useState } from "react";
import { formatDuration, layoutBars, timeTicks, type NodeTimeline, type Segment } from "../lib/gantt";

const LABEL_WIDTH = 170;

const KIND_WORDS: Record<Segment["kind"], string> = {
  run: "attempt",
  backoff: "backoff before a retry",
  wait: "waiting",
  delay: "delayed start",
  queued: "queued again (its worker was lost)",
  fallback: "its fallback standing in",
};

function segmentClass(segment: Segment): string {
  if (segment.kind !== "run") {
    const failed = segment.outcome === "failed" || segment.outcome === "retrying" || segment.outcome === "timed_out";
    return `seg-${segment.kind}${segment.open ? " seg-open" : ""}${failed ? " seg-ended-failed" : ""}`;
  }
  if (segment.open) return "seg-run seg-open";
  const outcome = segment.outcome === "retrying" || segment.outcome === "lost" ? "failed" : segment.outcome ?? "succeeded";
  return `seg-run seg-${outcome}`;
}

function segmentTitle(nodeId: string, segment: Segment): string {
  const what = segment.kind === "run" ? `attempt ${segment.attempt ?? "?"}` : KIND_WORDS[segment.kind];
  const why = segment.reason ? ` (${segment.reason})` : "";
  const how = segment.open ? "going on" : segment.outcome ? segment.outcome : "";
  const error = (segment.error as { message?: unknown } | undefined)?.message;
  return `${nodeId}: ${what}${why}, ${formatDuration(segment.end - segment.start)}${how ? `, ${how}` : ""}${typeof error === "string" ? `: ${error}` : ""}`;
}

export function Gantt({
  timelines,
  critical,
  selected,
  onSelect,
  from,
  to,
}: {
  timelines: NodeTimeline[];
  critical: string[];
  selected: string | null;
  onSelect: (nodeId: string) => void;
  from: number;
  to: number;
}) {
  const host = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  useLayoutEffect(() => {
    const element = host.current;
    if (!element) return;
    const measure = () => setWidth(Math.max(200, element.clientWidth - LABEL_WIDTH - 16));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const onPath = useMemo(() => new Set(critical), [critical]);
  const bars = useMemo(() => layoutBars(timelines, from, to, width), [timelines, from, to, width]);
  const ticks = useMemo(() => timeTicks(from, to, width, Math.max(3, Math.floor(width / 90))), [from, to, width]);
  if (timelines.length === 0) return <p className="muted pad">No node has started yet.</p>;
  return (
    <div className="gantt" ref={host} data-testid="gantt">
      <div className="gantt-axis" style={{ marginLeft: LABEL_WIDTH, width }}>
        {ticks.map((tick) => (
          <span key={tick.at} className="gantt-tick" style={{ left: tick.left }}>
            {tick.label}
          </span>
        ))}
      </div>
      {timelines.map((timeline, index) => (
        <div
          key={timeline.nodeId}
          className={`gantt-row${selected === timeline.nodeId ? " is-selected" : ""}${onPath.has(timeline.nodeId) ? " is-critical" : ""}`}
          onClick={() => onSelect(timeline.nodeId)}
          data-testid={`gantt-row-${timeline.nodeId}`}
          data-critical={onPath.has(timeline.nodeId) ? "true" : "false"}
        >
          <span className="gantt-label" style={{ width: LABEL_WIDTH }} title={timeline.nodeId}>
            <span className="mono">{timeline.nodeId}</span>
            {timeline.attempts > 1 && <span className="gantt-attempts">×{timeline.attempts}</span>}
            {timeline.reused && <span className="muted small"> reused</span>}
            {timeline.segments.length === 0 && !timeline.reused && <span className="muted small"> {timeline.status}</span>}
          </span>
          <span className="gantt-track" style={{ width }}>
            {ticks.map((tick) => (
              <span key={tick.at} className="gantt-grid" style={{ left: tick.left }} />
            ))}
            {bars[index].map((bar) => (
              <span
                key={`${bar.segment.kind}-${bar.segment.start}`}
                className={`gantt-bar ${segmentClass(bar.segment)}`}
                style={{ left: bar.left, width: bar.width }}
                title={segmentTitle(timeline.nodeId, bar.segment)}
                data-kind={bar.segment.kind}
              />
            ))}
          </span>
        </div>
      ))}
      <div className="gantt-legend">
        <span><i className="gantt-bar seg-run seg-succeeded" /> attempt</span>
        <span><i className="gantt-bar seg-run seg-failed" /> failed attempt</span>
        <span><i className="gantt-bar seg-backoff" /> backoff</span>
        <span><i className="gantt-bar seg-wait" /> waiting</span>
        <span><i className="gantt-bar seg-delay" /> delay</span>
        <span><i className="gantt-critical-key" /> critical path: the nodes that set when the run ended ({formatDuration(to - from)})</span>
      </div>
    </div>
  );
}
