import assert from "node:assert/strict";
import { pvblockCommand } from "./pvblock.ts";
import { CMD_RET_USAGE, type Command, printUsage } from "./command.ts";
import { fakeContext } from "../tests/fake_context.ts";
import { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";
import { PartitionLayer } from "../disk/part.ts";
import { DOS_PARTITION_DRIVER } from "../disk/part_dos.ts";
import { mbrBlock } from "../disk/_test_disks.ts";
import { patternImage, startFakeXen } from "../drivers/xen/_fake_blkback.ts";
import { initPvblock } from "../drivers/pvblock.ts";

const BOARD_SESSION = new URL("../tests/reference/xenguest-board-session.txt", import.meta.url);
const PROMPT = "xenguest# ";
const SECTOR = 512;
/** Where the board session reads to. */
const LOAD_ADDR = 0x9000_0000;

/** The two disks of the board session: xvda (MBR, two partitions) and xvdb (GPT, seen as its protective MBR). */
function boardImages(): Uint8Array[] {
  const xvda = patternImage(32768);
  xvda.set(
    mbrBlock(
      [{ boot: 0x80, sys: 0x0e, start: 2048, size: 16384 }, { sys: 0x83, start: 18432, size: 14336 }],
      0x1234abcd,
    ),
    0,
  );
  const xvdb = patternImage(32768);
  xvdb.set(mbrBlock([{ sys: 0xee, start: 1, size: 32767 }]), 0);
  return [xvda, xvdb];
}

/** The session's `pvblock` commands and what the board printed for each. */
async function sessionPvblockCommands(): Promise<Array<{ line: string; output: string }>> {
  const text = await Deno.readTextFile(BOARD_SESSION);
  const lines = text.split("\n");
  const found: Array<{ line: string; output: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith(`${PROMPT}pvblock`)) continue;
    let j = i + 1;
    const output: string[] = [];
    while (j < lines.length && !lines[j]!.startsWith(PROMPT)) output.push(lines[j++]!);
    found.push({ line: line.slice(PROMPT.length), output: output.map((l) => `${l}\n`).join("") });
  }
  return found;
}

async function run(command: Command, ctx: ReturnType<typeof fakeContext>, line: string): Promise<number> {
  const rc = await command.run(ctx, line.split(" "));
  return rc === CMD_RET_USAGE ? printUsage(ctx.console, command) : rc;
}

Deno.test("the board session's pvblock commands print what the real board printed", async () => {
  const [xvda, xvdb] = boardImages();
  const env = await startFakeXen([
    { devid: 51712, image: xvda! },
    { devid: 51728, image: xvdb! },
  ]);
  env.xen.memory.add(LOAD_ADDR, 0x10_0000);
  const blk = new BlockRegistry();
  // The xenguest build has no EFI_PARTITION: xvdb's GPT shows as its protective MBR.
  const parts = new PartitionLayer([DOS_PARTITION_DRIVER]);
  const boot = {
    text: "",
    puts(t: string) {
      this.text += t;
    },
  };
  await initPvblock(env.drivers, blk, boot, { parts, stateTimeoutMs: 50, ioTimeoutMs: 50 });
  assert.equal(boot.text, "PVBLOCK: pvblock: 0, pvblock: 1\n");
  const command = pvblockCommand(blk, parts);
  const ctx = fakeContext([command], { memory: env.xen.memory });
  const session = await sessionPvblockCommands();
  assert.ok(session.length >= 10, "the session has the pvblock commands");
  for (const { line, output } of session) {
    ctx.console.take();
    await run(command, ctx, line);
    assert.equal(ctx.console.take(), output, line);
  }
  // The reads reached guest memory: the last one read 16 blocks from block 0x800.
  assert.deepEqual(
    env.xen.memory.read(LOAD_ADDR, 16 * SECTOR),
    xvda!.subarray(0x800 * SECTOR, 0x810 * SECTOR),
  );
});

function memoryDisks(): { blk: BlockRegistry; disks: MemoryBlockDevice[] } {
  const blk = new BlockRegistry();
  const disks = [0, 1].map((devnum) => new MemoryBlockDevice({ ifType: "pvblock", devnum, lba: 2880 }));
  disks[1]!.bytes.set(mbrBlock([{ sys: 0x83, start: 1, size: 100 }], 0xcafe), 0);
  for (const d of disks) blk.register(d);
  return { blk, disks };
}

Deno.test("subcommands take U-Boot's prefixes, and wrong forms are usage errors", async () => {
  const { blk } = memoryDisks();
  const command = pvblockCommand(blk);
  const ctx = fakeContext([command]);
  assert.equal(await command.run(ctx, ["pvblock", "inf"]), 0);
  assert.match(ctx.console.take(), /^Device 0: .*\n.*\n.*\nDevice 1: /);
  assert.equal(await command.run(ctx, ["pvblock", "devices"]), 0);
  assert.match(ctx.console.take(), /^\nIDE device 0: /);
  for (
    const argv of [["pvblock"], ["pvblock", "in"], ["pvblock", "de"], ["pvblock", "par"], [
      "pvblock",
      "read",
      "0",
      "0",
    ], [
      "pvblock",
      "reads",
      "0",
      "0",
      "1",
    ], ["pvblock", "info", "0"]]
  ) {
    assert.equal(await command.run(ctx, argv), CMD_RET_USAGE, argv.join(" "));
  }
  assert.equal(ctx.console.take(), "");
});

