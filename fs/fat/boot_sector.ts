/**
 * The FAT boot sector as U-Boot 2023.01 (fs/fat/fat.c) reads it:
 *
 * - {@linkcode hasFatSignature} is `fat_set_blk_dev`'s test: 55 AA at 0x1FE and "FAT" at 0x36 or
 *   "FAT32" at 0x52. It is all the probe checks.
 * - {@linkcode parseBootSector} is `read_bootsectandvi`: the FAT width comes from the `fs_type`
 *   string, not from a cluster count. `fat_length` 0 means FAT32, whose volume info (at 0x40) must
 *   read `"FAT32   "`; otherwise the volume info at 0x24 must read `"FAT12   "` or `"FAT16   "`.
 * - {@linkcode fatGeometry} is `get_fs_info`: where the FATs, the root directory and the data area
 *   are, with U-Boot's three refusals and their messages (sector size other than the partition's
 *   block size, cluster size 0, clusters over 64 KiB). pvboot also works out how many clusters the
 *   data area really holds (bounded by the partition, the FAT's length and the width's limit), so
 *   that every cluster number taken from disk can be checked.
 *
 * Names and labels are byte strings (one character per byte).
 *
 * @example
 * ```ts
 * import { hasFatSignature, parseBootSector } from "./boot_sector.ts";
 * const sector = new Uint8Array(512);
 * sector.set([0x55, 0xaa], 0x1fe);
 * sector.set(new TextEncoder().encode("FAT12   "), 0x36);
 * sector[0x16] = 9; // fat_length
 * console.log(hasFatSignature(sector), parseBootSector(sector)?.fatBits); // true 12
 * ```
 *
 * @module
 */

import {
  BOOT_SECTOR_BYTES,
  BS_BACKUP_BOOT,
  BS_CLUSTER_SIZE,
  BS_DIR_ENTRIES,
  BS_FAT32_FLAGS,
  BS_FAT32_LENGTH,
  BS_FAT_LENGTH,
  BS_FATS,
  BS_FS_TYPE_FAT16,
  BS_FS_TYPE_FAT32,
  BS_INFO_SECTOR,
  BS_RESERVED,
  BS_ROOT_CLUSTER,
  BS_SECTOR_SIZE,
  BS_SECTORS,
  BS_TOTAL_SECT,
  BS_VOLINFO_FAT16,
  BS_VOLINFO_FAT32,
  CLUSTER_LIMIT,
  DIR_ENTRY_SIZE,
  DOS_BOOT_MAGIC_OFFSET,
  FAT12_SIGN,
  FAT16_SIGN,
  FAT32_SIGN,
  type FatBits,
  FIRST_CLUSTER,
  MAX_CLUSTSIZE,
  SIGNLEN,
  VI_FS_TYPE,
  VI_VOLUME_ID,
  VI_VOLUME_LABEL,
  VOLUME_LABEL_LEN,
} from "./fat_layout.ts";

const BOOT_MAGIC = [0x55, 0xaa] as const;
const FAT_MARK = "FAT";
const FAT32_MARK = "FAT32";
const BITS_PER_BYTE = 8;

/** The fields of a boot sector U-Boot uses, decoded. */
export interface BootSector {
  /** FAT width, from the `fs_type` string. */
  readonly fatBits: FatBits;
  /** `sector_size`. */
  readonly sectSize: number;
  /** `cluster_size` (sectors per cluster). */
  readonly clustSize: number;
  /** `reserved`: the first FAT's sector. */
  readonly reserved: number;
  /** `fats`: number of FAT copies. */
  readonly fats: number;
  /** `dir_entries` (FAT12/16 root directory). */
  readonly dirEntries: number;
  /** `sectors`: the 16-bit total. */
  readonly sectors16: number;
  /** `total_sect`: the 32-bit total. */
  readonly totalSect32: number;
  /** Sectors per FAT (`fat_length`, or `fat32_length` on FAT32). */
  readonly fatLength: number;
  /** `flags` (FAT32; 0 otherwise). */
  readonly flags: number;
  /** `root_cluster` (FAT32; 0 otherwise). */
  readonly rootCluster: number;
  /** `info_sector` (FAT32; 0 otherwise). */
  readonly infoSector: number;
  /** `backup_boot` (FAT32; 0 otherwise). */
  readonly backupBoot: number;
  /** The four `volume_id` bytes, in disk order. */
  readonly volumeId: readonly number[];
  /** `volume_label`, 11 bytes. */
  readonly volumeLabel: string;
  /** `fs_type`, 8 bytes. */
  readonly fsType: string;
}

