/**
 * Test helpers: small MBR and GPT disks built in memory, so that table corner cases (and damage) can
 * be tested without the host tools. Layouts follow the UEFI spec and the DOS MBR; CRCs are zlib's.
 * Test code only.
 *
 * @module
 */

import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";
import { crc32 } from "../lib/crc32.ts";

/** One MBR/EBR entry. */
export interface MbrEntry {
  /** Boot flag (default 0). */
  readonly boot?: number;
  /** Type byte. */
  readonly sys: number;
  /** First sector (relative as the table's kind says). */
  readonly start: number;
  /** Sectors. */
  readonly size: number;
}

/** A 512-byte table: up to four entries, the disk signature, 55 AA unless `magic` says otherwise. */
export function mbrBlock(entries: readonly MbrEntry[], disksig = 0, magic = 0xaa55): Uint8Array {
  const block = new Uint8Array(512);
  const view = new DataView(block.buffer);
  view.setUint32(0x1b8, disksig, true);
  entries.forEach((e, i) => {
    const at = 0x1be + 16 * i;
    view.setUint8(at, e.boot ?? 0);
    view.setUint8(at + 4, e.sys);
    view.setUint32(at + 8, e.start, true);
    view.setUint32(at + 12, e.size, true);
  });
  view.setUint16(0x1fe, magic, true);
  return block;
}

/** Copies `data` into `disk` at block `lba`. */
export function putBlock(disk: MemoryBlockDevice, lba: number, data: Uint8Array): void {
  disk.bytes.set(data, lba * disk.blksz);
}

/** A GUID from its textual form (the first three fields little-endian). */
export function guidBytes(text: string): Uint8Array {
  const hex = text.replaceAll("-", "");
  const b = Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  return Uint8Array.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}

/** The ESP type GUID. */
export const ESP_TYPE = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
/** The Linux filesystem type GUID. */
export const LINUX_TYPE = "0fc63daf-8483-4772-8e79-3d69d8477de4";

/** One GPT entry. */
export interface GptEntry {
  /** Slot (0-based) in the array; default its place in the list. */
  readonly slot?: number;
  /** Type GUID text. */
  readonly type: string;
  /** Unique GUID text. */
  readonly guid: string;
  /** First LBA. */
  readonly start: bigint;
  /** Last LBA (inclusive). */
  readonly end: bigint;
  /** Attribute bits. */
  readonly attrs?: bigint;
  /** Name as UTF-16 code units (a string is taken one unit per character). */
  readonly name?: string | readonly number[];
}

/** How to lay out a GPT disk. */
export interface GptLayout {
  /** Blocks on the disk. */
  readonly lba: number;
  /** Block size (default 512). */
  readonly blksz?: number;
  /** Entries in the array (default 128). */
  readonly numEntries?: number;
  /** Entry size (default 128). */
  readonly entrySize?: number;
  /** The partitions. */
  readonly entries: readonly GptEntry[];
}

/** Where things went, for tests that damage them. */
export interface GptDisk {
  /** The disk. */
  readonly disk: MemoryBlockDevice;
  /** Byte offset of the primary header. */
  readonly primaryHeader: number;
  /** Byte offset of the primary entry array. */
  readonly primaryEntries: number;
  /** Byte offset of the backup header. */
  readonly backupHeader: number;
  /** Byte offset of the backup entry array. */
  readonly backupEntries: number;
}

const HEADER_SIZE = 92;

function _header(
  view: DataView,
  at: number,
  my: bigint,
  alternate: bigint,
  entriesLba: bigint,
  layout: Required<Omit<GptLayout, "entries">>,
  arrayCrc: number,
) {
  view.setBigUint64(at, 0x5452415020494645n, true);
  view.setUint32(at + 8, 0x00010000, true);
  view.setUint32(at + 12, HEADER_SIZE, true);
  view.setBigUint64(at + 24, my, true);
  view.setBigUint64(at + 32, alternate, true);
  view.setBigUint64(at + 40, 34n, true);
  view.setBigUint64(at + 48, BigInt(layout.lba - 34), true);
  new Uint8Array(view.buffer).set(guidBytes("5a1e0000-0000-4000-8000-00000000d15c"), at + 56);
  view.setBigUint64(at + 72, entriesLba, true);
  view.setUint32(at + 80, layout.numEntries, true);
  view.setUint32(at + 84, layout.entrySize, true);
  view.setUint32(at + 88, arrayCrc, true);
  resealHeader(new Uint8Array(view.buffer), at);
}

