/**
 * A value as a collapsible JSON tree (lib/jsonView): long strings, lists and objects are cut,
 * and the whole value can be downloaded; a very large one is offered as a download first.
 */
import { memo, useMemo, useState } from "react";
import { ChevronDown, ChevronRight, Copy, Download } from "lucide-react";
import { DEFAULT_LIMITS, downloadText, isCut, jsonLength, LARGE_JSON, sizeText, summary, viewTree, type JsonTree } from "../lib/jsonView";
import { toast } from "./toast";
import "./jsonViewer.css";

function download(value: unknown, name: string): void {
  const blob = new Blob([downloadText(value)], { type: typeof value === "string" ? "text/plain" : "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const Leaf = ({ tree }: { tree: JsonTree }) => {
  switch (tree.kind) {
    case "null":
      return <span className="jv-null">null</span>;
    case "boolean":
      return <span className="jv-bool">{tree.text}</span>;
    case "number":
      return <span className="jv-num">{tree.text}</span>;
    case "string":
      return (
        <span className="jv-str">
          "{tree.text}"
          {tree.hidden > 0 && <span className="jv-cut"> …{tree.hidden.toLocaleString()} more characters</span>}
        </span>
      );
    default:
      return null;
  }
};

const Branch = memo(function Branch({ name, tree, depth, open: initiallyOpen }: { name?: string; tree: JsonTree; depth: number; open: number }) {
  const [open, setOpen] = useState(depth < initiallyOpen);
  const label = name !== undefined && <span className="jv-key">{name}: </span>;
  if (tree.kind !== "array" && tree.kind !== "object") {
    return (
      <div className="jv-line" style={{ paddingLeft: depth * 14 + 14 }}>
        {label}
        <Leaf tree={tree} />
      </div>
    );
  }
  const children: [string, JsonTree][] = tree.kind === "array" ? tree.items.map((item, index) => [String(index), item]) : tree.entries;
  const empty = tree.size === 0;
  return (
    <>
      <div className="jv-line" style={{ paddingLeft: depth * 14 }}>
        {empty ? (
          <span className="jv-toggle-space" />
        ) : (
          <button className="jv-toggle" onClick={() => setOpen(!open)} aria-label={open ? "Collapse" : "Expand"} aria-expanded={open}>
            {open ? <ChevronDown size={12} /> : <ChevronRight size={12} />}
          </button>
        )}
        {label}
        <span className="jv-summary">{empty ? (tree.kind === "array" ? "[]" : "{}") : summary(tree)}</span>
      </div>
      {open &&
        children.map(([key, child]) => <Branch key={key} name={key} tree={child} depth={depth + 1} open={initiallyOpen} />)}
      {open && tree.hidden > 0 && (
        <div className="jv-line jv-cut" style={{ paddingLeft: (depth + 1) * 14 + 14 }}>
          …{tree.hidden.toLocaleString()} more {tree.kind === "array" ? "items" : "keys"}
        </div>
      )}
    </>
  );
});

export function JsonViewer({ value, name = "value", testId, open = 2 }: { value: unknown; name?: string; testId?: string; open?: number }) {
  const size = useMemo(() => jsonLength(value), [value]);
  const [forced, setForced] = useState(false);
  const large = size > LARGE_JSON && !forced;
  const tree = useMemo(() => (large ? null : viewTree(value, DEFAULT_LIMITS)), [value, large]);
  if (value === undefined) return <span className="muted">—</span>;
  const cut = tree ? isCut(tree) : true;
  const file = `${name}.${typeof value === "string" ? "txt" : "json"}`;
  return (
    <div className="json-viewer" data-testid={testId} data-cut={cut ? "true" : "false"}>
      <div className="jv-bar">
        <span className="muted small">{sizeText(size)}</span>
        {cut && <span className="jv-cut small">cut to fit: download for all of it</span>}
        <span className="grow" />
        <button
          className="icon-button"
          title="Copy as JSON"
          aria-label="Copy as JSON"
          onClick={() => void navigator.clipboard?.writeText(downloadText(value)).then(() => toast.info("Copied"))}
        >
          <Copy size={13} />
        </button>
        <button className="icon-button" title={`Download ${file}`} aria-label={`Download ${file}`} onClick={() => download(value, file)} data-testid={testId ? `${testId}-download` : undefined}>
          <Download size={13} />
        </button>
      </div>
      {tree ? (
        <div className="jv-tree">
          <Branch tree={tree} depth={0} open={open} />
        </div>
      ) : (
        <div className="jv-large">
          <p>
            {sizeText(size)} of JSON: too large to draw at once.{" "}
            <button className="button small" onClick={() => download(value, file)}>
              <Download size={12} /> Download
            </button>{" "}
            <button className="button small" onClick={() => setForced(true)}>
              Show it cut
            </button>
          </p>
        </div>
      )}
    </div>
  );
}