/** Where everything is, in sectors from the partition's start (U-Boot's `fsdata`). */
export interface FatGeometry {
  /** FAT width. */
  readonly fatBits: FatBits;
  /** Bytes per sector (equal to the partition's block size). */
  readonly sectSize: number;
  /** Sectors per cluster. */
  readonly clustSize: number;
  /** Bytes per cluster. */
  readonly clusterBytes: number;
  /** `fat_sect`: first sector of the first FAT. */
  readonly fatSect: number;
  /** `fatlength`: sectors per FAT. */
  readonly fatLength: number;
  /** Number of FAT copies. */
  readonly fats: number;
  /** `rootdir_sect`: the FAT12/16 root directory (on FAT32, the first sector after the FATs). */
  readonly rootdirSect: number;
  /** `rootdir_size`: sectors of the FAT12/16 root directory (0 on FAT32). */
  readonly rootdirSize: number;
  /** `data_begin`: the sector cluster 0 would start at (may be negative). */
  readonly dataBegin: number;
  /** `root_cluster`: the FAT32 root directory's first cluster; 0 on FAT12/16. */
  readonly rootCluster: number;
  /** `total_sect`. */
  readonly totalSect: number;
  /** Data clusters that exist: valid cluster numbers are 2 .. clusterCount + 1. */
  readonly clusterCount: number;
}

/** `get_fs_info` refused the volume; `message` is what U-Boot prints ("" when it prints nothing). */
export interface GeometryRefusal {
  /** The refusal text, newline included. */
  readonly message: string;
}

