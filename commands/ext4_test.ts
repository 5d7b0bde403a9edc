/**
 * The ext4/ext2 commands over the gpt (pvblock 0: p1 FAT32, p2 ext4, p3 blank) and mbr (pvblock 1:
 * p2 ext2) fixtures: arguments, limits, messages and environment effects as U-Boot's (see
 * tests/conformance/cases/ext4.cases for the real U-Boot's transcripts).
 */

import assert from "node:assert/strict";
import { CMD_RET_USAGE, type Command } from "./command.ts";
import { ext4Commands } from "./ext4.ts";
import { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { PartitionLayer } from "../disk/part.ts";
import { ensureFixture } from "../tests/fixtures.ts";
import { HostFileBlockDevice } from "../tests/host_file_block_device.ts";
import { fakeContext } from "../tests/fake_context.ts";
import { mountFixture } from "../fs/ext4/_test_images.ts";

const LOAD_ADDR = 0x40400000;

/** Runs `test` with the ext4 commands over the gpt and mbr fixtures (clock stopped at 0). */
async function _withCommands(test: (commands: Map<string, Command>) => Promise<void>): Promise<void> {
  const blk = new BlockRegistry();
  const disks = [
    await HostFileBlockDevice.open(await ensureFixture("gpt"), { ifType: "pvblock", devnum: 0 }),
    await HostFileBlockDevice.open(await ensureFixture("mbr"), { ifType: "pvblock", devnum: 1 }),
  ];
  try {
    for (const disk of disks) blk.register(disk);
    const commands = ext4Commands({ blk, parts: new PartitionLayer() }, { clock: () => 0 });
    await test(new Map(commands.map((c) => [c.name, c])));
  } finally {
    for (const disk of disks) disk.close();
  }
}

async function _run(command: Command | undefined, argv: string[], ctx = fakeContext()) {
  assert.ok(command !== undefined);
  const rc = await command.run(ctx, argv);
  return { rc, out: ctx.console.take(), ctx };
}

Deno.test("ext4 commands: U-Boot's names, maxargs and repeat flags (ext2load has no room for pos)", async () => {
  await _withCommands((commands) => {
    const table = [...commands.values()].map((c) => [c.name, c.maxArgs, c.repeatable]);
    assert.deepEqual(table, [
      ["ext4ls", 4, true],
      ["ext4load", 7, false],
      ["ext4size", 4, false],
      ["ext2ls", 4, true],
      ["ext2load", 6, false],
    ]);
    assert.equal(commands.get("ext4ls")!.usage, "list files in a directory (default /)");
    return Promise.resolve();
  });
});

Deno.test("ext4ls: lists the root by default; a partition that is not ext fails silently", async () => {
  await _withCommands(async (commands) => {
    const ls = commands.get("ext4ls");
    const root = await _run(ls, ["ext4ls", "pvblock", "0:2"]);
    assert.equal(root.rc, 0);
    assert.match(root.out, /^<DIR> {7}4096 \.\n<DIR> {7}4096 \.\.\n<DIR> {6}16384 lost\+found\n/);
    assert.equal((await _run(ls, ["ext4ls", "pvblock", "0:2", "/"])).out, root.out);
    for (const part of ["0:1", "0:3"]) {
      assert.deepEqual((await _run(ls, ["ext4ls", "pvblock", part])).out, "");
    }
    assert.equal((await _run(ls, ["ext4ls", "pvblock", "0:1"])).rc, 1);
    const missing = await _run(ls, ["ext4ls", "pvblock", "0:2", "nothere"]);
    assert.deepEqual([missing.rc, missing.out], [1, "** Can not find directory. **\n"]);
    assert.equal((await _run(ls, ["ext4ls"])).rc, CMD_RET_USAGE);
    const ext2 = await _run(commands.get("ext2ls"), ["ext2ls", "pvblock", "1:2"]);
    assert.match(ext2.out, /^<DIR> {7}1024 \.\n/);
  });
});

Deno.test("ext4load: reads the file to the address, prints the bytes read, sets fileaddr and filesize", async () => {
  await _withCommands(async (commands) => {
    const volume = await mountFixture("gpt", 2);
    const expected = new Uint8Array(32);
    await volume.read("hello.txt", 0n, 0n, (chunk, at) => expected.set(chunk, at));
    const { rc, out, ctx } = await _run(commands.get("ext4load"), [
      "ext4load",
      "pvblock",
      "0:2",
      "40400000",
      "hello.txt",
    ]);
    assert.equal(rc, 0);
    assert.equal(out, "32 bytes read in 0 ms\n");
    assert.equal(ctx.env.get("filesize"), "20");
    assert.equal(ctx.env.get("fileaddr"), "40400000");
    assert.deepEqual(ctx.memory.read(LOAD_ADDR, 32), expected);
    const range = await _run(commands.get("ext4load"), [
      "ext4load",
      "pvblock",
      "0:2",
      "40400000",
      "hello.txt",
      "5",
      "6",
    ]);
    assert.equal(range.out, "5 bytes read in 0 ms\n");
    assert.deepEqual(range.ctx.memory.read(LOAD_ADDR, 5), expected.subarray(6, 11));
  });
});

Deno.test("ext4load: empty files, offsets at the end, missing files and directories fail to load", async () => {
  await _withCommands(async (commands) => {
    const load = commands.get("ext4load");
    for (
      const [file, ...rest] of [["empty.txt"], ["nothere.txt"], ["dir1"], ["dangling"], [
        "blob-1M.bin",
        "100",
        "100000",
      ]]
    ) {
      const { rc, out } = await _run(load, ["ext4load", "pvblock", "0:2", "40400000", file!, ...rest]);
      assert.deepEqual([rc, out], [1, `Failed to load '${file}'\n`], file);
    }
    const fat = await _run(load, ["ext4load", "pvblock", "0:1", "40400000", "hello.txt"]);
    assert.deepEqual([fat.rc, fat.out], [1, "Can't set block device\n"]);
    const ctx = fakeContext();
    ctx.env.envSet("loadaddr", "0x40500000");
    const noFile = await _run(load, ["ext4load", "pvblock", "0:2"], ctx);
    assert.deepEqual([noFile.rc, noFile.out], [1, "** No boot file defined **\n"]);
    assert.equal((await _run(load, ["ext4load", "pvblock", "0:2", "4040zz", "hello.txt"])).rc, CMD_RET_USAGE);
  });
});

Deno.test("ext4size: sets filesize of regular files (through symlinks); a directory fails", async () => {
  await _withCommands(async (commands) => {
    const size = commands.get("ext4size");
    const file = await _run(size, ["ext4size", "pvblock", "0:2", "link-to-hello"]);
    assert.deepEqual([file.rc, file.out, file.ctx.env.get("filesize")], [0, "", "20"]);
    for (const path of ["dir1", "nothere"]) {
      const failed = await _run(size, ["ext4size", "pvblock", "0:2", path]);
      assert.deepEqual([failed.rc, failed.out, failed.ctx.env.get("filesize")], [1, "", undefined], path);
    }
    assert.equal((await _run(size, ["ext4size", "pvblock", "0:2"])).rc, CMD_RET_USAGE);
  });
});
