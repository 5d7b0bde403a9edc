import assert from "node:assert/strict";
import { DataAbort } from "../machine/platform.ts";
import { fakeContext, FlatMemory } from "../tests/fake_context.ts";
import { CMD_FLAG_REPEAT, CMD_RET_USAGE, type CommandContext } from "./command.ts";
import { crc32Command } from "./crc32.ts";
import { mappedPrefix, memCommands } from "./mem.ts";

/** The golden's scratch RAM: 0x49000000, 64 KiB. */
const SCRATCH = 0x49000000;
const SCRATCH_SIZE = 0x10000;

function session(memory = new FlatMemory(SCRATCH, SCRATCH_SIZE)) {
  return fakeContext([...memCommands(), crc32Command()], { memory });
}

/** Runs one command line the way the shell would (argc limit included); returns its status. */
async function run(ctx: CommandContext, line: string, flag = 0): Promise<number> {
  const argv = line.split(/ +/).filter((word) => word !== "");
  const command = ctx.commands.find(argv[0]!);
  assert.ok(command, `no command for ${line}`);
  if (argv.length > command.maxArgs) return CMD_RET_USAGE;
  return await command.run({ ...ctx, flag }, argv);
}

/**
 * Every md/mw/cp/cmp/crc32/base command of reference/uboot/goldens/05-mem, in order, with the exact
 * output and `$?` of the real U-Boot. `load` is replaced by writing the file's 40 bytes.
 */
