/**
 * The workflow text cut into pieces that can be parsed on their own, so a change costs the
 * piece it touched instead of a parse of the whole document.
 *
 * A native workflow is mostly two block sequences, `spec.nodes` and `spec.edges`. Each of their
 * items is a chunk (its lines, with any blank or comment lines after it); the rest of the text,
 * with the items cut out, is the skeleton (`apiVersion`, `metadata`, the `spec:` keys...). Parsing
 * every chunk and the skeleton apart means what parsing the whole text means, as long as no chunk
 * leans on another (anchors and aliases): a chunk that does not parse cleanly on its own, or a
 * text the line scanner does not recognise, makes the caller parse the whole text instead.
 */
import { isSeq, parseDocument } from "yaml";

export interface Chunk {
  /** Offsets in the text: [start, end), whole lines, the end after the last line's newline. */
  start: number;
  end: number;
  text: string;
}

export interface SeqChunks {
  /** The `  nodes:` line as written, which heads a standalone parse of one item. */
  keyLine: string;
  items: Chunk[];
}

export interface SplitWorkflow {
  skeleton: string;
  nodes: SeqChunks | null;
  edges: SeqChunks | null;
}

const indentOf = (line: string) => line.length - line.trimStart().length;
const isBlankOrComment = (line: string) => {
  const t = line.trim();
  return t === "" || t.startsWith("#");
};
const isItemStart = (line: string, indent: number) =>
  indentOf(line) === indent && line[indent] === "-" && (line.length === indent + 1 || line[indent + 1] === " ");

/**
 * Finds the items of `spec.nodes` and `spec.edges` by their lines; null when the text has
 * anything the scan is not sure about (several documents, directives, tabs, a flow `spec`).
 */
export function splitWorkflow(text: string): SplitWorkflow | null {
  const lines = text.split("\n");
  const offsets = new Array<number>(lines.length + 1);
  offsets[0] = 0;
  for (let i = 0; i < lines.length; i++) offsets[i + 1] = offsets[i] + lines[i].length + 1;
  let specLine = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("---") || line.startsWith("...") || line.startsWith("%") || line.includes("\t")) return null;
    if (/^spec:\s*(#.*)?$/.test(line)) {
      if (specLine >= 0) return null;
      specLine = i;
    }
  }
  if (specLine < 0) return { skeleton: text, nodes: null, edges: null };
  // The block under `spec:` ends at the next line written at column 0 (not a comment).
  let specEnd = lines.length;
  for (let i = specLine + 1; i < lines.length; i++) {
    if (lines[i].length > 0 && indentOf(lines[i]) === 0 && !lines[i].startsWith("#")) {
      specEnd = i;
      break;
    }
  }
  let keyIndent = -1;
  for (let i = specLine + 1; i < specEnd; i++) {
    if (!isBlankOrComment(lines[i])) {
      keyIndent = indentOf(lines[i]);
      break;
    }
  }
  if (keyIndent <= 0) return { skeleton: text, nodes: null, edges: null };

  const found: Record<"nodes" | "edges", (SeqChunks & { from: number; to: number }) | null> = { nodes: null, edges: null };
  for (let i = specLine + 1; i < specEnd; i++) {
    const line = lines[i];
    if (indentOf(line) !== keyIndent || isBlankOrComment(line)) continue;
    const key = /^\s*(nodes|edges):\s*(#.*)?$/.exec(line)?.[1] as "nodes" | "edges" | undefined;
    if (!key) continue;
    if (found[key]) return null;
    // The sequence's items: from the first `- ` line to the first line that is neither part of
    // an item (deeper) nor a blank or comment line.
    let first = i + 1;
    while (first < specEnd && isBlankOrComment(lines[first])) first++;
    if (first >= specEnd || !lines[first].trimStart().startsWith("-")) continue;
    const dash = indentOf(lines[first]);
    if (dash < keyIndent || !isItemStart(lines[first], dash)) continue;
    const starts: number[] = [];
    let end = first;
    for (let j = first; j < specEnd; j++) {
      const l = lines[j];
      if (isBlankOrComment(l)) continue;
      const ind = indentOf(l);
      if (ind > dash) {
        end = j + 1;
        continue;
      }
      if (ind === dash && isItemStart(l, dash)) {
        starts.push(j);
        end = j + 1;
        continue;
      }
      break;
    }
    // Blank and comment lines up to the next key stay with the last item.
    let stop = end;
    while (stop < specEnd && isBlankOrComment(lines[stop])) stop++;
    const items: Chunk[] = starts.map((s, n) => {
      const e = n + 1 < starts.length ? starts[n + 1] : stop;
      const startOffset = offsets[s];
      const endOffset = Math.min(offsets[e], text.length);
      return { start: startOffset, end: endOffset, text: text.slice(startOffset, endOffset) };
    });
    found[key] = { keyLine: line, items, from: offsets[first], to: Math.min(offsets[stop], text.length) };
    i = stop - 1;
  }
  const cuts = [found.nodes, found.edges].filter((f): f is NonNullable<typeof f> => f !== null).sort((a, b) => a.from - b.from);
  let skeleton = "";
  let at = 0;
  for (const cut of cuts) {
    skeleton += text.slice(at, cut.from);
    at = cut.to;
  }
  skeleton += text.slice(at);
  const strip = (f: (typeof found)["nodes"]) => (f ? { keyLine: f.keyLine, items: f.items } : null);
  return { skeleton, nodes: strip(found.nodes), edges: strip(found.edges) };
}

/**
 * The text item `index` of a `spec.<key>` sequence is edited in, on its own: `prefix + item +
 * suffix`. The suffix stands for what follows the item in the whole text (the next item, or the
 * key after the sequence), so the printer treats the item's last lines (a blank line, a comment
 * before the next item) as it does in the whole text.
 */
export function chunkFrame(seq: SeqChunks, index: number): { prefix: string; suffix: string } {
  const item = seq.items[index].text;
  const dash = " ".repeat(indentOf(item.slice(0, item.indexOf("\n") >>> 0)));
  const keyIndent = " ".repeat(indentOf(seq.keyLine));
  const suffix = index < seq.items.length - 1 ? `${dash}- __mbflow_chunk_end__\n` : `${keyIndent}__mbflow_chunk_end__: true\n`;
  return { prefix: `spec:\n${seq.keyLine}\n`, suffix };
}

/**
 * The plain data of one item parsed on its own; `undefined` when it does not parse cleanly
 * alone (a syntax error, an alias to an anchor elsewhere, not exactly one item).
 */
export function parseChunk(text: string): { value: unknown } | undefined {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  if (!isSeq(doc.contents) || doc.contents.items.length !== 1) return undefined;
  try {
    return { value: (doc.toJS({ maxAliasCount: 0 }) as unknown[])[0] };
  } catch {
    return undefined;
  }
}

/** The plain data of the skeleton; undefined when it has errors (the full parse reports them). */
export function parseSkeleton(text: string): { value: unknown } | undefined {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  try {
    return { value: doc.toJS({ maxAliasCount: 0 }) };
  } catch {
    return undefined;
  }
}
