/**
 * pvboot: U-Boot 2023.01's command line on an emulated ARM64 Xen guest.
 *
 * Build a guest from a configuration (flags or an `xl.cfg` file), start U-Boot on it, and run commands
 * or scripts; the output is what U-Boot prints, byte for byte.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeGuestConfig, runScript } from "./mod.ts";
 *
 * // itest reads numbers as hex, as U-Boot does: 0x10 == 10.
 * const { output, status } = await runScript(
 *   completeGuestConfig({ memoryMiB: 1024 }),
 *   "if itest 0x10 == 10; then echo sixteen; fi",
 * );
 * assert.equal(output, "sixteen\n");
 * assert.equal(status, 0);
 * ```
 *
 * @module
 */

export { createSession, runLines, runScript, type Session, type SessionIo } from "./session.ts";
export {
  completeGuestConfig,
  type DiskSpec,
  type GuestConfig,
  resolveDiskPaths,
} from "./machine/guest_config.ts";
export { parseXlConfig } from "./machine/xl_cfg.ts";
export { CLI_USAGE, configFromArgs } from "./cli_args.ts";
export { type Guest, startGuest } from "./guest.ts";
export { Shell } from "./shell/shell.ts";
export { Environment } from "./env/environment.ts";
export { SessionConsole } from "./shell/session_console.ts";
export type { Command, CommandContext } from "./commands/command.ts";
export type { BoardInfo } from "./board/board_info.ts";
export type { PhysicalMemory, Platform } from "./machine/platform.ts";
