import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { Archive, ArchiveRestore, Copy, Download, FileUp, Plus, Search, Tag, Workflow as WorkflowIcon, X } from "lucide-react";
import { api, ApiError } from "../api/client";
import type { Workflow } from "../api/types";
import { Modal } from "../components/Modal";
import { Switch } from "../components/Switch";
import { toast } from "../components/toast";
import { useSession } from "../components/session";
import "./errors.css";

function timeAgo(iso: string): string {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

interface ImportProblems {
  file: string;
  problems: { message: string; line?: number; column?: number }[];
}

/** What a failed import says, one problem per mistake with its line (the API's error envelope). */
function importProblems(file: string, error: unknown): ImportProblems {
  if (!(error instanceof ApiError)) return { file, problems: [{ message: error instanceof Error ? error.message : String(error) }] };
  const details = error.details as { line?: number; column?: number; errors?: { message?: string; line?: number; column?: number }[] };
  if (Array.isArray(details.errors) && details.errors.length) {
    return { file, problems: details.errors.map((e) => ({ message: e.message ?? String(e), line: e.line, column: e.column })) };
  }
  return { file, problems: [{ message: error.message, line: details.line, column: details.column }] };
}

export function WorkflowListPage() {
  const navigate = useNavigate();
  const tenant = useSession((s) => s.me?.tenant.slug);
  const [search, setSearch] = useState("");
  const [tag, setTag] = useState("");
  const [archived, setArchived] = useState(false);
  const [items, setItems] = useState<Workflow[] | null>(null);
  const [error, setError] = useState("");
  const fileInput = useRef<HTMLInputElement>(null);
  // A failed import's problems stay on the page, each with its line, until dismissed.
  const [importError, setImportError] = useState<ImportProblems | null>(null);

  // Only the newest answer is shown: an older one, come back late, must not replace it.
  const latest = useRef(0);
  const refresh = useCallback(async () => {
    const ticket = ++latest.current;
    try {
      const page = await api.listWorkflows({ search, tag, archived, page_size: 200 });
      if (ticket !== latest.current) return;
      setItems(page.results);
      setError("");
    } catch (e) {
      if (ticket !== latest.current) return;
      setError(e instanceof Error ? e.message : String(e));
      setItems([]);
      toast.fromError(e, "Could not load workflows");
    }
  }, [search, tag, archived]);

  useEffect(() => {
    const timer = window.setTimeout(() => void refresh(), search ? 250 : 0);
    return () => window.clearTimeout(timer);
  }, [refresh, search, tenant]);

  const [copying, setCopying] = useState<{ workflow: Workflow; name: string } | null>(null);
  const duplicate = async () => {
    if (!copying?.name) return;
    try {
      const copy = await api.duplicateWorkflow(copying.workflow.id, copying.name);
      toast.success(`Created ${copy.name}`);
      setCopying(null);
      void refresh();
    } catch (e) {
      toast.fromError(e, "Not duplicated");
    }
  };

  const toggleArchived = async (wf: Workflow) => {
    try {
      await api.setArchived(wf.id, !wf.archived);
      toast.success(wf.archived ? `Restored ${wf.name}` : `Archived ${wf.name}`);
      void refresh();
    } catch (e) {
      toast.fromError(e);
    }
  };

  const toggleActive = async (wf: Workflow, active: boolean) => {
    try {
      const updated = await api.setActive(wf.id, active);
      setItems((current) => current?.map((item) => (item.id === wf.id ? { ...item, active: updated.active } : item)) ?? null);
      toast.success(active ? `${wf.name} is on: its triggers start runs` : `${wf.name} is off: its triggers start no runs`);
    } catch (e) {
      toast.fromError(e);
    }
  };

  const importFile = async (file: File) => {
    setImportError(null);
    try {
      const created = await api.importWorkflow(file);
      const imported = created.kind === "Workflow" ? `Imported ${created.name} (${created.dialect} dialect).` : "";
      toast.success([imported, created.context?.message].filter(Boolean).join(" "));
      if (created.id) navigate(`/designer/${created.id}`); // a kept WorkflowContext has no workflow yet
    } catch (e) {
      setImportError(importProblems(file.name, e));
    } finally {
      if (fileInput.current) fileInput.current.value = "";
    }
  };

  return (
    <div className="list-page">
      <div className="page-header">
        <div>
          <h1>Workflows</h1>
          <p className="muted">Design, version and run your automations.</p>
        </div>
        <div className="row">
          <input
            ref={fileInput}
            type="file"
            accept=".yaml,.yml,.json,text/yaml"
            hidden
            data-testid="import-input"
            onChange={(e) => e.target.files?.[0] && void importFile(e.target.files[0])}
          />
          <button className="button" onClick={() => fileInput.current?.click()}>
            <FileUp size={15} /> Import YAML
          </button>
          <Link className="button primary" to="/designer/new" data-testid="new-workflow">
            <Plus size={15} /> New workflow
          </Link>
        </div>
      </div>
      {importError && (
        <div className="import-error" role="alert" data-testid="import-error">
          <div className="import-error-head">
            <strong>Could not import {importError.file}</strong>
            <button className="button small" onClick={() => setImportError(null)} data-testid="import-error-dismiss">
              Dismiss
            </button>
          </div>
          <ul>
            {importError.problems.map((p, index) => (
              <li key={index} data-testid="import-problem">
                {p.line ? <span className="mono import-line">line {p.line}{p.column ? `, column ${p.column}` : ""}</span> : null}
                {p.message}
              </li>
            ))}
          </ul>
        </div>
      )}

      <div className="filters">
        <label className="search">
          <Search size={15} />
          <input placeholder="Search by name, title or description" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        {tag && (
          <button className="chip chip-active" onClick={() => setTag("")} title="Clear tag filter">
            <Tag size={12} /> {tag} <X size={12} />
          </button>
        )}
        <label className="toggle">
          <input type="checkbox" checked={archived} onChange={(e) => setArchived(e.target.checked)} /> Archived only
        </label>
      </div>

      {items === null ? (
        <div className="table-card">
          {[0, 1, 2].map((i) => (
            <div key={i} className="skeleton-row" />
          ))}
        </div>
      ) : items.length === 0 ? (
        <div className="empty-state">
          <WorkflowIcon size={36} />
          <h2>{error ? "Workflows could not be loaded" : search || tag || archived ? "No workflow matches" : "No workflows yet"}</h2>
          <p className="muted">{error || "Start from a blank canvas, a template, or import a YAML file in any dialect."}</p>
          <div className="row">
            <Link className="button primary" to="/designer/new">
              <Plus size={15} /> New workflow
            </Link>
            <Link className="button" to="/templates">
              Browse templates
            </Link>
          </div>
        </div>
      ) : (
        <div className="table-card">
          <table className="table" data-testid="workflow-table">
            <thead>
              <tr>
                <th>Workflow</th>
                <th>Tags</th>
                <th>Version</th>
                <th title="Whether its triggers (webhooks, schedules, events) start runs">Active</th>
                <th>Updated</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {items.map((wf) => (
                <tr key={wf.id} className={wf.archived ? "archived" : ""}>
                  <td>
                    <Link to={`/designer/${wf.id}`} className="wf-title">
                      {wf.title || wf.name}
                    </Link>
                    <div className="muted mono small">{wf.name}</div>
                  </td>
                  <td>
                    <div className="chips">
                      {wf.tags.map((t) => (
                        <button key={t} className="chip" onClick={() => setTag(t)}>
                          {t}
                        </button>
                      ))}
                    </div>
                  </td>
                  <td>
                    {wf.version ? (
                      <span className="badge" title={wf.version.message}>
                        v{wf.version.number}
                      </span>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>
                    <Switch
                      label={`Active: ${wf.name}`}
                      checked={wf.active}
                      onChange={(active) => void toggleActive(wf, active)}
                      title={wf.active ? "On: its triggers start runs" : "Off: its triggers start no runs"}
                      testId="workflow-active"
                    />
                  </td>
                  <td className="muted">{timeAgo(wf.updated_at)}</td>
                  <td className="actions">
                    <button className="icon-button" title="Duplicate" aria-label="Duplicate" onClick={() => setCopying({ workflow: wf, name: `${wf.name}-copy` })}>
                      <Copy size={15} />
                    </button>
                    <a className="icon-button" title="Export YAML" aria-label="Export YAML" href={api.exportUrl(wf.id)}>
                      <Download size={15} />
                    </a>
                    <button
                      className="icon-button"
                      title={wf.archived ? "Restore" : "Archive"}
                      aria-label={wf.archived ? "Restore" : "Archive"}
                      onClick={() => void toggleArchived(wf)}
                    >
                      {wf.archived ? <ArchiveRestore size={15} /> : <Archive size={15} />}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {copying && (
        <Modal
          title={`Duplicate “${copying.workflow.title || copying.workflow.name}”`}
          onClose={() => setCopying(null)}
          testId="duplicate-dialog"
          footer={
            <>
              <button className="button" onClick={() => setCopying(null)}>
                Cancel
              </button>
              <button className="button primary" onClick={() => void duplicate()} disabled={!copying.name} data-testid="duplicate-confirm">
                <Copy size={14} /> Duplicate
              </button>
            </>
          }
        >
          <div className="field">
            <label htmlFor="copy-name">Name of the copy</label>
            <input
              id="copy-name"
              className="mono"
              autoFocus
              value={copying.name}
              onChange={(e) => setCopying({ ...copying, name: e.target.value.trim() })}
              onKeyDown={(e) => e.key === "Enter" && void duplicate()}
            />
          </div>
        </Modal>
      )}
    </div>
  );
}
