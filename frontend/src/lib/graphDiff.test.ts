import { diffGraphs } from "./graphDiff";
import { parseWorkflow } from "./workflowDoc";

const v1 = `apiVersion: mbflow/v1
kind: Workflow
metadata: {name: d}
spec:
  nodes:
    - {id: fetch, type: http, config: {url: "https://a.test"}, position: {x: 0, y: 0}}
    - {id: shape, type: transform, config: {mapping: {a: 1}}, position: {x: 300, y: 0}}
    - {id: old_log, type: log, position: {x: 600, y: 200}}
  edges:
    - {from: fetch, to: shape}
    - {from: shape, to: old_log}
`;
const v2 = `apiVersion: mbflow/v1
kind: Workflow
metadata: {name: d}
spec:
  nodes:
    - {id: fetch, type: http, config: {url: "https://a.test"}, position: {x: 40, y: 0}}  # moved only
    - {id: shape, type: transform, config: {mapping: {a: 2}}, when: "{{ true }}", position: {x: 300, y: 0}}
    - {id: notify, type: log, position: {x: 600, y: 0}}
  edges:
    - {from: fetch, to: shape, condition: "{{ nodes.fetch.output.ok }}"}
    - {from: shape, to: notify}
`;

describe("diffGraphs", () => {
  const diff = diffGraphs(parseWorkflow(v1).graph, parseWorkflow(v2).graph);
  const node = (id: string) => diff.nodes.find((n) => n.id === id)!;

  it("marks nodes added, removed, changed (not for a move) and the same", () => {
    expect(node("notify").change).toBe("added");
    expect(node("old_log").change).toBe("removed");
    expect(node("shape").change).toBe("changed");
    expect(node("shape").fields).toEqual(["config", "when"]);
    expect(node("fetch").change).toBe("same");
    expect(diff.counts).toMatchObject({ added: 1, removed: 1, changed: 1, same: 1 });
  });

  it("draws a removed node where it was, the others where the newer version puts them", () => {
    expect(node("old_log").position).toEqual({ x: 600, y: 200 });
    expect(node("fetch").position).toEqual({ x: 40, y: 0 });
  });

  it("marks edges added, removed and changed (a new condition)", () => {
    const edge = (from: string, to: string) => diff.edges.find((e) => e.from === from && e.to === to)!;
    expect(edge("shape", "notify").change).toBe("added");
    expect(edge("shape", "old_log").change).toBe("removed");
    expect(edge("fetch", "shape").change).toBe("changed");
    expect(new Set(diff.edges.map((e) => e.key)).size).toBe(diff.edges.length);
  });
});
