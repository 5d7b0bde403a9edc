/**
 * The filesystem seam (U-Boot's fs/fs.c `struct fstype_info`): each filesystem is an {@linkcode FsDriver}
 * that probes a partition and, when it recognises it, returns a mounted {@linkcode FsVolume}. The
 * generic layer (fs/fs.ts: `ls`, `load`, `size`, `fstype`, `test -e`) tries the drivers in order with
 * an "unsupported" fallback; the filesystem-specific commands (`fatls`, `ext4load`, …) use one driver.
 *
 * Guest code: volumes read their partition through the blk layer only (a {@linkcode BlockDevice}),
 * every size and count taken from the disk is bounded, and corrupt on-disk data gives a
 * {@linkcode FsCorruptError} (a `SyntaxError`, STYLE.md #8), never an uncaught exception or a hang.
 *
 * @module
 */

import type { BlockDevice } from "../drivers/blk/block_device.ts";
import type { PartitionInfo } from "../disk/part_driver.ts";

/** Where console text goes (the command's console). */
export interface FsTextSink {
  /** Prints a byte string. */
  puts(text: string): void;
}

/** A partition (or the whole disk, part 0) as the filesystems see it. */
export interface FsPartition {
  /** The block device. */
  readonly dev: BlockDevice;
  /** Partition number, 0 for the whole disk. */
  readonly part: number;
  /** Start, size and block size of the partition. */
  readonly info: PartitionInfo;
  /**
   * Where the driver prints what U-Boot prints from inside the filesystem code while this volume is
   * mounted (FAT: `** Unable to read file x **`, `Invalid FAT entry`, `Error: FAT sector size
   * mismatch ...`); omitted, those lines are dropped. Optional, added for FAT: pass the console.
   */
  readonly out?: FsTextSink;
}

/** What kind of directory entry a name is. */
export type FsEntryType = "file" | "dir" | "symlink" | "other";

/** One entry of a directory listing, in on-disk order. */
export interface FsDirEntry {
  /** The name as stored (long name where the filesystem has one). */
  readonly name: string;
  /** Kind of entry. */
  readonly type: FsEntryType;
  /** Size in bytes (for a directory, as the filesystem reports it). */
  readonly size: bigint;
}

/**
 * Where `read` puts file data: called in file order with consecutive chunks, `offset` counted from the
 * start of the read. `load` writes them into guest memory.
 */
export type FsDataSink = (chunk: Uint8Array, offset: number) => void;

/** A mounted filesystem on one partition (U-Boot's state after `fs_set_blk_dev`). */
export interface FsVolume {
  /** The driver's name as `fstype` prints it (`fat`, `ext4`). */
  readonly type: string;
  /**
   * Prints the listing of `dir` exactly as U-Boot's command for this filesystem does (FAT: `fatls`
   * format with the `N file(s), M dir(s)` summary; ext4: `<DIR>`/`<SYM>` rows). Returns 0 on success,
   * else 1 after printing U-Boot's message (or nothing, where U-Boot prints nothing).
   */
  ls(dir: string, out: FsTextSink): Promise<number>;
  /** True when `path` names an existing file, directory or (resolvable or not) symlink, as U-Boot's exists. */
  exists(path: string): Promise<boolean>;
  /** The size of the file at `path`, or an {@linkcode FsError}. */
  size(path: string): Promise<bigint | FsError>;
  /**
   * Reads `length` bytes of `path` from `offset` (length 0: to the end of the file) into `sink`.
   * Returns the number of bytes read, or an {@linkcode FsError}.
   */
  read(path: string, offset: bigint, length: bigint, sink: FsDataSink): Promise<bigint | FsError>;
  /** The volume's UUID as `fs uuid`/`part uuid` print it, or "" when it has none. */
  uuid(): Promise<string>;
  /** Releases what the volume holds (U-Boot's `fs_close`). */
  close(): void;
}

/** A filesystem driver. */
export interface FsDriver {
  /** The name (`fat`, `ext4`). */
  readonly name: string;
  /**
   * Mounts `partition` when it holds this filesystem; `undefined` when it does not (the generic layer
   * then tries the next driver). Reading errors are `undefined` too, as U-Boot's probe fails quietly.
   */
  probe(partition: FsPartition): Promise<FsVolume | undefined>;
}

/** Why a filesystem operation failed (the caller prints U-Boot's message for it). */
export type FsErrorKind = "not-found" | "not-a-file" | "not-a-dir" | "io" | "corrupt" | "too-large" | "eof";

/** A filesystem operation failed. */
export class FsError extends Error {
  /** The kind of failure. */
  readonly kind: FsErrorKind;
  /** Creates the error. */
  constructor(kind: FsErrorKind, message: string) {
    super(message);
    this.name = "FsError";
    this.kind = kind;
  }
}

/** Corrupt on-disk data (a `SyntaxError` carrying where it was found). */
export class FsCorruptError extends SyntaxError {
  /** Block (in the partition's block size) where the corruption was seen, when known. */
  readonly block: bigint | undefined;
  /** Creates the error. */
  constructor(message: string, block?: bigint) {
    super(message);
    this.name = "FsCorruptError";
    this.block = block;
  }
}
