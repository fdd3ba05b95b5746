import { describe, expect, it } from "vitest";
import { downloadText, isCut, jsonLength, sizeText, summary, viewTree } from "./jsonView";

describe("viewTree", () => {
  it("keeps a small value whole", () => {
    const tree = viewTree({ a: [1, true, null], b: "x" });
    expect(isCut(tree)).toBe(false);
    expect(tree).toEqual({
      kind: "object",
      size: 2,
      hidden: 0,
      entries: [
        ["a", { kind: "array", size: 3, hidden: 0, items: [{ kind: "number", text: "1" }, { kind: "boolean", text: "true" }, { kind: "null" }] }],
        ["b", { kind: "string", text: "x", hidden: 0 }],
      ],
    });
  });

  it("cuts long strings, long lists and large objects, counting what it left out, however deep", () => {
    const limits = { maxString: 5, maxItems: 2 };
    const tree = viewTree({ deep: { text: "abcdefgh", list: [1, 2, 3, 4] }, k2: 1, k3: 2 }, limits);
    expect(isCut(tree)).toBe(true);
    if (tree.kind !== "object") throw new Error("an object");
    expect(tree.hidden).toBe(1);
    const [, deep] = tree.entries[0];
    if (deep.kind !== "object") throw new Error("an object");
    expect(deep.entries[0][1]).toEqual({ kind: "string", text: "abcde", hidden: 3 });
    expect(deep.entries[1][1]).toMatchObject({ kind: "array", hidden: 2, size: 4 });
    expect(summary(deep.entries[1][1])).toBe("[4 items]");
    expect(summary(tree)).toBe("{3 keys}");
  });

  it("finds a cut deep inside an otherwise short value", () => {
    expect(isCut(viewTree([[["x".repeat(600)]]]))).toBe(true);
  });
});

describe("download", () => {
  it("gives strings as they are and anything else as pretty JSON, with its size", () => {
    expect(downloadText("plain")).toBe("plain");
    expect(downloadText({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(downloadText(undefined)).toBe("null");
    expect(jsonLength({ a: "xyz" })).toBe(11);
    expect([sizeText(812), sizeText(4100), sizeText(2_300_000)]).toEqual(["812 B", "4.1 kB", "2.3 MB"]);
  });
});
