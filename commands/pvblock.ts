/**
 * `pvblock` (U-Boot 2023.01 cmd/pvblock.c → cmd/blk_common.c, with blk-uclass.c's lookups): the PV
 * disks of a Xen guest.
 *
 * - `pvblock info` (prefix `inf`): `Device %d: ` and `dev_print` for every disk.
 * - `pvblock device` (prefix `dev`): the current disk, introduced as `IDE device %d: ` (blk-uclass's
 *   own wording, printed as the real board prints it); none: `no pvblock devices available`, 1.
 * - `pvblock device N` (decimal): `Device N: `, `dev_print`, `... is now current device`; a missing
 *   disk prints `unknown device` and returns 1.
 * - `pvblock part` (prefix `part`): the partition map of every disk that has one, a blank line before
 *   each disk but the first; none: `no pvblock partition table available`, still 0.
 *   `pvblock part N` (decimal): that disk's map; a missing disk prints `pvblock device N not available`, 1.
 * - `pvblock read|write addr blk# cnt` (all hex, exact words): `pvblock read: device %d block # %lu,
 *   count %lu ... ` then `%ld blocks read: OK|ERROR`. A missing current disk gives the lookup's
 *   errno as the count (`-19 blocks read: ERROR`), as `blk_read_devnum` does.
 * Anything else is a usage error, including `read`/`write` with three arguments (U-Boot would parse a
 * NULL count there). maxargs 5, repeatable. The current disk starts at 0 and lives in the command.
 *
 * @example
 * ```ts
 * import { pvblockCommand } from "./pvblock.ts";
 * import { BlockRegistry, MemoryBlockDevice } from "../drivers/blk/mod.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 *
 * const blk = new BlockRegistry();
 * blk.register(new MemoryBlockDevice({ ifType: "pvblock", devnum: 0, lba: 32768 }));
 * const ctx = fakeContext();
 * await pvblockCommand(blk).run(ctx, ["pvblock", "info"]);
 * console.log(ctx.console.output); // "Device 0: Vendor: Xen Rev: 1 Prod: Virtual disk\n..."
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
import { BLK_EIO, type BlockDevice, DEV_TYPE_UNKNOWN } from "../drivers/blk/block_device.ts";
import { devPrint } from "../drivers/blk/dev_print.ts";
import { PartitionLayer } from "../disk/part.ts";
import { PART_TYPE_UNKNOWN } from "../disk/part_driver.ts";
import { checkGuestRange, hasGuestMemoryIo, PVBLOCK_IF_TYPE } from "../drivers/pvblock.ts";
import { dectoul, hextoul } from "../lib/strto.ts";

/** `U_BOOT_CMD(pvblock, 5, 1, ...)`. */
const PVBLOCK_MAXARGS = 5;
/** `-ENODEV`: no such disk and none numbered higher. */
const ENODEV = -19;
/** `-ENOENT`: no such disk, but one numbered higher. */
const ENOENT = -2;
const ULONG_MASK = (1n << 64n) - 1n;

/** What a subcommand runs with. */
interface _Invocation {
  readonly ctx: CommandContext;
  readonly blk: BlockRegistry;
  readonly parts: PartitionLayer;
  /** The current disk (`cur_devnump`). */
  current: { devnum: number };
}

/** One row of the subcommand table: the argument count it takes, how argv[1] matches, the handler. */
interface _Subcommand {
  readonly argc: number;
  readonly matches: (word: string) => boolean;
  readonly run: (inv: _Invocation, argv: string[]) => number | Promise<number>;
}

/** blk-uclass `get_desc`: the disk, or `-ENODEV` / `-ENOENT`. */
function _getDesc(blk: BlockRegistry, devnum: number): BlockDevice | number {
  const dev = blk.get(PVBLOCK_IF_TYPE, devnum);
  if (dev) return dev;
  return blk.list(PVBLOCK_IF_TYPE).some((d) => d.devnum > devnum) ? ENOENT : ENODEV;
}

/** The disks in number order, as blk-uclass's `for (i = 0;; ++i)` loops visit them. */
function _devices(blk: BlockRegistry): BlockDevice[] {
  return blk.list(PVBLOCK_IF_TYPE);
}

/** `(int)dectoul(arg, NULL)`. */
function _decimalInt(arg: string): number {
  return Number(BigInt.asIntN(32, dectoul(arg)));
}

/** `blk_list_devices`. */
function _info(inv: _Invocation): number {
  for (const dev of _devices(inv.blk)) {
    if (dev.type === DEV_TYPE_UNKNOWN) continue;
    inv.ctx.console.puts(`Device ${dev.devnum}: `);
    devPrint(inv.ctx.console, dev);
  }
  return CMD_RET_SUCCESS;
}

/** `blk_print_device_num` on the current disk. */
function _showCurrent(inv: _Invocation): number {
  const dev = _getDesc(inv.blk, inv.current.devnum);
  if (typeof dev === "number") {
    inv.ctx.console.puts(`\nno ${PVBLOCK_IF_TYPE} devices available\n`);
    return CMD_RET_FAILURE;
  }
  inv.ctx.console.puts(`\nIDE device ${inv.current.devnum}: `);
  devPrint(inv.ctx.console, dev);
  return CMD_RET_SUCCESS;
}

