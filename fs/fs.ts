/**
 * U-Boot 2023.01's generic filesystem layer (fs/fs.c): `fs_set_blk_dev` picks the partition of a
 * `<interface> <dev[:part]>` pair and mounts it with the first {@linkcode FsDriver} that recognises
 * it (in the order given: FAT, then ext4), or only with the one a command names (`fatls` is FAT
 * only); no match is a silent failure, as U-Boot's final "unsupported" entry makes it. Every
 * operation mounts, does its work and closes again, as U-Boot does, so each command re-probes.
 *
 * On top of that sit what the commands run (`do_ls`, `do_load`, `do_size`, `do_fs_type`,
 * `do_fs_types`, `file_exists`), argument handling and messages included, so that `ls`/`fatls`/
 * `ext4ls`, `load`/`fatload`/`ext4load` and `size`/`fatsize`/`ext4size` share one implementation:
 * - `load` mounts first (`Can't set block device`), then parses the address (a usage error unless
 *   it is all hex), takes `loadaddr` (else `CONFIG_SYS_LOAD_ADDR`) and `bootfile` as defaults, and
 *   before reading asks the lmb whether `[addr, addr + n)` may be written, `n` being what the read
 *   will give (file size less `pos`, capped by `bytes`); no check when `pos` is at or past the end.
 *   Messages: `** Reading file would overwrite reserved memory **`, or what the filesystem prints
 *   from inside its read (FAT: `** Unable to read file X **`), then `Failed to load 'X'`. On
 *   success `N bytes read in M ms (R/s)` and env `fileaddr`, `filesize`.
 * - the partition handed to a driver's probe carries the console as its `out`, where the driver
 *   prints U-Boot's messages from inside the filesystem code.
 * - a volume operation that throws {@linkcode FsCorruptError} counts as that operation failing (and,
 *   in a probe, as "not this filesystem").
 *
 * Guest code, free of `Deno.*`; time comes from `performance.now()` unless a clock is given.
 *
 * @example
 * ```ts
 * import { FsLayer } from "./fs.ts";
 * import { PartitionLayer } from "../disk/part.ts";
 * import { BlockRegistry } from "../drivers/blk/block_registry.ts";
 *
 * const layer = new FsLayer({ blk: new BlockRegistry(), parts: new PartitionLayer(), drivers: [] });
 * console.log(layer.fstypesText()); // "Supported filesystems: <none>\n"
 * ```
 *
 * @module
 */

