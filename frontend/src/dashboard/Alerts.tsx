/**
 * Alerts on the dashboard: the rules' firings (docs/api.md, Alerts), those firing first, each with
 * its severity, rule, workflow, what was found, since when, when it resolved and whom it told.
 */
import { BellRing, CheckCircle2 } from "lucide-react";
import type { AlertFiring } from "../api/types";

function when(time: string | null | undefined): string {
  return time ? new Date(time).toLocaleString() : "—";
}

export function Alerts({ firings, rules }: { firings: AlertFiring[]; rules: number | null }) {
  const firing = firings.filter((f) => f.status === "firing");
  const shown = [...firing, ...firings.filter((f) => f.status !== "firing")].slice(0, 8);
  return (
    <>
      <h3>
        Alerts{" "}
        <span className="muted small" data-testid="alerts-summary">
          {firing.length > 0 ? `${firing.length} firing` : "none firing"}
          {rules != null && ` · ${rules} rule${rules === 1 ? "" : "s"}`}
        </span>
      </h3>
      {shown.length === 0 ? (
        <p className="muted small">No alert has fired yet. Rules are written with the API (/api/v1/alerts/rules).</p>
      ) : (
        <ul className="alerts" data-testid="alert-firings">
          {shown.map((f) => (
            <li key={f.id} className={`alert-item ${f.status}`} data-testid="alert-firing" data-status={f.status} data-rule={f.rule.name}>
              {f.status === "firing" ? <BellRing size={15} className="alert-icon" /> : <CheckCircle2 size={15} className="alert-icon" />}
              <div className="alert-what">
                <div>
                  <span className={`severity severity-${f.severity}`}>{f.severity}</span> <strong>{f.rule.name}</strong>
                  {f.workflow && <span className="muted"> · {f.workflow.name}</span>}
                </div>
                <div className="small">{f.message}</div>
                <div className="muted small">
                  {f.status === "firing" ? `firing since ${when(f.started_at)}` : `resolved ${when(f.resolved_at)} (fired ${when(f.started_at)})`}
                  {f.notifications.length > 0 && ` · told ${f.notifications.map((n) => `${n.channel} (${n.status})`).join(", ")}`}
                </div>
              </div>
              <span className={`status-pill status-${f.status === "firing" ? "failed" : "succeeded"}`}>{f.status}</span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
