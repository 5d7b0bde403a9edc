/**
 * U-Boot's `gunzip` (lib/gunzip.c) over guest memory: the gzip header checked as U-Boot checks it, the
 * deflate data inflated (fflate) into a bounded destination, and U-Boot's error texts.
 *
 * The compressed length is not known (U-Boot passes ~0UL): the input window read from memory grows
 * until the deflate stream ends, bounded by {@linkcode GUNZIP_MAX_INPUT}.
 *
 * @module
 */

import { inflateSync } from "fflate";
import type { PhysicalMemory } from "../machine/platform.ts";

/** zlib's `Z_BUF_ERROR`: the output did not fit. */
export const Z_BUF_ERROR = -5;
/** zlib's `Z_DATA_ERROR`: corrupt deflate data. */
export const Z_DATA_ERROR = -3;
/** Largest compressed input read (a bound on a stream that never ends). */
export const GUNZIP_MAX_INPUT = 64 * 1024 * 1024;
/** Largest output produced in one call (a bound on a decompression bomb). */
export const GUNZIP_MAX_OUTPUT = 256 * 1024 * 1024;
/** First input window; it doubles while the stream is cut short. */
const FIRST_WINDOW = 64 * 1024;

const GZIP_HEADER_SIZE = 10;
const DEFLATED = 8;
const EXTRA_FIELD = 0x04;
const ORIG_NAME = 0x08;
const COMMENT = 0x10;
const HEAD_CRC = 0x02;
const RESERVED = 0xe0;
/** fflate's code for input that ended inside the stream. */
const FFLATE_UNEXPECTED_EOF = 0;

/** The decompression failed; `message` is U-Boot's text. */
export class GunzipError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "GunzipError";
  }
}

/** `gzip_parse_header`: the offset of the deflate data, or U-Boot's error. */
export function gzipHeaderLength(header: Uint8Array): number | GunzipError {
  const flags = header[3] ?? 0;
  if (header[2] !== DEFLATED || (flags & RESERVED) !== 0) return new GunzipError("Error: Bad gzipped data\n");
  let i = GZIP_HEADER_SIZE;
  if (flags & EXTRA_FIELD) i = 12 + (header[10] ?? 0) + ((header[11] ?? 0) << 8);
  const skipString = () => {
    while (i < header.length && header[i] !== 0) i++;
    i++;
  };
  if (flags & ORIG_NAME) skipString();
  if (flags & COMMENT) skipString();
  if (flags & HEAD_CRC) i += 2;
  if (i >= header.length) return new GunzipError("Error: gunzip out of data in header\n");
  return i;
}

function _mappedLength(memory: PhysicalMemory, address: number, limit: number): number {
  let lo = 0;
  let hi = limit;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (memory.isMapped(address, mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Inflates the gzip data at `src` into `dst`, writing at most `dstMax` bytes; returns the
 * uncompressed size or a {@linkcode GunzipError} with U-Boot's message.
 */
export function gunzip(
  memory: PhysicalMemory,
  src: number,
  dst: number,
  dstMax: number,
): number | GunzipError {
  const available = _mappedLength(memory, src, GUNZIP_MAX_INPUT);
  const headerBytes = memory.read(src, Math.min(available, FIRST_WINDOW));
  const start = gzipHeaderLength(headerBytes);
  if (start instanceof GunzipError) return start;
  const outLimit = Math.min(dstMax, GUNZIP_MAX_OUTPUT);
  for (let window = FIRST_WINDOW;; window *= 2) {
    const length = Math.min(window, available);
    const input = memory.read(src + start, length - start);
    let output: Uint8Array;
    try {
      // One byte more than allowed tells an output that did not fit (fflate stops at the buffer's end).
      output = inflateSync(input, { out: new Uint8Array(outLimit + 1) });
    } catch (e: unknown) {
      const code = (e as { code?: number }).code;
      if (code === FFLATE_UNEXPECTED_EOF && length < available) continue;
      return new GunzipError(`Error: inflate() returned ${Z_DATA_ERROR}\n`);
    }
    if (output.length > outLimit) {
      memory.write(dst, output.subarray(0, outLimit));
      return new GunzipError(`Error: inflate() returned ${Z_BUF_ERROR}\n`);
    }
    memory.write(dst, output);
    return output.length;
  }
}