import { type BoardInfo, SYS_LOAD_ADDR } from "../board/board_info.ts";
import type { PartitionLayer } from "../disk/part.ts";
import { partGetInfoByDevAndNameOrNum, type PartLookup } from "../disk/device_part_str.ts";
import type { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { EnvError } from "../env/environment.ts";
import { formatSize } from "../lib/display_options.ts";
import { lmbFromBoard } from "../lib/lmb.ts";
import { simpleStrtoul } from "../lib/strto.ts";
import {
  FsCorruptError,
  type FsDataSink,
  type FsDriver,
  FsError,
  type FsPartition,
  type FsTextSink,
  type FsVolume,
} from "./fs_driver.ts";

/** `FS_TYPE_ANY`: any driver may mount the partition. */
export const FS_TYPE_ANY = "any";
/** What the `do_*` functions return for a usage error (the value of `CMD_RET_USAGE`). */
export const FS_RET_USAGE = -1;
/** Success. */
export const FS_RET_SUCCESS = 0;
/** Failure. */
export const FS_RET_FAILURE = 1;

/** The environment variables `load` and `size` read and set. */
const ENV_LOADADDR = "loadaddr";
const ENV_BOOTFILE = "bootfile";
const ENV_FILEADDR = "fileaddr";
const ENV_FILESIZE = "filesize";
/** Milliseconds per second (`CONFIG_SYS_HZ`), for the rate of the `bytes read` line. */
const MS_PER_SECOND = 1000n;
/** Highest argc of `ls` and `fstype`. */
const LS_MAXARGS = 4;
/** Highest argc of `load`. */
const LOAD_MAXARGS = 7;
/** The argc `size` takes. */
const SIZE_ARGC = 4;
/** `fstype`'s argc bounds. */
const FSTYPE_MIN_ARGC = 3;
const FSTYPE_MAX_ARGC = 4;
/** The default directory of `ls`. */
const ROOT_DIR = "/";

/** Where messages go and where `bootdevice` comes from (an empty or `-` device string). */
export interface FsIo {
  /** The console. */
  readonly out: FsTextSink;
  /** `env_get`; without it `bootdevice` is never set. */
  readonly getenv?: ((name: string) => string | undefined) | undefined;
}

/** The environment as `load`, `size` and `fstype` use it (U-Boot's `env_get`, `env_set`, `env_set_hex`). */
export interface FsEnvironment {
  /** `env_get`. */
  get(name: string): string | undefined;
  /** `env_set` (may throw {@linkcode EnvError}). */
  envSet(name: string, value: string): void;
  /** `env_set_hex`. */
  setHex(name: string, value: number | bigint): void;
}

/** Guest memory as `load` writes it. */
export interface FsMemory {
  /** Writes `data` at the guest-physical `address` (throws the platform's DataAbort outside RAM). */
  write(address: number, data: Uint8Array): void;
}

/** The board figures a load needs: the RAM banks and reserved areas (lmb), the build (load address). */
export type FsBoard = Pick<BoardInfo, "banks" | "reserved" | "profile">;

/** What the `do_*` functions use of a command's context (a `CommandContext` fits). */
export interface FsCommandContext {
  /** The environment. */
  readonly env: FsEnvironment;
  /** The console. */
  readonly console: FsTextSink;
  /** Guest memory. */
  readonly memory: FsMemory;
  /** The board. */
  readonly board: FsBoard;
}

/** Where {@linkcode loadIntoMemory} writes and reports. */
export interface LoadTarget {
  /** Guest memory. */
  readonly memory: FsMemory;
  /** The board (RAM and reserved areas for the lmb check). */
  readonly board: Pick<BoardInfo, "banks" | "reserved">;
  /** The console. */
  readonly out: FsTextSink;
}

/** One read into guest memory (U-Boot's `_fs_read` arguments). */
export interface LoadRequest {
  /** The file. */
  readonly path: string;
  /** Guest-physical address of the first byte. */
  readonly addr: bigint;
  /** Bytes to read; 0 reads to the end of the file. */
  readonly length: bigint;
  /** Offset in the file. */
  readonly offset: bigint;
  /** Whether to ask the lmb first (`do_lmb_check`; default true, as `load` does). */
  readonly lmbCheck?: boolean;
}

/** How the layer is put together. */
export interface FsLayerOptions {
  /** The block devices. */
  readonly blk: BlockRegistry;
  /** The partition layer (shared with `part` and the block commands). */
  readonly parts: PartitionLayer;
  /** The filesystems, in the order they are tried (U-Boot: FAT, then ext4). */
  readonly drivers: readonly FsDriver[];
  /** Milliseconds for the `bytes read in` timing (default `performance.now()`). */
  readonly clock?: () => number;
}

/** `print_size` of the rate, as `do_load` prints it. */
function _rateText(bytes: bigint, ms: number): string {
  return formatSize((bytes / BigInt(ms)) * MS_PER_SECOND, "/s");
}

/**
 * The line `do_load` (and `fatload`, `ext4load`) prints after a read: `"%llu bytes read in %lu ms"`,
 * then only when `ms > 0` a rate of `bytes / ms * 1000` (integer division first) per second.
 *
 * @example
 * ```ts
 * import { printLoadResult } from "./fs.ts";
 * const out = { text: "", puts(t: string) { this.text += t; } };
 * printLoadResult(out, 40n, 2);
 * console.log(out.text); // "40 bytes read in 2 ms (19.5 KiB/s)\n"
 * ```
 */
export function printLoadResult(out: FsTextSink, bytes: bigint | number, ms: number): void {
  const n = BigInt(bytes);
  out.puts(`${n} bytes read in ${ms} ms${ms > 0 ? ` (${_rateText(n, ms)})` : ""}\n`);
}

/**
 * `get_timer(start)` for a millisecond clock: whole milliseconds between two readings.
 *
 * @example
 * ```ts
 * import { elapsedMs } from "./fs.ts";
 * console.log(elapsedMs(10.9, 12.1)); // 2
 * ```
 */
export function elapsedMs(start: number, end: number): number {
  return Math.max(0, Math.floor(end) - Math.floor(start));
}

/** Runs a volume operation; corrupt on-disk data counts as the operation failing. */
async function _guard<T>(operation: () => Promise<T>, failed: T): Promise<T> {
  try {
    return await operation();
  } catch (e: unknown) {
    if (e instanceof FsCorruptError) return failed;
    throw e;
  }
}

/**
 * U-Boot's `_fs_read` on a mounted volume: with `lmbCheck` (the default) it first takes the file's
 * size (a failure is silent), and unless `offset` is at or past the end asks the board's lmb whether
 * the bytes the read will give may go to `addr` (`** Reading file would overwrite reserved memory **`
 * when not); then reads, writing each chunk to guest memory as it comes (a write outside RAM throws
 * the platform's DataAbort, as the real board faults). Returns the bytes read, or `undefined` after
 * what U-Boot prints before `Failed to load '...'` (which is the caller's to print).
 *
 * @example
 * ```ts
 * import { loadIntoMemory } from "./fs.ts";
 * import type { FsVolume } from "./fs_driver.ts";
 *
 * const data = new TextEncoder().encode("hello");
 * const volume: FsVolume = {
 *   type: "demo",
 *   ls: () => Promise.resolve(0),
 *   exists: () => Promise.resolve(true),
 *   size: () => Promise.resolve(BigInt(data.length)),
 *   read: (_p, _o, _l, sink) => (sink(data, 0), Promise.resolve(BigInt(data.length))),
 *   uuid: () => Promise.resolve(""),
 *   close: () => {},
 * };
 * const written: number[] = [];
 * const target = {
 *   memory: { write: (address: number) => void written.push(address) },
 *   board: { banks: [{ start: 0x40000000, size: 0x20000000 }], reserved: [] },
 *   out: { puts: (_t: string) => {} },
 * };
 * const n = await loadIntoMemory(volume, target, { path: "f", addr: 0x40400000n, length: 0n, offset: 0n });
 * console.log(n, written[0]?.toString(16)); // 5n "40400000"
 * ```
 */
export async function loadIntoMemory(
  volume: FsVolume,
  target: LoadTarget,
  request: LoadRequest,
): Promise<bigint | undefined> {
  const { path, addr, length, offset } = request;
  if (request.lmbCheck ?? true) {
    const size = await _guard(() => volume.size(path), new FsError("corrupt", "Cannot size file: corrupt"));
    if (size instanceof FsError) return undefined;
    if (offset < size) {
      let readLength = size - offset;
      if (length > 0n && length < readLength) readLength = length;
      if (lmbFromBoard(target.board).allocAddr(addr, readLength) !== addr) {
        target.out.puts("** Reading file would overwrite reserved memory **\n");
        return undefined;
      }
    }
  }
  const sink: FsDataSink = (chunk, at) => target.memory.write(Number(addr + BigInt(at)), chunk);
  const result = await _guard(
    () => volume.read(path, offset, length, sink),
    new FsError("corrupt", "Cannot read file: corrupt"),
  );
  return result instanceof FsError ? undefined : result;
}

/** `hextoul(text, &end)` where the whole string must be consumed (`do_load`'s address). */
function _parseWholeHex(text: string): bigint | undefined {
  const parsed = simpleStrtoul(text, 16);
  return parsed.end === 0 || parsed.end !== text.length ? undefined : parsed.value;
}

/** The generic filesystem layer (see the module doc). */
export class FsLayer {
  /** The filesystems, in the order they are tried. */
  readonly drivers: readonly FsDriver[];
  readonly #blk: BlockRegistry;
  readonly #parts: PartitionLayer;
  readonly #clock: () => number;

  /** A layer over `options.blk` and `options.parts` trying `options.drivers` in order. */
  constructor(options: FsLayerOptions) {
    this.drivers = options.drivers;
    this.#blk = options.blk;
    this.#parts = options.parts;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /**
   * `fs_set_blk_dev(ifname, devPartStr, fstype)`: resolves the partition (whole disk allowed; the
   * device and partition messages of disk/device_part_str.ts go to `io.out`), then mounts it with
   * the first driver that recognises it, among all ({@linkcode FS_TYPE_ANY}) or only the one named.
   * `undefined` when nothing mounts it (silently). The caller closes the volume.
   */
  async setBlkDev(
    io: FsIo,
    ifname: string,
    devPartStr: string | undefined,
    fstype: string = FS_TYPE_ANY,
  ): Promise<FsVolume | undefined> {
    const getenv = io.getenv;
    const lookup: PartLookup = getenv === undefined
      ? { blk: this.#blk, parts: this.#parts, out: io.out }
      : { blk: this.#blk, parts: this.#parts, out: io.out, getenv };
    const found = await partGetInfoByDevAndNameOrNum(lookup, ifname, devPartStr, true);
    if (found === undefined) return undefined;
    const partition: FsPartition = { dev: found.dev, part: found.part, info: found.info, out: io.out };
    for (const driver of this.drivers) {
      if (fstype !== FS_TYPE_ANY && driver.name !== fstype) continue;
      const volume = await _guard(() => driver.probe(partition), undefined);
      if (volume !== undefined) return volume;
    }
    return undefined;
  }

  /** Mounts, runs `operation` on the volume, closes; `failed` when nothing mounts. */
  async #withVolume<T>(
    io: FsIo,
    ifname: string,
    devPartStr: string | undefined,
    fstype: string,
    failed: T,
    operation: (volume: FsVolume) => Promise<T>,
  ): Promise<T> {
    const volume = await this.setBlkDev(io, ifname, devPartStr, fstype);
    if (volume === undefined) return failed;
    try {
      return await _guard(() => operation(volume), failed);
    } finally {
      volume.close();
    }
  }

  /** `fs_ls` after `fs_set_blk_dev`: the volume prints the listing. 0, or 1 on any failure. */
  ls(
    io: FsIo,
    ifname: string,
    devPartStr: string | undefined,
    dir: string,
    fstype = FS_TYPE_ANY,
  ): Promise<number> {
    return this.#withVolume(
      io,
      ifname,
      devPartStr,
      fstype,
      FS_RET_FAILURE,
      async (v) => (await v.ls(dir, io.out)) === 0 ? FS_RET_SUCCESS : FS_RET_FAILURE,
    );
  }

  /** `file_exists(ifname, devPartStr, path, fstype)`: false too when nothing mounts. */
  exists(
    io: FsIo,
    ifname: string,
    devPartStr: string | undefined,
    path: string,
    fstype = FS_TYPE_ANY,
  ): Promise<boolean> {
    return this.#withVolume(io, ifname, devPartStr, fstype, false, (v) => v.exists(path));
  }

  /** `fs_size`: the size, or `undefined` (nothing mounts, no such file). Prints nothing itself. */
  size(
    io: FsIo,
    ifname: string,
    devPartStr: string | undefined,
    path: string,
    fstype = FS_TYPE_ANY,
  ): Promise<bigint | undefined> {
    return this.#withVolume(io, ifname, devPartStr, fstype, undefined, async (v) => {
      const size = await v.size(path);
      return size instanceof FsError ? undefined : size;
    });
  }

  /**
   * `fs_read` without the lmb check, into `sink`: the bytes read, or `undefined`. For callers that
   * want file data outside guest memory (`length` 0 reads to the end).
   */
  read(
    io: FsIo,
    ifname: string,
    devPartStr: string | undefined,
    path: string,
    offset: bigint,
    length: bigint,
    sink: FsDataSink,
    fstype = FS_TYPE_ANY,
  ): Promise<bigint | undefined> {
    return this.#withVolume(io, ifname, devPartStr, fstype, undefined, async (v) => {
      const n = await v.read(path, offset, length, sink);
      return n instanceof FsError ? undefined : n;
    });
  }

  /** The type name (`fat`, `ext4`) of whatever mounts the partition, or `undefined`. */
  fstype(io: FsIo, ifname: string, devPartStr: string | undefined): Promise<string | undefined> {
    return this.#withVolume(io, ifname, devPartStr, FS_TYPE_ANY, undefined, (v) => Promise.resolve(v.type));
  }

  /** `do_fs_types`' text: `Supported filesystems: fat, ext4` (or `: <none>`) and a newline. */
  fstypesText(): string {
    const names = this.drivers.map((d) => d.name);
    return `Supported filesystems${names.length === 0 ? ": <none>" : `: ${names.join(", ")}`}\n`;
  }

  /** `do_ls(argv, fstype)`: `ls <if> [<dev[:part]> [dir]]`. Returns 0, 1 or {@linkcode FS_RET_USAGE}. */
  async doLs(ctx: FsCommandContext, argv: readonly string[], fstype = FS_TYPE_ANY): Promise<number> {
    if (argv.length < 2 || argv.length > LS_MAXARGS) return FS_RET_USAGE;
    return await this.ls(_io(ctx), argv[1]!, argv[2], argv[3] ?? ROOT_DIR, fstype);
  }

  /** `do_size(argv, fstype)`: `size <if> <dev[:part]> <file>` sets `filesize`, prints nothing. */
  async doSize(ctx: FsCommandContext, argv: readonly string[], fstype = FS_TYPE_ANY): Promise<number> {
    if (argv.length !== SIZE_ARGC) return FS_RET_USAGE;
    const size = await this.size(_io(ctx), argv[1]!, argv[2], argv[3]!, fstype);
    if (size === undefined) return FS_RET_FAILURE;
    ctx.env.setHex(ENV_FILESIZE, size);
    return FS_RET_SUCCESS;
  }

  /** `do_fs_type`: `fstype <if> <dev>:<part> [var]` prints the type or stores it in `var`. */
  async doFsType(ctx: FsCommandContext, argv: readonly string[]): Promise<number> {
    if (argv.length < FSTYPE_MIN_ARGC || argv.length > FSTYPE_MAX_ARGC) return FS_RET_USAGE;
    const name = await this.fstype(_io(ctx), argv[1]!, argv[2]);
    if (name === undefined) return FS_RET_FAILURE;
    const variable = argv[3];
    if (variable === undefined) {
      ctx.console.puts(`${name}\n`);
    } else {
      try {
        ctx.env.envSet(variable, name);
      } catch (e: unknown) {
        if (!(e instanceof EnvError)) throw e;
        ctx.console.puts(e.lines);
      }
    }
    return FS_RET_SUCCESS;
  }

  /**
   * `do_load(argv, fstype)`: `load <if> [<dev[:part]> [addr [file [bytes [pos]]]]]` (see the module
   * doc). Returns 0, 1 or {@linkcode FS_RET_USAGE}.
   */
  async loadFile(ctx: FsCommandContext, argv: readonly string[], fstype = FS_TYPE_ANY): Promise<number> {
    if (argv.length < 2 || argv.length > LOAD_MAXARGS) return FS_RET_USAGE;
    const out = ctx.console;
    const volume = await this.setBlkDev(_io(ctx), argv[1]!, argv[2], fstype);
    if (volume === undefined) {
      out.puts("Can't set block device\n");
      return FS_RET_FAILURE;
    }
    try {
      let addr: bigint;
      const addrArg = argv[3];
      if (addrArg !== undefined) {
        const parsed = _parseWholeHex(addrArg);
        if (parsed === undefined) return FS_RET_USAGE;
        addr = parsed;
      } else {
        const fromEnv = ctx.env.get(ENV_LOADADDR);
        addr = fromEnv !== undefined
          ? simpleStrtoul(fromEnv, 16).value
          : BigInt(SYS_LOAD_ADDR[ctx.board.profile]);
      }
      const path = argv[4] ?? ctx.env.get(ENV_BOOTFILE);
      if (path === undefined) {
        out.puts("** No boot file defined **\n");
        return FS_RET_FAILURE;
      }
      const length = argv[5] === undefined ? 0n : simpleStrtoul(argv[5], 16).value;
      const offset = argv[6] === undefined ? 0n : simpleStrtoul(argv[6], 16).value;
      const start = this.#clock();
      const target = { memory: ctx.memory, board: ctx.board, out };
      const bytes = await loadIntoMemory(volume, target, { path, addr, length, offset });
      const ms = elapsedMs(start, this.#clock());
      if (bytes === undefined) {
        out.puts(`Failed to load '${path}'\n`);
        return FS_RET_FAILURE;
      }
      printLoadResult(out, bytes, ms);
      ctx.env.setHex(ENV_FILEADDR, addr);
      ctx.env.setHex(ENV_FILESIZE, bytes);
      return FS_RET_SUCCESS;
    } finally {
      volume.close();
    }
  }
}

/** The layer's view of a command context: its console and its environment's `bootdevice`. */
function _io(ctx: FsCommandContext): FsIo {
  return { out: ctx.console, getenv: (name) => ctx.env.get(name) };
}
