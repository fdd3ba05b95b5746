import { describe, expect, it } from "vitest";
import { applyCompletion, completionsAt, expressionFor, nodeOutputPath, openExpression, splitTyped } from "./paths";
import { expressionContext, nodesBefore, outputsBefore } from "./context";

const context = {
  input: { user: 7 },
  nodes: { http: { output: { status: 200, body: { name: "Ada", "first-name": "A", items: [{ n: 1 }] } } }, shape: { output: {} } },
  vars: {},
};

describe("paths of dragged fields", () => {
  it("reads identifiers with dots and other keys in brackets", () => {
    expect(expressionFor(nodeOutputPath("http", ["body", "name"]))).toBe("{{ nodes.http.output.body.name }}");
    expect(nodeOutputPath("validate-user", ["items", 0, "first-name"])).toBe("nodes['validate-user'].output.items[0]['first-name']");
    expect(nodeOutputPath("a", ["it's"])).toBe("nodes.a.output['it\\'s']");
  });
});

describe("autocomplete", () => {
  it("only inside an open expression", () => {
    expect(openExpression("hello", 5)).toBeNull();
    expect(openExpression("{{ a }} b", 9)).toBeNull();
    expect(openExpression("x {{ nodes.h", 12)).toEqual({ start: 4, body: " nodes.h" });
    expect(completionsAt("plain text", 10, context)).toBeNull();
  });

  it("offers the context's names, node ids and keys one level down", () => {
    expect(completionsAt("{{ ", 3, context)!.items.map((i) => i.label)).toContain("nodes");
    expect(completionsAt("{{ no", 5, context)!.items.map((i) => i.label)).toEqual(["nodes"]);
    const ids = completionsAt("{{ nodes.", 9, context)!;
    expect(ids.items.map((i) => i.label)).toEqual(["http", "shape"]);
    const body = completionsAt("{{ nodes.http.output.body.n", 27, context)!;
    expect(body.items.map((i) => [i.label, i.detail])).toEqual([["name", "string"]]);
    expect(completionsAt("{{ nodes.http.output.body.items[0].", 35, context)!.items.map((i) => i.label)).toEqual(["n"]);
  });

  it("puts the chosen key in place of what was typed, brackets replacing the dot when needed", () => {
    const text = "Hi {{ nodes.http.output.body.na }}!";
    const caret = text.indexOf(" }}");
    const result = completionsAt(text, caret, context)!;
    expect(applyCompletion(text, result, result.items[0])).toEqual({ text: "Hi {{ nodes.http.output.body.name }}!", caret: caret + 2 });
    const odd = completionsAt("{{ nodes.http.output.body.fi", 28, context)!;
    expect(applyCompletion("{{ nodes.http.output.body.fi", odd, odd.items[0]).text).toBe("{{ nodes.http.output.body['first-name']");
  });

  it("offers the secrets by name", () => {
    const ctx = expressionContext("shape", { nodes: [], edges: [] } as never, null, {}, {}, { secrets: ["CRM_TOKEN", "API_KEY"] });
    expect(completionsAt("Bearer {{ secrets.C", 19, ctx)!.items.map((i) => i.label)).toEqual(["CRM_TOKEN"]);
  });

  it("splits typed paths", () => {
    expect(splitTyped("nodes['a-b'].output[0].x")).toEqual({ segments: ["nodes", "a-b", "output", 0], partial: "x" });
    expect(splitTyped("nodes.")).toEqual({ segments: ["nodes"], partial: "" });
  });
});

describe("the data a node sees", () => {
  const graph = {
    nodes: [
      { id: "http", type: "http", raw: {} },
      { id: "shape", type: "transform", raw: {} },
      { id: "notify", type: "http", raw: {} },
    ],
    edges: [
      { index: 0, key: "http->shape", from: "http", to: "shape", on: "success" },
      { index: 1, key: "shape->notify", from: "shape", to: "notify", on: "success" },
    ],
  } as never;
  const execution = {
    id: "e",
    status: "succeeded",
    input: { user: 1 },
    steps: [
      { node_id: "http", status: "succeeded", output: { body: { name: "Run" } } },
      { node_id: "shape", status: "succeeded", output: { name: "RUN" } },
    ],
  };

  it("pinned data goes over the run's, and upstream is the node before", () => {
    const ctx = expressionContext("shape", graph, execution, { http: { body: { name: "Pinned" } } }, undefined);
    expect(ctx.upstream).toEqual({ body: { name: "Pinned" } });
    expect((ctx.nodes as Record<string, { output: unknown }>).shape.output).toEqual({ name: "RUN" });
    expect(ctx.input).toEqual({ user: 1 });
  });

  it("a step test needs every node before it", () => {
    expect(nodesBefore("notify", (graph as { nodes: never[] }).nodes, (graph as { edges: never[] }).edges)).toEqual(["shape", "http"]);
    expect(outputsBefore("notify", graph, null, { http: {} })).toEqual({ outputs: { http: {} }, missing: ["shape"] });
    expect(outputsBefore("notify", graph, execution, {}).missing).toEqual([]);
  });
});
