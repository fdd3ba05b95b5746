import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type DragEvent } from "react";
import {
  Background,
  BackgroundVariant,
  Controls,
  MarkerType,
  MiniMap,
  Panel,
  ReactFlow,
  useReactFlow,
  useStore as useFlowStore,
  useStoreApi,
  useUpdateNodeInternals,
  type Connection,
  type Edge,
  type EdgeChange,
  type MiniMapNodeProps,
  type Node,
  type NodeChange,
  type NodeTypes,
  type Viewport,
} from "@xyflow/react";
import { autoLayout, displayPositions, NODE_HEIGHT, NODE_WIDTH } from "../lib/layout";
import { drawnAsGiven, edgeSourceHandle, geometryMatchesDom, sharedNodeGeometry, type NodeGeometry, type NodeShape } from "../lib/nodeGeometry";
import { nodeDetailAt } from "../lib/levelOfDetail";
import { measureSince } from "../lib/perf";
import { fittedViewport } from "../lib/viewport";
import { reuseUnchanged, sameValue } from "../lib/reuse";
import { displayStatus, runNodeNote } from "../lib/runControls";
import { hasSuccessOutput, outputPorts } from "../lib/nodeKinds";
import { addCompensation, addEdge, addNode, moveNodes, setNodeField, uniqueId, type XY } from "../lib/workflowDoc";
import { isRoleEdge, removeRoleEdges, roleEdges, roleEdgesKey, type ConnectMode } from "./roleEdges";
import { clearOf } from "../lib/placement";
import { addNodeAfter, NodeActionsContext, type AddAfter } from "./addNodes";
import { NodePicker } from "./NodePicker";
import { FindNode } from "./FindNode";
import { layoutShapes } from "./useAutoLayout";
import { useDesigner, useDesignerStoreApi } from "./store";
import { NodeDetailContext } from "./nodes/detail";
import { WorkflowNode, type WorkflowFlowNode, type WorkflowNodeData } from "./nodes/WorkflowNode";
import type { Issue } from "../api/types";
import { toast } from "../components/toast";

export const NODE_DRAG_MIME = "application/x-mbflow-node-type";

// Defined once at module level: React Flow re-mounts every node if this object changes.
const nodeTypes: NodeTypes = { workflow: WorkflowNode };
// Props of <ReactFlow> that are objects live here too: a new object on every render makes React
// Flow update its store again, and each store update runs every node's and edge's selector.
const MULTI_SELECTION_KEYS = ["Shift", "Meta", "Control"];
const FIT_VIEW_OPTIONS = { padding: 0.25, maxZoom: 1 };
// Low enough for fit view to show a 300-node drawing whole (zoomed out, nodes are drawn compact).
export const MIN_ZOOM = 0.02;
// A drawing opens fitted down to this zoom at most: a big one opens showing part of itself, drawn
// in the detail that can be read (and only what is in view), and F / the fit button show it whole.
const OPEN_MIN_ZOOM = 0.2;
const MAX_ZOOM = 2;
const PRO_OPTIONS = { hideAttribution: true };
const DEFAULT_EDGE_OPTIONS = { type: "smoothstep" };
const MINIMAP_STYLE = { width: 150, height: 100 };
const ARROW = { type: MarkerType.ArrowClosed, width: 18, height: 18 };
// While the YAML does not parse, the last drawing that did is shown dimmed and read-only.
const READ_ONLY_FLOW_STYLE = { opacity: 0.55 };
const READ_ONLY_NOTICE_STYLE = { position: "absolute", top: 0, left: 0, right: 0, zIndex: 5 } as const;
const READ_ONLY_MESSAGE = "The YAML has a syntax error: the canvas shows the last version that parsed, read-only until the YAML is fixed.";

function summarize(type: string, config: Record<string, unknown>): string | undefined {
  const pick = (v: unknown) => (typeof v === "string" ? v : undefined);
  switch (type) {
    case "http":
      return config.url ? `${pick(config.method) ?? "GET"} ${pick(config.url) ?? ""}` : undefined;
    case "condition":
      return pick(config.expression);
    case "switch":
      return pick(config.value);
    case "delay":
      return pick(config.duration);
    case "llm":
      return pick(config.model);
    case "log":
      return pick(config.message);
    case "sub_workflow":
      return pick(config.workflow);
    default:
      return undefined;
  }
}

