/**
 * `exit [n]` as U-Boot 2023.01 behaves (cmd/exit.c, built with the hush parser). On the real board
 * (checked against the qemu_arm64 build) `exit` does not leave anything — not the prompt's line, not a
 * `run` script, not an `if` — it only sets the status: `exit` and `exit 0` succeed, any other `n`
 * fails (`$?` is 1). `n` is `simple_strtoul(arg, NULL, 10)` kept in an `int`, so `-3` gives 0 and
 * values wrap at 32 bits; an `n` that wraps to -1 is U-Boot's usage-error value.
 *
 * @module
 */

import {
  CMD_RET_FAILURE,
  CMD_RET_SUCCESS,
  CMD_RET_USAGE,
  type Command,
  type CommandContext,
} from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { simpleStrtoul } from "../lib/strto.ts";

/** `exit`'s maxargs. */
const EXIT_MAXARGS = 2;

/**
 * The `exit` command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exitCommand } from "./exit.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * assert.ok(exitCommand().run(fakeContext(), ["exit", "3"]) === 1);
 * ```
 */
export function exitCommand(): Command {
  return defineCommand({
    name: "exit",
    maxArgs: EXIT_MAXARGS,
    repeatable: true,
    run: _doExit,
  });
}

function _doExit(_ctx: CommandContext, argv: string[]): number {
  const arg = argv[1];
  const r = arg === undefined ? 0 : Number(BigInt.asIntN(32, simpleStrtoul(arg, 10).value));
  if (r === CMD_RET_USAGE) return CMD_RET_USAGE;
  return r === 0 ? CMD_RET_SUCCESS : CMD_RET_FAILURE;
}
