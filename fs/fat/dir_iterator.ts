/**
 * Walking a FAT directory entry by entry, as U-Boot 2023.01's `fat_itr` does (fs/fat/fat.c
 * `fat_next_cluster`, `next_dent`, `extract_vfat_name`, `fat_itr_next`):
 *
 * - The FAT12/16 root is the fixed area after the FATs, read a cluster's worth of sectors at a time;
 *   every other directory (and the FAT32 root) is a cluster chain.
 * - A first name byte 0 ends the directory; 0xE5 entries (deleted), volume labels and long-name
 *   slots that do not start a name are skipped.
 * - A long name is the slots' characters (the low byte of each UTF-16 unit) joined in order; the
 *   number of slots comes from the first slot's sequence number and only its checksum is compared
 *   with the short entry's, as U-Boot does. A name of 256 bytes or more, a deleted short entry or a
 *   checksum mismatch drops the whole entry.
 * - A directory that cannot be read ends quietly, as U-Boot's does.
 *
 * pvboot's bounds: every cluster of a chain must lie in the volume and may be visited once; a
 * directory that breaks either gives an {@linkcode FsCorruptError} (U-Boot reads whatever the
 * number points at, or loops forever).
 *
 * @example
 * ```ts ignore
 * const it = new DirIterator(volume, ROOT_DIR);
 * for (let item = await it.next(); item; item = await it.next()) console.log(item.name);
 * ```
 *
 * @module
 */

import { FsCorruptError } from "../fs_driver.ts";
import { clusterToSector, type FatGeometry } from "./boot_sector.ts";
import {
  ARING,
  ATTR_DIR,
  ATTR_VFAT,
  ATTR_VOLUME,
  DELETED_FLAG,
  DIR_ATTR,
  DIR_ENTRY_SIZE,
  DIR_SIZE,
  DIR_START,
  DIR_STARTHI,
  LAST_LONG_ENTRY_MASK,
  SLOT_ALIAS_CHECKSUM,
  VFAT_MAXLEN_BYTES,
} from "./fat_layout.ts";
import { aliasChecksum, shortName, slotChars } from "./fat_names.ts";
import type { FatTable } from "./fat_table.ts";
import type { PartitionIo } from "./partition_io.ts";

/** What a directory walk needs of the volume. */
export interface FatContext {
  /** Sector I/O. */
  readonly io: PartitionIo;
  /** The geometry. */
  readonly geo: FatGeometry;
  /** The FAT. */
  readonly fat: FatTable;
}

/** A directory: the root, or the chain starting at `cluster`. */
export interface DirRef {
  /** The root directory (fixed area on FAT12/16, `root_cluster` chain on FAT32). */
  readonly root: boolean;
  /** First cluster (the FAT32 root's, or 0 for the FAT12/16 root). */
  readonly cluster: number;
}

/** Where a 32-byte entry is: a sector of the partition and a byte offset in it. */
export interface EntryPos {
  /** Sector from the partition's start. */
  readonly sector: number;
  /** Byte offset in the sector. */
  readonly offset: number;
}

/** One logical directory entry (a short entry, with its long name when it has one). */
export interface DirItem {
  /** The long name when there is one, else the short name (`itr->name`). */
  readonly name: string;
  /** The 8.3 name as `get_name` shows it (`itr->s_name`). */
  readonly shortName: string;
  /** Whether `name` is a long name. */
  readonly hasLongName: boolean;
  /** The attribute byte. */
  readonly attr: number;
  /** First cluster (`START`: the high half only on FAT32). */
  readonly start: number;
  /** Size in bytes. */
  readonly size: number;
  /** A copy of the 32-byte short entry. */
  readonly raw: Uint8Array;
  /** Where every slot of the entry is, long-name slots first and the short entry last. */
  readonly positions: readonly EntryPos[];
}

/** True when the item is a directory. */
export function isDirItem(item: Pick<DirItem, "attr">): boolean {
  return (item.attr & ATTR_DIR) !== 0;
}

/** The root directory of a volume. */
export function rootDir(geo: FatGeometry): DirRef {
  return { root: true, cluster: geo.rootCluster };
}

/** `fat_itr_child`: the directory an item points at (a start cluster of 0 is the root). */
export function childDir(geo: FatGeometry, item: DirItem): DirRef {
  return item.start > 0 ? { root: false, cluster: item.start } : rootDir(geo);
}

/** U-Boot's `START(dent)` of the entry at `offset` of `raw`. */
export function entryStart(raw: Uint8Array, offset: number, fat32: boolean): number {
  const view = new DataView(raw.buffer, raw.byteOffset + offset, DIR_ENTRY_SIZE);
  const low = view.getUint16(DIR_START, true);
  return fat32 ? (view.getUint16(DIR_STARTHI, true) * 0x10000 + low) : low;
}

/** Iterates over one directory (see the module doc). */
export class DirIterator {
  readonly #ctx: FatContext;
  readonly #fixedRoot: boolean;
  /** Next cluster to read (chain), or next cluster-sized step into the fixed root. */
  #nextClust: number;
  #lastCluster = false;
  #block: Uint8Array = new Uint8Array(0);
  #blockSector = 0;
  #index = -1;
  #count = 0;
  readonly #visited = new Set<number>();

