/**
 * Names in a FAT directory as U-Boot 2023.01 shows and compares them:
 *
 * - {@linkcode shortName} is `get_name`: the 8.3 name with trailing spaces dropped, a dot only when
 *   there is an extension, lower case where the entry's NT case flags ask for it, a leading 0x05
 *   read as 0xE5.
 * - {@linkcode aliasChecksum} is `mkcksum`, the checksum long-name slots carry of their short name.
 * - {@linkcode slotChars} is `slot2str`: the low byte of each UTF-16 unit of a long-name slot, up to
 *   the first 0 (U-Boot keeps no more of a long name's characters than that).
 * - {@linkcode strncasecmp} and {@linkcode toLower} are U-Boot's (lib/string.c, lib/ctype.c): case
 *   folding covers ASCII and the Latin-1 capitals 0xC0-0xDE (not 0xD7).
 *
 * Names are byte strings (one character per byte).
 *
 * @example
 * ```ts
 * import { strncasecmp } from "./fat_names.ts";
 * console.log(strncasecmp("HELLO.TXT", "hello.txt", 9)); // 0
 * ```
 *
 * @module
 */

import {
  ARING,
  CASE_LOWER_BASE,
  CASE_LOWER_EXT,
  DELETED_FLAG,
  DIR_EXT,
  DIR_EXT_LEN,
  DIR_LCASE,
  DIR_NAME,
  DIR_NAME_LEN,
  DIR_NAMEEXT_LEN,
  SLOT_CHAR_OFFSETS,
} from "./fat_layout.ts";

const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const LATIN1_UPPER_FIRST = 0xc0;
const LATIN1_UPPER_LAST = 0xde;
/** The multiplication sign sits among the Latin-1 capitals but is not a letter. */
const LATIN1_TIMES = 0xd7;
const CASE_OFFSET = 0x20;
const SPACE = 0x20;
const DOT = ".";

/** U-Boot's `tolower` of one byte. */
export function toLowerByte(c: number): number {
  const upper = (c >= UPPER_A && c <= UPPER_Z) ||
    (c >= LATIN1_UPPER_FIRST && c <= LATIN1_UPPER_LAST && c !== LATIN1_TIMES);
  return upper ? c + CASE_OFFSET : c;
}

/** `tolower` of every byte of `text`. */
export function toLower(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) out += String.fromCharCode(toLowerByte(text.charCodeAt(i)));
  return out;
}

/**
 * U-Boot's `strncasecmp(a, b, n)`: compares at most `n` bytes, stopping at the end of either string
 * (the end reads as a NUL). Returns the difference of the first bytes that differ after folding.
 */
export function strncasecmp(a: string, b: string, n: number): number {
  let c1 = 0;
  let c2 = 0;
  for (let i = 0; i < n; i++) {
    c1 = i < a.length ? a.charCodeAt(i) : 0;
    c2 = i < b.length ? b.charCodeAt(i) : 0;
    if (c1 === 0 || c2 === 0) break;
    if (c1 === c2) continue;
    c1 = toLowerByte(c1);
    c2 = toLowerByte(c2);
    if (c1 !== c2) break;
  }
  return c1 - c2;
}

/** Bytes of `raw` from `start` up to (not including) the first space or NUL, at most `length`. */
function _field(raw: Uint8Array, start: number, length: number): string {
  let text = "";
  for (let i = start; i < start + length; i++) {
    const c = raw[i] ?? 0;
    if (c === 0 || c === SPACE) break;
    text += String.fromCharCode(c);
  }
  return text;
}

/** `get_name`: the short name of the 32-byte entry at `offset` of `raw`. */
export function shortName(raw: Uint8Array, offset = 0): string {
  const lcase = raw[offset + DIR_LCASE] ?? 0;
  let base = _field(raw, offset + DIR_NAME, DIR_NAME_LEN);
  if (lcase & CASE_LOWER_BASE) base = toLower(base);
  let name = base;
  const ext0 = raw[offset + DIR_EXT] ?? 0;
  if (ext0 !== 0 && ext0 !== SPACE) {
    let ext = _field(raw, offset + DIR_EXT, DIR_EXT_LEN);
    if (lcase & CASE_LOWER_EXT) ext = toLower(ext);
    name += DOT + ext;
  }
  const first = name.charCodeAt(0);
  if (first === DELETED_FLAG) return "";
  if (first === ARING) return String.fromCharCode(DELETED_FLAG) + name.slice(1);
  return name;
}

/** `mkcksum`: the checksum of the 11 name bytes of the entry at `offset` of `raw`. */
export function aliasChecksum(raw: Uint8Array, offset = 0): number {
  let sum = 0;
  for (let i = 0; i < DIR_NAMEEXT_LEN; i++) {
    sum = ((((sum & 1) << 7) | ((sum & 0xfe) >> 1)) + (raw[offset + DIR_NAME + i] ?? 0)) & 0xff;
  }
  return sum;
}

/** `slot2str`: the characters of the long-name slot at `offset` of `raw`, up to the first NUL. */
export function slotChars(raw: Uint8Array, offset = 0): string {
  let text = "";
  for (const at of SLOT_CHAR_OFFSETS) {
    const c = raw[offset + at] ?? 0;
    if (c === 0) break;
    text += String.fromCharCode(c);
  }
  return text;
}
