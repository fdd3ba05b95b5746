import { Fragment, useCallback, useEffect, useState } from "react";
import { ChevronDown, ChevronRight, RefreshCw, RotateCw, Webhook as WebhookIcon } from "lucide-react";
import { api, ApiError } from "../api/client";
import type { Delivery, Webhook } from "../api/types";
import { toast } from "../components/toast";
import { anyPending, attemptText, deliverySummary, shortUrl, STATUS_FILTERS } from "../lib/deliveries";
import "./deliveries.css";

const POLL_MS = 2000;

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function AttemptLog({ delivery }: { delivery: Delivery }) {
  if (delivery.attempt_log.length === 0) return <p className="muted">Not sent yet.</p>;
  return (
    <table className="table attempt-log" data-testid="attempt-log">
      <thead>
        <tr>
          <th>#</th>
          <th>Sent</th>
          <th>Outcome</th>
          <th>Response</th>
        </tr>
      </thead>
      <tbody>
        {delivery.attempt_log.map((attempt) => (
          <tr key={attempt.number}>
            <td>{attempt.number}</td>
            <td>{when(attempt.started_at)}</td>
            <td>
              <span className={`status-pill status-${attempt.status_code != null && attempt.status_code < 300 ? "succeeded" : "failed"}`}>
                {attemptText(attempt)}
              </span>
            </td>
            <td>
              <code className="response-snippet">{attempt.response || "—"}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The tenant's outbound webhook deliveries: status, attempts, and a Redeliver button. */
export function DeliveriesPage() {
  const [status, setStatus] = useState("");
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [webhooks, setWebhooks] = useState<Webhook[]>([]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [denied, setDenied] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [page, hooks] = await Promise.all([api.listDeliveries({ status, page_size: 100 }), api.listWebhooks()]);
      setDeliveries(page.results);
      setWebhooks(hooks.results);
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) setDenied(e.message);
      else toast.fromError(e, "Could not load the deliveries");
      setDeliveries([]);
    }
  }, [status]);

  useEffect(() => {
    void load();
  }, [load]);

  // While a delivery waits for an attempt, the list follows it.
  useEffect(() => {
    if (!deliveries || !anyPending(deliveries)) return;
    const timer = window.setTimeout(() => void load(), POLL_MS);
    return () => window.clearTimeout(timer);
  }, [deliveries, load]);

  const redeliver = async (delivery: Delivery) => {
    try {
      await api.redeliver(delivery.id);
      toast.success(`Sent ${delivery.event} to ${shortUrl(delivery.webhook.url)} again`);
      await load();
    } catch (e) {
      toast.fromError(e, "Could not redeliver");
    }
  };

  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div className="list-page">
      <div className="page-header">
        <div>
          <h1>Deliveries</h1>
          <p className="muted">
            What the tenant's webhooks were sent, each attempt and its answer.{" "}
            {webhooks.length > 0 && `${webhooks.length} webhook${webhooks.length === 1 ? "" : "s"}: `}
            {webhooks.map((w) => shortUrl(w.url)).join(", ")}
          </p>
        </div>
        <div className="header-actions">
          <div className="segmented" role="group" aria-label="Status">
            {STATUS_FILTERS.map((filter) => (
              <button
                key={filter.value}
                className={`chip${status === filter.value ? " chip-active" : ""}`}
                onClick={() => setStatus(filter.value)}
              >
                {filter.label}
              </button>
            ))}
          </div>
          <button className="button" onClick={() => void load()} title="Refresh">
            <RefreshCw size={14} /> Refresh
          </button>
        </div>
      </div>
      {denied ? (
        <div className="empty-state">
          <WebhookIcon size={36} />
          <h2>Not available</h2>
          <p className="muted">{denied}</p>
        </div>
      ) : deliveries === null ? (
        <div className="table-card skeleton-card" />
      ) : deliveries.length === 0 ? (
        <div className="empty-state">
          <WebhookIcon size={36} />
          <h2>No deliveries</h2>
          <p className="muted">
            {status
              ? "None with this status."
              : "Add a webhook (POST /api/v1/webhooks) and the events of your runs show here as they are sent."}
          </p>
        </div>
      ) : (
        <div className="table-card">
          <table className="table" data-testid="delivery-table">
            <thead>
              <tr>
                <th />
                <th>Event</th>
                <th>Webhook</th>
                <th>Status</th>
                <th>Last answer</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {deliveries.map((delivery) => (
                <Fragment key={delivery.id}>
                  <tr data-testid="delivery-row" onClick={() => toggle(delivery.id)} className="clickable">
                    <td>{open.has(delivery.id) ? <ChevronDown size={14} /> : <ChevronRight size={14} />}</td>
                    <td>
                      <strong>{delivery.event}</strong>
                      {delivery.node_id && <span className="muted"> · {delivery.node_id}</span>}
                      <div className="muted small" title={delivery.event_id}>
                        {delivery.execution_id ? `run ${delivery.execution_id.slice(0, 8)}` : `${delivery.event_id.split(":")[0]} ${(delivery.event_id.split(":")[1] ?? "").slice(0, 8)}`}
                        {delivery.redelivery_of && " · redelivery"}
                      </div>
                    </td>
                    <td title={delivery.webhook.url}>{shortUrl(delivery.webhook.url)}</td>
                    <td>
                      <span className={`status-pill status-${delivery.status === "pending" ? "retrying" : delivery.status}`}>
                        {delivery.status}
                      </span>
                      <div className="muted small">{deliverySummary(delivery)}</div>
                    </td>
                    <td>{delivery.last_status_code ?? "—"}</td>
                    <td>{when(delivery.created_at)}</td>
                    <td className="actions">
                      <button
                        className="button small"
                        onClick={(e) => {
                          e.stopPropagation();
                          void redeliver(delivery);
                        }}
                      >
                        <RotateCw size={12} /> Redeliver
                      </button>
                    </td>
                  </tr>
                  {open.has(delivery.id) && (
                    <tr className="detail-row">
                      <td />
                      <td colSpan={6}>
                        <AttemptLog delivery={delivery} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