  /** Starts before the first entry of `dir`. */
  constructor(ctx: FatContext, dir: DirRef) {
    this.#ctx = ctx;
    this.#fixedRoot = dir.root && ctx.geo.fatBits !== 32;
    this.#nextClust = this.#fixedRoot ? 0 : dir.cluster;
  }

  /** `fat_next_cluster`: loads the next block of entries; false at the end. */
  async #loadNext(): Promise<boolean> {
    if (this.#lastCluster) return false;
    const { geo, io, fat } = this.#ctx;
    let sector: number;
    let count: number;
    if (this.#fixedRoot) {
      const offset = this.#nextClust * geo.clustSize;
      sector = geo.rootdirSect + offset;
      count = Math.min(geo.clustSize, geo.rootdirSize - offset);
      if (count <= 0) {
        this.#lastCluster = true;
        return false;
      }
    } else {
      const cluster = this.#nextClust;
      if (!fat.isData(cluster)) {
        throw new FsCorruptError(`Cannot read directory: cluster ${cluster} is outside the volume`);
      }
      if (this.#visited.has(cluster)) {
        throw new FsCorruptError(`Cannot read directory: its cluster chain loops at ${cluster}`);
      }
      this.#visited.add(cluster);
      sector = clusterToSector(geo, cluster);
      count = geo.clustSize;
    }
    const block = await io.read(sector, count);
    if (block === undefined) {
      this.#lastCluster = true;
      return false;
    }
    this.#block = block;
    this.#blockSector = sector;
    this.#count = block.length / DIR_ENTRY_SIZE;
    this.#index = 0;
    if (this.#fixedRoot) {
      this.#nextClust++;
      if (this.#nextClust * geo.clustSize >= geo.rootdirSize) this.#lastCluster = true;
    } else {
      const next = await fat.get(this.#nextClust);
      if (next === undefined || fat.isChainEnd(next)) this.#lastCluster = true;
      else this.#nextClust = next;
    }
    return true;
  }

  /** `next_dent`: steps to the next raw entry; false at the end or on an entry starting with 0. */
  async #nextDent(): Promise<boolean> {
    if (this.#index + 1 >= this.#count) {
      if (!await this.#loadNext()) {
        this.#count = 0;
        this.#index = -1;
        return false;
      }
    } else {
      this.#index++;
    }
    return this.#byte(0) !== 0;
  }

  #byte(at: number): number {
    return this.#block[this.#index * DIR_ENTRY_SIZE + at] ?? 0;
  }

  #pos(): EntryPos {
    const offset = this.#index * DIR_ENTRY_SIZE;
    const sectSize = this.#ctx.geo.sectSize;
    return { sector: this.#blockSector + Math.floor(offset / sectSize), offset: offset % sectSize };
  }

  /** `extract_vfat_name`: the long name ending at a valid short entry, or `undefined`. */
  async #extractLongName(positions: EntryPos[]): Promise<string | undefined> {
    let sequence = this.#byte(0) & ~LAST_LONG_ENTRY_MASK & 0xff;
    const checksum = this.#byte(SLOT_ALIAS_CHECKSUM);
    let name = "";
    while (sequence-- > 0) {
      const part = slotChars(this.#block, this.#index * DIR_ENTRY_SIZE);
      if (name.length + part.length >= VFAT_MAXLEN_BYTES) return undefined;
      name = part + name;
      if (!await this.#nextDent()) return undefined;
      positions.push(this.#pos());
    }
    const first = this.#byte(0);
    if (first === DELETED_FLAG || first === ARING) return undefined;
    if (aliasChecksum(this.#block, this.#index * DIR_ENTRY_SIZE) !== checksum) return undefined;
    return name;
  }

  /** `fat_itr_next`: the next logical entry, or `undefined` at the end of the directory. */
  async next(): Promise<DirItem | undefined> {
    for (;;) {
      if (!await this.#nextDent()) return undefined;
      const positions = [this.#pos()];
      const first = this.#byte(0);
      if (first === DELETED_FLAG) continue;
      const attr = this.#byte(DIR_ATTR);
      let longName: string | undefined;
      if (attr & ATTR_VOLUME) {
        if ((attr & ATTR_VFAT) !== ATTR_VFAT || !(first & LAST_LONG_ENTRY_MASK)) continue;
        longName = await this.#extractLongName(positions);
        if (longName === undefined) continue;
      }
      return this.#item(longName, positions);
    }
  }

  #item(longName: string | undefined, positions: EntryPos[]): DirItem {
    const offset = this.#index * DIR_ENTRY_SIZE;
    const raw = this.#block.slice(offset, offset + DIR_ENTRY_SIZE);
    const view = new DataView(raw.buffer);
    const short = shortName(raw);
    return {
      name: longName ?? short,
      shortName: short,
      hasLongName: longName !== undefined,
      attr: raw[DIR_ATTR] ?? 0,
      start: entryStart(raw, 0, this.#ctx.geo.fatBits === 32),
      size: view.getUint32(DIR_SIZE, true),
      raw,
      positions,
    };
  }
}
