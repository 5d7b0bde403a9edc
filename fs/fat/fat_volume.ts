/**
 * A mounted FAT12/16/32 volume: U-Boot 2023.01's fs/fat/fat.c behind the {@linkcode FsVolume} seam.
 *
 * - Mounting ({@linkcode FatVolume.mount}) is `fat_set_blk_dev`: the first block must carry 55 AA and
 *   "FAT"/"FAT32"; nothing else is checked then.
 * - Each operation starts as U-Boot's do (`fat_itr_root` → `get_fs_info`): a boot sector whose
 *   `fs_type` is not FAT12/16/32 fails quietly; a sector size other than the block size, a cluster
 *   size of 0 or over 64 KiB print U-Boot's `Error: ...` line and fail.
 * - `ls` prints `fatls`'s listing (`fs_ls_generic`): ` %8lld   name` for files, 12 spaces and
 *   `name/` for directories, in on-disk order with `.`/`..` of subdirectories, then
 *   `\nN file(s), M dir(s)\n\n`. A missing directory, or a file, prints nothing and returns 1.
 * - `size` of a directory is 0 (`fat_size`); `read` of a missing file or a directory prints
 *   `** Unable to read file <name> **` (`fat_read_file`).
 * - `uuid` is the volume serial, `1234-ABCD`.
 * - {@linkcode FatVolume.detectFs} prints `fatinfo`'s `Filesystem: FAT32 "LABEL      "` line.
 *
 * U-Boot's own diagnostics from inside the filesystem go to the partition's `out` (see
 * {@linkcode FsPartition}). Corrupt structures never escape as exceptions: lookups treat them as
 * missing, reads fail with an {@linkcode FsError} of kind `corrupt`, listings stop and return 1.
 *
 * @example
 * ```ts ignore
 * const volume = await FatVolume.mount({ dev, part: 1, info });
 * await volume?.ls("/", console);
 * ```
 *
 * @module
 */

import {
  FsCorruptError,
  type FsDataSink,
  FsError,
  type FsPartition,
  type FsTextSink,
  type FsVolume,
} from "../fs_driver.ts";
import {
  type BootSector,
  cString,
  type FatGeometry,
  fatGeometry,
  type GeometryRefusal,
  hasFatSignature,
  parseBootSector,
  volumeSerial,
} from "./boot_sector.ts";
import { type DirItem, DirIterator, type FatContext, isDirItem } from "./dir_iterator.ts";
import { FatTable } from "./fat_table.ts";
import { readContents } from "./file_reader.ts";
import { PartitionIo } from "./partition_io.ts";
import { resolvePath, TYPE_ANY, TYPE_DIR, TYPE_FILE } from "./path_resolve.ts";

/** Width of the size column (` %8lld`). */
const SIZE_WIDTH = 8;
/** What a directory line starts with. */
const DIR_INDENT = "            ";
/** The `fs_type` characters `fatinfo` prints. */
const FS_TYPE_SHOWN = 5;
const U32_LIMIT = 0x100000000n;

/** The FAT filesystem type name (`fstype`). */
export const FAT_TYPE_NAME = "fat";

/** One line of a `fatls` listing. */
export function formatListLine(item: Pick<DirItem, "name" | "attr" | "size">): string {
  if (isDirItem(item)) return `${DIR_INDENT}${item.name}/\n`;
  return ` ${String(item.size).padStart(SIZE_WIDTH)}   ${item.name}\n`;
}

/** A FAT volume on one partition. */
export class FatVolume implements FsVolume {
  readonly type: string = FAT_TYPE_NAME;
  /** The partition. */
  readonly partition: FsPartition;
  /** The boot sector as `read_bootsectandvi` decodes it; `undefined` when its `fs_type` is broken. */
  readonly bootSector: BootSector | undefined;
  readonly #io: PartitionIo;
  readonly #geometry: FatGeometry | GeometryRefusal | undefined;
  #ctx: FatContext | undefined;

  private constructor(partition: FsPartition, io: PartitionIo, block: Uint8Array) {
    this.partition = partition;
    this.#io = io;
    this.bootSector = parseBootSector(block);
    this.#geometry = this.bootSector === undefined
      ? undefined
      : fatGeometry(this.bootSector, partition.info.blksz, partition.info.size);
  }

  /** `fat_set_blk_dev`: the volume when the partition's first block looks like FAT, else `undefined`. */
  static async mount(partition: FsPartition): Promise<FatVolume | undefined> {
    const io = new PartitionIo(partition.dev, partition.info);
    const block = await io.read(0, 1);
    if (block === undefined || !hasFatSignature(block)) return undefined;
    return new FatVolume(partition, io, block);
  }

  /** `get_fs_info` at the start of an operation: the context, or `undefined` after U-Boot's message. */
  context(out: FsTextSink | undefined = this.partition.out): FatContext | undefined {
    const geo = this.#geometry;
    if (geo === undefined) return undefined;
    if ("message" in geo) {
      out?.puts(geo.message);
      return undefined;
    }
    this.#ctx ??= { io: this.#io, geo, fat: new FatTable(this.#io, geo) };
    return this.#ctx;
  }

