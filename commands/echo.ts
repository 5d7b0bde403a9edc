/**
 * `echo [-n] [args..]` (U-Boot 2023.01 cmd/echo.c): prints the arguments separated by one space,
 * then a newline unless the first argument is exactly `-n`.
 *
 * @module
 */

import { CMD_RET_SUCCESS, type Command, type CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";

/** `CONFIG_SYS_MAXARGS`. */
const ECHO_MAXARGS = 64;

/**
 * The `echo` command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { echoCommand } from "./echo.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * const ctx = fakeContext();
 * await echoCommand().run(ctx, ["echo", "a", "b"]);
 * assert.ok(ctx.console.output === "a b\n");
 * ```
 */
export function echoCommand(): Command {
  return defineCommand({
    name: "echo",
    maxArgs: ECHO_MAXARGS,
    repeatable: true,
    run: _doEcho,
  });
}

function _doEcho(ctx: CommandContext, argv: string[]): number {
  const newline = argv[1] !== "-n";
  const words = argv.slice(newline ? 1 : 2);
  ctx.console.puts(words.join(" ") + (newline ? "\n" : ""));
  return CMD_RET_SUCCESS;
}
