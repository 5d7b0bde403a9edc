/** Partition byte reads: inside the partition only, across device blocks, device failures as `io`. */

import assert from "node:assert/strict";
import { MemoryBlockDevice } from "../../drivers/blk/memory_block_device.ts";
import { FsCorruptError, FsError } from "../fs_driver.ts";
import { PartitionReader } from "./partition_reader.ts";

function _disk(): MemoryBlockDevice {
  const disk = new MemoryBlockDevice({ lba: 32 });
  for (let i = 0; i < disk.bytes.length; i++) disk.bytes[i] = i & 0xff ^ (i >> 9);
  return disk;
}

Deno.test("ext4 partition reader: ranges are relative to the partition and may straddle device blocks", async () => {
  const disk = _disk();
  const reader = PartitionReader.of({ dev: disk, part: 1, info: { start: 4n, size: 16n, blksz: 512 } });
  assert.equal(reader.size, 16 * 512);
  assert.deepEqual(await reader.read(500, 30), disk.bytes.slice(4 * 512 + 500, 4 * 512 + 530));
  assert.deepEqual(await reader.read(0, 1024), disk.bytes.slice(2048, 3072));
});

Deno.test("ext4 partition reader: a range leaving the partition is corrupt data", async () => {
  const reader = PartitionReader.of({ dev: _disk(), part: 1, info: { start: 4n, size: 16n, blksz: 512 } });
  await assert.rejects(() => reader.read(16 * 512 - 10, 11), FsCorruptError);
  await assert.rejects(() => reader.read(-1, 1), FsCorruptError);
  await assert.rejects(() => reader.read(2 ** 60, 1), FsCorruptError);
});

Deno.test("ext4 partition reader: a partition reaching past the device is cut at the device's end", async () => {
  const reader = PartitionReader.of({
    dev: _disk(),
    part: 1,
    info: { start: 30n, size: 1n << 40n, blksz: 512 },
  });
  assert.equal(reader.size, 2 * 512);
  await assert.rejects(() => reader.read(1024, 1), FsCorruptError);
});

Deno.test("ext4 partition reader: a failing device is an io error", async () => {
  const disk = _disk();
  const failing = Object.assign(Object.create(disk), { read: () => Promise.resolve(-5) });
  const reader = PartitionReader.of({ dev: failing, part: 1, info: { start: 0n, size: 32n, blksz: 512 } });
  const error = await reader.read(0, 10).catch((e) => e);
  assert.ok(error instanceof FsError && error.kind === "io");
});
