/**
 * The file allocation table (fs/fat/fat.c `get_fatent`, fat_write.c `set_fatent` and
 * `flush_dirty_fat_buffer`): entries of 12, 16 or 32 bits read from the first FAT through a small
 * cache of FAT chunks; changed chunks are written back to every FAT copy by {@linkcode FatTable.flush}.
 *
 * Cluster numbers are checked against the volume's real cluster count before any read: a number
 * outside 2 .. clusterCount + 1 never reaches the disk. FAT32 values are returned unmasked, as
 * U-Boot reads them (a set reserved nibble ends a chain); writes keep the reserved nibble.
 *
 * @example
 * ```ts ignore
 * const fat = new FatTable(io, geometry);
 * const next = await fat.get(2); // the cluster after cluster 2, or an end/free marker
 * ```
 *
 * @module
 */

import type { FatGeometry } from "./boot_sector.ts";
import { CLUSTER_LIMIT, FIRST_CLUSTER } from "./fat_layout.ts";
import type { PartitionIo } from "./partition_io.ts";

/**
 * Sectors per cached FAT chunk: a multiple of 3, so that no FAT12 entry (1.5 bytes) straddles two
 * chunks; 24 KiB with 512-byte sectors, 6144 FAT32 entries (a 64 MiB file's chain in 22 reads).
 */
export const FAT_CHUNK_SECTORS = 48;
/** Chunks kept in memory at once (1.5 MiB with 512-byte sectors). */
export const FAT_CACHE_CHUNKS = 64;
const BITS_PER_BYTE = 8;
const FAT32_VALUE_MASK = 0x0fffffff;
const FAT32_RESERVED_MASK = 0xf0000000;
const FAT12_MASK = 0xfff;
const NIBBLE = 4;

/** One FAT, cached by chunks. */
export class FatTable {
  readonly #io: PartitionIo;
  readonly #geo: FatGeometry;
  readonly #entriesPerChunk: number;
  readonly #chunks = new Map<number, Uint8Array>();
  readonly #dirty = new Set<number>();

  /** The FAT of the volume described by `geo`, read through `io`. */
  constructor(io: PartitionIo, geo: FatGeometry) {
    this.#io = io;
    this.#geo = geo;
    this.#entriesPerChunk = (FAT_CHUNK_SECTORS * geo.sectSize * BITS_PER_BYTE) / geo.fatBits;
  }

  /** The highest valid cluster number. */
  get maxCluster(): number {
    return this.#geo.clusterCount + 1;
  }

  /** True when `cluster` names a data cluster of this volume. */
  isData(cluster: number): boolean {
    return Number.isInteger(cluster) && cluster >= FIRST_CLUSTER && cluster <= this.maxCluster;
  }

  /** U-Boot's `CHECK_CLUST`: the value ends a chain (free, reserved, bad or end-of-chain). */
  isChainEnd(value: number): boolean {
    return value < FIRST_CLUSTER || value >= CLUSTER_LIMIT[this.#geo.fatBits];
  }

  /** The chunk holding `entry` and the entry's byte offset in it; `undefined` when unreadable. */
  async #locate(entry: number): Promise<{ chunk: Uint8Array; index: number; at: number } | undefined> {
    const index = Math.floor(entry / this.#entriesPerChunk);
    const local = entry - index * this.#entriesPerChunk;
    const at = Math.floor((local * this.#geo.fatBits) / BITS_PER_BYTE);
    let chunk = this.#chunks.get(index);
    if (chunk === undefined) {
      const first = index * FAT_CHUNK_SECTORS;
      const count = Math.min(FAT_CHUNK_SECTORS, this.#geo.fatLength - first);
      if (count <= 0) return undefined;
      const data = await this.#io.read(this.#geo.fatSect + first, count);
      if (data === undefined) return undefined;
      this.#evictIfFull();
      this.#chunks.set(index, data);
      chunk = data;
    }
    const width = this.#geo.fatBits === 32 ? 4 : 2;
    if (at + width > chunk.length) return undefined;
    return { chunk, index, at };
  }

  #evictIfFull(): void {
    if (this.#chunks.size < FAT_CACHE_CHUNKS) return;
    for (const key of this.#chunks.keys()) {
      if (this.#dirty.has(key)) continue;
      this.#chunks.delete(key);
      return;
    }
  }

  /**
   * The FAT entry of `cluster` (which must satisfy {@linkcode isData}); `undefined` when the FAT
   * cannot be read.
   */
  async get(cluster: number): Promise<number | undefined> {
    if (!this.isData(cluster)) return undefined;
    const found = await this.#locate(cluster);
    if (found === undefined) return undefined;
    const { chunk, at } = found;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
    switch (this.#geo.fatBits) {
      case 32:
        return view.getUint32(at, true);
      case 16:
        return view.getUint16(at, true);
      case 12: {
        const pair = view.getUint16(at, true);
        return (cluster & 1 ? pair >> NIBBLE : pair) & FAT12_MASK;
      }
    }
  }

  /** Sets the FAT entry of `cluster` to `value` (cached until {@linkcode flush}); false if unreadable. */
  async set(cluster: number, value: number): Promise<boolean> {
    if (!this.isData(cluster)) return false;
    const found = await this.#locate(cluster);
    if (found === undefined) return false;
    const { chunk, at, index } = found;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
    switch (this.#geo.fatBits) {
      case 32: {
        const old = view.getUint32(at, true);
        view.setUint32(at, ((old & FAT32_RESERVED_MASK) | (value & FAT32_VALUE_MASK)) >>> 0, true);
        break;
      }
      case 16:
        view.setUint16(at, value & 0xffff, true);
        break;
      case 12: {
        const pair = view.getUint16(at, true);
        const v = value & FAT12_MASK;
        const next = cluster & 1 ? (pair & 0x000f) | (v << NIBBLE) : (pair & 0xf000) | v;
        view.setUint16(at, next, true);
        break;
      }
    }
    this.#dirty.add(index);
    return true;
  }

  /** True when a free cluster (entry 0). */
  async isFree(cluster: number): Promise<boolean> {
    const value = await this.get(cluster);
    return value !== undefined && (this.#geo.fatBits === 32 ? value & FAT32_VALUE_MASK : value) === 0;
  }

  /** Writes every changed chunk to every FAT copy; false when a write failed. */
  async flush(): Promise<boolean> {
    let ok = true;
    for (const index of [...this.#dirty].sort((a, b) => a - b)) {
      const chunk = this.#chunks.get(index);
      if (chunk === undefined) continue;
      const first = index * FAT_CHUNK_SECTORS;
      const count = chunk.length / this.#geo.sectSize;
      for (let copy = 0; copy < Math.max(1, this.#geo.fats); copy++) {
        const sector = this.#geo.fatSect + copy * this.#geo.fatLength + first;
        if (!await this.#io.write(sector, count, chunk)) ok = false;
      }
      this.#dirty.delete(index);
    }
    return ok;
  }
}
