/**
 * Environment commands (cmd/nvedit.c): `printenv`, `setenv`, `env` (default, delete, exists, print,
 * run, set) and `run`.
 *
 * @module
 */

import {
  CMD_FLAG_ENV,
  CMD_RET_USAGE,
  type Command,
  type CommandContext,
  CommandTable,
  printUsage,
} from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { EnvError } from "../env/environment.ts";

const SYS_MAXARGS = 64;

/** `printenv [-a] [name ...]`. */
function _printenv(ctx: CommandContext, argv: string[]): number {
  let args = argv.slice(1);
  let all = false;
  if (args[0]?.startsWith("-a")) {
    all = true;
    args = args.slice(1);
  }
  if (args.length === 0) {
    const { text, size } = ctx.env.export(all);
    ctx.console.puts(text);
    ctx.console.puts(`\nEnvironment size: ${size}/${ctx.env.envSize} bytes\n`);
    return 0;
  }
  let rcode = 0;
  for (const name of args) {
    const value = ctx.env.get(name);
    if (value === undefined) {
      ctx.console.puts(`## Error: "${name}" not defined\n`);
      rcode++;
    } else {
      ctx.console.puts(`${name}=${value}\n`);
    }
  }
  return rcode;
}

/** Strips `-f` style flags; returns the remaining argv and force, or undefined on a bad flag. */
function _flags(argv: string[], allowed: string): { rest: string[]; flags: Set<string> } | undefined {
  const flags = new Set<string>();
  let i = 1;
  while (i < argv.length && argv[i]!.startsWith("-")) {
    for (const f of argv[i]!.slice(1)) {
      if (!allowed.includes(f)) return undefined;
      flags.add(f);
    }
    i++;
  }
  return { rest: argv.slice(i), flags };
}

/** `setenv [-f] name [value ...]` (`_do_env_set`). */
function _setenv(ctx: CommandContext, argv: string[]): number {
  if (argv.length < 2) return CMD_RET_USAGE;
  const parsed = _flags(argv, "f");
  if (!parsed) return CMD_RET_USAGE;
  const [name, ...values] = parsed.rest;
  if (name === undefined) return 0;
  const force = parsed.flags.has("f");
  if (name.includes("=")) {
    ctx.console.puts(`## Error: illegal character '='in variable name "${name}"\n`);
    return 1;
  }
  try {
    if (values.length === 0) {
      ctx.env.delete(name, { force });
      return 0;
    }
    ctx.env.set(name, values.join(" "), { force });
  } catch (e: unknown) {
    if (!(e instanceof EnvError)) throw e;
    ctx.console.puts(e.lines);
    if (values.length === 0) return 1;
    ctx.console.puts(`## Error inserting "${name}" variable, errno=1\n`);
    return 1;
  }
  return 0;
}

/** `env delete [-f] var ...`. */
function _envDelete(ctx: CommandContext, argv: string[]): number {
  const parsed = _flags(argv, "f");
  if (!parsed) return CMD_RET_USAGE;
  let ret = 0;
  for (const name of parsed.rest) {
    try {
      if (!ctx.env.delete(name, { force: parsed.flags.has("f") })) ret = 1;
    } catch (e: unknown) {
      if (!(e instanceof EnvError)) throw e;
      ctx.console.puts(e.lines);
      ret = 1;
    }
  }
  return ret;
}

/** Variables U-Boot sets at run time that `env default -a` drops (kept with `-k`). */
function _envDefault(ctx: CommandContext, argv: string[], usage: () => number): number {
  let all = false;
  let keep = false;
  let force = false;
  let i = 1;
  for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
    for (const f of argv[i]!.slice(1)) {
      if (f === "a") all = true;
      else if (f === "f") force = true;
      else if (f === "k") keep = true;
      else return usage();
    }
  }
  const names = argv.slice(i);
  if (all && names.length === 0) {
    ctx.console.puts("## Resetting to default environment\n");
    ctx.env.resetToDefault(keep ? new Set(ctx.env.entries().map(([n]) => n)) : new Set());
    return 0;
  }
  if (!all && names.length > 0) {
    for (const name of names) {
      try {
        ctx.env.resetVarToDefault(name, { force });
      } catch (e: unknown) {
        if (!(e instanceof EnvError)) throw e;
        ctx.console.puts(e.lines);
      }
    }
    return 0;
  }
  return usage();
}

/** `run var ...`: runs each variable as a command string, stopping at the first failure. */
async function _run(ctx: CommandContext, argv: string[]): Promise<number> {
  if (argv.length < 2) return CMD_RET_USAGE;
  for (const name of argv.slice(1)) {
    const value = ctx.env.get(name);
    if (value === undefined) {
      ctx.console.puts(`## Error: "${name}" not defined\n`);
      return 1;
    }
    if ((await ctx.shell.runCommand(value, ctx.flag | CMD_FLAG_ENV)) !== 0) return 1;
  }
  return 0;
}

/** The environment commands. */
export function envCommands(): Command[] {
  const printenv = defineCommand({
    name: "printenv",
    maxArgs: SYS_MAXARGS,
    repeatable: true,
    run: _printenv,
  });
  const setenv = defineCommand({ name: "setenv", maxArgs: SYS_MAXARGS, repeatable: false, run: _setenv });
  const run = defineCommand({ name: "run", maxArgs: SYS_MAXARGS, repeatable: true, run: _run });
  const sub = (name: string, fn: (ctx: CommandContext, argv: string[]) => number | Promise<number>) =>
    ({ name, maxArgs: SYS_MAXARGS, repeatable: false, usage: "", help: "", run: fn }) satisfies Command;
  const usage = (ctx: CommandContext) => () => printUsage(ctx.console, envCommand);
  const subcommands = new CommandTable([
    sub("default", (ctx, argv) => _envDefault(ctx, argv, usage(ctx))),
    sub("delete", _envDelete),
    sub("exists", (ctx, argv) => {
      if (argv.length < 2) return CMD_RET_USAGE;
      return ctx.env.has(argv[1]!) ? 0 : 1;
    }),
    sub("print", _printenv),
    sub("run", _run),
    sub("set", _setenv),
  ]);
  const envCommand: Command = defineCommand({
    name: "env",
    maxArgs: SYS_MAXARGS,
    repeatable: true,
    run(ctx, argv) {
      if (argv.length < 2) return CMD_RET_USAGE;
      const cp = subcommands.find(argv[1]!);
      if (!cp) return CMD_RET_USAGE;
      return cp.run(ctx, argv.slice(1));
    },
  });
  return [printenv, setenv, envCommand, run];
}