const GOLDEN_05_MEM: [string, string, number][] = [
  ["mw.b 0x49000000 0xaa 0x40", "", 0],
  [
    "md.b 0x49000000 0x40",
    "49000000: aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa  ................\n" +
    "49000010: aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa  ................\n" +
    "49000020: aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa  ................\n" +
    "49000030: aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa  ................\n",
    0,
  ],
  ["mw.w 0x49000000 0x1234 0x10", "", 0],
  [
    "md.w 0x49000000 0x10",
    "49000000: 1234 1234 1234 1234 1234 1234 1234 1234  4.4.4.4.4.4.4.4.\n" +
    "49000010: 1234 1234 1234 1234 1234 1234 1234 1234  4.4.4.4.4.4.4.4.\n",
    0,
  ],
  ["mw.l 0x49000000 0xdeadbeef 4", "", 0],
  [
    "md.l 0x49000000 8",
    "49000000: deadbeef deadbeef deadbeef deadbeef  ................\n" +
    "49000010: 12341234 12341234 12341234 12341234  4.4.4.4.4.4.4.4.\n",
    0,
  ],
  ["mw.q 0x49000010 0x0123456789abcdef 2", "", 0],
  [
    "md.q 0x49000000 4",
    "49000000: deadbeefdeadbeef deadbeefdeadbeef  ................\n" +
    "49000010: 0123456789abcdef 0123456789abcdef  ....gE#.....gE#.\n",
    0,
  ],
  ["md 0x49000000 4", "49000000: deadbeef deadbeef deadbeef deadbeef  ................\n", 0],
  ["md.l 0x49000000", "49000000: deadbeef deadbeef deadbeef deadbeef  ................\n", 0],
  [
    "md.b 0x49000003 0x15",
    "49000003: de ef be ad de ef be ad de ef be ad de ef cd ab  ................\n" +
    "49000013: 89 67 45 23 01                                   .gE#.\n",
    0,
  ],
  ["md.w 0x49000002 3", "49000002: dead beef dead                           ......\n", 0],
  [
    "md.l 0x49000004 5",
    "49000004: deadbeef deadbeef deadbeef 89abcdef  ................\n" +
    "49000014: 01234567                             gE#.\n",
    0,
  ],
  ["md.q 0x49000008 1", "49000008: deadbeefdeadbeef                   ........\n", 0],
  ["md.b 0x49000000 0", "", 0],
  ["mw 0x49000100 0x41424344", "", 0],
  ["md.b 0x49000100 4", "49000100: 44 43 42 41                                      DCBA\n", 0],
  ["mw.b 0x49000104 0x7e 0x0c", "", 0],
  [
    "md.b 0x49000100 0x20",
    "49000100: 44 43 42 41 7e 7e 7e 7e 7e 7e 7e 7e 7e 7e 7e 7e  DCBA~~~~~~~~~~~~\n" +
    "49000110: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................\n",
    0,
  ],
  ["cp.b 0x49000000 0x49001000 0x20", "", 0],
  ["cmp.b 0x49000000 0x49001000 0x20", "Total of 32 byte(s) were the same\n", 0],
  ["cmp.l 0x49000000 0x49001000 8", "Total of 8 word(s) were the same\n", 0],
  ["cmp.q 0x49000000 0x49001000 4", "Total of 4 double word(s) were the same\n", 0],
  ["cmp 0x49000000 0x49001000 8", "Total of 8 word(s) were the same\n", 0],
  ["mw.b 0x49001005 0x00", "", 0],
  [
    "cmp.b 0x49000000 0x49001000 0x20",
    "byte at 0x49000005 (0xbe) != byte at 0x49001005 (0x0)\nTotal of 5 byte(s) were the same\n",
    1,
  ],
  [
    "cmp.w 0x49000000 0x49001000 0x10",
    "halfword at 0x49000004 (0xbeef) != halfword at 0x49001004 (0xef)\nTotal of 2 halfword(s) were the same\n",
    1,
  ],
  [
    "cmp.l 0x49000000 0x49001000 8",
    "word at 0x49000004 (0xdeadbeef) != word at 0x49001004 (0xdead00ef)\nTotal of 1 word(s) were the same\n",
    1,
  ],
  [
    "cmp.q 0x49000000 0x49001000 4",
    "double word at 0x49000000 (0xdeadbeefdeadbeef) != double word at 0x49001000 (0xdead00efdeadbeef)\n" +
    "Total of 0 double word(s) were the same\n",
    1,
  ],
  ["cp.l 0x49000000 0x49002000 8", "", 0],
  [
    "md.l 0x49002000 8",
    "49002000: deadbeef deadbeef deadbeef deadbeef  ................\n" +
    "49002010: 89abcdef 01234567 89abcdef 01234567  ....gE#.....gE#.\n",
    0,
  ],
  ["cp.q 0x49000000 0x49003000 2", "", 0],
  ["md.q 0x49003000 2", "49003000: deadbeefdeadbeef deadbeefdeadbeef  ................\n", 0],
  ["cp 0x49000000 0x49004000 2", "", 0],
  ["md 0x49004000 4", "49004000: deadbeef deadbeef 00000000 00000000  ................\n", 0],
  ["crc32 0x49000000 0x20", "crc32 for 49000000 ... 4900001f ==> 160db659\n", 0],
  ["crc32 0x49000000 0", "crc32 for 49000000 ... 48ffffff ==> 00000000\n", 0],
  ["crc32 0x49000000 0x20 0x49005000", "crc32 for 49000000 ... 4900001f ==> 160db659\n", 0],
  ["md.l 0x49005000 1", "49005000: 59b60d16                             ...Y\n", 0],
  ["mw.b 0x49006000 0 0x40", "", 0],
  ["LOAD 0x49006000 Hello from the pvboot reference corpus!\n", "", 0],
  [
    "md.b 0x49006000 0x30",
    "49006000: 48 65 6c 6c 6f 20 66 72 6f 6d 20 74 68 65 20 70  Hello from the p\n" +
    "49006010: 76 62 6f 6f 74 20 72 65 66 65 72 65 6e 63 65 20  vboot reference \n" +
    "49006020: 63 6f 72 70 75 73 21 0a 00 00 00 00 00 00 00 00  corpus!.........\n",
    0,
  ],
  ["crc32 0x49006000 28", "crc32 for 49006000 ... 49006027 ==> 11793521\n", 0],
  [
    "md.b 0x49006000 0x28 ",
    "49006000: 48 65 6c 6c 6f 20 66 72 6f 6d 20 74 68 65 20 70  Hello from the p\n" +
    "49006010: 76 62 6f 6f 74 20 72 65 66 65 72 65 6e 63 65 20  vboot reference \n" +
    "49006020: 63 6f 72 70 75 73 21 0a                          corpus!.\n",
    0,
  ],
  ["base", "Base Address: 0x00000000\n", 0],
  ["mw.l 0x49000000 0x11223344 1", "", 0],
  ["md.l 0x49000000 1", '49000000: 11223344                             D3".\n', 0],
  ["md.w 0x49000000 2", '49000000: 3344 1122                                D3".\n', 0],
  ["md.b 0x49000000 4", '49000000: 44 33 22 11                                      D3".\n', 0],
];

Deno.test("every memory command of the 05-mem golden prints U-Boot's bytes and status", async () => {
  const ctx = session();
  for (const [line, expected, rc] of GOLDEN_05_MEM) {
    if (line.startsWith("LOAD ")) {
      const [, address, ...words] = line.split(" ");
      ctx.memory.write(Number(address), new TextEncoder().encode(words.join(" ")));
      continue;
    }
    assert.equal(await run(ctx, line), rc, line);
    assert.equal(ctx.console.take(), expected, line);
  }
});

