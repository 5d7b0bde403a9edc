/**
 * GUID partition tables (GPT), as U-Boot 2023.01's disk/part_efi.c reads them.
 *
 * - The disk is EFI when block 0 ends in 55 AA and one of its four entries has type 0xEE and starts
 *   at block 1 (the protective MBR); the headers are not looked at for that.
 * - A header (primary at block 1, else the backup at the last block) is valid when its signature is
 *   "EFI PART", the CRC-32 of its first `header_size` bytes (CRC field zeroed) matches, `my_lba` is
 *   where it was read, both usable-LBA bounds are at most the block count, and the CRC-32 of the
 *   `num_partition_entries * sizeof_partition_entry` bytes (a u32 product) of its entry array matches.
 *   A primary header signed "IGNOREME" (ChromeOS) sends U-Boot to the backup too. None of this prints
 *   anything in 2023.01 (its messages are `log_debug`); a disk whose headers are both bad prints an
 *   empty map and has no partitions.
 * - Entries are read at a 128-byte stride whatever `sizeof_partition_entry` says, as U-Boot's
 *   `gpt_entry` array is; an entry is in use when its type GUID is not zero. The map skips unused
 *   entries; names print one byte per UTF-16 unit (its low byte; non-printable bytes as `.`).
 * - `get_info`: start = starting_lba, size = ending_lba + 1 - start (u64 arithmetic), the name cut to
 *   31 bytes, bootable for the legacy-BIOS-bootable attribute (bit 2) or the ESP type.
 *
 * Bounds pvboot adds where U-Boot reads memory it did not fill or fails to allocate: a header larger
 * than a block is invalid, an entry array over {@link MAX_GPT_ENTRY_ARRAY_BYTES} is refused as an
 * allocation failure, and entries past the array read are absent.
 *
 * @example
 * ```ts
 * import { EFI_PARTITION_DRIVER } from "./part_efi.ts";
 * import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";
 * console.log(await EFI_PARTITION_DRIVER.test(new MemoryBlockDevice({ lba: 64 }))); // false
 * ```
 *
 * @module
 */

import type { BlockDevice } from "../drivers/blk/block_device.ts";
import { crc32 } from "../lib/crc32.ts";
import type { TextSink } from "../lib/display_options.ts";
import { formatGuid, isZeroGuid, sameGuid } from "./guid.ts";
import {
  BOOT_PART_TYPE,
  PART_BOOTABLE,
  PART_EFI_SYSTEM_PARTITION,
  PART_NAME_LEN,
  PART_TYPE_EFI,
  type PartitionDriver,
  type PartitionInfo,
} from "./part_driver.ts";
import { readBlocks } from "./read_blocks.ts";

/** `GPT_PRIMARY_PARTITION_TABLE_LBA`. */
export const GPT_PRIMARY_PARTITION_TABLE_LBA = 1n;
/** `GPT_HEADER_SIGNATURE`: "EFI PART" as a little-endian u64. */
export const GPT_HEADER_SIGNATURE = 0x5452415020494645n;
/** `GPT_HEADER_CHROMEOS_IGNORE`: "IGNOREME". */
export const GPT_HEADER_CHROMEOS_IGNORE = 0x454d45524f4e4749n;
/** `GPT_ENTRY_NUMBERS`: the driver's `max_entries` (names are looked up among partitions 1-127). */
export const GPT_ENTRY_NUMBERS = 128;
/** `sizeof(gpt_entry)`: the stride U-Boot reads entries at. */
export const GPT_ENTRY_SIZE = 128;
/** `PARTNAME_SZ`: UTF-16 units in an entry's name. */
export const PARTNAME_SZ = 36;
/** `EFI_PMBR_OSTYPE_EFI_GPT`. */
export const EFI_PMBR_OSTYPE_EFI_GPT = 0xee;
/**
 * Largest entry array pvboot reads (1 MiB: 8192 entries of 128 bytes, 64 times a standard table). U-Boot
 * allocates whatever the header asks for and treats a failed allocation as an invalid table.
 */
export const MAX_GPT_ENTRY_ARRAY_BYTES = 1 << 20;

/** Byte offsets in a GPT header (`gpt_header`). */
const HDR_SIGNATURE = 0;
const HDR_HEADER_SIZE = 12;
const HDR_HEADER_CRC32 = 16;
const HDR_MY_LBA = 24;
const HDR_FIRST_USABLE_LBA = 40;
const HDR_LAST_USABLE_LBA = 48;
const HDR_PARTITION_ENTRY_LBA = 72;
const HDR_NUM_PARTITION_ENTRIES = 80;
const HDR_SIZEOF_PARTITION_ENTRY = 84;
const HDR_PARTITION_ENTRY_ARRAY_CRC32 = 88;
const HDR_CRC32_BYTES = 4;

/** Byte offsets in a GPT entry (`gpt_entry`). */
const ENT_TYPE_GUID = 0;
const ENT_UNIQUE_GUID = 16;
const ENT_STARTING_LBA = 32;
const ENT_ENDING_LBA = 40;
const ENT_ATTRIBUTES = 48;
const ENT_NAME = 56;

