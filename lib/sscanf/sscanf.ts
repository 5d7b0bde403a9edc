/**
 * U-Boot's `sscanf` (lib/sscanf.c, the BSD `vfscanf` that Mini-OS carried over), rebuilt with its
 * observable behaviour: the conversions `%d %i %o %u %x %p %s %c %[set] %n %%`, the modifiers
 * `* h hh l ll q`, field widths, the whitespace rules and the return conventions.
 *
 * - The return value counts assigned conversions (`%n` and `*`-suppressed ones are not counted). It
 *   is -1 when the input runs out before the first conversion (an empty string with `%d`), and the
 *   count so far when a literal or a conversion does not match.
 * - Input and format are C strings: each stops at its first NUL. Text is a byte string (one character
 *   per byte), as elsewhere in pvboot; whitespace is U-Boot's `isspace` (9–13, 32 and 160).
 * - Numbers: at most 31 characters are scanned per number whatever the width; `%x` accepts a `0x`
 *   prefix; `%i` picks the base from the prefix (`0x` hex, `0` octal) but, as in U-Boot, only when no
 *   sign comes first; a number ending in a lone `x` gives the `x` back. Values saturate as
 *   `strtoq`/`strtouq` do and are then truncated to the size the modifier names (`hh` 8 bits, `h`
 *   16, none 32, `l`/`ll`/`q` 64; `%p` 64). `%d`/`%i` values are returned signed, `%o %u %x %p`
 *   unsigned, `%n` as the count of characters consumed so far.
 * - There is no `%X`, no `%e/%f/%g` and no `L`/`z`/`j`/`t`: U-Boot treats an unknown conversion
 *   character as a conversion that only skips leading whitespace and assigns nothing, and so does
 *   this function.
 *
 * Two deliberate departures, both where the C code reads past the end of its input (undefined
 * behaviour): `%Nc` with fewer than N characters left takes what is left, and `%*Nc` likewise
 * leaves no input behind. A `%` that ends the format ends the scan.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sscanf } from "./sscanf.ts";
 *
 * assert.deepEqual(sscanf("12345 -67890 -1", "%d %ld %d"), { count: 3, values: [12345n, -67890n, -1n] });
 * assert.deepEqual(sscanf("", "%d"), { count: -1, values: [] });
 * ```
 *
 * @module
 */

/** What `sscanf` returned and what it stored, in argument order. */
export interface SscanfResult {
  /** The C return value: assigned conversions, or -1 (EOF) on input failure before any conversion. */
  count: number;
  /** One entry per argument written: bigint for numbers and `%n`, string for `%s %c %[`. */
  values: Array<bigint | string>;
}

/** Most characters a numeric conversion scans (U-Boot's `BUF` of 32 bytes, minus the NUL). */
export const SSCANF_MAX_NUMBER_CHARS = 31;

const SUPPRESS = 0x08;
const LONG = 0x01;
const SHORT = 0x04;
const POINTER = 0x10;
const NOSKIP = 0x20;
const SIGNOK = 0x40;
const NDIGITS = 0x80;
const PFXOK = 0x100;
const NZDIGITS = 0x200;
const QUAD = 0x400;
const SHORTSHORT = 0x4000;

const CHAR_NUL = 0;
const CHAR_PERCENT = 0x25;
const CHAR_0 = 0x30;
const CHAR_9 = 0x39;
const CHAR_NBSP = 0xa0;
const TABLE_SIZE = 256;

/** U-Boot's `isspace` (lib/ctype.c: `_S` for 9–13, 32 and 160). */
function _isSpace(c: number): boolean {
  return (c >= 9 && c <= 13) || c === 32 || c === CHAR_NBSP;
}

function _isDigit(c: number): boolean {
  return c >= CHAR_0 && c <= CHAR_9;
}

/** Length of a C string: up to the first NUL. */
function _strlen(text: string): number {
  const nul = text.indexOf("\0");
  return nul < 0 ? text.length : nul;
}

/** `strtoq` (signed) or `strtouq` (unsigned) over a number the scanner collected, as a u64 bit pattern. */
function _strtoq(text: string, base: number, unsigned: boolean): bigint {
  let i = 0;
  let neg = false;
  if (text[i] === "-") {
    neg = true;
    i++;
  } else if (text[i] === "+") {
    i++;
  }
  if ((base === 0 || base === 16) && text[i] === "0" && (text[i + 1] === "x" || text[i + 1] === "X")) {
    i += 2;
    base = 16;
  }
  if (base === 0) base = text[i] === "0" ? 8 : 10;
  const limit = unsigned ? (1n << 64n) - 1n : neg ? 1n << 63n : (1n << 63n) - 1n;
  const b = BigInt(base);
  let acc = 0n;
  let overflow = false;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let digit: number;
    if (_isDigit(code)) digit = code - CHAR_0;
    else if ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a) digit = (code | 0x20) - 0x61 + 10;
    else break;
    if (digit >= base) break;
    const next = acc * b + BigInt(digit);
    if (overflow || next > limit) overflow = true;
    else acc = next;
  }
  if (overflow) {
    if (unsigned) return (1n << 64n) - 1n;
    return BigInt.asUintN(64, neg ? -(1n << 63n) : (1n << 63n) - 1n);
  }
  return BigInt.asUintN(64, neg ? -acc : acc);
}

