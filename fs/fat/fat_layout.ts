/**
 * FAT on-disk layout (U-Boot 2023.01 include/fat.h): the boot sector (BPB) and its volume-info block,
 * 32-byte directory entries and VFAT long-name slots, attribute bits, and the limits U-Boot applies.
 * Every multi-byte field is little-endian. Offsets are named as the fields of U-Boot's structures.
 *
 * @example
 * ```ts
 * import { BS_FS_TYPE_FAT32, DIR_ENTRY_SIZE } from "./fat_layout.ts";
 * console.log(BS_FS_TYPE_FAT32.toString(16), DIR_ENTRY_SIZE); // "52" 32
 * ```
 *
 * @module
 */

// ---- boot_sector (offsets in the first sector of the partition) ----

/** `sector_size`: u16, bytes per sector. */
export const BS_SECTOR_SIZE = 0x0b;
/** `cluster_size`: u8, sectors per cluster. */
export const BS_CLUSTER_SIZE = 0x0d;
/** `reserved`: u16, sectors before the first FAT. */
export const BS_RESERVED = 0x0e;
/** `fats`: u8, number of FAT copies. */
export const BS_FATS = 0x10;
/** `dir_entries`: u16, root directory entries (FAT12/16). */
export const BS_DIR_ENTRIES = 0x11;
/** `sectors`: u16, total sectors when they fit in 16 bits. */
export const BS_SECTORS = 0x13;
/** `media`: u8, media descriptor. */
export const BS_MEDIA = 0x15;
/** `fat_length`: u16, sectors per FAT (0 on FAT32). */
export const BS_FAT_LENGTH = 0x16;
/** `total_sect`: u32, total sectors. */
export const BS_TOTAL_SECT = 0x20;
/** `fat32_length`: u32, sectors per FAT (FAT32). */
export const BS_FAT32_LENGTH = 0x24;
/** `flags`: u16, FAT mirroring flags (FAT32). */
export const BS_FAT32_FLAGS = 0x28;
/** `root_cluster`: u32, first cluster of the root directory (FAT32). */
export const BS_ROOT_CLUSTER = 0x2c;
/** `info_sector`: u16, sector of the FSInfo block (FAT32). */
export const BS_INFO_SECTOR = 0x30;
/** `backup_boot`: u16, sector of the backup boot sector (FAT32). */
export const BS_BACKUP_BOOT = 0x32;
/** Where the volume-info block starts on FAT12/16 (`&bs->fat32_length`). */
export const BS_VOLINFO_FAT16 = 0x24;
/** Where the volume-info block starts on FAT32 (`sizeof(boot_sector)`). */
export const BS_VOLINFO_FAT32 = 0x40;
/** `DOS_BOOT_MAGIC_OFFSET`: the 55 AA signature. */
export const DOS_BOOT_MAGIC_OFFSET = 0x1fe;
/** `DOS_FS_TYPE_OFFSET`: "FAT" of a FAT12/16 boot sector. */
export const BS_FS_TYPE_FAT16 = 0x36;
/** `DOS_FS32_TYPE_OFFSET`: "FAT32" of a FAT32 boot sector. */
export const BS_FS_TYPE_FAT32 = 0x52;
/** Bytes the boot sector checks need (up to and including the signature). */
export const BOOT_SECTOR_BYTES = 0x200;

// ---- volume_info (offsets from its start) ----

/** `volume_id`: 4 bytes, the serial number. */
export const VI_VOLUME_ID = 3;
/** `volume_label`: 11 bytes. */
export const VI_VOLUME_LABEL = 7;
/** Length of `volume_label`. */
export const VOLUME_LABEL_LEN = 11;
/** `fs_type`: 8 bytes, `"FAT12   "`, `"FAT16   "` or `"FAT32   "`. */
export const VI_FS_TYPE = 18;
/** `SIGNLEN`: bytes of `fs_type` compared. */
export const SIGNLEN = 8;
/** `FAT12_SIGN`. */
export const FAT12_SIGN = "FAT12   ";
/** `FAT16_SIGN`. */
export const FAT16_SIGN = "FAT16   ";
/** `FAT32_SIGN`. */
export const FAT32_SIGN = "FAT32   ";

// ---- dir_entry ----

