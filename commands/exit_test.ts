import assert from "node:assert/strict";
import { exitCommand } from "./exit.ts";
import { fakeContext } from "../tests/fake_context.ts";

function exit(...args: string[]): number {
  const rc = exitCommand().run(fakeContext(), ["exit", ...args]);
  assert.equal(typeof rc, "number");
  return rc as number;
}

Deno.test("exit only sets the status: 0 for no argument or 0, failure for any other n", () => {
  assert.equal(exit(), 0);
  assert.equal(exit("0"), 0);
  assert.equal(exit("3"), 1);
  assert.equal(exit("1"), 1);
});

Deno.test("exit parses n as unsigned decimal: a sign stops it, 0x switches to hex", () => {
  assert.equal(exit("-3"), 0);
  assert.equal(exit("0x10"), 1);
  assert.equal(exit("0x0"), 0);
  assert.equal(exit("12abc"), 1);
});

Deno.test("exit keeps n in a 32-bit int as U-Boot does", () => {
  assert.equal(exit("4294967296"), 0); // n wraps to 0
  assert.equal(exit("4294967297"), 1); // n wraps to 1
  assert.equal(exit("4294967295"), -1); // n wraps to -1
});

Deno.test("exit takes at most one argument, is repeatable and has no long help", () => {
  const command = exitCommand();
  assert.equal(command.maxArgs, 2);
  assert.equal(command.repeatable, true);
  assert.equal(command.usage, "exit script");
  assert.equal(command.help, "");
});
