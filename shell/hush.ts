/**
 * The executor of U-Boot's old hush: runs the lists {@linkcode parseList} builds, with U-Boot's
 * rules for `&&`/`||` skipping, if/elif/else, for/while/until, local variables, `$?`, and the
 * substitute-then-re-parse step every command with a variable reference goes through.
 *
 * @module
 */

import {
  type Child,
  FLAG_CONT_ON_NEWLINE,
  FLAG_EXIT_FROM_LOOP,
  FLAG_PARSE_SEMICOLON,
  FLAG_REPARSING,
  ParseInput,
  parseList,
  type Pipe,
  PipeStyle,
  Res,
  SPECIAL_VAR_SYMBOL,
  SUBSTED_VAR_SYMBOL,
} from "./hush_parser.ts";
import type { Environment } from "../env/environment.ts";
import type { Console } from "../commands/command.ts";

/** What hush needs from the rest of the shell. */
export interface HushHost {
  /** The environment (looked up before hush locals). */
  readonly env: Environment;
  /** The console (syntax errors, messages). */
  readonly console: Console;
  /** `cmd_process`: runs one command; returns its status (0, 1, -1 usage, below -1 for exit). */
  runArgv(argv: string[], flag: number): Promise<number>;
}

/** `is_assignment`: a letter, then letters, digits or `_`, then `=`. */
function _isAssignment(s: string | undefined): boolean {
  if (s === undefined) return false;
  if (!/^[A-Za-z]/.test(s)) return false;
  let i = 1;
  while (i < s.length && /[A-Za-z0-9_]/.test(s[i]!)) i++;
  return s[i] === "=";
}

/** The hush interpreter state: locals, `$?`, repeat flags. */
export class Hush {
  /** Hush local variables, in creation order (`showvar`). */
  readonly locals: Map<string, string> = new Map([["HUSH_VERSION", "0.01"]]);
  /** `last_return_code`. */
  lastReturnCode = 0;
  /** `flag_repeat`: the last interactive line may be repeated by an empty line. */
  flagRepeat = false;
  /** `do_repeat`: the current line is a repetition. */
  doRepeat = false;
  constructor(readonly host: HushHost) {}

  /** Prints hush's syntax error. */
  syntax(): void {
    this.host.console.puts("syntax error\n");
  }

  /** `set_local_var("name=value")`. */
  setLocal(assignment: string): number {
    const eq = assignment.indexOf("=");
    if (!/^[A-Za-z]/.test(assignment) || eq < 0) return -1;
    const name = assignment.slice(0, eq);
    const value = assignment.slice(eq + 1);
    if (name === "HUSH_VERSION") {
      if (value === this.locals.get(name)) return 1;
      this.host.console.puts(`${name}: readonly variable\n`);
      return -1;
    }
    // `name=` with nothing after it removes the local (as `showvar` on the real board shows).
    if (value === "") this.locals.delete(name);
    else this.locals.set(name, value);
    return 0;
  }

  /** `get_local_var`, with `$?` as `get_dollar_var`. */
  getLocal(name: string): string | undefined {
    if (name.startsWith("$")) return name[1] === "?" ? String(this.lastReturnCode >>> 0) : undefined;
    return this.locals.get(name);
  }

  /** `lookup_param`: environment first, then locals; `${v:-d}`, `${v:=d}`, `${v:+a}`. */
  lookupParam(src: string): string | undefined {
    let name = src;
    let defaultVal: string | undefined;
    let assign = false;
    let expandEmpty = false;
    const sep = src.indexOf(":");
    if (sep >= 0) {
      name = src.slice(0, sep);
      const op = src[sep + 1];
      if (op === "-" || op === "=" || op === "+") defaultVal = src.slice(sep + 2);
      assign = op === "=";
      expandEmpty = op === "+";
    }
    let p = this.host.env.get(name) ?? this.getLocal(name);
    if (p === undefined || p.length === 0) {
      p = defaultVal;
      if (assign && defaultVal !== undefined) this.setLocal(`${name}=${defaultVal}`);
    } else if (expandEmpty) {
      p = "";
    }
    return p;
  }

