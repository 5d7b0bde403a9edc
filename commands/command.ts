/**
 * The command seam: what every U-Boot command is (name, limits, usage text, handler) and what it may
 * use while it runs (the {@linkcode CommandContext}). Mirrors U-Boot's `struct cmd_tbl` and
 * common/command.c.
 *
 * Text is handled as byte strings: every character of a string printed or read by the shell is one
 * byte (code 0–255), as U-Boot's `char *` is. Front ends convert at the edge.
 *
 * @module
 */

import type { PhysicalMemory } from "../machine/platform.ts";
import type { Environment } from "../env/environment.ts";
import type { BoardInfo } from "../board/board_info.ts";

/** The command succeeded. */
export const CMD_RET_SUCCESS = 0;
/** The command failed. */
export const CMD_RET_FAILURE = 1;
/** The command was used wrongly: the shell prints its usage and `$?` becomes 1. */
export const CMD_RET_USAGE = -1;

/** The command is being repeated by an empty input line. */
export const CMD_FLAG_REPEAT = 0x0001;
/** The command runs from the environment (`run`). */
export const CMD_FLAG_ENV = 0x0004;

/** Where the guest's console output goes and its input comes from. */
export interface Console {
  /** Prints a byte string. */
  puts(text: string): void;
  /** True when Ctrl-C was pressed since the last call; clears the flag (U-Boot's `ctrlc()`). */
  ctrlc(): boolean;
  /** True while a Ctrl-C is pending (U-Boot's `had_ctrlc()`), without clearing it. */
  hadCtrlc(): boolean;
  /** Clears a pending Ctrl-C (U-Boot's `clear_ctrlc()`). */
  clearCtrlc(): void;
  /** Waits `ms` milliseconds; resolves early with `true` when Ctrl-C is pressed. */
  delay(ms: number): Promise<boolean>;
}

/** What the shell offers commands that run other commands (`run`, `source`, `bootd`). */
export interface ShellApi {
  /** U-Boot's `run_command(cmd, flag)`: parses and runs one command string; 0 or 1 (or an exit code). */
  runCommand(cmd: string, flag: number): Promise<number>;
  /** U-Boot's `run_command_list(cmd, len, flag)`: runs a multi-line list (scripts). */
  runCommandList(cmd: string, flag: number): Promise<number>;
  /** Hush local variables (`showvar`); `undefined` on the simple parser. */
  readonly locals?: Map<string, string> | undefined;
}

/** Everything a command may use while it runs. */
export interface CommandContext {
  /** The environment (`env_get`, `env_set`). */
  readonly env: Environment;
  /** The console. */
  readonly console: Console;
  /** Guest-physical memory (U-Boot maps RAM identity: virtual = physical). */
  readonly memory: PhysicalMemory;
  /** The board: RAM banks, U-Boot's own relocation, the control FDT. */
  readonly board: BoardInfo;
  /** The shell, for commands that run commands. */
  readonly shell: ShellApi;
  /** The command table (for `help`). */
  readonly commands: CommandTable;
  /** `CMD_FLAG_*` bits for this invocation. */
  readonly flag: number;
  /** Asks the session to end (reset, poweroff). */
  requestExit(kind: "reset" | "poweroff"): void;
}

/** One command: U-Boot's `struct cmd_tbl`. */
export interface Command {
  /** The name as typed (`md`, `printenv`). */
  readonly name: string;
  /** Largest argc accepted (argv[0] included); more is a usage error. */
  readonly maxArgs: number;
  /** Whether an empty input line repeats it. */
  readonly repeatable: boolean;
  /** The one-line summary (`help` list). */
  readonly usage: string;
  /** The long help text printed after `Usage:\n<name> `; empty when the command has none. */
  readonly help: string;
  /**
   * Runs the command. Returns `CMD_RET_SUCCESS`, `CMD_RET_FAILURE`, `CMD_RET_USAGE`, or (for `exit`)
   * a value below -1 that hush turns into an exit.
   */
  run(ctx: CommandContext, argv: string[]): number | Promise<number>;
  /** Tab completion of the argument being typed (optional). */
  complete?(ctx: CommandContext, argv: string[]): string[];
}

/** The command table: lookup with U-Boot's rules (up to the first `.`, exact match, unique prefix). */
export class CommandTable {
  readonly #commands = new Map<string, Command>();

  /** Creates a table holding `commands`. */
  constructor(commands: Iterable<Command> = []) {
    for (const command of commands) this.add(command);
  }

  /** Adds (or replaces) a command. */
  add(command: Command): void {
    this.#commands.set(command.name, command);
  }

  /** All commands sorted by name (strcmp order), as `help` lists them. */
  list(): Command[] {
    return [...this.#commands.values()].sort((a, b) => compareBytes(a.name, b.name));
  }

  /** The command exactly named `name`, if any. */
  get(name: string): Command | undefined {
    return this.#commands.get(name);
  }

  /**
   * U-Boot's `find_cmd`: the name is compared up to its first `.`; an exact match wins, else a unique
   * prefix. Returns `undefined` for an unknown or ambiguous name.
   */
  find(name: string): Command | undefined {
    const dot = name.indexOf(".");
    const base = dot >= 0 ? name.slice(0, dot) : name;
    const exact = this.#commands.get(base);
    if (exact) return exact;
    if (base.length === 0) return undefined;
    let found: Command | undefined;
    let matches = 0;
    for (const command of this.#commands.values()) {
      if (command.name.startsWith(base)) {
        found = command;
        matches++;
      }
    }
    return matches === 1 ? found : undefined;
  }
}

/** strcmp order for byte strings. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * U-Boot's `cmd_get_data_size(arg, default_size)`: the size suffix of a command name (`md.b`).
 * Returns 1, 2, 4 or 8, -2 for `.s`, -1 for an unknown suffix, and `defaultSize` when there is none.
 */
export function cmdGetDataSize(arg: string, defaultSize: number): number {
  if (arg.length > 2 && arg[arg.length - 2] === ".") {
    switch (arg[arg.length - 1]) {
      case "b":
        return 1;
      case "w":
        return 2;
      case "l":
        return 4;
      case "q":
        return 8;
      case "s":
        return -2;
      default:
        return -1;
    }
  }
  return defaultSize;
}

/** Prints U-Boot's usage of a command (`cmd_usage`) and returns 1. */
export function printUsage(console: Console, command: Command): number {
  console.puts(`${command.name} - ${command.usage}\n\nUsage:\n${command.name} ${command.help}\n`);
  return 1;
}
