/**
 * The ext2/ext3/ext4 reader (U-Boot 2023.01's fs/ext4, read side): {@linkcode EXT4_DRIVER} for the
 * filesystem seam, and the pieces it is built from (superblock, inodes, extent trees, block maps,
 * directories, path lookup).
 *
 * @example
 * ```ts ignore
 * import { EXT4_DRIVER } from "./mod.ts";
 * const volume = await EXT4_DRIVER.probe(partition);
 * console.log(await volume?.size("/boot/Image"));
 * ```
 *
 * @module
 */

export * from "./block_map.ts";
export * from "./block_run.ts";
export * from "./directory.ts";
export * from "./driver.ts";
export * from "./extent_tree.ts";
export * from "./file_data.ts";
export * from "./filesystem.ts";
export * from "./group_descriptor.ts";
export * from "./inode.ts";
export * from "./limits.ts";
export * from "./partition_reader.ts";
export * from "./path_lookup.ts";
export * from "./superblock.ts";
export * from "./volume.ts";
