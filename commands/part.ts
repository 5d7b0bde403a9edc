/**
 * `part` (U-Boot 2023.01 cmd/part.c; not in the xenguest build): partition tables of block devices.
 *
 * - `part uuid <if> <dev>[:<part>] [var]`: the partition's UUID (partition required; no part means 1).
 * - `part list <if> <dev>`: the map. `part list <if> <dev> [-bootable] <var>`: the numbers of the
 *   partitions 1-128 (only bootable ones with `-bootable`) in hex, space-separated, into `var`.
 * - `part start|size|number <if> <dev> <part> [var]`: `%lx` of the start or size, or `0x%x` of the
 *   number; `<part>` is a number (base 0) when the whole argument parses, else a name. Failures
 *   return 1 and print nothing.
 * - `part types`: `Supported partition tables: EFI, DOS`.
 * Subcommands match exactly; anything else, or a wrong argument count, is a usage error. 2023.01 has
 * no `part name` and no `part set`.
 *
 * @example
 * ```ts
 * import { partCommand } from "./part.ts";
 * import { BlockRegistry } from "../drivers/blk/block_registry.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 *
 * const ctx = fakeContext();
 * await partCommand(new BlockRegistry()).run(ctx, ["part", "types"]);
 * console.log(ctx.console.output); // "Supported partition tables: EFI, DOS\n"
 * ```
 *
 * @module
 */

