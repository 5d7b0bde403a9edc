/**
 * The shell: U-Boot's command dispatch (common/command.c `cmd_process`) over the command table, with
 * the board's parser (hush by default, the simple parser for the xenguest profile), the repeat-last-
 * command rule of the main loop, and `xtrace`.
 *
 * @module
 */

import {
  CMD_FLAG_ENV,
  CMD_FLAG_REPEAT,
  CMD_RET_USAGE,
  type Command,
  type CommandContext,
  CommandTable,
  type Console,
  printUsage,
  type ShellApi,
} from "../commands/command.ts";
import type { Environment } from "../env/environment.ts";
import type { BoardInfo } from "../board/board_info.ts";
import { DataAbort, type PhysicalMemory } from "../machine/platform.ts";
import { Hush } from "./hush.ts";
import { FLAG_PARSE_SEMICOLON } from "./hush_parser.ts";

export { printUsage };
import { type SimpleHost, simpleRunCommand, simpleRunCommandList } from "./cli_simple.ts";

/** Which parser the board's build has. */
export type ParserKind = "hush" | "simple";

/** What a shell is made of. */
export interface ShellOptions {
  /** The commands of the board profile. */
  commands: Iterable<Command>;
  /** The environment. */
  env: Environment;
  /** The console. */
  console: Console;
  /** Guest memory. */
  memory: PhysicalMemory;
  /** The board. */
  board: BoardInfo;
  /** hush or the simple parser. */
  parser: ParserKind;
}

/** Why a session ended. */
export type ExitKind = "reset" | "poweroff";

/** The shell of one guest session. */
export class Shell implements ShellApi {
  readonly commands: CommandTable;
  readonly env: Environment;
  readonly console: Console;
  readonly memory: PhysicalMemory;
  readonly board: BoardInfo;
  readonly parser: ParserKind;
  readonly hush: Hush | undefined;
  /** Set when a command asked the session to end. */
  exitRequest: ExitKind | undefined;
  #lastCommand = "";
  #repeatable = true;

  constructor(options: ShellOptions) {
    this.commands = new CommandTable(options.commands);
    this.env = options.env;
    this.console = options.console;
    this.memory = options.memory;
    this.board = options.board;
    this.parser = options.parser;
    if (options.parser === "hush") {
      this.hush = new Hush({
        env: this.env,
        console: this.console,
        runArgv: async (argv, flag) => {
          const repeat = this.hush!.doRepeat ? CMD_FLAG_REPEAT : 0;
          const r = await this.cmdProcess(argv, flag | repeat);
          if (!r.repeatable) this.hush!.flagRepeat = false;
          return r.rc;
        },
      });
    }
  }

  /** Hush locals, for `showvar`. */
  get locals(): Map<string, string> | undefined {
    return this.hush?.locals;
  }

  /** `$?` (hush) — the simple parser has none. */
  get lastReturnCode(): number {
    return this.hush?.lastReturnCode ?? 0;
  }

