import assert from "node:assert/strict";
import { echoCommand } from "./echo.ts";
import { fakeContext } from "../tests/fake_context.ts";
import hushGolden from "../tests/reference/07-hush.json" with { type: "json" };
import envGolden from "../tests/reference/06-env.json" with { type: "json" };

function echo(argv: string[]): { rc: number; out: string } {
  const ctx = fakeContext();
  const rc = echoCommand().run(ctx, argv);
  assert.equal(typeof rc, "number");
  return { rc: rc as number, out: ctx.console.output };
}

function golden(results: { cmd: string; out: string; rc: number }[], line: string) {
  const result = results.find((r) => r.cmd === line);
  assert.ok(result, `golden has "${line}"`);
  return { rc: result.rc, out: result.out };
}

Deno.test("echo reproduces the echo lines of the 07-hush and 06-env goldens", () => {
  // Each case: the golden line and the argv hush hands echo (a=1, foo=bar in 06-env).
  const hush: [string, string[]][] = [
    [`echo "quoted \${a}" 'single \${a}'`, ["quoted 1", "single ${a}"]],
    ['echo a\\ b "c  d"   e', ["a b", "c  d", "e"]],
    ["echo -n no-newline", ["-n", "no-newline"]],
    ["echo", []],
    ['echo "multi" "args" "here"', ["multi", "args", "here"]],
    ["echo \\$a \\${a}", ["$a", "${a}"]],
    ["echo ${a}${a}text", ["11text"]],
  ];
  for (const [line, args] of hush) {
    assert.deepEqual(echo(["echo", ...args]), golden(hushGolden.results, line), line);
  }
  const line = `echo \${foo} $foo "\${foo}" '\${foo}'`;
  assert.deepEqual(echo(["echo", "bar", "bar", "bar", "${foo}"]), golden(envGolden.results, line), line);
});

Deno.test("echo -n suppresses the newline only as the first argument", () => {
  assert.equal(echo(["echo", "a", "-n"]).out, "a -n\n");
  assert.equal(echo(["echo", "-n"]).out, "");
  assert.equal(echo(["echo", "-n", "-n"]).out, "-n");
});

Deno.test("echo keeps empty arguments as empty words", () => {
  assert.equal(echo(["echo", "", "x", ""]).out, " x \n");
});

Deno.test("echo takes up to 64 words and is repeatable", () => {
  assert.equal(echoCommand().maxArgs, 64);
  assert.equal(echoCommand().repeatable, true);
});