function _bytesToString(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

/** `fat_set_blk_dev`'s test of the partition's first block (at least 512 bytes). */
export function hasFatSignature(block: Uint8Array): boolean {
  if (block.length < BOOT_SECTOR_BYTES) return false;
  if (block[DOS_BOOT_MAGIC_OFFSET] !== BOOT_MAGIC[0] || block[DOS_BOOT_MAGIC_OFFSET + 1] !== BOOT_MAGIC[1]) {
    return false;
  }
  return _bytesToString(block, BS_FS_TYPE_FAT16, FAT_MARK.length) === FAT_MARK ||
    _bytesToString(block, BS_FS_TYPE_FAT32, FAT32_MARK.length) === FAT32_MARK;
}

/** `read_bootsectandvi`: the boot sector's fields, or `undefined` for a broken `fs_type` sign. */
export function parseBootSector(block: Uint8Array): BootSector | undefined {
  if (block.length < BOOT_SECTOR_BYTES) return undefined;
  const view = new DataView(block.buffer, block.byteOffset, BOOT_SECTOR_BYTES);
  const fatLength16 = view.getUint16(BS_FAT_LENGTH, true);
  const isFat32 = fatLength16 === 0;
  const volinfo = isFat32 ? BS_VOLINFO_FAT32 : BS_VOLINFO_FAT16;
  const fsType = _bytesToString(block, volinfo + VI_FS_TYPE, SIGNLEN);
  let fatBits: FatBits;
  if (isFat32 && fsType === FAT32_SIGN) fatBits = 32;
  else if (!isFat32 && fsType === FAT12_SIGN) fatBits = 12;
  else if (!isFat32 && fsType === FAT16_SIGN) fatBits = 16;
  else return undefined;
  return {
    fatBits,
    sectSize: view.getUint16(BS_SECTOR_SIZE, true),
    clustSize: view.getUint8(BS_CLUSTER_SIZE),
    reserved: view.getUint16(BS_RESERVED, true),
    fats: view.getUint8(BS_FATS),
    dirEntries: view.getUint16(BS_DIR_ENTRIES, true),
    sectors16: view.getUint16(BS_SECTORS, true),
    totalSect32: view.getUint32(BS_TOTAL_SECT, true),
    fatLength: isFat32 ? view.getUint32(BS_FAT32_LENGTH, true) : fatLength16,
    flags: isFat32 ? view.getUint16(BS_FAT32_FLAGS, true) : 0,
    rootCluster: isFat32 ? view.getUint32(BS_ROOT_CLUSTER, true) : 0,
    infoSector: isFat32 ? view.getUint16(BS_INFO_SECTOR, true) : 0,
    backupBoot: isFat32 ? view.getUint16(BS_BACKUP_BOOT, true) : 0,
    volumeId: [...block.subarray(volinfo + VI_VOLUME_ID, volinfo + VI_VOLUME_ID + 4)],
    volumeLabel: _bytesToString(block, volinfo + VI_VOLUME_LABEL, VOLUME_LABEL_LEN),
    fsType,
  };
}

/**
 * `get_fs_info`: the volume's geometry, or U-Boot's refusal. `partBlksz` and `partSize` are the
 * partition's block size and size in blocks.
 */
export function fatGeometry(
  bs: BootSector,
  partBlksz: number,
  partSize: bigint,
): FatGeometry | GeometryRefusal {
  const partBlocks = partSize > 0xffffffffn ? 0xffffffff : Number(partSize);
  let totalSect = bs.fatBits === 32 ? bs.totalSect32 : bs.sectors16 || bs.totalSect32;
  if (totalSect === 0) totalSect = partBlocks;
  const rootdirSect = bs.reserved + bs.fatLength * bs.fats;
  if (bs.sectSize !== partBlksz) {
    return { message: `Error: FAT sector size mismatch (fs=${bs.sectSize}, dev=${partBlksz})\n` };
  }
  if (bs.clustSize === 0) return { message: "Error: FAT cluster size not set\n" };
  const clusterBytes = bs.clustSize * bs.sectSize;
  if (clusterBytes > MAX_CLUSTSIZE) {
    return { message: `Error: FAT cluster size too big (cs=${clusterBytes}, max=${MAX_CLUSTSIZE})\n` };
  }
  const rootdirSize = bs.fatBits === 32 ? 0 : Math.floor((bs.dirEntries * DIR_ENTRY_SIZE) / bs.sectSize);
  const firstData = rootdirSect + rootdirSize;
  const dataBegin = firstData - bs.clustSize * FIRST_CLUSTER;
  const dataSectors = Math.max(0, Math.min(totalSect, partBlocks) - firstData);
  const fatEntries = Math.floor((bs.fatLength * bs.sectSize * BITS_PER_BYTE) / bs.fatBits);
  const clusterCount = Math.max(
    0,
    Math.min(
      Math.floor(dataSectors / bs.clustSize),
      fatEntries - FIRST_CLUSTER,
      CLUSTER_LIMIT[bs.fatBits] - FIRST_CLUSTER,
    ),
  );
  return {
    fatBits: bs.fatBits,
    sectSize: bs.sectSize,
    clustSize: bs.clustSize,
    clusterBytes,
    fatSect: bs.reserved,
    fatLength: bs.fatLength,
    fats: bs.fats,
    rootdirSect,
    rootdirSize,
    dataBegin,
    rootCluster: bs.fatBits === 32 ? bs.rootCluster : 0,
    totalSect,
    clusterCount,
  };
}

/** `clust_to_sect`: the first sector of cluster `cluster`. */
export function clusterToSector(geo: FatGeometry, cluster: number): number {
  return geo.dataBegin + cluster * geo.clustSize;
}

/** `fat_uuid`: the volume serial as `%02X%02X-%02X%02X` of bytes 3, 2, 1, 0. */
export function volumeSerial(bs: BootSector): string {
  const hex = (b: number | undefined) => (b ?? 0).toString(16).toUpperCase().padStart(2, "0");
  const id = bs.volumeId;
  return `${hex(id[3])}${hex(id[2])}-${hex(id[1])}${hex(id[0])}`;
}

/** A C string: the bytes up to the first NUL. */
export function cString(text: string): string {
  const nul = text.indexOf("\0");
  return nul >= 0 ? text.slice(0, nul) : text;
}
