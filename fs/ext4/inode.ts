/**
 * ext2/ext4 inodes (`struct ext2_inode`, the first 128 bytes of every inode record): the mode, the
 * size (`i_size_lo` and `i_size_high`), the flags and the 60 bytes of `i_block` that hold a block
 * map, an extent-tree root or a fast symlink's target.
 *
 * U-Boot reads only `i_size_lo` (`le32_to_cpu(inode.size)`) for sizes, listings and reads, so a
 * file of 4 GiB or more shows and loads its size modulo 2^32; {@linkcode Ext4Inode.sizeLo} is that
 * value, {@linkcode Ext4Inode.size} the true one.
 *
 * @example
 * ```ts
 * import { parseInode, S_IFREG } from "./inode.ts";
 *
 * const raw = new Uint8Array(128);
 * const view = new DataView(raw.buffer);
 * view.setUint16(0x00, S_IFREG | 0o644, true);
 * view.setUint32(0x04, 5, true); // i_size_lo
 * view.setUint32(0x6c, 1, true); // i_size_high
 * const inode = parseInode(12, raw);
 * console.log(inode.size, inode.sizeLo); // 4294967301n 5
 * ```
 *
 * @module
 */

import { FsCorruptError } from "../fs_driver.ts";

/** `i_mode`. */
export const I_MODE = 0x00;
/** `i_size_lo`. */
export const I_SIZE_LO = 0x04;
/** `i_flags`. */
export const I_FLAGS = 0x20;
/** `i_block`: 15 block pointers, an extent-tree root, or a fast symlink. */
export const I_BLOCK = 0x28;
/** Bytes of `i_block` (`sizeof(inode.b.symlink)`). */
export const I_BLOCK_BYTES = 60;
/** `i_size_high` (`i_dir_acl` in revision 0). */
export const I_SIZE_HIGH = 0x6c;
/** Bytes of the inode fields read (`sizeof(struct ext2_inode)`). */
export const INODE_CORE_BYTES = 128;

/** The file-type bits of `i_mode` (`FILETYPE_INO_MASK`). */
export const S_IFMT = 0o170000;
/** Regular file (`FILETYPE_INO_REG`). */
export const S_IFREG = 0o100000;
/** Directory (`FILETYPE_INO_DIRECTORY`). */
export const S_IFDIR = 0o040000;
/** Symbolic link (`FILETYPE_INO_SYMLINK`). */
export const S_IFLNK = 0o120000;

/** `EXT4_EXTENTS_FL`: `i_block` holds an extent tree. */
export const EXT4_EXTENTS_FL = 0x00080000;
/** `EXT4_INLINE_DATA_FL`: the data lives in the inode (not supported, as in U-Boot). */
export const EXT4_INLINE_DATA_FL = 0x10000000;

/** One inode. */
export interface Ext4Inode {
  /** Its number. */
  readonly ino: number;
  /** `i_mode`. */
  readonly mode: number;
  /** The size in bytes (`i_size_lo` | `i_size_high` << 32). */
  readonly size: bigint;
  /** `i_size_lo`: the size as U-Boot sees it. */
  readonly sizeLo: number;
  /** `i_flags`. */
  readonly flags: number;
  /** `i_block` (60 bytes). */
  readonly block: Uint8Array;
}

/** Decodes the first {@link INODE_CORE_BYTES} bytes of inode `ino`'s record. */
export function parseInode(ino: number, raw: Uint8Array): Ext4Inode {
  if (raw.length < INODE_CORE_BYTES) throw new FsCorruptError(`Cannot read inode ${ino}: short record`);
  const view = new DataView(raw.buffer, raw.byteOffset, INODE_CORE_BYTES);
  const sizeLo = view.getUint32(I_SIZE_LO, true);
  return {
    ino,
    mode: view.getUint16(I_MODE, true),
    size: BigInt(sizeLo) | (BigInt(view.getUint32(I_SIZE_HIGH, true)) << 32n),
    sizeLo,
    flags: view.getUint32(I_FLAGS, true),
    block: raw.slice(I_BLOCK, I_BLOCK + I_BLOCK_BYTES),
  };
}

/** The `S_IF*` type of an inode. */
export function inodeType(inode: Ext4Inode): number {
  return inode.mode & S_IFMT;
}
