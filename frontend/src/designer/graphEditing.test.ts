import { findNodes } from "./FindNode";
import { matchingTypes } from "./NodePicker";
import { parseWorkflow } from "../lib/workflowDoc";
import type { NodeType } from "../api/types";

const type = (t: string, title: string, category: string, description = ""): NodeType =>
  ({ type: t, title, category, description }) as unknown as NodeType;

describe("matchingTypes", () => {
  const catalog = {
    http: type("http", "HTTP request", "Network", "Calls a URL"),
    llm: type("llm", "LLM chat", "AI", "Calls a model over HTTP"),
    log: type("log", "Log", "Utility"),
  };
  it("puts the type or title that starts with the search first", () => {
    expect(matchingTypes(catalog, "http").map((t) => t.type)).toEqual(["http", "llm"]);
    expect(matchingTypes(catalog, "l").map((t) => t.type)[0]).toBe("llm");
    expect(matchingTypes(catalog, "zzz")).toEqual([]);
  });
});

describe("findNodes", () => {
  const { graph } = parseWorkflow(`apiVersion: mbflow/v1
kind: Workflow
metadata: {name: find}
spec:
  nodes:
    - {id: notify_user, type: http, name: Tell the user}
    - {id: user, type: transform}
    - {id: other, type: log, name: Audit user changes}
`);
  it("finds by id first, then by name and type", () => {
    expect(findNodes(graph, "user")).toEqual(["user", "notify_user", "other"]);
    expect(findNodes(graph, "LOG")).toEqual(["other"]);
    expect(findNodes(graph, " ")).toEqual([]);
  });
});