/** `__sccl`: the scanset starting at `format[at]` (just after `[`); returns the table and where it ends. */
function _scanset(format: string, fmtLen: number, at: number): { table: Uint8Array; next: number } {
  const fmt = (i: number) => (i < fmtLen ? format.charCodeAt(i) & 0xff : CHAR_NUL);
  let f = at;
  let c = fmt(f++);
  let v = 0;
  if (c === 0x5e) { // '^': negated set
    v = 1;
    c = fmt(f++);
  }
  const table = new Uint8Array(TABLE_SIZE).fill(v);
  if (c === CHAR_NUL) return { table, next: f - 1 };
  v = 1 - v;
  // Each pass consumes at least one format character, so the format length bounds the loop.
  for (;;) {
    table[c] = v;
    let n = fmt(f++);
    // A range `a-z` may chain into another (`a-c-e`), re-examining the character after it.
    while (n === 0x2d && fmt(f) !== 0x5d && fmt(f) >= c) { // '-' not before ']' nor descending
      const end = fmt(f++);
      // As in U-Boot, at least one character past the start is taken: `[a-a]` holds `a` and `b`.
      do table[++c] = v; while (c < end);
      c = end;
      n = fmt(f++);
    }
    if (n === CHAR_NUL) return { table, next: f - 1 };
    if (n === 0x5d) return { table, next: f }; // ']'
    c = n;
  }
}

type _Kind = "int" | "string" | "ccl" | "char" | "unknown";

/**
 * Scans `input` according to `format` as U-Boot's `sscanf` does (see the module documentation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sscanf } from "./sscanf.ts";
 *
 * assert.deepEqual(sscanf("f00dcafe444", "%4x%4x%u"), { count: 3, values: [0xf00dn, 0xcafen, 444n] });
 * assert.deepEqual(sscanf("WD40", "%3s%u"), { count: 2, values: ["WD4", 0n] });
 * ```
 */