/** Protective MBR layout. */
const MBR_SIGNATURE_OFFSET = 0x1fe;
const MBR_SIGNATURE = 0xaa55;
const MBR_PARTITION_RECORD_OFFSET = 0x1be;
const MBR_PARTITION_RECORD_SIZE = 16;
const MBR_PARTITION_RECORDS = 4;
const MBR_RECORD_SYS_IND = 4;
const MBR_RECORD_START_SECT = 8;
const MBR_BYTES = 512;

/** The legacy-BIOS-bootable attribute bit. */
const ATTR_LEGACY_BIOS_BOOTABLE = 1n << 2n;
/** `PARTITION_SYSTEM_GUID` (c12a7328-f81f-11d2-ba4b-00a0c93ec93b) as stored. */
const PARTITION_SYSTEM_GUID = Uint8Array.from([
  0x28,
  0x73,
  0x2a,
  0xc1,
  0x1f,
  0xf8,
  0xd2,
  0x11,
  0xba,
  0x4b,
  0x00,
  0xa0,
  0xc9,
  0x3e,
  0xc9,
  0x3b,
]);

const U64_MASK = (1n << 64n) - 1n;
/** U-Boot's `isprint` (lib/ctype.c): ASCII 0x20-0x7E and Latin-1 0xA0-0xFF. */
const PRINTABLE_RANGES: readonly (readonly [number, number])[] = [[0x20, 0x7e], [0xa0, 0xff]];

/** A valid header and its entry array. */
interface _Gpt {
  readonly numEntries: number;
  /** The entry blocks read (a whole number of blocks, so possibly more than the CRC covered). */
  readonly entries: Uint8Array;
}

function _view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function _isPmbrValid(mbr: Uint8Array): boolean {
  const view = _view(mbr);
  if (view.getUint16(MBR_SIGNATURE_OFFSET, true) !== MBR_SIGNATURE) return false;
  for (let i = 0; i < MBR_PARTITION_RECORDS; i++) {
    const at = MBR_PARTITION_RECORD_OFFSET + i * MBR_PARTITION_RECORD_SIZE;
    if (
      view.getUint8(at + MBR_RECORD_SYS_IND) === EFI_PMBR_OSTYPE_EFI_GPT &&
      view.getUint32(at + MBR_RECORD_START_SECT, true) === 1
    ) {
      return true;
    }
  }
  return false;
}

/** `validate_gpt_header` against the header read at `lba` of a disk of `lastLba` blocks. */
function _headerValid(header: Uint8Array, lba: bigint, lastLba: bigint): boolean {
  const view = _view(header);
  if (view.getBigUint64(HDR_SIGNATURE, true) !== GPT_HEADER_SIGNATURE) return false;
  const headerSize = view.getUint32(HDR_HEADER_SIZE, true);
  if (headerSize > header.length) return false;
  const copy = header.slice(0, headerSize);
  copy.fill(0, HDR_HEADER_CRC32, Math.min(headerSize, HDR_HEADER_CRC32 + HDR_CRC32_BYTES));
  if (crc32(copy) !== view.getUint32(HDR_HEADER_CRC32, true)) return false;
  if (view.getBigUint64(HDR_MY_LBA, true) !== lba) return false;
  if (view.getBigUint64(HDR_FIRST_USABLE_LBA, true) > lastLba) return false;
  return view.getBigUint64(HDR_LAST_USABLE_LBA, true) <= lastLba;
}

/** `alloc_read_gpt_entries` and `validate_gpt_entries`. */
async function _readEntries(dev: BlockDevice, header: Uint8Array): Promise<_Gpt | undefined> {
  const view = _view(header);
  const numEntries = view.getUint32(HDR_NUM_PARTITION_ENTRIES, true);
  const count = Math.imul(numEntries, view.getUint32(HDR_SIZEOF_PARTITION_ENTRY, true)) >>> 0;
  if (count === 0 || count > MAX_GPT_ENTRY_ARRAY_BYTES) return undefined;
  const blocks = Math.ceil(count / dev.blksz);
  const entries = await readBlocks(dev, view.getBigUint64(HDR_PARTITION_ENTRY_LBA, true), blocks);
  if (entries === undefined) return undefined;
  if (crc32(entries.subarray(0, count)) !== view.getUint32(HDR_PARTITION_ENTRY_ARRAY_CRC32, true)) {
    return undefined;
  }
  return { numEntries, entries };
}

/** `is_gpt_valid`: the table whose header is at `lba`, "ignore" for a ChromeOS IGNOREME header. */
async function _gptAt(dev: BlockDevice, lba: bigint): Promise<_Gpt | "ignore" | undefined> {
  if (dev.blksz < MBR_BYTES) return undefined;
  if (await readBlocks(dev, 0n, 1) === undefined) return undefined;
  const header = await readBlocks(dev, lba, 1);
  if (header === undefined) return undefined;
  if (_view(header).getBigUint64(HDR_SIGNATURE, true) === GPT_HEADER_CHROMEOS_IGNORE) return "ignore";
  if (!_headerValid(header, lba, BigInt(dev.lba))) return undefined;
  return await _readEntries(dev, header);
}

