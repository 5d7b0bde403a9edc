/**
 * The interactive front end: U-Boot's prompt on the terminal through `node:readline` (line editing,
 * history, tab completion of command names, Ctrl-C), with hush's `> ` continuation prompt. Host I/O.
 *
 * @module
 */

import * as readline from "node:readline";
import process from "node:process";
import type { Session } from "../session.ts";
import { toByteString } from "../shell/session_console.ts";

/** Ctrl-C as a byte. */
const CTRL_C = 0x03;

/** The continuation prompt (`CONFIG_SYS_PROMPT_HUSH_PS2`). */
const PS2 = "> ";

/** Completes the command name being typed (the first word after the last `;`). */
export function completeLine(session: Session, line: string): [string[], string] {
  const start = Math.max(line.lastIndexOf(";"), line.lastIndexOf("&"), line.lastIndexOf("|")) + 1;
  const segment = line.slice(start).trimStart();
  if (segment.includes(" ")) {
    // An argument: complete environment variable names after `$` or `${`.
    const m = /\$\{?([A-Za-z0-9_]*)$/.exec(segment);
    if (!m) return [[], segment];
    const names = session.shell.env.entries().map(([n]) => n).filter((n) => n.startsWith(m[1]!));
    return [names, m[1]!];
  }
  const names = session.shell.commands.list().map((c) => c.name).filter((n) => n.startsWith(segment));
  return [names, segment];
}

/** Runs the prompt until the session ends (reset, poweroff, end of input). Returns the exit status. */
export function runRepl(session: Session, write: (text: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: true,
      historySize: 1000,
      completer: (line: string) => completeLine(session, line),
    });
    let pending = "";
    let running = false;
    const prompt = () => {
      rl.setPrompt(pending === "" ? session.shell.prompt() : PS2);
      rl.prompt();
    };
    rl.on("SIGINT", () => {
      if (running) {
        // Ctrl-C goes to the guest through the console's input ring, as on the board.
        session.machine.consoleInput(new Uint8Array([CTRL_C]));
        session.console.interrupt();
        return;
      }
      write("<INTERRUPT>\n");
      pending = "";
      prompt();
    });
    // Lines are handled one at a time, in order; the terminal is not paused while a command runs, so
    // that Ctrl-C reaches it (readline reports it as SIGINT).
    const queue: string[] = [];
    const drain = async () => {
      if (running) return;
      running = true;
      while (queue.length > 0) {
        const line = toByteString(queue.shift()!);
        const r = await session.typeLine(line, pending);
        pending = r === "more" ? `${pending}${line}\n` : "";
        if (session.shell.exitRequest) {
          running = false;
          rl.close();
          return;
        }
        prompt();
      }
      running = false;
    };
    rl.on("line", (line: string) => {
      queue.push(line);
      void drain();
    });
    rl.on("close", () => resolve(session.shell.lastReturnCode));
    void autoboot(session, rl, write).then(prompt);
  });
}

/** Milliseconds between the countdown's key checks (U-Boot polls every 10 ms). */
const AUTOBOOT_POLL_MS = 10;
const SECOND_MS = 1000;

/**
 * U-Boot's autoboot (common/autoboot.c `abortboot_single_key`): when `bootcmd` is set and `bootdelay`
 * is not negative, count down, stop at any key (which is consumed), else run `bootcmd` as a command
 * list. `bootdelay` -2 runs it without a countdown.
 */
export async function autoboot(
  session: Session,
  rl: readline.Interface,
  write: (text: string) => void,
): Promise<void> {
  const env = session.shell.env;
  const bootcmd = env.get("bootcmd");
  const delayText = env.get("bootdelay");
  let delay = delayText === undefined ? -1 : Number.parseInt(delayText, 10);
  if (Number.isNaN(delay)) delay = -1;
  if (bootcmd === undefined || delay === -1) return;
  let abort = false;
  if (delay !== -2) {
    let pressed = false;
    const onKey = () => {
      pressed = true;
    };
    process.stdin.on("keypress", onKey);
    write(`Hit any key to stop autoboot: ${String(delay).padStart(2)} `);
    while (delay > 0 && !abort) {
      delay--;
      for (let waited = 0; waited < SECOND_MS && !pressed; waited += AUTOBOOT_POLL_MS) {
        await new Promise((r) => setTimeout(r, AUTOBOOT_POLL_MS));
      }
      if (pressed) {
        abort = true;
        delay = 0;
      }
      write(`\b\b\b${String(delay).padStart(2)} `);
    }
    write("\n");
    process.stdin.off("keypress", onKey);
    // The key that stopped the countdown is consumed, as U-Boot's getchar() does.
    if (pressed) Object.assign(rl as unknown as { line: string; cursor: number }, { line: "", cursor: 0 });
  }
  if (!abort) {
    await session.shell.runCommandList(bootcmd, 0);
    await session.guest.flush();
  }
}
