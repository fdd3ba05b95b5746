import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { KeyRound, LayoutTemplate, Search, Sparkles } from "lucide-react";
import { api } from "../api/client";
import { fieldErrors, secretsApi, type SecretEntry, type TemplateWithNeeds } from "../api/secrets";
import { Modal } from "../components/Modal";
import { toast } from "../components/toast";
import { useSession } from "../components/session";
import "./credentials.css";

const ADMIN_ROLES = new Set(["admin", "owner"]);

/** A workflow name made from a title: lower-case letters, digits and dashes. */
function slugOf(text: string): string {
  return text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100);
}

/**
 * "Use template": asks for the workflow's title and name, each variable the template asks for
 * (its default filled in) and a value for each secret it reads (admins only: the tenant's
 * secrets; one already set may be left empty), then makes the workflow and opens it.
 */
function UseTemplateDialog(props: { template: TemplateWithNeeds; onClose: () => void }) {
  const { template } = props;
  const navigate = useNavigate();
  const isAdmin = ADMIN_ROLES.has(useSession((s) => s.me?.role ?? ""));
  const needs = template.needs ?? { variables: [], secrets: [] };
  const [title, setTitle] = useState(template.title || template.name);
  const [name, setName] = useState(template.name);
  const [nameTouched, setNameTouched] = useState(false);
  const [variables, setVariables] = useState<Record<string, string>>(() =>
    Object.fromEntries(needs.variables.map((v) => [v.name, v.default === null ? "" : String(v.default)])),
  );
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [stored, setStored] = useState<Record<string, SecretEntry>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!isAdmin || needs.secrets.length === 0) return;
    secretsApi
      .list(false)
      .then((page) => setStored(Object.fromEntries(page.results.map((s) => [s.name, s]))))
      .catch(() => setStored({}));
  }, [isAdmin, needs.secrets.length]);

  const valueOf = (raw: string, fallback: unknown): string | number | boolean =>
    typeof fallback === "number" && raw.trim() !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : typeof fallback === "boolean" ? raw === "true" : raw;

  const submit = async () => {
    const found: Record<string, string> = {};
    needs.variables.forEach((v) => {
      if (!(variables[v.name] ?? "").trim()) found[`variables.${v.name}`] = "Give a value.";
    });
    if (isAdmin) {
      needs.secrets.forEach((s) => {
        if (!stored[s.name] && !(secrets[s.name] ?? "")) found[`secrets.${s.name}`] = "Give a value: this secret is not set yet.";
      });
    }
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      if (isAdmin) {
        for (const s of needs.secrets) {
          const value = secrets[s.name] ?? "";
          if (!value) continue;
          try {
            await secretsApi.set(s.name, value);
          } catch (e) {
            setErrors({ [`secrets.${s.name}`]: fieldErrors(e).value ?? (e instanceof Error ? e.message : String(e)) });
            return;
          }
        }
      }
      const body = {
        name,
        title,
        variables: Object.fromEntries(needs.variables.map((v) => [v.name, valueOf(variables[v.name] ?? "", v.default)])),
      };
      const workflow = await secretsApi.instantiateTemplate(template.id, body);
      toast.success(`Created “${workflow.title || workflow.name}” from the template`);
      navigate(`/designer/${workflow.id}`);
    } catch (e) {
      const fields = fieldErrors(e);
      if (Object.keys(fields).length) setErrors(fields);
      else setErrors({ form: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };

  const error = (key: string) =>
    errors[key] ? (
      <div className="field-error" role="alert" data-testid={`setup-error-${key}`}>
        {errors[key]}
      </div>
    ) : null;

  return (
    <Modal
      title={`Use “${template.title || template.name}”`}
      onClose={props.onClose}
      testId="template-setup"
      footer={
        <>
          <button className="button" onClick={props.onClose}>
            Cancel
          </button>
          <button className="button primary" disabled={busy} onClick={() => void submit()} data-testid="template-setup-create">
            Create workflow
          </button>
        </>
      }
    >
      <form
        className="setup-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        {errors.form && (
          <div className="inline-error" role="alert">
            {errors.form}
          </div>
        )}
        <div className="setup-row">
          <div className="field">
            <label htmlFor="setup-title">Title</label>
            <input
              id="setup-title"
              autoFocus
              value={title}
              onChange={(e) => {
                setTitle(e.target.value);
                if (!nameTouched) setName(slugOf(e.target.value) || template.name);
              }}
            />
            {error("title")}
          </div>
          <div className="field">
            <label htmlFor="setup-name">Name (in URLs and the API)</label>
            <input
              id="setup-name"
              className="mono"
              value={name}
              onChange={(e) => {
                setNameTouched(true);
                setName(e.target.value.trim());
              }}
            />
            {error("name")}
          </div>
        </div>
        {needs.variables.length > 0 && <h3 className="setup-heading">Settings</h3>}
        {needs.variables.map((v) => (
          <div className="field" key={v.name}>
            <label htmlFor={`setup-var-${v.name}`}>
              <span className="mono">{v.name}</span>
            </label>
            <input
              id={`setup-var-${v.name}`}
              data-testid={`setup-var-${v.name}`}
              value={variables[v.name] ?? ""}
              onChange={(e) => setVariables({ ...variables, [v.name]: e.target.value })}
            />
            <div className="hint">{v.description}</div>
            {error(`variables.${v.name}`)}
          </div>
        ))}
        {needs.secrets.length > 0 && (
          <h3 className="setup-heading">
            <KeyRound size={14} /> Secrets
          </h3>
        )}
        {needs.secrets.length > 0 && !isAdmin && (
          <p className="hint" data-testid="setup-secrets-admin-only">
            This template reads the secrets {needs.secrets.map((s) => s.name).join(", ")}. Ask an admin of the tenant to set
            them on the Credentials page.
          </p>
        )}
        {isAdmin &&
          needs.secrets.map((s) => (
            <div className="field" key={s.name}>
              <label htmlFor={`setup-secret-${s.name}`}>
                <span className="mono">{s.name}</span>
                {stored[s.name] ? <span className="chip chip-active setup-chip">set</span> : <span className="chip setup-chip">not set</span>}
              </label>
              <input
                id={`setup-secret-${s.name}`}
                data-testid={`setup-secret-${s.name}`}
                type="password"
                autoComplete="new-password"
                placeholder={stored[s.name] ? "Leave empty to keep the current value" : "Value"}
                value={secrets[s.name] ?? ""}
                onChange={(e) => setSecrets({ ...secrets, [s.name]: e.target.value })}
              />
              <div className="hint">{s.description}</div>
              {error(`secrets.${s.name}`)}
            </div>
          ))}
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}

