import { useCallback, useEffect, useRef, useState } from "react";
import { FileClock, Trash2 } from "lucide-react";
import { useSearchParams } from "react-router-dom";
import { api } from "../api/client";
import type { WorkflowDraft } from "../api/types";
import { toast } from "../components/toast";
import { newWorkflowYaml } from "../lib/workflowDoc";
import { useDataStore } from "./data/runData";
import { discardCanvasDraft, getCanvasDraft, saveCanvasDraft, type CanvasDraft } from "./serverDrafts";
import { useDesigner, useDesignerStoreApi } from "./store";
import "./graphEditing.css";

/** Quiet time after the last change before the draft is saved. */
export const AUTOSAVE_MS = 1500;

// One formatter: `toLocaleTimeString` with options builds one per call (~6 ms, seen in a profile).
let timeFormat: Intl.DateTimeFormat | null = null;

function clock(iso: string): string {
  const at = new Date(iso);
  timeFormat ??= new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
  return Number.isNaN(at.getTime()) ? "" : timeFormat.format(at);
}

/**
 * The workflow's draft: changes not saved as a version are kept on the server as its draft (valid
 * or not: it is never run; runs and triggers use the saved version), saved by itself a moment after
 * each change and on "Save draft". Says whether what is open is the draft or version N; "Discard"
 * drops the draft and goes back to the version. Saving a version discards the draft.
 */
export function DraftStatus({
  workflowId,
  version,
  opened,
  template,
  openedNew,
}: {
  workflowId: string | null;
  version?: number;
  opened?: WorkflowDraft | null;
  /** A new workflow: the template it was started from. */
  template?: string | null;
  /** A new workflow: the draft it was reopened from. */
  openedNew?: CanvasDraft | null;
}) {
  if (!workflowId) return <NewDraftStatus template={template ?? ""} opened={openedNew ?? null} />;
  return <SavedDraftStatus workflowId={workflowId} version={version} opened={opened} />;
}

function SavedDraftStatus({ workflowId, version, opened }: { workflowId: string; version?: number; opened?: WorkflowDraft | null }) {
  const store = useDesignerStoreApi();
  const text = useDesigner((s) => s.text);
  const savedText = useDesigner((s) => s.savedText);
  const [kept, setKept] = useState<{ text: string; at: string; base: number | null } | null>(() =>
    opened ? { text: store.getState().text, at: opened.updated_at, base: opened.base_version ?? null } : null,
  );
  const [state, setState] = useState<"idle" | "saving" | "failed">("idle");
  const latest = useRef(kept);
  latest.current = kept;
  useEffect(() => store.getState().setKeptText(kept?.text ?? null), [kept, store]);

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

/**
 * A new workflow, not created yet: from its first change on it is kept on the server as the user's
 * new workflow draft (one per user: autosaved like a workflow's draft, with its pinned data), and
 * the address becomes /designer/new?draft=1, so that a reload brings the work back. A blank New
 * workflow offers to reopen a draft kept from before. Creating the workflow (Save) deletes the
 * draft; "Discard" drops it for a blank canvas.
 */
function NewDraftStatus({ template, opened }: { template: string; opened: CanvasDraft | null }) {
  const store = useDesignerStoreApi();
  const [, setParams] = useSearchParams();
  const text = useDesigner((s) => s.text);
  const savedText = useDesigner((s) => s.savedText);
  const initial = useRef(store.getState().text);
  const [kept, setKept] = useState<{ text: string; at: string } | null>(() => (opened ? { text: store.getState().text, at: opened.updated_at } : null));
  const [state, setState] = useState<"idle" | "saving" | "failed">("idle");
  // A draft kept from an earlier visit, offered while this canvas is untouched.
  const [earlier, setEarlier] = useState<CanvasDraft | null>(null);
  const latest = useRef(kept);
  latest.current = kept;
  useEffect(() => store.getState().setKeptText(kept?.text ?? null), [kept, store]);
  // Untouched (a blank canvas or a template as opened), or just created as a workflow: nothing to keep.
  const untouched = (current: string) => current === store.getState().savedText || (!latest.current && current === initial.current);
  const markDraftAddress = useCallback(
    () =>
      setParams(
        (params) => {
          params.set("draft", "1");
          return params;
        },
        { replace: true },
      ),
    [setParams],
  );

  useEffect(() => {
    useDataStore.getState().reset("new", opened?.pinned ?? {});
    if (opened) return;
    let cancelled = false;
    void getCanvasDraft()
      .then((draft) => !cancelled && draft && draft.yaml.trim() && setEarlier(draft))
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
    // Once, for the canvas opened.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const saveNow = useCallback(async () => {
    const current = store.getState().text;
    if (untouched(current) || latest.current?.text === current) return;
    const first = !latest.current;
    setState("saving");
    try {
      // The first save replaces any earlier draft whole, pinned data included.
      const draft = await saveCanvasDraft(first ? { yaml: current, template, pinned: useDataStore.getState().pinned } : { yaml: current, template });
      setKept({ text: current, at: draft.updated_at });
      setEarlier(null);
      setState("idle");
      if (first) markDraftAddress();
    } catch (error) {
      setState("failed");
      toast.fromError(error, "The draft was not saved");
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store, template, markDraftAddress]);

  useEffect(() => {
    if (untouched(text) || latest.current?.text === text) return;
    const timer = window.setTimeout(() => void saveNow(), AUTOSAVE_MS);
    return () => window.clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text, savedText, saveNow]);

  if (!kept && untouched(text)) {
    if (!earlier) return null;
    return (
      <span className="draft-state" data-testid="draft-earlier" title="A new workflow you started earlier and did not save is kept as your draft. Editing this canvas replaces it.">
        <FileClock size={13} />
        <button
          type="button"
          className="link-button"
          data-testid="draft-reopen"
          onClick={() => {
            initial.current = earlier.yaml;
            setKept({ text: earlier.yaml, at: earlier.updated_at });
            useDataStore.getState().reset("new", earlier.pinned ?? {});
            store.getState().load(earlier.yaml, "");
            setEarlier(null);
            markDraftAddress();
          }}
        >
          Reopen your draft ({clock(earlier.updated_at)})
        </button>
      </span>
    );
  }
  const upToDate = kept?.text === text;
  return (
    <span
      className="draft-state is-draft"
      data-testid="draft-state"
      data-state={upToDate ? "saved" : state}
      data-new="true"
      title="A new workflow, not created yet: kept on the server as your draft, so a reload brings it back. Save creates the workflow."
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
        title="Drop this new workflow and start from a blank canvas"
        onClick={() => {
          if (!window.confirm("Discard this new workflow and start from a blank canvas?")) return;
          void discardCanvasDraft()
            .then(() => {
              const blank = newWorkflowYaml();
              initial.current = blank;
              setKept(null);
              setState("idle");
              useDataStore.getState().reset("new", {});
              store.getState().load(blank);
              setParams({}, { replace: true });
            })
            .catch((error) => toast.fromError(error, "The draft was not discarded"));
        }}
      >
        <Trash2 size={12} /> Discard
      </button>
    </span>
  );
}
