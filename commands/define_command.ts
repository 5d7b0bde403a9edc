/**
 * `defineCommand`: builds a {@linkcode Command} whose usage texts come from U-Boot's own (the
 * generated {@linkcode HELP_TEXT} table) unless given, as `U_BOOT_CMD` does in one place.
 *
 * @module
 */

import type { Command, CommandContext } from "./command.ts";
import { HELP_TEXT } from "./help_text.ts";

/** What a command module declares. */
export interface CommandSpec {
  /** Command name. */
  name: string;
  /** Largest argc (argv[0] included). */
  maxArgs: number;
  /** Repeated by an empty input line. */
  repeatable: boolean;
  /** The handler. */
  run(ctx: CommandContext, argv: string[]): number | Promise<number>;
  /** One-line summary, when U-Boot's table has none for this name. */
  usage?: string;
  /** Long help, when U-Boot's table has none for this name. */
  help?: string;
  /** Tab completion. */
  complete?(ctx: CommandContext, argv: string[]): string[];
}

/** Builds the command, taking the usage texts from U-Boot's table when the spec gives none. */
export function defineCommand(spec: CommandSpec): Command {
  const text = HELP_TEXT[spec.name];
  const usage = spec.usage ?? text?.usage;
  const help = spec.help ?? text?.help;
  if (usage === undefined || help === undefined) {
    throw new Error(`Cannot define command: no usage text for '${spec.name}'`);
  }
  const command: Command = {
    name: spec.name,
    maxArgs: spec.maxArgs,
    repeatable: spec.repeatable,
    usage,
    help,
    run: spec.run,
  };
  if (spec.complete) command.complete = spec.complete;
  return command;
}
