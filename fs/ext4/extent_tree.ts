/**
 * ext4 extent trees (`EXT4_EXTENTS_FL`): a root in `i_block`, index nodes and leaves in blocks of
 * their own, each node a 12-byte header (`struct ext4_extent_header`, magic 0xF30A) and 12-byte
 * entries. A range of logical blocks becomes {@link BlockRun}s: leaf extents give data, the gaps
 * between them holes, and extents marked uninitialised (length above 32768) read as zeros.
 *
 * Like U-Boot's `ext4fs_get_extent_block`, an index entry covers the blocks from its `ei_block` to
 * the next entry's, and the first entry also covers the blocks before it. A node with a bad magic is
 * corrupt (U-Boot prints `invalid extent block` and fails the read). pvboot also checks what U-Boot
 * trusts: depth at most {@link MAX_EXTENT_DEPTH} and one less per level, `eh_entries <= eh_max <=`
 * what fits, entries in increasing order, leaf extents that do not overlap, and a bounded number of
 * nodes per walk.
 *
 * @example
 * ```ts ignore
 * const runs = await extentRuns(fs, inode, 0, 256); // blocks 0..255 of the file
 * ```
 *
 * @module
 */

import { FsCorruptError } from "../fs_driver.ts";
import { appendRun, type BlockRun } from "./block_run.ts";
import type { Ext4Fs } from "./filesystem.ts";
import type { Ext4Inode } from "./inode.ts";
import { checkBound, MAX_EXTENT_DEPTH, MAX_EXTENT_NODES_PER_READ } from "./limits.ts";

/** `EXT4_EXT_MAGIC`. */
export const EXT4_EXT_MAGIC = 0xf30a;
/** `eh_magic`. */
export const EH_MAGIC = 0x00;
/** `eh_entries`. */
export const EH_ENTRIES = 0x02;
/** `eh_max`. */
export const EH_MAX = 0x04;
/** `eh_depth`. */
export const EH_DEPTH = 0x06;
/** Bytes of the header, and of every entry after it. */
export const EXTENT_ENTRY_BYTES = 12;
/** `ee_block` / `ei_block`. */
export const EE_BLOCK = 0x00;
/** `ee_len`. */
export const EE_LEN = 0x04;
/** `ee_start_hi`. */
export const EE_START_HI = 0x06;
/** `ee_start_lo`. */
export const EE_START_LO = 0x08;
/** `ei_leaf_lo`. */
export const EI_LEAF_LO = 0x04;
/** `ei_leaf_hi`. */
export const EI_LEAF_HI = 0x08;
/** `EXT_INIT_MAX_LEN`: longer `ee_len` values mark uninitialised extents of `ee_len - 32768` blocks. */
export const EXT_INIT_MAX_LEN = 32768;
const TWO_POW_32 = 0x1_0000_0000;
/** One past the highest logical block (`ee_block` is a u32). */
const LOGICAL_LIMIT = TWO_POW_32;

/** A node without the extent magic (U-Boot prints `invalid extent block` and fails the read). */
export class InvalidExtentBlockError extends FsCorruptError {
  /** Creates the error for the node at `block` (`undefined`: the root in the inode). */
  constructor(block: bigint | undefined) {
    super("Cannot read extent tree: invalid extent block", block);
    this.name = "InvalidExtentBlockError";
  }
}

/** One walk's state: the range asked for, the runs found, the nodes visited. */
interface _Walk {
  readonly fs: Ext4Fs;
  readonly first: number;
  readonly end: number;
  readonly runs: BlockRun[];
  nodes: number;
  /** First logical block not yet described by `runs`. */
  next: number;
}

/** Decodes and checks a node header; returns its entry count and depth. */
function _header(
  view: DataView,
  bytes: number,
  block: bigint | undefined,
): { entries: number; depth: number } {
  if (view.getUint16(EH_MAGIC, true) !== EXT4_EXT_MAGIC) {
    throw new InvalidExtentBlockError(block);
  }
  const entries = view.getUint16(EH_ENTRIES, true);
  const max = view.getUint16(EH_MAX, true);
  const depth = view.getUint16(EH_DEPTH, true);
  checkBound("extent depth", depth, MAX_EXTENT_DEPTH, block);
  checkBound("extent node capacity", max, Math.floor(bytes / EXTENT_ENTRY_BYTES) - 1, block);
  checkBound("extent entry count", entries, max, block);
  return { entries, depth };
}

