import assert from "node:assert/strict";
import { bracketCommand, testCommand, type TestHooks } from "./test.ts";
import { fakeContext } from "../tests/fake_context.ts";
import hushGolden from "../tests/reference/07-hush.json" with { type: "json" };

/**
 * The status the golden implies for one `test` in a hush line: the line printed `whenTrue` (a line
 * of its own) only if the test held, or `whenFalse` only if it failed.
 */
function goldenStatus(line: string, whenTrue: string[], whenFalse: string[] = []): number {
  const result = hushGolden.results.find((r) => r.cmd === line);
  assert.ok(result, `golden has "${line}"`);
  const printed = result.out.split("\n");
  const sawTrue = whenTrue.some((m) => printed.includes(m));
  const sawFalse = whenFalse.some((m) => printed.includes(m));
  assert.ok(!(sawTrue && sawFalse), line);
  if (sawTrue) return 0;
  if (sawFalse) return 1;
  assert.ok(whenTrue.length > 0, `golden decides "${line}"`);
  return 1;
}

/** The files the 07-hush session's disk held, as `file_exists` saw them. */
const GOLDEN_FILES = new Set([
  "virtio 0:1 /hello.txt",
  "virtio 0:1 hello.txt",
  "virtio 0:1 /dir1",
  "virtio 0:2 /link-to-hello",
]);

const goldenHooks: TestHooks = {
  fileExists: (iface, devpart, path) => Promise.resolve(GOLDEN_FILES.has(`${iface} ${devpart} ${path}`)),
};

async function test(argv: string[], hooks: TestHooks = goldenHooks): Promise<number> {
  const ctx = fakeContext();
  const rc = await testCommand(hooks).run(ctx, argv);
  assert.equal(ctx.console.output, "", `no output from ${argv.join(" ")}`);
  return rc;
}