export function sscanf(input: string, format: string): SscanfResult {
  const fmtLen = _strlen(format);
  const fmt = (i: number) => (i < fmtLen ? format.charCodeAt(i) & 0xff : CHAR_NUL);
  // `at(i)` beyond the C string reads its NUL; `inr` counts what is left, as in U-Boot, and may lag
  // `inp` where U-Boot's does (the end of a number).
  const inputLen = _strlen(input);
  const at = (i: number) => (i >= 0 && i < inputLen ? input.charCodeAt(i) & 0xff : CHAR_NUL);
  let inp = 0;
  let inr = inputLen;
  let f = 0;
  let nassigned = 0;
  let nconversions = 0;
  let nread = 0;
  const values: Array<bigint | string> = [];
  const inputFailure = (): SscanfResult => ({ count: nconversions !== 0 ? nassigned : -1, values });
  const matchFailure = (): SscanfResult => ({ count: nassigned, values });

  // Every pass consumes at least one format character, so the format length bounds the loop.
  for (;;) {
    let c = fmt(f++);
    if (c === CHAR_NUL) return { count: nassigned, values };
    if (_isSpace(c)) {
      while (inr > 0 && _isSpace(at(inp))) {
        nread++;
        inr--;
        inp++;
      }
      continue;
    }
    let literal = c !== CHAR_PERCENT;
    let width = 0;
    let flags = 0;
    let kind: _Kind = "unknown";
    let base = 10;
    let unsigned = false;
    let table: Uint8Array | undefined;
    while (!literal) {
      c = fmt(f++);
      if (c === CHAR_PERCENT) {
        literal = true;
        break;
      }
      if (c === 0x2a) flags |= SUPPRESS; // '*'
      else if (c === 0x6c) flags = flags & LONG ? (flags & ~LONG) | QUAD : flags | LONG; // 'l'
      else if (c === 0x71) flags |= QUAD; // 'q'
      else if (c === 0x68) flags = flags & SHORT ? (flags & ~SHORT) | SHORTSHORT : flags | SHORT; // 'h'
      else if (_isDigit(c)) width = width * 10 + (c - CHAR_0);
      else break;
    }
    if (literal) {
      if (inr <= 0) return inputFailure();
      if (at(inp) !== c) return matchFailure();
      inr--;
      inp++;
      nread++;
      continue;
    }
    switch (String.fromCharCode(c)) {
      case "d":
        [kind, base, unsigned] = ["int", 10, false];
        break;
      case "i":
        [kind, base, unsigned] = ["int", 0, false];
        break;
      case "o":
        [kind, base, unsigned] = ["int", 8, true];
        break;
      case "u":
        [kind, base, unsigned] = ["int", 10, true];
        break;
      case "x":
        [kind, base, unsigned] = ["int", 16, true];
        flags |= PFXOK;
        break;
      case "p":
        [kind, base, unsigned] = ["int", 16, true];
        flags |= POINTER | PFXOK;
        break;
      case "s":
        kind = "string";
        break;
      case "[": {
        const set = _scanset(format, fmtLen, f);
        table = set.table;
        f = set.next;
        flags |= NOSKIP;
        kind = "ccl";
        break;
      }
      case "c":
        flags |= NOSKIP;
        kind = "char";
        break;
      case "n":
        nconversions++;
        if (!(flags & SUPPRESS)) values.push(BigInt(nread));
        continue;
      case "\0":
        // A `%` that ends the format: U-Boot reads on past the format's end; stop here instead.
        return { count: nassigned, values };
    }

    // A conversion that needs input (an unknown one included: it only skips whitespace).
    if (inr <= 0) return inputFailure();
    if (!(flags & NOSKIP)) {
      while (_isSpace(at(inp))) {
        nread++;
        if (--inr > 0) inp++;
        else return inputFailure();
      }
    }

    if (kind === "char") {
      if (width === 0) width = 1;
      const n = Math.min(width, inr);
      if (!(flags & SUPPRESS)) {
        values.push(input.slice(inp, inp + n));
        nassigned++;
      }
      inr -= n;
      inp += n;
      nread += n;
      nconversions++;
    } else if (kind === "ccl" && table) {
      let remaining = width === 0 ? Infinity : width;
      const start = inp;
      while (table[at(inp)]) {
        inr--;
        inp++;
        if (--remaining === 0 || inr <= 0) break;
      }
      const n = inp - start;
      if (n === 0) return matchFailure();
      if (!(flags & SUPPRESS)) {
        values.push(input.slice(start, inp));
        nassigned++;
      }
      nread += n;
      nconversions++;
    } else if (kind === "string") {
      let remaining = width === 0 ? Infinity : width;
      const start = inp;
      while (!_isSpace(at(inp))) {
        inr--;
        inp++;
        if (--remaining === 0 || inr <= 0) break;
      }
      if (!(flags & SUPPRESS)) {
        values.push(input.slice(start, inp));
        nassigned++;
      }
      nread += inp - start;
      nconversions++;
    } else if (kind === "int") {
      const limit = width === 0 || width > SSCANF_MAX_NUMBER_CHARS ? SSCANF_MAX_NUMBER_CHARS : width;
      flags |= SIGNOK | NDIGITS | NZDIGITS;
      let buf = "";
      for (let w = limit; w > 0; w--) {
        const ch = at(inp);
        let ok = false;
        if (ch === CHAR_0) {
          if (base === 0) {
            base = 8;
            flags |= PFXOK;
          }
          flags &= flags & NZDIGITS ? ~(SIGNOK | NZDIGITS | NDIGITS) : ~(SIGNOK | PFXOK | NDIGITS);
          ok = true;
        } else if (ch >= 0x31 && ch <= 0x37) {
          if (base === 0) base = 10;
          flags &= ~(SIGNOK | PFXOK | NDIGITS);
          ok = true;
        } else if (ch === 0x38 || ch === 0x39) {
          if (base === 0) base = 10;
          if (base > 8) {
            flags &= ~(SIGNOK | PFXOK | NDIGITS);
            ok = true;
          }
        } else if ((ch | 0x20) >= 0x61 && (ch | 0x20) <= 0x66) {
          if (base > 10) {
            flags &= ~(SIGNOK | PFXOK | NDIGITS);
            ok = true;
          }
        } else if (ch === 0x2b || ch === 0x2d) {
          if (flags & SIGNOK) {
            flags &= ~SIGNOK;
            ok = true;
          }
        } else if ((ch | 0x20) === 0x78) {
          if (flags & PFXOK && buf.length === 1) {
            base = 16;
            flags &= ~PFXOK;
            ok = true;
          }
        }
        if (!ok) break;
        buf += String.fromCharCode(ch);
        // U-Boot's quirk: the last character of the input is taken without moving past it.
        if (--inr > 0) inp++;
        else break;
      }
      if (flags & NDIGITS) {
        if (buf.length > 0) {
          inp--;
          inr++;
        }
        return matchFailure();
      }
      const last = buf.charCodeAt(buf.length - 1);
      if ((last | 0x20) === 0x78) {
        buf = buf.slice(0, -1);
        inp--;
        inr++;
      }
      if (!(flags & SUPPRESS)) {
        const raw = _strtoq(buf, base, unsigned);
        const bits = flags & POINTER
          ? 64
          : flags & SHORTSHORT
          ? 8
          : flags & SHORT
          ? 16
          : flags & (LONG | QUAD)
          ? 64
          : 32;
        values.push(unsigned ? BigInt.asUintN(bits, raw) : BigInt.asIntN(bits, raw));
        nassigned++;
      }
      nread += buf.length;
      nconversions++;
    }
    // kind "unknown": nothing more (U-Boot's switch has no case for it).
  }
}
