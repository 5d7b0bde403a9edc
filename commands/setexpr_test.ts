import assert from "node:assert/strict";
import { setexprCommand } from "./setexpr.ts";
import { CMD_RET_USAGE } from "./command.ts";
import { fakeContext, FlatMemory } from "../tests/fake_context.ts";
import { DataAbort } from "../machine/platform.ts";
import memGolden from "../tests/reference/05-mem.json" with { type: "json" };

const GOLDEN_RAM = 0x49000000;
const GOLDEN_RAM_SIZE = 0x2000;

/** RAM at 0x49000000 filled as the 05-mem session's mw commands left it. */
function goldenMemory(): FlatMemory {
  const m = new FlatMemory(GOLDEN_RAM, GOLDEN_RAM_SIZE);
  m.fill(0x49000000, 0x40, 0xaa); // mw.b 0x49000000 0xaa 0x40
  for (let i = 0; i < 0x10; i++) m.writeU16(0x49000000 + 2 * i, 0x1234); // mw.w 0x49000000 0x1234 0x10
  for (let i = 0; i < 4; i++) m.writeU32(0x49000000 + 4 * i, 0xdeadbeef); // mw.l 0x49000000 0xdeadbeef 4
  for (let i = 0; i < 2; i++) m.writeU64(0x49000010 + 8 * i, 0x0123456789abcdefn); // mw.q ... 2
  m.writeU32(0x49000100, 0x41424344); // mw 0x49000100 0x41424344
  m.fill(0x49000104, 0x0c, 0x7e); // mw.b 0x49000104 0x7e 0x0c
  return m;
}

/** The golden's result for `cmd` and the output of the `echo ${var}` that follows it. */
function golden(cmd: string): { rc: number; out: string; echoed: string } {
  const results = memGolden.results;
  const i = results.findIndex((r) => r.cmd === cmd);
  assert.ok(i >= 0, `golden has "${cmd}"`);
  const here = results[i]!;
  const next = results[i + 1]!;
  assert.match(next.cmd, /^echo \$\{\w+\}$/);
  return { rc: here.rc, out: here.out, echoed: next.out };
}

/** What the shell makes of a command's return (a usage error becomes 1). */
function shellRc(rc: number): number {
  return rc === CMD_RET_USAGE ? 1 : rc;
}

Deno.test("setexpr reproduces every setexpr line of the 05-mem golden, in session order", async () => {
  // Each case: the golden's command line, the argv hush hands setexpr, the variable it sets.
  const cases: [string, string[], string][] = [
    ["setexpr v 0x10 + 0x20", ["v", "0x10", "+", "0x20"], "v"],
    ["setexpr v 7 - 9", ["v", "7", "-", "9"], "v"],
    ["setexpr v 6 * 7", ["v", "6", "*", "7"], "v"],
    ["setexpr v 100 / 7", ["v", "100", "/", "7"], "v"],
    ["setexpr v 100 % 7", ["v", "100", "%", "7"], "v"],
    ['setexpr v 0xf0 "&" 0x3c', ["v", "0xf0", "&", "0x3c"], "v"],
    ['setexpr v 0xf0 "|" 0x0f', ["v", "0xf0", "|", "0x0f"], "v"],
    ["setexpr v 0xff ^ 0x0f", ["v", "0xff", "^", "0x0f"], "v"],
    ["setexpr v 10", ["v", "10"], "v"],
    ["setexpr v 0x40400000 + 0x302000", ["v", "0x40400000", "+", "0x302000"], "v"],
    ["setexpr v ffffffff + 1", ["v", "ffffffff", "+", "1"], "v"],
    ["setexpr v 1 / 0", ["v", "1", "/", "0"], "v"],
    ["setexpr.b v *0x49000000", ["v", "*0x49000000"], "v"],
    ["setexpr.w v *0x49000000", ["v", "*0x49000000"], "v"],
    ["setexpr.l v *0x49000000", ["v", "*0x49000000"], "v"],
    ["setexpr.q v *0x49000010", ["v", "*0x49000010"], "v"],
    ["setexpr.l v *0x49000000 + 1", ["v", "*0x49000000", "+", "1"], "v"],
    ["setexpr s gsub a b banana", ["s", "gsub", "a", "b", "banana"], "s"],
    ["setexpr s sub an AN banana", ["s", "sub", "an", "AN", "banana"], "s"],
    ['setexpr s gsub "[0-9]+" "N" "abc123def45"', ["s", "gsub", "[0-9]+", "N", "abc123def45"], "s"],
    ['setexpr s sub "^(.)(.)" "\\2\\1" "hello"', ["s", "sub", "^(.)(.)", "\\2\\1", "hello"], "s"],
    ["setexpr s gsub x y", ["s", "gsub", "x", "y"], "s"],
    ["setexpr.s s *0x49000100", ["s", "*0x49000100"], "s"],
    ["setexpr.s s *0x49000100 + *0x49000100", ["s", "*0x49000100", "+", "*0x49000100"], "s"],
  ];
  const ctx = fakeContext([], { memory: goldenMemory() });
  const command = setexprCommand();
  for (const [line, args, variable] of cases) {
    const expected = golden(line);
    const name = line.split(" ")[0]!;
    const rc = await command.run(ctx, [name, ...args]);
    assert.equal(shellRc(rc), expected.rc, `rc of ${line}`);
    assert.equal(ctx.console.take(), expected.out, `output of ${line}`);
    assert.equal(`${ctx.env.get(variable) ?? ""}\n`, expected.echoed, `${variable} after ${line}`);
  }
});

