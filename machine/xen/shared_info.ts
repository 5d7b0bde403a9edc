/**
 * `struct shared_info` and `struct vcpu_info` for arm64 (xen-spec §3.1, §3.2): the 2-level event channel
 * bitmaps (`evtchn_pending`, `evtchn_mask`, 64 little-endian u64 words each) and the per-vCPU
 * `evtchn_upcall_pending` / `evtchn_pending_sel`. Port *p* is bit `p % 8` of byte `p / 8` of a bitmap;
 * its selector bit is `p / 64`.
 *
 * A vCPU's `vcpu_info` lives in shared_info (`vcpu_info[0]`) until the guest registers another place with
 * `VCPUOP_register_vcpu_info`; {@linkcode VcpuInfoCell} names either.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pendingBit, SHARED_INFO } from "./shared_info.ts";
 *
 * assert.deepEqual(pendingBit(65), { byte: SHARED_INFO.fields.evtchn_pending[0] + 8, bit: 1 });
 * ```
 *
 * @module
 */

import { defineLayout } from "./layout.ts";

/** `struct vcpu_info` (48 bytes on arm64). */
export const VCPU_INFO = defineLayout("vcpu_info", 48, {
  evtchn_upcall_pending: [0, 1],
  pad0: [1, 1],
  evtchn_pending_sel: [8, 8],
  time_version: [16, 4],
  time_tsc_timestamp: [24, 8],
  time_system_time: [32, 8],
  time_tsc_to_system_mul: [40, 4],
  time_tsc_shift: [44, 1],
  time_flags: [45, 1],
});

/** `struct shared_info` (1088 bytes on arm64); the bitmaps' first bytes are given. */
export const SHARED_INFO = defineLayout("shared_info", 1088, {
  vcpu_info: [0, 1],
  evtchn_pending: [48, 8],
  evtchn_mask: [560, 8],
  wc_version: [1072, 4],
  wc_sec: [1076, 4],
  wc_nsec: [1080, 4],
  wc_sec_hi: [1084, 4],
});

/** Bytes of each event channel bitmap (64 × u64). */
export const EVTCHN_BITMAP_BYTES = 512;
/** Ports per bitmap word (selector bit granularity). */
export const BITS_PER_EVTCHN_WORD = 64;
/** Ports the 2-level ABI addresses on arm64 (`EVTCHN_2L_NR_CHANNELS`). */
export const EVTCHN_2L_NR_CHANNELS = 4096;
/** Bits per byte. */
const BITS_PER_BYTE = 8;

/** Where port `port`'s pending bit is in shared_info. */
export function pendingBit(port: number): { byte: number; bit: number } {
  return {
    byte: SHARED_INFO.fields.evtchn_pending[0] + Math.floor(port / BITS_PER_BYTE),
    bit: port % BITS_PER_BYTE,
  };
}

/** Where port `port`'s mask bit is in shared_info. */
export function maskBit(port: number): { byte: number; bit: number } {
  return {
    byte: SHARED_INFO.fields.evtchn_mask[0] + Math.floor(port / BITS_PER_BYTE),
    bit: port % BITS_PER_BYTE,
  };
}

/** Byte-addressed storage a `vcpu_info` or `shared_info` sits in (a Xen page or guest RAM). */
export interface ByteCell {
  /** Byte at `offset`. */
  readU8(offset: number): number;
  /** Stores a byte. */
  writeU8(offset: number, value: number): void;
  /** Little-endian u64 at `offset`. */
  readU64(offset: number): bigint;
  /** Stores a little-endian u64. */
  writeU64(offset: number, value: bigint): void;
}

/** A `vcpu_info`: the storage and the offset of the structure in it. */
export interface VcpuInfoCell {
  /** The storage. */
  readonly cell: ByteCell;
  /** Offset of `struct vcpu_info` in it. */
  readonly offset: number;
}
