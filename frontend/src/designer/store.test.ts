import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createDesignerStore } from "./store";
import { LiveWorkflow } from "../lib/liveDoc";
import { addEdge, addNode, moveNodes, parseWorkflow } from "../lib/workflowDoc";
import { edgeSourceHandle } from "../lib/nodeGeometry";
import { FALLBACK_NODE_TYPES, hasSuccessOutput, outputPorts } from "../lib/nodeKinds";

const commented = readFileSync(join(__dirname, "../__fixtures__/commented.yaml"), "utf8");

describe("the designer store", () => {
  it("turns canvas edits into YAML and undoes / redoes them as steps", () => {
    const store = createDesignerStore(commented);
    const s = () => store.getState();
    s().edit((doc) => addNode(doc, { id: "audit", type: "log", position: { x: 10, y: 20 } }));
    s().edit((doc) => addEdge(doc, { from: "shape", to: "audit" }));
    expect(s().graph.nodes.map((n) => n.id)).toEqual(["start", "shape", "audit"]);
    expect(s().graph.edges).toHaveLength(2);
    expect(s().canUndo).toBe(true);

    s().undo();
    expect(s().graph.edges).toHaveLength(1);
    s().undo();
    expect(s().text).toBe(commented);
    expect(s().canUndo).toBe(false);
    s().redo();
    s().redo();
    expect(s().graph.edges.map((e) => e.to)).toEqual(["shape", "audit"]);
    expect(s().canRedo).toBe(false);
  });

  it("reads spec values (the variables) as the Document has them, after typing and canvas edits too", () => {
    const text = `apiVersion: mbflow/v1
kind: Workflow
metadata:
  name: vars
spec:
  variables:
    region: eu # where
    limits: {max: 3}
  nodes:
    - id: a
      type: log
      position: {x: 0, y: 0}
  edges: []
`;
    const store = createDesignerStore(text);
    const s = () => store.getState();
    const fromDoc = () => (s().getDoc()?.toJS() as { spec: Record<string, unknown> }).spec;
    expect(s().specValue("variables")).toEqual({ region: "eu", limits: { max: 3 } });
    s().setText(s().text.replace("region: eu", "region: us"), "editor");
    expect(s().specValue("variables")).toEqual(fromDoc().variables);
    s().edit((doc) => moveNodes(doc, { a: { x: 5, y: 6 } }), undefined, ["a"]);
    expect(s().specValue("variables")).toEqual({ region: "us", limits: { max: 3 } });
    expect(s().specValue("variables")).toEqual(fromDoc().variables);
    expect(s().specValue("missing")).toBeUndefined();
    // A syntax error: nothing (as the Document, which there is none of).
    s().setText(s().text.replace("limits: {max: 3}", "limits: {max: 3"), "editor");
    expect(s().specValue("variables")).toBeUndefined();
  });

  it("derives the same graph from a canvas edit's Document as from parsing its text", () => {
    const store = createDesignerStore(commented);
    const s = () => store.getState();
    s().edit((doc) => addNode(doc, { id: "audit", type: "log", position: { x: 10, y: 20 } }));
    s().edit((doc) => moveNodes(doc, { start: { x: 7, y: 8 } }));
    s().edit((doc) => addEdge(doc, { from: "shape", to: "audit" }));
    const reparsed = parseWorkflow(s().text);
    expect(s().graph).toEqual(reparsed.graph);
    expect(s().getDoc()?.toJS()).toEqual(reparsed.doc?.toJS());
  });

  it("takes YAML typed in the editor, keeping the last good graph through a syntax error", () => {
    const store = createDesignerStore(commented);
    const s = () => store.getState();
    const revision = s().externalRevision;
    s().setText(commented.replace("id: shape", "id: shaped").replace("to: shape}", "to: shaped}"), "editor", "editor");
    expect(s().graph.nodes.map((n) => n.id)).toEqual(["start", "shaped"]);
    expect(s().externalRevision).toBe(revision); // the editor already shows it
    s().setText(commented + "\n  bad: [unclosed\n", "editor", "editor");
    expect(s().parseProblems.length).toBeGreaterThan(0);
    expect(s().graph.nodes.map((n) => n.id)).toEqual(["start", "shaped"]);
  });

  it("removes the selection (nodes with their edges, and selected edges) as one step and clears it", () => {
    const store = createDesignerStore(commented);
    const s = () => store.getState();
    s().select(["shape"]);
    s().removeSelection();
    expect(s().graph.nodes.map((n) => n.id)).toEqual(["start"]);
    expect(s().graph.edges).toEqual([]);
    expect(s().selectedNodes).toEqual([]);
    expect(s().text).toContain("# The entry point."); // comments stay
    s().undo();
    expect(s().text).toBe(commented);

    const edge = s().graph.edges[0].key;
    s().select([], [edge]);
    s().removeSelection();
    expect(s().graph.nodes.map((n) => n.id)).toEqual(["start", "shape"]);
    expect(s().graph.edges).toEqual([]);
    expect(s().selectedEdges).toEqual([]);

    const before = s().text;
    s().removeSelection(); // nothing selected: nothing happens
    expect(s().text).toBe(before);
  });

  it("prepares the first edit of an opened text once the page has been quiet a while", () => {
    vi.useFakeTimers();
    const prime = vi.spyOn(LiveWorkflow.prototype, "prime");
    try {
      const store = createDesignerStore(commented);
      vi.advanceTimersByTime(1000);
      expect(prime).not.toHaveBeenCalled(); // the page is still being drawn
      vi.advanceTimersByTime(1500);
      expect(prime).toHaveBeenCalledWith(commented, true);
      expect(store.getState().getDoc()?.toJS()).toEqual(parseWorkflow(commented).doc?.toJS());
    } finally {
      prime.mockRestore();
      vi.useRealTimers();
    }
  });

  it("refuses canvas edits while the YAML does not parse", () => {
    const store = createDesignerStore("spec: [unclosed\n");
    store.getState().edit((doc) => moveNodes(doc, { a: { x: 1, y: 1 } }));
    expect(store.getState().text).toBe("spec: [unclosed\n");
  });

  it("shows the last graph that parsed, title and all, read-only while typed YAML does not parse", () => {
    const store = createDesignerStore(commented);
    const s = () => store.getState();
    const graph = s().graph;
    expect(s().canvasReadOnly).toBe(false);
    s().select(["shape"]);
    // `edges: [` typed over the edge list, a character at a time.
    const head = commented.slice(0, commented.indexOf("  edges:"));
    for (const typed of ["  edges: ", "  edges: ["]) s().setText(`${head}${typed}\n`, "editor", "editor");
    const broken = s().text;
    expect(s().parseProblems.length).toBeGreaterThan(0); // still reported (problems list, editor)
    expect(s().canvasReadOnly).toBe(true);
    expect(s().graph.nodes.map((n) => n.id)).toEqual(["start", "shape"]);
    expect(s().graph.title).toBe("Greet a user");
    expect(s().graph.nodes).toBe(graph.nodes);
    expect(s().selectedNodes).toEqual(["shape"]);

    // Canvas and form edits are refused: the typed text stays as it is, and no undo step is made.
    const undoSteps = s().history.canUndo();
    expect(s().edit((doc) => moveNodes(doc, { start: { x: 1, y: 1 } }), undefined, ["start"])).toBe(false);
    expect(s().edit((doc) => addNode(doc, { id: "x", type: "log", position: { x: 0, y: 0 } }))).toBe(false);
    expect(s().remove(["shape"])).toBe(false);
    s().removeSelection();
    expect(s().text).toBe(broken);
    expect(s().selectedNodes).toEqual(["shape"]);
    expect(s().history.canUndo()).toBe(undoSteps);
    expect(s().getDoc()).toBeNull();

    // Fixed: the text's own graph again, editable.
    s().setText(`${head}  edges: []\n`, "editor"); // (an undo step of its own)
    expect(s().parseProblems).toEqual([]);
    expect(s().canvasReadOnly).toBe(false);
    expect(s().graph.edges).toEqual([]);
    expect(s().graph.nodes).toEqual(graph.nodes);
    expect(s().edit((doc) => addEdge(doc, { from: "start", to: "shape" }))).toBe(true);
    expect(s().graph.edges.map((e) => e.key)).toEqual(["start->shape"]);

    // Undo back into the broken text: read-only again, with the graph before it.
    s().undo();
    expect(s().text).toBe(`${head}  edges: []\n`);
    s().undo();
    expect(s().text).toBe(broken);
    expect(s().canvasReadOnly).toBe(true);
    expect(s().graph.nodes.map((n) => n.id)).toEqual(["start", "shape"]);
  });

  it("is read-only from the start when the opened text does not parse, and editable once it does", () => {
    const store = createDesignerStore("spec: [unclosed\n");
    expect(store.getState().canvasReadOnly).toBe(true);
    store.getState().setText(commented, "editor");
    expect(store.getState().canvasReadOnly).toBe(false);
    store.getState().load("spec: [unclosed\n");
    expect(store.getState().canvasReadOnly).toBe(true);
  });

  it("keeps an edge whose port the node has no output of, drawable from a handle the node has, and deletable", () => {
    const text = [
      "apiVersion: mbflow/v1",
      "kind: Workflow",
      "metadata: {name: ports}",
      "spec:",
      "  nodes:",
      "    - {id: fetch, type: http, config: {url: 'https://example.com'}}",
      "    - {id: done, type: log}",
      "  edges:",
      "    - {from: fetch, to: done, port: nosuch}",
      "",
    ].join("\n");
    const store = createDesignerStore(text);
    const s = () => store.getState();
    s().setNodeTypes(FALLBACK_NODE_TYPES);
    const [edge] = s().graph.edges;
    expect(edge).toMatchObject({ key: "fetch->done", port: "nosuch" });
    const http = s().nodeTypes.http;
    const fetch = s().graph.nodes[0];
    expect(edgeSourceHandle(edge, { ports: outputPorts(fetch, http), success: hasSuccessOutput(http) })).toEqual({
      handle: "success",
      missing: "nosuch",
    });
    s().select([], [edge.key]);
    s().removeSelection();
    expect(s().graph.edges).toEqual([]);
    expect(s().text).not.toContain("nosuch");
  });

  it("knows when the text differs from the saved version", () => {
    const store = createDesignerStore(commented);
    store.getState().edit((doc) => moveNodes(doc, { start: { x: 5, y: 5 } }));
    expect(store.getState().text).not.toBe(store.getState().savedText);
    store.getState().markSaved();
    expect(store.getState().text).toBe(store.getState().savedText);
  });

  it("re-reads only the node whose YAML was typed, and edits one node's YAML on its own", () => {
    const store = createDesignerStore(commented);
    const s = () => store.getState();
    const [start, shape] = s().graph.nodes;
    s().setText(commented.replace("type: noop", "type: noop\n      name: Begin"), "editor", "editor");
    expect(s().graph.nodes[0]).not.toBe(start);
    expect(s().graph.nodes[0].name).toBe("Begin");
    expect(s().graph.nodes[1]).toBe(shape);
    s().edit((doc) => moveNodes(doc, { shape: { x: 9, y: 9 } }), undefined, ["shape"]);
    expect(s().text).toBe(commented.replace("type: noop", "type: noop\n      name: Begin").replace("{x: 300, y: 0}", "{x: 9, y: 9}"));
    expect(s().graph.nodes[1].position).toEqual({ x: 9, y: 9 });
    expect(s().getDoc()?.toJS()).toEqual(parseWorkflow(s().text).doc?.toJS());
    s().undo();
    expect(s().graph.nodes[1].position).toEqual({ x: 300, y: 0 });
  });

  it("removes nodes with their edges as one undo step, keeping the comments around them", () => {
    const store = createDesignerStore(commented);
    const s = () => store.getState();
    s().remove(["shape"]);
    expect(s().graph.nodes.map((n) => n.id)).toEqual(["start"]);
    expect(s().graph.edges).toEqual([]);
    expect(s().text).toContain("# The entry point.");
    expect(s().text).toContain("# Greets a new user");
    s().undo();
    expect(s().text).toBe(commented);
  });
});