Deno.test("crc32 with a name for the result writes at the name's hex value, not the environment", async () => {
  const ctx = session();
  ctx.memory.fill(SCRATCH, 0x20, 0x11);
  // "crcvar" parses as hex 0xc: the real qemu board wrote to its flash there; here nothing is mapped.
  await assert.rejects(async () => await run(ctx, "crc32 0x49000000 0x20 crcvar"), (error: unknown) => {
    assert.ok(error instanceof DataAbort);
    assert.equal(error.address, 0xc);
    assert.equal(error.write, true);
    return true;
  });
  assert.match(ctx.console.take(), /^crc32 for 49000000 \.\.\. 4900001f ==> [0-9a-f]{8}\n$/);
  assert.equal(ctx.env.get("crcvar"), undefined);
});

Deno.test("md without a count reuses the last count, and an empty line continues after the dump", async () => {
  const ctx = session();
  ctx.memory.write(SCRATCH, new Uint8Array(0x40).map((_, i) => i));
  await run(ctx, "md.b 0x49000000 8");
  assert.equal(ctx.console.take(), "49000000: 00 01 02 03 04 05 06 07" + " ".repeat(24) + "  ........\n");
  await run(ctx, "md.b 0x49000000 8", CMD_FLAG_REPEAT);
  assert.equal(ctx.console.take(), "49000008: 08 09 0a 0b 0c 0d 0e 0f" + " ".repeat(24) + "  ........\n");
  await run(ctx, "md.w 0x49000020");
  // The count (8) is reused in objects of the new size.
  assert.equal(ctx.console.take(), "49000020: 2120 2322 2524 2726 2928 2b2a 2d2c 2f2e   !\"#$%&'()*+,-./\n");
});

Deno.test("md starts at 64 words and keeps a zero count for the next md", async () => {
  const ctx = session();
  await run(ctx, "md 0x49000000");
  assert.equal(ctx.console.take().split("\n").length, 17);
  await run(ctx, "md 0x49000000 0");
  await run(ctx, "md 0x49000100");
  assert.equal(ctx.console.take(), "");
});

Deno.test("Ctrl-C stops md after the current line", async () => {
  const ctx = session();
  ctx.console.ctrlcPending = true;
  assert.equal(await run(ctx, "md.b 0x49000000 0x40"), 0);
  assert.equal(ctx.console.take().split("\n").length, 2);
});

Deno.test("base is added to every address of md, mw, cp and cmp", async () => {
  const ctx = session();
  assert.equal(await run(ctx, "base 49000000"), 0);
  assert.equal(ctx.console.take(), "Base Address: 0x49000000\n");
  await run(ctx, "mw.l 100 0xcafef00d 2");
  await run(ctx, "cp.l 100 200 2");
  assert.equal(ctx.memory.readU32(SCRATCH + 0x204), 0xcafef00d);
  assert.equal(await run(ctx, "cmp.l 100 200 2"), 0);
  assert.equal(ctx.console.take(), "Total of 2 word(s) were the same\n");
  await run(ctx, "md.l 104 1");
  assert.equal(ctx.console.take(), "49000104: cafef00d                             ....\n");
  await run(ctx, "base");
  assert.equal(ctx.console.take(), "Base Address: 0x49000000\n");
});

Deno.test("each memCommands() set keeps its own state", async () => {
  const memory = new FlatMemory(SCRATCH, SCRATCH_SIZE);
  const first = session(memory);
  const second = session(memory);
  await run(first, "base 1000");
  first.console.take();
  await run(second, "base");
  assert.equal(second.console.take(), "Base Address: 0x00000000\n");
});

Deno.test("a .s or unknown size suffix fails silently", async () => {
  const ctx = session();
  for (
    const line of ["md.s 0x49000000 1", "md.x 0x49000000", "mw.s 0x49000000 1", "cp.s 1 2 3", "cmp.z 1 2 3"]
  ) {
    assert.equal(await run(ctx, line), 1, line);
  }
  assert.equal(ctx.console.take(), "");
});

Deno.test("wrong argument counts are usage errors", async () => {
  const ctx = session();
  for (const line of ["md", "mw 0x49000000", "mw 1 2 3 4", "cp 1 2", "cmp 1 2", "base 1 2", "crc32 1"]) {
    assert.equal(await run(ctx, line), CMD_RET_USAGE, line);
  }
});

