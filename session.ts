/**
 * A pvboot session: the emulated guest machine (machine/) and the U-Boot that starts on it (board/),
 * wired together only through the platform contract — memory and the entry registers.
 *
 * @module
 */

import { createMachine, type Machine, type MachineIo } from "./machine/machine.ts";
import type { GuestConfig } from "./machine/guest_config.ts";
import { type Guest, startGuest } from "./guest.ts";
import { fromByteString, SessionConsole } from "./shell/session_console.ts";
import type { Shell } from "./shell/shell.ts";
import { traceCommand, Tracer } from "./host/tracer.ts";
import type { HandoffRecord } from "./boot/handoff.ts";
import type { HandoffReport } from "./machine/xen/handoff.ts";

/** What a session needs from its host. */
export interface SessionIo {
  /** Reads a host file (a `--dtb` blob). */
  readFile(path: string): Promise<Uint8Array>;
  /** Opens the image behind one of the configured disks (required when there are disks). */
  openDisk?: MachineIo["openDisk"];
  /** Receives console output (a byte string). */
  sink(text: string): void;
  /** `--trace` words (`xen`, `json`, event kinds); none: tracing off. */
  trace?: readonly string[];
  /** Receives trace lines (default: `sink`). */
  traceSink?: (line: string) => void;
  /** Print U-Boot's start-up lines (interactive sessions). */
  banner?: boolean;
}

/** A running guest with its shell. */
export interface Session {
  /** The platform side. */
  readonly machine: Machine;
  /** U-Boot. */
  readonly guest: Guest;
  /** The shell (shortcut for `guest.shell`). */
  readonly shell: Shell;
  /** The console: output sink and Ctrl-C. */
  readonly console: SessionConsole;
  /** The Xen tracer (`--trace`, the `trace` command). */
  readonly tracer: Tracer;
  /** After a `booti` hand-over: what U-Boot handed Linux, and what the platform found left over. */
  readonly handoff: { record: HandoffRecord; report: HandoffReport } | undefined;
  /**
   * Types `line` at the guest's console: the bytes go through the PV console's input ring, the guest
   * reads them back as its command line and runs it; output comes back through the output ring.
   * Returns `$?`, or `"more"` when hush needs another line.
   */
  typeLine(line: string, pending?: string, options?: { repeat?: boolean }): Promise<number | "more">;
}

/** Builds the machine from `config` and starts U-Boot on it. */
export async function createSession(config: GuestConfig, io: SessionIo): Promise<Session> {
  const machine = await createMachine(config, {
    readFile: io.readFile,
    ...(io.openDisk ? { openDisk: io.openDisk } : {}),
    consoleOut: (bytes) => {
      let text = "";
      for (const b of bytes) text += String.fromCharCode(b);
      io.sink(text);
    },
  });
  const tracer = new Tracer(machine.trace, io.traceSink ?? io.sink);
  const traceError = tracer.configure(io.trace ?? []);
  if (traceError !== undefined) throw new RangeError(`Cannot trace: ${traceError}`);
  const console = new SessionConsole(io.sink);
  let handoff: Session["handoff"];
  const guest = await startGuest(machine, {
    profile: config.board,
    console,
    banner: io.banner ?? false,
    // The platform checks what is left (grants, event channels, backends) once U-Boot has let go.
    onHandoff: (record) => {
      handoff = { record, report: machine.handoffReport() };
    },
  });
  await guest.flush();
  // The emulator's monitor command; the xenguest profile keeps the real board's command set.
  if (config.board === "default") guest.shell.commands.add(traceCommand(tracer));
  const typeLine = async (line: string, pending = "", options: { repeat?: boolean } = {}) => {
    machine.consoleInput(fromByteString(`${line}\r`));
    const typed = (await guest.readLine()) ?? "";
    const r = await guest.shell.inputLine(typed, pending, options);
    await guest.flush();
    return r;
  };
  return {
    machine,
    guest,
    shell: guest.shell,
    console,
    tracer,
    typeLine,
    get handoff() {
      return handoff;
    },
  };
}

/**
 * Feeds `lines` to the session as typed input without prompts (scripts, standard input, `-c`);
 * hush constructs may span lines. Calls `onStatus` with `$?` after each complete command line.
 * Returns the last status.
 */
export async function runLines(
  session: Session,
  lines: readonly string[],
  onStatus?: (rc: number) => void,
): Promise<number> {
  let pending = "";
  let rc = 0;
  for (const line of lines) {
    const r = await session.typeLine(line, pending, { repeat: false });
    if (r === "more") {
      pending += `${line}\n`;
      continue;
    }
    pending = "";
    rc = r;
    // reset/poweroff: the machine goes away, so no status follows.
    if (session.shell.exitRequest) return rc;
    onStatus?.(rc);
  }
  if (pending !== "") {
    // The input ended inside an open construct: hush reports it as a syntax error.
    rc = await session.shell.finishPending(pending);
    await session.guest.flush();
    onStatus?.(rc);
  }
  return rc;
}

/**
 * Runs a script (a byte string of command lines) on a new session built from `config`, collecting
 * what the console printed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeGuestConfig } from "./machine/guest_config.ts";
 * import { runScript } from "./session.ts";
 *
 * const { output, status } = await runScript(completeGuestConfig({}), "setenv a 1; echo a=$a");
 * assert.deepEqual({ output, status }, { output: "a=1\n", status: 0 });
 * ```
 */
export async function runScript(
  config: GuestConfig,
  script: string,
  io: Partial<Pick<SessionIo, "readFile">> = {},
): Promise<{ output: string; status: number }> {
  let output = "";
  const session = await createSession(config, {
    readFile: io.readFile ?? (() => Promise.reject(new Error("Cannot read files: no host I/O given"))),
    sink: (text) => {
      output += text;
    },
  });
  const lines = script.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const status = await runLines(session, lines);
  return { output, status };
}
