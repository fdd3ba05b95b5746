import { useEffect, useMemo, useState } from "react";
import { AlertTriangle, Trash2, X } from "lucide-react";
import type { Document } from "yaml";
import { COMMON_SCHEMA, iconFor } from "../lib/nodeKinds";
import { renameNode, setNodeField } from "../lib/workflowDoc";
import { SchemaForm, type FieldPath } from "./SchemaForm";
import { useDesigner, useDesignerStoreApi } from "./store";
import { RunDetails } from "./RunPanel";
import { DataArea } from "./data/DataArea";

function NodeIdField({ id }: { id: string }) {
  const store = useDesignerStoreApi();
  const [draft, setDraft] = useState(id);
  const [error, setError] = useState("");
  useEffect(() => setDraft(id), [id]);
  const commit = () => {
    if (draft === id) return setError("");
    if (!/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(draft)) return setError("Letters, digits, _ and -, starting with a letter or _");
    let ok = false;
    store.getState().edit((doc) => {
      ok = renameNode(doc, id, draft);
    });
    if (!ok) return setError("That id is already used");
    setError("");
    store.getState().select([draft]);
  };
  return (
    <div className="field">
      <label htmlFor="node-id">Id</label>
      <input
        id="node-id"
        data-testid="field-id"
        className="mono"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === "Enter" && commit()}
      />
      {error && <div className="field-error">{error}</div>}
    </div>
  );
}

function EdgeProperties({ edgeKey }: { edgeKey: string }) {
  const store = useDesignerStoreApi();
  const edge = useDesigner((s) => s.graph.edges.find((e) => e.key === edgeKey));
  const issues = useDesigner((s) => s.issues.filter((i) => i.edge === edge?.index));
  if (!edge) return null;
  const set = (key: string, value: unknown) =>
    store.getState().edit((doc: Document) => {
      const path = ["spec", "edges", edge.index, key];
      if (value === undefined || value === "" || (key === "on" && value === "success")) {
        if (doc.hasIn(path)) doc.deleteIn(path);
      } else doc.setIn(path, value);
    }, `edge:${edge.index}:${key}`);
  return (
    <div className="props" data-testid="edge-properties">
      <div className="props-head">
        <div>
          <div className="props-title">Edge</div>
          <div className="muted mono small">
            {edge.from} → {edge.to}
          </div>
        </div>
        <button
          className="icon-button"
          title="Delete edge"
          aria-label="Delete edge"
          onClick={() => {
            store.getState().remove([], [edge.index]);
            store.getState().select([], []);
          }}
        >
          <Trash2 size={15} />
        </button>
      </div>
      {issues.map((i, n) => (
        <div className="inline-error" key={n}>
          <AlertTriangle size={13} /> {i.message}
        </div>
      ))}
      <div className="props-body">
        <div className="field">
          <label htmlFor="edge-on">Taken on</label>
          <select id="edge-on" value={edge.on} onChange={(e) => set("on", e.target.value)}>
            <option value="success">success</option>
            <option value="failure">failure</option>
            <option value="always">always</option>
          </select>
        </div>
        {edge.port !== undefined && (
          <div className="field">
            <label>Port</label>
            <input value={edge.port} onChange={(e) => set("port", e.target.value)} />
          </div>
        )}
        <div className="field">
          <label htmlFor="edge-condition">Condition</label>
          <input
            id="edge-condition"
            className="mono"
            placeholder="{{ output.status == 'ok' }}"
            value={edge.condition ?? ""}
            onChange={(e) => set("condition", e.target.value)}
          />
          <div className="hint">An expression over `output`, the source node's output.</div>
        </div>
      </div>
    </div>
  );
}

type Tab = "settings" | "behaviour" | "run";

