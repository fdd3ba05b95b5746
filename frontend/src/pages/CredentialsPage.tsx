import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { KeyRound, Plus, Trash2 } from "lucide-react";
import { fieldErrors, secretsApi, type SecretEntry } from "../api/secrets";
import { Modal } from "../components/Modal";
import { toast } from "../components/toast";
import { useSession } from "../components/session";
import "./credentials.css";

const ADMIN_ROLES = new Set(["admin", "owner"]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function when(iso?: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** One secret's row: its name, whether it has a value, the workflows reading it, Replace and Delete. */
function SecretRow(props: { entry: SecretEntry; onChanged: () => void; onDelete: (entry: SecretEntry) => void }) {
  const { entry } = props;
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState("");
  const [error, setError] = useState("");
  const save = async () => {
    if (!value) {
      setError("Give the new value.");
      return;
    }
    try {
      await secretsApi.set(entry.name, value);
      toast.success(`${entry.name} ${entry.set ? "replaced" : "set"}`);
      setEditing(false);
      setValue("");
      setError("");
      props.onChanged();
    } catch (e) {
      setError(fieldErrors(e).value ?? (e instanceof Error ? e.message : String(e)));
    }
  };
  return (
    <tr data-testid={`secret-${entry.name}`}>
      <td className="mono">{entry.name}</td>
      <td>
        {entry.set ? (
          <span className="chip chip-active" title={`Updated ${when(entry.updated_at)}`}>
            set
          </span>
        ) : (
          <span className="chip chip-warning" title="A workflow reads it but it has no value: its runs fail at that node">
            not set
          </span>
        )}
        {entry.set && <div className="hint">updated {when(entry.updated_at)}</div>}
      </td>
      <td>
        {entry.used_by.length === 0 ? (
          <span className="muted">No workflow reads it</span>
        ) : (
          <div className="used-by" data-testid={`secret-${entry.name}-used-by`}>
            {entry.used_by.map((w) => (
              <Link key={w.id} to={`/designer/${w.id}`}>
                {w.title || w.name}
              </Link>
            ))}
          </div>
        )}
      </td>
      <td>
        {editing ? (
          <div>
            <form
              className="credential-edit"
              onSubmit={(e) => {
                e.preventDefault();
                void save();
              }}
            >
              <input
                type="password"
                autoFocus
                autoComplete="new-password"
                aria-label={`New value of ${entry.name}`}
                placeholder="New value"
                value={value}
                onChange={(e) => setValue(e.target.value)}
                onKeyDown={(e) => e.key === "Escape" && setEditing(false)}
              />
              <button className="button primary" type="submit">
                Save
              </button>
              <button className="button" type="button" onClick={() => setEditing(false)}>
                Cancel
              </button>
            </form>
            {error && (
              <div className="field-error" role="alert">
                {error}
              </div>
            )}
          </div>
        ) : (
          <div className="actions">
            <button className="button" onClick={() => setEditing(true)}>
              {entry.set ? "Replace value" : "Set value"}
            </button>
            {entry.set && (
              <button className="icon-button" aria-label={`Delete ${entry.name}`} title="Delete" onClick={() => props.onDelete(entry)}>
                <Trash2 size={15} />
              </button>
            )}
          </div>
        )}
      </td>
    </tr>
  );
}

/**
 * The tenant's secrets (credentials) by name: their values are written here and read by the
 * runs, never shown. Each name says which workflows read it; names read without a value are
 * listed too, so they can be set. Admins only, as the API.
 */
export function CredentialsPage() {
  const role = useSession((s) => s.me?.role);
  const isAdmin = ADMIN_ROLES.has(role ?? "");
  const [items, setItems] = useState<SecretEntry[] | null>(null);
  const [loadError, setLoadError] = useState("");
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [deleting, setDeleting] = useState<SecretEntry | null>(null);

  const refresh = useCallback(async () => {
    try {
      setItems((await secretsApi.list(true)).results);
      setLoadError("");
    } catch (e) {
      setLoadError(e instanceof Error ? e.message : String(e));
      setItems([]);
    }
  }, []);
  useEffect(() => {
    if (isAdmin) void refresh();
  }, [isAdmin, refresh]);

  const create = async () => {
    const found: Record<string, string> = {};
    if (!NAME.test(name)) found.name = "Letters, digits and _, not starting with a digit (as expressions read it: secrets.NAME).";
    else if (items?.some((s) => s.name === name && s.set)) found.name = `${name} exists: use its Replace value.`;
    if (!value) found.value = "Give the value.";
    setErrors(found);
    if (Object.keys(found).length) return;
    try {
      await secretsApi.set(name, value);
      toast.success(`${name} saved`);
      setName("");
      setValue("");
      await refresh();
    } catch (e) {
      const fields = fieldErrors(e);
      setErrors(Object.keys(fields).length ? fields : { name: e instanceof Error ? e.message : String(e) });
    }
  };

  const remove = async (entry: SecretEntry) => {
    try {
      await secretsApi.remove(entry.name);
      toast.success(`${entry.name} deleted`);
      setDeleting(null);
      await refresh();
    } catch (e) {
      toast.fromError(e, `Could not delete ${entry.name}`);
    }
  };

  return (
    <div className="list-page" data-testid="credentials-page">
      <div className="page-header">
        <div>
          <h1>Credentials</h1>
          <p className="muted">
            Secrets your workflows read as <span className="mono">{"{{ secrets.NAME }}"}</span>. Values are stored encrypted and never shown
            again.
          </p>
        </div>
      </div>
      {role && !isAdmin ? (
        <div className="empty-state" data-testid="credentials-admin-only">
          <KeyRound size={36} />
          <h2>Only admins manage credentials</h2>
          <p className="muted">Ask an admin or owner of this tenant to set the secrets your workflows need.</p>
        </div>
      ) : (
        <>
          <form
            className="credentials-new"
            data-testid="credential-new"
            onSubmit={(e) => {
              e.preventDefault();
              void create();
            }}
          >
            <div>
              <input aria-label="Secret name" className="mono" placeholder="NAME, e.g. CRM_TOKEN" value={name} onChange={(e) => setName(e.target.value.trim())} />
              {errors.name && (
                <div className="field-error" role="alert">
                  {errors.name}
                </div>
              )}
            </div>
            <div>
              <input aria-label="Secret value" type="password" autoComplete="new-password" placeholder="Value" value={value} onChange={(e) => setValue(e.target.value)} />
              {errors.value && (
                <div className="field-error" role="alert">
                  {errors.value}
                </div>
              )}
            </div>
            <button className="button primary" type="submit">
              <Plus size={14} /> Add secret
            </button>
          </form>
          {loadError && (
            <div className="inline-error" role="alert">
              {loadError}
            </div>
          )}
          {items === null ? (
            <div className="loading">Loading…</div>
          ) : items.length === 0 ? (
            <div className="empty-state">
              <KeyRound size={36} />
              <h2>No credentials yet</h2>
              <p className="muted">Add the API keys and tokens your workflows use; templates ask for theirs when you use them.</p>
            </div>
          ) : (
            <div className="table-card">
              <table className="table credentials-table" data-testid="credentials-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Value</th>
                    <th>Used by</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {items.map((entry) => (
                    <SecretRow key={entry.name} entry={entry} onChanged={() => void refresh()} onDelete={setDeleting} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      {deleting && (
        <Modal
          title={`Delete ${deleting.name}?`}
          onClose={() => setDeleting(null)}
          testId="credential-delete"
          footer={
            <>
              <button className="button" onClick={() => setDeleting(null)}>
                Cancel
              </button>
              <button className="button danger" onClick={() => void remove(deleting)} data-testid="credential-delete-confirm">
                Delete
              </button>
            </>
          }
        >
          <p>
            {deleting.used_by.length
              ? `${deleting.used_by.map((w) => w.title || w.name).join(", ")} read${deleting.used_by.length === 1 ? "s" : ""} it: their runs will fail at the nodes that use it until it is set again.`
              : "No workflow reads it."}
          </p>
        </Modal>
      )}
    </div>
  );
}
