/**
 * pvboot's conformance protocol (`main.ts --conformance`): commands arrive on standard input one
 * per line; after running each line pvboot writes what the commands printed, then the marker line
 * `\x00PVBOOT-RC <n>\x00\n` where n is `$?`. No prompts, no echo. Pure: finds markers in text.
 *
 * @module
 */

/** The flag that turns the protocol on. */
export const CONFORMANCE_FLAG = "--conformance";

// The marker is delimited by NUL bytes on purpose: no command prints them.
// deno-lint-ignore no-control-regex
const MARKER_RE = /\x00PVBOOT-RC (-?\d+)\x00\n/;

/** The marker pvboot writes after a line whose `$?` is `rc`. */
export function marker(rc: number): string {
  return `\x00PVBOOT-RC ${rc}\x00\n`;
}

/** One command's output and status, split off the front of the stream text. */
export interface MarkedOutput {
  /** What the line printed before its marker. */
  readonly output: string;
  /** The `$?` the marker carried. */
  readonly rc: number;
  /** How many chars of the text the output and marker took. */
  readonly consumed: number;
}

/**
 * The first complete marked output in `text`, or null while the marker has not arrived.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const m = findMarked("hello\n\x00PVBOOT-RC 0\x00\nmore");
 * assert.ok(m?.output === "hello\n" && m.rc === 0);
 * ```
 */
export function findMarked(text: string): MarkedOutput | null {
  const m = MARKER_RE.exec(text);
  if (m === null) return null;
  return { output: text.slice(0, m.index), rc: Number(m[1]), consumed: m.index + m[0].length };
}
