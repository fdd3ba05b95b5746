import { History } from "./history";

describe("History", () => {
  it("undoes and redoes whole texts in order", () => {
    const history = new History("a");
    history.push("b");
    history.push("c");
    expect(history.undo()).toBe("b");
    expect(history.undo()).toBe("a");
    expect(history.undo()).toBeNull();
    expect(history.redo()).toBe("b");
    expect(history.redo()).toBe("c");
    expect(history.redo()).toBeNull();
  });

  it("drops the redo branch when a new edit is made after an undo", () => {
    const history = new History("a");
    history.push("b");
    history.undo();
    history.push("x");
    expect(history.canRedo()).toBe(false);
    expect(history.undo()).toBe("a");
  });

  it("merges edits with the same key made close together (typing in one field)", () => {
    let now = 0;
    const history = new History("", 200, 1000, () => now);
    history.push("h", "field:url");
    now += 100;
    history.push("ht", "field:url");
    now += 100;
    history.push("htt", "field:url");
    now += 5000;
    history.push("http", "field:url");
    expect(history.undo()).toBe("htt");
    expect(history.undo()).toBe("");
    expect(history.canUndo()).toBe(false);
  });
});
