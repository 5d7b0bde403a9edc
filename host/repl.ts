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
        const r = await session.shell.inputLine(line, pending);
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
    write(session.banner());
    prompt();
  });
}