  #context(flag: number): CommandContext {
    return {
      env: this.env,
      console: this.console,
      memory: this.memory,
      board: this.board,
      shell: this,
      commands: this.commands,
      flag,
      requestExit: (kind) => {
        this.exitRequest = kind;
      },
    };
  }

  /** `cmd_process`: looks the command up, checks maxargs, runs it, prints usage on `CMD_RET_USAGE`. */
  async cmdProcess(argv: string[], flag: number): Promise<{ rc: number; repeatable: boolean }> {
    // After a hand-over, reset or poweroff nothing runs any more: the rest of a script, a loop or a
    // line never executes on the board either.
    if (this.exitRequest) return { rc: 0, repeatable: false };
    if (this.env.has("xtrace")) {
      this.console.puts(`+${argv.map((a) => ` ${a}`).join("")}\n`);
    }
    const name = argv[0]!;
    const command = this.commands.find(name);
    if (!command) {
      this.console.puts(`Unknown command '${name}' - try 'help'\n`);
      return { rc: 1, repeatable: false };
    }
    let rc = 0;
    if (argv.length > command.maxArgs) {
      rc = CMD_RET_USAGE;
    } else {
      try {
        rc = await command.run(this.#context(flag), argv);
      } catch (e: unknown) {
        if (!(e instanceof DataAbort)) throw e;
        this.console.puts(
          `"Synchronous Abort" handler, esr 0x${e.write ? "96000044" : "96000004"}\n` +
            `far : ${e.address.toString(16).padStart(16, "0")}\n`,
        );
        rc = 1;
      }
    }
    if (rc === CMD_RET_USAGE) rc = printUsage(this.console, command);
    return { rc, repeatable: command.repeatable };
  }

  /** `run_command(cmd, flag)`: 0 on success, 1 on failure. */
  async runCommand(cmd: string, flag: number): Promise<number> {
    if (this.hush) {
      const rc = await this.hush.runCommand(cmd, (flag & CMD_FLAG_ENV) !== 0);
      return rc < 0 ? 1 : rc;
    }
    return (await simpleRunCommand(cmd, flag, this.#simpleHost())) === -1 ? 1 : 0;
  }

  /** `run_command_list`: scripts and `bootcmd`. */
  async runCommandList(cmd: string, _flag: number): Promise<number> {
    if (this.hush) {
      const rc = await this.hush.runCommandList(cmd);
      return rc < 0 ? 1 : rc;
    }
    return await simpleRunCommandList(cmd, this.#simpleHost());
  }

  #simpleHost(): SimpleHost {
    return {
      envGet: (n) => this.env.get(n),
      puts: (s) => this.console.puts(s),
      runArgv: (argv, flag) => this.cmdProcess(argv, flag),
      hadCtrlc: () => this.console.hadCtrlc(),
      clearCtrlc: () => this.console.clearCtrlc(),
    };
  }

  /**
   * One line typed at the prompt (the main loop). An empty line repeats the last repeatable command
   * (unless `repeat` is false, as for scripted input).
   * Returns `"more"` when hush needs another line (an open `if`, `for` or quote: prompt `> `).
   * `pending` carries the lines typed so far for such a construct.
   */
  async inputLine(
    line: string,
    pending = "",
    options: { repeat?: boolean } = {},
  ): Promise<number | "more"> {
    const repeat = options.repeat ?? true;
    if (!repeat && line === "" && pending === "") return this.lastReturnCode;
    if (this.hush) {
      const hush = this.hush;
      this.console.clearCtrlc();
      hush.doRepeat = false;
      let text: string;
      if (pending === "") {
        if (line === "" && hush.flagRepeat) {
          hush.doRepeat = true;
          text = this.#lastCommand;
        } else {
          text = `${line}\n`;
          if (line !== "") {
            this.#lastCommand = text;
            hush.flagRepeat = true;
          }
        }
      } else {
        text = `${pending}${line}\n`;
        this.#lastCommand = text;
      }
      const rc = await hush.runInteractive(text);
      if (rc === "more") return rc;
      return hush.lastReturnCode;
    }
    // Simple parser main loop (cli_simple_loop).
    let flag = 0;
    if (line.length > 0) this.#lastCommand = line;
    else flag |= CMD_FLAG_REPEAT;
    if (!this.#repeatable && line.length === 0) this.#lastCommand = "";
    const rc = await simpleRunCommand(this.#lastCommand, flag, this.#simpleHost());
    this.#repeatable = rc > 0;
    if (rc <= 0) this.#lastCommand = "";
    return rc < 0 ? 1 : 0;
  }

  /** Input ended inside an open hush construct: reports it as hush does for a string (syntax error). */
  async finishPending(pending: string): Promise<number> {
    if (!this.hush) return 0;
    await this.hush.parseStringOuter(pending, FLAG_PARSE_SEMICOLON);
    this.hush.lastReturnCode = 1;
    return 1;
  }

  /** The prompt for a new command (`CONFIG_SYS_PROMPT`). */
  prompt(): string {
    return this.board.profile === "xenguest" ? "xenguest# " : "=> ";
  }
}
