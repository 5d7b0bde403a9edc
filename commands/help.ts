/**
 * `help` and `?` (cmd/help.c, common/command.c `_do_help`).
 *
 * @module
 */

import { type Command, type CommandContext, printUsage } from "./command.ts";
import { defineCommand } from "./define_command.ts";

/** `CFG_SYS_HELP_CMD_WIDTH`. */
const HELP_CMD_WIDTH = 10;

function _help(ctx: CommandContext, argv: string[]): number {
  if (argv.length === 1) {
    for (const command of ctx.commands.list()) {
      if (ctx.console.ctrlc()) return 1;
      ctx.console.puts(`${command.name.padEnd(HELP_CMD_WIDTH)}- ${command.usage}\n`);
    }
    return 0;
  }
  let rcode = 0;
  for (const name of argv.slice(1)) {
    const command = ctx.commands.find(name);
    if (command) {
      rcode |= printUsage(ctx.console, command);
    } else {
      ctx.console.puts(
        `Unknown command '${name}' - try 'help' without arguments for list of all known commands\n\n`,
      );
      rcode = 1;
    }
  }
  return rcode;
}

/** `help` and its alias `?`. */
export function helpCommands(): Command[] {
  return [
    defineCommand({ name: "help", maxArgs: 64, repeatable: true, run: _help }),
    defineCommand({ name: "?", maxArgs: 64, repeatable: true, run: _help }),
  ];
}
