/**
 * A mounted ext2/ext3/ext4 partition as the filesystem seam's {@linkcode FsVolume}, behaving as
 * U-Boot 2023.01's fs/ext4/ext4fs.c does (checked against the real U-Boot):
 *
 * - `ls` (`ext4fs_ls`): the path must resolve to a directory, else `** Can not find directory. **`
 *   and 1. Each record prints as `<DIR> `, `<SYM> `, 6 spaces (file) or `< ? > ` (anything else),
 *   then `%10u %s` of the inode's `i_size_lo` and the name, in on-disk order, with no summary. A scan
 *   that fails part-way stops there and still returns 0, as `ext4fs_ls` ignores it.
 * - `exists`, `size` and `read` (`ext4fs_open`) find regular files only: a directory, a device or
 *   fifo, a dangling symlink or a symlink to a directory does not exist for them. Sizes are
 *   `i_size_lo` (a 4 GiB + 4 KiB file has size 4096).
 * - `read` (`ext4_read_file`): a path that is not a regular file prints `** File not found %s **`;
 *   length 0 means the whole file; the length is cut at the end of the file, and nothing left to
 *   read (an empty file, an offset at or past the end) is an error of kind `eof`.
 * - `uuid`: `s_uuid` as `uuid_bin_to_str` prints it.
 * - What U-Boot prints from inside its ext4 code goes to the partition's `out`: `Failed to iterate
 *   over directory %s` (a record with rec_len 0), `invalid extent block`.
 *
 * Errors come back as {@linkcode FsError} values (`not-found`, `not-a-file`, `eof`, `corrupt`, `io`).
 *
 * @example
 * ```ts ignore
 * const volume = await EXT4_DRIVER.probe({ ...partition, out: console });
 * await volume?.ls("/", console);
 * ```
 *
 * @module
 */

import {
  FsCorruptError,
  type FsDataSink,
  type FsEntryType,
  FsError,
  type FsTextSink,
  type FsVolume,
} from "../fs_driver.ts";
import { scanDirectory } from "./directory.ts";
import { InvalidExtentBlockError } from "./extent_tree.ts";
import { readFileData } from "./file_data.ts";
import type { Ext4Fs } from "./filesystem.ts";
import { findPath, type FoundPath } from "./path_lookup.ts";
import { formatUuid } from "./superblock.ts";

/** What `ls` prints before the size for each kind of record. */
const LS_TAGS: Readonly<Record<FsEntryType, string>> = {
  dir: "<DIR> ",
  symlink: "<SYM> ",
  file: "      ",
  other: "< ? > ",
};
/** Width of the size column (`%10u`). */
const LS_SIZE_WIDTH = 10;
/** How U-Boot's printf prints a NULL string (the directory name of a failed `ls` scan). */
const NULL_STRING = "<NULL>";
/** `ls` of a path that is not a directory. */
export const CANNOT_FIND_DIRECTORY = "** Can not find directory. **\n";

/** A sink that drops text. */
const _SILENT: FsTextSink = { puts() {} };

/** A mounted ext2/ext3/ext4 volume. */
export class Ext4Volume implements FsVolume {
  readonly type = "ext4";
  readonly #fs: Ext4Fs;
  readonly #out: FsTextSink;

  /** Wraps a mounted filesystem; `out` receives U-Boot's messages from inside the ext4 code. */
  constructor(fs: Ext4Fs, out: FsTextSink = _SILENT) {
    this.#fs = fs;
    this.#out = out;
  }

  /** The volume label (`s_volume_name`). */
  get label(): string {
    return this.#fs.sb.volumeName;
  }

  /** Turns what the reader threw into the error value the seam returns; anything else is a bug. */
  #asFsError(e: unknown): FsError {
    if (e instanceof InvalidExtentBlockError) this.#out.puts("invalid extent block\n");
    if (e instanceof FsError) return e;
    if (e instanceof FsCorruptError) return new FsError("corrupt", e.message);
    throw e;
  }

  async #regularFile(path: string): Promise<FoundPath | FsError> {
    let found: FoundPath | undefined;
    try {
      found = await findPath(this.#fs, path, this.#out);
    } catch (e) {
      return this.#asFsError(e);
    }
    if (found === undefined) return new FsError("not-found", `Cannot find ${path}`);
    if (found.type !== "file") return new FsError("not-a-file", `Cannot use ${path}: not a regular file`);
    return found;
  }

  /** `ext4fs_ls`. */
  async ls(dir: string, out: FsTextSink): Promise<number> {
    let found: FoundPath | undefined;
    try {
      found = await findPath(this.#fs, dir, out);
    } catch (e) {
      this.#asFsError(e);
    }
    if (found === undefined || found.type !== "dir") {
      out.puts(CANNOT_FIND_DIRECTORY);
      return 1;
    }
    try {
      const scan = await scanDirectory(this.#fs, found.inode, async (entry) => {
        const inode = entry.inode ?? await this.#fs.readInode(entry.ino);
        out.puts(`${LS_TAGS[entry.type]}${String(inode.sizeLo).padStart(LS_SIZE_WIDTH)} ${entry.name}\n`);
        return false;
      });
      if (scan.kind === "failed") out.puts(`Failed to iterate over directory ${NULL_STRING}\n`);
    } catch (e) {
      this.#asFsError(e);
    }
    return 0;
  }

  /** `ext4fs_exists`: a regular file (after symlinks) is there. */
  async exists(path: string): Promise<boolean> {
    return !((await this.#regularFile(path)) instanceof FsError);
  }

  /** `ext4fs_size`: `i_size_lo` of the regular file at `path`. */
  async size(path: string): Promise<bigint | FsError> {
    const found = await this.#regularFile(path);
    return found instanceof FsError ? found : BigInt(found.inode.sizeLo);
  }

  /** `ext4_read_file`. */
  async read(path: string, offset: bigint, length: bigint, sink: FsDataSink): Promise<bigint | FsError> {
    const found = await this.#regularFile(path);
    if (found instanceof FsError) {
      this.#out.puts(`** File not found ${path} **\n`);
      return found;
    }
    const size = BigInt(found.inode.sizeLo);
    let len = length === 0n ? size : length;
    if (len + offset > size) len = size - offset;
    if (len <= 0n || offset < 0n) {
      return new FsError("eof", `Cannot read ${path} at ${offset}: the file has ${size} bytes`);
    }
    try {
      await readFileData(this.#fs, found.inode, Number(offset), Number(len), sink);
    } catch (e) {
      return this.#asFsError(e);
    }
    return len;
  }

  /** `ext4fs_uuid`. */
  uuid(): Promise<string> {
    return Promise.resolve(formatUuid(this.#fs.sb.uuid));
  }

  /** Nothing to release: every read goes to the device. */
  close(): void {}
}
