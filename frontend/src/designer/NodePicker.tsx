import { useEffect, useMemo, useRef, useState } from "react";
import type { NodeType } from "../api/types";
import { iconFor } from "../lib/nodeKinds";
import "./graphEditing.css";

/** Node types whose type, title, description or category holds `search`, by title. */
export function matchingTypes(catalog: Record<string, NodeType>, search: string): NodeType[] {
  const needle = search.trim().toLowerCase();
  return Object.values(catalog)
    .filter((t) => !needle || [t.type, t.title, t.description, t.category].some((s) => (s ?? "").toLowerCase().includes(needle)))
    .sort((a, b) => {
      // An exact or leading match of the type or title first.
      const rank = (t: NodeType) => (!needle ? 0 : t.type === needle ? 0 : t.type.startsWith(needle) || t.title.toLowerCase().startsWith(needle) ? 1 : 2);
      return rank(a) - rank(b) || a.title.localeCompare(b.title);
    });
}

/**
 * A searchable list of node types opened from a node's "+": type to filter, arrows to move,
 * Enter (or a click) to add the highlighted one, Escape to close.
 */
export function NodePicker({
  catalog,
  at,
  onPick,
  onClose,
}: {
  catalog: Record<string, NodeType>;
  at: { left: number; top: number };
  onPick(type: string): void;
  onClose(): void;
}) {
  const [search, setSearch] = useState("");
  const [active, setActive] = useState(0);
  const types = useMemo(() => matchingTypes(catalog, search), [catalog, search]);
  const box = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setActive(0), [search]);
  // The search takes the focus once the click that opened the picker is over.
  useEffect(() => {
    const frame = requestAnimationFrame(() => input.current?.focus());
    return () => cancelAnimationFrame(frame);
  }, []);
  useEffect(() => {
    const away = (event: PointerEvent) => {
      if (box.current && !box.current.contains(event.target as Node)) onClose();
    };
    window.addEventListener("pointerdown", away, true);
    return () => window.removeEventListener("pointerdown", away, true);
  }, [onClose]);
  useEffect(() => {
    box.current?.querySelector(`[data-index="${active}"]`)?.scrollIntoView({ block: "nearest" });
  }, [active]);
  // Kept inside the window.
  const left = Math.min(at.left, window.innerWidth - 290);
  const top = Math.min(at.top, window.innerHeight - 340);
  return (
    <div ref={box} className="node-picker" style={{ left, top }} data-testid="node-picker" role="dialog" aria-label="Add the next node">
      <input
        ref={input}
        autoFocus
        className="node-picker-search"
        placeholder="Add the next node: search"
        value={search}
        data-testid="node-picker-search"
        aria-controls="node-picker-list"
        onChange={(e) => setSearch(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setActive((i) => Math.min(i + 1, types.length - 1));
          } else if (e.key === "ArrowUp") {
            e.preventDefault();
            setActive((i) => Math.max(i - 1, 0));
          } else if (e.key === "Enter") {
            e.preventDefault();
            if (types[active]) onPick(types[active].type);
          } else if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation();
            onClose();
          }
        }}
      />
      <div className="node-picker-list" id="node-picker-list" role="listbox">
        {types.length === 0 && <p className="muted small pad">No match.</p>}
        {types.map((t, index) => {
          const Icon = iconFor(t.type);
          return (
            <button
              type="button"
              key={t.type}
              role="option"
              aria-selected={index === active}
              data-index={index}
              data-testid={`node-picker-item-${t.type}`}
              className={`node-picker-item ${index === active ? "is-active" : ""}`}
              onMouseEnter={() => setActive(index)}
              onClick={() => onPick(t.type)}
            >
              <span className={`palette-icon kind-${t.type}`}>
                <Icon size={14} />
              </span>
              <span className="palette-text">
                <span className="palette-name">{t.title}</span>
                <span className="palette-type mono">{t.type}</span>
              </span>
            </button>
          );
        })}
      </div>
    </div>
  );
}
