/**
 * Block group descriptors (`struct ext2_block_group`, 32 bytes, or `s_desc_size` bytes under
 * `64bit`): the reader needs only where each group's inode table is. As in U-Boot's
 * `ext4fs_blockgroup`, descriptors follow the superblock's block one after another (`meta_bg`
 * layouts are not followed), and the high half of the table's block number counts when descriptors
 * are 64 bytes or more.
 *
 * @example
 * ```ts
 * import { descriptorLocation, inodeTableBlock } from "./group_descriptor.ts";
 *
 * console.log(descriptorLocation(0, 4096, 64, 70)); // { block: 2, offset: 384 }
 * const desc = new Uint8Array(64);
 * new DataView(desc.buffer).setUint32(0x08, 42, true);
 * console.log(inodeTableBlock(desc, 64)); // 42
 * ```
 *
 * @module
 */

/** `bg_inode_table_lo`. */
export const BG_INODE_TABLE_LO = 0x08;
/** `bg_inode_table_hi` (64-byte descriptors). */
export const BG_INODE_TABLE_HI = 0x28;
/** Descriptor size from which the `_hi` halves exist (`EXT4_MIN_DESC_SIZE_64BIT`). */
export const DESC_SIZE_64BIT = 64;
const TWO_POW_32 = 0x1_0000_0000;

/** Where group `group`'s descriptor is: a filesystem block and a byte offset in it. */
export function descriptorLocation(
  firstDataBlock: number,
  blockSize: number,
  descSize: number,
  group: number,
): { block: number; offset: number } {
  const perBlock = blockSize / descSize;
  return {
    block: firstDataBlock + 1 + Math.floor(group / perBlock),
    offset: (group % perBlock) * descSize,
  };
}

/** The first block of the group's inode table, from its descriptor's bytes. */
export function inodeTableBlock(desc: Uint8Array, descSize: number): number {
  const view = new DataView(desc.buffer, desc.byteOffset, desc.length);
  let block = view.getUint32(BG_INODE_TABLE_LO, true);
  if (descSize >= DESC_SIZE_64BIT) block += view.getUint32(BG_INODE_TABLE_HI, true) * TWO_POW_32;
  return block;
}
