/**
 * The ext2/ext4 commands of U-Boot 2023.01 (cmd/ext4.c, cmd/ext2.c):
 *
 * | command | maxargs | repeatable | what |
 * |---|---|---|---|
 * | `ext4ls <if> <dev[:part]> [dir]` | 4 | yes | `do_ls` with ext4 only: `<DIR>`/`<SYM>` rows, or `** Can not find directory. **` |
 * | `ext4load <if> [<dev[:part]> [addr [file [bytes [pos]]]]]` | 7 | no | `do_load` with ext4 only |
 * | `ext4size <if> <dev[:part]> <file>` | 4 | no | `do_size` with ext4 only: env `filesize` of a regular file |
 * | `ext2ls <if> <dev[:part]> [dir]` | 4 | yes | as `ext4ls` |
 * | `ext2load <if> [<dev[:part]> [addr [file [bytes]]]]` | 6 | no | as `ext4load`; its help names `[pos]`, but maxargs 6 makes a 7th argument a usage error |
 *
 * They are the generic layer's `do_*` (fs/fs.ts) restricted to the ext4 driver: a partition that is
 * not ext2/3/4 fails silently (`ext4load` says `Can't set block device`); the device and partition
 * messages come from `blkGetDevicePartStr`. The real xenguest build has the ext4 commands only
 * (`CMD_EXT2` is off there); the qemu build has both.
 *
 * @example
 * ```ts
 * import { ext4Commands } from "./ext4.ts";
 * import { BlockRegistry } from "../drivers/blk/block_registry.ts";
 * import { PartitionLayer } from "../disk/part.ts";
 *
 * const names = ext4Commands({ blk: new BlockRegistry(), parts: new PartitionLayer() }).map((c) => c.name);
 * console.log(names.join(" ")); // "ext4ls ext4load ext4size ext2ls ext2load"
 * ```
 *
 * @module
 */

import type { Command } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import type { BlockRegistry } from "../drivers/blk/block_registry.ts";
import type { PartitionLayer } from "../disk/part.ts";
import { FsLayer } from "../fs/fs.ts";
import { EXT4_DRIVER } from "../fs/ext4/driver.ts";

/** `U_BOOT_CMD(ext4ls, 4, 1, ...)`, and `ext2ls` alike. */
const EXT4LS_MAXARGS = 4;
/** `U_BOOT_CMD(ext4load, 7, 0, ...)`. */
const EXT4LOAD_MAXARGS = 7;
/** `U_BOOT_CMD(ext4size, 4, 0, ...)`. */
const EXT4SIZE_MAXARGS = 4;
/** `U_BOOT_CMD(ext2load, 6, 0, ...)`: no room for the `pos` its help mentions. */
const EXT2LOAD_MAXARGS = 6;

/** The block devices and partition tables the commands look partitions up in. */
export interface Ext4Storage {
  /** The block devices. */
  readonly blk: BlockRegistry;
  /** The partition layer shared with `part` and the block commands. */
  readonly parts: PartitionLayer;
}

/** Optional wiring of the ext4 commands. */
export interface Ext4CommandHooks {
  /**
   * The generic layer to run the commands on (it must include {@linkcode EXT4_DRIVER}); by default
   * one over `storage` with the ext4 driver alone.
   */
  readonly fs?: FsLayer;
  /** Milliseconds for `ext4load`'s timing when no layer is given (default `performance.now()`). */
  readonly clock?: () => number;
}

/**
 * `ext4ls`, `ext4load`, `ext4size`, `ext2ls` and `ext2load` over `storage`.
 *
 * Register them with the other commands (commands/registry.ts) when the guest has block devices;
 * the xenguest profile keeps the `ext4*` ones.
 */
export function ext4Commands(storage: Ext4Storage, hooks: Ext4CommandHooks = {}): Command[] {
  const layer = hooks.fs ??
    new FsLayer({
      blk: storage.blk,
      parts: storage.parts,
      drivers: [EXT4_DRIVER],
      ...(hooks.clock === undefined ? {} : { clock: hooks.clock }),
    });
  const type = EXT4_DRIVER.name;
  const ls = (name: string) =>
    defineCommand({
      name,
      maxArgs: EXT4LS_MAXARGS,
      repeatable: true,
      run: (ctx, argv) => layer.doLs(ctx, argv, type),
    });
  const load = (name: string, maxArgs: number) =>
    defineCommand({
      name,
      maxArgs,
      repeatable: false,
      run: (ctx, argv) => layer.loadFile(ctx, argv, type),
    });
  return [
    ls("ext4ls"),
    load("ext4load", EXT4LOAD_MAXARGS),
    defineCommand({
      name: "ext4size",
      maxArgs: EXT4SIZE_MAXARGS,
      repeatable: false,
      run: (ctx, argv) => layer.doSize(ctx, argv, type),
    }),
    ls("ext2ls"),
    load("ext2load", EXT2LOAD_MAXARGS),
  ];
}
