/**
 * `test` and `[` (U-Boot cmd/test.c): evaluates a shell-like condition; 0 when true, 1 when false.
 *
 * The words are read left to right by U-Boot's operator table, which first looks for a binary
 * operator in the second word and then for a unary one in the first:
 * - binary `= != < >` (strcmp) and `-eq -ne -lt -le -gt -ge` (simple_strtol base 0: `0x` hex,
 *   leading `0` octal), `=~` (the left word matched against an SLRE pattern);
 * - unary `-z S`, `-n S`, `-e <iface> <dev[:part]> <path>` (a file exists, through a hook);
 * - `!` toggles negation of the next test, `-a`/`-o` combine the previous result with the next
 *   one, without precedence.
 * A word that is no operator (or an operator short of operands) ends the evaluation as true. Fewer
 * than two words are false (2023.01: `test` and `test X` both fail).
 *
 * `[` (a later U-Boot's spelling, not in 2023.01) needs a last word `]`.
 *
 * @module
 */

import { CMD_RET_FAILURE, type Command, type CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { simpleStrtol } from "../lib/strto.ts";
import { slreCompile, SlreCompileError, slreMatchString, SlreStepLimitError } from "../lib/slre/mod.ts";

/** `CONFIG_SYS_MAXARGS`. */
const TEST_MAXARGS = 64;

/** What `test` may ask of the rest of the system. */
export interface TestHooks {
  /**
   * `file_exists(iface, devpart, path, FS_TYPE_ANY)`. Without it every file is missing. It prints
   * nothing for a missing device or partition, as U-Boot's does not.
   */
  fileExists?: (iface: string, devpart: string, path: string) => Promise<boolean>;
}

const enum TestOp {
  Not,
  Or,
  And,
  StrEmpty,
  StrNotEmpty,
  StrEq,
  StrNe,
  StrLt,
  StrGt,
  IntEq,
  IntNe,
  IntLt,
  IntLe,
  IntGt,
  IntGe,
  FileExists,
  Regex,
}

/** One row of `op_adv`: where the operator word sits, its spelling, and how many words it takes. */
interface OpRow {
  readonly arg: number;
  readonly word: string;
  readonly op: TestOp;
  readonly adv: number;
}

/** `op_adv`, in U-Boot's order (binary operators first). */
const OP_TABLE: readonly OpRow[] = [
  { arg: 1, word: "=", op: TestOp.StrEq, adv: 3 },
  { arg: 1, word: "!=", op: TestOp.StrNe, adv: 3 },
  { arg: 1, word: "<", op: TestOp.StrLt, adv: 3 },
  { arg: 1, word: ">", op: TestOp.StrGt, adv: 3 },
  { arg: 1, word: "-eq", op: TestOp.IntEq, adv: 3 },
  { arg: 1, word: "-ne", op: TestOp.IntNe, adv: 3 },
  { arg: 1, word: "-lt", op: TestOp.IntLt, adv: 3 },
  { arg: 1, word: "-le", op: TestOp.IntLe, adv: 3 },
  { arg: 1, word: "-gt", op: TestOp.IntGt, adv: 3 },
  { arg: 1, word: "-ge", op: TestOp.IntGe, adv: 3 },
  { arg: 1, word: "=~", op: TestOp.Regex, adv: 3 },
  { arg: 0, word: "!", op: TestOp.Not, adv: 1 },
  { arg: 0, word: "-o", op: TestOp.Or, adv: 1 },
  { arg: 0, word: "-a", op: TestOp.And, adv: 1 },
  { arg: 0, word: "-z", op: TestOp.StrEmpty, adv: 2 },
  { arg: 0, word: "-n", op: TestOp.StrNotEmpty, adv: 2 },
  { arg: 0, word: "-e", op: TestOp.FileExists, adv: 4 },
];

/** The message for a pattern that runs away (U-Boot hangs there; pvboot stops). */
const STEP_LIMIT_MESSAGE = "## error: regex step limit exceeded\n";

/**
 * The `test` command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testCommand } from "./test.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * assert.ok(await testCommand().run(fakeContext(), ["test", "010", "-eq", "8"]) === 0);
 * ```
 */
export function testCommand(hooks: TestHooks = {}): Command {
  return defineCommand({
    name: "test",
    maxArgs: TEST_MAXARGS,
    repeatable: true,
    run: (ctx, argv) => _doTest(ctx, argv, hooks),
  });
}

/**
 * The `[` command: `test` whose last word must be `]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bracketCommand } from "./test.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * assert.ok(await bracketCommand().run(fakeContext(), ["[", "a", "=", "a", "]"]) === 0);
 * ```
 */
export function bracketCommand(hooks: TestHooks = {}): Command {
  return defineCommand({
    name: "[",
    maxArgs: TEST_MAXARGS,
    repeatable: true,
    usage: "minimal test like /bin/sh",
    help: "[args..] ]",
    run: (ctx, argv) => _doTest(ctx, argv, hooks),
  });
}

async function _doTest(ctx: CommandContext, argv: string[], hooks: TestHooks): Promise<number> {
  let argc = argv.length;
  if (argv[0] === "[") {
    if (argv[argc - 1] !== "]") {
      ctx.console.puts("[: missing terminating ]\n");
      return CMD_RET_FAILURE;
    }
    argc--;
  }
  if (argc < 3) return CMD_RET_FAILURE;

  let ap = 1;
  let left = argc - 1;
  let expr = false;
  let lastExpr = false;
  let negate = false;
  let lastBinop: TestOp.Or | TestOp.And | undefined;
  const word = (i: number): string => argv[ap + i] ?? "";

  while (left > 0) {
    const row = OP_TABLE.find((r) => left > r.arg && word(r.arg) === r.word);
    if (!row || left < row.adv) {
      expr = true;
      break;
    }
    switch (row.op) {
      case TestOp.Or:
      case TestOp.And:
        lastExpr = expr;
        lastBinop = row.op;
        break;
      case TestOp.Not:
        negate = !negate;
        break;
      default: {
        const value = await _evaluate(ctx, row.op, word(0), word(1), word(2), word(3), hooks);
        if (value === undefined) return CMD_RET_FAILURE;
        expr = value;
        if (negate) {
          expr = !expr;
          negate = false;
        }
        if (lastBinop === TestOp.Or) expr = lastExpr || expr;
        else if (lastBinop === TestOp.And) expr = lastExpr && expr;
        lastBinop = undefined;
        break;
      }
    }
    ap += row.adv;
    left -= row.adv;
  }
  return expr ? 0 : 1;
}

/**
 * One test on the words at the cursor (`w0` is the first). Undefined when a pattern runs away:
 * U-Boot would hang there.
 */
async function _evaluate(
  ctx: CommandContext,
  op: TestOp,
  w0: string,
  w1: string,
  w2: string,
  w3: string,
  hooks: TestHooks,
): Promise<boolean | undefined> {
  switch (op) {
    case TestOp.StrEmpty:
      return w1.length === 0;
    case TestOp.StrNotEmpty:
      return w1.length !== 0;
    case TestOp.StrEq:
      return w0 === w2;
    case TestOp.StrNe:
      return w0 !== w2;
    case TestOp.StrLt:
      return w0 < w2;
    case TestOp.StrGt:
      return w0 > w2;
    case TestOp.IntEq:
      return _int(w0) === _int(w2);
    case TestOp.IntNe:
      return _int(w0) !== _int(w2);
    case TestOp.IntLt:
      return _int(w0) < _int(w2);
    case TestOp.IntLe:
      return _int(w0) <= _int(w2);
    case TestOp.IntGt:
      return _int(w0) > _int(w2);
    case TestOp.IntGe:
      return _int(w0) >= _int(w2);
    case TestOp.FileExists:
      return hooks.fileExists ? await hooks.fileExists(w1, w2, w3) : false;
    case TestOp.Regex:
      return _regexMatches(ctx, w0, w2);
    default:
      throw new Error(`Cannot evaluate test: operator ${op} is not a test`);
  }
}

/** `simple_strtol(s, NULL, 0)`. */
function _int(s: string): bigint {
  return simpleStrtol(s, 0).value;
}

/** `s =~ re`: a bad pattern prints SLRE's message and is false. */
function _regexMatches(ctx: CommandContext, text: string, pattern: string): boolean | undefined {
  try {
    return slreMatchString(slreCompile(pattern), text);
  } catch (e) {
    if (e instanceof SlreCompileError) {
      ctx.console.puts(`Error compiling regex: ${e.reason}\n`);
      return false;
    }
    if (e instanceof SlreStepLimitError) {
      ctx.console.puts(STEP_LIMIT_MESSAGE);
      return undefined;
    }
    throw e;
  }
}