/** Adds the part of `[logical, logical+count)` inside `[lower, upper)` and the walk's range. */
function _emit(
  walk: _Walk,
  lower: number,
  upper: number,
  logical: number,
  count: number,
  physical: number | null,
) {
  const from = Math.max(logical, lower, walk.first, walk.next);
  const to = Math.min(logical + count, upper, walk.end);
  if (from >= to) return;
  if (from > walk.next) appendRun(walk.runs, walk.next, from - walk.next, null);
  if (physical !== null) walk.fs.checkBlocks(physical + (from - logical), to - from);
  appendRun(walk.runs, from, to - from, physical === null ? null : physical + (from - logical));
  walk.next = to;
}

/** Walks one node covering logical blocks `[lower, upper)`. */
async function _node(
  walk: _Walk,
  node: Uint8Array,
  expectDepth: number | undefined,
  lower: number,
  upper: number,
  block: bigint | undefined,
): Promise<void> {
  if (++walk.nodes > MAX_EXTENT_NODES_PER_READ) {
    throw new FsCorruptError(`Cannot read extent tree: more than ${MAX_EXTENT_NODES_PER_READ} nodes`, block);
  }
  const view = new DataView(node.buffer, node.byteOffset, node.length);
  const { entries, depth } = _header(view, node.length, block);
  if (expectDepth !== undefined && depth !== expectDepth) {
    throw new FsCorruptError(`Cannot read extent tree: depth ${depth} where ${expectDepth} belongs`, block);
  }
  const at = (i: number) => EXTENT_ENTRY_BYTES * (i + 1);
  /** The lowest start the next entry may have: entries increase, leaf extents do not overlap. */
  let floor = 0;
  for (let i = 0; i < entries; i++) {
    const start = view.getUint32(at(i) + EE_BLOCK, true);
    if (start < floor) throw new FsCorruptError("Cannot read extent tree: entries out of order", block);
    if (depth === 0) {
      const rawLen = view.getUint16(at(i) + EE_LEN, true);
      const uninit = rawLen > EXT_INIT_MAX_LEN;
      const len = uninit ? rawLen - EXT_INIT_MAX_LEN : rawLen;
      floor = start + len;
      if (start >= walk.end) break;
      const physical = view.getUint16(at(i) + EE_START_HI, true) * TWO_POW_32 +
        view.getUint32(at(i) + EE_START_LO, true);
      _emit(walk, lower, upper, start, len, uninit ? null : physical);
    } else {
      floor = start + 1;
      const childLower = i === 0 ? lower : Math.max(lower, start);
      const childUpper = i + 1 < entries
        ? Math.min(upper, view.getUint32(at(i + 1) + EE_BLOCK, true))
        : upper;
      if (childLower >= walk.end) break;
      if (childUpper <= walk.first || childUpper <= childLower) continue;
      const leaf = view.getUint16(at(i) + EI_LEAF_HI, true) * TWO_POW_32 +
        view.getUint32(at(i) + EI_LEAF_LO, true);
      const child = await walk.fs.metadataBlock(leaf);
      await _node(walk, child, depth - 1, childLower, childUpper, BigInt(leaf));
    }
  }
}

/** The runs of logical blocks `[first, end)` of an extent-mapped inode (holes included). */
export async function extentRuns(
  fs: Ext4Fs,
  inode: Ext4Inode,
  first: number,
  end: number,
): Promise<BlockRun[]> {
  const walk: _Walk = { fs, first, end, runs: [], nodes: 0, next: first };
  if (first < end) await _node(walk, inode.block, undefined, 0, LOGICAL_LIMIT, undefined);
  if (walk.next < end) appendRun(walk.runs, walk.next, end - walk.next, null);
  return walk.runs;
}
