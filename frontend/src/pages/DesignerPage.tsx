import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useBlocker, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import type { StoreApi } from "zustand";
import {
  Activity,
  ArrowLeft,
  Download,
  History as HistoryIcon,
  Keyboard,
  LayoutGrid,
  Loader2,
  Maximize,
  PanelRight,
  Play,
  Redo2,
  EyeOff,
  List,
  Save,
  Undo2,
  Wand2,
  X,
  Zap,
} from "lucide-react";
import { api, ApiError } from "../api/client";
import type { Issue, NodeType, Page, WorkflowDetail, WorkflowDraft } from "../api/types";
import { Modal } from "../components/Modal";
import { Switch } from "../components/Switch";
import { toast } from "../components/toast";
import { Canvas } from "../designer/Canvas";
import { useAutoLayout } from "../designer/useAutoLayout";
import { DraftStatus } from "../designer/DraftStatus";
import { HistoryDialog } from "../designer/HistoryDialog";
import { Palette } from "../designer/Palette";
import { Problems } from "../designer/Problems";
import { PropertyPanel } from "../designer/PropertyPanel";
import { RunControls } from "../designer/RunControls";
import { showLastRun, useRunStream } from "../designer/RunPanel";
import { TestRunDialog } from "../designer/data/TestRunDialog";
import { ShortcutsHelp } from "../designer/ShortcutsHelp";
import { TriggersPanel } from "../designer/TriggersPanel";
import { createDesignerStore, DesignerContext, useDesigner, useDesignerStoreApi, type DesignerState } from "../designer/store";
import { useDataStore } from "../designer/data/runData";
import { adoptCanvasDraft, getCanvasDraft, type CanvasDraft } from "../designer/serverDrafts";
import { YamlPanel } from "../designer/YamlPanel";
import "../designer/sidePanels.css";
import { FALLBACK_NODE_TYPES } from "../lib/nodeKinds";
import { copyElements, NEW_WORKFLOW_NAME, newWorkflowYaml, pasteElements, setMetadata, type Clip } from "../lib/workflowDoc";

/** Where the designer remembers whether its YAML panel is shown. */
const YAML_PANEL_KEY = "mbflow.designer.yaml-panel";

// What the server accepts as a workflow name (WORKFLOW_NAME_PATTERN in workflows/spec/models.py).
const WORKFLOW_NAME = /^[a-z0-9][a-z0-9_.-]{0,99}$/;

/** A workflow name made from a title: "Onboard a Customer!" → "onboard-a-customer". */
function slugify(title: string): string {
  const slug = title.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return slug.slice(0, 100) || NEW_WORKFLOW_NAME;
}

const VALIDATE_DEBOUNCE_MS = 450;
/** How long a loaded workflow waits for a node-types catalog still on its way before it is drawn. */
const CATALOG_WAIT_MS = 400;
const delay = (ms: number) => new Promise<void>((resolve) => window.setTimeout(resolve, ms));
const DIALECT_NAMES: Record<string, string> = { mbflow: "MBFlow (Go)", magic_flow: "Magic Flow v2" };
let clipboard: Clip | null = null;

/**
 * Requests made before React has rendered anything (see main.tsx): on a direct load of a
 * designer URL the workflow and the node catalog are on their way while the app boots, instead
 * of from the page's first effect on. Each is taken once; later visits fetch as usual.
 */
const early: { workflowId?: string; workflow?: Promise<WorkflowDetail>; catalog?: Promise<Page<NodeType>> } = {};

export function prefetchDesigner(pathname: string): void {
  const match = /^\/designer\/([^/]+)\/?$/.exec(pathname);
  if (!match) return;
  // A failure is reported where the request is taken. One not yet taken is dropped, so that a
  // later visit (after signing in again, say) asks anew instead of showing an old failure.
  const catalog = (early.catalog = api.nodeTypes());
  catalog.catch(() => {
    if (early.catalog === catalog) early.catalog = undefined;
  });
  if (match[1] === "new") return; // a new drawing: no workflow to fetch
  early.workflowId = decodeURIComponent(match[1]);
  const workflow = (early.workflow = api.getWorkflow(early.workflowId));
  workflow.catch(() => {
    if (early.workflow === workflow) early.workflow = undefined;
  });
}

