/**
 * Undo/redo over whole texts. Small documents make snapshots cheap, and a snapshot of the YAML
 * restores comments and formatting exactly, which a list of inverse graph operations would not.
 * Edits that carry the same coalesce key within `mergeMs` (typing in one field) are one step.
 */
export class History {
  private past: string[] = [];
  private future: string[] = [];
  private lastKey: string | undefined;
  private lastAt = 0;

  constructor(
    private current: string,
    private readonly limit = 200,
    private readonly mergeMs = 1200,
    private readonly now: () => number = () => Date.now(),
  ) {}

  reset(text: string): void {
    this.current = text;
    this.past = [];
    this.future = [];
    this.lastKey = undefined;
  }

  push(text: string, coalesceKey?: string): void {
    if (text === this.current) return;
    const at = this.now();
    const merge = coalesceKey !== undefined && coalesceKey === this.lastKey && at - this.lastAt < this.mergeMs;
    if (!merge) {
      this.past.push(this.current);
      if (this.past.length > this.limit) this.past.shift();
    }
    this.current = text;
    this.future = [];
    this.lastKey = coalesceKey;
    this.lastAt = at;
  }

  undo(): string | null {
    const previous = this.past.pop();
    if (previous === undefined) return null;
    this.future.push(this.current);
    this.current = previous;
    this.lastKey = undefined;
    return previous;
  }

  redo(): string | null {
    const next = this.future.pop();
    if (next === undefined) return null;
    this.past.push(this.current);
    this.current = next;
    this.lastKey = undefined;
    return next;
  }

  canUndo(): boolean {
    return this.past.length > 0;
  }

  canRedo(): boolean {
    return this.future.length > 0;
  }
}
