import { describe, expect, it } from "vitest";
import { readDocument } from "./workflowDoc";

const HEAD = "apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: typo\nspec:\n  nodes:\n";

describe("a YAML typo", () => {
  it.each([
    ["an unclosed flow map (the parser reports three errors)", "    - id: a\n      type: noop\n      config: {url: x\n    - id: b\n      type: noop\n", 10],
    ["lines indented too little (one error per line)", "    - id: a\n    type: noop\n    position: {x: 1}\n", 8],
    ["an unclosed flow sequence inside a map", "    - id: a\n      type: noop\n      config:\n        mapping: {a: [1, 2}\n", 10],
    ["a missing colon", "    - id: a\n      type noop\n      position: {x: 1}\n", 8],
  ])("%s is one problem with its line", (_what, body, line) => {
    const { doc, problems } = readDocument(HEAD + body);
    expect(doc).toBeNull();
    expect(problems).toHaveLength(1);
    expect(problems[0].line).toBe(line);
    expect(problems[0].message).not.toMatch(/at line \d+/);
  });

  it("a valid text has none", () => {
    expect(readDocument(HEAD + "    - {id: a, type: noop}\n").problems).toEqual([]);
  });
});
