/**
 * `sleep N[.fraction]` (U-Boot 2023.01 cmd/sleep.c): waits N seconds, N parsed as
 * `simple_strtoul(arg, NULL, 10)` (so `0x10` is sixteen) plus up to three decimal digits of
 * milliseconds after the first `.`; a non-digit in those digits drops the fraction.
 *
 * A Ctrl-C during the wait ends it and, as in U-Boot (which returns -1 there), the shell prints the
 * usage and `$?` becomes 1.
 *
 * @module
 */

import { CMD_RET_SUCCESS, CMD_RET_USAGE, type Command, type CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { simpleStrtoul } from "../lib/strto.ts";

/** `sleep`'s maxargs. */
const SLEEP_MAXARGS = 2;
/** `CONFIG_SYS_HZ`: timer ticks (milliseconds) per second. */
const SYS_HZ = 1000n;
/** Fraction digits weigh HZ/10, HZ/100, HZ/1000. */
const FRACTION_BASE = 10n;
const ULONG_MASK = (1n << 64n) - 1n;

/**
 * The `sleep` command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sleepCommand } from "./sleep.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * assert.ok(await sleepCommand().run(fakeContext(), ["sleep", "0.25"]) === 0);
 * ```
 */
export function sleepCommand(): Command {
  return defineCommand({
    name: "sleep",
    maxArgs: SLEEP_MAXARGS,
    repeatable: true,
    run: _doSleep,
  });
}

/**
 * The delay `arg` asks for, in milliseconds (`ulong` arithmetic).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sleepMilliseconds } from "./sleep.ts";
 * assert.ok(sleepMilliseconds("1.5") === 1500n);
 * ```
 */
export function sleepMilliseconds(arg: string): bigint {
  let delay = (simpleStrtoul(arg, 10).value * SYS_HZ) & ULONG_MASK;
  const dot = arg.indexOf(".");
  let mdelay = 0n;
  if (dot >= 0) {
    let mult = SYS_HZ / FRACTION_BASE;
    for (let i = dot + 1; i < arg.length && mult > 0n; i++) {
      const code = arg.charCodeAt(i);
      if (code < 0x30 || code > 0x39) {
        mdelay = 0n;
        break;
      }
      mdelay += BigInt(code - 0x30) * mult;
      mult /= FRACTION_BASE;
    }
  }
  delay = (delay + mdelay) & ULONG_MASK;
  return delay;
}

async function _doSleep(ctx: CommandContext, argv: string[]): Promise<number> {
  if (argv.length !== SLEEP_MAXARGS) return CMD_RET_USAGE;
  const delay = sleepMilliseconds(argv[1] ?? "");
  if (delay === 0n) return CMD_RET_SUCCESS;
  const ms = delay > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(delay);
  const interrupted = await ctx.console.delay(ms);
  return interrupted ? CMD_RET_USAGE : CMD_RET_SUCCESS;
}