Deno.test("setexpr prints 'invalid op' for an unknown one-character operator (05-mem golden)", async () => {
  const ctx = fakeContext();
  const rc = await setexprCommand().run(ctx, ["setexpr", "v", "5", "?", "3"]);
  const expected = memGolden.results.find((r) => r.cmd === "setexpr v 5 ? 3")!;
  assert.equal(rc, expected.rc);
  assert.equal(ctx.console.output, expected.out);
  assert.equal(ctx.env.get("v"), undefined);
});

Deno.test("setexpr divides by zero as AArch64 does: quotient 0, remainder the dividend", async () => {
  const ctx = fakeContext();
  await setexprCommand().run(ctx, ["setexpr", "q", "1234", "/", "0"]);
  await setexprCommand().run(ctx, ["setexpr", "r", "1234", "%", "0"]);
  assert.equal(ctx.env.get("q"), "0");
  assert.equal(ctx.env.get("r"), "1234");
});

Deno.test("setexpr arithmetic wraps at 64 bits", async () => {
  const ctx = fakeContext();
  await setexprCommand().run(ctx, ["setexpr", "v", "ffffffffffffffff", "+", "2"]);
  assert.equal(ctx.env.get("v"), "1");
  await setexprCommand().run(ctx, ["setexpr", "v", "100000000", "*", "100000000"]);
  assert.equal(ctx.env.get("v"), "0");
});

Deno.test("setexpr takes 3, 5 or 6 arguments and a one-character operator", async () => {
  const command = setexprCommand();
  const ctx = fakeContext();
  assert.equal(await command.run(ctx, ["setexpr", "v"]), CMD_RET_USAGE);
  assert.equal(await command.run(ctx, ["setexpr", "v", "1", "+"]), CMD_RET_USAGE);
  assert.equal(await command.run(ctx, ["setexpr", "v", "1", "++", "2"]), CMD_RET_USAGE);
  assert.equal(await command.run(ctx, ["setexpr", "v", "1", "+", "2", "3"]), CMD_RET_USAGE);
  assert.equal(command.maxArgs, 6);
  assert.equal(command.repeatable, false);
  assert.equal(ctx.console.output, "");
});

