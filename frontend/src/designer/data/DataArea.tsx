/**
 * The settings of a node with its data: the data panel above the form, and autocomplete and
 * preview in the form's expression fields, all on the same data (pinned, else the last run).
 */
import { useMemo, type ReactNode } from "react";
import { useParams } from "react-router-dom";
import { useDesigner, useDesignerStoreApi } from "../store";
import { expressionContext, knownOutputShape } from "./context";
import { ExpressionAssist } from "./ExpressionAssist";
import { NodeDataPanel } from "./NodeDataPanel";
import { useDataStore, useRunData } from "./runData";
import { workflowKey } from "./storage";
import "./data.css";

export function DataArea({ nodeId, children }: { nodeId: string; children: ReactNode }) {
  const { id } = useParams();
  useRunData(workflowKey(id), id);
  const store = useDesignerStoreApi();
  const graph = useDesigner((s) => s.graph);
  const text = useDesigner((s) => s.text);
  const execution = useDataStore((s) => s.execution);
  const pinned = useDataStore((s) => s.pinned);
  const secrets = useDataStore((s) => s.secrets);
  // ExpressionAssist reads the context only when it offers completions or a preview: it is built
  // then, on first reading, not on every edit (on a 500-node workflow, a few ms of each one).
  const context = useMemo(
    () =>
      lazyObject(() => {
        // (`spec.variables` alone, from the last parse: converting the whole Document, and parsing
        // it after each edit typed in the YAML, held every keystroke up.)
        const variables = store.getState().specValue("variables");
        const vars = variables !== null && typeof variables === "object" && !Array.isArray(variables) ? (variables as Record<string, unknown>) : {};
        const built = expressionContext(nodeId, graph, execution, pinned, undefined, { vars, secrets: secrets ?? [] });
        // Nodes with no data yet offer the fields their type is known to give.
        const nodes = built.nodes as Record<string, unknown>;
        for (const node of graph.nodes) {
          if (nodes[node.id] !== undefined) continue;
          const shape = knownOutputShape(node.type, node.config);
          if (shape) nodes[node.id] = { output: shape, status: "not run" };
          else nodes[node.id] = { output: {}, status: "not run" };
        }
        return built;
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [nodeId, graph, execution, pinned, secrets, text, store],
  );
  return (
    <ExpressionAssist context={context}>
      <NodeDataPanel nodeId={nodeId} />
      {children}
    </ExpressionAssist>
  );
}

/** An object that is what `build()` returns, built the first time it is read (keys, values, spread). */
function lazyObject<T extends object>(build: () => T): T {
  let built: T | null = null;
  const target = () => (built ??= build());
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(target(), key),
    has: (_, key) => Reflect.has(target(), key),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_, key) => {
      const found = Reflect.getOwnPropertyDescriptor(target(), key);
      return found && { ...found, configurable: true };
    },
  });
}
