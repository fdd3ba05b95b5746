/**
 * The Triggers panel: what starts the saved workflow on its own (its active version's
 * `triggers:`), as the server keeps them — a webhook's URL to copy and a curl example, a
 * schedule's next five due times, when each last fired, and a switch to enable or disable it
 * (which saves a new version, as any change to `triggers:` does).
 */
import { useCallback, useEffect, useState } from "react";
import { CalendarClock, Check, Clipboard, Hand, Radio, Timer, Webhook } from "lucide-react";
import { api } from "../api/client";
import type { Trigger, WorkflowDetail } from "../api/types";
import { Modal } from "../components/Modal";
import { Switch } from "../components/Switch";
import { toast } from "../components/toast";
import { URL_HIDDEN, curlExample, describeTrigger, fireTime, offReason, timeAgo } from "../lib/triggers";
import { nodeRunsOf } from "./RunPanel";
import { useDesignerStoreApi, type RunState } from "./store";

/** How often the open panel asks again (a webhook call or a due time shows up within this). */
const REFRESH_MS = 2000;
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

const ICONS = { webhook: Webhook, cron: CalendarClock, interval: Timer, event: Radio, manual: Hand } as const;

async function copyText(text: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    toast.success(`${what} copied`);
  } catch {
    toast.error(`Could not copy the ${what.toLowerCase()}: select it and copy it by hand.`);
  }
}

function CopyField({ value, label, testId }: { value: string; label: string; testId: string }) {
  return (
    <div className="copy-field">
      <input readOnly className="mono" value={value} aria-label={label} data-testid={testId} onFocus={(e) => e.target.select()} />
      <button className="button small" onClick={() => void copyText(value, label)} data-testid={`${testId}-copy`} title={`Copy the ${label.toLowerCase()}`}>
        <Clipboard size={13} /> Copy
      </button>
    </div>
  );
}

function TriggerCard({
  trigger,
  dirty,
  busy,
  onEnable,
  onShowRun,
}: {
  trigger: Trigger;
  dirty: boolean;
  busy: boolean;
  onEnable: (trigger: Trigger, enabled: boolean) => void;
  onShowRun: (executionId: string) => void;
}) {
  const Icon = ICONS[trigger.type as keyof typeof ICONS] ?? Hand;
  const off = offReason(trigger);
  const curl = trigger.webhook ? curlExample(trigger) : null;
  return (
    <section className="trigger-card" data-testid={`trigger-${trigger.type}`} aria-label={`${trigger.name ?? trigger.type} trigger`}>
      <header className="row">
        <span className={`trigger-icon kind-${trigger.type}`}>
          <Icon size={15} />
        </span>
        <div className="grow">
          <div className="trigger-title">
            {trigger.name ?? trigger.type} <span className="muted small">{trigger.type}</span>
          </div>
          <div className="muted small">{describeTrigger(trigger)}</div>
        </div>
        <span className={`chip ${off ? "" : "added"}`} data-testid="trigger-state">
          {off ?? "live"}
        </span>
        {trigger.type !== "manual" && (
          <Switch
            label="Enabled"
            checked={trigger.enabled}
            disabled={dirty || busy}
            title={dirty ? "Save your changes first: enabling or disabling saves a new version" : trigger.enabled ? "Disable (saves a new version)" : "Enable (saves a new version)"}
            onChange={(enabled) => onEnable(trigger, enabled)}
            testId="trigger-enabled"
          />
        )}
      </header>

      {trigger.webhook && (
        <div className="trigger-body">
          {trigger.webhook.url ? (
            <CopyField value={trigger.webhook.url} label="Webhook URL" testId="webhook-url" />
          ) : (
            <div className="small muted" data-testid="webhook-url-hidden">{URL_HIDDEN}</div>
          )}
          <div className="row small muted">
            <span>
              Input: {trigger.webhook.input === "request" ? "the request (body, query, headers)" : "the JSON body"}
            </span>
            {trigger.webhook.signed && <span>· signed with {trigger.webhook.signature_header}</span>}
          </div>
          {curl && (
            <div className="curl">
              <pre data-testid="webhook-curl">{curl}</pre>
              <button className="icon-button" onClick={() => void copyText(curl, "curl command")} title="Copy the curl command" aria-label="Copy the curl command">
                <Clipboard size={14} />
              </button>
            </div>
          )}
        </div>
      )}

      {trigger.schedule && (
        <div className="trigger-body">
          <div className="small muted">
            Next runs ({trigger.schedule.timezone}; after downtime: {trigger.schedule.missed === "run_once" ? "run once" : "skip"})
          </div>
          <ol className="fire-times" data-testid="next-fire-times">
            {trigger.schedule.next_fire_times.map((time) => (
              <li key={time}>{fireTime(time, trigger.schedule!.timezone)}</li>
            ))}
          </ol>
        </div>
      )}

      <footer className="row small muted" data-testid="trigger-last-fired">
        {trigger.last_fired_at ? (
          <>
            Last fired {timeAgo(trigger.last_fired_at)}
            {trigger.last_execution_id && (
              <button className="button small" onClick={() => onShowRun(trigger.last_execution_id!)} data-testid="show-trigger-run">
                <Check size={13} /> Show that run
              </button>
            )}
          </>
        ) : (
          "Never fired yet"
        )}
      </footer>
    </section>
  );
}

