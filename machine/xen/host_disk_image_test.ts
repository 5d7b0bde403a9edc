import assert from "node:assert/strict";
import { DiskImageError } from "./disk_image.ts";
import { openHostDiskImage } from "./host_disk_image.ts";

const TIB = 2 ** 40;

async function withTempFile(fn: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".img" });
  try {
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("a sparse terabyte file is opened lazily and read only where asked", async () => {
  await withTempFile(async (path) => {
    await Deno.truncate(path, TIB);
    const image = await openHostDiskImage(path, { readOnly: true });
    assert.equal(image.size, TIB);
    assert.equal(image.opened, false);
    assert.deepEqual(await image.readAt(TIB - 512, 512), new Uint8Array(512));
    assert.equal(image.opened, true);
    await image.close();
  });
});

Deno.test("writes land at their offsets in the file and survive a flush and close", async () => {
  await withTempFile(async (path) => {
    await Deno.writeFile(path, new Uint8Array(8192));
    const image = await openHostDiskImage(path, { readOnly: false });
    await image.writeAt(4094, new Uint8Array([1, 2, 3, 4]));
    await image.flush();
    assert.deepEqual(await image.readAt(4093, 6), new Uint8Array([0, 1, 2, 3, 4, 0]));
    await image.close();
    const bytes = await Deno.readFile(path);
    assert.deepEqual([...bytes.subarray(4094, 4098)], [1, 2, 3, 4]);
    await assert.rejects(image.readAt(0, 1), /closed/);
  });
});

Deno.test("a read-only image refuses writes and leaves the file as it was", async () => {
  await withTempFile(async (path) => {
    await Deno.writeFile(path, new Uint8Array([9, 9, 9, 9]));
    const image = await openHostDiskImage(path, { readOnly: true });
    await assert.rejects(image.writeAt(0, new Uint8Array([1])), /read-only/);
    await image.flush();
    await image.close();
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([9, 9, 9, 9]));
  });
});

Deno.test("a missing file, a directory, a range past the end and a shrunk file are DiskImageErrors", async () => {
  await assert.rejects(openHostDiskImage("/nonexistent/disk.img", { readOnly: true }), DiskImageError);
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(openHostDiskImage(dir, { readOnly: true }), /not a file/);
  } finally {
    await Deno.remove(dir);
  }
  await withTempFile(async (path) => {
    await Deno.writeFile(path, new Uint8Array(4096));
    const image = await openHostDiskImage(path, { readOnly: true });
    await assert.rejects(image.readAt(4000, 200), /outside the 4096-byte image/);
    await Deno.truncate(path, 1000);
    await assert.rejects(image.readAt(512, 1024), /ends early/);
    await image.close();
  });
});
