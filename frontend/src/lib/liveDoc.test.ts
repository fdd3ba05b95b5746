import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { splitWorkflow } from "./chunks";
import { LiveWorkflow } from "./liveDoc";
import { editText, moveNodes, newWorkflowYaml, parseWorkflow, removeElements, setNodeField } from "./workflowDoc";

const FIXTURES = join(__dirname, "../__fixtures__");
const TEMPLATES = join(__dirname, "../../../workflows/templates_library");
const yamlFiles = (dir: string): [string, string][] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => [f, readFileSync(join(dir, f), "utf8")])
    : [];
const documents = [...yamlFiles(TEMPLATES), ...yamlFiles(FIXTURES)];
const commented = readFileSync(join(FIXTURES, "commented.yaml"), "utf8");

/** A LiveWorkflow that has read another text first, so the next parse goes chunk by chunk. */
function warmed(): LiveWorkflow {
  const live = new LiveWorkflow();
  live.parse(newWorkflowYaml());
  return live;
}

describe("splitWorkflow", () => {
  it("cuts spec.nodes and spec.edges into their items and keeps the rest as the skeleton", () => {
    const split = splitWorkflow(commented)!;
    expect(split.nodes?.items.map((c) => c.text.split("\n")[0])).toEqual(["    - id: start", "    - id: shape"]);
    expect(split.edges?.items).toHaveLength(1);
    expect(split.skeleton).toContain("# The entry point.");
    expect(split.skeleton).not.toContain("id: start");
    for (const item of [...split.nodes!.items, ...split.edges!.items]) expect(commented.slice(item.start, item.end)).toBe(item.text);
  });

  it("gives up on what it does not recognise", () => {
    expect(splitWorkflow("a: 1\n---\nb: 2\n")).toBeNull();
    expect(splitWorkflow("spec:\n\tnodes: []\n")).toBeNull();
  });
});

describe.each(documents)("LiveWorkflow reads %s as the whole parse does", (_name, text) => {
  it("on the first text and chunk by chunk", () => {
    const whole = parseWorkflow(text).graph;
    expect(new LiveWorkflow().parse(text).graph).toEqual(whole);
    expect(warmed().parse(text).graph).toEqual(whole);
  });

  it("edits one node on its own to the same text as an edit of the whole Document", () => {
    const first = parseWorkflow(text).graph.nodes[0];
    if (!first) return;
    const move = (doc: Parameters<Parameters<typeof editText>[1]>[0]) => moveNodes(doc, { [first.id]: { x: 11, y: 22 } });
    const name = (doc: Parameters<Parameters<typeof editText>[1]>[0]) => setNodeField(doc, first.id, ["name"], "Renamed");
    expect(warmed().edit(text, move, [first.id])).toBe(editText(text, move));
    expect(warmed().edit(text, name, [first.id])).toBe(editText(text, name));
  });

  it("removes a node and its edges to the same text as an edit of the whole Document", () => {
    for (const node of parseWorkflow(text).graph.nodes.slice(0, 3)) {
      const live = warmed();
      const removed = live.remove(text, [node.id]);
      expect(removed).toBe(editText(text, (doc) => removeElements(doc, [node.id])));
      expect(live.parse(removed).graph).toEqual(parseWorkflow(removed).graph);
    }
  });
});

/** A drawing written the way the bench writes one: block mappings, no comments, ~2 edges a node. */
function generated(size: number): string {
  const lines = ["apiVersion: mbflow/v1", "kind: Workflow", "metadata:", "  name: gen", "spec:", "  nodes:"];
  for (let i = 0; i < size; i++) {
    lines.push(`    - id: n${i}`, `      name: Node ${i}`, "      type: log", "      config:", `        message: step ${i}`);
    lines.push("      position:", `        x: ${i * 300}`, "        y: 0");
  }
  lines.push("  edges:");
  for (let i = 1; i < size; i++) lines.push(`    - from: n${i - 1}`, `      to: n${i}`, ...(i > 1 ? [`    - from: n${i - 2}`, `      to: n${i}`] : []));
  return `${lines.join("\n")}\n`;
}

describe("LiveWorkflow.remove", () => {
  const text = generated(8);

  it.each([["n0"], ["n3"], ["n7"]])("cuts node %s and its edges out of the text as the Document edit would", (id) => {
    const live = new LiveWorkflow();
    const before = live.parse(text).graph!;
    const removed = live.remove(text, [id]);
    expect(removed).toBe(editText(text, (doc) => removeElements(doc, [id])));
    const after = live.parse(removed).graph!;
    expect(after).toEqual(parseWorkflow(removed).graph);
    // Nodes before the cut keep their objects; those after it, now one place earlier, the objects they hold.
    const at = before.nodes.findIndex((n) => n.id === id);
    after.nodes.slice(0, at).forEach((n, i) => expect(n).toBe(before.nodes[i]));
    after.nodes.slice(at).forEach((n, i) => {
      const was = before.nodes[at + 1 + i];
      expect(n.index).toBe(was.index - 1);
      expect(n.raw).toBe(was.raw);
      expect(n.position).toBe(was.position);
      expect(n.config).toBe(was.config);
    });
  });

  it("removes edges by index, and leaves `[]` to the Document edit when a sequence empties", () => {
    const live = new LiveWorkflow();
    live.parse(text);
    expect(live.remove(text, [], [0, 4])).toBe(editText(text, (doc) => removeElements(doc, [], [0, 4])));
    const all = parseWorkflow(text).graph.nodes.map((n) => n.id);
    expect(live.remove(text, all)).toBe(editText(text, (doc) => removeElements(doc, all)));
  });

  it("keeps comments as the Document edit does", () => {
    const live = new LiveWorkflow();
    live.parse(commented);
    expect(live.remove(commented, ["shape"])).toBe(editText(commented, (doc) => removeElements(doc, ["shape"])));
  });
});

