/**
 * The partition-table seam (U-Boot's `struct part_driver`, include/part.h): each table format tests
 * a disk, describes one partition (`get_info`) and prints its map. Also the shared vocabulary:
 * `struct disk_partition` as {@linkcode PartitionInfo}, the `PART_TYPE_*` numbers, the bootable flags.
 *
 * @example
 * ```ts
 * import { BOOT_PART_TYPE, PART_TYPE_EFI } from "./part_driver.ts";
 * console.log(BOOT_PART_TYPE, PART_TYPE_EFI); // "U-Boot" 5
 * ```
 *
 * @module
 */

import type { BlockDevice } from "../drivers/blk/block_device.ts";
import type { TextSink } from "../lib/display_options.ts";

/** `PART_TYPE_UNKNOWN`: no table found (`## Unknown partition table type 0`). */
export const PART_TYPE_UNKNOWN = 0x00;
/** `PART_TYPE_MAC`. */
export const PART_TYPE_MAC = 0x01;
/** `PART_TYPE_DOS`: MBR. */
export const PART_TYPE_DOS = 0x02;
/** `PART_TYPE_ISO`. */
export const PART_TYPE_ISO = 0x03;
/** `PART_TYPE_AMIGA`. */
export const PART_TYPE_AMIGA = 0x04;
/** `PART_TYPE_EFI`: GPT. */
export const PART_TYPE_EFI = 0x05;

/** `PART_BOOTABLE`: DOS boot flag 0x80, GPT legacy-BIOS-bootable attribute. */
export const PART_BOOTABLE = 1 << 0;
/** `PART_EFI_SYSTEM_PARTITION`: DOS type 0xEF or the GPT ESP type; counts as bootable too. */
export const PART_EFI_SYSTEM_PARTITION = 1 << 1;

/** `BOOT_PART_TYPE`: the type string every DOS and EFI partition reports. */
export const BOOT_PART_TYPE = "U-Boot";
/** `PART_NAME_LEN`: `info.name` holds at most this many bytes, the NUL included. */
export const PART_NAME_LEN = 32;
/** `MAX_SEARCH_PARTITIONS`: partition numbers 1..128 are tried by `:auto`, `part list <var>`, probing. */
export const MAX_SEARCH_PARTITIONS = 128;
/** The name of the whole-disk pseudo partition (`part_get_info_whole_disk`). */
export const WHOLE_DISK_NAME = "Whole Disk";

/** `struct disk_partition`: one partition as the filesystem and boot code see it. */
export interface PartitionInfo {
  /** First block, in units of `blksz` (a u64, as `lbaint_t` is on arm64). */
  readonly start: bigint;
  /** Number of blocks (a u64: a corrupt GPT entry can make it wrap, as in U-Boot). */
  readonly size: bigint;
  /** Block size of `start` and `size` (DOS: 512 unless the device's is larger). */
  readonly blksz: number;
  /** The name: the GPT label, `xxa1` for DOS, `Whole Disk`; a byte string of at most 31 bytes. */
  readonly name: string;
  /** Always {@linkcode BOOT_PART_TYPE} for DOS, EFI and the whole disk. */
  readonly type: string;
  /** `PART_BOOTABLE` and `PART_EFI_SYSTEM_PARTITION` bits. */
  readonly bootable: number;
  /** The partition UUID (GPT unique GUID, DOS `%08x-%02x`), or "" when there is none. */
  readonly uuid: string;
  /** The DOS partition type byte (0 for other tables). */
  readonly sysInd: number;
}

/** One partition-table format, tried in order (EFI before DOS). */
export interface PartitionDriver {
  /** The name `part types` and the map header print (`EFI`, `DOS`). */
  readonly name: string;
  /** Its `PART_TYPE_*` number. */
  readonly partType: number;
  /** `max_entries`: names are looked up among partitions 1 .. maxEntries-1. */
  readonly maxEntries: number;
  /** Whether `dev` carries this kind of table (U-Boot's `test`, 0 = yes). */
  test(dev: BlockDevice): Promise<boolean>;
  /**
   * Partition `part` (1-based) of `dev`, or `undefined` when there is none. Diagnostics U-Boot prints
   * on the way (a bad EBR signature, an unreadable table) go to `out`.
   */
  getInfo(dev: BlockDevice, part: number, out: TextSink): Promise<PartitionInfo | undefined>;
  /** Prints the table body (everything after the `Partition Map for` header). */
  print(dev: BlockDevice, out: TextSink): Promise<void>;
}
