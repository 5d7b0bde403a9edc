/**
 * A {@linkcode DiskImage} over a host file: this is the one module of the block backend that does host
 * I/O, so it is the only one that uses `Deno.*` (file stat, open, seek, read, write, fdatasync).
 *
 * {@linkcode openHostDiskImage} only stats the file (its size is the image's size); the file is opened on
 * the first access, read-only for a read-only image, and only the ranges asked for are ever read, so a
 * sparse image of terabytes costs what the guest reads. Accesses run one at a time in arrival order (a
 * seek and its read or write are never interleaved with another access). Host failures, a short read
 * (the file shrank) and writes to a read-only image reject with {@linkcode DiskImageError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openHostDiskImage } from "./host_disk_image.ts";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.truncate(path, 2 ** 30); // 1 GiB, sparse
 * const image = await openHostDiskImage(path, { readOnly: false });
 * await image.writeAt(2 ** 30 - 512, new Uint8Array(512).fill(7));
 * await image.flush();
 * assert.equal((await image.readAt(2 ** 30 - 2, 2))[1], 7);
 * await image.close();
 * await Deno.remove(path);
 * ```
 *
 * @module
 */

import { checkImageRange, type DiskImage, DiskImageError } from "./disk_image.ts";

/** Options of {@linkcode openHostDiskImage}. */
export interface HostDiskImageOptions {
  /** Open the file read-only and refuse writes. */
  readOnly: boolean;
  /** The logical sector size to ask the backend for (512 or 4096). */
  sectorSize?: number;
}

function _reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The image in the host file at `path`: stats it now (a missing file, or a directory, rejects with
 * {@linkcode DiskImageError}) and opens it on first use.
 */
export async function openHostDiskImage(path: string, options: HostDiskImageOptions): Promise<HostDiskImage> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new DiskImageError(`Cannot open disk image ${path}: ${_reason(error)}`, { cause: error });
  }
  if (!info.isFile && !info.isBlockDevice) {
    throw new DiskImageError(`Cannot open disk image ${path}: not a file`);
  }
  return new HostDiskImage(path, info.size, options);
}

/** A host file as a disk image (see the module documentation). */
export class HostDiskImage implements DiskImage {
  /** The host path. */
  readonly path: string;
  /** Size in bytes (the file's size when it was opened). */
  readonly size: number;
  /** Writes are refused and the file is opened read-only. */
  readonly readOnly: boolean;
  /** The preferred logical sector size, if given. */
  readonly sectorSize?: number;
  #file: Deno.FsFile | undefined;
  #closed = false;
  /** The access in progress; the next one starts after it. */
  #queue: Promise<unknown> = Promise.resolve();

  /** An image of `size` bytes over `path`; prefer {@linkcode openHostDiskImage}. */
  constructor(path: string, size: number, options: HostDiskImageOptions) {
    this.path = path;
    this.size = size;
    this.readOnly = options.readOnly;
    if (options.sectorSize !== undefined) this.sectorSize = options.sectorSize;
  }

  /** True once the file has been opened (the first access opens it). */
  get opened(): boolean {
    return this.#file !== undefined;
  }

  /** `length` bytes at `offset`. */
  readAt(offset: number, length: number): Promise<Uint8Array> {
    const error = checkImageRange(this.size, offset, length, "read");
    if (error !== undefined) return Promise.reject(error);
    return this.#serial("read", async (file) => {
      const out = new Uint8Array(length);
      await file.seek(offset, Deno.SeekMode.Start);
      let done = 0;
      // Each pass reads at least one byte or ends: bounded by `length`.
      while (done < length) {
        const n = await file.read(out.subarray(done));
        if (n === null || n === 0) {
          throw new DiskImageError(
            `Cannot read ${length} bytes at ${offset} of ${this.path}: the file ends early`,
          );
        }
        done += n;
      }
      return out;
    });
  }

  /** Stores `bytes` at `offset`. */
  writeAt(offset: number, bytes: Uint8Array): Promise<void> {
    if (this.readOnly) {
      return Promise.reject(
        new DiskImageError(
          `Cannot write ${bytes.length} bytes at ${offset} of ${this.path}: the image is read-only`,
        ),
      );
    }
    const error = checkImageRange(this.size, offset, bytes.length, "write");
    if (error !== undefined) return Promise.reject(error);
    return this.#serial("write", async (file) => {
      await file.seek(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < bytes.length) {
        const n = await file.write(bytes.subarray(done));
        if (n <= 0) {
          throw new DiskImageError(`Cannot write at ${offset + done} of ${this.path}: nothing written`);
        }
        done += n;
      }
    });
  }

  /** `fdatasync` the file (nothing to do before it was opened or when read-only). */
  flush(): Promise<void> {
    if (this.readOnly) return this.#serial("flush", () => Promise.resolve());
    return this.#serial("flush", (file) => file.syncData());
  }

  /** Closes the file; later accesses reject. */
  close(): Promise<void> {
    const done = this.#queue.then(() => {
      this.#closed = true;
      this.#file?.close();
      this.#file = undefined;
    });
    this.#queue = done.catch(() => {});
    return done;
  }

  /** Runs `work` on the open file after the accesses before it, mapping host errors to DiskImageError. */
  #serial<T>(action: string, work: (file: Deno.FsFile) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      if (this.#closed) throw new DiskImageError(`Cannot ${action} ${this.path}: the image is closed`);
      try {
        return await work(await this.#open());
      } catch (error) {
        if (error instanceof DiskImageError) throw error;
        throw new DiskImageError(`Cannot ${action} ${this.path}: ${_reason(error)}`, { cause: error });
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #open(): Promise<Deno.FsFile> {
    if (this.#file === undefined) {
      this.#file = await Deno.open(this.path, { read: true, write: !this.readOnly });
    }
    return this.#file;
  }
}
