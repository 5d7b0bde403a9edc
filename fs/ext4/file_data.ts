/**
 * Reading a file's bytes (U-Boot's `ext4fs_read_file`): the byte range becomes runs of blocks
 * through the inode's extent tree or block map, each data run is one block-device call (split at
 * {@link MAX_RUN_BYTES}), holes and unwritten extents are zeros, and the data goes to the sink in
 * file order. The range is mapped a window at a time, so a long fragmented file never holds more
 * than one window's runs. Inline data (`EXT4_INLINE_DATA_FL`) is not supported, as in U-Boot.
 *
 * @example
 * ```ts ignore
 * const parts: Uint8Array[] = [];
 * await readFileData(fs, inode, 0, 4097, (chunk) => parts.push(chunk.slice()));
 * ```
 *
 * @module
 */

import { FsCorruptError, type FsDataSink } from "../fs_driver.ts";
import { blockMapRuns } from "./block_map.ts";
import type { BlockRun } from "./block_run.ts";
import { extentRuns } from "./extent_tree.ts";
import type { Ext4Fs } from "./filesystem.ts";
import { EXT4_EXTENTS_FL, EXT4_INLINE_DATA_FL, type Ext4Inode } from "./inode.ts";
import { MAX_HOLE_CHUNK_BYTES, MAX_RUN_BYTES } from "./limits.ts";

/** Bytes of the file mapped at a time (a multiple of every block size). */
const MAP_WINDOW_BYTES = 4 * MAX_RUN_BYTES;

/** The runs of logical blocks `[first, end)` of `inode`, by its mapping scheme. */
export function fileRuns(fs: Ext4Fs, inode: Ext4Inode, first: number, end: number): Promise<BlockRun[]> {
  if ((inode.flags & EXT4_EXTENTS_FL) !== 0) return extentRuns(fs, inode, first, end);
  if ((inode.flags & EXT4_INLINE_DATA_FL) !== 0) {
    throw new FsCorruptError(`Cannot read inode ${inode.ino}: inline data is not supported`);
  }
  return blockMapRuns(fs, inode, first, end);
}

/**
 * Sends bytes `[offset, offset + length)` of `inode` to `sink` (chunk offsets count from `offset`).
 * The caller has bounded the range by the file's size.
 */
export async function readFileData(
  fs: Ext4Fs,
  inode: Ext4Inode,
  offset: number,
  length: number,
  sink: FsDataSink,
): Promise<void> {
  const bs = fs.blockSize;
  const endByte = offset + length;
  let emitted = 0;
  const emit = (chunk: Uint8Array) => {
    sink(chunk, emitted);
    emitted += chunk.length;
  };
  const windowBlocks = MAP_WINDOW_BYTES / bs;
  const lastBlock = Math.ceil(endByte / bs);
  for (let window = Math.floor(offset / bs); window < lastBlock; window += windowBlocks) {
    const runs = await fileRuns(fs, inode, window, Math.min(window + windowBlocks, lastBlock));
    for (const run of runs) {
      // The bytes of this run that fall in the range.
      const runStart = Math.max(run.logical * bs, offset);
      const runEnd = Math.min((run.logical + run.count) * bs, endByte);
      if (run.physical === null) {
        for (let at = runStart; at < runEnd; at += MAX_HOLE_CHUNK_BYTES) {
          emit(new Uint8Array(Math.min(MAX_HOLE_CHUNK_BYTES, runEnd - at)));
        }
        continue;
      }
      const maxBlocks = MAX_RUN_BYTES / bs;
      for (let b = 0; b < run.count; b += maxBlocks) {
        const count = Math.min(maxBlocks, run.count - b);
        const data = await fs.readBlocks(run.physical + b, count);
        const base = (run.logical + b) * bs;
        const from = Math.max(runStart - base, 0);
        const to = Math.min(runEnd - base, count * bs);
        if (from < to) emit(from === 0 && to === data.length ? data : data.subarray(from, to));
      }
    }
  }
}