/** `blk_show_device`, then the new current disk. */
function _select(inv: _Invocation, argv: string[]): number {
  const devnum = _decimalInt(argv[2]!);
  const out = inv.ctx.console;
  out.puts(`\nDevice ${devnum}: `);
  const dev = _getDesc(inv.blk, devnum);
  if (typeof dev === "number") {
    out.puts("unknown device\n");
    return CMD_RET_FAILURE;
  }
  devPrint(out, dev);
  if (dev.type === DEV_TYPE_UNKNOWN) return CMD_RET_FAILURE;
  inv.current.devnum = devnum;
  out.puts("... is now current device\n");
  return CMD_RET_SUCCESS;
}

/** `blk_list_part`. */
async function _listParts(inv: _Invocation): Promise<number> {
  const out = inv.ctx.console;
  let ok = 0;
  for (const dev of _devices(inv.blk)) {
    await inv.parts.ensureProbed(dev, out);
    if (inv.parts.partType(dev) === PART_TYPE_UNKNOWN) continue;
    ok++;
    if (dev.devnum !== 0) out.puts("\n");
    await inv.parts.print(dev, out);
  }
  if (ok === 0) out.puts(`\nno ${PVBLOCK_IF_TYPE} partition table available\n`);
  return CMD_RET_SUCCESS;
}

/** `blk_print_part_devnum`. */
async function _printPart(inv: _Invocation, argv: string[]): Promise<number> {
  const devnum = _decimalInt(argv[2]!);
  const dev = _getDesc(inv.blk, devnum);
  if (typeof dev === "number" || dev.type === DEV_TYPE_UNKNOWN) {
    inv.ctx.console.puts(`\n${PVBLOCK_IF_TYPE} device ${devnum} not available\n`);
    return CMD_RET_FAILURE;
  }
  await inv.parts.ensureProbed(dev, inv.ctx.console);
  await inv.parts.print(dev, inv.ctx.console);
  return CMD_RET_SUCCESS;
}

/** A guest address from `hextoul` (beyond 2^53 nothing is mapped anyway). */
function _address(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/**
 * `blk_read_devnum`/`blk_write_devnum`: PV disks move the blocks straight to or from guest memory;
 * other devices registered under `pvblock` (tests) through a buffer.
 */
async function _transfer(
  inv: _Invocation,
  write: boolean,
  dev: BlockDevice,
  lba: bigint,
  count: bigint,
  address: number,
): Promise<number> {
  if (hasGuestMemoryIo(dev)) {
    return write ? await dev.writeFromGuest(lba, count, address) : await dev.readToGuest(lba, count, address);
  }
  if (count === 0n) return 0;
  if (lba + count > BigInt(dev.lba)) return BLK_EIO;
  const n = Number(count);
  const bytes = n * dev.blksz;
  const memory = inv.ctx.memory;
  checkGuestRange(memory, address, bytes, !write);
  const buffer = write ? memory.read(address, bytes) : new Uint8Array(bytes);
  const done = write ? await dev.write(Number(lba), n, buffer) : await dev.read(Number(lba), n, buffer);
  if (!write && done === n) memory.write(address, buffer);
  return done;
}

function _readWrite(write: boolean): _Subcommand["run"] {
  return async (inv: _Invocation, argv: string[]): Promise<number> => {
    const address = _address(hextoul(argv[2]!));
    const lba = hextoul(argv[3]!);
    const count = hextoul(argv[4]!);
    const out = inv.ctx.console;
    const devnum = inv.current.devnum;
    out.puts(
      `\n${PVBLOCK_IF_TYPE} ${
        write ? "write" : "read"
      }: device ${devnum} block # ${lba}, count ${count} ... `,
    );
    const dev = _getDesc(inv.blk, devnum);
    const n = typeof dev === "number" ? dev : await _transfer(inv, write, dev, lba, count, address);
    const ok = (BigInt(n) & ULONG_MASK) === count;
    out.puts(`${n} blocks ${write ? "written" : "read"}: ${ok ? "OK" : "ERROR"}\n`);
    return ok ? CMD_RET_SUCCESS : CMD_RET_FAILURE;
  };
}

/** `blk_common_cmd`'s cases: by argument count, then by the subcommand word. */
const SUBCOMMANDS: readonly _Subcommand[] = [
  { argc: 2, matches: (w) => w.startsWith("inf"), run: _info },
  { argc: 2, matches: (w) => w.startsWith("dev"), run: _showCurrent },
  { argc: 2, matches: (w) => w.startsWith("part"), run: _listParts },
  { argc: 3, matches: (w) => w.startsWith("dev"), run: _select },
  { argc: 3, matches: (w) => w.startsWith("part"), run: _printPart },
  { argc: 5, matches: (w) => w === "read", run: _readWrite(false) },
  { argc: 5, matches: (w) => w === "write", run: _readWrite(true) },
];

/**
 * The `pvblock` command over the `pvblock` disks of `blk`. Pass the guest's shared
 * {@linkcode PartitionLayer} so that the tables found when the disks were probed are the ones used.
 */
export function pvblockCommand(blk: BlockRegistry, parts: PartitionLayer = new PartitionLayer()): Command {
  const current = { devnum: 0 };
  return defineCommand({
    name: "pvblock",
    maxArgs: PVBLOCK_MAXARGS,
    repeatable: true,
    run(ctx: CommandContext, argv: string[]): number | Promise<number> {
      const sub = SUBCOMMANDS.find((s) => s.argc === argv.length && s.matches(argv[1]!));
      if (sub === undefined) return CMD_RET_USAGE;
      return sub.run({ ctx, blk, parts, current }, argv);
    },
  });
}
