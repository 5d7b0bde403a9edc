/**
 * The partition layer (U-Boot's disk/part.c): which table a disk has, found by trying the
 * {@linkcode PartitionDriver}s in order (EFI before DOS) and remembered per device as U-Boot keeps
 * `desc->part_type`; partitions by number or by name; the printed map with its header.
 *
 * A device's table type is decided when it is probed ({@linkcode PartitionLayer.probe}, U-Boot's
 * `blk_post_probe`) and kept until the next probe, so a table written later is not seen until then;
 * a device with no table found is tested again at each use, as U-Boot does. Probing also walks
 * partitions 1-128 (U-Boot creates a partition device for each one), which prints what the table's
 * driver prints on the way (a bad EBR shows at boot on the real board).
 *
 * Share one instance between every command and filesystem of a guest.
 *
 * @example
 * ```ts
 * import { PartitionLayer } from "./part.ts";
 * import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";
 *
 * const parts = new PartitionLayer();
 * const disk = new MemoryBlockDevice({ ifType: "pvblock", devnum: 2, lba: 2880 });
 * const out = { text: "", puts(t: string) { this.text += t; } };
 * await parts.probe(disk, out);
 * await parts.print(disk, out);
 * console.log(out.text); // "## Unknown partition table type 0\n"
 * ```
 *
 * @module
 */

import type { BlockDevice } from "../drivers/blk/block_device.ts";
import { blockInterface } from "../drivers/blk/block_interface.ts";
import type { TextSink } from "../lib/display_options.ts";
import { DOS_PARTITION_DRIVER } from "./part_dos.ts";
import { EFI_PARTITION_DRIVER } from "./part_efi.ts";
import {
  BOOT_PART_TYPE,
  MAX_SEARCH_PARTITIONS,
  PART_TYPE_UNKNOWN,
  type PartitionDriver,
  type PartitionInfo,
  WHOLE_DISK_NAME,
} from "./part_driver.ts";

/** The drivers in U-Boot's link order: `a_efi` sorts before `dos`. */
export const DEFAULT_PARTITION_DRIVERS: readonly PartitionDriver[] = [
  EFI_PARTITION_DRIVER,
  DOS_PARTITION_DRIVER,
];

/** A partition found by name: its number and description. */
export interface NamedPartition {
  /** The partition number. */
  readonly part: number;
  /** Its description. */
  readonly info: PartitionInfo;
}

/** `part_get_info_whole_disk`: the whole device as a partition. */
export function wholeDiskInfo(dev: BlockDevice): PartitionInfo {
  return {
    start: 0n,
    size: BigInt(dev.lba),
    blksz: dev.blksz,
    name: WHOLE_DISK_NAME,
    type: BOOT_PART_TYPE,
    bootable: 0,
    uuid: "",
    sysInd: 0,
  };
}

/** `print_part_header`: `\nPartition Map for PV BLOCK device 0  --   Partition Type: DOS\n\n`. */
export function partitionMapHeader(dev: BlockDevice, tableName: string): string {
  return `\nPartition Map for ${blockInterface(dev.ifType).partitionMapLabel} device ${dev.devnum}` +
    `  --   Partition Type: ${tableName}\n\n`;
}

/** Table detection and partition lookup over a set of drivers. */
export class PartitionLayer {
  /** The drivers, in the order they are tried. */
  readonly drivers: readonly PartitionDriver[];
  readonly #partTypes = new WeakMap<BlockDevice, number>();
  readonly #probed = new WeakSet<BlockDevice>();

  /** A layer trying `drivers` in order. */
  constructor(drivers: readonly PartitionDriver[] = DEFAULT_PARTITION_DRIVERS) {
    this.drivers = drivers;
  }

  /** The device's remembered `PART_TYPE_*` (`desc->part_type`; unknown until a driver matched). */
  partType(dev: BlockDevice): number {
    return this.#partTypes.get(dev) ?? PART_TYPE_UNKNOWN;
  }

  /** `part_init`: forgets the device's table type and tests each driver in order. */
  async init(dev: BlockDevice): Promise<void> {
    this.#partTypes.set(dev, PART_TYPE_UNKNOWN);
    for (const driver of this.drivers) {
      if (await driver.test(dev)) {
        this.#partTypes.set(dev, driver.partType);
        return;
      }
    }
  }

  /**
   * `blk_post_probe`: {@linkcode init}, then (with a table) looks up partitions 1-128 as U-Boot does
   * to create their devices. Returns the numbers found.
   */
  async probe(dev: BlockDevice, out: TextSink): Promise<number[]> {
    this.#probed.add(dev);
    await this.init(dev);
    const found: number[] = [];
    if (this.partType(dev) === PART_TYPE_UNKNOWN) return found;
    for (let part = 1; part <= MAX_SEARCH_PARTITIONS; part++) {
      if (await this.getInfo(dev, part, out) !== undefined) found.push(part);
    }
    return found;
  }

  /** {@linkcode probe}s `dev` unless it was probed before (U-Boot probes a device on first lookup). */
  async ensureProbed(dev: BlockDevice, out: TextSink): Promise<void> {
    if (!this.#probed.has(dev)) await this.probe(dev, out);
  }

  /** `part_driver_lookup_type`: the remembered driver, or the first whose test passes now. */
  async driverFor(dev: BlockDevice): Promise<PartitionDriver | undefined> {
    const known = this.partType(dev);
    if (known !== PART_TYPE_UNKNOWN) return this.drivers.find((d) => d.partType === known);
    for (const driver of this.drivers) {
      if (await driver.test(dev)) {
        this.#partTypes.set(dev, driver.partType);
        return driver;
      }
    }
    return undefined;
  }

  /** `part_get_info`: partition `part` of `dev`, or `undefined` (no table, no such partition). */
  async getInfo(dev: BlockDevice, part: number, out: TextSink): Promise<PartitionInfo | undefined> {
    const driver = await this.driverFor(dev);
    return driver === undefined ? undefined : await driver.getInfo(dev, part, out);
  }

  /**
   * `part_get_info_by_name`: the first of partitions 1 .. max_entries-1 named exactly `name`. The
   * search stops at the first number with no partition, as U-Boot's does.
   */
  async getInfoByName(dev: BlockDevice, name: string, out: TextSink): Promise<NamedPartition | undefined> {
    const driver = await this.driverFor(dev);
    if (driver === undefined) return undefined;
    for (let part = 1; part < driver.maxEntries; part++) {
      const info = await driver.getInfo(dev, part, out);
      if (info === undefined) return undefined;
      if (info.name === name) return { part, info };
    }
    return undefined;
  }

  /** `part_print`: the map of `dev` with its header, or `## Unknown partition table type 0`. */
  async print(dev: BlockDevice, out: TextSink): Promise<void> {
    const driver = await this.driverFor(dev);
    if (driver === undefined) {
      out.puts(`## Unknown partition table type ${this.partType(dev).toString(16)}\n`);
      return;
    }
    out.puts(partitionMapHeader(dev, driver.name));
    await driver.print(dev, out);
  }
}