export function PropertyPanel() {
  const store = useDesignerStoreApi();
  const selectedNodes = useDesigner((s) => s.selectedNodes);
  const selectedEdges = useDesigner((s) => s.selectedEdges);
  const graph = useDesigner((s) => s.graph);
  const catalog = useDesigner((s) => s.nodeTypes);
  const issues = useDesigner((s) => s.issues);
  const run = useDesigner((s) => s.run);
  const [tab, setTab] = useState<Tab>("settings");
  const node = selectedNodes.length === 1 ? graph.nodes.find((n) => n.id === selectedNodes[0]) : undefined;
  const nodeIds = useMemo(() => graph.nodes.map((n) => n.id).filter((id) => id !== node?.id), [graph, node?.id]);

  useEffect(() => {
    if (tab === "run" && !run) setTab("settings");
  }, [run, tab]);

  if (!node) {
    if (selectedNodes.length > 1) {
      return (
        <div className="props props-dock" data-testid="property-panel">
          <div className="props-head">
            <div className="props-title">{selectedNodes.length} nodes selected</div>
            <button className="icon-button" aria-label="Clear selection" onClick={() => store.getState().select([], [])}>
              <X size={15} />
            </button>
          </div>
          <p className="muted small pad">Drag to move them together, Ctrl+C to copy, Delete to remove.</p>
        </div>
      );
    }
    if (selectedEdges.length === 1) {
      return (
        <div className="props-dock">
          <EdgeProperties edgeKey={selectedEdges[0]} />
        </div>
      );
    }
    return null;
  }

  const nodeType = catalog[node.type];
  const Icon = iconFor(node.type);
  const nodeIssues = issues.filter((i) => i.node_id === node.id);
  const onCommon = (path: FieldPath, value: unknown) =>
    store.getState().edit((doc) => setNodeField(doc, node.id, path, value), `field:${node.id}:${path.join(".")}`, [node.id]);

  return (
    <div className="props props-dock" data-testid="property-panel">
      <div className="props-head">
        <span className={`palette-icon kind-${node.type}`}>
          <Icon size={15} />
        </span>
        <div className="grow">
          <div className="props-title">{node.name || node.id}</div>
          <div className="muted small">{nodeType?.title ?? `Unknown type “${node.type}”`}</div>
        </div>
        <button
          className="icon-button"
          title="Delete node"
          aria-label="Delete node"
          onClick={() => {
            store.getState().remove([node.id]);
            store.getState().select([]);
          }}
        >
          <Trash2 size={15} />
        </button>
        <button className="icon-button" aria-label="Close" onClick={() => store.getState().select([])}>
          <X size={15} />
        </button>
      </div>
      {nodeIssues.map((i, n) => (
        <div className={`inline-error ${i.severity === "warning" ? "warning" : ""}`} key={n}>
          <AlertTriangle size={13} /> {i.message}
        </div>
      ))}
      <div className="tabs">
        <button className={tab === "settings" ? "active" : ""} onClick={() => setTab("settings")}>
          Settings
        </button>
        <button className={tab === "behaviour" ? "active" : ""} onClick={() => setTab("behaviour")}>
          Behaviour
        </button>
        {run && (
          <button className={tab === "run" ? "active" : ""} onClick={() => setTab("run")} data-testid="tab-run">
            Run
          </button>
        )}
      </div>
      {/* A new node or tab starts at the top (the key gives each its own scroll position). */}
      <div className="props-body" key={`${node.id}:${tab}`}>
        {tab === "settings" && (
          <DataArea nodeId={node.id}>
            <NodeIdField id={node.id} />
            <SchemaForm
              schema={{ type: "object", properties: { name: COMMON_SCHEMA.properties!.name }, additionalProperties: false }}
              value={node.raw}
              onChange={onCommon}
            />
            {nodeType ? (
              <SchemaForm schema={nodeType.config_schema} value={node.config} path={["config"]} onChange={onCommon} />
            ) : (
              <p className="muted small">This type is not in the catalog; edit its config in the YAML.</p>
            )}
          </DataArea>
        )}
        {tab === "behaviour" && (
          <SchemaForm
            schema={{ ...COMMON_SCHEMA, additionalProperties: false, properties: Object.fromEntries(Object.entries(COMMON_SCHEMA.properties!).filter(([k]) => k !== "name")) }}
            value={node.raw}
            onChange={onCommon}
            nodeIds={nodeIds}
          />
        )}
        {tab === "run" && run && <RunDetails nodeId={node.id} nodeType={node.type} />}
      </div>
    </div>
  );
}
