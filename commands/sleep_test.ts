import assert from "node:assert/strict";
import { sleepCommand, sleepMilliseconds } from "./sleep.ts";
import { CMD_RET_USAGE } from "./command.ts";
import { fakeContext } from "../tests/fake_context.ts";
import hushGolden from "../tests/reference/07-hush.json" with { type: "json" };

/** A context whose console records each delay and reports Ctrl-C when `interrupt` is set. */
function sleepingContext(interrupt = false) {
  const ctx = fakeContext();
  const delays: number[] = [];
  ctx.console.delay = (ms: number) => {
    delays.push(ms);
    return Promise.resolve(interrupt);
  };
  return { ctx, delays };
}

Deno.test("sleep 0 and sleep 1 succeed silently as in the 07-hush golden", async () => {
  for (const [line, ms] of [["sleep 0", []], ["sleep 1", [1000]]] as const) {
    const expected = hushGolden.results.find((r) => r.cmd === line)!;
    const { ctx, delays } = sleepingContext();
    assert.equal(await sleepCommand().run(ctx, line.split(" ")), expected.rc);
    assert.equal(ctx.console.output, expected.out);
    assert.deepEqual(delays, ms);
  }
});

Deno.test("sleep takes up to three fraction digits as milliseconds", () => {
  assert.equal(sleepMilliseconds("1.5"), 1500n);
  assert.equal(sleepMilliseconds("0.25"), 250n);
  assert.equal(sleepMilliseconds("2.0015"), 2001n);
  assert.equal(sleepMilliseconds(".5"), 500n);
});

Deno.test("sleep drops the fraction at a non-digit and parses seconds like simple_strtoul", () => {
  assert.equal(sleepMilliseconds("1.5s"), 1000n);
  assert.equal(sleepMilliseconds("3s"), 3000n);
  assert.equal(sleepMilliseconds("0x10"), 16000n);
  assert.equal(sleepMilliseconds("abc"), 0n);
});

Deno.test("sleep interrupted by Ctrl-C returns -1 as U-Boot does (usage, then $? = 1)", async () => {
  const { ctx, delays } = sleepingContext(true);
  assert.equal(await sleepCommand().run(ctx, ["sleep", "5"]), CMD_RET_USAGE);
  assert.deepEqual(delays, [5000]);
});

Deno.test("sleep wants exactly one argument", async () => {
  const { ctx, delays } = sleepingContext();
  assert.equal(await sleepCommand().run(ctx, ["sleep"]), CMD_RET_USAGE);
  assert.equal(await sleepCommand().run(ctx, ["sleep", "1", "2"]), CMD_RET_USAGE);
  assert.deepEqual(delays, []);
  assert.equal(sleepCommand().maxArgs, 2);
  assert.equal(sleepCommand().repeatable, true);
});