import {
  CMD_RET_FAILURE,
  CMD_RET_SUCCESS,
  CMD_RET_USAGE,
  type Command,
  type CommandContext,
} from "./command.ts";
import { defineCommand } from "./define_command.ts";
import type { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { blkGetDeviceByStr, blkGetDevicePartStr, type PartLookup } from "../disk/device_part_str.ts";
import { PartitionLayer } from "../disk/part.ts";
import { MAX_SEARCH_PARTITIONS, type PartitionInfo } from "../disk/part_driver.ts";
import { EnvError } from "../env/environment.ts";
import { simpleStrtoul } from "../lib/strto.ts";

/** `CONFIG_SYS_MAXARGS`: `part`'s maxargs. */
const PART_MAXARGS = 64;
/** `-bootable`, the one flag of `part list`. */
const BOOTABLE_FLAG = "-bootable";

/** One subcommand: its handler over the arguments after the subcommand name. */
type _Subcommand = (inv: _Invocation, args: string[]) => Promise<number>;

/** What a subcommand runs with. */
interface _Invocation {
  readonly ctx: CommandContext;
  readonly lookup: PartLookup;
  readonly parts: PartitionLayer;
}

/** `env_set`: an empty value deletes; a refusal prints U-Boot's message. */
function _envSet(ctx: CommandContext, name: string, value: string): void {
  try {
    ctx.env.envSet(name, value);
  } catch (e: unknown) {
    if (!(e instanceof EnvError)) throw e;
    ctx.console.puts(e.lines);
  }
}

/** Stores `value` in `args[index]`'s variable when given, else prints it. */
function _setOrPrint(ctx: CommandContext, variable: string | undefined, value: string): number {
  if (variable !== undefined) _envSet(ctx, variable, value);
  else ctx.console.puts(`${value}\n`);
  return CMD_RET_SUCCESS;
}

async function _uuid(inv: _Invocation, args: string[]): Promise<number> {
  if (args.length < 2 || args.length > 3) return CMD_RET_USAGE;
  const found = await blkGetDevicePartStr(inv.lookup, args[0]!, args[1]!, false);
  if (found === undefined) return CMD_RET_FAILURE;
  return _setOrPrint(inv.ctx, args[2], found.info.uuid);
}

async function _list(inv: _Invocation, args: string[]): Promise<number> {
  if (args.length < 2) return CMD_RET_USAGE;
  let variable: string | undefined;
  let bootableOnly = false;
  if (args.length > 2) {
    let i = 2;
    for (; i < args.length; i++) {
      const arg = args[i]!;
      if (!arg.startsWith("-")) {
        variable = arg;
        break;
      }
      if (arg !== BOOTABLE_FLAG) {
        inv.ctx.console.puts(`Unknown option ${arg}\n`);
        return CMD_RET_USAGE;
      }
      bootableOnly = true;
    }
    if (args.length !== i + 1) return CMD_RET_USAGE;
  }
  const dev = await blkGetDeviceByStr(inv.lookup, args[0]!, args[1]!);
  if (dev === undefined) return CMD_RET_FAILURE;
  if (variable === undefined) {
    await inv.parts.print(dev, inv.ctx.console);
    return CMD_RET_SUCCESS;
  }
  const numbers: string[] = [];
  for (let p = 1; p <= MAX_SEARCH_PARTITIONS; p++) {
    const info = await inv.parts.getInfo(dev, p, inv.ctx.console);
    if (info === undefined || (bootableOnly && !info.bootable)) continue;
    numbers.push(p.toString(16));
  }
  _envSet(inv.ctx, variable, numbers.join(" "));
  return CMD_RET_SUCCESS;
}

/** `do_part_info`: `<if> <dev> <part> [var]` and the value `pick` makes of the partition. */
function _info(pick: (part: number, info: PartitionInfo) => string): _Subcommand {
  return async (inv: _Invocation, args: string[]): Promise<number> => {
    if (args.length < 3 || args.length > 4) return CMD_RET_USAGE;
    const dev = await blkGetDeviceByStr(inv.lookup, args[0]!, args[1]!);
    if (dev === undefined) return CMD_RET_FAILURE;
    const spec = args[2]!;
    const number = simpleStrtoul(spec, 0);
    let part: number;
    let info: PartitionInfo | undefined;
    if (number.end === spec.length) {
      part = Number(BigInt.asIntN(32, number.value));
      info = await inv.parts.getInfo(dev, part, inv.ctx.console);
    } else {
      const named = await inv.parts.getInfoByName(dev, spec, inv.ctx.console);
      part = named?.part ?? 0;
      info = named?.info;
    }
    if (info === undefined) return CMD_RET_FAILURE;
    return _setOrPrint(inv.ctx, args[3], pick(part, info));
  };
}

function _types(inv: _Invocation, _args: string[]): Promise<number> {
  const names = inv.parts.drivers.map((d) => d.name);
  inv.ctx.console.puts(`Supported partition tables${names.length ? `: ${names.join(", ")}` : ": <none>"}\n`);
  return Promise.resolve(CMD_RET_SUCCESS);
}

/** The subcommands, matched exactly (U-Boot compares with strcmp). */
const SUBCOMMANDS: ReadonlyMap<string, _Subcommand> = new Map<string, _Subcommand>([
  ["uuid", _uuid],
  ["list", _list],
  ["start", _info((_part, info) => info.start.toString(16))],
  ["size", _info((_part, info) => info.size.toString(16))],
  ["number", _info((part) => `0x${(part >>> 0).toString(16)}`)],
  ["types", _types],
]);

/**
 * The `part` command over the block devices of `blk`. Pass the guest's shared {@linkcode PartitionLayer}
 * so that table types found at probe time are the ones used.
 */
export function partCommand(blk: BlockRegistry, parts: PartitionLayer = new PartitionLayer()): Command {
  return defineCommand({
    name: "part",
    maxArgs: PART_MAXARGS,
    repeatable: true,
    run(ctx: CommandContext, argv: string[]): Promise<number> | number {
      if (argv.length < 2) return CMD_RET_USAGE;
      const sub = SUBCOMMANDS.get(argv[1]!);
      if (sub === undefined) return CMD_RET_USAGE;
      const lookup: PartLookup = { blk, parts, out: ctx.console, getenv: (name) => ctx.env.get(name) };
      return sub({ ctx, lookup, parts }, argv.slice(2));
    },
  });
}
