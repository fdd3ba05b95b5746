import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import {
  addEdge,
  addNode,
  copyElements,
  editText,
  graphFromData,
  moveNodes,
  newWorkflowYaml,
  parseWorkflow,
  pasteElements,
  removeElements,
  renameInExpression,
  renameNode,
  setNodeField,
} from "./workflowDoc";
import { applyEditPreservingFormat, matchLines } from "./preserve";

const here = (relative: string) => join(__dirname, relative);
const TEMPLATES = here("../../../workflows/templates_library");
const FIXTURES = here("../__fixtures__");

function yamlFiles(dir: string): [string, string][] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => [f, readFileSync(join(dir, f), "utf8")]);
}

const templates = yamlFiles(TEMPLATES);
const fixtures = yamlFiles(FIXTURES);
const converted = fixtures.filter(([name]) => name.startsWith("converted_"));
const commented = readFileSync(join(FIXTURES, "commented.yaml"), "utf8");
const documents = [...templates.map(([n, t]) => [`template ${n}`, t] as const), ...fixtures.map(([n, t]) => [`fixture ${n}`, t] as const)];

describe("the documents under test", () => {
  it("include our own fixtures, and every template on disk", () => {
    expect(converted.length).toBeGreaterThanOrEqual(4);
    expect(documents.length).toBe(templates.length + fixtures.length);
    // The templates folder is written by the definition side; when it exists, none is skipped.
    if (existsSync(TEMPLATES)) expect(templates.length).toBe(readdirSync(TEMPLATES).filter((f) => f.endsWith(".yaml")).length);
  });
});

describe.each(documents)("graph ⇄ YAML for %s", (_name, text) => {
  const parsed = parseWorkflow(text);
  const data = parseDocument(text).toJS() as { spec: { nodes: { id: string; type: string }[]; edges?: { from: string; to: string }[] } };

  it("parses into a native graph with every node and edge", () => {
    expect(parsed.problems).toEqual([]);
    expect(parsed.graph.native).toBe(true);
    expect(parsed.graph.nodes.map((n) => n.id)).toEqual(data.spec.nodes.map((n) => n.id));
    expect(parsed.graph.nodes.map((n) => n.type)).toEqual(data.spec.nodes.map((n) => n.type));
    expect(parsed.graph.edges.map((e) => [e.from, e.to])).toEqual((data.spec.edges ?? []).map((e) => [e.from, e.to]));
  });

  it("is byte-stable when nothing changes", () => {
    expect(editText(text, () => {})).toBe(text);
  });

  it("changes only the moved node's position on a canvas move, and reads back the same graph", () => {
    const first = parsed.graph.nodes[0];
    const moved = editText(text, (doc) => moveNodes(doc, { [first.id]: { x: 1234, y: 567 } }));
    const again = parseWorkflow(moved).graph;
    expect(again.nodes.find((n) => n.id === first.id)?.position).toEqual({ x: 1234, y: 567 });
    expect(again.nodes.map((n) => ({ ...n, position: null, raw: { ...n.raw, position: null } }))).toEqual(
      parsed.graph.nodes.map((n) => ({ ...n, position: null, raw: { ...n.raw, position: null } })),
    );
    expect(again.edges).toEqual(parsed.graph.edges);
    // Every comment line of the original is still there.
    const comments = text.split("\n").filter((line) => line.trim().startsWith("#"));
    for (const comment of comments) expect(moved).toContain(comment);
    // Lines changed: at most the position lines (block `x:`/`y:` or one flow map line).
    const before = text.split("\n");
    const after = moved.split("\n");
    const unmatched = matchLines(before, after).filter((j) => j === -1).length;
    expect(after.length - before.length).toBeLessThanOrEqual(1);
    expect(unmatched).toBeLessThanOrEqual(2);
  });

  it("round-trips the whole graph through copy and paste", () => {
    const ids = parsed.graph.nodes.map((n) => n.id);
    const doc = parseDocument(text);
    const clip = copyElements(doc, ids);
    const pasted = pasteElements(doc, clip);
    expect(pasted).toHaveLength(ids.length);
    const graph = graphFromData(doc.toJS());
    expect(graph.nodes).toHaveLength(ids.length * 2);
    expect(graph.edges.length).toBe(parsed.graph.edges.length + clip.edges.length);
  });
});

