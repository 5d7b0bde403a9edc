/**
 * `showvar` (common/cli_hush.c): prints hush's local variables.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { defineCommand } from "./define_command.ts";

/** `showvar [name ...]`. */
export function showvarCommand(): Command {
  return defineCommand({
    name: "showvar",
    maxArgs: 64,
    repeatable: true,
    run(ctx, argv) {
      const locals = ctx.shell.locals ?? new Map<string, string>();
      if (argv.length === 1) {
        for (const [name, value] of locals) ctx.console.puts(`${name}=${value}\n`);
        return 0;
      }
      let rcode = 0;
      for (const name of argv.slice(1)) {
        const value = locals.get(name);
        if (value === undefined) {
          ctx.console.puts(`## Error: "${name}" not defined\n`);
          rcode++;
        } else {
          ctx.console.puts(`${name}=${value}\n`);
        }
      }
      return rcode;
    },
  });
}
