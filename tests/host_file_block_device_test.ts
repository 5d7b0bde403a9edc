import assert from "node:assert/strict";
import { HostFileBlockDevice, HostFileSizeError } from "./host_file_block_device.ts";
import { BLK_EIO } from "../drivers/blk/block_device.ts";

async function image(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".img" });
  await Deno.writeFile(path, bytes);
  return path;
}

Deno.test("a host image reads at block offsets, concurrent reads included, and fails past the end", async () => {
  const data = new Uint8Array(8 * 512).map((_, i) => (i >> 9) + 1);
  const path = await image(data);
  const disk = await HostFileBlockDevice.open(path, { devnum: 2 });
  try {
    assert.equal(disk.lba, 8);
    const bufs = Array.from({ length: 8 }, () => new Uint8Array(512));
    const done = await Promise.all(bufs.map((b, i) => disk.read(7 - i, 1, b)));
    assert.deepEqual(done, Array(8).fill(1));
    assert.deepEqual(bufs.map((b) => b[100]), [8, 7, 6, 5, 4, 3, 2, 1]);
    assert.equal(await disk.read(7, 2, new Uint8Array(1024)), BLK_EIO);
    assert.equal(await disk.write(0, 1, new Uint8Array(512)), BLK_EIO); // read-only unless asked
  } finally {
    disk.close();
    await Deno.remove(path);
  }
});

Deno.test("a writable host image takes writes; a size that is not whole blocks is refused", async () => {
  const path = await image(new Uint8Array(4096));
  const disk = await HostFileBlockDevice.open(path, { blksz: 4096, writable: true });
  try {
    assert.equal(await disk.write(0, 1, new Uint8Array(4096).fill(9)), 1);
  } finally {
    disk.close();
  }
  assert.equal((await Deno.readFile(path))[4095], 9);
  await Deno.writeFile(path, new Uint8Array(1000));
  await assert.rejects(() => HostFileBlockDevice.open(path), HostFileSizeError);
  await Deno.remove(path);
});
