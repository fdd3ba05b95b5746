/**
 * What one node of a run saw and did: the data that arrived (lib/upstream), its config as it was
 * rendered (secrets read [secret]), its output, its error, each attempt and its timings. Shown on
 * the execution page and in the designer's Run panel alike.
 */
import { ArrowRight, CircleSlash, HelpCircle } from "lucide-react";
import type { NodeRun } from "../api/types";
import { JsonViewer } from "../components/JsonViewer";
import { attemptsOf, formatDuration, type NodeTimeline } from "../lib/gantt";
import type { Upstream } from "../lib/upstream";
import "./executions.css";

function clock(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  const date = new Date(ms);
  return `${date.toLocaleTimeString(undefined, { hour12: false })}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

const parse = (iso: string | null | undefined) => (iso ? Date.parse(iso) : null);

/** An error as the engine records it: `{message, code, retryable, details, ...}`. */
export function ErrorDetails({ error, testId }: { error: unknown; testId?: string }) {
  if (error === null || error === undefined) return null;
  const record = typeof error === "object" && !Array.isArray(error) ? (error as Record<string, unknown>) : { message: String(error) };
  const { message, code, retryable, ...rest } = record;
  return (
    <div className="error-box" data-testid={testId}>
      <div className="error-message">{typeof message === "string" ? message : JSON.stringify(message ?? error)}</div>
      <div className="error-facts">
        {typeof code === "string" && (
          <span>
            code <span className="mono">{code}</span>
          </span>
        )}
        {typeof retryable === "boolean" && <span>{retryable ? "retryable" : "not retryable"}</span>}
      </div>
      {Object.keys(rest).length > 0 && <JsonViewer value={rest} name="error" open={1} />}
    </div>
  );
}

/** An output over the workflow's payload_limit: kept outside the log, a reference in its place. */
type OffloadedReference = { key: string; size: number; limit: number; url?: string };

function offloadedOf(output: unknown): OffloadedReference | null {
  if (!output || typeof output !== "object" || Array.isArray(output)) return null;
  const record = output as Record<string, unknown>;
  const reference = record["$offloaded"];
  if (Object.keys(record).length !== 1 || !reference || typeof reference !== "object") return null;
  return typeof (reference as OffloadedReference).key === "string" ? (reference as OffloadedReference) : null;
}

function bytes(size: number): string {
  return size >= 1024 * 1024 ? `${(size / 1024 / 1024).toFixed(1)} MiB` : size >= 1024 ? `${(size / 1024).toFixed(1)} KiB` : `${size} B`;
}

function Offloaded({ reference }: { reference: OffloadedReference }) {
  // The link as the API gives it, on this page's origin (the server's public URL may differ).
  const href = reference.url ? reference.url.slice(Math.max(reference.url.indexOf("/api/"), 0)) : undefined;
  return (
    <div className="offloaded-output" data-testid="node-output-offloaded">
      <p className="small">
        {bytes(reference.size)} of JSON, over the workflow's payload limit ({bytes(reference.limit)}): kept in the payload store, not in
        the log. Expressions read it whole.
      </p>
      {href && (
        <a className="button small" href={href} download data-testid="node-output-download">
          Download output.json
        </a>
      )}
    </div>
  );
}

function errorMessage(error: unknown): string {
  if (error === null || error === undefined) return "";
  const message = (error as { message?: unknown }).message;
  return typeof message === "string" ? message : typeof error === "string" ? error : JSON.stringify(error);
}

function Arrived({ upstream }: { upstream: Upstream | null }) {
  if (!upstream) return <p className="muted small">Not known yet.</p>;
  return (
    <div data-testid="node-upstream">
      {upstream.fromInput ? (
        <p className="muted small">No edge leads here: the node received the workflow's input.</p>
      ) : (
        <ul className="upstream-list">
          {upstream.sources.map((source) => (
            <li key={source.edge?.key ?? `fallback:${source.nodeId}`} className={`taken-${source.taken}`} data-testid={`upstream-${source.nodeId}`} data-taken={source.taken}>
              {source.taken === "yes" ? <ArrowRight size={12} /> : source.taken === "no" ? <CircleSlash size={12} /> : <HelpCircle size={12} />}
              <span className="mono">{source.nodeId}</span>
              <span className="muted small">
                {source.taken === "yes" ? "arrived" : source.taken === "no" ? "not taken" : "maybe"}: {source.why}
              </span>
            </li>
          ))}
        </ul>
      )}
      {upstream.value !== undefined ? (
        <JsonViewer value={upstream.value} name="input" testId="node-input" />
      ) : (
        <p className="muted small">{upstream.uncertain ? "Which of these arrived depends on conditions the run did not record." : "Nothing arrived: the node has not run."}</p>
      )}
    </div>
  );
}

export function NodeRunData({
  step,
  upstream,
  timeline,
  now,
}: {
  step: NodeRun | undefined;
  upstream: Upstream | null;
  timeline?: NodeTimeline;
  now: number;
}) {
  const started = parse(step?.started_at);
  const finished = parse(step?.finished_at);
  const attempts = timeline ? attemptsOf(timeline) : [];
  return (
    <div className="node-run-data">
      <dl className="facts">
        <dt>Started</dt>
        <dd>{clock(started)}</dd>
        <dt>Finished</dt>
        <dd>{clock(finished)}</dd>
        <dt>Took</dt>
        <dd data-testid="node-took">{started ? formatDuration((finished ?? now) - started) : "—"}</dd>
        <dt>Attempt</dt>
        <dd>{step?.attempt || "—"}</dd>
        {step?.scheduled_at && (
          <>
            <dt>Due</dt>
            <dd>{clock(parse(step.scheduled_at))}</dd>
          </>
        )}
      </dl>
      <h5>Input — the data that arrived</h5>
      <Arrived upstream={upstream} />
      <h5>
        Config <span className="muted small">as rendered for its last attempt; secrets read [secret]</span>
      </h5>
      {step?.input !== undefined && step?.input !== null ? (
        <JsonViewer value={step.input} name="config" testId="node-config" />
      ) : (
        <p className="muted small">Not rendered: the node has not started.</p>
      )}
      <h5>Output</h5>
      {offloadedOf(step?.output) ? (
        <Offloaded reference={offloadedOf(step?.output)!} />
      ) : step?.output !== undefined && step?.output !== null ? (
        <JsonViewer value={step.output} name="output" testId="node-output" />
      ) : (
        <p className="muted small">No output.</p>
      )}
      {step?.error != null && (
        <>
          <h5>Error</h5>
          <ErrorDetails error={step.error} testId="node-error" />
        </>
      )}
      {attempts.length > 0 && (
        <>
          <h5>Attempts</h5>
          <table className="table attempts" data-testid="node-attempts">
            <thead>
              <tr>
                <th>#</th>
                <th>Started</th>
                <th>Took</th>
                <th>Outcome</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((attempt) => (
                <tr key={`${attempt.attempt}-${attempt.start}`}>
                  <td>{attempt.attempt}</td>
                  <td className="mono small">{clock(attempt.start)}</td>
                  <td>
                    {formatDuration(attempt.end - attempt.start)}
                    {attempt.waited > 0 && <div className="muted small">waited {formatDuration(attempt.waited)}{attempt.reason ? ` (${attempt.reason})` : ""}</div>}
                  </td>
                  <td>
                    <span className={`status-pill status-${attempt.open ? "running" : attempt.outcome === "retrying" ? "failed" : attempt.outcome ?? ""}`}>
                      {attempt.open ? "running" : attempt.outcome === "retrying" ? "failed, retried" : attempt.outcome ?? "—"}
                    </span>
                    {errorMessage(attempt.error) && <div className="small attempt-error">{errorMessage(attempt.error)}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
