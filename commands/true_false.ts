/**
 * `true` and `false` (U-Boot cmd/test.c, built with the hush parser): return 0 and 1, whatever the
 * arguments.
 *
 * @module
 */

import { CMD_RET_FAILURE, CMD_RET_SUCCESS, type Command } from "./command.ts";
import { defineCommand } from "./define_command.ts";

/** `CONFIG_SYS_MAXARGS`. */
const TRUE_FALSE_MAXARGS = 64;

/**
 * The `true` command: does nothing, successfully.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trueCommand } from "./true_false.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * assert.ok(trueCommand().run(fakeContext(), ["true"]) === 0);
 * ```
 */
export function trueCommand(): Command {
  return defineCommand({
    name: "true",
    maxArgs: TRUE_FALSE_MAXARGS,
    repeatable: true,
    run: () => CMD_RET_SUCCESS,
  });
}

/**
 * The `false` command: does nothing, unsuccessfully.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { falseCommand } from "./true_false.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * assert.ok(falseCommand().run(fakeContext(), ["false"]) === 1);
 * ```
 */
export function falseCommand(): Command {
  return defineCommand({
    name: "false",
    maxArgs: TRUE_FALSE_MAXARGS,
    repeatable: true,
    run: () => CMD_RET_FAILURE,
  });
}
