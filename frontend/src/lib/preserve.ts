/**
 * Keeps a person's formatting outside the part of the document an edit touched.
 *
 * The `yaml` library re-prints a whole document: it keeps comments and key order, but not, say,
 * the spaces that align trailing comments or a double-quoted string's escapes. So an edit is
 * applied as a patch: the printer's own before/after texts (P0 = print(original), P1 =
 * print(edited)) give the changed line ranges, and only those ranges of the original text are
 * replaced. Lines the printer would have changed anyway widen a hunk rather than leak into it.
 */

/** For each line of `b`, the index of the equal line of `a` it is matched with (LCS), or -1. */
export function matchLines(a: string[], b: string[]): number[] {
  const match = new Array<number>(b.length).fill(-1);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) {
    match[start] = start;
    start++;
  }
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
    match[endB] = endA;
  }
  const n = endA - start;
  const m = endB - start;
  if (n === 0 || m === 0) return match;
  if (n * m > 4_000_000) throw new Error("document too large to align");
  // Classic LCS table over the middle part, then a walk back to read the matches.
  const width = m + 1;
  const table = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * width + j] =
        a[start + i] === b[start + j]
          ? table[(i + 1) * width + j + 1] + 1
          : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[start + i] === b[start + j]) {
      match[start + j] = start + i;
      i++;
      j++;
    } else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) i++;
    else j++;
  }
  return match;
}

function inverse(match: number[], length: number): number[] {
  const result = new Array<number>(length).fill(-1);
  match.forEach((to, from) => {
    if (to >= 0) result[to] = from;
  });
  return result;
}

/**
 * The original text with the edit (P0 → P1) applied to its lines.
 *
 * Lines of P0 that are equal in the original and in P1 are anchors. Between two anchors, a
 * region the edit did not touch is copied from the original; a touched region whose original
 * has as many lines as P0 keeps the original text of every line the edit kept, line for line;
 * any other touched region takes the printer's text.
 */
export function applyEditPreservingFormat(original: string, p0: string, p1: string): string {
  if (original === p0 || p0 === p1) return original === p0 ? p1 : original;
  const o = original.split("\n");
  const a = p0.split("\n");
  const b = p1.split("\n");
  let p0ToO: number[]; // P0 line -> original line
  let p0ToP1: number[];
  try {
    p0ToO = matchLines(o, a);
    p0ToP1 = inverse(matchLines(a, b), a.length);
  } catch {
    return p1;
  }
  const anchors: number[] = [-1];
  for (let j = 0; j < a.length; j++) if (p0ToO[j] >= 0 && p0ToP1[j] >= 0) anchors.push(j);
  anchors.push(a.length);
  const oAt = (j: number) => (j < 0 ? -1 : j >= a.length ? o.length : p0ToO[j]);
  const p1At = (j: number) => (j < 0 ? -1 : j >= a.length ? b.length : p0ToP1[j]);
  const out: string[] = [];
  for (let k = 0; k < anchors.length - 1; k++) {
    const j1 = anchors[k];
    const j2 = anchors[k + 1];
    if (j1 >= 0) out.push(o[p0ToO[j1]]);
    const oSlice = o.slice(oAt(j1) + 1, oAt(j2));
    const p0Slice = a.slice(j1 + 1, j2);
    const p1From = p1At(j1) + 1;
    const p1Slice = b.slice(p1From, p1At(j2));
    const untouched = p0Slice.length === p1Slice.length && p0Slice.every((line, i) => line === p1Slice[i]);
    if (untouched) out.push(...oSlice);
    else if (oSlice.length === p0Slice.length) {
      p1Slice.forEach((line, i) => {
        const kept = p0ToP1.indexOf(p1From + i, j1 + 1);
        out.push(kept > j1 && kept < j2 ? oSlice[kept - j1 - 1] : line);
      });
    } else out.push(...p1Slice);
  }
  return out.join("\n");
}
