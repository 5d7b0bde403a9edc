/**
 * The FAT commands of U-Boot 2023.01 (cmd/fat.c):
 *
 * | command | maxargs | repeatable | what |
 * |---|---|---|---|
 * | `fatls <if> [<dev[:part]>] [dir]` | 4 | yes | `do_ls` with FAT only: the listing, or 1 and nothing printed |
 * | `fatload <if> [<dev[:part]> [addr [file [bytes [pos]]]]]` | 7 | no | `do_load` with FAT only |
 * | `fatsize <if> <dev[:part]> <file>` | 4 | no | `do_size` with FAT only: env `filesize` (0 for a directory) |
 * | `fatinfo <if> [<dev[:part]>]` | 3 | yes | `Interface:`, `Device N:` and `dev_print`, `Filesystem: FAT32 "LABEL"` |
 *
 * `fatls`, `fatload` and `fatsize` are the generic layer's `do_*` (fs/fs.ts) restricted to the FAT
 * driver: a partition that is not FAT fails silently (`fatload` says `Can't set block device`), the
 * device and partition messages come from `blkGetDevicePartStr`. `fatinfo` looks the partition up
 * without `Couldn't find partition`, prints `usage: fatinfo <interface> [<dev[:part]>]` and returns 0
 * without arguments, and `\n** Unable to use virtio 0:2 for fatinfo **` for a partition that is not
 * FAT.
 *
 * @example
 * ```ts
 * import { fatCommands } from "./fat.ts";
 * import { BlockRegistry } from "../drivers/blk/block_registry.ts";
 * import { PartitionLayer } from "../disk/part.ts";
 *
 * const names = fatCommands({ blk: new BlockRegistry(), parts: new PartitionLayer() }).map((c) => c.name);
 * console.log(names.join(" ")); // "fatls fatload fatsize fatinfo"
 * ```
 *
 * @module
 */

import { CMD_RET_FAILURE, CMD_RET_SUCCESS, type Command, type CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import type { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { devPrint } from "../drivers/blk/dev_print.ts";
import { blkGetDevicePartStr, type PartLookup } from "../disk/device_part_str.ts";
import type { PartitionLayer } from "../disk/part.ts";
import { FsLayer } from "../fs/fs.ts";
import { FAT_DRIVER } from "../fs/fat/fat_driver.ts";
import { FAT_TYPE_NAME, FatVolume } from "../fs/fat/fat_volume.ts";

/** `U_BOOT_CMD(fatls, 4, 1, ...)`. */
const FATLS_MAXARGS = 4;
/** `U_BOOT_CMD(fatload, 7, 0, ...)`. */
const FATLOAD_MAXARGS = 7;
/** `U_BOOT_CMD(fatsize, 4, 0, ...)`. */
const FATSIZE_MAXARGS = 4;
/** `U_BOOT_CMD(fatinfo, 3, 1, ...)`. */
const FATINFO_MAXARGS = 3;

/** The block devices and partition tables the commands look partitions up in. */
export interface FatStorage {
  /** The block devices. */
  readonly blk: BlockRegistry;
  /** The partition layer shared with `part` and the block commands. */
  readonly parts: PartitionLayer;
}

/** Optional wiring of the FAT commands. */
export interface FatCommandHooks {
  /**
   * The generic layer to run `fatls`/`fatload`/`fatsize` on (it must include {@linkcode FAT_DRIVER});
   * by default one over `storage` with the FAT driver alone.
   */
  readonly fs?: FsLayer;
  /** Milliseconds for `fatload`'s timing when no layer is given (default `performance.now()`). */
  readonly clock?: () => number;
}

/** `do_fat_fsinfo`. */
async function _fatinfo(ctx: CommandContext, storage: FatStorage, argv: string[]): Promise<number> {
  const out = ctx.console;
  if (argv.length < 2) {
    out.puts("usage: fatinfo <interface> [<dev[:part]>]\n");
    return CMD_RET_SUCCESS;
  }
  const ifname = argv[1]!;
  const lookup: PartLookup = {
    blk: storage.blk,
    parts: storage.parts,
    out,
    getenv: (name) => ctx.env.get(name),
  };
  const found = await blkGetDevicePartStr(lookup, ifname, argv[2], true);
  if (found === undefined) return CMD_RET_FAILURE;
  const volume = await FatVolume.mount({ ...found, out });
  if (volume === undefined) {
    out.puts(`\n** Unable to use ${ifname} ${found.dev.devnum}:${found.part} for fatinfo **\n`);
    return CMD_RET_FAILURE;
  }
  try {
    out.puts(`Interface:  ${found.dev.ifType}\n`);
    out.puts(`  Device ${found.dev.devnum}: `);
    devPrint(out, found.dev);
    return volume.detectFs(out);
  } finally {
    volume.close();
  }
}

/**
 * `fatls`, `fatload`, `fatsize` and `fatinfo` over `storage`.
 *
 * Register them with the other commands (commands/registry.ts) when the guest has block devices.
 */
export function fatCommands(storage: FatStorage, hooks: FatCommandHooks = {}): Command[] {
  const layer = hooks.fs ??
    new FsLayer({
      blk: storage.blk,
      parts: storage.parts,
      drivers: [FAT_DRIVER],
      ...(hooks.clock === undefined ? {} : { clock: hooks.clock }),
    });
  return [
    defineCommand({
      name: "fatls",
      maxArgs: FATLS_MAXARGS,
      repeatable: true,
      run: (ctx, argv) => layer.doLs(ctx, argv, FAT_TYPE_NAME),
    }),
    defineCommand({
      name: "fatload",
      maxArgs: FATLOAD_MAXARGS,
      repeatable: false,
      run: (ctx, argv) => layer.loadFile(ctx, argv, FAT_TYPE_NAME),
    }),
    defineCommand({
      name: "fatsize",
      maxArgs: FATSIZE_MAXARGS,
      repeatable: false,
      run: (ctx, argv) => layer.doSize(ctx, argv, FAT_TYPE_NAME),
    }),
    defineCommand({
      name: "fatinfo",
      maxArgs: FATINFO_MAXARGS,
      repeatable: true,
      run: (ctx, argv) => _fatinfo(ctx, storage, argv),
    }),
  ];
}
