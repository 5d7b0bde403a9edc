/**
 * DOS (MBR) partition tables, as U-Boot 2023.01's disk/part_dos.c reads them.
 *
 * - A table is block 0 ending in 55 AA whose four entries all have a boot flag of 0x00 or 0x80. When
 *   the entries are not all valid, or all empty, and the block looks like a FAT boot sector ("FAT" at
 *   0x36 or "FAT32" at 0x52), it is a bare filesystem, not a table; an all-empty table of a block that
 *   is not a FAT boot sector still counts as a (partition-less) table.
 * - Primary slots are partitions 1-4 by position (an empty slot still takes its number). Logical
 *   partitions are numbered from 5 along the chain of extended boot records (EBRs) of the types
 *   0x05, 0x0F and 0x85. In an EBR, starts are relative to the EBR; links to the next EBR are relative
 *   to the start of the outermost extended partition. The map prints the extended containers of the
 *   MBR only; `get_info` describes them too (partition 3 of a disk whose slot 3 is extended).
 * - `get_info` follows the first extended entry of each table, the map every one of them.
 * - Numbers beyond 256 stop with `** Nested DOS partitions detected, stopping **`. pvboot also bounds
 *   the EBRs read by one walk ({@link MAX_EBR_READS}): U-Boot loops forever on an EBR that links to
 *   itself without a logical partition, and a tree of links makes its map walk exponential.
 * - UUIDs are `%08x-%02x` of the disk signature (u32 at 0x1B8) and the number; names are `xxa1`
 *   (`part_set_generic_name`); starts and sizes are in device blocks, `blksz` 512 unless larger.
 *
 * @example
 * ```ts
 * import { DOS_PARTITION_DRIVER } from "./part_dos.ts";
 * import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";
 *
 * const disk = new MemoryBlockDevice({ lba: 64 });
 * const mbr = new DataView(disk.bytes.buffer);
 * mbr.setUint8(0x1be + 4, 0x83); // slot 1: Linux
 * mbr.setUint32(0x1be + 8, 8, true); // from block 8
 * mbr.setUint32(0x1be + 12, 16, true); // 16 blocks
 * mbr.setUint16(0x1fe, 0xaa55, true);
 * console.log(await DOS_PARTITION_DRIVER.test(disk)); // true
 * console.log((await DOS_PARTITION_DRIVER.getInfo(disk, 1, { puts() {} }))?.name); // "xxa1"
 * ```
 *
 * @module
 */

import type { BlockDevice } from "../drivers/blk/block_device.ts";
import { blockInterface } from "../drivers/blk/block_interface.ts";
import type { TextSink } from "../lib/display_options.ts";
import {
  BOOT_PART_TYPE,
  PART_BOOTABLE,
  PART_EFI_SYSTEM_PARTITION,
  PART_TYPE_DOS,
  type PartitionDriver,
  type PartitionInfo,
} from "./part_driver.ts";
import { readBlocks } from "./read_blocks.ts";

/** Where the disk signature is (`DOS_PART_DISKSIG_OFFSET`). */
export const DOS_PART_DISKSIG_OFFSET = 0x1b8;
/** Where the four partition entries start (`DOS_PART_TBL_OFFSET`). */
export const DOS_PART_TBL_OFFSET = 0x1be;
/** Where 55 AA must be (`DOS_PART_MAGIC_OFFSET`). */
export const DOS_PART_MAGIC_OFFSET = 0x1fe;
/** "FAT" of a FAT12/16 boot sector (`DOS_PBR_FSTYPE_OFFSET`). */
export const DOS_PBR_FSTYPE_OFFSET = 0x36;
/** "FAT32" of a FAT32 boot sector (`DOS_PBR32_FSTYPE_OFFSET`). */
export const DOS_PBR32_FSTYPE_OFFSET = 0x52;
/** Bytes per partition entry. */
export const DOS_ENTRY_SIZE = 16;
/** Entries per table. */
export const DOS_ENTRIES_PER_TABLE = 4;
/** `DOS_ENTRY_NUMBERS`: the driver's `max_entries` (names are looked up among partitions 1-7). */
export const DOS_ENTRY_NUMBERS = 8;
/** `MAX_EXT_PARTS`: the highest partition number walked before "Nested DOS partitions detected". */
export const MAX_EXT_PARTS = 256;
/** pvboot's bound on EBRs read by one walk (see the module doc): four per possible partition number. */
export const MAX_EBR_READS = DOS_ENTRIES_PER_TABLE * MAX_EXT_PARTS;
/** `DOS_PART_DEFAULT_SECTOR`: the unit of starts and sizes unless the device's blocks are larger. */
export const DOS_PART_DEFAULT_SECTOR = 512;

