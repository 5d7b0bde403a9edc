/**
 * The bounds pvboot puts on everything the ext2/ext4 reader takes from the disk, and the one check
 * that enforces them. U-Boot trusts most of these numbers; a bad one there reads garbage, loops for
 * a very long time or faults. Here a number out of bounds is an {@linkcode FsCorruptError}.
 *
 * @example
 * ```ts
 * import { checkBound, MAX_EXTENT_DEPTH } from "./limits.ts";
 *
 * checkBound("extent depth", 2, MAX_EXTENT_DEPTH); // fine
 * try {
 *   checkBound("extent depth", 9, MAX_EXTENT_DEPTH);
 * } catch (e) {
 *   console.log((e as Error).message); // "Cannot use extent depth 9: the limit is 5"
 * }
 * ```
 *
 * @module
 */

import { FsCorruptError } from "../fs_driver.ts";

/** Deepest extent tree (the kernel's `EXT4_MAX_EXTENT_DEPTH`). */
export const MAX_EXTENT_DEPTH = 5;
/** Extent-tree blocks one read may visit (a legitimate 64 MiB file of 1 KiB blocks needs under 800). */
export const MAX_EXTENT_NODES_PER_READ = 1 << 17;
/**
 * Largest directory read (bytes of its i_size). A directory of a million entries is about 40 MiB;
 * without `largedir` the kernel stops at 2 GiB, which a corrupt i_size could ask for.
 */
export const MAX_DIRECTORY_BYTES = 256 * 1024 * 1024;
/** Largest symlink target read (U-Boot's `EXT2_PATH_MAX`). */
export const MAX_SYMLINK_BYTES = 4096;
/**
 * Symlinks one lookup may follow: U-Boot's `symlinknest` fails the lookup when it reaches 8
 * (`EXT2_MAX_SYMLINKCNT`), so at most 7 are followed.
 */
export const MAX_SYMLINK_NEST = 8;
/** Path components one lookup may walk, symlink targets included (each target is at most 4096 bytes). */
export const MAX_PATH_COMPONENTS = MAX_SYMLINK_NEST * MAX_SYMLINK_BYTES;
/**
 * Bytes one block-device call may move when a file is read. Why: one call per run of contiguous blocks
 * keeps a 64 MiB kernel load to a handful of calls (one per extent); the cap keeps a single buffer
 * at 64 MiB when an extent (up to 128 MiB at 4 KiB blocks) is longer.
 */
export const MAX_RUN_BYTES = 64 * 1024 * 1024;
/** Bytes of zeros handed to the sink at once for a hole. */
export const MAX_HOLE_CHUNK_BYTES = 1024 * 1024;
/** Filesystem blocks kept by the metadata cache (index, indirect, descriptor and inode-table blocks). */
export const METADATA_CACHE_BLOCKS = 64;

/** Throws {@linkcode FsCorruptError} unless `0 <= value <= limit`. */
export function checkBound(what: string, value: number, limit: number, block?: bigint): void {
  if (!(value >= 0 && value <= limit)) {
    throw new FsCorruptError(`Cannot use ${what} ${value}: the limit is ${limit}`, block);
  }
}
