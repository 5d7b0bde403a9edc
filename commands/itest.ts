/**
 * `itest[.b|.w|.l|.q|.s] a op b` (U-Boot 2023.01 cmd/itest.c): compares two integers or strings and
 * returns 0 when the comparison holds, 1 otherwise.
 *
 * - Integers are hex, or `*addr` read from memory at the width (default 4 bytes). Literal values are
 *   cut to the width; all values compare as signed 64-bit `long`s.
 * - `.s` compares strings (strcmp): `*addr` is a C string in memory, `${name}` an environment
 *   variable, anything else the literal text. A missing variable is a NULL pointer, which U-Boot
 *   dereferences: it reads address 0.
 * - Operators: `-lt < -gt > -eq == -ne != <> -ge >= -le <=`; another prints "Unknown operator".
 *
 * @module
 */

import { CMD_RET_USAGE, cmdGetDataSize, type Command, type CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { simpleStrtoul } from "../lib/strto.ts";

/** `itest`'s maxargs. */
const ITEST_MAXARGS = 4;
/** `cmd_get_data_size` for `.s`. */
const CMD_DATA_SIZE_STR = -2;
/** The default width (`cmd_get_data_size(argv[0], 4)`). */
const DEFAULT_WIDTH = 4;
/** `sizeof(long)` on arm64: values this wide are not masked. */
const LONG_BYTES = 8;
/**
 * Bytes strcmp compares before pvboot calls two in-memory strings equal. U-Boot has no limit (it runs
 * to a NUL or a fault); one MiB is far beyond any string a script keeps in memory.
 */
const MAX_STRCMP = 1 << 20;
/** Where a NULL string pointer reads from. */
const NULL_ADDRESS = 0;

type Comparison = (order: number) => boolean;

/** `op_table`: each operator's test of the three-way comparison. */
const OPERATORS: ReadonlyMap<string, Comparison> = new Map<string, Comparison>([
  ["-lt", (o) => o < 0],
  ["<", (o) => o < 0],
  ["-gt", (o) => o > 0],
  [">", (o) => o > 0],
  ["-eq", (o) => o === 0],
  ["==", (o) => o === 0],
  ["-ne", (o) => o !== 0],
  ["!=", (o) => o !== 0],
  ["<>", (o) => o !== 0],
  ["-ge", (o) => o >= 0],
  [">=", (o) => o >= 0],
  ["-le", (o) => o <= 0],
  ["<=", (o) => o <= 0],
]);

/**
 * The `itest` command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { itestCommand } from "./itest.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * assert.ok(await itestCommand().run(fakeContext(), ["itest", "5", "-gt", "3"]) === 0);
 * ```
 */
export function itestCommand(): Command {
  return defineCommand({
    name: "itest",
    maxArgs: ITEST_MAXARGS,
    repeatable: false,
    run: _doItest,
  });
}

function _doItest(ctx: CommandContext, argv: string[]): number {
  if (argv.length !== ITEST_MAXARGS) return CMD_RET_USAGE;
  const [cmd = "", a = "", op = "", b = ""] = argv;
  const w = cmdGetDataSize(cmd, DEFAULT_WIDTH);
  let value: boolean;
  switch (w) {
    case 1:
    case 2:
    case 4:
    case 8:
      value = _binaryTest(ctx, op, a, b, w);
      break;
    case CMD_DATA_SIZE_STR:
      value = _binaryTest(ctx, op, a, b, 0);
      break;
    default:
      ctx.console.puts("Invalid data width specifier\n");
      value = false;
      break;
  }
  return value ? 0 : 1;
}

/** `binary_test`: width 0 compares strings. */
function _binaryTest(ctx: CommandContext, op: string, a: string, b: string, w: number): boolean {
  const test = OPERATORS.get(op);
  if (!test) {
    ctx.console.puts(`Unknown operator '${op}'\n`);
    return false;
  }
  if (w === 0) return test(_strcmp(ctx, _evalStr(ctx, a), _evalStr(ctx, b)));
  const l = _evalExp(ctx, a, w);
  const r = _evalExp(ctx, b, w);
  return test(l < r ? -1 : l > r ? 1 : 0);
}

/** `evalexp`: a signed 64-bit value from hex or memory. */
function _evalExp(ctx: CommandContext, s: string, w: number): bigint {
  if (s[0] === "*") {
    const addr = _toAddress(simpleStrtoul(s, 16, 1).value);
    switch (w) {
      case 1:
        return BigInt(ctx.memory.readU8(addr));
      case 2:
        return BigInt(ctx.memory.readU16(addr));
      case 4:
        return BigInt(ctx.memory.readU32(addr));
      default:
        return BigInt.asIntN(64, ctx.memory.readU64(addr));
    }
  }
  const value = simpleStrtoul(s, 16).value;
  if (w >= LONG_BYTES) return BigInt.asIntN(64, value);
  return value & ((1n << BigInt(w * 8)) - 1n);
}

/** A string operand: literal text, or a C string at a guest address. */
type StrOperand = { text: string } | { address: number };

/** `evalstr`: `*addr`, `${name}` (missing: NULL), or the literal. */
function _evalStr(ctx: CommandContext, s: string): StrOperand {
  if (s[0] === "*") return { address: _toAddress(simpleStrtoul(s, 16, 1).value) };
  if (s[0] === "$") {
    const close = s.indexOf("}", 2);
    if (s[1] !== "{" || close < 0) return { address: NULL_ADDRESS };
    const value = ctx.env.get(s.slice(2, close));
    return value === undefined ? { address: NULL_ADDRESS } : { text: value };
  }
  return { text: s };
}

function _byteAt(ctx: CommandContext, operand: StrOperand, i: number): number {
  if ("text" in operand) return i < operand.text.length ? operand.text.charCodeAt(i) & 0xff : 0;
  return ctx.memory.readU8(operand.address + i);
}

/** `strcmp`, reading memory only as far as the comparison goes (a fault throws DataAbort). */
function _strcmp(ctx: CommandContext, l: StrOperand, r: StrOperand): number {
  for (let i = 0; i < MAX_STRCMP; i++) {
    const a = _byteAt(ctx, l, i);
    const b = _byteAt(ctx, r, i);
    if (a !== b) return a - b;
    if (a === 0) return 0;
  }
  return 0;
}

/** An address as a number; values past 2^53 (never RAM) saturate and fault on access. */
function _toAddress(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}
