import assert from "node:assert/strict";
import { readBlocks } from "./read_blocks.ts";
import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";

Deno.test("whole blocks are read into a fresh buffer", async () => {
  const disk = new MemoryBlockDevice({ lba: 4, blksz: 4096 });
  disk.bytes[4096 * 2 + 7] = 0x5a;
  const got = await readBlocks(disk, 2n, 2);
  assert.equal(got?.length, 8192);
  assert.equal(got?.[7], 0x5a);
});

Deno.test("addresses from disk data that no disk can have are failures, not reads", async () => {
  let reads = 0;
  const disk = new MemoryBlockDevice({ lba: 4 });
  const counting = Object.assign(Object.create(disk) as MemoryBlockDevice, {
    read: (lba: number, count: number, into: Uint8Array) => {
      reads++;
      return disk.read(lba, count, into);
    },
  });
  assert.equal(await readBlocks(counting, 1n << 63n, 1), undefined);
  assert.equal(await readBlocks(counting, -1n, 1), undefined);
  assert.equal(await readBlocks(counting, 0n, -1), undefined);
  assert.equal(reads, 0);
  assert.equal(await readBlocks(counting, 4n, 1), undefined); // past the end: the device says so
  assert.equal(reads, 1);
});