/** `DOS_PART_TYPE_EXTENDED`. */
export const DOS_PART_TYPE_EXTENDED = 0x05;
/** `DOS_PART_TYPE_EXTENDED_LBA`. */
export const DOS_PART_TYPE_EXTENDED_LBA = 0x0f;
/** `DOS_PART_TYPE_EXTENDED_LINUX`. */
export const DOS_PART_TYPE_EXTENDED_LINUX = 0x85;
/** The EFI system partition type, which U-Boot counts as bootable. */
export const DOS_PART_TYPE_EFI_SYSTEM = 0xef;
/** The boot flag. */
export const DOS_BOOT_IND_ACTIVE = 0x80;

const ENTRY_BOOT_IND = 0;
const ENTRY_SYS_IND = 4;
const ENTRY_START4 = 8;
const ENTRY_SIZE4 = 12;
const MAGIC = [0x55, 0xaa] as const;
const FAT_TAG = "FAT";
const FAT32_TAG = "FAT32";
const NESTED_MESSAGE = "** Nested DOS partitions detected, stopping **\n";

/** One of the four entries of a table. */
interface _Entry {
  readonly bootInd: number;
  readonly sysInd: number;
  readonly start4: number;
  readonly size4: number;
}

/** What `test_block_type` makes of a block. */
type _BlockType = "mbr" | "pbr" | "neither";

function _entries(block: Uint8Array): _Entry[] {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const entries: _Entry[] = [];
  for (let i = 0; i < DOS_ENTRIES_PER_TABLE; i++) {
    const at = DOS_PART_TBL_OFFSET + i * DOS_ENTRY_SIZE;
    entries.push({
      bootInd: view.getUint8(at + ENTRY_BOOT_IND),
      sysInd: view.getUint8(at + ENTRY_SYS_IND),
      start4: view.getUint32(at + ENTRY_START4, true),
      size4: view.getUint32(at + ENTRY_SIZE4, true),
    });
  }
  return entries;
}

function _hasMagic(block: Uint8Array): boolean {
  return block[DOS_PART_MAGIC_OFFSET] === MAGIC[0] && block[DOS_PART_MAGIC_OFFSET + 1] === MAGIC[1];
}

function _hasTag(block: Uint8Array, offset: number, tag: string): boolean {
  for (let i = 0; i < tag.length; i++) if (block[offset + i] !== tag.charCodeAt(i)) return false;
  return true;
}

/** `test_block_type`: a partition table, a FAT boot sector, or neither. */
function _blockType(block: Uint8Array): _BlockType {
  if (!_hasMagic(block)) return "neither";
  const entries = _entries(block);
  let slot = 0;
  let used = 0;
  for (; slot < DOS_ENTRIES_PER_TABLE; slot++) {
    const e = entries[slot]!;
    if (e.bootInd !== 0 && e.bootInd !== DOS_BOOT_IND_ACTIVE) break;
    if (e.sysInd !== 0) used++;
  }
  if (slot !== DOS_ENTRIES_PER_TABLE || used === 0) {
    if (
      _hasTag(block, DOS_PBR_FSTYPE_OFFSET, FAT_TAG) || _hasTag(block, DOS_PBR32_FSTYPE_OFFSET, FAT32_TAG)
    ) {
      return "pbr";
    }
  }
  return slot === DOS_ENTRIES_PER_TABLE ? "mbr" : "neither";
}