function takeEarly<K extends "workflow" | "catalog">(key: K, workflowId?: string): (typeof early)[K] {
  const found = early[key];
  if (key === "workflow" && workflowId !== early.workflowId) return undefined;
  early[key] = undefined;
  return found;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.closest("input, textarea, select, [contenteditable=true], .cm-editor")));
}

/** Debounced server validation of the current text; results land on nodes, edges and lines. */
function useValidation(): void {
  const store = useDesignerStoreApi();
  const text = useDesigner((s) => s.text);
  const sequence = useRef(0);
  const warned = useRef(false);
  useEffect(() => {
    const mine = ++sequence.current;
    const timer = window.setTimeout(async () => {
      if (store.getState().parseProblems.length) {
        store.getState().setValidation([], [], store.getState().dialect);
        return;
      }
      store.getState().setValidating(true);
      try {
        const result = await api.validate(text);
        if (mine !== sequence.current) return;
        store.getState().setValidation(result.errors, result.warnings, result.dialect);
      } catch (error) {
        if (mine !== sequence.current) return;
        if (error instanceof ApiError && error.status === 400) {
          const details = error.details as { line?: number; column?: number; errors?: Issue[] };
          const issues: Issue[] = details.errors ?? [
            { code: error.code, message: error.message, line: details.line ?? null, column: details.column ?? null },
          ];
          store.getState().setValidation(issues, [], store.getState().dialect);
        } else {
          store.getState().setValidating(false);
          if (!warned.current) toast.fromError(error, "Validation is unavailable");
          warned.current = true;
        }
      }
    }, VALIDATE_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [text, store]);
}

/** Runs the validation in a leaf of its own, so a new text re-renders nothing else. */
function Validation(): null {
  useValidation();
  return null;
}

interface WorkflowMeta {
  id: string | null;
  version?: number;
  name?: string;
  /** Whether its triggers start runs. */
  active?: boolean;
  /** The draft it was opened from (designer/DraftStatus), if any. */
  draft?: WorkflowDraft | null;
  /** A new workflow: the template it was started from, and the new workflow draft it was reopened from. */
  template?: string | null;
  newDraft?: CanvasDraft | null;
}

function metaOf(workflow: WorkflowDetail): WorkflowMeta {
  return { id: workflow.id, version: workflow.version?.number, name: workflow.name, active: workflow.active };
}

function Designer({ meta, onSaved }: { meta: WorkflowMeta; onSaved: (workflow: WorkflowDetail, created: boolean) => void }) {
  const store = useDesignerStoreApi();
  const { fitView } = useReactFlow();
  // Narrow selections: the designer's frame must not render again on every edit of the text.
  const graph = {
    title: useDesigner((s) => s.graph.title),
    name: useDesigner((s) => s.graph.name),
    native: useDesigner((s) => s.graph.native),
  };
  const dirty = useDesigner((s) => s.text !== s.savedText);
  const canUndo = useDesigner((s) => s.canUndo);
  const canRedo = useDesigner((s) => s.canRedo);
  const issues = useDesigner((s) => s.issues);
  const dialect = useDesigner((s) => s.dialect);
  const parseProblems = useDesigner((s) => s.parseProblems);
  const run = useDesigner((s) => s.run);
  const [dialog, setDialog] = useState<"save" | "history" | "run" | "help" | "triggers" | null>(null);
  const [showYaml, setShowYamlState] = useState(() => window.localStorage.getItem(YAML_PANEL_KEY) !== "hidden");
  const setShowYaml = (show: boolean) => {
    window.localStorage.setItem(YAML_PANEL_KEY, show ? "shown" : "hidden");
    setShowYamlState(show);
  };
  // Below 1440 px the properties and the YAML take turns in the side column (tabs) instead of sharing it.
  const [sideTab, setSideTab] = useState<"props" | "yaml">("props");
  const selection = useDesigner((s) => s.selectedNodes.join(" ") + "|" + s.selectedEdges.join(" "));
  useEffect(() => setSideTab("props"), [selection]);
  const [saveTitle, setSaveTitle] = useState("");
  const [nameEdited, setNameEdited] = useState(false);
  const [message, setMessage] = useState("");
  const [saving, setSaving] = useState(false);
  useRunStream();

  const title = graph.title || graph.name || "Untitled workflow";
  // A new workflow's API name: its own, or one made from the title while it is the placeholder.
  const [apiName, setApiName] = useState("");
  const openSave = useCallback(() => {
    const { text: current, savedText } = store.getState();
    if (meta.id && current === savedText) {
      toast.info("No changes to save: this is the saved version.");
      return;
    }
    setApiName(graph.name && graph.name !== NEW_WORKFLOW_NAME ? graph.name : slugify(title));
    setSaveTitle(graph.title);
    setNameEdited(false);
    setDialog("save");
  }, [graph.name, graph.title, title, meta.id, store]);

  const layout = useAutoLayout();

  const save = useCallback(async () => {
    if (!meta.id && apiName !== graph.name) {
      if (!WORKFLOW_NAME.test(apiName)) {
        toast.error("The name must start with a lowercase letter or digit and hold only a-z, 0-9, '.', '_' and '-'.");
        return;
      }
      store.getState().edit((doc) => setMetadata(doc, "name", apiName), "metadata.name");
    }
    if (saveTitle.trim() !== (graph.title ?? "")) {
      store.getState().edit((doc) => setMetadata(doc, "title", saveTitle.trim()), "metadata.title");
    }
    setSaving(true);
    const { text: current } = store.getState();
    try {
      const workflow = meta.id
        ? await api.saveWorkflow(meta.id, current, message)
        : await api.createWorkflow(current, message || "Created in the designer");
      store.getState().markSaved(current);
      if (!meta.id) {
        // The new workflow draft becomes the workflow: its pinned data moves there, the draft goes.
        const data = useDataStore.getState();
        await adoptCanvasDraft(workflow.id, data.workflow === "new" ? data.pinned : {}).catch((error) =>
          toast.fromError(error, "The pinned data of the new workflow was not kept"),
        );
      }
      if (workflow.yaml && workflow.yaml !== current) store.getState().load(workflow.yaml);
      toast.success(`Saved version ${workflow.version?.number ?? ""}`);
      setDialog(null);
      setMessage("");
      onSaved(workflow, !meta.id);
    } catch (error) {
      if (error instanceof ApiError && Array.isArray((error.details as { errors?: Issue[] }).errors)) {
        store.getState().setValidation((error.details as { errors: Issue[] }).errors, [], dialect);
      }
      toast.fromError(error, "Not saved");
    } finally {
      setSaving(false);
    }
  }, [store, meta.id, message, onSaved, dialect, apiName, graph.name, graph.title, saveTitle]);

  const setActive = async (active: boolean) => {
    if (!meta.id) return;
    try {
      const workflow = await api.setActive(meta.id, active);
      onSaved(workflow, false);
      toast.success(active ? "On: its triggers start runs" : "Off: its triggers start no runs");
    } catch (error) {
      toast.fromError(error, "Not changed");
    }
  };

  const convertToNative = async () => {
    try {
      const result = await api.validate(store.getState().text);
      store.getState().setText(result.yaml, "canvas");
      toast.success(`Converted from the ${result.dialect} dialect`);
    } catch (error) {
      toast.fromError(error, "Could not convert");
    }
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      if (mod && key === "s") {
        event.preventDefault();
        openSave();
        return;
      }
      if (isTyping(event.target) || dialog) return;
      const state = store.getState();
      if (mod && key === "z") {
        event.preventDefault();
        if (event.shiftKey) state.redo();
        else state.undo();
      } else if (mod && key === "y") {
        event.preventDefault();
        state.redo();
      } else if (mod && (key === "c" || key === "d")) {
        if (!state.selectedNodes.length) return;
        event.preventDefault();
        const doc = state.getDoc();
        const clip = doc ? copyElements(doc, state.selectedNodes) : null;
        if (key === "c") {
          clipboard = clip;
          toast.info(`Copied ${state.selectedNodes.length} node${state.selectedNodes.length > 1 ? "s" : ""}`);
        } else if (clip) {
          let added: string[] = [];
          state.edit((doc) => (added = pasteElements(doc, clip)));
          state.select(added);
        }
      } else if (mod && key === "v") {
        if (!clipboard) return;
        event.preventDefault();
        const clip = clipboard;
        let added: string[] = [];
        state.edit((doc) => (added = pasteElements(doc, clip)));
        state.select(added);
      } else if (mod && key === "a") {
        event.preventDefault();
        state.select(state.graph.nodes.map((n) => n.id));
      } else if (!mod && !event.shiftKey && !event.altKey && (event.key === "Delete" || event.key === "Backspace")) {
        if (!state.selectedNodes.length && !state.selectedEdges.length) return;
        event.preventDefault();
        state.removeSelection();
      } else if (!mod && key === "l") {
        void layout();
      } else if (!mod && key === "f") {
        void fitView({ duration: 300, padding: 0.2 });
      } else if (event.key === "?") {
        setDialog("help");
      } else if (event.key === "Escape") {
        state.select([], []);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [store, dialog, layout, fitView, openSave]);

  useEffect(() => {
    const onUnload = (event: BeforeUnloadEvent) => {
      const { text, savedText, keptText } = store.getState();
      // Changes kept on the server as the draft come back after a reload: no need to ask.
      if (text !== savedText && text !== keptText) {
        event.preventDefault();
        event.returnValue = "";
      }
    };
    window.addEventListener("beforeunload", onUnload);
    return () => window.removeEventListener("beforeunload", onUnload);
  }, [store]);

  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      currentLocation.pathname !== nextLocation.pathname && store.getState().text !== store.getState().savedText,
  );

  const errorCount = issues.length + parseProblems.length;

  return (
    <div className="designer" data-testid="designer">
      <Validation />
      <div className="toolbar">
        <Link to="/workflows" className="icon-button" title="Back to workflows" aria-label="Back to workflows">
          <ArrowLeft size={17} />
        </Link>
        <div className="toolbar-title">
          <input
            className="title-input"
            aria-label="Workflow title"
            data-testid="workflow-title"
            value={graph.title}
            placeholder={graph.name || "Untitled workflow"}
            onChange={(e) => store.getState().edit((doc) => setMetadata(doc, "title", e.target.value), "metadata.title")}
          />
          <div className="toolbar-sub">
            <span className="mono muted" title={graph.name || undefined}>{graph.name || "—"}</span>
            {meta.version && <span className="badge">v{meta.version}</span>}
            <DraftStatus workflowId={meta.id} version={meta.version} opened={meta.draft} template={meta.template} openedNew={meta.newDraft} />
            <span className={`save-state ${dirty ? "dirty" : ""}`} data-testid="save-state">
              {dirty ? "Unsaved changes" : meta.id ? "Saved" : "Not saved yet"}
            </span>
          </div>
        </div>
        <div className="toolbar-group">
          <button className="icon-button" onClick={() => store.getState().undo()} disabled={!canUndo} title="Undo (Ctrl+Z)" aria-label="Undo" data-testid="undo">
            <Undo2 size={16} />
          </button>
          <button className="icon-button" onClick={() => store.getState().redo()} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)" aria-label="Redo" data-testid="redo">
            <Redo2 size={16} />
          </button>
          <span className="divider" />
          <button className="icon-button" onClick={() => void layout()} title="Auto-layout (L)" aria-label="Auto-layout" data-testid="auto-layout">
            <LayoutGrid size={16} />
          </button>
          <button className="icon-button" onClick={() => void fitView({ duration: 300, padding: 0.2 })} title="Fit view (F)" aria-label="Fit view">
            <Maximize size={16} />
          </button>
          <button
            className={`icon-button ${showYaml ? "active" : ""}`}
            onClick={() => setShowYaml(!showYaml)}
            title={showYaml ? "Hide the YAML panel" : "Show the YAML panel"}
            aria-label="Toggle the YAML panel"
            aria-pressed={showYaml}
          >
            <PanelRight size={16} />
          </button>
          <button className="icon-button" onClick={() => setDialog("help")} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts">
            <Keyboard size={16} />
          </button>
          <span className="divider" />
          {meta.id && (
            <a className="icon-button" href={api.exportUrl(meta.id)} title="Export the saved YAML" aria-label="Export YAML">
              <Download size={16} />
            </a>
          )}
          <button className="button" onClick={() => setDialog("history")} disabled={!meta.id} data-testid="history-button" title={meta.id ? "Versions, diff, rollback" : "Save first"}>
            <HistoryIcon size={15} /> History
          </button>
          <button
            className="button"
            onClick={() => setDialog("triggers")}
            disabled={!meta.id}
            data-testid="triggers-button"
            title={meta.id ? "Webhook URLs, schedules, events: what starts this workflow" : "Save first"}
          >
            <Zap size={15} /> Triggers
          </button>
          {meta.id && (
            <Link className="icon-button" to={`/workflows/${meta.id}/executions`} data-testid="workflow-executions" title="Every run of this workflow" aria-label="Every run of this workflow">
              <List size={16} />
            </Link>
          )}
          <Switch
            label="Active"
            showLabel
            checked={meta.active ?? true}
            disabled={!meta.id}
            onChange={(active) => void setActive(active)}
            title={meta.active === false ? "Off: its triggers start no runs" : "On: its triggers start runs"}
            testId="active-switch"
          />
          {meta.id && !run && (
            <button className="icon-button" onClick={() => void showLastRun(store, meta.id!)} title="Show the last run" aria-label="Show the last run" data-testid="last-run-button">
              <Activity size={16} />
            </button>
          )}
          {run && <RunControls />}
          {run && ["succeeded", "failed", "cancelled", "timed_out"].includes(run.status) && (
            <button className="icon-button" onClick={() => store.getState().setRun(null)} title="Clear the run's colours" aria-label="Clear the run" data-testid="clear-run-button">
              <X size={16} />
            </button>
          )}
          {run && !["succeeded", "failed", "cancelled", "timed_out"].includes(run.status) ? (
            <button
              className="icon-button"
              onClick={() => store.getState().setRun(null)}
              title="Stop following this run (it goes on: Stop cancels it)"
              aria-label="Stop following this run"
              data-testid="stop-following"
            >
              <EyeOff size={14} />
            </button>
          ) : (
            <button
              className="button"
              onClick={() => setDialog("run")}
              disabled={parseProblems.length > 0}
              data-testid="run-button"
              title={meta.id && !dirty ? "Run the saved version" : "Test run of the draft (nothing is saved)"}
            >
              <Play size={15} /> Run
            </button>
          )}
          <button
            className="button primary"
            onClick={openSave}
            data-testid="save-button"
            disabled={saving || parseProblems.length > 0 || (Boolean(meta.id) && !dirty)}
            title={meta.id && !dirty ? "No changes to save" : "Save a new version (Ctrl+S)"}
          >
            <Save size={15} /> Save
          </button>
        </div>
      </div>

      <div className={`designer-body ${showYaml ? "" : "yaml-hidden"}`}>
        <Palette />
        <div className="canvas-col">
          {!graph.native && parseProblems.length === 0 && (
            <div className="banner" data-testid="dialect-banner">
              <Wand2 size={15} />
              <span>
                This is a <strong>{DIALECT_NAMES[dialect] ?? "seed-dialect"}</strong> document. Convert it to the native dialect to
                draw and edit it on the canvas (the server converts it the same way on import).
              </span>
              <button className="button small primary" onClick={() => void convertToNative()}>
                Convert
              </button>
            </div>
          )}
          <Canvas />
          <Problems />
        </div>
        <div className={`yaml-col side-${sideTab}`}>
          <div className="side-tabs tabs" role="tablist" aria-label="Side panel">
            <button role="tab" aria-selected={sideTab === "props"} className={sideTab === "props" ? "active" : ""} onClick={() => setSideTab("props")}>
              Properties
            </button>
            <button role="tab" aria-selected={sideTab === "yaml"} className={sideTab === "yaml" ? "active" : ""} onClick={() => setSideTab("yaml")}>
              YAML
            </button>
          </div>
          <PropertyPanel />
          <div className="yaml-area">
            <div className="panel-title row">
              YAML
              <span className="grow" />
              {errorCount > 0 ? (
                <span className="chip removed">{errorCount} error{errorCount > 1 ? "s" : ""}</span>
              ) : (
                <span className="chip added">valid</span>
              )}
            </div>
            <YamlPanel />
          </div>
        </div>
      </div>

      {dialog === "save" && (
        <Modal
          title={meta.id ? "Save a new version" : `Create “${title}”`}
          onClose={() => setDialog(null)}
          testId="save-dialog"
          footer={
            <>
              <button className="button" onClick={() => setDialog(null)}>
                Cancel
              </button>
              <button className="button primary" onClick={() => void save()} disabled={saving} data-testid="save-confirm">
                {saving ? <Loader2 size={14} className="spin" /> : <Save size={14} />} Save version
              </button>
            </>
          }
        >
          <div className="field">
            <label htmlFor="save-title">Title</label>
            <input
              id="save-title"
              data-testid="save-title"
              autoFocus={!meta.id}
              onFocus={(e) => e.currentTarget.select()}
              placeholder="e.g. Onboard new customers"
              value={saveTitle}
              onChange={(e) => {
                setSaveTitle(e.target.value);
                if (!meta.id && !nameEdited) setApiName(slugify(e.target.value));
              }}
              onKeyDown={(e) => e.key === "Enter" && void save()}
            />
          </div>
          {!meta.id && (
            <div className="field">
              <label htmlFor="save-name">Name (how the API and other workflows refer to it)</label>
              <input
                id="save-name"
                data-testid="save-name"
                className="mono"
                value={apiName}
                onChange={(e) => {
                  setNameEdited(true);
                  setApiName(e.target.value.trim());
                }}
                onKeyDown={(e) => e.key === "Enter" && void save()}
              />
            </div>
          )}
          <div className="field">
            <label htmlFor="save-message">What changed?</label>
            <input
              id="save-message"
              data-testid="save-message"
              autoFocus={Boolean(meta.id)}
              placeholder="e.g. Retry the CRM call three times"
              value={message}
              onChange={(e) => setMessage(e.target.value)}
              onKeyDown={(e) => e.key === "Enter" && void save()}
            />
          </div>
          {errorCount > 0 && <p className="inline-error">The document has {errorCount} problem(s); the server will refuse an invalid workflow.</p>}
        </Modal>
      )}
      {dialog === "history" && meta.id && (
        <HistoryDialog
          workflowId={meta.id}
          currentVersion={meta.version}
          dirty={dirty}
          onClose={() => setDialog(null)}
          onRolledBack={(workflow) => {
            store.getState().load(workflow.yaml);
            setDialog(null);
            onSaved(workflow, false);
          }}
        />
      )}
      {dialog === "run" && <TestRunDialog workflowId={meta.id} onClose={() => setDialog(null)} />}
      {dialog === "triggers" && meta.id && (
        <TriggersPanel
          workflowId={meta.id}
          dirty={dirty}
          onClose={() => setDialog(null)}
          onVersion={(workflow) => {
            store.getState().load(workflow.yaml);
            onSaved(workflow, false);
          }}
        />
      )}
      {dialog === "help" && <ShortcutsHelp onClose={() => setDialog(null)} />}
      {blocker.state === "blocked" && (
        <Modal
          title="Leave without saving?"
          onClose={() => blocker.reset()}
          testId="unsaved-dialog"
          footer={
            <>
              <button className="button" onClick={() => blocker.reset()}>
                Stay
              </button>
              <button className="button danger" onClick={() => blocker.proceed()}>
                Discard changes
              </button>
            </>
          }
        >
          <p>Your changes to “{title}” are not saved as a version.</p>
        </Modal>
      )}
    </div>
  );
}

export function DesignerPage() {
  const { id } = useParams();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const template = params.get("template");
  const [store, setStore] = useState<StoreApi<DesignerState> | null>(null);
  const [meta, setMeta] = useState<WorkflowMeta>({ id: id ?? null });
  const [failed, setFailed] = useState("");

  useEffect(() => {
    let cancelled = false;
    setStore(null);
    setFailed("");
    // The node-types catalog is fetched alongside the workflow, not after it: when both are in
    // before the store is made, the first render already has it and needs no second full pass.
    let catalog: NodeType[] | null = null;
    const catalogLoaded = (takeEarly("catalog") ?? api.nodeTypes())
      .then((page) => (page.results.length ? page.results : FALLBACK_NODE_TYPES))
      .catch((error) => {
        if (!cancelled) toast.fromError(error, "Node catalog unavailable, showing the built-in types");
        return FALLBACK_NODE_TYPES;
      })
      .then((types) => (catalog = types));
    const start = (text: string, m: WorkflowMeta, saved?: string) => {
      if (cancelled) return;
      // Wait a little for the catalog if it is still on its way, but never hold the drawing back long.
      const waited = catalog ? Promise.resolve() : Promise.race([catalogLoaded, delay(CATALOG_WAIT_MS)]);
      void waited.then(() => {
        if (cancelled) return;
        const created = createDesignerStore(text);
        if (saved !== undefined) created.getState().markSaved(saved);
        if (catalog) created.getState().setNodeTypes(catalog);
        else void catalogLoaded.then((types) => created.getState().setNodeTypes(types));
        setMeta(m);
        setStore(created);
      });
    };
    if (id) {
      // A draft, when there is one, opens instead of the version (which stays the saved text).
      const draft = api.getDraft(id).catch(() => null);
      (takeEarly("workflow", id) ?? api.getWorkflow(id))
        .then(async (wf) => {
          const kept = await draft;
          if (kept && kept.yaml !== wf.yaml) start(kept.yaml, { ...metaOf(wf), draft: kept }, wf.yaml);
          else start(wf.yaml, metaOf(wf));
        })
        .catch((error) => {
          setFailed(error instanceof Error ? error.message : String(error));
          toast.fromError(error, "Could not open the workflow");
        });
    } else {
      // A new workflow. Once changed, it is kept on the server as the user's new workflow draft and
      // the address says so (?draft=1, designer/DraftStatus): a reload opens the draft again.
      const reopen = new URLSearchParams(window.location.search).get("draft") ? getCanvasDraft().catch(() => null) : Promise.resolve(null);
      void reopen.then((draft) => {
        if (cancelled) return;
        if (draft && draft.yaml.trim()) {
          start(draft.yaml, { id: null, template: draft.template || template || null, newDraft: draft }, "");
        } else if (template) {
          api
            .getTemplate(template)
            .then((t) => start(t.yaml, { id: null, template }, ""))
            .catch((error) => {
              toast.fromError(error, "Could not load the template");
              start(newWorkflowYaml(), { id: null });
            });
        } else {
          start(newWorkflowYaml(), { id: null });
        }
      });
    }
    return () => {
      cancelled = true;
    };
  }, [id, template]);

  const onSaved = useCallback(
    (workflow: WorkflowDetail, created: boolean) => {
      if (created) navigate(`/designer/${workflow.id}`, { replace: true });
      else setMeta(metaOf(workflow));
    },
    [navigate],
  );

  const body = useMemo(() => {
    if (failed) {
      return (
        <div className="empty-state">
          <h2>This workflow could not be opened</h2>
          <p className="muted">{failed}</p>
          <Link className="button" to="/workflows">
            Back to workflows
          </Link>
        </div>
      );
    }
    if (!store) {
      return (
        <div className="loading">
          <Loader2 className="spin" size={22} /> Loading the designer…
        </div>
      );
    }
    return (
      <DesignerContext.Provider value={store}>
        <ReactFlowProvider>
          <Designer meta={meta} onSaved={onSaved} />
        </ReactFlowProvider>
      </DesignerContext.Provider>
    );
  }, [failed, store, meta, onSaved]);

  return body;
}
