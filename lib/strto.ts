/**
 * U-Boot's number parsing (lib/strto.c): `simple_strtoul` and friends. A `0x` prefix always switches
 * to base 16; base 0 picks octal for a leading `0`, else decimal; parsing stops at the first invalid
 * digit; results wrap at 64 bits as `ulong` does on arm64.
 *
 * @module
 */

const ULONG_MASK = (1n << 64n) - 1n;

/** The result of a parse: the value and the index of the first character not consumed. */
export interface ParsedNumber {
  /** The value (unsigned 64-bit, or signed for {@linkcode simpleStrtol}). */
  value: bigint;
  /** Index just past the last digit consumed. */
  end: number;
}

function _digit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x7a) return lower - 0x61 + 10;
  return 99;
}

/** `simple_strtoul(text + start, &end, base)`. */
export function simpleStrtoul(text: string, base = 0, start = 0): ParsedNumber {
  let i = start;
  if (text[i] === "0") {
    const next = text[i + 1];
    if (next === "x" || next === "X") {
      base = 16;
      i += 2;
    } else if (base === 0) {
      base = 8;
    }
  }
  if (base === 0) base = 10;
  const b = BigInt(base);
  let value = 0n;
  for (; i < text.length; i++) {
    const d = _digit(text.charCodeAt(i));
    if (d >= base) break;
    value = (value * b + BigInt(d)) & ULONG_MASK;
  }
  return { value, end: i };
}

/** `simple_strtol`: as {@linkcode simpleStrtoul} with a leading `-` allowed (value as signed 64-bit). */
export function simpleStrtol(text: string, base = 0, start = 0): ParsedNumber {
  if (text[start] === "-") {
    const r = simpleStrtoul(text, base, start + 1);
    return { value: BigInt.asIntN(64, -r.value), end: r.end };
  }
  const r = simpleStrtoul(text, base, start);
  return { value: BigInt.asIntN(64, r.value), end: r.end };
}

/** `hextoul(text, NULL)`: base 16, as a bigint. */
export function hextoul(text: string): bigint {
  return simpleStrtoul(text, 16).value;
}

/** `dectoul(text, NULL)`: base 10 (a `0x` prefix still switches to 16). */
export function dectoul(text: string): bigint {
  return simpleStrtoul(text, 10).value;
}

/**
 * `hextoul` as a JS number, for addresses and counts. Values past 2^53 keep their low 53 bits'
 * worth of precision loss out of the way by saturating to `Number.MAX_SAFE_INTEGER`.
 */
export function hexToNumber(text: string): number {
  const v = hextoul(text);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** `strict_strtoul` as U-Boot's `strict` helpers use it: the whole string must be digits. */
export function strictStrtoul(text: string, base: number): bigint | undefined {
  if (text.length === 0) return undefined;
  const r = simpleStrtoul(text, base);
  return r.end === text.length ? r.value : undefined;
}