/** True for the three extended-partition types. */
export function isExtendedType(sysInd: number): boolean {
  return sysInd === DOS_PART_TYPE_EXTENDED || sysInd === DOS_PART_TYPE_EXTENDED_LBA ||
    sysInd === DOS_PART_TYPE_EXTENDED_LINUX;
}

function _bootable(e: _Entry): number {
  return (e.sysInd === DOS_PART_TYPE_EFI_SYSTEM ? PART_EFI_SYSTEM_PARTITION : 0) |
    (e.bootInd === DOS_BOOT_IND_ACTIVE ? PART_BOOTABLE : 0);
}

function _hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}

function _uuid(disksig: number, partNum: number): string {
  return `${_hex(disksig, 8)}-${_hex(partNum, 2)}`;
}

/** `part_set_generic_name`: `<prefix><'a'+devnum><n>` (the letter is a C `char`, so it wraps at 256). */
export function genericPartitionName(dev: BlockDevice, partNum: number): string {
  const letter = String.fromCharCode(("a".charCodeAt(0) + dev.devnum) & 0xff);
  return `${blockInterface(dev.ifType).genericNamePrefix}${letter}${partNum}`;
}

function _disksig(block: Uint8Array): number {
  return new DataView(block.buffer, block.byteOffset, block.byteLength).getUint32(
    DOS_PART_DISKSIG_OFFSET,
    true,
  );
}

function _infoBlksz(dev: BlockDevice): number {
  return dev.blksz > DOS_PART_DEFAULT_SECTOR ? dev.blksz : DOS_PART_DEFAULT_SECTOR;
}

async function _readTable(dev: BlockDevice, sector: bigint, out: TextSink): Promise<Uint8Array | undefined> {
  if (dev.blksz < DOS_PART_DEFAULT_SECTOR) return undefined;
  const block = await readBlocks(dev, sector, 1);
  if (block === undefined) out.puts(`** Can't read partition table on ${dev.devnum}:${sector} **\n`);
  return block;
}

function _badSignature(block: Uint8Array): string {
  return `bad MBR sector signature 0x${_hex(block[DOS_PART_MAGIC_OFFSET]!, 2)}${
    _hex(block[DOS_PART_MAGIC_OFFSET + 1]!, 2)
  }\n`;
}

/** State shared by one walk of the map: EBRs read so far, and whether the bound stopped it. */
interface _Walk {
  reads: number;
  stopped: boolean;
}

/** `print_one_part`. */
function _printOne(out: TextSink, e: _Entry, extSector: bigint, partNum: number, disksig: number): void {
  const start = (extSector + BigInt(e.start4)).toString().padEnd(10);
  const size = e.size4.toString().padEnd(10);
  out.puts(
    `${partNum.toString().padStart(3)}\t${start}\t${size}\t${_uuid(disksig, partNum)}\t${_hex(e.sysInd, 2)}` +
      `${isExtendedType(e.sysInd) ? " Extd" : ""}${_bootable(e) ? " Boot" : ""}\n`,
  );
}

