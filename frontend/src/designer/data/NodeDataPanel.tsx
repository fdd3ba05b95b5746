/**
 * The data of the selected node: the outputs of the nodes before it (pinned sample data, else the
 * last run's), the run's input, and its own last output, each field draggable onto a form field;
 * "Test step" runs this node alone on that data, "Pin" keeps an output as the node's sample data.
 */
import { useMemo, useState } from "react";
import { ChevronDown, ChevronRight, FlaskConical, Pin, PinOff } from "lucide-react";
import { ApiError } from "../../api/client";
import { runNodesFrom } from "../../lib/runControls";
import { useDesigner, useDesignerStoreApi } from "../store";
import { startTestRun } from "./api";
import { knownOutputShape, nodeData, nodesBefore, outputsBefore } from "./context";
import { DataTree } from "./DataTree";
import { useDataStore } from "./runData";
import { loadLastInput } from "./storage";

function parsedInput(workflow: string, fallback: unknown): unknown {
  const text = loadLastInput(workflow);
  if (text === null) return fallback ?? {};
  try {
    return JSON.parse(text);
  } catch {
    return fallback ?? {};
  }
}

function PinEditor({ nodeId, initial, onDone }: { nodeId: string; initial: unknown; onDone: () => void }) {
  const [text, setText] = useState(JSON.stringify(initial ?? {}, null, 2));
  const [error, setError] = useState("");
  const save = () => {
    try {
      useDataStore.getState().pin(nodeId, JSON.parse(text));
      onDone();
    } catch (e) {
      setError(`Not JSON: ${(e as Error).message}`);
    }
  };
  return (
    <div className="pin-editor">
      <textarea className="mono" rows={6} value={text} onChange={(e) => setText(e.target.value)} data-testid="pin-editor" aria-label={`Pinned output of ${nodeId}`} spellCheck={false} />
      {error && <div className="field-error">{error}</div>}
      <div className="row-actions">
        <button className="button small" onClick={onDone}>
          Cancel
        </button>
        <button className="button small primary" onClick={save} data-testid="pin-save">
          Pin this output
        </button>
      </div>
    </div>
  );
}

export function NodeDataPanel({ nodeId }: { nodeId: string }) {
  const store = useDesignerStoreApi();
  const graph = useDesigner((s) => s.graph);
  const execution = useDataStore((s) => s.execution);
  const pinned = useDataStore((s) => s.pinned);
  const workflow = useDataStore((s) => s.workflow);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState("");
  const [open, setOpen] = useState(true);
  const before = useMemo(() => nodesBefore(nodeId, graph.nodes, graph.edges), [nodeId, graph]);
  const data = nodeData([...before, nodeId], execution, pinned);
  const own = data[nodeId];
  const node = graph.nodes.find((n) => n.id === nodeId);

  const testStep = async () => {
    const { outputs, missing } = outputsBefore(nodeId, graph, execution, pinned);
    if (missing.length) {
      setMessage(`No data yet for ${missing.join(", ")}: run the workflow once, or pin data on ${missing.length > 1 ? "them" : "it"}.`);
      return;
    }
    setBusy(true);
    setMessage("");
    try {
      const result = await startTestRun({ yaml: store.getState().text, step: nodeId, pinned: outputs, input: parsedInput(workflow, execution?.input), wait: 30 });
      store.getState().setRun({ executionId: result.id, status: result.status, nodes: runNodesFrom(result), past: true });
      useDataStore.getState().setExecution(result);
      const step = (result.steps ?? []).find((s) => s.node_id === nodeId);
      setMessage(step ? `Step ${step.status}.` : `Test run ${result.status}.`);
    } catch (error) {
      setMessage(error instanceof ApiError ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="data-panel" data-testid="data-panel">
      <div className="data-panel-head">
        <button className="data-toggle" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="data-toggle" title={open ? "Fold the data away" : "Show the data"}>
          {open ? <ChevronDown size={13} /> : <ChevronRight size={13} />} <strong>Data</strong>
        </button>
        <span className="muted small">{open ? "drag a field onto a form field" : `${before.length} node${before.length === 1 ? "" : "s"} before this one`}</span>
        <button className="button small" onClick={() => void testStep()} disabled={busy} data-testid="test-step" title="Run this node alone on the data before it (pinned, else the last run)">
          <FlaskConical size={13} /> {busy ? "Testing…" : "Test step"}
        </button>
      </div>
      {message && (
        <div className="data-message small" data-testid="test-step-message">
          {message}
        </div>
      )}
      {open && before.length === 0 && (
        <details open className="data-source">
          <summary>
            input <span className="data-badge">{execution ? "last run" : "no run yet"}</span>
          </summary>
          <DataTree root="input" segments={[]} value={execution?.input ?? parsedInput(workflow, {})} />
        </details>
      )}
      {open && before.map((id) => {
        const item = data[id];
        const shape = item.source === "none" ? knownOutputShape(graph.nodes.find((n) => n.id === id)?.type ?? "", graph.nodes.find((n) => n.id === id)?.config) : null;
        return (
          <details open key={id} className="data-source" data-testid={`data-source-${id}`}>
            <summary>
              {id}{" "}
              <span className={`data-badge ${item.source}`}>{item.source === "pinned" ? "pinned" : item.source === "run" ? "last run" : "no data yet"}</span>
            </summary>
            {item.source !== "none" ? (
              <DataTree root="nodes" segments={[id, "output"]} value={item.output} />
            ) : shape ? (
              <DataTree root="nodes" segments={[id, "output"]} value={shape} />
            ) : (
              <p className="muted small">Run the workflow or pin data on {id} to see its fields.</p>
            )}
          </details>
        );
      })}
      {open && (
      <details open className="data-source own" data-testid="data-own">
        <summary>
          output of {nodeId} <span className={`data-badge ${own.source}`}>{own.source === "pinned" ? "pinned" : own.source === "run" ? own.status ?? "last run" : "not run yet"}</span>
        </summary>
        {own.source !== "none" && !editing && <DataTree root="nodes" segments={[nodeId, "output"]} value={own.output} />}
        {editing ? (
          <PinEditor nodeId={nodeId} initial={own.output ?? knownOutputShape(node?.type ?? "", node?.config) ?? {}} onDone={() => setEditing(false)} />
        ) : (
          <div className="row-actions">
            <button className="button small" onClick={() => setEditing(true)} data-testid="pin-edit" title="Give this node a sample output that test runs use instead of running it">
              <Pin size={13} /> {own.source === "pinned" ? "Edit pinned data" : own.source === "run" ? "Pin this output" : "Pin sample data"}
            </button>
            {own.source === "pinned" && (
              <button className="button small" onClick={() => useDataStore.getState().unpin(nodeId)} data-testid="unpin">
                <PinOff size={13} /> Unpin
              </button>
            )}
          </div>
        )}
      </details>
      )}
    </section>
  );
}
