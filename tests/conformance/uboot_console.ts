/**
 * What the real U-Boot's serial console looks like, and how to cut one command's output out of it.
 * Facts: the qemu_arm64 build's prompt is `=> ` (CONFIG_SYS_PROMPT); hush's continuation prompt is
 * `> ` at the start of a line; the autoboot countdown starts with "Hit any key to stop autoboot"; the
 * console echoes each typed line followed by CR LF. Pure.
 *
 * @module
 */

/** U-Boot's prompt. */
export const PROMPT = "=> ";
/** hush's continuation prompt, after the echoed line's newline. */
export const CONTINUATION_PROMPT = "\n> ";
/** The start of the autoboot countdown line. */
export const AUTOBOOT_BANNER = "Hit any key to stop autoboot";
/** Ctrl-C, which interrupts a command or abandons a continuation. */
export const CTRL_C = "\x03";

/** True when the console text (after sending a line) ends at a fresh prompt. */
export function endsAtPrompt(text: string): boolean {
  return text.endsWith(PROMPT) && text.includes("\n");
}

/** True when the console text ends at hush's continuation prompt rather than the main one. */
export function endsAtContinuation(text: string): boolean {
  return text.endsWith(CONTINUATION_PROMPT) && !text.endsWith(PROMPT);
}

/**
 * Cuts the echoed command line off the front and the prompt off the end of what the console showed
 * after `command` was typed; `echoed` says whether the echo was found as expected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const r = splitConsole("echo hi", "echo hi\r\nhi\r\n=> ", true);
 * assert.ok(r.output === "hi\r\n" && r.echoed);
 * ```
 */
export function splitConsole(command: string, text: string, atPrompt: boolean): {
  output: string;
  echoed: boolean;
} {
  const echo = `${command}\r\n`;
  const echoed = text.startsWith(echo);
  let output = echoed ? text.slice(echo.length) : text;
  if (atPrompt && output.endsWith(PROMPT)) output = output.slice(0, -PROMPT.length);
  return { output, echoed };
}

/** The `$?` printed by `echo $?`, or null when the output is not one integer line. */
export function parseStatus(output: string): number | null {
  const m = /^(-?\d+)\r?\n$/.exec(output);
  return m === null ? null : Number(m[1]);
}