/** Recomputes the CRC of the header at byte `at` of `bytes` (after a test edited it). */
export function resealHeader(bytes: Uint8Array, at: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const size = Math.min(view.getUint32(at + 12, true), 4096);
  view.setUint32(at + 16, 0, true);
  view.setUint32(at + 16, crc32(bytes.subarray(at, at + size)), true);
}

/** Recomputes the entry-array CRC stored in the header at `headerAt` for the array at `entriesAt`. */
export function resealEntries(bytes: Uint8Array, headerAt: number, entriesAt: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const count = Math.imul(view.getUint32(headerAt + 80, true), view.getUint32(headerAt + 84, true)) >>> 0;
  view.setUint32(headerAt + 88, crc32(bytes.subarray(entriesAt, entriesAt + count)), true);
  resealHeader(bytes, headerAt);
}

/** A disk with a protective MBR and primary and backup GPTs holding `layout.entries`. */
export function gptDisk(layout: GptLayout): GptDisk {
  const full = { blksz: 512, numEntries: 128, entrySize: 128, ...layout };
  const disk = new MemoryBlockDevice({ lba: full.lba, blksz: full.blksz });
  const view = new DataView(disk.bytes.buffer);
  putBlock(disk, 0, mbrBlock([{ sys: 0xee, start: 1, size: Math.min(full.lba - 1, 0xffffffff) }]));
  const arrayBytes = full.numEntries * full.entrySize;
  const array = new Uint8Array(arrayBytes);
  const arrayView = new DataView(array.buffer);
  full.entries.forEach((e, i) => {
    const at = (e.slot ?? i) * full.entrySize;
    array.set(guidBytes(e.type), at);
    array.set(guidBytes(e.guid), at + 16);
    arrayView.setBigUint64(at + 32, e.start, true);
    arrayView.setBigUint64(at + 40, e.end, true);
    arrayView.setBigUint64(at + 48, e.attrs ?? 0n, true);
    const units = typeof e.name === "string" ? [...e.name].map((c) => c.charCodeAt(0)) : e.name ?? [];
    units.slice(0, 36).forEach((u, k) => arrayView.setUint16(at + 56 + 2 * k, u, true));
  });
  const arrayBlocks = Math.ceil(arrayBytes / full.blksz);
  const last = BigInt(full.lba - 1);
  const backupEntriesLba = last - BigInt(arrayBlocks);
  const arrayCrc = crc32(array);
  const primaryEntries = 2 * full.blksz;
  const backupEntries = Number(backupEntriesLba) * full.blksz;
  disk.bytes.set(array, primaryEntries);
  disk.bytes.set(array, backupEntries);
  _header(view, full.blksz, 1n, last, 2n, full, arrayCrc);
  _header(view, Number(last) * full.blksz, last, 1n, backupEntriesLba, full, arrayCrc);
  return {
    disk,
    primaryHeader: full.blksz,
    primaryEntries,
    backupHeader: Number(last) * full.blksz,
    backupEntries,
  };
}

/** A sink that keeps what is printed. */
export class TextRecorder {
  /** Everything printed. */
  text = "";
  /** Prints. */
  puts(text: string): void {
    this.text += text;
  }
  /** Returns and clears the text. */
  take(): string {
    const t = this.text;
    this.text = "";
    return t;
  }
}

/** Inverts the byte at `offset`. */
export function flip(bytes: Uint8Array, offset: number): void {
  bytes[offset] = (bytes[offset] ?? 0) ^ 0xff;
}
