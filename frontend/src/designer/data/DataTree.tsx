/** A value as a tree of fields; each field can be dragged onto a form field to insert its expression. */
import type { DragEvent } from "react";
import { expressionFor, pathText, typeName, type Segment } from "./paths";

const MAX_ITEMS = 20;
const MAX_DEPTH = 5;

function scalarText(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? value.slice(0, 60) + "…" : value);
  return JSON.stringify(value);
}

function onDragStart(event: DragEvent, expression: string) {
  event.dataTransfer.setData("text/plain", expression);
  event.dataTransfer.effectAllowed = "copy";
}

function Field({ root, segments, label, value, depth }: { root: string; segments: Segment[]; label: string; value: unknown; depth: number }) {
  const path = pathText(root, segments);
  const isObject = value !== null && typeof value === "object";
  return (
    <li>
      <span
        className="data-key"
        draggable
        onDragStart={(e) => onDragStart(e, expressionFor(path))}
        title={`Drag onto a field to insert {{ ${path} }}`}
        data-testid={`data-field-${path}`}
      >
        {label}
      </span>
      {isObject ? <span className="data-type">{typeName(value)}</span> : <span className="data-value">{scalarText(value)}</span>}
      {isObject && depth < MAX_DEPTH && <Children root={root} segments={segments} value={value} depth={depth + 1} />}
    </li>
  );
}

function Children({ root, segments, value, depth }: { root: string; segments: Segment[]; value: unknown; depth: number }) {
  const entries: [Segment, unknown][] = Array.isArray(value)
    ? value.slice(0, MAX_ITEMS).map((item, index) => [index, item])
    : Object.entries(value as Record<string, unknown>).slice(0, MAX_ITEMS);
  const more = (Array.isArray(value) ? value.length : Object.keys(value as object).length) - entries.length;
  return (
    <ul className="data-tree">
      {entries.map(([key, item]) => (
        <Field key={String(key)} root={root} segments={[...segments, key]} label={typeof key === "number" ? `[${key}]` : key} value={item} depth={depth} />
      ))}
      {more > 0 && <li className="muted small">… {more} more</li>}
    </ul>
  );
}

/** The fields of `value`, read from `root` + `segments` (e.g. `nodes`, [id, "output"]). */
export function DataTree({ root, segments, value }: { root: string; segments: Segment[]; value: unknown }) {
  if (value === null || typeof value !== "object") {
    return (
      <ul className="data-tree">
        <Field root={root} segments={segments} label="(value)" value={value} depth={0} />
      </ul>
    );
  }
  return <Children root={root} segments={segments} value={value} depth={0} />;
}
