/**
 * Reading a file's bytes (U-Boot 2023.01 fs/fat/fat.c `get_contents`), streamed to an
 * {@linkcode FsDataSink} run by run:
 *
 * - A read at or past the end gives 0 bytes; `length` 0 reads to the end; a read is cut at the end
 *   of the file (`fatload ... 0x100 0xfffff` of a 1 MiB file gives 1 byte).
 * - The chain is followed from the first cluster; runs of consecutive clusters are read with one
 *   block-device call each (at most {@linkcode MAX_READ_BYTES}), only as far as the bytes asked for
 *   (the FAT entry after the last cluster needed is never read).
 * - A chain that ends (or leaves the volume) before the bytes asked for prints `Invalid FAT entry`,
 *   a failed read `Error reading cluster`, and the read fails, as U-Boot's does. pvboot also checks
 *   the first cluster and bounds the walk by the volume's cluster count.
 *
 * @example
 * ```ts ignore
 * const got = await readContents(ctx, item, 0, 0, (chunk, at) => memory.set(chunk, at), out);
 * ```
 *
 * @module
 */

import { type FsDataSink, FsError, type FsTextSink } from "../fs_driver.ts";
import { clusterToSector } from "./boot_sector.ts";
import type { DirItem, FatContext } from "./dir_iterator.ts";

/**
 * Largest single block-device read (8 MiB): long enough that a 64 MiB contiguous file takes 8 calls
 * (each cluster separately would be 131072 calls with 512-byte clusters), short enough that the
 * buffer stays small next to guest RAM.
 */
export const MAX_READ_BYTES = 8 * 1024 * 1024;

const INVALID_FAT_ENTRY = "Invalid FAT entry\n";
const ERROR_READING_CLUSTER = "Error reading cluster\n";

/** The next cluster of a chain, or `undefined` (printed) when the chain breaks. */
async function _next(
  ctx: FatContext,
  cluster: number,
  out: FsTextSink | undefined,
): Promise<number | undefined> {
  const next = await ctx.fat.get(cluster);
  if (next === undefined || ctx.fat.isChainEnd(next) || !ctx.fat.isData(next)) {
    out?.puts(INVALID_FAT_ENTRY);
    return undefined;
  }
  return next;
}

/**
 * `get_contents`: reads `length` bytes (0: to the end) of `item` from `offset` into `sink`. Returns
 * the byte count, or an {@linkcode FsError} after printing U-Boot's message to `out`.
 */
export async function readContents(
  ctx: FatContext,
  item: DirItem,
  offset: number,
  length: number,
  sink: FsDataSink,
  out: FsTextSink | undefined,
): Promise<number | FsError> {
  const size = item.size;
  if (offset >= size) return 0;
  const end = length > 0 && size > offset + length ? offset + length : size;
  const { geo } = ctx;
  const bpc = geo.clusterBytes;
  const broken = new FsError("corrupt", `Cannot read file: the cluster chain ends before byte ${end}`);
  let steps = 0;
  const step = async (cluster: number): Promise<number | undefined> => {
    if (++steps > geo.clusterCount) {
      out?.puts(INVALID_FAT_ENTRY);
      return undefined;
    }
    return await _next(ctx, cluster, out);
  };

  let cluster = item.start;
  if (!ctx.fat.isData(cluster)) {
    out?.puts(INVALID_FAT_ENTRY);
    return broken;
  }
  let pos = 0;
  while (pos + bpc <= offset) {
    const next = await step(cluster);
    if (next === undefined) return broken;
    cluster = next;
    pos += bpc;
  }

  const maxRunClusters = Math.max(1, Math.floor(MAX_READ_BYTES / bpc));
  let done = 0;
  while (pos < end) {
    const runStart = cluster;
    let run = 1;
    let following: number | undefined;
    while (pos + run * bpc < end && run < maxRunClusters) {
      following = await step(runStart + run - 1);
      if (following === undefined) return broken;
      if (following !== runStart + run) break;
      following = undefined;
      run++;
    }
    const from = Math.max(offset, pos) - pos;
    const to = Math.min(end, pos + run * bpc) - pos;
    const firstSector = Math.floor(from / geo.sectSize);
    const sectors = Math.ceil(to / geo.sectSize) - firstSector;
    const data = await ctx.io.read(clusterToSector(geo, runStart) + firstSector, sectors);
    if (data === undefined) {
      out?.puts(ERROR_READING_CLUSTER);
      return new FsError("io", `Cannot read file: clusters ${runStart}+${run} are unreadable`);
    }
    const skip = from - firstSector * geo.sectSize;
    sink(data.subarray(skip, skip + (to - from)), done);
    done += to - from;
    pos += run * bpc;
    if (pos >= end) break;
    if (following === undefined) {
      following = await step(runStart + run - 1);
      if (following === undefined) return broken;
    }
    cluster = following;
  }
  return done;
}
