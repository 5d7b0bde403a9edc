/**
 * The SLRE matcher (U-Boot 2023.01 lib/slre.c `slre_match`): runs a compiled program over a byte
 * buffer with SLRE's own backtracking rules, which differ from other engines':
 *
 * - `*` and `+` take the longest run after which the rest of the pattern matches; the rest is tried
 *   without recording captures, so groups inside a `*` stay unset and a `+` records its first round.
 * - An unanchored pattern is tried at offsets 0 to length-1 only, so nothing matches an empty buffer.
 * - Captures left by failed attempts stay in the capture array.
 *
 * U-Boot spins forever on a quantified sub-pattern that can match empty (`(a*)*`, `x**`) and takes
 * very long on some others; pvboot counts the steps and throws {@linkcode SlreStepLimitError} past a
 * budget instead.
 *
 * @module
 */

import { SlreOp, type SlreProgram } from "./compile.ts";

/**
 * Steps (instructions executed) one match, or one whole `setexpr gsub`, may take. Real U-Boot needs
 * far fewer for any pattern that terminates on script-sized text; ten million keeps a runaway
 * pattern under a second here.
 */
export const SLRE_MAX_STEPS = 10_000_000;

/** One capture (`struct cap`): `ptr` is an offset into the matched buffer, -1 while unset (NULL). */
export interface SlreCapture {
  /** Offset of the capture's first byte, or -1. */
  ptr: number;
  /** Length in bytes. */
  len: number;
}

/** A step counter shared by the matches of one operation. */
export interface SlreStepBudget {
  /** Steps left. */
  remaining: number;
}

/** A match ran out of its step budget (where U-Boot would hang or grind). */
export class SlreStepLimitError extends RangeError {
  /** Creates the error. */
  constructor() {
    super("Cannot match regex: step limit reached (the pattern loops or backtracks without end)");
    this.name = "SlreStepLimitError";
  }
}

/**
 * A fresh budget of `steps` (default {@linkcode SLRE_MAX_STEPS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slreStepBudget } from "./match.ts";
 * assert.ok(slreStepBudget(5).remaining === 5);
 * ```
 */
export function slreStepBudget(steps = SLRE_MAX_STEPS): SlreStepBudget {
  return { remaining: steps };
}

/**
 * An array of `count` unset captures (U-Boot's memset to 0 of `struct cap caps[]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slreCaptures } from "./match.ts";
 * assert.ok(slreCaptures(2)[1]!.ptr === -1);
 * ```
 */
export function slreCaptures(count: number): SlreCapture[] {
  return Array.from({ length: count }, () => ({ ptr: -1, len: 0 }));
}

/**
 * `slre_match(r, buf, len, caps)`: true when `program` matches somewhere in `text`. `caps`, when
 * given, must hold `numCaps + 1` entries or more; capture 0 is the whole match.
 * Throws {@linkcode SlreStepLimitError} when `budget` runs out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slreCompile } from "./compile.ts";
 * import { slreCaptures, slreMatch } from "./match.ts";
 * const caps = slreCaptures(2);
 * const found = slreMatch(slreCompile("n+"), new TextEncoder().encode("banana"), caps);
 * assert.ok(found && caps[0]!.ptr === 2 && caps[0]!.len === 1);
 * ```
 */
export function slreMatch(
  program: SlreProgram,
  text: Uint8Array,
  caps?: SlreCapture[],
  budget: SlreStepBudget = slreStepBudget(),
): boolean {
  const matcher = new _Matcher(program, text, budget);
  const len = text.length;
  if (program.anchored) {
    matcher.ofs = 0;
    return matcher.match(0, caps);
  }
  for (let i = 0; i < len; i++) {
    matcher.ofs = i;
    if (matcher.match(0, caps)) return true;
  }
  return false;
}

/**
 * {@linkcode slreMatch} on a byte string (each character one byte), without captures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slreCompile } from "./compile.ts";
 * import { slreMatchString } from "./match.ts";
 * assert.ok(!slreMatchString(slreCompile("[0-9]+"), "abc123")); // no ranges in SLRE
 * ```
 */
export function slreMatchString(program: SlreProgram, text: string, budget?: SlreStepBudget): boolean {
  return slreMatch(program, byteStringToBytes(text), undefined, budget);
}

/**
 * A byte string (characters 0–255) as bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byteStringToBytes } from "./match.ts";
 * assert.ok(byteStringToBytes("A\xff")[1] === 0xff);
 * ```
 */
export function byteStringToBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/** `isspace` of U-Boot's Latin-1 ctype table: \t \n \v \f \r, space and NBSP (0xa0). */
function _isSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte === 0xa0;
}

function _isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

class _Matcher {
  readonly #code: Uint8Array;
  readonly #data: Uint8Array;
  readonly #s: Uint8Array;
  readonly #len: number;
  readonly #budget: SlreStepBudget;
  /** The one offset every level of U-Boot's recursion shares through its `int *ofs`. */
  ofs = 0;