  /** `insert_var_value_sub`: substitutes `\x03name\x03` markers; newlines in the result become spaces. */
  insertVarValue(inp: string, tagSubst = false): string {
    if (!inp.includes(SPECIAL_VAR_SYMBOL)) return inp;
    let out = "";
    let i = 0;
    for (;;) {
      const start = inp.indexOf(SPECIAL_VAR_SYMBOL, i);
      if (start < 0) break;
      out += inp.slice(i, start);
      const end = inp.indexOf(SPECIAL_VAR_SYMBOL, start + 1);
      const value = this.lookupParam(inp.slice(start + 1, end));
      if (value !== undefined) out += tagSubst ? `${SUBSTED_VAR_SYMBOL}${value}${SUBSTED_VAR_SYMBOL}` : value;
      i = end + 1;
    }
    out += inp.slice(i);
    return out.replaceAll("\n", " ");
  }

  /** `make_list_in`: the `for` words, expanded and split on spaces, as `name=value` assignments. */
  #makeListIn(words: string[], name: string): string[] {
    const list: string[] = [];
    for (const word of words) {
      for (const part of this.insertVarValue(word).split(" ")) {
        if (part.length > 0) list.push(`${name}=${part}`);
      }
    }
    return list;
  }

  /** `make_string`: flattens substituted words back into a line; quoted words are wrapped in `'`. */
  #makeString(argv: string[], nonnull: boolean[]): string {
    const noeval = this.getLocal("HUSH_NO_EVAL");
    const tag = noeval !== undefined && noeval !== "" && noeval[0] !== "0";
    const parts = argv.map((word, n) => {
      const p = this.insertVarValue(word, tag);
      return nonnull[n] ? `'${p}'` : p;
    });
    return `${parts.join(" ")}\n`;
  }

  /** `run_pipe_real`. */
  async #runPipe(pi: Pipe): Promise<number> {
    if (pi.numProgs !== 1) return -1;
    const child: Child = pi.progs[0]!;
    if (child.group) return await this.#runListReal(child.group);
    const argv = child.argv;
    if (!argv) return -1;
    let i = 0;
    while (_isAssignment(argv[i])) i++;
    if (i !== 0 && i === argv.length) {
      for (const word of argv) this.setLocal(this.insertVarValue(word));
      return 0;
    }
    let sp = child.sp;
    for (let j = 0; j < i; j++) {
      const p = this.insertVarValue(argv[j]!);
      this.setLocal(p);
      if (p !== argv[j]) sp--;
    }
    if (sp) {
      const str = this.#makeString(argv.slice(i), child.nonnull.slice(i));
      await this.parseStringOuter(str, FLAG_EXIT_FROM_LOOP | FLAG_REPARSING);
      return this.lastReturnCode;
    }
    const words = argv.slice(i);
    if (words[0]!.includes(";")) {
      this.host.console.puts(`Unknown command '${words[0]}' - try 'help' or use 'run' command\n`);
      return -1;
    }
    return await this.host.runArgv(words, this.doRepeat ? 1 : 0);
  }

  /** `run_list_real`. */
  async #runListReal(head: Pipe): Promise<number> {
    // Syntax check of for/in.
    for (let r: Pipe | null = head; r; r = r.next) {
      if ((r.rMode === Res.IN || r.rMode === Res.FOR) && r.next === null) {
        this.syntax();
        this.flagRepeat = false;
        return 1;
      }
      if (
        (r.rMode === Res.IN && r.next!.rMode === Res.IN && r.next!.progs[0]?.argv) ||
        (r.rMode === Res.FOR && r.next!.rMode !== Res.IN)
      ) {
        this.syntax();
        this.flagRepeat = false;
        return 1;
      }
    }
    let rcode = 0;
    let flagSkip = true;
    let flagRep = false;
    let flagRestore = false;
    let ifCode = 0;
    let nextIfCode = 0;
    let skipMore: Res = Res.XXXX;
    let rpipe: Pipe | null = null;
    let list: string[] | null = null;
    let listPos = 0;
    let saveName: string | undefined;
    for (let pi: Pipe | null = head; pi; pi = flagRestore ? rpipe : pi.next) {
      if (pi.rMode === Res.WHILE || pi.rMode === Res.UNTIL || pi.rMode === Res.FOR) {
        this.host.console.ctrlc();
        if (this.host.console.hadCtrlc()) return 1;
        flagRestore = false;
        if (!rpipe) {
          flagRep = false;
          rpipe = pi;
        }
      }
      const rmode = pi.rMode;
      if (rmode === skipMore && flagSkip) {
        if (pi.followup === PipeStyle.SEQ) flagSkip = false;
        continue;
      }
      flagSkip = true;
      skipMore = Res.XXXX;
      if (rmode === Res.THEN || rmode === Res.ELSE) ifCode = nextIfCode;
      if (rmode === Res.THEN && ifCode) continue;
      if (rmode === Res.ELSE && !ifCode) continue;
      if (rmode === Res.ELIF && !ifCode) break;
      if (rmode === Res.FOR && pi.numProgs) {
        const child = pi.progs[0]!;
        if (!list) {
          const inWords = pi.next!.progs[0]?.argv;
          if (!inWords) continue;
          saveName = child.argv![0]!;
          list = this.#makeListIn(inWords, saveName);
          listPos = 0;
          flagRep = true;
        }
        if (listPos >= list.length) {
          child.argv![0] = saveName!;
          list = null;
          flagRep = false;
          continue;
        }
        child.argv![0] = list[listPos++]!;
      }
      if (rmode === Res.IN) continue;
      if (rmode === Res.DO && !flagRep) continue;
      if (rmode === Res.DONE) {
        if (flagRep) flagRestore = true;
        else rpipe = null;
      }
      if (pi.numProgs === 0) continue;
      rcode = await this.#runPipe(pi);
      this.lastReturnCode = rcode === 0 ? 0 : 1;
      if (rmode === Res.IF || rmode === Res.ELIF) nextIfCode = rcode;
      if (rmode === Res.WHILE) flagRep = this.lastReturnCode === 0;
      if (rmode === Res.UNTIL) flagRep = this.lastReturnCode !== 0;
      if (
        (rcode === 0 && pi.followup === PipeStyle.OR) ||
        (rcode !== 0 && pi.followup === PipeStyle.AND)
      ) {
        skipMore = rmode;
      }
    }
    return rcode;
  }

  /**
   * `parse_stream_outer` over a string (`parse_string_outer`): parses and runs list after list.
   * Returns 0 or 1.
   */
  async parseStringOuter(s: string, flag: number): Promise<number> {
    if (s.length === 0) return 0;
    const text = s.endsWith("\n") ? s : `${s}\n`;
    const input = new ParseInput(text);
    let code = 0;
    let status: number;
    do {
      const ifs = this.host.env.get("IFS") ?? " \t\n";
      const r = parseList(input, flag, ifs, () => this.syntax());
      status = r.status;
      if (status === 1) this.flagRepeat = false;
      if (status !== 1 && r.open) {
        this.syntax();
        this.flagRepeat = false;
      }
      if (status !== 1 && !r.open) {
        code = await this.#runListReal(r.list);
        if (code === -1) this.flagRepeat = false;
      } else {
        // Discard the rest of the line after a syntax error.
        const nl = input.text.indexOf("\n", input.pos);
        input.pos = nl < 0 ? input.text.length : nl + 1;
      }
    } while (status !== -1 && !(flag & FLAG_EXIT_FROM_LOOP) && !input.atEnd);
    return code !== 0 ? 1 : 0;
  }

  /** `run_command` under hush: one string, `;` parsed; `CMD_FLAG_ENV` makes newlines separators. */
  async runCommand(cmd: string, fromEnv: boolean): Promise<number> {
    let flag = FLAG_PARSE_SEMICOLON | FLAG_EXIT_FROM_LOOP;
    if (fromEnv) flag |= FLAG_CONT_ON_NEWLINE;
    const rc = await this.parseStringOuter(cmd, flag);
    return rc;
  }

  /** `run_command_list` under hush: line by line, carrying on after failures. */
  async runCommandList(cmd: string): Promise<number> {
    return await this.parseStringOuter(cmd, FLAG_PARSE_SEMICOLON);
  }

  /**
   * Parses interactive input (`parse_file_outer` for one prompt): returns `"more"` when a construct
   * or quote is still open and another line is needed, else runs it and returns the status.
   */
  async runInteractive(text: string): Promise<number | "more"> {
    const input = new ParseInput(text);
    const ifs = this.host.env.get("IFS") ?? " \t\n";
    // A trial parse with syntax errors muted tells whether more input is needed.
    const trial = parseList(new ParseInput(text), FLAG_PARSE_SEMICOLON, ifs, () => {});
    if (trial.status === -1) return "more";
    const r = parseList(input, FLAG_PARSE_SEMICOLON, ifs, () => this.syntax());
    if (r.status === 1) {
      this.flagRepeat = false;
      return 1;
    }
    if (r.open) return "more";
    const code = await this.#runListReal(r.list);
    if (code === -1) this.flagRepeat = false;
    return code;
  }
}