interface Props {
  workflowId: string;
  dirty: boolean;
  onClose: () => void;
  /** A new version was saved (enable/disable): the designer shows it. */
  onVersion: (workflow: WorkflowDetail) => void;
}

export function TriggersPanel({ workflowId, dirty, onClose, onVersion }: Props) {
  const store = useDesignerStoreApi();
  const [triggers, setTriggers] = useState<Trigger[] | null>(null);
  const [busy, setBusy] = useState(false);

  const refresh = useCallback(async () => {
    try {
      setTriggers((await api.listTriggers(workflowId)).results);
    } catch (error) {
      toast.fromError(error, "Could not load the triggers");
      setTriggers((current) => current ?? []);
    }
  }, [workflowId]);

  useEffect(() => {
    void refresh();
    const timer = window.setInterval(() => void refresh(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [refresh]);

  const setEnabled = async (trigger: Trigger, enabled: boolean) => {
    setBusy(true);
    try {
      await api.setTriggerEnabled(trigger.id, enabled);
      onVersion(await api.getWorkflow(workflowId));
      toast.success(`${enabled ? "Enabled" : "Disabled"} the ${trigger.name ?? trigger.type} trigger (a new version)`);
      await refresh();
    } catch (error) {
      toast.fromError(error, "Not changed");
    } finally {
      setBusy(false);
    }
  };

  const showRun = async (executionId: string) => {
    try {
      const execution = await api.getExecution(executionId);
      const nodes: RunState["nodes"] = {};
      for (const run of nodeRunsOf(execution)) nodes[run.node_id] = { status: run.status, attempt: typeof run.attempt === "number" ? run.attempt : undefined };
      store.getState().setRun({ executionId, status: execution.status, nodes, past: FINISHED.has(execution.status) });
      onClose();
    } catch (error) {
      toast.fromError(error, "Could not load the run");
    }
  };

  return (
    <Modal title="Triggers" onClose={onClose} testId="triggers-panel">
      {triggers === null ? (
        <div className="skeleton-row" />
      ) : triggers.length === 0 ? (
        <div className="muted" data-testid="no-triggers">
          <p>Nothing starts this workflow on its own yet. Add triggers under <code>spec.triggers</code> in the YAML and save:</p>
          <pre className="curl">{`triggers:\n  - {type: webhook}\n  - {type: cron, schedule: "0 9 * * 1-5", timezone: Europe/Paris}\n  - {type: event, event: order.created}`}</pre>
        </div>
      ) : (
        <div className="trigger-list">
          {triggers[0] && !triggers[0].workflow.active && (
            <p className="banner small" data-testid="workflow-off">The workflow is off: its triggers start no runs until it is turned on.</p>
          )}
          {triggers.map((trigger) => (
            <TriggerCard key={trigger.id} trigger={trigger} dirty={dirty} busy={busy} onEnable={(t, on) => void setEnabled(t, on)} onShowRun={(id) => void showRun(id)} />
          ))}
        </div>
      )}
    </Modal>
  );
}
