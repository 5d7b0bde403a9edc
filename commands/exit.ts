/**
 * `exit [n]` (U-Boot 2023.01 cmd/exit.c, built with the hush parser): returns `-n - 2`, which hush
 * turns into leaving the running script with `$?` = n. `n` is `simple_strtoul(arg, NULL, 10)` kept
 * in an `int`, so `-3` gives 0 and values wrap at 32 bits as U-Boot's do.
 *
 * @module
 */

import type { Command, CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { simpleStrtoul } from "../lib/strto.ts";

/** `exit`'s maxargs. */
const EXIT_MAXARGS = 2;
/** The offset U-Boot uses to tell an exit code from a command result (`return -r - 2`). */
const EXIT_CODE_OFFSET = 2;

/**
 * The `exit` command.
 *
 * @example
 * ```ts
 * import { exitCommand } from "./exit.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * console.assert(exitCommand().run(fakeContext(), ["exit", "3"]) === -5);
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
  return (-r - EXIT_CODE_OFFSET) | 0;
}
