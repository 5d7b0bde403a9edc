/**
 * The generic filesystem commands of U-Boot 2023.01 (cmd/fs.c): `ls`, `load`, `size`, `fstype`,
 * `fstypes`, and the `test -e` hook, all over one {@linkcode FsLayer} (which does the work and
 * prints U-Boot's messages; see fs/fs.ts).
 *
 * | command | maxargs | repeatable |
 * |---|---|---|
 * | `ls <if> [<dev[:part]> [dir]]` | 4 | yes |
 * | `load <if> [<dev[:part]> [addr [file [bytes [pos]]]]]` | 7 | no |
 * | `size <if> <dev[:part]> <file>` | 4 | no |
 * | `fstype <if> <dev>:<part> [var]` | 4 | yes |
 * | `fstypes` | 1 | yes |
 *
 * @module
 */

import { CMD_RET_SUCCESS, type Command, type CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import type { TestHooks } from "./test.ts";
import type { FsIo, FsLayer } from "../fs/fs.ts";

/** `ls`' maxargs. */
const LS_MAXARGS = 4;
/** `load`'s maxargs. */
const LOAD_MAXARGS = 7;
/** `size`'s maxargs. */
const SIZE_MAXARGS = 4;
/** `fstype`'s maxargs. */
const FSTYPE_MAXARGS = 4;
/** `fstypes`' maxargs. */
const FSTYPES_MAXARGS = 1;

/**
 * The five generic filesystem commands over `layer`.
 *
 * @example
 * ```ts
 * import { fsCommands } from "./fs.ts";
 * import { FsLayer } from "../fs/fs.ts";
 * import { PartitionLayer } from "../disk/part.ts";
 * import { BlockRegistry } from "../drivers/blk/block_registry.ts";
 *
 * const layer = new FsLayer({ blk: new BlockRegistry(), parts: new PartitionLayer(), drivers: [] });
 * console.log(fsCommands(layer).map((c) => c.name).join(" ")); // "ls load size fstype fstypes"
 * ```
 */
export function fsCommands(layer: FsLayer): Command[] {
  return [
    defineCommand({
      name: "ls",
      maxArgs: LS_MAXARGS,
      repeatable: true,
      run: (ctx, argv) => layer.doLs(ctx, argv),
    }),
    defineCommand({
      name: "load",
      maxArgs: LOAD_MAXARGS,
      repeatable: false,
      run: (ctx, argv) => layer.loadFile(ctx, argv),
    }),
    defineCommand({
      name: "size",
      maxArgs: SIZE_MAXARGS,
      repeatable: false,
      run: (ctx, argv) => layer.doSize(ctx, argv),
    }),
    defineCommand({
      name: "fstype",
      maxArgs: FSTYPE_MAXARGS,
      repeatable: true,
      run: (ctx, argv) => layer.doFsType(ctx, argv),
    }),
    defineCommand({
      name: "fstypes",
      maxArgs: FSTYPES_MAXARGS,
      repeatable: true,
      run: (ctx: CommandContext) => {
        ctx.console.puts(layer.fstypesText());
        return CMD_RET_SUCCESS;
      },
    }),
  ];
}

/**
 * `test -e <if> <dev[:part]> <path>` (`file_exists(..., FS_TYPE_ANY)`): true when the path exists.
 * A bad device or partition prints U-Boot's messages to `io.out` (`** Bad device specification
 * pvblock 9 **`, `Couldn't find partition pvblock 9`), as the real `test -e` does, and is false.
 *
 * @example
 * ```ts
 * import { fileExistsHook } from "./fs.ts";
 * import { FsLayer } from "../fs/fs.ts";
 * import { PartitionLayer } from "../disk/part.ts";
 * import { BlockRegistry } from "../drivers/blk/block_registry.ts";
 *
 * const layer = new FsLayer({ blk: new BlockRegistry(), parts: new PartitionLayer(), drivers: [] });
 * const hooks = fileExistsHook(layer, { out: { puts: (_t: string) => {} } });
 * console.log(await hooks.fileExists?.("pvblock", "0:1", "/boot.scr")); // false
 * ```
 */
export function fileExistsHook(layer: FsLayer, io: FsIo): TestHooks {
  return { fileExists: (iface, devpart, path) => layer.exists(io, iface, devpart, path) };
}
