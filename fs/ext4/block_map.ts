/**
 * The ext2/ext3 block map: `i_block` holds 12 direct block numbers, then one single, one double and
 * one triple indirect block, each indirect block a table of `blocksize / 4` u32 block numbers
 * (U-Boot's `read_allocated_block` without `EXT4_EXTENTS_FL`). Block number 0 is a hole, at any
 * level: pvboot reads a hole under a zero indirect pointer as zeros, where U-Boot would read block 0
 * as the table. A logical block beyond what the triple indirect block reaches is corrupt data.
 *
 * @example
 * ```ts ignore
 * const runs = await blockMapRuns(fs, inode, 0, 300); // direct, single and double indirect blocks
 * ```
 *
 * @module
 */

import { FsCorruptError } from "../fs_driver.ts";
import { appendRun, type BlockRun } from "./block_run.ts";
import type { Ext4Fs } from "./filesystem.ts";
import type { Ext4Inode } from "./inode.ts";

/** `INDIRECT_BLOCKS`: direct block numbers in `i_block`. */
export const INDIRECT_BLOCKS = 12;
/** Index in `i_block` of the single indirect block. */
export const IND_BLOCK = 12;
/** Index in `i_block` of the double indirect block. */
export const DIND_BLOCK = 13;
/** Index in `i_block` of the triple indirect block. */
export const TIND_BLOCK = 14;
/** Bytes per block number. */
const POINTER_BYTES = 4;

/** Where logical block `b` is: a physical block (0: a hole) and how many blocks from `b` on share that answer. */
interface _Lookup {
  readonly physical: number;
  /** For a hole under a zero pointer: blocks from `b` to the end of that pointer's subtree; else 1. */
  readonly span: number;
}

/** Walks down `levels` tables from `pointer` for the block at `index` in that subtree. */
async function _descend(fs: Ext4Fs, pointer: number, levels: number, index: number, perBlock: number) {
  let block = pointer;
  let rest = index;
  for (let level = levels; level > 0; level--) {
    const covered = perBlock ** (level - 1);
    if (block === 0) return { physical: 0, span: covered * perBlock - (index % (covered * perBlock)) };
    const table = await fs.metadataBlock(block);
    const slot = Math.floor(rest / covered);
    block = new DataView(table.buffer, table.byteOffset, table.length).getUint32(slot * POINTER_BYTES, true);
    rest %= covered;
    if (block === 0 && level > 1) return { physical: 0, span: covered - rest };
  }
  return { physical: block, span: 1 };
}

/** Looks logical block `b` up. */
function _lookup(fs: Ext4Fs, iblock: DataView, b: number, perBlock: number): Promise<_Lookup> | _Lookup {
  const pointer = (i: number) => iblock.getUint32(i * POINTER_BYTES, true);
  if (b < INDIRECT_BLOCKS) return { physical: pointer(b), span: 1 };
  let index = b - INDIRECT_BLOCKS;
  if (index < perBlock) return _descend(fs, pointer(IND_BLOCK), 1, index, perBlock);
  index -= perBlock;
  if (index < perBlock ** 2) return _descend(fs, pointer(DIND_BLOCK), 2, index, perBlock);
  index -= perBlock ** 2;
  if (index < perBlock ** 3) return _descend(fs, pointer(TIND_BLOCK), 3, index, perBlock);
  throw new FsCorruptError(`Cannot map block ${b}: beyond the triple indirect block`);
}

/** The runs of logical blocks `[first, end)` of a block-mapped inode (holes included). */
export async function blockMapRuns(
  fs: Ext4Fs,
  inode: Ext4Inode,
  first: number,
  end: number,
): Promise<BlockRun[]> {
  const perBlock = fs.blockSize / POINTER_BYTES;
  const iblock = new DataView(inode.block.buffer, inode.block.byteOffset, inode.block.length);
  const runs: BlockRun[] = [];
  for (let b = first; b < end;) {
    const found = await _lookup(fs, iblock, b, perBlock);
    const count = Math.min(found.span, end - b);
    if (found.physical === 0) {
      appendRun(runs, b, count, null);
    } else {
      fs.checkBlocks(found.physical, 1);
      appendRun(runs, b, 1, found.physical);
    }
    b += count;
  }
  return runs;
}