export function TemplatesPage() {
  const [items, setItems] = useState<TemplateWithNeeds[] | null>(null);
  const [search, setSearch] = useState("");
  const [using, setUsing] = useState<TemplateWithNeeds | null>(null);
  useEffect(() => {
    api
      .listTemplates()
      .then((page) => setItems(page.results))
      .catch((e) => {
        toast.fromError(e, "Could not load templates");
        setItems([]);
      });
  }, []);
  const shown = useMemo(() => {
    const needle = search.toLowerCase();
    return (items ?? []).filter((t) =>
      [t.name, t.title, t.description, ...(t.tags ?? [])].some((s) => (s ?? "").toLowerCase().includes(needle)),
    );
  }, [items, search]);
  return (
    <div className="list-page">
      <div className="page-header">
        <div>
          <h1>Templates</h1>
          <p className="muted">Start a new workflow from a ready-made pattern.</p>
        </div>
        <label className="search">
          <Search size={15} />
          <input placeholder="Search templates" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
      </div>
      {items === null ? (
        <div className="template-grid">
          {[0, 1, 2, 3, 4, 5].map((i) => (
            <div key={i} className="template-card skeleton-card" />
          ))}
        </div>
      ) : shown.length === 0 ? (
        <div className="empty-state">
          <LayoutTemplate size={36} />
          <h2>No templates</h2>
          <p className="muted">{items.length ? "Nothing matches your search." : "No template is available yet."}</p>
        </div>
      ) : (
        <div className="template-grid" data-testid="template-grid">
          {shown.map((t) => (
            <article key={t.id} className="template-card" data-testid={`template-${t.id}`}>
              <div className="template-icon">
                <Sparkles size={18} />
              </div>
              <h3>{t.title || t.name}</h3>
              <p className="muted">{t.description || "No description."}</p>
              <div className="chips">
                {(t.tags ?? []).map((tag) => (
                  <span key={tag} className="chip">
                    {tag}
                  </span>
                ))}
                {!t.builtin && <span className="chip chip-active">yours</span>}
              </div>
              <div className="template-actions">
                <button className="button primary" onClick={() => setUsing(t)} data-testid={`use-template-${t.id}`}>
                  Use template
                </button>
                <Link className="button" to={`/designer/new?template=${encodeURIComponent(t.id)}`} title="Open the template in the designer without saving it">
                  Preview
                </Link>
              </div>
            </article>
          ))}
        </div>
      )}
      {using && <UseTemplateDialog template={using} onClose={() => setUsing(null)} />}
    </div>
  );
}