Deno.test("part lists only disks with a table, each after the first preceded by a blank line", async () => {
  const { blk } = memoryDisks();
  const command = pvblockCommand(blk);
  const ctx = fakeContext([command]);
  assert.equal(await command.run(ctx, ["pvblock", "part"]), 0);
  assert.match(ctx.console.take(), /^\n\nPartition Map for PV BLOCK device 1 {2}-- {3}Partition Type: DOS\n/);
  assert.equal(await command.run(ctx, ["pvblock", "part", "0"]), 0);
  assert.equal(ctx.console.take(), "## Unknown partition table type 0\n");
  assert.equal(await command.run(ctx, ["pvblock", "part", "7"]), 1);
  assert.equal(ctx.console.take(), "\npvblock device 7 not available\n");
  const empty = pvblockCommand(new BlockRegistry());
  assert.equal(await empty.run(ctx, ["pvblock", "part"]), 0);
  assert.equal(ctx.console.take(), "\nno pvblock partition table available\n");
  assert.equal(await empty.run(ctx, ["pvblock", "dev"]), 1);
  assert.equal(ctx.console.take(), "\nno pvblock devices available\n");
});

Deno.test("read and write move blocks between guest memory and the disk, counts in hex, blocks printed in decimal", async () => {
  const { blk, disks } = memoryDisks();
  disks[0]!.bytes.fill(0xab, 16 * SECTOR, 18 * SECTOR);
  const command = pvblockCommand(blk);
  const ctx = fakeContext([command]);
  assert.equal(await command.run(ctx, ["pvblock", "read", "0x40001000", "0x10", "2"]), 0);
  assert.equal(ctx.console.take(), "\npvblock read: device 0 block # 16, count 2 ... 2 blocks read: OK\n");
  assert.equal(ctx.memory.readU8(0x40001000 + 2 * SECTOR - 1), 0xab);
  assert.equal(await command.run(ctx, ["pvblock", "dev", "1"]), 0);
  ctx.console.take();
  assert.equal(await command.run(ctx, ["pvblock", "write", "40001000", "a", "1"]), 0);
  assert.equal(
    ctx.console.take(),
    "\npvblock write: device 1 block # 10, count 1 ... 1 blocks written: OK\n",
  );
  assert.equal(disks[1]!.bytes[10 * SECTOR], 0xab);
  assert.equal(await command.run(ctx, ["pvblock", "read", "40001000", "b40", "1"]), 1);
  assert.equal(
    ctx.console.take(),
    "\npvblock read: device 1 block # 2880, count 1 ... -5 blocks read: ERROR\n",
  );
  assert.equal(await command.run(ctx, ["pvblock", "read", "40001000", "0", "0"]), 0);
  assert.equal(ctx.console.take(), "\npvblock read: device 1 block # 0, count 0 ... 0 blocks read: OK\n");
});

Deno.test("a read with no current disk reports the lookup's errno as the count", async () => {
  const command = pvblockCommand(new BlockRegistry());
  const ctx = fakeContext([command]);
  assert.equal(await command.run(ctx, ["pvblock", "read", "40000000", "0", "1"]), 1);
  assert.equal(
    ctx.console.take(),
    "\npvblock read: device 0 block # 0, count 1 ... -19 blocks read: ERROR\n",
  );
  const blk = new BlockRegistry();
  blk.register(new MemoryBlockDevice({ ifType: "pvblock", devnum: 1, lba: 8 }));
  assert.equal(await pvblockCommand(blk).run(ctx, ["pvblock", "read", "40000000", "0", "1"]), 1);
  assert.equal(ctx.console.take(), "\npvblock read: device 0 block # 0, count 1 ... -2 blocks read: ERROR\n");
});

Deno.test("the current disk is per command instance and changes only on a successful select", async () => {
  const { blk } = memoryDisks();
  const command = pvblockCommand(blk);
  const ctx = fakeContext([command]);
  assert.equal(await command.run(ctx, ["pvblock", "device", "5"]), 1);
  assert.equal(ctx.console.take(), "\nDevice 5: unknown device\n");
  assert.equal(await command.run(ctx, ["pvblock", "dev", "1"]), 0);
  ctx.console.take();
  assert.equal(await command.run(ctx, ["pvblock", "dev"]), 0);
  assert.match(ctx.console.take(), /^\nIDE device 1: /);
  assert.equal(await pvblockCommand(blk).run(ctx, ["pvblock", "dev"]), 0);
  assert.match(ctx.console.take(), /^\nIDE device 0: /);
});
