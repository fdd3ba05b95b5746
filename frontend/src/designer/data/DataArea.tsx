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
  const context = useMemo(() => {
    const vars = (store.getState().getDoc()?.toJS() as { spec?: { variables?: Record<string, unknown> } } | undefined)?.spec?.variables ?? {};
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
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [nodeId, graph, execution, pinned, secrets, text, store]);
  return (
    <ExpressionAssist context={context}>
      <NodeDataPanel nodeId={nodeId} />
      {children}
    </ExpressionAssist>
  );
}
