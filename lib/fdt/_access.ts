/**
 * Internal: bounds-checked big-endian access to a blob held in a `Uint8Array`.
 *
 * Every read here stays inside the array whatever the header says; callers check offsets against the
 * header first, the checks here only keep a corrupt blob from throwing.
 *
 * @module
 */

import { FDT_HEADER, type FdtHeaderField } from "./constants.ts";

/** A blob and a view on it. */
export interface Blob {
  /** The bytes; the blob starts at index 0. */
  readonly bytes: Uint8Array;
  /** Big-endian view over the same bytes. */
  readonly view: DataView;
}

/** Wraps `bytes`. */
export function blobOf(bytes: Uint8Array): Blob {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/** Reads a header field; 0 when the array is too short to hold it. */
export function hdr(b: Blob, field: FdtHeaderField): number {
  return readU32(b, FDT_HEADER[field]);
}

/** Writes a header field (ignored when the array is too short to hold it). */
export function setHdr(b: Blob, field: FdtHeaderField, value: number): void {
  writeU32(b, FDT_HEADER[field], value);
}

/** Big-endian u32 at `at`; 0 outside the array. */
export function readU32(b: Blob, at: number): number {
  if (at < 0 || at + 4 > b.bytes.length) return 0;
  return b.view.getUint32(at, false);
}

/** Big-endian u64 at `at`; 0n outside the array. */
export function readU64(b: Blob, at: number): bigint {
  if (at < 0 || at + 8 > b.bytes.length) return 0n;
  return b.view.getBigUint64(at, false);
}

/** Writes a big-endian u32 (value truncated to 32 bits); ignored outside the array. */
export function writeU32(b: Blob, at: number, value: number): void {
  if (at < 0 || at + 4 > b.bytes.length) return;
  b.view.setUint32(at, value >>> 0, false);
}

/** Writes a big-endian u64 (value truncated to 64 bits); ignored outside the array. */
export function writeU64(b: Blob, at: number, value: bigint): void {
  if (at < 0 || at + 8 > b.bytes.length) return;
  b.view.setBigUint64(at, BigInt.asUintN(64, value), false);
}

/** Byte at `at`; -1 outside the array. */
export function readU8(b: Blob, at: number): number {
  if (at < 0 || at >= b.bytes.length) return -1;
  return b.bytes[at] ?? -1;
}

/** Index of the first NUL in `[from, end)`, or -1. `end` is clamped to the array. */
export function findNul(bytes: Uint8Array, from: number, end: number): number {
  const limit = Math.min(end, bytes.length);
  if (from < 0 || from >= limit) return -1;
  return bytes.subarray(0, limit).indexOf(0, from);
}

/** memmove inside the blob: copies `[from, from + length)` to `to`; both ranges must lie inside. */
export function move(b: Blob, to: number, from: number, length: number): void {
  if (length <= 0 || to === from) return;
  b.bytes.copyWithin(to, from, from + length);
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8");

/** UTF-8 bytes of `text` (names and paths are compared as bytes, as libfdt does). */
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Decodes `[from, to)` as UTF-8. */
export function decodeUtf8(bytes: Uint8Array, from: number, to: number): string {
  return utf8Decoder.decode(bytes.subarray(from, to));
}

/** True when `bytes[at..at+pattern.length)` equals `pattern`. */
export function bytesEqualAt(bytes: Uint8Array, at: number, pattern: Uint8Array): boolean {
  if (at < 0 || at + pattern.length > bytes.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    if (bytes[at + i] !== pattern[i]) return false;
  }
  return true;
}
