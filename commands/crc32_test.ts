import assert from "node:assert/strict";
import { DataAbort } from "../machine/platform.ts";
import { crc32 } from "../lib/crc32.ts";
import { fakeContext, FlatMemory } from "../tests/fake_context.ts";
import { crc32Command } from "./crc32.ts";
import { memCommands } from "./mem.ts";

const RAM = 0x40000000;

function session() {
  return fakeContext([crc32Command(), ...memCommands()], { memory: new FlatMemory(RAM, 16 << 20) });
}

Deno.test("crc32 stores the CRC at the given address most significant byte first", async () => {
  const ctx = session();
  const data = new TextEncoder().encode("123456789");
  ctx.memory.write(RAM, data);
  assert.equal(await crc32Command().run(ctx, ["crc32", "40000000", "9", "40000100"]), 0);
  assert.equal(ctx.console.take(), "crc32 for 40000000 ... 40000008 ==> cbf43926\n");
  assert.deepEqual([...ctx.memory.read(RAM + 0x100, 4)], [0xcb, 0xf4, 0x39, 0x26]);
});

Deno.test("crc32 over many MiB equals the CRC of the bytes and reads them in pieces", async () => {
  const ctx = session();
  const length = 12 << 20;
  const bytes = new Uint8Array(length).map((_, i) => (i * 31) >>> 3);
  ctx.memory.write(RAM, bytes);
  await crc32Command().run(ctx, ["crc32", "0x40000000", length.toString(16)]);
  const expected = crc32(bytes).toString(16).padStart(8, "0");
  assert.equal(ctx.console.take(), `crc32 for 40000000 ... 40bfffff ==> ${expected}\n`);
});

Deno.test("crc32 of a range leaving RAM aborts before printing anything", async () => {
  const ctx = session();
  const end = RAM + (16 << 20);
  await assert.rejects(
    async () => await crc32Command().run(ctx, ["crc32", (end - 0x10).toString(16), "0x20"]),
    (error: unknown) => error instanceof DataAbort && error.address === end && !error.write,
  );
  assert.equal(ctx.console.take(), "");
});

Deno.test("crc32 ignores the memory commands' base offset", async () => {
  const ctx = session();
  const base = memCommands().find((c) => c.name === "base")!;
  await base.run(ctx, ["base", "1000"]);
  ctx.console.take();
  await crc32Command().run(ctx, ["crc32", "40000000", "0"]);
  assert.equal(ctx.console.take(), "crc32 for 40000000 ... 3fffffff ==> 00000000\n");
});

Deno.test("crc32 needs an address and a count", async () => {
  const ctx = session();
  assert.equal(await crc32Command().run(ctx, ["crc32", "40000000"]), -1);
  assert.equal(crc32Command().maxArgs, 4);
});
