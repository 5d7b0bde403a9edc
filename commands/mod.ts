/**
 * The command set of each board profile: U-Boot's full set for the default profile, and for
 * `xenguest` only what the real xenguest_arm64 defconfig builds (its `help` list in the board session).
 *
 * @module
 */

export * from "./command.ts";
export { defineCommand } from "./define_command.ts";
export { HELP_TEXT } from "./help_text.ts";
export { boardCommands, XENGUEST_COMMANDS } from "./registry.ts";
