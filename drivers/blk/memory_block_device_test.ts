import assert from "node:assert/strict";
import { MemoryBlockDevice, MemoryBlockDeviceError } from "./memory_block_device.ts";
import { BLK_EIO, BlockBufferError } from "./block_device.ts";

Deno.test("a memory disk reads and writes whole blocks at their offsets", async () => {
  const disk = new MemoryBlockDevice({ lba: 4, blksz: 4096 });
  const data = new Uint8Array(8192).map((_, i) => i & 0xff);
  assert.equal(await disk.write(1, 2, data), 2);
  const back = new Uint8Array(8192);
  assert.equal(await disk.read(1, 2, back), 2);
  assert.deepEqual(back, data);
  assert.equal(disk.bytes[4096 + 5], 5);
  assert.equal(disk.bytes[4095], 0);
});

Deno.test("transfers past the end fail with -EIO and change nothing", async () => {
  const disk = new MemoryBlockDevice({ lba: 4 });
  const buf = new Uint8Array(1024).fill(7);
  assert.equal(await disk.read(3, 2, buf), BLK_EIO);
  assert.equal(await disk.read(4, 1, buf), BLK_EIO);
  assert.equal(await disk.read(-1, 1, buf), BLK_EIO);
  assert.equal(await disk.write(3, 2, buf), BLK_EIO);
  assert.ok(disk.bytes.every((b) => b === 0));
  assert.equal(await disk.read(3, 1, buf), 1);
});

Deno.test("a read-only disk refuses writes", async () => {
  const disk = new MemoryBlockDevice({ lba: 2, readOnly: true });
  assert.equal(await disk.write(0, 1, new Uint8Array(512).fill(1)), BLK_EIO);
  assert.equal(disk.bytes[0], 0);
});

Deno.test("a buffer too small for the blocks asked for is a programming error", async () => {
  const disk = new MemoryBlockDevice({ lba: 4 });
  await assert.rejects(() => disk.read(0, 2, new Uint8Array(600)), BlockBufferError);
});

Deno.test("sizes that are not whole blocks and odd block sizes are refused", () => {
  assert.throws(() => MemoryBlockDevice.fromBytes(new Uint8Array(1000)), MemoryBlockDeviceError);
  assert.throws(() => new MemoryBlockDevice({ lba: 1, blksz: 520 }), MemoryBlockDeviceError);
  assert.equal(MemoryBlockDevice.fromBytes(new Uint8Array(8192), { blksz: 4096 }).lba, 2);
});