describe("LiveWorkflow", () => {
  it("replaces only the node object whose YAML changed", () => {
    const live = new LiveWorkflow();
    const before = live.parse(commented).graph!;
    const after = live.parse(commented.replace("type: transform", "type: transform\n      name: Shape")).graph!;
    expect(after.nodes[0]).toBe(before.nodes[0]);
    expect(after.nodes[1]).not.toBe(before.nodes[1]);
    expect(after.nodes[1].name).toBe("Shape");
    expect(after.edges).toBe(before.edges);
  });

  it("seeds its item caches from the first parse, whether or not the text has a `&` that is no anchor", () => {
    for (const text of [commented, commented.replace("type: transform", "type: transform\n      description: 'this & that'")]) {
      const live = new LiveWorkflow();
      const first = live.parse(text).graph!;
      expect(first).toEqual(parseWorkflow(text).graph);
      // The next parse reads only the item that changed: the other node keeps its object.
      const next = live.parse(text.replace("type: transform", "type: transform\n      name: Shape")).graph!;
      expect(next.nodes[0]).toBe(first.nodes[0]);
      expect(next.nodes[1].name).toBe("Shape");
    }
  });

  it("keeps the whole graph object when only a comment changed", () => {
    const live = new LiveWorkflow();
    const before = live.parse(commented).graph;
    expect(live.parse(commented.replace("# The entry point.", "# Where it starts.")).graph).toBe(before);
  });

  it("edits a node's own YAML in place, keeping every comment and the layout around it", () => {
    const live = new LiveWorkflow();
    live.parse(commented);
    const next = live.edit(commented, (doc) => moveNodes(doc, { shape: { x: 5, y: 6 } }), ["shape"]);
    expect(next).toBe(commented.replace("position: {x: 300, y: 0}", "position: {x: 5, y: 6}"));
    const graph = live.parse(next).graph!;
    expect(graph.nodes[1].position).toEqual({ x: 5, y: 6 });
    expect(graph).toEqual(parseWorkflow(next).graph);
  });

  it("edits the whole Document for changes across nodes and edges, still keeping comments", () => {
    const live = new LiveWorkflow();
    live.parse(commented);
    const next = live.edit(commented, (doc) => removeElements(doc, ["start"]));
    expect(next).toBe(editText(commented, (doc) => removeElements(doc, ["start"])));
    expect(next).toContain("# Greets a new user");
    expect(next).toContain("# escapes stay as written");
    expect(live.parse(next).graph).toEqual(parseWorkflow(next).graph);
    // The next edit starts from the edited Document, without a parse.
    const again = live.edit(next, (doc) => moveNodes(doc, { shape: { x: 1, y: 2 } }));
    expect(again).toBe(editText(next, (doc) => moveNodes(doc, { shape: { x: 1, y: 2 } })));
  });

  it("gives the same text after preparing an edit ahead of time (prime)", () => {
    const live = warmed();
    live.parse(commented);
    live.prime(commented);
    const change = (doc: Parameters<Parameters<typeof editText>[1]>[0]) => removeElements(doc, [], [0]);
    expect(live.edit(commented, change)).toBe(editText(commented, change));
  });

  it("falls back to the whole parse when items lean on each other through anchors", () => {
    const text = [
      "apiVersion: mbflow/v1",
      "kind: Workflow",
      "metadata: {name: x}",
      "spec:",
      "  nodes:",
      "    - id: a",
      "      type: log",
      "      config: &shared {message: hi}",
      "    - id: b",
      "      type: log",
      "      config: *shared",
      "",
    ].join("\n");
    const live = warmed();
    expect(live.parse(text).graph).toEqual(parseWorkflow(text).graph);
    expect(live.parse(text).graph!.nodes[1].config).toEqual({ message: "hi" });
    const next = live.edit(text, (doc) => moveNodes(doc, { b: { x: 1, y: 1 } }), ["b"]);
    expect(next).toBe(editText(text, (doc) => moveNodes(doc, { b: { x: 1, y: 1 } })));
  });

  it("gives no graph while the text does not parse, and the unchanged nodes' objects once it does again", () => {
    const live = warmed();
    const good = live.parse(commented).graph!;
    const head = commented.slice(0, commented.indexOf("  edges:"));
    for (const typed of ["  edges: [", "  edges: [\n    - {from: start"]) {
      const text = `${head}${typed}\n`;
      const result = live.parse(text);
      expect(result.graph).toBeNull();
      expect(result.problems.length).toBeGreaterThan(0);
      expect(result.problems).toEqual(parseWorkflow(text).problems);
    }
    const fixed = live.parse(`${head}  edges: []\n`).graph!;
    expect(fixed.nodes).toEqual(good.nodes);
    expect(fixed.title).toBe("Greet a user");
    expect(fixed.edges).toEqual([]);
  });

  it("reports syntax errors with their lines, as the whole parse does", () => {
    const broken = commented.replace("type: noop", "type: [noop");
    const live = warmed();
    const result = live.parse(broken);
    expect(result.graph).toBeNull();
    expect(result.problems).toEqual(parseWorkflow(broken).problems);
  });
});
