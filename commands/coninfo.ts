/**
 * `coninfo` (cmd/console.c): the stdio devices with their flags and which of stdin/stdout/stderr each
 * serves. The guest's console is the Xen PV console device (named after the `xen,xen` node), plus the
 * serial uclass device the real board also lists.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { defineCommand } from "./define_command.ts";

/** `DEV_FLAGS_INPUT | DEV_FLAGS_OUTPUT | DEV_FLAGS_DM`. */
const CONSOLE_FLAGS = 0x7;
/** `DEV_FLAGS_INPUT | DEV_FLAGS_OUTPUT`. */
const SERIAL_FLAGS = 0x3;
const DEV_FLAGS_INPUT = 0x1;
const DEV_FLAGS_OUTPUT = 0x2;
const STDIO_NAMES = ["stdin", "stdout", "stderr"] as const;

/** `coninfo`. */
export function coninfoCommand(): Command {
  return defineCommand({
    name: "coninfo",
    maxArgs: 3,
    repeatable: true,
    run(ctx) {
      const consoleName = ctx.env.get("stdout") ?? "serial";
      const devices = [
        { name: consoleName, flags: CONSOLE_FLAGS },
        { name: "serial", flags: SERIAL_FLAGS },
      ];
      let text = "List of available devices:\n";
      for (const dev of devices) {
        const io = `${dev.flags & DEV_FLAGS_INPUT ? "I" : "."}${dev.flags & DEV_FLAGS_OUTPUT ? "O" : "."}`;
        text += `${dev.name.padEnd(8)} ${dev.flags.toString(16).padStart(8, "0")} ${io} `;
        for (const stream of STDIO_NAMES) {
          if (ctx.env.get(stream) === dev.name) text += `${stream} `;
        }
        text += "\n";
      }
      ctx.console.puts(text);
      return 0;
    },
  });
}
