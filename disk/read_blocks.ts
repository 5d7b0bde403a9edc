/**
 * Block reads for the partition code: whole blocks at a u64 block address taken from disk data,
 * into a fresh buffer, with every size bounded before anything is allocated. A read that fails, or
 * that asks for a block no disk can have, yields `undefined` as U-Boot's `blk_dread(...) != count`.
 *
 * @example
 * ```ts
 * import { readBlocks } from "./read_blocks.ts";
 * import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";
 *
 * const disk = new MemoryBlockDevice({ lba: 4 });
 * console.log((await readBlocks(disk, 1n, 2))?.length, await readBlocks(disk, 2n ** 63n, 1)); // 1024 undefined
 * ```
 *
 * @module
 */

import type { BlockDevice } from "../drivers/blk/block_device.ts";

/** Reads `count` blocks of `dev` from block `lba`; `undefined` when the device reports a failure. */
export async function readBlocks(
  dev: BlockDevice,
  lba: bigint | number,
  count: number,
): Promise<Uint8Array | undefined> {
  const first = BigInt(lba);
  if (first < 0n || first > BigInt(Number.MAX_SAFE_INTEGER) || !Number.isSafeInteger(count) || count < 0) {
    return undefined;
  }
  const bytes = count * dev.blksz;
  if (!Number.isSafeInteger(bytes)) return undefined;
  const buffer = new Uint8Array(bytes);
  const done = await dev.read(Number(first), count, buffer);
  return done === count ? buffer : undefined;
}