/** `find_valid_gpt`: the primary table, else the backup at the last block. */
async function _findValidGpt(dev: BlockDevice): Promise<_Gpt | undefined> {
  const primary = await _gptAt(dev, GPT_PRIMARY_PARTITION_TABLE_LBA);
  if (primary !== undefined && primary !== "ignore") return primary;
  const backup = await _gptAt(dev, (BigInt(dev.lba) - 1n) & U64_MASK);
  return backup === "ignore" ? undefined : backup;
}

/** Entries of `gpt` that lie inside the blocks read, up to the header's count. */
function _entryCount(gpt: _Gpt): number {
  return Math.min(gpt.numEntries, Math.floor(gpt.entries.length / GPT_ENTRY_SIZE));
}

function _entry(gpt: _Gpt, index: number): Uint8Array {
  return gpt.entries.subarray(index * GPT_ENTRY_SIZE, (index + 1) * GPT_ENTRY_SIZE);
}

function _isPrint(c: number): boolean {
  return PRINTABLE_RANGES.some(([lo, hi]) => c >= lo && c <= hi);
}

/** `print_efiname`: the low byte of each UTF-16 unit, up to the first zero, non-printables as `.`. */
export function efiName(entry: Uint8Array): string {
  const view = _view(entry);
  let name = "";
  for (let i = 0; i < PARTNAME_SZ; i++) {
    const c = view.getUint16(ENT_NAME + 2 * i, true) & 0xff;
    if (c === 0) break;
    name += _isPrint(c) ? String.fromCharCode(c) : ".";
  }
  return name;
}

function _hex(value: bigint, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}

function _bootable(entry: Uint8Array): number {
  const attributes = _view(entry).getBigUint64(ENT_ATTRIBUTES, true);
  return (sameGuid(entry, ENT_TYPE_GUID, PARTITION_SYSTEM_GUID) ? PART_EFI_SYSTEM_PARTITION : 0) |
    (attributes & ATTR_LEGACY_BIOS_BOOTABLE ? PART_BOOTABLE : 0);
}

/** The EFI (GPT) partition driver (`U_BOOT_PART_TYPE(a_efi)`). */
export const EFI_PARTITION_DRIVER: PartitionDriver = {
  name: "EFI",
  partType: PART_TYPE_EFI,
  maxEntries: GPT_ENTRY_NUMBERS,
  async test(dev: BlockDevice): Promise<boolean> {
    if (dev.blksz < MBR_BYTES) return false;
    const mbr = await readBlocks(dev, 0n, 1);
    return mbr !== undefined && _isPmbrValid(mbr);
  },
  async getInfo(dev: BlockDevice, part: number, _out: TextSink): Promise<PartitionInfo | undefined> {
    if (part < 1) return undefined;
    const gpt = await _findValidGpt(dev);
    if (gpt === undefined || part > _entryCount(gpt)) return undefined;
    const entry = _entry(gpt, part - 1);
    if (isZeroGuid(entry, ENT_TYPE_GUID)) return undefined;
    const view = _view(entry);
    const start = view.getBigUint64(ENT_STARTING_LBA, true);
    return {
      start,
      size: (view.getBigUint64(ENT_ENDING_LBA, true) + 1n - start) & U64_MASK,
      blksz: dev.blksz,
      name: efiName(entry).slice(0, PART_NAME_LEN - 1),
      type: BOOT_PART_TYPE,
      bootable: _bootable(entry),
      uuid: formatGuid(entry, ENT_UNIQUE_GUID),
      sysInd: 0,
    };
  },
  async print(dev: BlockDevice, out: TextSink): Promise<void> {
    const gpt = await _findValidGpt(dev);
    if (gpt === undefined) return;
    out.puts("Part\tStart LBA\tEnd LBA\t\tName\n\tAttributes\n\tType GUID\n\tPartition GUID\n");
    const n = _entryCount(gpt);
    for (let i = 0; i < n; i++) {
      const entry = _entry(gpt, i);
      if (isZeroGuid(entry, ENT_TYPE_GUID)) continue;
      const view = _view(entry);
      out.puts(
        `${(i + 1).toString().padStart(3)}\t0x${_hex(view.getBigUint64(ENT_STARTING_LBA, true), 8)}` +
          `\t0x${_hex(view.getBigUint64(ENT_ENDING_LBA, true), 8)}\t"${efiName(entry)}"\n` +
          `\tattrs:\t0x${_hex(view.getBigUint64(ENT_ATTRIBUTES, true), 16)}\n` +
          `\ttype:\t${formatGuid(entry, ENT_TYPE_GUID)}\n` +
          `\tguid:\t${formatGuid(entry, ENT_UNIQUE_GUID)}\n`,
      );
    }
  },
};
