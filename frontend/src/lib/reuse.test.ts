import { reuseUnchanged, sameItem, sameValue } from "./reuse";

describe("sameValue", () => {
  it("compares plain objects and arrays by value down to the depth given", () => {
    expect(sameValue({ a: [1, 2], b: "x" }, { b: "x", a: [1, 2] }, 2)).toBe(true);
    expect(sameValue({ a: [1, 2] }, { a: [1, 3] }, 2)).toBe(false);
    expect(sameValue({ a: { b: 1 } }, { a: { b: 1 } }, 1)).toBe(false); // one level: `a` by identity
    expect(sameValue([1], { 0: 1 }, 2)).toBe(false);
  });

  it("tells a missing key from one set to undefined", () => {
    expect(sameValue({ a: undefined }, { b: undefined }, 1)).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, b: undefined }, 1)).toBe(false);
  });
});

describe("sameItem", () => {
  it("ignores the sizes React Flow measures", () => {
    const handles = [{ id: "in" }];
    const cached = { id: "n1", position: { x: 1, y: 2 }, measured: { width: 220, height: 57 }, handles };
    expect(sameItem(cached, { id: "n1", position: { x: 1, y: 2 }, handles })).toBe(true);
    expect(sameItem(cached, { id: "n1", position: { x: 1, y: 2 }, initialWidth: 220, handles })).toBe(true);
  });

  it("sees a changed or added field", () => {
    const cached = { id: "n1", data: { title: "a" } };
    expect(sameItem(cached, { id: "n1", data: { title: "b" } })).toBe(false);
    expect(sameItem(cached, { id: "n1", data: { title: "a" }, selected: true })).toBe(false);
    expect(sameItem({ ...cached, selected: false }, cached)).toBe(false);
  });
});

describe("reuseUnchanged", () => {
  it("keeps the cached objects of unchanged items, and the last array when nothing changed", () => {
    const cache = { items: new Map<string, { id: string; v: number }>(), last: [] as { id: string; v: number }[] };
    const first = reuseUnchanged(cache, [{ id: "a", v: 1 }, { id: "b", v: 2 }]);
    expect(reuseUnchanged(cache, [{ id: "a", v: 1 }, { id: "b", v: 2 }])).toBe(first);
    const next = reuseUnchanged(cache, [{ id: "a", v: 1 }, { id: "b", v: 3 }]);
    expect(next).not.toBe(first);
    expect(next[0]).toBe(first[0]);
    expect(next[1]).toEqual({ id: "b", v: 3 });
    const fewer = reuseUnchanged(cache, [{ id: "b", v: 3 }]);
    expect(fewer).toEqual([{ id: "b", v: 3 }]);
    expect(fewer[0]).toBe(next[1]);
  });
});
