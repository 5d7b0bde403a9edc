/**
 * `boot` and `bootd` (cmd/bootm.c `do_bootd`): run `bootcmd`.
 *
 * @module
 */

import type { Command, CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";

/** `do_bootd`: runs `bootcmd` as a command; nothing happens when it is unset. */
async function _bootd(ctx: CommandContext): Promise<number> {
  const bootcmd = ctx.env.get("bootcmd");
  if (bootcmd === undefined) return 0;
  return await ctx.shell.runCommand(bootcmd, ctx.flag);
}

/** `boot` and its twin `bootd`. */
export function bootCommands(): Command[] {
  return ["boot", "bootd"].map((name) => defineCommand({ name, maxArgs: 1, repeatable: true, run: _bootd }));
}