Deno.test("setexpr reads 8 bytes for .q and for an unknown width suffix", async () => {
  const m = new FlatMemory(0x40000000, 0x100);
  m.writeU64(0x40000000, 0x1122334455667788n);
  const ctx = fakeContext([], { memory: m });
  await setexprCommand().run(ctx, ["setexpr.x", "v", "*40000000"]);
  assert.equal(ctx.env.get("v"), "1122334455667788");
  await setexprCommand().run(ctx, ["setexpr", "v", "*40000000"]);
  assert.equal(ctx.env.get("v"), "55667788");
});

Deno.test("setexpr does not cut literal values to the width", async () => {
  const ctx = fakeContext();
  await setexprCommand().run(ctx, ["setexpr.b", "v", "1234"]);
  assert.equal(ctx.env.get("v"), "1234");
});

Deno.test("setexpr.s needs *addr operands and only concatenates", async () => {
  const ctx = fakeContext([], { memory: goldenMemory() });
  const command = setexprCommand();
  assert.equal(await command.run(ctx, ["setexpr.s", "s", "abc"]), 1);
  assert.equal(await command.run(ctx, ["setexpr.s", "s", "*49000100", "-", "*49000100"]), 1);
  assert.equal(ctx.console.take(), "invalid op\n");
  assert.equal(ctx.env.get("s"), undefined);
});

Deno.test("setexpr.s reads at most 64 KiB of a string without NUL", async () => {
  const m = new FlatMemory(0x40000000, 0x20000);
  m.fill(0x40000000, 0x20000, 0x41);
  const ctx = fakeContext([], { memory: m });
  await setexprCommand().run(ctx, ["setexpr.s", "s", "*40000000"]);
  assert.equal(ctx.env.get("s")?.length, 0x10000);
});

Deno.test("setexpr lets a memory fault propagate as a data abort", () => {
  const ctx = fakeContext();
  assert.throws(() => setexprCommand().run(ctx, ["setexpr", "v", "*10"]), DataAbort);
});

Deno.test("setexpr sub without a text uses the variable and fails when it is unset", async () => {
  const ctx = fakeContext();
  const command = setexprCommand();
  assert.equal(await command.run(ctx, ["setexpr", "s", "sub", "a", "b"]), 1);
  assert.equal(ctx.console.take(), '## Error: variable "s" not defined\n');
  ctx.env.set("s", "aaa");
  assert.equal(await command.run(ctx, ["setexpr", "s", "sub", "a", "b"]), 0);
  assert.equal(ctx.console.take(), "s=baa\n");
  assert.equal(ctx.env.get("s"), "baa");
});

Deno.test("setexpr reports a bad regex before looking at the variable", async () => {
  const ctx = fakeContext();
  assert.equal(await setexprCommand().run(ctx, ["setexpr", "s", "gsub", "[a", "b"]), 1);
  assert.equal(ctx.console.output, "Error compiling regex: No closing ']' bracket\n");
});

Deno.test("setexpr gsub to an empty result prints the empty value and deletes the variable", async () => {
  const ctx = fakeContext();
  ctx.env.set("s", "aaa");
  assert.equal(await setexprCommand().run(ctx, ["setexpr", "s", "gsub", "a", ""]), 0);
  assert.equal(ctx.console.output, "s=\n");
  assert.equal(ctx.env.has("s"), false);
});

Deno.test("setexpr stops a substitution that U-Boot would never finish", async () => {
  const ctx = fakeContext();
  assert.equal(await setexprCommand().run(ctx, ["setexpr", "s", "gsub", "x*", "", "ab"]), 1);
  assert.equal(ctx.console.output, "## error: regex step limit exceeded\n");
});

Deno.test("setexpr prints the environment's refusal and fails for a plain assignment", async () => {
  const ctx = fakeContext();
  ctx.env.set("serial#", "1234");
  assert.equal(await setexprCommand().run(ctx, ["setexpr", "serial#", "5"]), 1);
  assert.equal(ctx.console.output, '## Error: Can\'t overwrite "serial#"\n');
  assert.equal(ctx.env.get("serial#"), "1234");
});