/** Adds a node of `type` at a canvas position; the id comes from the type. */
export function addNodeOfType(store: ReturnType<typeof useDesignerStoreApi>, type: string, position: XY): void {
  let newId = "";
  const done = store.getState().edit((doc) => {
    newId = uniqueId(doc, type);
    addNode(doc, { id: newId, type, position });
  });
  if (!done) {
    if (store.getState().canvasReadOnly) toast.info(READ_ONLY_MESSAGE);
    return;
  }
  if (newId) store.getState().select([newId]);
}

export function Canvas() {
  const store = useDesignerStoreApi();
  const graph = useDesigner((s) => s.graph);
  const issues = useDesigner((s) => s.issues);
  const selectedNodes = useDesigner((s) => s.selectedNodes);
  const selectedEdges = useDesigner((s) => s.selectedEdges);
  const nodeTypesCatalog = useDesigner((s) => s.nodeTypes);
  const run = useDesigner((s) => s.run);
  const readOnly = useDesigner((s) => s.canvasReadOnly);
  const flow = useReactFlow<WorkflowFlowNode, Edge>();
  const { screenToFlowPosition, flowToScreenPosition, fitView, getViewport } = flow;
  // The node picker a node's "+" opened: after which node and output, and where.
  const [picker, setPicker] = useState<AddAfter | null>(null);
  // What a connection drawn now writes: an edge, the source's `fallback`, or a compensation step.
  const [connectMode, setConnectMode] = useState<ConnectMode>("edge");
  const nodeActions = useMemo(() => ({ openPicker: (after: AddAfter) => setPicker(after) }), []);
  const flowStore = useStoreApi<WorkflowFlowNode, Edge>();
  const updateNodeInternals = useUpdateNodeInternals();
  // Re-renders the canvas only when the zoom crosses the level-of-detail threshold.
  const detail = useFlowStore((s) => nodeDetailAt(s.transform[2]));
  const refitted = useRef(false);
  const [dragging, setDragging] = useState<Record<string, XY>>({});
  const draggingNow = useRef<Record<string, XY>>({});
  // React Flow keeps the sizes it measured on its own copy of a node for as long as we hand it
  // the same node object; only a node object made anew must carry them (`measured`). So a
  // measurement is noted here and causes no render: re-rendering 500 nodes because React Flow
  // measured them is what used to double the first render.
  const dims = useRef(new Map<string, { width: number; height: number }>());
  // Fit once when a drawing is opened; an empty canvas must not jump to the first dropped node.
  const [fitOnOpen] = useState(() => store.getState().graph.nodes.length > 0);
  const host = useRef<HTMLDivElement>(null);

  // Nodes without a `position` in the YAML are placed by ELK for display only; nothing is
  // written until someone moves them or asks for an auto-layout.
  const [elkPositions, setElkPositions] = useState<Record<string, XY>>({});
  const unplaced = useMemo(() => graph.nodes.filter((n) => !n.position).map((n) => n.id).join(","), [graph]);
  useEffect(() => {
    if (!unplaced) return;
    let cancelled = false;
    const { nodes: allNodes, edges: allEdges } = store.getState().graph;
    autoLayout(allNodes, allEdges, layoutShapes(flow.getNodes()))
      .then((placed) => {
        if (cancelled) return;
        setElkPositions(placed);
        if (!refitted.current) {
          refitted.current = true;
          window.setTimeout(() => void fitView(FIT_VIEW_OPTIONS), 60);
        }
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [unplaced, graph.edges.length, store, fitView, flow]);
  const positions = useMemo(() => {
    const fallback = displayPositions(graph.nodes, graph.edges);
    return Object.fromEntries(graph.nodes.map((n) => [n.id, n.position ?? elkPositions[n.id] ?? fallback[n.id]]));
  }, [graph, elkPositions]);

  const issuesByNode = useMemo(() => {
    const map = new Map<string, Issue[]>();
    for (const issue of issues) {
      if (issue.node_id) map.set(issue.node_id, [...(map.get(issue.node_id) ?? []), issue]);
    }
    return map;
  }, [issues]);
  const issuesByEdge = useMemo(() => {
    const map = new Map<number, Issue[]>();
    for (const issue of issues) if (typeof issue.edge === "number") map.set(issue.edge, [...(map.get(issue.edge) ?? []), issue]);
    return map;
  }, [issues]);

  // Unchanged nodes and edges keep last render's objects, so React Flow and the memoised node
  // views skip them: one edit on a 500-node drawing re-renders what it changed, not everything.
  const nodeCache = useRef({ items: new Map<string, WorkflowFlowNode>(), last: [] as WorkflowFlowNode[] });
  // The node views are memoised on their props: a node object made anew only because React Flow
  // measured it, or it moved, keeps its `data` object, so its view does not render again.
  const dataCache = useRef(new Map<string, WorkflowNodeData>());
  const edgeCache = useRef({ items: new Map<string, Edge>(), last: [] as Edge[] });

  const [openingNodes] = useState(() => new Set(store.getState().graph.nodes.map((n) => n.id)));

  // Nodes are handed to React Flow with their size and handles (lib/nodeGeometry), so it draws
  // them and their edges without measuring first. `geometryOk` turns that off for good if the
  // model and the drawn nodes ever disagree; `given` is the geometry each node was last handed.
  const [geometryOk, setGeometryOk] = useState(true);
  const given = useRef(new Map<string, NodeGeometry>());

  // The inputs each node's flow node was last made from. A node whose inputs are the very same
  // values keeps its flow node as it is, unbuilt and uncompared: on an edit of a big drawing, that
  // is nearly every node (LiveWorkflow keeps the GraphNode of every item the edit did not touch).
  const madeFrom = useRef(new Map<string, { inputs: unknown[]; node: WorkflowFlowNode; geometry: NodeGeometry | null }>());

  // Each node's outputs (the source handles it is drawn with), which the edges leaving it are
  // drawn from (lib/nodeGeometry `edgeSourceHandle`). Noted as nodes are made; `version` moves
  // only when the outputs of a node some edge leaves change, so the edges are not made again
  // for every edit of a node.
  const edgeSources = useMemo(() => new Set(graph.edges.map((e) => e.from)), [graph.edges]);
  const outputs = useRef({ byNode: new Map<string, Pick<NodeShape, "ports" | "success">>(), version: 0 });

  // Compensation steps that undo no one node: shown as a badge on their node (the others as links).
  const compensationOnly = useMemo(
    () => new Set((graph.compensation ?? []).filter((s) => !s.compensates && !s.when_failed).map((s) => s.node)),
    [graph.compensation],
  );

  const nodes: WorkflowFlowNode[] = useMemo(() => {
    const selected = new Set(selectedNodes);
    given.current.clear();
    const made: [string, unknown[], NodeGeometry | null][] = [];
    const result = reuseUnchanged(nodeCache.current, graph.nodes.map((n): WorkflowFlowNode => {
      const nodeType = nodeTypesCatalog[n.type];
      const issues = issuesByNode.get(n.id) ?? NO_ISSUES;
      const status = displayStatus(run?.nodes[n.id]);
      const statusNote = runNodeNote(run?.nodes[n.id]);
      const position = dragging[n.id] ?? positions[n.id];
      // (`raw`, the node's item as data, is what its fields are read from; `index` does not show.)
      const undoesOnFailure = compensationOnly.has(n.id);
      const inputs = [n.raw, nodeType, issues, status, statusNote, position, selected.has(n.id), geometryOk, dims.current.get(n.id), undoesOnFailure];
      const last = madeFrom.current.get(n.id);
      if (last && sameInputs(last.inputs, inputs)) {
        if (last.geometry) given.current.set(n.id, last.geometry);
        return last.node;
      }
      const data = sameData(dataCache.current, {
        nodeId: n.id,
        type: n.type,
        name: n.name,
        typeTitle: nodeType?.title ?? n.type,
        known: Boolean(nodeType),
        ports: outputPorts(n, nodeType),
        success: hasSuccessOutput(nodeType),
        issues,
        status,
        statusNote,
        summary: summarize(n.type, n.config),
        when: n.raw.when === undefined || n.raw.when === null ? undefined : String(n.raw.when),
        compensation: undoesOnFailure || undefined,
      });
      const known = outputs.current.byNode.get(n.id);
      if (!known || known.success !== data.success || !sameList(known.ports, data.ports)) {
        outputs.current.byNode.set(n.id, { ports: data.ports, success: data.success });
        if (edgeSources.has(n.id)) outputs.current.version++;
      }
      const geometry = sharedNodeGeometry({ summary: Boolean(data.summary), ports: data.ports, success: data.success });
      // A node showing an error has a row the model does not size (its message wraps): React
      // Flow measures it, starting from its last known size so it is not hidden meanwhile.
      if (geometryOk && !data.issues.some((i) => i.severity !== "warning")) {
        given.current.set(n.id, geometry);
        made.push([n.id, inputs, geometry]);
        return {
          id: n.id,
          type: "workflow" as const,
          position: position ?? { x: 0, y: 0 },
          selected: selected.has(n.id),
          measured: geometry.measured,
          handles: geometry.handles,
          data,
        };
      }
      const measured = dims.current.get(n.id) ?? (geometryOk ? geometry.measured : undefined);
      made.push([n.id, inputs, null]);
      return {
        id: n.id,
        type: "workflow" as const,
        position: position ?? { x: 0, y: 0 },
        selected: selected.has(n.id),
        measured,
        // Without the model, the opening drawing's nodes get a size to draw with before React
        // Flow has measured them: without one it keeps every node hidden until its first
        // measuring pass, which on a big drawing is late.
        ...(openingNodes.has(n.id) && !measured ? { initialWidth: NODE_WIDTH, initialHeight: NODE_HEIGHT } : {}),
        data,
      };
    }));
    // (The node kept is the one React Flow has: an equal one made anew gave way to it.)
    for (const [id, inputs, geometry] of made) madeFrom.current.set(id, { inputs, node: nodeCache.current.items.get(id)!, geometry });
    return result;
  }, [graph, positions, dragging, selectedNodes, nodeTypesCatalog, issuesByNode, run, openingNodes, geometryOk, edgeSources, compensationOnly]);
  const outputsVersion = outputs.current.version;

  // The model is checked against the drawn nodes once per node shape, when the page is idle.
  const checkedShapes = useRef(new Set<NodeGeometry>());
  const dropped = useRef(false);
  const dropGeometry = useCallback((why: string) => {
    if (dropped.current) return;
    dropped.current = true;
    console.warn(`${why}: measuring every node instead of using lib/nodeGeometry.`);
    setGeometryOk(false);
    // React Flow keeps the handles it was given until told to measure the nodes again.
    window.setTimeout(() => updateNodeInternals(store.getState().graph.nodes.map((n) => n.id)), 0);
  }, [store, updateNodeInternals]);
  useEffect(() => {
    if (!geometryOk) return;
    const pending = new Map<NodeGeometry, string>();
    for (const [id, geometry] of given.current) {
      if (!checkedShapes.current.has(geometry) && !pending.has(geometry)) pending.set(geometry, id);
    }
    if (pending.size === 0) return;
    const check = () => {
      const zoom = getViewport().zoom;
      for (const [geometry, id] of pending) {
        const element = document.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(id)}"]`);
        if (!element) continue;
        checkedShapes.current.add(geometry);
        if (!geometryMatchesDom(element, geometry, zoom)) {
          dropGeometry(`Node ${id} is drawn with another size or other handle places than lib/nodeGeometry gives`);
          return;
        }
      }
    };
    const idle = typeof window.requestIdleCallback === "function" ? window.requestIdleCallback(check, { timeout: 3000 }) : window.setTimeout(check, 200);
    return () => (typeof window.cancelIdleCallback === "function" ? window.cancelIdleCallback(idle) : window.clearTimeout(idle));
  }, [nodes, geometryOk, getViewport, dropGeometry]);
  // React Flow measures each node it mounts (a ResizeObserver's first report), even one handed to
  // it with its size and handles, and gives it new internals, which re-renders every node and
  // edge: on a 500-node drawing, ~250 ms between the first frame and its paint. A report for a node
  // drawn at exactly the size it was given is dropped; any other (a size the model got wrong, a
  // node it does not cover, every node once the model is dropped) goes on to React Flow as before.
  // Installed before React Flow is first rendered (see `opening`): its ResizeObserver keeps the
  // function it finds then.
  useLayoutEffect(() => {
    const measure = flowStore.getState().updateNodeInternals;
    flowStore.setState({
      updateNodeInternals: (updates, params) => {
        // (A fit of the view waiting for the nodes' sizes is let through too: it happens there.)
        if (!dropped.current && !flowStore.getState().fitViewQueued) {
          const { nodeLookup } = flowStore.getState();
          for (const [id, update] of updates) {
            const known = nodeLookup.get(id);
            const state = known && { measured: known.measured, hasHandles: known.internals.handleBounds !== undefined };
            if (drawnAsGiven(given.current.get(id), state, update.nodeElement)) updates.delete(id);
          }
        }
        if (updates.size > 0) measure(updates, params);
      },
    });
    return () => flowStore.setState({ updateNodeInternals: measure });
  }, [flowStore]);

  // React Flow is first rendered once this has run, before the first paint.
  const [opening, setOpening] = useState<{ viewport: Viewport | null } | null>(null);
  useLayoutEffect(() => {
    if (opening) return;
    // The view a drawing opens with is fitted here (lib/viewport): React Flow's own `fitView`
    // waits for the nodes' first paint. With no size to fit to yet, React Flow's does it.
    const box = host.current;
    const fallback = { width: NODE_WIDTH, height: NODE_HEIGHT };
    const viewport =
      fitOnOpen && box ? fittedViewport(nodes, box.clientWidth, box.clientHeight, { ...FIT_VIEW_OPTIONS, minZoom: OPEN_MIN_ZOOM, fallback }) : null;
    // React Flow takes `defaultViewport` in an effect after its first render: until then it
    // would draw the nodes and edges in view at zoom 1, in full detail, and then all again.
    if (viewport) flowStore.setState({ transform: [viewport.x, viewport.y, viewport.zoom] });
    setOpening({ viewport });
  }, [opening, nodes, fitOnOpen, flowStore]);

  useEffect(() => {
    // Forget the data of nodes that are gone.
    if (dataCache.current.size > nodes.length || madeFrom.current.size > nodes.length) {
      const ids = new Set(nodes.map((n) => n.id));
      for (const id of dataCache.current.keys()) if (!ids.has(id)) dataCache.current.delete(id);
      for (const id of madeFrom.current.keys()) if (!ids.has(id)) madeFrom.current.delete(id);
      for (const id of outputs.current.byNode.keys()) if (!ids.has(id)) outputs.current.byNode.delete(id);
    }
  }, [nodes]);

  const edges: Edge[] = useMemo(() => {
    const selected = new Set(selectedEdges);
    return reuseUnchanged(edgeCache.current, graph.edges.map((e): Edge => {
      const problems = issuesByEdge.get(e.index) ?? [];
      // A port the node has no output of: drawn from its default handle, as an error, so it can
      // still be seen, selected and deleted (React Flow drops an edge whose handle is missing).
      const { handle, missing } = edgeSourceHandle(e, outputs.current.byNode.get(e.from));
      const error = problems.length > 0 || missing !== undefined;
      const label = e.port ?? (e.on !== "success" ? e.on : undefined) ?? (e.condition ? "if" : undefined);
      const classes = [`edge-${e.on}`, error ? "edge-error" : "", e.port ? "edge-port" : ""].join(" ");
      const messages = problems.map((p) => p.message);
      if (missing !== undefined && messages.length === 0) messages.push(`Node ${e.from} has no output "${missing}"`);
      return {
        id: e.key,
        source: e.from,
        target: e.to,
        sourceHandle: handle,
        targetHandle: "in",
        selected: selected.has(e.key),
        label: error ? `⚠ ${label ?? ""}`.trim() : label,
        className: classes,
        animated: run ? run.nodes[e.from]?.status === "succeeded" && !run.nodes[e.to] : false,
        markerEnd: ARROW,
        // Zoomed out (lib/levelOfDetail), an edge is drawn without its invisible 20 px wide
        // twin that widens where it can be clicked: on a fitted 500-node drawing that was ~750
        // of its ~5,300 elements, paid for on the first render and by every frame. Zoomed in,
        // where an edge is picked by clicking it, it has it again.
        interactionWidth: detail === "compact" ? 0 : undefined,
        // No `index` here: it shifts when an earlier edge goes, and would make every later edge new.
        data: { title: e.condition ?? messages.join("; ") },
      };
    }));
    // (`outputsVersion`: the nodes' outputs, read from `outputs`, changed.)
  }, [graph.edges, selectedEdges, issuesByEdge, run, detail, outputsVersion]);

  // Fallback and compensation links, drawn after the edges; the same array while they are unchanged.
  const roleCache = useRef({ key: "", edges: [] as Edge[] });
  const linked = useMemo(() => {
    const made = roleEdges(graph, new Set(selectedEdges));
    const key = roleEdgesKey(made);
    if (key !== roleCache.current.key) roleCache.current = { key, edges: made };
    return roleCache.current.edges;
  }, [graph, selectedEdges]);
  const allEdges = useMemo(() => (linked.length ? [...edges, ...linked] : edges), [edges, linked]);

  // Delete / Backspace on a selected fallback or compensation link removes it from the YAML
  // (before the designer's own Delete, which removes the selected nodes and edges).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Delete" && event.key !== "Backspace") return;
      const target = event.target as HTMLElement | null;
      if (target && (target.closest("input, textarea, select, [contenteditable=true], .cm-editor") !== null)) return;
      const { selectedEdges: chosen, selectedNodes: nodesChosen } = store.getState();
      const links = chosen.filter(isRoleEdge);
      if (links.length === 0) return;
      if (store.getState().edit((doc) => removeRoleEdges(doc, links))) {
        store.getState().select(nodesChosen, chosen.filter((key) => !isRoleEdge(key)));
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [store]);

  // For the bench: from the text change to this component's commit (React Flow's own pass follows).
  useLayoutEffect(() => measureSince("text-changed→canvas-commit", "text-changed"), [graph]);

  const onNodesChange = useCallback(
    (changes: NodeChange<WorkflowFlowNode>[]) => {
      const moved: Record<string, XY> = {};
      let finished = false;
      let selection: Set<string> | null = null;
      const dimUpdates: Record<string, { width: number; height: number }> = {};
      for (const change of changes) {
        if (change.type === "position" && change.position) {
          moved[change.id] = change.position;
          if (!change.dragging) finished = true;
        } else if (change.type === "position" && change.dragging === false) {
          finished = true;
        } else if (change.type === "select") {
          selection ??= new Set(store.getState().selectedNodes);
          if (change.selected) selection.add(change.id);
          else selection.delete(change.id);
        } else if (change.type === "dimensions" && change.dimensions) {
          dimUpdates[change.id] = change.dimensions;
        }
      }
      for (const [id, size] of Object.entries(dimUpdates)) {
        dims.current.set(id, size);
        // React Flow measured a node it was given a size for, and found another one.
        const geometry = given.current.get(id);
        if (geometry && (geometry.width !== size.width || geometry.height !== size.height)) {
          dropGeometry(`Node ${id} measures ${size.width}×${size.height}, not ${geometry.width}×${geometry.height}`);
        }
      }
      if (selection) store.getState().select([...selection], store.getState().selectedEdges);
      if (Object.keys(moved).length || finished) {
        const next = { ...draggingNow.current, ...moved };
        draggingNow.current = finished ? {} : next;
        // The drag ended: write every moved node's position into the YAML as one step.
        if (finished && Object.keys(next).length) store.getState().edit((doc) => moveNodes(doc, next), undefined, Object.keys(next));
        setDragging(draggingNow.current);
      }
    },
    [store, dropGeometry],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      let selection: Set<string> | null = null;
      for (const change of changes) {
        if (change.type === "select") {
          selection ??= new Set(store.getState().selectedEdges);
          if (change.selected) selection.add(change.id);
          else selection.delete(change.id);
        }
      }
      if (selection) store.getState().select(store.getState().selectedNodes, [...selection]);
    },
    [store],
  );

  const onConnect = useCallback(
    (connection: Connection) => {
      const handle = connection.sourceHandle ?? "success";
      if (connectMode !== "edge") {
        // A fallback, or a compensation step undoing the source: one link each, then edges again.
        if (connection.source === connection.target) return;
        store.getState().edit((doc) => {
          if (connectMode === "fallback") setNodeField(doc, connection.source, ["fallback"], connection.target);
          else addCompensation(doc, { node: connection.target, compensates: connection.source });
        });
        setConnectMode("edge");
        return;
      }
      store.getState().edit((doc) => {
        addEdge(doc, {
          from: connection.source,
          to: connection.target,
          on: handle === "failure" ? "failure" : "success",
          port: handle.startsWith("port:") ? handle.slice(5) : undefined,
        });
      });
    },
    [store, connectMode],
  );

  // React Flow follows Shift / Ctrl / Meta anywhere on the page and updates its store on every
  // press, which runs every node's and edge's selector: on a big drawing, a capital letter or a
  // Ctrl+Z typed in the YAML editor paid for that. The keys are followed only while the pointer
  // is over the canvas or the focus is in it, which is when they mean something.
  const keyScopes = useRef({ pointer: false, focus: false });
  const [keysActive, setKeysActive] = useState(false);
  const setKeysFor = useCallback((scope: "pointer" | "focus", on: boolean) => {
    keyScopes.current[scope] = on;
    setKeysActive(keyScopes.current.pointer || keyScopes.current.focus);
  }, []);

  const onDrop = useCallback(
    (event: DragEvent) => {
      event.preventDefault();
      const type = event.dataTransfer.getData(NODE_DRAG_MIME) || event.dataTransfer.getData("text/plain");
      if (!type) return;
      let at = screenToFlowPosition({ x: event.clientX, y: event.clientY });
      at = { x: at.x - 100, y: at.y - 30 };
      // Dropped near a corner: moved out from under the minimap and the zoom controls, and onto
      // the canvas, so the new node can be seen.
      const canvas = host.current?.getBoundingClientRect();
      if (canvas) {
        const zoom = getViewport().zoom;
        const corner = flowToScreenPosition(at);
        const overlays = [...(host.current?.querySelectorAll(".react-flow__minimap, .react-flow__controls") ?? [])].map((el) => {
          const r = el.getBoundingClientRect();
          return { x: r.left, y: r.top, width: r.width, height: r.height };
        });
        const move = clearOf(
          { x: corner.x, y: corner.y, width: NODE_WIDTH * zoom, height: NODE_HEIGHT * zoom },
          overlays,
          { x: canvas.left, y: canvas.top, width: canvas.width, height: canvas.height },
        );
        at = { x: at.x + move.x / zoom, y: at.y + move.y / zoom };
      }
      addNodeOfType(store, type, at);
    },
    [screenToFlowPosition, flowToScreenPosition, getViewport, store],
  );

  return (
    <div
      ref={host}
      className="canvas"
      data-testid="canvas"
      onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }}
      onDrop={onDrop}
      onPointerEnter={() => setKeysFor("pointer", true)}
      onPointerLeave={() => setKeysFor("pointer", false)}
      onFocus={() => setKeysFor("focus", true)}
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as globalThis.Node | null)) setKeysFor("focus", false);
      }}
    >
      <NodeActionsContext.Provider value={nodeActions}>
      <NodeDetailContext.Provider value={detail}>
        {opening && (
          <ReactFlow<WorkflowFlowNode, Edge>
            nodes={nodes}
            edges={allEdges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            // Read-only while the YAML does not parse: an edit could not be written without
            // replacing what is being typed (the store refuses it).
            nodesDraggable={!readOnly}
            nodesConnectable={!readOnly}
            style={readOnly ? READ_ONLY_FLOW_STYLE : undefined}
            // Delete / Backspace are the designer's shortcuts (pages/DesignerPage, store.removeSelection):
            // React Flow's own handling went through a key state render and an update of its store
            // (every node's and edge's selector again) before removing anything, ~5 ms on a big drawing.
            deleteKeyCode={null}
            multiSelectionKeyCode={keysActive ? MULTI_SELECTION_KEYS : null}
            selectionKeyCode={keysActive ? "Shift" : null}
            // (Space is typed in the editor: following it anywhere re-rendered React Flow's panes.)
            panActivationKeyCode={keysActive ? "Space" : null}
            // Without panOnScroll, a wheel zooms with or without this key held (React Flow's
            // default, Control): following it only re-rendered the panes on every Ctrl+Z.
            zoomActivationKeyCode={null}
            fitView={fitOnOpen && !opening.viewport}
            fitViewOptions={FIT_VIEW_OPTIONS}
            defaultViewport={opening.viewport ?? undefined}
            minZoom={MIN_ZOOM}
            maxZoom={MAX_ZOOM}
            // Nodes and edges outside the view are not drawn: a fit view of a 500-node drawing
            // shows fewer than half of them, and zoomed in a few dozen. Every change to the canvas
            // then renders, lays out and paints what can be seen, not the whole drawing.
            onlyRenderVisibleElements
            proOptions={PRO_OPTIONS}
            defaultEdgeOptions={DEFAULT_EDGE_OPTIONS}
          >
            <Background variant={BackgroundVariant.Dots} gap={18} size={1.2} color="#cfd4dc" />
            <MiniMap
              pannable
              zoomable
              style={MINIMAP_STYLE}
              nodeColor={minimapColor}
              nodeStrokeColor={minimapStroke}
              nodeClassName={minimapClassName}
              nodeComponent={MiniMapRect}
            />
            <Controls showInteractive={false} />
            {!readOnly && (
              <Panel position="top-left">
                <div className="connect-modes" role="group" aria-label="What a connection you draw makes" data-testid="connect-modes">
                  {CONNECT_MODES.map(([mode, label, title]) => (
                    <button
                      key={mode}
                      type="button"
                      className={`mode-${mode}`}
                      aria-pressed={connectMode === mode}
                      title={title}
                      data-testid={`connect-mode-${mode}`}
                      onClick={() => setConnectMode(mode)}
                    >
                      {label}
                    </button>
                  ))}
                </div>
              </Panel>
            )}
          </ReactFlow>
        )}
      </NodeDetailContext.Provider>
      </NodeActionsContext.Provider>
      <FindNode />
      {picker && (
        <NodePicker
          catalog={nodeTypesCatalog}
          at={{ left: picker.anchor.right + 8, top: picker.anchor.top - 8 }}
          onClose={() => setPicker(null)}
          onPick={(type) => {
            setPicker(null);
            const added = addNodeAfter(store, flow, type, picker);
            // A node added past the edge of the view is brought into it (same zoom).
            const box = host.current?.getBoundingClientRect();
            if (!added || !box) return;
            const { x, y } = added.position;
            const topLeft = flowToScreenPosition({ x, y });
            const bottomRight = flowToScreenPosition({ x: x + NODE_WIDTH, y: y + NODE_HEIGHT });
            if (topLeft.x < box.left || topLeft.y < box.top || bottomRight.x > box.right || bottomRight.y > box.bottom) {
              void flow.setCenter(x + NODE_WIDTH / 2, y + NODE_HEIGHT / 2, { zoom: getViewport().zoom, duration: 200 });
            }
          }}
        />
      )}
      {readOnly && (
        <div className="banner" style={READ_ONLY_NOTICE_STYLE} role="status" data-testid="canvas-read-only">
          <span>{READ_ONLY_MESSAGE}</span>
        </div>
      )}
      {graph.nodes.length === 0 && graph.native && (
        <div className="canvas-empty">
          <strong>Drag a node type from the palette</strong>
          <span>or type YAML on the right — both stay in sync.</span>
        </div>
      )}
    </div>
  );
}