/** `print_partition_extended`: one table and, depth first, every extended partition it links to. */
async function _printExtended(
  dev: BlockDevice,
  extSector: bigint,
  relative: bigint,
  partNum: number,
  disksig: number,
  out: TextSink,
  walk: _Walk,
): Promise<void> {
  if (walk.stopped) return;
  if (partNum > MAX_EXT_PARTS) {
    out.puts(NESTED_MESSAGE);
    return;
  }
  if (walk.reads >= MAX_EBR_READS) {
    out.puts(NESTED_MESSAGE);
    walk.stopped = true;
    return;
  }
  walk.reads++;
  const block = await _readTable(dev, extSector, out);
  if (block === undefined) return;
  if (_blockType(block) !== "mbr") {
    out.puts(_badSignature(block));
    return;
  }
  if (extSector === 0n) disksig = _disksig(block);
  const entries = _entries(block);
  for (const e of entries) {
    const counts = e.sysInd !== 0 && !isExtendedType(e.sysInd);
    if (e.sysInd !== 0 && (extSector === 0n || !isExtendedType(e.sysInd))) {
      _printOne(out, e, extSector, partNum, disksig);
    }
    if (extSector === 0n || counts) partNum++;
  }
  for (const e of entries) {
    if (!isExtendedType(e.sysInd)) continue;
    const lbaStart = BigInt(e.start4) + relative;
    await _printExtended(dev, lbaStart, extSector === 0n ? lbaStart : relative, partNum, disksig, out, walk);
  }
}

/** `part_get_info_extended`: walks the MBR and the first extended chain to partition `which`. */
async function _getInfo(dev: BlockDevice, which: number, out: TextSink): Promise<PartitionInfo | undefined> {
  let extSector = 0n;
  let relative = 0n;
  let partNum = 1;
  let disksig = 0;
  for (let reads = 0;; reads++) {
    if (partNum > MAX_EXT_PARTS || reads >= MAX_EBR_READS) {
      out.puts(NESTED_MESSAGE);
      return undefined;
    }
    const block = await _readTable(dev, extSector, out);
    if (block === undefined) return undefined;
    if (!_hasMagic(block)) {
      out.puts(_badSignature(block));
      return undefined;
    }
    if (extSector === 0n) disksig = _disksig(block);
    const entries = _entries(block);
    for (const e of entries) {
      if (
        (e.bootInd & ~DOS_BOOT_IND_ACTIVE) === 0 && e.sysInd !== 0 && partNum === which &&
        (extSector === 0n || !isExtendedType(e.sysInd))
      ) {
        return {
          start: extSector + BigInt(e.start4),
          size: BigInt(e.size4),
          blksz: _infoBlksz(dev),
          name: genericPartitionName(dev, partNum),
          type: BOOT_PART_TYPE,
          bootable: _bootable(e),
          uuid: _uuid(disksig, partNum),
          sysInd: e.sysInd,
        };
      }
      if (extSector === 0n || (e.sysInd !== 0 && !isExtendedType(e.sysInd))) partNum++;
    }
    const extended = entries.find((e) => isExtendedType(e.sysInd));
    if (extended === undefined) {
      if (_blockType(block) !== "pbr") return undefined;
      // A FAT boot sector where a table was expected: U-Boot describes the whole disk.
      return {
        start: 0n,
        size: BigInt(dev.lba),
        blksz: _infoBlksz(dev),
        name: "",
        type: BOOT_PART_TYPE,
        bootable: 0,
        uuid: "",
        sysInd: 0,
      };
    }
    const lbaStart = BigInt(extended.start4) + relative;
    relative = extSector === 0n ? lbaStart : relative;
    extSector = lbaStart;
  }
}

/** The DOS partition driver (`U_BOOT_PART_TYPE(dos)`). */
export const DOS_PARTITION_DRIVER: PartitionDriver = {
  name: "DOS",
  partType: PART_TYPE_DOS,
  maxEntries: DOS_ENTRY_NUMBERS,
  async test(dev: BlockDevice): Promise<boolean> {
    if (dev.blksz < DOS_PART_DEFAULT_SECTOR) return false;
    const block = await readBlocks(dev, 0n, 1);
    return block !== undefined && _blockType(block) === "mbr";
  },
  getInfo(dev: BlockDevice, part: number, out: TextSink): Promise<PartitionInfo | undefined> {
    return _getInfo(dev, part, out);
  },
  async print(dev: BlockDevice, out: TextSink): Promise<void> {
    out.puts("Part\tStart Sector\tNum Sectors\tUUID\t\tType\n");
    await _printExtended(dev, 0n, 0n, 1, 0, out, { reads: 0, stopped: false });
  },
};
