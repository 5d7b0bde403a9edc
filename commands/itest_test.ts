import assert from "node:assert/strict";
import { itestCommand } from "./itest.ts";
import { CMD_RET_USAGE } from "./command.ts";
import { fakeContext, FlatMemory } from "../tests/fake_context.ts";
import { DataAbort } from "../machine/platform.ts";
import memGolden from "../tests/reference/05-mem.json" with { type: "json" };

/**
 * The status the golden shows for `itest` in "itest ... && echo X" / "itest ... || echo X": with
 * `&&` X is printed when itest succeeded, with `||` when it failed.
 */
function goldenStatus(line: string): number {
  const result = memGolden.results.find((r) => r.cmd === line);
  assert.ok(result, `golden has "${line}"`);
  const match = /(&&|\|\|) echo (\S+)$/.exec(line);
  assert.ok(match);
  const printed = result.out === `${match[2]}\n`;
  assert.ok(printed || result.out === "", `golden output of ${line}`);
  return (match[1] === "&&") === printed ? 0 : 1;
}

async function itest(ctx: ReturnType<typeof fakeContext>, argv: string[]): Promise<number> {
  return await itestCommand().run(ctx, argv);
}

Deno.test("itest reproduces every itest line of the 05-mem golden", async () => {
  const m = new FlatMemory(0x49000000, 0x100);
  m.writeU32(0x49000000, 0xdeadbeef); // mw.l 0x49000000 0xdeadbeef 4
  const ctx = fakeContext([], { memory: m });
  const cases: [string, string[]][] = [
    ["itest 5 -gt 3 && echo itest-gt", ["itest", "5", "-gt", "3"]],
    ["itest 5 < 3 || echo itest-not-lt", ["itest", "5", "<", "3"]],
    ["itest.b 0x10 == 16 && echo itest-eq16", ["itest.b", "0x10", "==", "16"]],
    ["itest.l *0x49000000 == 0xdeadbeef && echo itest-mem", ["itest.l", "*0x49000000", "==", "0xdeadbeef"]],
    ["itest.s abc == abc && echo itest-str", ["itest.s", "abc", "==", "abc"]],
    ["itest.s abc < abd && echo itest-strlt", ["itest.s", "abc", "<", "abd"]],
  ];
  for (const [line, argv] of cases) {
    assert.equal(await itest(ctx, argv), goldenStatus(line), line);
  }
  assert.equal(ctx.console.output, "");
});

Deno.test("itest knows every operator spelling", async () => {
  const ctx = fakeContext();
  const rows: [string, string, string, number][] = [
    ["1", "-lt", "2", 0],
    ["2", "-lt", "2", 1],
    ["1", "<", "2", 0],
    ["2", "<", "1", 1],
    ["2", "-gt", "1", 0],
    ["2", "-gt", "2", 1],
    ["2", ">", "1", 0],
    ["1", ">", "2", 1],
    ["a", "-eq", "a", 0],
    ["a", "-eq", "b", 1],
    ["a", "==", "a", 0],
    ["a", "==", "b", 1],
    ["a", "-ne", "b", 0],
    ["a", "-ne", "a", 1],
    ["a", "!=", "b", 0],
    ["a", "!=", "a", 1],
    ["a", "<>", "b", 0],
    ["a", "<>", "a", 1],
    ["2", "-ge", "2", 0],
    ["1", "-ge", "2", 1],
    ["2", ">=", "2", 0],
    ["1", ">=", "2", 1],
    ["2", "-le", "2", 0],
    ["3", "-le", "2", 1],
    ["2", "<=", "2", 0],
    ["3", "<=", "2", 1],
  ];
  for (const [a, op, b, status] of rows) {
    assert.equal(await itest(ctx, ["itest", a, op, b]), status, `${a} ${op} ${b}`);
  }
});

Deno.test("itest reads operands as hex cut to the width", async () => {
  const ctx = fakeContext();
  assert.equal(await itest(ctx, ["itest", "10", "==", "0x10"]), 0);
  assert.equal(await itest(ctx, ["itest.b", "0x3002", "<", "0x4001"]), 1); // 02 < 01 is false
  assert.equal(await itest(ctx, ["itest.w", "0x13002", "==", "3002"]), 0);
  assert.equal(await itest(ctx, ["itest", "0x100000005", "==", "5"]), 0);
});

Deno.test("itest compares 8-byte values as signed longs", async () => {
  const ctx = fakeContext();
  assert.equal(await itest(ctx, ["itest.q", "ffffffffffffffff", "<", "0"]), 0);
  assert.equal(await itest(ctx, ["itest.l", "ffffffff", "<", "0"]), 1);
});

Deno.test("itest reads *addr at the width without cutting it again", async () => {
  const m = new FlatMemory(0x40000000, 0x100);
  m.writeU64(0x40000000, 0x8000000000001234n);
  const ctx = fakeContext([], { memory: m });
  assert.equal(await itest(ctx, ["itest.b", "*40000000", "==", "34"]), 0);
  assert.equal(await itest(ctx, ["itest.w", "*40000000", "==", "1234"]), 0);
  assert.equal(await itest(ctx, ["itest", "*40000000", "==", "1234"]), 0);
  assert.equal(await itest(ctx, ["itest.q", "*40000000", "<", "0"]), 0);
});

Deno.test("itest.s compares strings from memory, variables and literals", async () => {
  const m = new FlatMemory(0x40000000, 0x100);
  m.write(0x40000000, new TextEncoder().encode("hello\0"));
  const ctx = fakeContext([], { memory: m });
  ctx.env.set("greeting", "hello");
  assert.equal(await itest(ctx, ["itest.s", "*40000000", "==", "hello"]), 0);
  assert.equal(await itest(ctx, ["itest.s", "${greeting}", "==", "*40000000"]), 0);
  assert.equal(await itest(ctx, ["itest.s", "0xa1234", "<", "0xb"]), 0);
});

Deno.test("itest.s dereferences a missing variable or a bad ${...} as a NULL pointer", async () => {
  const ctx = fakeContext();
  ctx.env.set("greeting", "hello");
  for (const operand of ["${nothere}", "$greeting", "${greeting"]) {
    await assert.rejects(async () => await itest(ctx, ["itest.s", operand, "==", "x"]), DataAbort, operand);
  }
});

Deno.test("itest prints 'Unknown operator' and fails for another operator", async () => {
  const ctx = fakeContext();
  assert.equal(await itest(ctx, ["itest", "1", "=", "1"]), 1);
  assert.equal(ctx.console.output, "Unknown operator '='\n");
});

Deno.test("itest rejects an unknown width suffix", async () => {
  const ctx = fakeContext();
  assert.equal(await itest(ctx, ["itest.x", "1", "==", "1"]), 1);
  assert.equal(ctx.console.output, "Invalid data width specifier\n");
});

Deno.test("itest takes exactly three operands and is not repeatable", async () => {
  const ctx = fakeContext();
  assert.equal(await itest(ctx, ["itest", "1", "=="]), CMD_RET_USAGE);
  assert.equal(itestCommand().maxArgs, 4);
  assert.equal(itestCommand().repeatable, false);
});