const NO_ISSUES: Issue[] = [];

const CONNECT_MODES: [ConnectMode, string, string][] = [
  ["edge", "Edge", "A connection you draw is an edge (on success, on failure from the red handle, or from a port)"],
  ["fallback", "Fallback", "The next connection you draw makes its target the source's fallback (run in its place when it fails)"],
  ["compensation", "Compensation", "The next connection you draw adds a compensation step: the target undoes the source when the run fails"],
];

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function sameInputs(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** `data`, or the cached data of the same node when every field is equal (arrays item by item). */
function sameData(cache: Map<string, WorkflowNodeData>, data: WorkflowNodeData): WorkflowNodeData {
  const cached = cache.get(data.nodeId);
  if (cached && sameValue(cached, data, 2)) return cached;
  cache.set(data.nodeId, data);
  return data;
}

/**
 * A node on the minimap: a plain rectangle. React Flow's own draws rounded corners (under a pixel
 * at the minimap's scale) and a stroke (transparent here), with a style object for each, paid for
 * by every node of the drawing each time the minimap is drawn again.
 */
const MiniMapRect = memo(function MiniMapRect({ x, y, width, height, color }: MiniMapNodeProps) {
  // (No `react-flow__minimap-node` class: its stylesheet fill would win over this one.)
  return <rect x={x} y={y} width={width} height={height} fill={color} shapeRendering="crispEdges" />;
});

// The minimap wraps a colour or class name given as a value in a function made anew on each of its
// renders, which re-rendered all of its nodes (memoised on those functions) whenever a node was
// added or removed: these are given as functions, once.
function minimapStroke(): string {
  return "none";
}

function minimapClassName(): string {
  return "";
}

function minimapColor(flowNode: Node): string {
  const node = flowNode as WorkflowFlowNode;
  const status = node.data.status;
  if (status === "succeeded" || status === "reused") return "#12b76a";
  if (status === "failed") return "#f04438";
  if (status === "running" || status === "retrying") return "#2e90fa";
  if (node.data.issues.length) return "#f04438";
  return "#a4a7f5";
}
