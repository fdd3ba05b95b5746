import { useMemo, useState } from "react";
import { useReactFlow } from "@xyflow/react";
import { Search } from "lucide-react";
import { iconFor } from "../lib/nodeKinds";
import { addNodeOfType, NODE_DRAG_MIME } from "./Canvas";
import { useDesigner, useDesignerStoreApi } from "./store";

/** Node types grouped by category; drag one onto the canvas, or double-click to add it. */
export function Palette() {
  const store = useDesignerStoreApi();
  const catalog = useDesigner((s) => s.nodeTypes);
  const { screenToFlowPosition } = useReactFlow();
  const [search, setSearch] = useState("");
  const groups = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const byCategory = new Map<string, typeof types>();
    const types = Object.values(catalog)
      .filter((t) => !needle || [t.type, t.title, t.description, t.category].some((s) => (s ?? "").toLowerCase().includes(needle)))
      .sort((a, b) => a.title.localeCompare(b.title));
    for (const t of types) byCategory.set(t.category || "Other", [...(byCategory.get(t.category || "Other") ?? []), t]);
    return [...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [catalog, search]);

  const addAtCenter = (type: string) => {
    const canvas = document.querySelector(".canvas")?.getBoundingClientRect();
    const at = canvas
      ? screenToFlowPosition({ x: canvas.left + canvas.width / 2, y: canvas.top + canvas.height / 2 })
      : { x: 0, y: 0 };
    const jitter = (store.getState().graph.nodes.length % 5) * 24;
    addNodeOfType(store, type, { x: at.x - 100 + jitter, y: at.y - 30 + jitter });
  };

  return (
    <aside className="palette" data-testid="palette">
      <div className="panel-title">Nodes</div>
      <label className="search compact">
        <Search size={14} />
        <input placeholder="Search node types" value={search} onChange={(e) => setSearch(e.target.value)} data-testid="palette-search" />
      </label>
      <div className="palette-groups">
        {groups.length === 0 && <p className="muted small pad">{Object.keys(catalog).length ? "No match." : "Loading node types…"}</p>}
        {groups.map(([category, types]) => (
          <section key={category}>
            <h4>{category}</h4>
            {types.map((t) => {
              const Icon = iconFor(t.type);
              return (
                <div
                  key={t.type}
                  className="palette-item"
                  data-testid={`palette-item-${t.type}`}
                  draggable
                  title={`${t.description || t.title} — drag onto the canvas, or double-click`}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(NODE_DRAG_MIME, t.type);
                    e.dataTransfer.setData("text/plain", t.type);
                    e.dataTransfer.effectAllowed = "move";
                  }}
                  onDoubleClick={() => addAtCenter(t.type)}
                >
                  <span className={`palette-icon kind-${t.type}`}>
                    <Icon size={14} />
                  </span>
                  <span className="palette-text">
                    <span className="palette-name">{t.title}</span>
                    <span className="palette-type mono">{t.type}</span>
                  </span>
                </div>
              );
            })}
          </section>
        ))}
      </div>
    </aside>
  );
}