Deno.test("test reproduces every test of the 07-hush golden", async () => {
  // Each case: the golden line, the argv hush hands this test (a=1, undefined_var unset), and the
  // echo lines that show it held or failed.
  const cases: [string, string[], string[], string[]?][] = [
    ["if test ${a} = 1; then echo yes; else echo no; fi", ["1", "=", "1"], ["yes"], ["no"]],
    ["if test ${a} -eq 2; then echo yes; else echo no; fi", ["1", "-eq", "2"], ["yes"], ["no"]],
    [
      "if test ${a} -eq 2; then echo two; elif test ${a} -eq 1; then echo one; else echo other; fi",
      ["1", "-eq", "2"],
      ["two"],
      ["one", "other"],
    ],
    [
      "if test ${a} -eq 2; then echo two; elif test ${a} -eq 1; then echo one; else echo other; fi",
      ["1", "-eq", "1"],
      ["one"],
      ["other"],
    ],
    ['if test -z "${undefined_var}"; then echo empty; fi', ["-z", ""], ["empty"]],
    ['if test -n "${a}"; then echo nonempty; fi', ["-n", "1"], ["nonempty"]],
    ["if test -z ${undefined_var}; then echo empty-unquoted; fi", ["-z"], ["empty-unquoted"]],
    ["if test; then echo x; else echo test-no-args-false; fi", [], ["x"], ["test-no-args-false"]],
    ["test -e virtio 0:1 /nothere || echo missing-or", ["-e", "virtio", "0:1", "/nothere"], [], [
      "missing-or",
    ]],
    [
      "if test -e virtio 0:1 /nothere; then echo e; else echo missing-if; fi",
      ["-e", "virtio", "0:1", "/nothere"],
      ["e"],
      ["missing-if"],
    ],
    ["test 1 -lt 2 && echo lt", ["1", "-lt", "2"], ["lt"]],
    ["test 2 -gt 1 && echo gt", ["2", "-gt", "1"], ["gt"]],
    ["test 2 -le 2 && echo le", ["2", "-le", "2"], ["le"]],
    ["test 2 -ge 3 || echo not-ge", ["2", "-ge", "3"], [], ["not-ge"]],
    ["test 2 -ne 3 && echo ne", ["2", "-ne", "3"], ["ne"]],
    ["test abc = abc && echo str-eq", ["abc", "=", "abc"], ["str-eq"]],
    ["test abc != abd && echo str-ne", ["abc", "!=", "abd"], ["str-ne"]],
    ["test abc \\< abd && echo str-lt", ["abc", "<", "abd"], ["str-lt"]],
    ["test ! 1 -eq 2 && echo not", ["!", "1", "-eq", "2"], ["not"]],
    ["test 1 -eq 1 -a 2 -eq 2 && echo and", ["1", "-eq", "1", "-a", "2", "-eq", "2"], ["and"]],
    ["test 1 -eq 2 -o 2 -eq 2 && echo or", ["1", "-eq", "2", "-o", "2", "-eq", "2"], ["or"]],
    ["test 0x10 -eq 16 && echo hex-dec-eq", ["0x10", "-eq", "16"], ["hex-dec-eq"]],
    ["test 010 -eq 8 && echo octal || echo not-octal", ["010", "-eq", "8"], ["octal"], ["not-octal"]],
    ["test -e virtio 0:1 /hello.txt && echo exists", ["-e", "virtio", "0:1", "/hello.txt"], ["exists"]],
    [
      "test -e virtio 0:1 /nothere && echo exists || echo missing",
      ["-e", "virtio", "0:1", "/nothere"],
      ["exists"],
    ],
    [
      "test -e virtio 0:2 /link-to-hello && echo link-exists",
      ["-e", "virtio", "0:2", "/link-to-hello"],
      ["link-exists"],
    ],
    [
      "test -e virtio 0:2 /dangling && echo dangling-exists || echo dangling-missing",
      ["-e", "virtio", "0:2", "/dangling"],
      ["dangling-exists"],
    ],
    ["test -e virtio 0:1 /dir1 && echo dir-exists", ["-e", "virtio", "0:1", "/dir1"], ["dir-exists"]],
    [
      "if test -e virtio 0:1 hello.txt; then if test -e virtio 0:1 nothere; then echo both; else echo outer-only; fi; fi",
      ["-e", "virtio", "0:1", "hello.txt"],
      ["both", "outer-only"],
    ],
    [
      "if test -e virtio 0:1 hello.txt; then if test -e virtio 0:1 nothere; then echo both; else echo outer-only; fi; fi",
      ["-e", "virtio", "0:1", "nothere"],
      ["both"],
      ["outer-only"],
    ],
  ];
  for (const [line, args, whenTrue, whenFalse] of cases) {
    assert.equal(await test(["test", ...args]), goldenStatus(line, whenTrue, whenFalse), line);
  }
});

Deno.test("test with fewer than two words fails (2023.01: `test -z` alone too)", async () => {
  assert.equal(await test(["test"]), 1);
  assert.equal(await test(["test", "x"]), 1);
  assert.equal(await test(["test", "-n"]), 1);
});

Deno.test("test combines -a and -o left to right without precedence", async () => {
  // ((F -a F) -o T) is true; ((T -o F) -a F) is false where a POSIX shell says true.
  assert.equal(await test(["test", "1", "-eq", "2", "-a", "1", "-eq", "2", "-o", "1", "-eq", "1"]), 0);
  assert.equal(await test(["test", "1", "-eq", "1", "-o", "1", "-eq", "2", "-a", "1", "-eq", "2"]), 1);
});

Deno.test("test toggles negation with each ! and applies it to the next test only", async () => {
  assert.equal(await test(["test", "!", "!", "1", "-eq", "1"]), 0);
  assert.equal(await test(["test", "!", "1", "-eq", "1", "-o", "1", "-eq", "1"]), 0);
  assert.equal(await test(["test", "1", "-eq", "1", "-a", "!", "1", "-eq", "2"]), 0);
});

