import { autoLayout } from "./layout";
import { parseWorkflow } from "./workflowDoc";

const doc = `apiVersion: mbflow/v1
kind: Workflow
metadata: {name: layout}
spec:
  nodes:
    - {id: start, type: noop}
    - {id: check, type: condition, config: {expression: "{{ true }}"}}
    # Written in the other order: the layout follows the ports, not the document.
    - {id: when_false, type: log, config: {message: no}}
    - {id: when_true, type: log, config: {message: yes}}
    - {id: tall, type: transform}
    - {id: oops, type: log}
  edges:
    - {from: start, to: check}
    - {from: check, to: when_false, port: "false"}
    - {from: check, to: when_true, port: "true"}
    - {from: when_true, to: tall}
    - {from: check, to: oops, on: failure}
`;

describe("autoLayout", () => {
  const { graph } = parseWorkflow(doc);
  const shapes = {
    start: { width: 220, height: 58 },
    check: { width: 220, height: 117, ports: ["true", "false"] },
    when_false: { width: 220, height: 75 },
    when_true: { width: 220, height: 75 },
    tall: { width: 220, height: 300 },
    oops: { width: 220, height: 58 },
  };

  it("lays out left to right with real sizes: no two nodes overlap", async () => {
    const at = await autoLayout(graph.nodes, graph.edges, shapes);
    const boxes = Object.entries(at).map(([id, p]) => ({ id, ...p, ...shapes[id as keyof typeof shapes] }));
    for (const a of boxes)
      for (const b of boxes) {
        if (a.id >= b.id) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${a.id} and ${b.id} overlap`).toBe(true);
      }
    expect(at.check.x).toBeGreaterThan(at.start.x + 220);
    expect(at.when_true.x).toBeGreaterThan(at.check.x + 220);
  });

  it("keeps a condition's branches in the order of its ports: true above false", async () => {
    const at = await autoLayout(graph.nodes, graph.edges, shapes);
    expect(at.when_true.y).toBeLessThan(at.when_false.y);
  });
});