  /** The entries of directory `dir` in on-disk order, or `undefined` when it is not a directory. */
  async list(dir: string, out?: FsTextSink): Promise<DirItem[] | undefined> {
    const items: DirItem[] = [];
    const status = await this.#walk(dir, out, (item) => items.push(item));
    return status === 0 ? items : undefined;
  }

  async #walk(dir: string, out: FsTextSink | undefined, each: (item: DirItem) => void): Promise<number> {
    const ctx = this.context(out);
    if (ctx === undefined) return 1;
    try {
      const found = await resolvePath(ctx, dir, TYPE_DIR);
      if (found.kind !== "dir") return 1;
      const it = new DirIterator(ctx, found.dir);
      for (let item = await it.next(); item !== undefined; item = await it.next()) each(item);
      return 0;
    } catch (e: unknown) {
      if (e instanceof FsCorruptError) return 1;
      throw e;
    }
  }

  /** `fs_ls_generic` over `fat_opendir`/`fat_readdir`. */
  async ls(dir: string, out: FsTextSink): Promise<number> {
    let files = 0;
    let dirs = 0;
    const status = await this.#walk(dir, out, (item) => {
      out.puts(formatListLine(item));
      if (isDirItem(item)) dirs++;
      else files++;
    });
    if (status !== 0) return status;
    out.puts(`\n${files} file(s), ${dirs} dir(s)\n\n`);
    return 0;
  }

  /** `fat_exists`. */
  async exists(path: string): Promise<boolean> {
    const ctx = this.context();
    if (ctx === undefined) return false;
    try {
      const found = await resolvePath(ctx, path, TYPE_ANY);
      return found.kind === "dir" || found.kind === "file";
    } catch (e: unknown) {
      if (e instanceof FsCorruptError) return false;
      throw e;
    }
  }

  /** `fat_size`: a file's size, 0 for a directory. */
  async size(path: string): Promise<bigint | FsError> {
    const ctx = this.context();
    if (ctx === undefined) return new FsError("corrupt", "Cannot read volume: its boot sector is unusable");
    try {
      const file = await resolvePath(ctx, path, TYPE_FILE);
      if (file.kind === "file") return BigInt(file.item.size);
      const dir = await resolvePath(ctx, path, TYPE_DIR);
      if (dir.kind === "dir") return 0n;
      return dir.kind === "not-dir"
        ? new FsError("not-a-dir", `Cannot size ${path}: a file is not a directory`)
        : new FsError("not-found", `Cannot size ${path}: not found`);
    } catch (e: unknown) {
      if (e instanceof FsCorruptError) return new FsError("corrupt", e.message);
      throw e;
    }
  }

  /** `fat_read_file`: `file_fat_read_at`, printing `** Unable to read file x **` on any failure. */
  async read(path: string, offset: bigint, length: bigint, sink: FsDataSink): Promise<bigint | FsError> {
    const out = this.partition.out;
    const result = await this.#read(path, offset, length, sink, out);
    if (result instanceof FsError) out?.puts(`** Unable to read file ${path} **\n`);
    return result;
  }

  async #read(
    path: string,
    offset: bigint,
    length: bigint,
    sink: FsDataSink,
    out: FsTextSink | undefined,
  ): Promise<bigint | FsError> {
    const ctx = this.context(out);
    if (ctx === undefined) return new FsError("corrupt", "Cannot read volume: its boot sector is unusable");
    if (offset < 0n || length < 0n) {
      return new FsError("io", `Cannot read ${path}: negative offset or length`);
    }
    try {
      const found = await resolvePath(ctx, path, TYPE_FILE);
      if (found.kind !== "file") {
        const dir = found.kind === "missing" && (await resolvePath(ctx, path, TYPE_DIR)).kind === "dir";
        return dir
          ? new FsError("not-a-file", `Cannot read ${path}: it is a directory`)
          : new FsError("not-found", `Cannot read ${path}: not found`);
      }
      const start = offset >= U32_LIMIT ? Number(U32_LIMIT) : Number(offset);
      const count = length >= U32_LIMIT ? 0 : Number(length);
      const got = await readContents(ctx, found.item, start, count, sink, out);
      return got instanceof FsError ? got : BigInt(got);
    } catch (e: unknown) {
      if (e instanceof FsCorruptError) return new FsError("corrupt", e.message);
      throw e;
    }
  }

  /** `fat_uuid`: the volume serial (`%02X%02X-%02X%02X`), "" when the boot sector is unusable. */
  uuid(): Promise<string> {
    return Promise.resolve(this.bootSector === undefined ? "" : volumeSerial(this.bootSector));
  }

  /**
   * The last line of `file_fat_detectfs` (`fatinfo`): `Filesystem: FAT16 "LABEL      "`, or
   * `\nNo valid FAT fs found` (returns 1) when the boot sector's `fs_type` is broken.
   */
  detectFs(out: FsTextSink): number {
    const bs = this.bootSector;
    if (bs === undefined) {
      out.puts("\nNo valid FAT fs found\n");
      return 1;
    }
    out.puts(`Filesystem: ${cString(bs.fsType.slice(0, FS_TYPE_SHOWN))} "${cString(bs.volumeLabel)}"\n`);
    return 0;
  }

  /** `fat_close`: nothing is held. */
  close(): void {}
}