  constructor(program: SlreProgram, text: Uint8Array, budget: SlreStepBudget) {
    this.#code = program.code;
    this.#data = program.data;
    this.#s = text;
    this.#len = text.length;
    this.#budget = budget;
  }

  #at(pc: number): number {
    return this.#code[pc] ?? SlreOp.END;
  }

  /** `loop_greedy`: the longest run of the body after which the rest matches. */
  #loopGreedy(pc: number): void {
    let matchedOffset = this.ofs;
    while (this.match(pc + 2, undefined)) {
      const savedOffset = this.ofs;
      if (this.match(pc + this.#at(pc + 1), undefined)) matchedOffset = savedOffset;
      this.ofs = savedOffset;
    }
    this.ofs = matchedOffset;
  }

  /** `loop_non_greedy`: the shortest run of the body after which the rest matches. */
  #loopNonGreedy(pc: number): void {
    let savedOffset = this.ofs;
    while (this.match(pc + 2, undefined)) {
      savedOffset = this.ofs;
      if (this.match(pc + this.#at(pc + 1), undefined)) break;
    }
    this.ofs = savedOffset;
  }

  #inSet(pc: number): boolean {
    const start = this.#at(pc + 1);
    const count = this.#at(pc + 2);
    const ch = this.#s[this.ofs];
    for (let i = 0; i < count; i++) {
      if (this.#data[start + i] === ch) return true;
    }
    return false;
  }

  /** `match`: runs the code from `pc` to its END; true when it matched. */
  match(pc: number, caps: SlreCapture[] | undefined): boolean {
    let res = true;
    while (res && this.#at(pc) !== SlreOp.END) {
      if (--this.#budget.remaining < 0) throw new SlreStepLimitError();
      const op = this.#at(pc);
      switch (op) {
        case SlreOp.BRANCH: {
          const savedOffset = this.ofs;
          res = this.match(pc + 3, caps);
          if (!res) {
            this.ofs = savedOffset;
            res = this.match(pc + this.#at(pc + 1), caps);
          }
          pc += this.#at(pc + 2);
          break;
        }
        case SlreOp.EXACT: {
          res = false;
          const start = this.#at(pc + 1);
          const n = this.#at(pc + 2);
          if (n <= this.#len - this.ofs) {
            let same = true;
            for (let i = 0; i < n && same; i++) same = this.#s[this.ofs + i] === this.#data[start + i];
            if (same) {
              this.ofs += n;
              res = true;
            }
          }
          pc += 3;
          break;
        }
        case SlreOp.QUEST: {
          res = true;
          const savedOffset = this.ofs;
          if (!this.match(pc + 2, caps)) this.ofs = savedOffset;
          pc += this.#at(pc + 1);
          break;
        }
        case SlreOp.STAR:
          res = true;
          this.#loopGreedy(pc);
          pc += this.#at(pc + 1);
          break;
        case SlreOp.STARQ:
          res = true;
          this.#loopNonGreedy(pc);
          pc += this.#at(pc + 1);
          break;
        case SlreOp.PLUS:
          res = this.match(pc + 2, caps);
          if (!res) break;
          this.#loopGreedy(pc);
          pc += this.#at(pc + 1);
          break;
        case SlreOp.PLUSQ:
          res = this.match(pc + 2, caps);
          if (!res) break;
          this.#loopNonGreedy(pc);
          pc += this.#at(pc + 1);
          break;
        case SlreOp.SPACE:
        case SlreOp.NONSPACE:
        case SlreOp.DIGIT: {
          res = false;
          if (this.ofs < this.#len) {
            const byte = this.#s[this.ofs] ?? 0;
            const hit = op === SlreOp.SPACE
              ? _isSpace(byte)
              : op === SlreOp.NONSPACE
              ? !_isSpace(byte)
              : _isDigit(byte);
            if (hit) {
              this.ofs++;
              res = true;
            }
          }
          pc++;
          break;
        }
        case SlreOp.ANY:
          res = false;
          if (this.ofs < this.#len) {
            this.ofs++;
            res = true;
          }
          pc++;
          break;
        case SlreOp.ANYOF:
        case SlreOp.ANYBUT:
          res = false;
          if (this.ofs < this.#len) {
            res = this.#inSet(pc) === (op === SlreOp.ANYOF);
            if (res) this.ofs++;
          }
          pc += 3;
          break;
        case SlreOp.BOL:
          res = this.ofs === 0;
          pc++;
          break;
        case SlreOp.EOL:
          res = this.ofs === this.#len;
          pc++;
          break;
        case SlreOp.OPEN: {
          const cap = caps?.[this.#at(pc + 1)];
          if (cap) cap.ptr = this.ofs;
          pc += 2;
          break;
        }
        case SlreOp.CLOSE: {
          const cap = caps?.[this.#at(pc + 1)];
          if (cap) cap.len = this.ofs - cap.ptr;
          pc += 2;
          break;
        }
        default:
          throw new Error(`Cannot match regex: unknown opcode ${op} at ${pc}`);
      }
    }
    return res;
  }
}