Deno.test("test ends as true at a word that is no operator or lacks operands", async () => {
  assert.equal(await test(["test", "foo", "bar"]), 0);
  assert.equal(await test(["test", "a", "="]), 0);
  // The `!` is never applied: the walk stops at `a`.
  assert.equal(await test(["test", "!", "a"]), 0);
  assert.equal(await test(["test", "1", "-eq", "2", "junk"]), 0);
});

Deno.test("test reads integers with simple_strtol base 0", async () => {
  assert.equal(await test(["test", "-5", "-lt", "3"]), 0);
  assert.equal(await test(["test", "08", "-eq", "0"]), 0);
  assert.equal(await test(["test", "1f40", "-eq", "1"]), 0);
  assert.equal(await test(["test", "", "-eq", "0"]), 0);
});

Deno.test("test compares strings bytewise", async () => {
  assert.equal(await test(["test", "B", "<", "a"]), 0);
  assert.equal(await test(["test", "b", ">", "a"]), 0);
  assert.equal(await test(["test", "\xe9", ">", "z"]), 0);
});

Deno.test("test -e asks the hook with interface, device and path; without one nothing exists", async () => {
  const asked: string[] = [];
  const hooks: TestHooks = {
    fileExists: (iface, devpart, path) => {
      asked.push(`${iface}|${devpart}|${path}`);
      return Promise.resolve(true);
    },
  };
  assert.equal(await test(["test", "-e", "pvblock", "0:2", "/boot/Image"], hooks), 0);
  assert.deepEqual(asked, ["pvblock|0:2|/boot/Image"]);
  assert.equal(await test(["test", "-e", "pvblock", "0:2", "/boot/Image"], {}), 1);
  // Short of its three operands, -e is no test: the walk ends as true.
  assert.equal(await test(["test", "-e", "pvblock", "0"], hooks), 0);
  assert.equal(asked.length, 1);
});

Deno.test("test =~ matches the left word against an SLRE pattern", async () => {
  assert.equal(await test(["test", "abc", "=~", "^a.c$"]), 0);
  assert.equal(await test(["test", "abc", "=~", "[0-9]"]), 1);
  assert.equal(await test(["test", "a-c", "=~", "[0-9]"]), 0);
});

Deno.test("test =~ with a bad pattern prints SLRE's error and is false", async () => {
  const ctx = fakeContext();
  assert.equal(await testCommand().run(ctx, ["test", "abc", "=~", "(a"]), 1);
  assert.equal(ctx.console.output, "Error compiling regex: No closing bracket\n");
});

Deno.test("test =~ with a runaway pattern fails with a message instead of hanging", async () => {
  const ctx = fakeContext();
  assert.equal(await testCommand().run(ctx, ["test", "ab", "=~", "(a*)*"]), 1);
  assert.equal(ctx.console.output, "## error: regex step limit exceeded\n");
});

Deno.test("[ needs a final ] and then tests the words before it", async () => {
  const ctx = fakeContext();
  const bracket = bracketCommand();
  assert.equal(await bracket.run(ctx, ["[", "a", "=", "a", "]"]), 0);
  assert.equal(await bracket.run(ctx, ["[", "a", "=", "b", "]"]), 1);
  assert.equal(await bracket.run(ctx, ["[", "]"]), 1);
  assert.equal(ctx.console.output, "");
  assert.equal(await bracket.run(ctx, ["[", "a", "=", "a"]), 1);
  assert.equal(ctx.console.output, "[: missing terminating ]\n");
});

Deno.test("test and [ take up to 64 words and are repeatable", () => {
  for (const command of [testCommand(), bracketCommand()]) {
    assert.equal(command.maxArgs, 64);
    assert.equal(command.repeatable, true);
  }
  assert.equal(testCommand().usage, "minimal test like /bin/sh");
});
