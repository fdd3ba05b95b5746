import { useEffect, useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { LayoutTemplate, Search, Sparkles } from "lucide-react";
import { api } from "../api/client";
import type { TemplateSummary } from "../api/types";
import { toast } from "../components/toast";

export function TemplatesPage() {
  const [items, setItems] = useState<TemplateSummary[] | null>(null);
  const [search, setSearch] = useState("");
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
            <article key={t.id} className="template-card">
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
              <Link className="button primary" to={`/designer/new?template=${encodeURIComponent(t.id)}`}>
                Use template
              </Link>
            </article>
          ))}
        </div>
      )}
    </div>
  );
}
