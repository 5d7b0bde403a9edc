/**
 * Partition tables (U-Boot's disk/): the {@linkcode PartitionDriver} seam with the EFI (GPT) and DOS
 * (MBR) drivers, the {@linkcode PartitionLayer} that finds a disk's table and its partitions, and the
 * `<dev>[:<part>]` / `<dev>#<name>` strings of the filesystem and partition commands.
 *
 * @example
 * ```ts
 * import { blkGetDevicePartStr, PartitionLayer } from "./mod.ts";
 * import { BlockRegistry, MemoryBlockDevice } from "../drivers/blk/mod.ts";
 *
 * const blk = new BlockRegistry();
 * blk.register(new MemoryBlockDevice({ ifType: "pvblock", devnum: 0, lba: 2880 }));
 * const lookup = { blk, parts: new PartitionLayer(), out: { puts(_t: string) {} } };
 * const whole = await blkGetDevicePartStr(lookup, "pvblock", "0", true);
 * console.log(whole?.info.name); // "Whole Disk"
 * ```
 *
 * @module
 */

export * from "./device_part_str.ts";
export * from "./guid.ts";
export * from "./part.ts";
export * from "./part_dos.ts";
export * from "./part_driver.ts";
export * from "./part_efi.ts";
export * from "./read_blocks.ts";
