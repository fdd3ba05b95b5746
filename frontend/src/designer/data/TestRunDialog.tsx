/**
 * Run from the designer. A saved workflow without changes runs its saved version
 * (POST /workflows/{id}/execute: a production run, no pinned data). Anything else — unsaved
 * changes, a workflow never saved — runs the document on show as a test run
 * (POST /executions/adhoc with the node's pinned data): nothing is saved, no version is made.
 * The input: a form from `spec.input_schema`, else a JSON editor remembering the last input.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { Play } from "lucide-react";
import { useParams } from "react-router-dom";
import { api, ApiError } from "../../api/client";
import type { JsonSchema } from "../../api/types";
import { Modal } from "../../components/Modal";
import { toast } from "../../components/toast";
import { runNodesFrom } from "../../lib/runControls";
import { SchemaForm, type FieldPath } from "../SchemaForm";
import { useDesigner, useDesignerStoreApi } from "../store";
import { startTestRun } from "./api";
import { useDataStore } from "./runData";
import { inputErrorsFromServer, missingInputs } from "./runInput";
import { loadLastInput, saveLastInput, workflowKey } from "./storage";

function setPath(target: Record<string, unknown>, path: FieldPath, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const copy = { ...target };
  if (rest.length === 0) {
    if (value === undefined) delete copy[String(head)];
    else copy[String(head)] = value;
  } else copy[String(head)] = setPath((copy[String(head)] as Record<string, unknown>) ?? {}, rest, value);
  return copy;
}

export function TestRunDialog({ workflowId, onClose }: { workflowId?: string | null; onClose: () => void }) {
  const store = useDesignerStoreApi();
  const { id } = useParams();
  const key = workflowKey(id ?? workflowId ?? undefined);
  const draft = useDesigner((s) => s.text !== s.savedText) || !workflowId;
  const text = useDesigner((s) => s.text);
  const schema = useMemo(() => {
    const spec = (store.getState().getDoc()?.toJS() as { spec?: { input_schema?: JsonSchema } } | undefined)?.spec;
    return spec?.input_schema ?? null;
  }, [store, text]);
  const hasFields = Object.keys(schema?.properties ?? {}).length > 0;
  const [input, setInput] = useState<Record<string, unknown>>({});
  const [json, setJson] = useState(() => loadLastInput(key) ?? "{}");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  useEffect(() => void useDataStore.getState().load(key), [key]);
  const pinnedCount = useDataStore((s) => (s.workflow === key ? Object.keys(s.pinned).length : 0));
  const formRef = useRef<HTMLDivElement>(null);
  // Bumped when a check flags fields: the first flagged field then takes the focus.
  const [flagged, setFlagged] = useState(0);
  useEffect(() => {
    if (flagged) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [flagged]);
  const fieldErrors = useMemo(
    () => Object.fromEntries(Object.entries(errors).filter(([field]) => field !== "form" && field !== "json")),
    [errors],
  );

  const start = async () => {
    let data: unknown = input;
    if (!hasFields) {
      try {
        data = json.trim() ? JSON.parse(json) : {};
      } catch (error) {
        setErrors({ json: `Not valid JSON: ${(error as Error).message}` });
        return;
      }
      saveLastInput(key, json);
    } else {
      const missing = missingInputs(schema, input);
      if (Object.keys(missing).length) {
        setErrors(missing);
        setFlagged((n) => n + 1);
        return;
      }
      saveLastInput(key, JSON.stringify(input));
    }
    setErrors({});
    setBusy(true);
    try {
      const execution = draft
        ? await useDataStore
            .getState()
            .load(key)
            .then(() => startTestRun({ yaml: store.getState().text, input: data, pinned: useDataStore.getState().pinned }))
        : await api.execute(workflowId!, data);
      store.getState().setRun({ executionId: execution.id, status: execution.status ?? "pending", nodes: runNodesFrom(execution) });
      useDataStore.getState().setExecution(execution);
      toast.info(`${draft ? "Test run" : "Execution"} ${execution.id.slice(0, 8)} started`);
      onClose();
    } catch (error) {
      if (hasFields && error instanceof ApiError && error.code === "invalid_input") {
        setErrors(inputErrorsFromServer(error.details, error.message));
        setFlagged((n) => n + 1);
        return;
      }
      if (error instanceof ApiError && error.details.fields) {
        const fields = error.details.fields as Record<string, string[]>;
        setErrors(Object.fromEntries(Object.entries(fields).map(([field, messages]) => [field === "input" ? "json" : field, messages.join(" ")])));
      }
      setErrors((current) => ({ ...current, form: error instanceof Error ? error.message : String(error) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title={draft ? "Test run of the draft" : "Run workflow"}
      onClose={onClose}
      testId="run-dialog"
      footer={
        <>
          <button className="button" onClick={onClose}>
            Cancel
          </button>
          <button className="button primary" onClick={() => void start()} disabled={busy} data-testid="run-start">
            <Play size={14} /> {busy ? "Starting…" : draft ? "Run draft" : "Start run"}
          </button>
        </>
      }
    >
      {draft && (
        <p className="muted small" data-testid="draft-run-note">
          Runs what is on the canvas now, without saving it (no version is made).
          {pinnedCount > 0 && ` ${pinnedCount} pinned node${pinnedCount > 1 ? "s use their" : " uses its"} sample data instead of running.`}
        </p>
      )}
      {hasFields && schema ? (
        <div ref={formRef} data-testid="run-input-form">
          <SchemaForm
            schema={schema}
            value={input}
            errors={fieldErrors}
            onChange={(path, value) => {
              setInput((current) => setPath(current, path, value));
              // A flagged field given a value is no longer flagged.
              const key = path.join(".");
              if (errors[key] && value !== undefined && value !== "") {
                setErrors((current) => {
                  const next = { ...current };
                  delete next[key];
                  return next;
                });
              }
            }}
          />
        </div>
      ) : (
        <div className="field">
          <label htmlFor="run-input-json">Input (JSON)</label>
          <textarea
            id="run-input-json"
            className="mono"
            rows={8}
            spellCheck={false}
            value={json}
            onChange={(e) => setJson(e.target.value)}
            data-testid="run-input-json"
          />
          <div className="hint">This workflow declares no input_schema: give any JSON. The last input is remembered.</div>
          {errors.json && (
            <div className="field-error" data-testid="run-input-error">
              {errors.json}
            </div>
          )}
        </div>
      )}
      {errors.form && (
        <div className="inline-error" data-testid="run-error">
          {errors.form}
        </div>
      )}
    </Modal>
  );
}