/** Bytes per directory entry. */
export const DIR_ENTRY_SIZE = 32;
/** `nameext.name`: 8 bytes. */
export const DIR_NAME = 0;
/** Length of the base name. */
export const DIR_NAME_LEN = 8;
/** `nameext.ext`: 3 bytes. */
export const DIR_EXT = 8;
/** Length of the extension. */
export const DIR_EXT_LEN = 3;
/** Bytes of name and extension together (the checksummed alias). */
export const DIR_NAMEEXT_LEN = 11;
/** `attr`: u8. */
export const DIR_ATTR = 11;
/** `lcase`: u8, the Windows NT lower-case flags. */
export const DIR_LCASE = 12;
/** `ctime_ms`: u8. */
export const DIR_CTIME_MS = 13;
/** `ctime`: u16. */
export const DIR_CTIME = 14;
/** `cdate`: u16. */
export const DIR_CDATE = 16;
/** `adate`: u16. */
export const DIR_ADATE = 18;
/** `starthi`: u16, high half of the first cluster (FAT32). */
export const DIR_STARTHI = 20;
/** `time`: u16, modification time. */
export const DIR_TIME = 22;
/** `date`: u16, modification date. */
export const DIR_DATE = 24;
/** `start`: u16, first cluster (low half). */
export const DIR_START = 26;
/** `size`: u32, file size in bytes. */
export const DIR_SIZE = 28;

// ---- dir_slot (VFAT long-name entry) ----

/** `id`: sequence number, `LAST_LONG_ENTRY_MASK` on the last slot of a name. */
export const SLOT_ID = 0;
/** `name0_4`: 5 UTF-16 units. */
export const SLOT_NAME0_4 = 1;
/** `alias_checksum`: the checksum of the short name the slots belong to. */
export const SLOT_ALIAS_CHECKSUM = 13;
/** `name5_10`: 6 UTF-16 units. */
export const SLOT_NAME5_10 = 14;
/** `start`: u16, always 0. */
export const SLOT_START = 26;
/** `name11_12`: 2 UTF-16 units. */
export const SLOT_NAME11_12 = 28;
/** Characters per slot. */
export const SLOT_CHARS = 13;
/** Offsets of the 13 UTF-16 units of a slot, in name order. */
export const SLOT_CHAR_OFFSETS: readonly number[] = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
/** `LAST_LONG_ENTRY_MASK`. */
export const LAST_LONG_ENTRY_MASK = 0x40;
/** `VFAT_MAXLEN_BYTES`: the long-name buffer, the NUL included. */
export const VFAT_MAXLEN_BYTES = 256;
/** Highest sequence number a name may use (20 slots of 13 characters hold 255). */
export const MAX_LFN_SLOTS = 20;

// ---- attributes, markers ----

/** `ATTR_RO`. */
export const ATTR_RO = 0x01;
/** `ATTR_HIDDEN`. */
export const ATTR_HIDDEN = 0x02;
/** `ATTR_SYS`. */
export const ATTR_SYS = 0x04;
/** `ATTR_VOLUME`. */
export const ATTR_VOLUME = 0x08;
/** `ATTR_DIR`. */
export const ATTR_DIR = 0x10;
/** `ATTR_ARCH`. */
export const ATTR_ARCH = 0x20;
/** `ATTR_VFAT`: the attribute byte of a long-name slot. */
export const ATTR_VFAT = 0x0f;
/** `DELETED_FLAG`: first name byte of a deleted entry. */
export const DELETED_FLAG = 0xe5;
/** `aRING`: first name byte standing for a real 0xE5. */
export const ARING = 0x05;
/** `CASE_LOWER_BASE`: show the base name in lower case. */
export const CASE_LOWER_BASE = 0x08;
/** `CASE_LOWER_EXT`: show the extension in lower case. */
export const CASE_LOWER_EXT = 0x10;

// ---- limits ----

/** `CONFIG_FS_FAT_MAX_CLUSTSIZE`: the largest cluster U-Boot accepts, in bytes. */
export const MAX_CLUSTSIZE = 65536;
/** First data cluster number. */
export const FIRST_CLUSTER = 2;
/**
 * `CHECK_CLUST` limits: a FAT value at or above this (or below 2) ends a chain. FAT32 values are
 * used unmasked, as U-Boot does.
 */
export const CLUSTER_LIMIT: Readonly<Record<FatBits, number>> = { 12: 0xff0, 16: 0xfff0, 32: 0xffffff0 };
/** The end-of-chain value written for each FAT width. */
export const END_OF_CHAIN: Readonly<Record<FatBits, number>> = { 12: 0xfff, 16: 0xffff, 32: 0xfffffff };

/** The FAT widths. */
export type FatBits = 12 | 16 | 32;
