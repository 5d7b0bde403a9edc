/**
 * The generic filesystem layer over the real FAT and ext4 drivers, on the fixture images made by the
 * real tools (gpt: p1 FAT32, p2 ext4, p3 blank; mbr: p1 FAT16, p2 ext2, p5 FAT16; floppy: FAT12).
 * Expected texts are what the real U-Boot 2023.01 printed for the same commands on the same images
 * (tests/conformance/cases fat.cases and ext4.cases), timings aside.
 */

import assert from "node:assert/strict";
import { FsLayer } from "../fs/fs.ts";
import { FAT_DRIVER } from "../fs/fat/mod.ts";
import { EXT4_DRIVER } from "../fs/ext4/mod.ts";
import { fsCommands } from "../commands/fs.ts";
import type { Command } from "../commands/command.ts";
import { PartitionLayer } from "../disk/part.ts";
import { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { payloadFiles } from "../scripts/fixtures/payloads.ts";
import { fakeContext } from "./fake_context.ts";
import { ensureFixture } from "./fixtures.ts";
import { HostFileBlockDevice } from "./host_file_block_device.ts";

const PAYLOADS = payloadFiles();

function payload(name: string): Uint8Array {
  const bytes = PAYLOADS.get(name);
  assert.ok(bytes, name);
  return bytes;
}

/** Runs `body` with the three fixture disks as pvblock 0-2 and the generic commands over them. */
async function withDisks(
  body: (
    run: (line: string) => Promise<[number, string]>,
    ctx: ReturnType<typeof fakeContext>,
  ) => Promise<void>,
): Promise<void> {
  const devices: HostFileBlockDevice[] = [];
  try {
    const blk = new BlockRegistry();
    for (const [devnum, name] of ["gpt", "mbr", "floppy"].entries()) {
      const dev = await HostFileBlockDevice.open(await ensureFixture(name), { devnum });
      devices.push(dev);
      blk.register(dev);
    }
    const layer = new FsLayer({
      blk,
      parts: new PartitionLayer(),
      drivers: [FAT_DRIVER, EXT4_DRIVER],
      clock: () => 0,
    });
    const commands = new Map(fsCommands(layer).map((c): [string, Command] => [c.name, c]));
    const ctx = fakeContext();
    const run = async (line: string): Promise<[number, string]> => {
      const argv = line.split(" ");
      const rc = await commands.get(argv[0]!)!.run(ctx, argv);
      return [rc, ctx.console.take()];
    };
    await body(run, ctx);
  } finally {
    for (const dev of devices) dev.close();
  }
}

Deno.test("fstype and fstypes name the real filesystems of the fixture disks", async () => {
  await withDisks(async (run, ctx) => {
    assert.deepEqual(await run("fstypes"), [0, "Supported filesystems: fat, ext4\n"]);
    assert.deepEqual(await run("fstype pvblock 0:1"), [0, "fat\n"]);
    assert.deepEqual(await run("fstype pvblock 0:2"), [0, "ext4\n"]);
    assert.deepEqual(await run("fstype pvblock 1:2"), [0, "ext4\n"]);
    assert.deepEqual(await run("fstype pvblock 2"), [0, "fat\n"]);
    assert.deepEqual(await run("fstype pvblock 0:3"), [1, ""]);
    assert.deepEqual(await run("fstype pvblock 1:5 fsvar"), [0, ""]);
    assert.equal(ctx.env.get("fsvar"), "fat");
  });
});

Deno.test("ls lists a FAT and an ext4 directory as the real U-Boot does", async () => {
  await withDisks(async (run) => {
    assert.deepEqual(await run("ls pvblock 0:1 /dir1"), [
      0,
      "            ./\n            ../\n       10   file-in-dir1.txt\n            dir2/\n\n1 file(s), 3 dir(s)\n\n",
    ]);
    assert.deepEqual(await run("ls pvblock 0:2 /dir1"), [
      0,
      "<DIR>       4096 .\n<DIR>       4096 ..\n<DIR>       4096 dir2\n              10 file-in-dir1.txt\n" +
      "<SYM>         11 up-link-boot.scr\n",
    ]);
    assert.deepEqual(await run("ls pvblock 0:3"), [1, ""]);
  });
});

Deno.test("load reads files from FAT and ext4 into guest memory", async () => {
  await withDisks(async (run, ctx) => {
    const hello = payload("hello.txt");
    assert.deepEqual(await run("load pvblock 0:1 0x40400000 hello.txt"), [
      0,
      `${hello.length} bytes read in 0 ms\n`,
    ]);
    assert.deepEqual(ctx.memory.read(0x40400000, hello.length), hello);
    assert.equal(ctx.env.get("filesize"), hello.length.toString(16));
    assert.equal(ctx.env.get("fileaddr"), "40400000");
    const blob = payload("blob-1M.bin");
    assert.deepEqual(await run("load pvblock 0:2 0x40500000 blob-1M.bin 0x10 0x100"), [
      0,
      "16 bytes read in 0 ms\n",
    ]);
    assert.deepEqual(ctx.memory.read(0x40500000, 0x10), blob.subarray(0x100, 0x110));
    assert.deepEqual(await run("load pvblock 0:1 0x40600000 blob-1M.bin"), [
      0,
      `${blob.length} bytes read in 0 ms\n`,
    ]);
    assert.deepEqual(ctx.memory.read(0x40600000, blob.length), blob);
  });
});

Deno.test("load fails as the real U-Boot does on FAT and ext4", async () => {
  await withDisks(async (run) => {
    assert.deepEqual(await run("load pvblock 0:1 0x5ff00000 blob-1M.bin"), [
      1,
      "** Reading file would overwrite reserved memory **\nFailed to load 'blob-1M.bin'\n",
    ]);
    assert.deepEqual(await run("load pvblock 0:1 0x40400000 dir1"), [
      1,
      "** Unable to read file dir1 **\nFailed to load 'dir1'\n",
    ]);
    assert.deepEqual(await run("load pvblock 0:1 0x40400000 nothere.txt"), [
      1,
      "Failed to load 'nothere.txt'\n",
    ]);
    assert.deepEqual(await run("load pvblock 0:1 0x40400000 blob-1M.bin 0x100 0x100000"), [
      0,
      "0 bytes read in 0 ms\n",
    ]);
    assert.deepEqual(await run("load pvblock 0:2 0x40400000 dir1"), [1, "Failed to load 'dir1'\n"]);
    assert.deepEqual(await run("load pvblock 0:2 0x40400000 empty.txt"), [1, "Failed to load 'empty.txt'\n"]);
    assert.deepEqual(await run("load pvblock 0:2 0x40400000 blob-1M.bin 0x100 0x100000"), [
      1,
      "Failed to load 'blob-1M.bin'\n",
    ]);
    assert.deepEqual(await run("load pvblock 0:3 0x40400000 hello.txt"), [1, "Can't set block device\n"]);
  });
});

Deno.test("size sets filesize from FAT and ext4", async () => {
  await withDisks(async (run, ctx) => {
    assert.deepEqual(await run("size pvblock 0:1 blob-4097.bin"), [0, ""]);
    assert.equal(ctx.env.get("filesize"), "1001");
    assert.deepEqual(await run("size pvblock 0:2 blob-1M.bin"), [0, ""]);
    assert.equal(ctx.env.get("filesize"), "100000");
    assert.deepEqual(await run("size pvblock 0:1 nothere"), [1, ""]);
  });
});
