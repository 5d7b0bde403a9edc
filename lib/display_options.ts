/**
 * U-Boot's lib/display_options.c: `print_size` (sizes as `512 MiB`, `19.5 KiB`, `1000 Bytes`) and
 * `print_buffer` (the hex dump of `md` and of block and file-system commands: `%08lx:` address, the
 * objects as hex, padding for a short last line, two spaces and the bytes as ASCII).
 *
 * Text is a byte string (one character per byte, see commands/command.ts).
 *
 * @module
 */

/** Widest line, in bytes (U-Boot's `MAX_LINE_LENGTH_BYTES`). */
export const MAX_LINE_LENGTH_BYTES = 64;
/** Line length used when the caller asks for none (U-Boot's `DEFAULT_LINE_LENGTH_BYTES`). */
export const DEFAULT_LINE_LENGTH_BYTES = 16;

const ULONG_MASK = (1n << 64n) - 1n;
const FIRST_PRINTABLE = 0x20;
const LAST_PRINTABLE = 0x7e;
/** Unit letters from the largest down, each 10 bits apart (`EiB` is 2^60). */
const SIZE_UNITS = ["E", "P", "T", "G", "M", "K"] as const;
const BITS_PER_UNIT = 10n;

/** Where printed text goes: a console, or anything with `puts` (and optionally Ctrl-C polling). */
export interface TextSink {
  /** Prints a byte string. */
  puts(text: string): void;
  /** U-Boot's `ctrlc()`: true (and cleared) when Ctrl-C was pressed. */
  ctrlc?(): boolean;
}

/** Object widths `print_buffer` understands. */
export type DumpWidth = 1 | 2 | 4 | 8;

/** `%0*lx`: `value` in lower-case hex, zero-padded to `digits`. */
export function hex(value: number | bigint, digits = 0): string {
  return (BigInt(value) & ULONG_MASK).toString(16).padStart(digits, "0");
}

/** `%08lx` of an address (64-bit `ulong`, wrapping as U-Boot's arithmetic does). */
export function hexAddress(address: number | bigint): string {
  return hex(address, 8);
}

/** The line length `print_buffer` really uses for `width` and the caller's `linelen`. */
export function effectiveLineLength(width: DumpWidth, linelen: number): number {
  let objects = linelen;
  if (objects * width > MAX_LINE_LENGTH_BYTES) objects = Math.floor(MAX_LINE_LENGTH_BYTES / width);
  if (objects < 1) objects = Math.floor(DEFAULT_LINE_LENGTH_BYTES / width);
  return objects;
}

/**
 * U-Boot's `hexdump_line`: one line (without the newline) for the first `min(count, linelen)` objects
 * of `width` bytes in `data` (little-endian, as arm64 reads memory), shown at address `address`.
 * `data` must hold at least that many objects.
 *
 * @example
 * ```ts
 * import { hexdumpLine } from "./display_options.ts";
 * const line = hexdumpLine(0x49000100, new Uint8Array([0x44, 0x43, 0x42, 0x41]), 1, 4, 16);
 * console.log(line.text); // "49000100: 44 43 42 41" + 36 spaces + "  DCBA"
 * ```
 */
export function hexdumpLine(
  address: number | bigint,
  data: Uint8Array,
  width: DumpWidth,
  count: number,
  linelen: number,
): { text: string; objects: number } {
  const objects = effectiveLineLength(width, linelen);
  const shown = Math.min(count, objects);
  const bytes = shown * width;
  if (data.length < bytes) {
    throw new RangeError(`Cannot dump line: ${bytes} bytes needed, ${data.length} given`);
  }
  const view = new DataView(data.buffer, data.byteOffset, bytes);
  let text = hexAddress(address) + ":";
  for (let i = 0; i < shown; i++) {
    const offset = i * width;
    const value = width === 8
      ? view.getBigUint64(offset, true)
      : width === 4
      ? view.getUint32(offset, true)
      : width === 2
      ? view.getUint16(offset, true)
      : view.getUint8(offset);
    text += " " + hex(value, width * 2);
  }
  text += " ".repeat((objects - shown) * (width * 2 + 1));
  text += "  ";
  for (let i = 0; i < bytes; i++) {
    const byte = data[i]!;
    text += byte >= FIRST_PRINTABLE && byte <= LAST_PRINTABLE ? String.fromCharCode(byte) : ".";
  }
  return { text, objects: shown };
}

/**
 * U-Boot's `print_buffer(addr, data, width, count, linelen)`: dumps `count` objects of `width` bytes
 * from `data`, labelled from `address`, `linelen` objects per line (0 picks 16 bytes' worth).
 * Checks `sink.ctrlc()` after each line; returns false when interrupted that way, true otherwise.
 *
 * @example
 * ```ts
 * import { printBuffer } from "./display_options.ts";
 * let out = "";
 * printBuffer({ puts: (t) => (out += t) }, 0x1000, new Uint8Array(20), 4, 5, 0);
 * console.log(out.split("\n").length); // 3: two lines and the empty tail
 * ```
 */
export function printBuffer(
  sink: TextSink,
  address: number | bigint,
  data: Uint8Array,
  width: DumpWidth,
  count: number,
  linelen = 0,
): boolean {
  if (count * width > data.length) {
    throw new RangeError(`Cannot print buffer: ${count * width} bytes asked, ${data.length} given`);
  }
  let addr = BigInt(address);
  let offset = 0;
  let left = count;
  while (left > 0) {
    const line = hexdumpLine(addr, data.subarray(offset), width, left, linelen);
    sink.puts(line.text + "\n");
    offset += line.objects * width;
    addr += BigInt(line.objects * width);
    left -= line.objects;
    if (sink.ctrlc?.()) return false;
  }
  return true;
}

/**
 * The text of U-Boot's `print_size(size, suffix)`: the largest binary unit the size reaches, with one
 * decimal rounded half up (omitted when it rounds to 0); sizes below 1 KiB print as `%u Bytes`.
 *
 * @example
 * ```ts
 * import { formatSize } from "./display_options.ts";
 * console.log(formatSize(20000, "/s")); // "19.5 KiB/s"
 * console.log(formatSize(0x20000000, "")); // "512 MiB"
 * ```
 */
export function formatSize(size: number | bigint, suffix: string): string {
  const value = BigInt(size) & ULONG_MASK;
  let shift = BITS_PER_UNIT * BigInt(SIZE_UNITS.length);
  let unit = "";
  for (const name of SIZE_UNITS) {
    if (value >> shift) {
      unit = name;
      break;
    }
    shift -= BITS_PER_UNIT;
  }
  if (unit === "") return `${value & 0xffffffffn} Bytes${suffix}`;
  let whole = value >> shift;
  const remainder = value & ((1n << shift) - 1n);
  let tenth = 0n;
  if (remainder) {
    tenth = (10n * remainder + (1n << (shift - 1n))) >> shift;
    if (tenth >= 10n) {
      tenth -= 10n;
      whole += 1n;
    }
  }
  return `${whole}${tenth ? `.${tenth}` : ""} ${unit}iB${suffix}`;
}

/** U-Boot's `print_size(size, suffix)`: prints {@linkcode formatSize} to `sink`. */
export function printSize(sink: TextSink, size: number | bigint, suffix: string): void {
  sink.puts(formatSize(size, suffix));
}
