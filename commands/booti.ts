/**
 * `booti [addr [initrd[:size]] [fdt]]` (cmd/booti.c): boots an arm64 Linux Image with the bootm
 * machinery of boot/booti.ts. An error returns to the prompt with U-Boot's message and status; a panic
 * (no device tree, FDT creation failed) prints `resetting ...` and ends the session as the board's
 * reset does; a successful boot hands the record of the jump to `onHandoff` and ends the session.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { booti, type BootiOptions } from "../boot/booti.ts";
import type { HandoffRecord } from "../boot/handoff.ts";

/** `CONFIG_SYS_MAXARGS`: booti takes any number of arguments up to the shell's limit. */
const BOOTI_MAXARGS = 64;

/** What `booti` is wired to. */
export interface BootiDeps extends BootiOptions {
  /** Receives the record of a successful hand-over (the session keeps it for its report). */
  readonly onHandoff?: (record: HandoffRecord) => void;
}

/**
 * The `booti` command. `deps.fdtState` must be the session's one `WorkingFdtState`, the
 * one the `fdt` command was built with; `deps.fini` is the guest's tear-down (`Guest.fini`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bootiCommand } from "./booti.ts";
 * import { WorkingFdtState } from "../boot/working_fdt.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 *
 * const ctx = fakeContext();
 * const command = bootiCommand({ profile: "default", fdtState: new WorkingFdtState() });
 * assert.equal(await command.run(ctx, ["booti", "40000000"]), 1);
 * assert.equal(ctx.console.output, "Bad Linux ARM64 Image magic!\n");
 * ```
 */
export function bootiCommand(deps: BootiDeps): Command {
  return defineCommand({
    name: "booti",
    maxArgs: BOOTI_MAXARGS,
    repeatable: true,
    async run(ctx, argv) {
      const outcome = await booti(ctx, argv.slice(1), deps);
      switch (outcome.kind) {
        case "failed":
          return outcome.rc;
        case "panic":
          // panic_finish → do_reset; reset_cpu does nothing on xenguest, so the board then spins.
          ctx.console.puts("resetting ...\n");
          ctx.requestExit("reset");
          return 1;
        case "handoff":
          deps.onHandoff?.(outcome.record);
          // The session ends with the jump; the fixture kernels power the machine off (PSCI SYSTEM_OFF).
          ctx.requestExit("poweroff");
          return 0;
      }
    },
  });
}
