import { useCallback, useEffect, useRef, useState } from "react";
import { FileClock, Trash2 } from "lucide-react";
import { api } from "../api/client";
import type { WorkflowDraft } from "../api/types";
import { toast } from "../components/toast";
import { useDesigner, useDesignerStoreApi } from "./store";
import "./graphEditing.css";

/** Quiet time after the last change before the draft is saved. */
export const AUTOSAVE_MS = 1500;

function clock(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/**
 * The workflow's draft: changes not saved as a version are kept on the server as its draft (valid
 * or not: it is never run; runs and triggers use the saved version), saved by itself a moment after
 * each change and on "Save draft". Says whether what is open is the draft or version N; "Discard"
 * drops the draft and goes back to the version. Saving a version discards the draft.
 */
export function DraftStatus({ workflowId, version, opened }: { workflowId: string | null; version?: number; opened?: WorkflowDraft | null }) {
  const store = useDesignerStoreApi();
  const text = useDesigner((s) => s.text);
  const savedText = useDesigner((s) => s.savedText);
  const [kept, setKept] = useState<{ text: string; at: string; base: number | null } | null>(() =>
    opened ? { text: store.getState().text, at: opened.updated_at, base: opened.base_version ?? null } : null,
  );
  const [state, setState] = useState<"idle" | "saving" | "failed">("idle");
  const latest = useRef(kept);
  latest.current = kept;

  const saveNow = useCallback(async () => {
    if (!workflowId) return;
    const current = store.getState().text;
    if (current === store.getState().savedText || latest.current?.text === current) return;
    setState("saving");
    try {
      const draft = await api.saveDraft(workflowId, current, version ?? null);
      setKept({ text: current, at: draft.updated_at, base: draft.base_version ?? null });
      setState("idle");
    } catch (error) {
      setState("failed");
      toast.fromError(error, "The draft was not saved");
    }
  }, [workflowId, version, store]);

  useEffect(() => {
    if (!workflowId) return;
    if (text === savedText) {
      // Back to the saved version (saved as a new one, undone, or discarded): no draft to keep.
      if (latest.current) {
        setKept(null);
        api.discardDraft(workflowId).catch(() => undefined);
      }
      return;
    }
    if (latest.current?.text === text) return;
    const timer = window.setTimeout(() => void saveNow(), AUTOSAVE_MS);
    return () => window.clearTimeout(timer);
  }, [text, savedText, workflowId, saveNow]);

  if (!workflowId) return null;
  const dirty = text !== savedText;
  if (!dirty) {
    return (
      <span className="draft-state" data-testid="draft-state" data-state="version">
        Version {version ?? "—"}
      </span>
    );
  }
  const upToDate = kept?.text === text;
  return (
    <span
      className="draft-state is-draft"
      data-testid="draft-state"
      data-state={upToDate ? "saved" : state}
      title={`A draft: kept, but not a version and never run.${version ? ` Runs and triggers use version ${version}.` : ""}${
        kept?.base && version && kept.base !== version ? ` (The draft was started from version ${kept.base}.)` : ""
      }`}
    >
      <FileClock size={13} />
      <strong>Draft</strong>
      <span className="muted">
        {upToDate ? `saved ${clock(kept.at)}` : state === "saving" ? "saving…" : state === "failed" ? "not saved" : "changed"}
      </span>
      {!upToDate && (
        <button type="button" className="link-button" data-testid="draft-save" onClick={() => void saveNow()} disabled={state === "saving"}>
          Save draft
        </button>
      )}
      <button
        type="button"
        className="link-button"
        data-testid="draft-discard"
        title="Drop the draft and go back to the saved version"
        onClick={() => {
          if (!window.confirm("Discard the draft and go back to the saved version?")) return;
          store.getState().load(store.getState().savedText);
        }}
      >
        <Trash2 size={12} /> Discard
      </button>
    </span>
  );
}
