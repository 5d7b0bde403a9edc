/**
 * U-Boot's simple command-line parser (common/cli_simple.c), the one the real xenguest_arm64 build
 * runs: `;` separates commands (outside single quotes, `\;` escapes), `${name}`/`$(name)` expand from
 * the environment just before each command runs, words split on blanks, no hush constructs.
 *
 * @module
 */

/** `CONFIG_SYS_CBSIZE`: longest command line. */
export const SYS_CBSIZE = 1024;
/** `CONFIG_SYS_MAXARGS`. */
export const SYS_MAXARGS = 64;

/** What the simple parser needs from the shell. */
export interface SimpleHost {
  /** Environment lookup. */
  envGet(name: string): string | undefined;
  /** Prints. */
  puts(text: string): void;
  /** `cmd_process`: returns the command's status and whether it is repeatable. */
  runArgv(argv: string[], flag: number): Promise<{ rc: number; repeatable: boolean }>;
  /** `had_ctrlc()`. */
  hadCtrlc(): boolean;
  /** `clear_ctrlc()`. */
  clearCtrlc(): void;
}

/** `cli_simple_process_macros`: expands `${x}`/`$(x)`, removes one level of `\` and the `'` quotes. */
export function processMacros(input: string, envGet: (name: string) => string | undefined): string {
  let out = "";
  let state = 0;
  let prev = "";
  let nameStart = 0;
  for (let i = 0; i < input.length; i++) {
    let c = input[i]!;
    if (state !== 3 && c === "\\" && prev !== "\\") {
      if (i + 1 >= input.length) break;
      prev = c;
      c = input[++i]!;
    }
    switch (state) {
      case 0:
        if (c === "'" && prev !== "\\") state = 3;
        else if (c === "$" && prev !== "\\") state = 1;
        else out += c;
        break;
      case 1:
        if (c === "(" || c === "{") {
          state = 2;
          nameStart = i + 1;
        } else {
          state = 0;
          out += `$${c}`;
        }
        break;
      case 2:
        if (c === ")" || c === "}") {
          out += envGet(input.slice(nameStart, i)) ?? "";
          state = 0;
        }
        break;
      case 3:
        if (c === "'" && prev !== "\\") state = 0;
        else out += c;
        break;
    }
    prev = c;
  }
  return out;
}

/** `cli_simple_parse_line`: splits on blanks (space, tab); quotes do not group. */
export function parseLine(line: string, puts: (s: string) => void): string[] {
  const argv = line.split(/[ \t]+/).filter((w) => w.length > 0);
  if (argv.length > SYS_MAXARGS) {
    puts(`** Too many args (max. ${SYS_MAXARGS}) **\n`);
    return argv.slice(0, SYS_MAXARGS);
  }
  return argv;
}

/**
 * `cli_simple_run_command`: returns -1 on failure, else 1 when every command was repeatable, 0 when
 * not.
 */
export async function simpleRunCommand(cmd: string, flag: number, host: SimpleHost): Promise<number> {
  host.clearCtrlc();
  if (cmd.length === 0) return -1;
  if (cmd.length >= SYS_CBSIZE) {
    host.puts("## Command too long!\n");
    return -1;
  }
  let rc = 0;
  let repeatable = true;
  let str = 0;
  while (str < cmd.length) {
    let inquotes = false;
    let sep = str;
    for (; sep < cmd.length; sep++) {
      const c = cmd[sep];
      if (c === "'" && cmd[sep - 1] !== "\\") inquotes = !inquotes;
      if (!inquotes && c === ";" && sep !== str && cmd[sep - 1] !== "\\") break;
    }
    const token = cmd.slice(str, sep);
    str = sep < cmd.length ? sep + 1 : sep;
    const argv = parseLine(processMacros(token, (n) => host.envGet(n)), (s) => host.puts(s));
    if (argv.length === 0) {
      rc = -1;
      continue;
    }
    const r = await host.runArgv(argv, flag);
    repeatable &&= r.repeatable;
    if (r.rc !== 0) rc = -1;
    if (host.hadCtrlc()) return -1;
  }
  return rc ? rc : repeatable ? 1 : 0;
}

/** `run_command_list` on the simple parser: line by line, stopping at the first failing line. */
export async function simpleRunCommandList(cmd: string, host: SimpleHost): Promise<number> {
  for (const line of cmd.split("\n")) {
    if (line.length === 0) continue;
    if ((await simpleRunCommand(line, 0, host)) < 0) return 1;
  }
  return 0;
}
