/**
 * `version` (cmd/version.c): the version banner, then the tool-chain lines.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { defineCommand } from "./define_command.ts";

/** pvboot's release. */
export const PVBOOT_VERSION = "0.1.0";

/**
 * `U_BOOT_VERSION_STRING`: the U-Boot release pvboot follows, its own build date (fixed, so that
 * transcripts are reproducible) and the board's `IDENT_STRING`.
 */
export function versionString(profile: "default" | "xenguest"): string {
  const ident = profile === "xenguest" ? " xenguest" : "";
  return `U-Boot 2023.01-pvboot-${PVBOOT_VERSION} (Nov 23 2026 - 00:00:00 +0000)${ident}`;
}

/** `version`. */
export function versionCommand(profile: "default" | "xenguest"): Command {
  return defineCommand({
    name: "version",
    maxArgs: 1,
    repeatable: true,
    run(ctx) {
      ctx.console.puts(`${versionString(profile)}\n\npvboot ${PVBOOT_VERSION} (TypeScript)\n`);
      return 0;
    },
  });
}