Deno.test("cp of zero objects says so and fails", async () => {
  const ctx = session();
  assert.equal(await run(ctx, "cp 0x49000000 0x49000100 0"), 1);
  assert.equal(ctx.console.take(), "Zero length ???\n");
});

Deno.test("cp of overlapping ranges behaves like memmove", async () => {
  const ctx = session();
  ctx.memory.write(SCRATCH, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  await run(ctx, "cp.b 0x49000000 0x49000002 6");
  assert.deepEqual([...ctx.memory.read(SCRATCH, 8)], [1, 2, 1, 2, 3, 4, 5, 6]);
});

Deno.test("mw truncates the value to the object size and fills many objects", async () => {
  const ctx = session();
  await run(ctx, "mw.w 0x49000000 0x12345678 0x4000");
  assert.equal(ctx.memory.readU16(SCRATCH), 0x5678);
  assert.equal(ctx.memory.readU16(SCRATCH + 0x7ffe), 0x5678);
  assert.equal(ctx.memory.readU16(SCRATCH + 0x8000), 0);
  await run(ctx, "mw.q 0x49008000 fedcba9876543210");
  assert.equal(ctx.memory.readU64(SCRATCH + 0x8000), 0xfedcba9876543210n);
});

Deno.test("md past the end of RAM prints the mapped lines, then aborts at the first missing byte", async () => {
  const ctx = session();
  const end = SCRATCH + SCRATCH_SIZE;
  await assert.rejects(
    async () => await run(ctx, `md.b ${(end - 0x18).toString(16)} 0x20`),
    (error: unknown) => error instanceof DataAbort && error.address === end && !error.write,
  );
  assert.equal(ctx.console.take().split("\n").length, 2);
});

Deno.test("mw past the end of RAM writes the whole objects that fit, then aborts", async () => {
  const ctx = session();
  const end = SCRATCH + SCRATCH_SIZE;
  await assert.rejects(
    async () => await run(ctx, `mw.l ${(end - 6).toString(16)} 0xffffffff 2`),
    (error: unknown) => error instanceof DataAbort && error.address === end - 2 && error.write,
  );
  assert.equal(ctx.memory.readU32(end - 6), 0xffffffff);
  assert.equal(ctx.memory.readU16(end - 2), 0);
});

Deno.test("cp into missing memory copies what fits and aborts on the write", async () => {
  const ctx = session();
  const end = SCRATCH + SCRATCH_SIZE;
  ctx.memory.fill(SCRATCH, 8, 0x5a);
  await assert.rejects(
    async () => await run(ctx, `cp.b 0x49000000 ${(end - 4).toString(16)} 8`),
    (error: unknown) => error instanceof DataAbort && error.address === end && error.write,
  );
  assert.equal(ctx.memory.readU32(end - 4), 0x5a5a5a5a);
});

Deno.test("cmp reports a difference found before the compared range leaves RAM", async () => {
  const ctx = session();
  const end = SCRATCH + SCRATCH_SIZE;
  ctx.memory.writeU8(end - 3, 1);
  assert.equal(await run(ctx, `cmp.b ${(end - 4).toString(16)} 0x49000000 8`), 1);
  assert.equal(
    ctx.console.take(),
    "byte at 0x4900fffd (0x1) != byte at 0x49000001 (0x0)\nTotal of 1 byte(s) were the same\n",
  );
  await assert.rejects(
    async () => await run(ctx, `cmp.b ${(end - 2).toString(16)} 0x49000000 8`),
    (error: unknown) => error instanceof DataAbort && error.address === end,
  );
});

Deno.test("cmp prints zero with the 0x prefix padded to the object size", async () => {
  const ctx = session();
  ctx.memory.writeU32(SCRATCH + 4, 0x1234);
  assert.equal(await run(ctx, "cmp.l 0x49000000 0x49000004 1"), 1);
  assert.equal(
    ctx.console.take(),
    "word at 0x49000000 (0x00) != word at 0x49000004 (0x1234)\nTotal of 0 word(s) were the same\n",
  );
});

Deno.test("mappedPrefix finds the first unmapped byte", () => {
  const memory = new FlatMemory(0x1000, 0x100);
  assert.equal(mappedPrefix(memory, 0x1000n, 0x100n), 0x100n);
  assert.equal(mappedPrefix(memory, 0x10f0n, 0x40n), 0x10n);
  assert.equal(mappedPrefix(memory, 0x2000n, 4n), 0n);
  assert.equal(mappedPrefix(memory, 0xffffffffffffff00n, 4n), 0n);
});
