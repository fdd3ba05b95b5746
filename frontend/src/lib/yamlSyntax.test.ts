import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { yamlLanguage } from "@codemirror/lang-yaml";
import { ensureSyntaxTree, syntaxTree, syntaxTreeAvailable } from "@codemirror/language";
import { EditorView } from "@codemirror/view";
import { Tree, TreeFragment } from "@lezer/common";
import type { LRParser } from "@lezer/lr";
import { closingBlocksAtEnd, editorYamlLanguage, sameTree, yamlSyntax } from "./yamlSyntax";

const FIXTURES = join(__dirname, "../__fixtures__");
const TEMPLATES = join(__dirname, "../../../workflows/templates_library");
const yamlFiles = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort().map((f) => readFileSync(join(dir, f), "utf8")) : [];

const stock = yamlLanguage.parser;
const fixed = editorYamlLanguage.parser as LRParser;

/** A workflow shaped as the server prints one: `spec.nodes`, then `spec.edges` to the end of the text. */
function workflow(size: number): string {
  const lines = ["apiVersion: mbflow/v1", "kind: Workflow", "metadata:", "  name: big", "spec:", "  nodes:"];
  for (let i = 0; i < size; i++) {
    lines.push(`    - id: n${i}`, `      name: Node ${i}`, "      type: log", "      config:", `        message: step ${i}`, "      position:", `        x: ${i * 10}`, "        y: 0");
  }
  lines.push("  edges:");
  for (let i = 1; i < size; i++) lines.push(`    - from: n${i - 1}`, `      to: n${i}`);
  return `${lines.join("\n")}\n`;
}

/** The total length of the subtrees of `next` that are objects of `previous` (reused by an incremental parse). */
function reusedLength(previous: Tree, next: Tree): number {
  const old = new Set<Tree>();
  const collect = (tree: Tree) => {
    old.add(tree);
    for (const child of tree.children) if (child instanceof Tree) collect(child);
  };
  collect(previous);
  let reused = 0;
  const walk = (tree: Tree) => {
    if (old.has(tree)) {
      reused += tree.length;
      return;
    }
    for (const child of tree.children) if (child instanceof Tree) walk(child);
  };
  walk(next);
  return reused;
}

/** The incremental parse of `text` with `insert` typed at `at`, from the tree of `text`. */
function typed(parser: LRParser, text: string, at: number, insert: string): { before: Tree; after: Tree; next: string } {
  const before = parser.parse(text);
  const next = text.slice(0, at) + insert + text.slice(at);
  const fragments = TreeFragment.applyChanges(TreeFragment.addTree(before), [{ fromA: at, toA: at, fromB: at, toB: at + insert.length }]);
  return { before, after: parser.parse(next, fragments), next };
}

describe("the editor's YAML syntax", () => {
  it("is lang-yaml's parser with blocks closed at the end of input", () => {
    expect(closingBlocksAtEnd(stock)).not.toBeNull();
    expect(editorYamlLanguage).not.toBe(yamlLanguage);
    expect(editorYamlLanguage.name).toBe("yaml");
  });

  it("reads every text to the same tree as lang-yaml", () => {
    const texts = [
      ...yamlFiles(TEMPLATES),
      ...yamlFiles(FIXTURES),
      workflow(30),
      workflow(30).trimEnd(),
      "",
      "a: 1",
      "a:\n  - b\n  - c: [1, 2\n",
      "- a\n- b:\n    c: d",
      "key: |\n  text\n  more\n",
      "key: >-\n  folded\n",
      "a: {b: 1}\n# a comment at the end\n",
      "---\na: 1\n...\n---\nb: 2\n",
      "a:\n  b:\n    c:\n      - 1\n      -",
      "x: 'unterminated\n",
      "? complex\n: value\n",
      "a: &x 1\nb: *x\n",
      "a:\n\tb: tab\n",
      "a:\n  b: 1\n   c: 2\n",
    ];
    for (const text of texts) expect(sameTree(stock, fixed, text), text.slice(0, 60)).toBe(true);
  });

  it("re-parses only around an edit: the items after it, to the end of the text, are reused", () => {
    const text = workflow(200);
    const at = text.indexOf("Node 3\n") + "Node 3".length;
    const { before, after, next } = typed(fixed, text, at, "x");
    // The edges, from `edges:` to the end, were parsed once.
    const edges = text.length - text.indexOf("  edges:");
    expect(reusedLength(before, after)).toBeGreaterThan(text.length - edges / 4);
    const fresh: string[] = [];
    const incremental: string[] = [];
    fixed.parse(next).iterate({ enter: (n) => void fresh.push(`${n.type.id}:${n.from}-${n.to}`) });
    after.iterate({ enter: (n) => void incremental.push(`${n.type.id}:${n.from}-${n.to}`) });
    expect(incremental).toEqual(fresh);
  });

  it("(lang-yaml's own parser re-reads the whole last section after the same edit)", () => {
    const text = workflow(200);
    const at = text.indexOf("Node 3\n") + "Node 3".length;
    const { before, after } = typed(stock, text, at, "x");
    const edges = text.length - text.indexOf("  edges:");
    expect(reusedLength(before, after)).toBeLessThan(text.length - edges / 2);
  });
});

describe("the editor's parse", () => {
  afterEach(() => document.body.replaceChildren());

  it("reaches the end of a big text when idle, and an edit then re-parses only around itself", async () => {
    const text = workflow(1000); // ~170,000 characters: CodeMirror alone parses 100,000 past the view
    expect(text.length).toBeGreaterThan(150_000);
    const view = new EditorView({ parent: document.body.appendChild(document.createElement("div")), doc: text, extensions: [yamlSyntax()] });
    try {
      for (let waited = 0; !syntaxTreeAvailable(view.state) && waited < 4_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      expect(syntaxTreeAvailable(view.state)).toBe(true);
      const before = ensureSyntaxTree(view.state, view.state.doc.length, 0)!;
      const at = text.indexOf("Node 3\n") + "Node 3".length;
      view.dispatch({ changes: { from: at, insert: "x" } });
      expect(syntaxTreeAvailable(view.state)).toBe(true);
      const after = syntaxTree(view.state);
      expect(after.length).toBe(text.length + 1);
      expect(reusedLength(before, after)).toBeGreaterThan(text.length * 0.9);
    } finally {
      view.destroy();
    }
  });
});
