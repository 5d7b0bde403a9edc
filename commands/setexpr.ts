/**
 * `setexpr` (U-Boot 2023.01 cmd/setexpr.c): sets a variable to a value, to the result of one operator
 * on two values, or to a regex substitution (`sub`/`gsub`, with SLRE, U-Boot's regex engine).
 *
 * - `setexpr[.b|.w|.l|.q|.s] name value` and `setexpr[...] name a op b`: operands are hex, or `*addr`
 *   read from memory at the width (1, 2 or 4 bytes; any other width reads 8). Arithmetic is 64-bit
 *   unsigned; `/0` gives 0 and `%0` gives the dividend, as AArch64's divide does. Results are
 *   stored as `%lx`. `.s` reads C strings of up to 64 KiB and only knows `+` (concatenation).
 * - `setexpr name sub|gsub regex replacement [text]`: see lib/slre/substitute.ts; prints `name=value`.
 *
 * @module
 */

import {
  CMD_RET_FAILURE,
  CMD_RET_SUCCESS,
  CMD_RET_USAGE,
  cmdGetDataSize,
  type Command,
  type CommandContext,
} from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { EnvError } from "../env/environment.ts";
import { simpleStrtoul } from "../lib/strto.ts";
import {
  regexSubstitute,
  slreCompile,
  SlreCompileError,
  type SlreProgram,
  SlreStepLimitError,
} from "../lib/slre/mod.ts";

/** `setexpr`'s maxargs: `name [g]sub r s t` (no SETEXPR_FMT in this build). */
const SETEXPR_MAXARGS = 6;
/** `cmd_get_data_size` for `.s`. */
const CMD_DATA_SIZE_STR = -2;
/** The default operand width (`cmd_get_data_size(argv[0], 4)`). */
const DEFAULT_WIDTH = 4;
/** `SZ_64K`: the longest string `setexpr.s` reads from memory. */
const MAX_STRING = 0x10000;
const ULONG_MASK = (1n << 64n) - 1n;

/** An operand: an integer, or a string for `.s`. */
type Operand = bigint | string;

/** The message for a regex that runs away (U-Boot hangs there; pvboot stops). */
const STEP_LIMIT_MESSAGE = "## error: regex step limit exceeded\n";

/**
 * The `setexpr` command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setexprCommand } from "./setexpr.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * const ctx = fakeContext();
 * await setexprCommand().run(ctx, ["setexpr", "v", "7", "-", "9"]);
 * assert.ok(ctx.env.get("v") === "fffffffffffffffe");
 * ```
 */
export function setexprCommand(): Command {
  return defineCommand({
    name: "setexpr",
    maxArgs: SETEXPR_MAXARGS,
    repeatable: false,
    run: _doSetexpr,
  });
}

function _doSetexpr(ctx: CommandContext, argv: string[]): number {
  const argc = argv.length;
  if (argc < 3 || argc === 4) return CMD_RET_USAGE;
  const w = cmdGetDataSize(argv[0] ?? "", DEFAULT_WIDTH);
  const name = argv[1] ?? "";

  // U-Boot evaluates the first operand even when it turns out to be `sub`/`gsub`.
  const a = _getArg(ctx, argv[2] ?? "", w);
  if (a === undefined) return CMD_RET_FAILURE;

  if (argc === 3) {
    return typeof a === "string" ? _envSet(ctx, name, a) : _envSet(ctx, name, _hex(a));
  }

  if (argv[2] === "gsub" || argv[2] === "sub") {
    return _regexSubVar(ctx, name, argv[3] ?? "", argv[4] ?? "", argv[5], argv[2] === "gsub");
  }

  if (argc !== 5) return CMD_RET_USAGE;
  const op = argv[3] ?? "";
  if (op.length !== 1) return CMD_RET_USAGE;
  const b = _getArg(ctx, argv[4] ?? "", w);
  if (b === undefined) return CMD_RET_FAILURE;

  if (typeof a === "string" || typeof b === "string") {
    if (op !== "+") {
      ctx.console.puts("invalid op\n");
      return CMD_RET_FAILURE;
    }
    const rc = _envSet(ctx, name, `${a}${b}`);
    if (rc !== CMD_RET_SUCCESS) ctx.console.puts("Could not set var\n");
    return rc;
  }

  const value = _operate(a, op, b);
  if (value === undefined) {
    ctx.console.puts("invalid op\n");
    return CMD_RET_FAILURE;
  }
  // U-Boot ignores env_set_hex's result here.
  _envSet(ctx, name, _hex(value));
  return CMD_RET_SUCCESS;
}