describe("canvas edits keep what a person wrote", () => {
  it("keeps comments, quotes, escapes and alignment when a node is added and connected", () => {
    const next = editText(commented, (doc) => {
      addNode(doc, { id: "audit", type: "log", position: { x: 600.4, y: 10 } });
      addEdge(doc, { from: "shape", to: "audit" });
    });
    for (const line of commented.split("\n").filter((l) => l.includes("#"))) expect(next).toContain(line);
    expect(next).toContain('          greeting: "Hello {{ input.name }}\\n"   # escapes stay as written');
    expect(next).toContain('  title: "Greet a user"');
    expect(next).toContain("    - id: audit\n      type: log\n      position: {x: 600, y: 10}\n");
    expect(next).toContain("    - {from: shape, to: audit}");
    expect(parseWorkflow(next).graph.edges.map((e) => `${e.from}>${e.to}`)).toEqual(["start>shape", "shape>audit"]);
  });

  it("sets, then removes, a config field without leaving an empty map", () => {
    const withUrl = editText(commented, (doc) => setNodeField(doc, "start", ["config", "url"], "https://x.test"));
    expect(withUrl).toContain("      config:\n        url: https://x.test\n");
    const without = editText(withUrl, (doc) => setNodeField(doc, "start", ["config", "url"], undefined));
    expect(without).toBe(commented);
  });

  it("renames a node everywhere it is referenced", () => {
    const next = editText(commented, (doc) => renameNode(doc, "start", "begin"));
    expect(next).toContain("    - id: begin\n");
    // The edited line is printed anew; its comment stays with it.
    expect(next).toMatch(/ {4}- \{from: begin, to: shape\} +# aligned comment/);
    expect(next).toContain('          greeting: "Hello {{ input.name }}\\n"   # escapes stay as written');
  });

  it("renames every reference to the node: expressions, when, fallback, compensation, edges", () => {
    const text = [
      "apiVersion: mbflow/v1",
      "kind: Workflow",
      "metadata: {name: rename}",
      "spec:",
      "  variables: {who: \"{{ nodes.fetch.output.body.name }}\"}  # who asked",
      "  nodes:",
      "    # fetches the user",
      "    - id: fetch",
      "      type: http",
      "      config: {url: https://x.test}",
      "      fallback: fetch_backup",
      "    - id: fetch_backup",
      "      type: transform",
      "      config:",
      "        mapping:",
      "          name: \"{{ nodes['fetch'].error }}\"   # the error",
      "    - id: shape",
      "      type: transform",
      "      when: '{{ nodes.fetch.output.status == 200 and nodes.fetcher is none }}'",
      "      config:",
      "        mapping:",
      "          a: $.fetch.body.id",
      "          b: \"Hi {{ nodes[\\\"fetch\\\"].output.body.name | upper }}, nodes.fetch stays\"",
      "          c: '{% if nodes.fetch.output %}yes{% endif %}'",
      "    - {id: undo, type: log, config: {message: undo}}",
      "  edges:",
      "    - {from: fetch, to: shape, condition: '{{ nodes.fetch.output.ok }}'}  # main path",
      "  output: {id: \"{{ nodes.fetch.output.body.id }}\"}",
      "  compensation: [{node: undo, compensates: fetch}, {node: undo, when_failed: fetch}]",
      "",
    ].join("\n");
    const next = editText(text, (doc) => expect(renameNode(doc, "fetch", "get_user")).toBe(true));
    expect(next).not.toMatch(/nodes\.fetch\.|nodes\['fetch'\]|\$\.fetch\./);
    // An edited line is printed anew; its comment stays on it.
    expect(next).toMatch(/variables: \{who: "\{\{ nodes\.get_user\.output\.body\.name \}\}"\} +# who asked/);
    expect(next).toContain("    # fetches the user\n    - id: get_user\n");
    expect(next).toContain("      fallback: fetch_backup\n"); // another node, same prefix
    expect(next).toMatch(/name: "\{\{ nodes\['get_user'\]\.error \}\}" +# the error/);
    expect(next).toContain("when: '{{ nodes.get_user.output.status == 200 and nodes.fetcher is none }}'");
    expect(next).toContain("a: $.get_user.body.id");
    expect(next).toContain('b: "Hi {{ nodes[\\"get_user\\"].output.body.name | upper }}, nodes.fetch stays"');
    expect(next).toContain("c: '{% if nodes.get_user.output %}yes{% endif %}'");
    expect(next).toMatch(/- \{from: get_user, to: shape, condition: '\{\{ nodes\.get_user\.output\.ok \}\}'\} +# main path/);
    expect(next).toContain('output: {id: "{{ nodes.get_user.output.body.id }}"}');
    expect(next).toContain("compensation: [{node: undo, compensates: get_user}, {node: undo, when_failed: get_user}]");
    // A node that is the fallback of another is renamed there too.
    const again = editText(next, (doc) => renameNode(doc, "fetch_backup", "backup"));
    expect(again).toContain("      fallback: backup\n");
  });

  it("writes a renamed reference in brackets when the new id is not an identifier", () => {
    expect(renameInExpression("{{ nodes.a.output }}", "a", "my-node")).toBe("{{ nodes['my-node'].output }}");
    expect(renameInExpression("{{ nodes['my-node'].output }}", "my-node", "b")).toBe("{{ nodes['b'].output }}");
    expect(renameInExpression("{{ x.nodes.a }} nodes.a", "a", "b")).toBe("{{ x.nodes.a }} nodes.a");
    expect(renameInExpression("{{ nodes.ab.output }}", "a", "b")).toBe("{{ nodes.ab.output }}");
  });

  it("removes a node with its edges", () => {
    const next = editText(commented, (doc) => removeElements(doc, ["shape"]));
    const graph = parseWorkflow(next).graph;
    expect(graph.nodes.map((n) => n.id)).toEqual(["start"]);
    expect(graph.edges).toEqual([]);
    expect(next).toContain("# The entry point.");
  });

  it("labels a routing edge with its port and a failure edge with `on`", () => {
    const next = editText(commented, (doc) => {
      addEdge(doc, { from: "start", to: "shape", port: "true" });
      addEdge(doc, { from: "shape", to: "start", on: "failure" });
      expect(addEdge(doc, { from: "start", to: "shape" })).toBe(false); // no duplicates
    });
    expect(next).toContain("    - {from: start, to: shape, port: \"true\"}");
    expect(next).toContain("    - {from: shape, to: start, on: failure}");
  });

  it("keeps an edge whose port the node has no output of in the graph, to be drawn and removed", () => {
    const text = editText(commented, (doc) => addEdge(doc, { from: "start", to: "shape", port: "nosuch" }));
    const graph = parseWorkflow(text).graph;
    const edge = graph.edges.find((e) => e.port === "nosuch");
    expect(edge).toMatchObject({ from: "start", to: "shape", on: "success", port: "nosuch" });
    const removed = parseWorkflow(editText(text, (doc) => removeElements(doc, [], [edge!.index]))).graph;
    expect(removed.edges.map((e) => e.port)).toEqual([undefined]);
  });

  it("grows a new document's empty flow lists into block lists", () => {
    const next = editText(newWorkflowYaml(), (doc) => addNode(doc, { id: "http", type: "http", position: { x: 1, y: 2 } }));
    expect(next).toContain("spec:\n  nodes:\n    - id: http\n      type: http\n      position: {x: 1, y: 2}\n  edges: []\n");
  });
});

describe("the formatting-preserving patch", () => {
  it("matches equal lines in order", () => {
    expect(matchLines(["a", "b", "c"], ["a", "x", "c"])).toEqual([0, -1, 2]);
  });

  it("replaces only the changed lines of the original", () => {
    const original = "a:   1   # keep\nb: 2\nc: 3\n";
    const p0 = "a: 1 # keep\nb: 2\nc: 3\n";
    const p1 = "a: 1 # keep\nb: 20\nc: 3\n";
    expect(applyEditPreservingFormat(original, p0, p1)).toBe("a:   1   # keep\nb: 20\nc: 3\n");
  });

  it("keeps the original text of reformatted lines next to an insertion", () => {
    const original = "a: 1\nb:   2\nc: 3\n";
    const p0 = "a: 1\nb: 2\nc: 3\n";
    const p1 = "a: 1\nb: 2\nbb: 5\nc: 3\n";
    expect(applyEditPreservingFormat(original, p0, p1)).toBe("a: 1\nb:   2\nbb: 5\nc: 3\n");
  });
});

describe("edge keys", () => {
  const spec = (edges: string) =>
    `apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: x}\nspec:\n  nodes: []\n  edges:\n${edges}`;
  it("do not depend on the edge's position, and stay unique", () => {
    const before = parseWorkflow(
      spec("    - {from: a, to: b}\n    - {from: b, to: c}\n    - {from: a, to: b, port: x}\n    - {from: c, to: d}\n"),
    ).graph.edges;
    expect(before.map((e) => e.key)).toEqual(["a->b", "b->c", "a->b#2", "c->d"]);
    const after = parseWorkflow(spec("    - {from: a, to: b}\n    - {from: a, to: b, port: x}\n    - {from: c, to: d}\n")).graph.edges;
    expect(after.map((e) => e.key)).toEqual(["a->b", "a->b#2", "c->d"]);
    expect(after.map((e) => e.index)).toEqual([0, 1, 2]);
  });
});
