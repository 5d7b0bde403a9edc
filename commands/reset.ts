/**
 * `reset` and `poweroff`: they end the pvboot session (the emulated guest stops).
 *
 * @module
 */

import type { Command } from "./command.ts";
import { defineCommand } from "./define_command.ts";

/** `reset` and `poweroff`, printing `resetting ...` / `poweroff ...` as U-Boot does before it stops. */
export function resetCommands(): Command[] {
  return [
    defineCommand({
      name: "reset",
      maxArgs: 2,
      repeatable: false,
      run(ctx) {
        ctx.console.puts("resetting ...\n");
        ctx.requestExit("reset");
        return 0;
      },
    }),
    defineCommand({
      name: "poweroff",
      maxArgs: 1,
      repeatable: false,
      run(ctx) {
        ctx.console.puts("poweroff ...\n");
        ctx.requestExit("poweroff");
        return 0;
      },
    }),
  ];
}