/** One operator on 64-bit unsigned values; undefined for an unknown operator. */
function _operate(a: bigint, op: string, b: bigint): bigint | undefined {
  switch (op) {
    case "|":
      return a | b;
    case "&":
      return a & b;
    case "+":
      return (a + b) & ULONG_MASK;
    case "^":
      return a ^ b;
    case "-":
      return (a - b) & ULONG_MASK;
    case "*":
      return (a * b) & ULONG_MASK;
    case "/":
      return b === 0n ? 0n : a / b; // AArch64 UDIV by zero gives 0
    case "%":
      return b === 0n ? a : a % b; // a - (a / 0) * 0
    default:
      return undefined;
  }
}

/**
 * `get_arg`: a hex number, or `*addr` read at width `w`; for `.s` only `*addr` (a C string), else
 * undefined (U-Boot's -EINVAL, a silent failure). Memory outside RAM throws DataAbort.
 */
function _getArg(ctx: CommandContext, s: string, w: number): Operand | undefined {
  if (s[0] !== "*") {
    if (w === CMD_DATA_SIZE_STR) return undefined;
    return simpleStrtoul(s, 16).value;
  }
  const addr = _toAddress(simpleStrtoul(s, 16, 1).value);
  switch (w) {
    case 1:
      return BigInt(ctx.memory.readU8(addr));
    case 2:
      return BigInt(ctx.memory.readU16(addr));
    case 4:
      return BigInt(ctx.memory.readU32(addr));
    case CMD_DATA_SIZE_STR:
      return _readString(ctx, addr);
    default:
      return ctx.memory.readU64(addr);
  }
}

/**
 * The string at `addr`: `strnlen(p, 64K) + 1` bytes are copied (so the byte after a 64 KiB run
 * without NUL is read too) and the last one replaced by NUL.
 */
function _readString(ctx: CommandContext, addr: number): string {
  let text = "";
  let length = 0;
  for (; length < MAX_STRING; length++) {
    const byte = ctx.memory.readU8(addr + length);
    if (byte === 0) return text;
    text += String.fromCharCode(byte);
  }
  ctx.memory.readU8(addr + length);
  return text;
}

/** An address as a number; values past 2^53 (never RAM) saturate and fault on access. */
function _toAddress(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/** `%lx`. */
function _hex(value: bigint): string {
  return value.toString(16);
}

/** `env_set` (an empty value deletes): 0, or 1 after printing why the environment refused. */
function _envSet(ctx: CommandContext, name: string, value: string): number {
  try {
    ctx.env.envSet(name, value);
    return CMD_RET_SUCCESS;
  } catch (e) {
    if (!(e instanceof EnvError)) throw e;
    ctx.console.puts(e.lines);
    return CMD_RET_FAILURE;
  }
}

/** `regex_sub_var`: compile, take the text (argument or old value), substitute, print, store. */
function _regexSubVar(
  ctx: CommandContext,
  name: string,
  regex: string,
  replacement: string,
  text: string | undefined,
  global: boolean,
): number {
  let program: SlreProgram;
  try {
    program = slreCompile(regex);
  } catch (e) {
    if (!(e instanceof SlreCompileError)) throw e;
    ctx.console.puts(`Error compiling regex: ${e.reason}\n`);
    return CMD_RET_FAILURE;
  }
  if (text === undefined) {
    text = ctx.env.get(name);
    if (text === undefined) {
      ctx.console.puts(`## Error: variable "${name}" not defined\n`);
      return CMD_RET_FAILURE;
    }
  }
  let outcome;
  try {
    outcome = regexSubstitute(program, text, replacement, global);
  } catch (e) {
    if (!(e instanceof SlreStepLimitError)) throw e;
    ctx.console.puts(STEP_LIMIT_MESSAGE);
    return CMD_RET_FAILURE;
  }
  if (!outcome.ok) {
    ctx.console.puts(outcome.message);
    return CMD_RET_FAILURE;
  }
  ctx.console.puts(`${name}=${outcome.text}\n`);
  return _envSet(ctx, name, outcome.text);
}
