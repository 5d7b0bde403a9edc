/**
 * A line diff in unified style (`---`/`+++` headers, `@@ -a,b +c,d @@` hunks, three lines of
 * context), computed from a longest common subsequence. Pure.
 *
 * @module
 */

/** Lines of context around each change. */
const CONTEXT = 3;
/**
 * Largest product of the two line counts diffed exactly (the LCS table is that big); beyond it the
 * whole of both sides is shown as one replaced block. 4M cells keeps a diff well under a second.
 */
const MAX_TABLE_CELLS = 4_000_000;

type _Op = { kind: " " | "-" | "+"; text: string };

function _lcsOps(a: readonly string[], b: readonly string[]): _Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_TABLE_CELLS) {
    return [
      ...a.map((text) => ({ kind: "-" as const, text })),
      ...b.map((text) => ({ kind: "+" as const, text })),
    ];
  }
  // suffix[i][j] = LCS length of a[i..] and b[j..], stored row-major in one array.
  const width = m + 1;
  const suffix = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      suffix[i * width + j] = a[i] === b[j]
        ? suffix[(i + 1) * width + j + 1]! + 1
        : Math.max(suffix[(i + 1) * width + j]!, suffix[i * width + j + 1]!);
    }
  }
  const ops: _Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ kind: " ", text: a[i]! });
      i++;
      j++;
    } else if (suffix[(i + 1) * width + j]! >= suffix[i * width + j + 1]!) {
      ops.push({ kind: "-", text: a[i++]! });
    } else {
      ops.push({ kind: "+", text: b[j++]! });
    }
  }
  while (i < n) ops.push({ kind: "-", text: a[i++]! });
  while (j < m) ops.push({ kind: "+", text: b[j++]! });
  return ops;
}

function _range(start: number, count: number): string {
  // Unified format: an empty range is written as the line before it.
  return count === 1 ? `${start}` : `${count === 0 ? start - 1 : start},${count}`;
}

/**
 * Unified diff of two line lists; an empty array when they are equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const d = unifiedDiff(["a", "b"], ["a", "c"], "u-boot", "pvboot");
 * assert.ok(d.includes("-b") && d.includes("+c"));
 * ```
 */
export function unifiedDiff(
  a: readonly string[],
  b: readonly string[],
  labelA: string,
  labelB: string,
): string[] {
  const ops = _lcsOps(a, b);
  if (ops.every((op) => op.kind === " ")) return [];
  const out = [`--- ${labelA}`, `+++ ${labelB}`];
  // Line numbers (1-based) of each op in a and b.
  const posA: number[] = [];
  const posB: number[] = [];
  let la = 1;
  let lb = 1;
  for (const op of ops) {
    posA.push(la);
    posB.push(lb);
    if (op.kind !== "+") la++;
    if (op.kind !== "-") lb++;
  }
  let k = 0;
  while (k < ops.length) {
    while (k < ops.length && ops[k]!.kind === " ") k++;
    if (k >= ops.length) break;
    const start = Math.max(0, k - CONTEXT);
    // Extend the hunk while the next change is within 2*CONTEXT unchanged lines.
    let end = k;
    let lastChange = k;
    while (end < ops.length && end - lastChange <= 2 * CONTEXT) {
      if (ops[end]!.kind !== " ") lastChange = end;
      end++;
    }
    const stop = Math.min(ops.length, lastChange + CONTEXT + 1);
    const hunk = ops.slice(start, stop);
    const countA = hunk.filter((op) => op.kind !== "+").length;
    const countB = hunk.filter((op) => op.kind !== "-").length;
    out.push(`@@ -${_range(posA[start]!, countA)} +${_range(posB[start]!, countB)} @@`);
    for (const op of hunk) out.push(`${op.kind}${op.text}`);
    k = stop;
  }
  return out;
}
