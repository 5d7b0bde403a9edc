import assert from "node:assert/strict";
import { falseCommand, trueCommand } from "./true_false.ts";
import { fakeContext } from "../tests/fake_context.ts";
import hushGolden from "../tests/reference/07-hush.json" with { type: "json" };

function golden(line: string): string {
  const result = hushGolden.results.find((r) => r.cmd === line);
  assert.ok(result, `golden has "${line}"`);
  return result.out;
}

Deno.test("true returns 0 and false returns 1, as `$?` shows in the 07-hush golden", () => {
  const ctx = fakeContext();
  assert.equal(`${trueCommand().run(ctx, ["true"])}\n`, golden("true; echo $?"));
  assert.equal(`${falseCommand().run(ctx, ["false"])}\n`, golden("false; echo $?"));
  assert.equal(ctx.console.output, "");
});

Deno.test("true and false ignore their arguments", () => {
  const ctx = fakeContext();
  assert.equal(trueCommand().run(ctx, ["true", "x", "y"]), 0);
  assert.equal(falseCommand().run(ctx, ["false", "--help"]), 1);
});

Deno.test("true and false take up to 64 words, are repeatable and have U-Boot's usage", () => {
  for (const command of [trueCommand(), falseCommand()]) {
    assert.equal(command.maxArgs, 64);
    assert.equal(command.repeatable, true);
    assert.equal(command.help, "- No additional help available.");
  }
  assert.equal(trueCommand().usage, "do nothing, successfully");
  assert.equal(falseCommand().usage, "do nothing, unsuccessfully");
});
