/**
 * FAT12/16/32 (U-Boot 2023.01 fs/fat/): the {@linkcode FAT_DRIVER} for the generic filesystem layer,
 * and the pieces `fatls`/`fatload`/`fatsize`/`fatinfo` (commands/fat.ts) use directly.
 *
 * @example
 * ```ts ignore
 * import { FAT_DRIVER } from "./mod.ts";
 * const volume = await FAT_DRIVER.probe({ dev, part: 1, info });
 * if (volume) await volume.ls("/", console);
 * ```
 *
 * @module
 */

export * from "./boot_sector.ts";
export * from "./dir_iterator.ts";
export * from "./fat_driver.ts";
export * from "./fat_layout.ts";
export * from "./fat_names.ts";
export * from "./fat_table.ts";
export * from "./fat_volume.ts";
export * from "./file_reader.ts";
export * from "./partition_io.ts";
export * from "./path_resolve.ts";
