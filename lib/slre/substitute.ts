/**
 * `setexpr name sub|gsub` 's substitution engine (U-Boot 2023.01 cmd/setexpr.c `setexpr_regex_sub`),
 * kept on byte buffers of U-Boot's sizes because its results depend on them:
 *
 * - After each match the replacement is put in place of the **first occurrence of the matched text**
 *   at or after the resume point (`memstr`), which is not always where the pattern matched.
 * - `gsub` resumes just after the inserted text and matches the rest as a new buffer, so `^` matches
 *   again at each resume point.
 * - `\0` to `\9` in the replacement are expanded one after another, stopping at the first empty
 *   capture; each expansion scans the replacement buffer as far as its full length, as U-Boot does.
 * - Errors: "## error: subst buffer overflow: have %d, need %d", "## error: pattern buffer overflow:
 *   have %d, need %d", "## error: substitution buffer overflow", and "<text>: No match".
 *
 * @module
 */

import type { SlreProgram } from "./compile.ts";
import {
  byteStringToBytes,
  slreCaptures,
  slreMatch,
  type SlreStepBudget,
  slreStepBudget,
  SlreStepLimitError,
} from "./match.ts";

/** `SLRE_BUFSZ`: the text buffer, terminating NUL included. */
export const SLRE_BUFSZ = 16384;
/** `SLRE_PATSZ`: the replacement buffer, terminating NUL included. */
export const SLRE_PATSZ = 4096;
/** Backreferences `\0`..`\9`. */
const MAX_BACKREFS = 10;
const CH_BACKSLASH = 0x5c;
const CH_ZERO = 0x30;
/**
 * Rounds of `gsub` that can make progress: every round with a non-empty replacement moves the resume
 * point forward, and every round with an empty one shortens the text. Past this, the match is empty
 * and so is the replacement, and U-Boot loops forever.
 */
const MAX_ROUNDS = SLRE_BUFSZ + 2;

/** What a substitution gave: the new text, or U-Boot's message for why there is none. */
export type SubstituteOutcome = { ok: true; text: string } | { ok: false; message: string };

/**
 * Replaces the first (`global` false) or every match of `program` in `text` with `replacement`, with
 * `\0`..`\9` backreferences, as `setexpr sub`/`gsub` do. A failure carries U-Boot's message
 * (newline-terminated). Throws {@linkcode SlreStepLimitError} where U-Boot would not terminate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slreCompile } from "./compile.ts";
 * import { regexSubstitute } from "./substitute.ts";
 * const out = regexSubstitute(slreCompile("a"), "banana", "b", true);
 * assert.ok(out.ok && out.text === "bbnbnb");
 * ```
 */
export function regexSubstitute(
  program: SlreProgram,
  text: string,
  replacement: string,
  global: boolean,
  budget: SlreStepBudget = slreStepBudget(),
): SubstituteOutcome {
  if (text.length + 1 > SLRE_BUFSZ) {
    return _failure(`## error: subst buffer overflow: have ${SLRE_BUFSZ}, need ${text.length + 1}\n`);
  }
  const data = new Uint8Array(SLRE_BUFSZ);
  data.set(byteStringToBytes(text));
  const nbuf = new Uint8Array(SLRE_PATSZ);
  const sub = byteStringToBytes(replacement);
  const len = { value: text.length };
  let datap = 0;

  for (let round = 0;; round++) {
    if (round > MAX_ROUNDS) throw new SlreStepLimitError();
    const caps = slreCaptures(program.numCaps + 2);
    const matched = slreMatch(program, data.subarray(datap, len.value), caps, budget);
    if (!matched) {
      if (round === 0) return _failure(`${_cString(data)}: No match\n`);
      break;
    }
    const whole = caps[0] ?? { ptr: 0, len: 0 };
    const old = data.slice(datap + whole.ptr, datap + whole.ptr + whole.len);

    const nlen = { value: sub.length };
    if (nlen.value + 1 >= SLRE_PATSZ) {
      return _failure(`## error: pattern buffer overflow: have ${SLRE_PATSZ}, need ${nlen.value + 1}\n`);
    }
    nbuf.set(sub);
    nbuf[nlen.value] = 0;

    for (let i = 0; i < MAX_BACKREFS; i++) {
      const cap = caps[i];
      if (!cap || cap.len === 0 || cap.ptr < 0) break;
      const backref = Uint8Array.of(CH_BACKSLASH, CH_ZERO + i);
      const value = data.slice(datap + cap.ptr, datap + cap.ptr + cap.len);
      // Each round moves np past the inserted text, so this ends within the buffer's size.
      for (let np = 0, guard = 0; guard <= SLRE_PATSZ; guard++) {
        if (_memstr(nbuf, np, nlen.value, backref) < 0) break;
        const next = _substitute(nbuf, np, nlen, SLRE_PATSZ - np, backref, value);
        if (typeof next !== "number") return next;
        np = next;
      }
    }

    const next = _substitute(data, datap, len, SLRE_BUFSZ - datap, old, nbuf.subarray(0, nlen.value));
    if (typeof next !== "number") return next;
    datap = next;
    if (!global) break;
  }
  return { ok: true, text: _cString(data) };
}

function _failure(message: string): SubstituteOutcome {
  return { ok: false, message };
}

/** The NUL-terminated string at the start of `buffer`, as a byte string. */
function _cString(buffer: Uint8Array): string {
  let end = buffer.indexOf(0);
  if (end < 0) end = buffer.length;
  let out = "";
  for (let i = 0; i < end; i++) out += String.fromCharCode(buffer[i] ?? 0);
  return out;
}

/**
 * `memstr(s1, l1, s2, l2)`: offset of the first `needle` at or after `start`, trying `l1 - l2 + 1`
 * positions (bytes past the buffer never compare equal); -1 when none.
 */
function _memstr(buffer: Uint8Array, start: number, l1: number, needle: Uint8Array): number {
  if (needle.length === 0) return start;
  for (let s1 = start, left = l1; left >= needle.length; left--, s1++) {
    let same = true;
    for (let k = 0; k < needle.length && same; k++) same = buffer[s1 + k] === needle[k];
    if (same) return s1;
  }
  return -1;
}

/**
 * `substitute(string, &slen, ssize, old, olen, new, nlen)`: replaces the first `old` found from
 * `string` with `replacement`, moving the rest of the buffer. Returns the offset just past the
 * inserted text, or the failure (`slen` is updated on success).
 */
function _substitute(
  buffer: Uint8Array,
  string: number,
  slen: { value: number },
  ssize: number,
  old: Uint8Array,
  replacement: Uint8Array,
): number | SubstituteOutcome {
  const p = _memstr(buffer, string, slen.value, old);
  if (p < 0) return _failure("");
  const olen = old.length;
  const nlen = replacement.length;
  if (slen.value + nlen - olen > ssize) return _failure("## error: substitution buffer overflow\n");
  if (olen !== nlen) {
    const tail = ssize - (p + Math.max(olen, nlen) - string);
    buffer.copyWithin(p + nlen, p + olen, p + olen + tail);
  }
  buffer.set(replacement, p);
  slen.value += nlen - olen;
  return p + nlen;
}
