import { useMemo, useState } from "react";
import { useReactFlow } from "@xyflow/react";
import { Search } from "lucide-react";
import { iconFor } from "../lib/nodeKinds";
import { NODE_DRAG_MIME } from "./Canvas";
import { addNodeNear } from "./addNodes";
import { matchingTypes } from "./NodePicker";
import type { WorkflowFlowNode } from "./nodes/WorkflowNode";
import { useDesigner, useDesignerStoreApi } from "./store";

/**
 * Node types grouped by category; drag one onto the canvas, or double-click it (or focus it and
 * press Enter) to add it in the middle of the view, at a free place. Enter in the search adds the
 * first match.
 */
export function Palette() {
  const store = useDesignerStoreApi();
  const catalog = useDesigner((s) => s.nodeTypes);
  const flow = useReactFlow<WorkflowFlowNode>();
  const { screenToFlowPosition } = flow;
  const [search, setSearch] = useState("");
  const groups = useMemo(() => {
    // While searching, the best match comes first (its category first): it is what Enter adds.
    const types = matchingTypes(catalog, search);
    const byCategory = new Map<string, typeof types>();
    for (const t of types) byCategory.set(t.category || "Other", [...(byCategory.get(t.category || "Other") ?? []), t]);
    const entries = [...byCategory.entries()];
    return search.trim() ? entries : entries.sort(([a], [b]) => a.localeCompare(b));
  }, [catalog, search]);

  const addAtCenter = (type: string) => {
    const canvas = document.querySelector(".canvas")?.getBoundingClientRect();
    const at = canvas
      ? screenToFlowPosition({ x: canvas.left + canvas.width / 2, y: canvas.top + canvas.height / 2 })
      : { x: 0, y: 0 };
    addNodeNear(store, flow, type, { x: at.x - 110, y: at.y - 30 });
  };

  return (
    <aside className="palette" data-testid="palette">
      <div className="panel-title">Nodes</div>
      <label className="search compact">
        <Search size={14} />
        <input
          placeholder="Search node types"
          aria-label="Search node types; Enter adds the first match"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          onKeyDown={(e) => {
            if (e.key !== "Enter") return;
            e.preventDefault();
            const first = groups[0]?.[1][0];
            if (first && search.trim()) addAtCenter(first.type);
          }}
          data-testid="palette-search"
        />
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
                  tabIndex={0}
                  role="button"
                  aria-label={`Add ${t.title}`}
                  title={`${t.description || t.title} — drag onto the canvas, or double-click (Enter)`}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" || e.key === " ") {
                      e.preventDefault();
                      addAtCenter(t.type);
                    }
                  }}
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
