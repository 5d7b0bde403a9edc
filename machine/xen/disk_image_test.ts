import assert from "node:assert/strict";
import { DiskImageError, MEMORY_IMAGE_CHUNK, MemoryDiskImage } from "./disk_image.ts";

const TIB = 2 ** 40;

Deno.test("a terabyte memory image costs only the chunks written", async () => {
  const image = new MemoryDiskImage({ size: TIB });
  assert.equal(image.allocatedBytes(), 0);
  assert.deepEqual(await image.readAt(TIB - 1024, 1024), new Uint8Array(1024));
  await image.writeAt(TIB / 2 - 2, new Uint8Array([1, 2, 3, 4])); // straddles two chunks
  assert.equal(image.allocatedBytes(), 2 * MEMORY_IMAGE_CHUNK);
  assert.deepEqual(await image.readAt(TIB / 2 - 3, 6), new Uint8Array([0, 1, 2, 3, 4, 0]));
});

Deno.test("initial contents are copied and readable across chunk boundaries", async () => {
  const contents = Uint8Array.from({ length: MEMORY_IMAGE_CHUNK + 10 }, (_, i) => i & 0xff);
  const image = new MemoryDiskImage({ size: 4 * MEMORY_IMAGE_CHUNK, contents });
  contents[0] = 99;
  const read = await image.readAt(MEMORY_IMAGE_CHUNK - 5, 10);
  assert.deepEqual([...read], [...Array(10).keys()].map((i) => (MEMORY_IMAGE_CHUNK - 5 + i) & 0xff));
  assert.equal((await image.readAt(0, 1))[0], 0);
});

Deno.test("a read-only memory image refuses writes and keeps its bytes", async () => {
  const image = new MemoryDiskImage({ size: 4096, readOnly: true, contents: new Uint8Array([7]) });
  await assert.rejects(image.writeAt(0, new Uint8Array([1])), DiskImageError);
  assert.equal((await image.readAt(0, 1))[0], 7);
  assert.equal(image.writes, 0);
});

Deno.test("accesses outside the image or after close reject without a partial transfer", async () => {
  const image = new MemoryDiskImage({ size: 4096 });
  await assert.rejects(image.readAt(4000, 100), /outside the 4096-byte image/);
  await assert.rejects(image.writeAt(-1, new Uint8Array(1)), DiskImageError);
  await assert.rejects(image.readAt(0.5, 1), DiskImageError);
  await assert.rejects(image.writeAt(4095, new Uint8Array(2)), DiskImageError);
  assert.equal(image.allocatedBytes(), 0);
  await image.close();
  await assert.rejects(image.readAt(0, 1), /closed/);
  await assert.rejects(image.flush(), /closed/);
});
