/**
 * The disk image a block backend serves: a size in bytes and asynchronous reads, writes and flushes at
 * byte offsets ({@linkcode DiskImage}). Implementations: {@linkcode MemoryDiskImage} here (sparse, for
 * tests and embedding) and the host-file image in host_disk_image.ts (the only one touching `Deno.*`).
 * A read-only image refuses writes with a {@linkcode DiskImageError}; an access outside the image is a
 * `DiskImageError` as well, never a partial transfer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryDiskImage } from "./disk_image.ts";
 *
 * const image = new MemoryDiskImage({ size: 2 ** 40 }); // 1 TiB, nothing allocated
 * await image.writeAt(2 ** 40 - 4, new Uint8Array([1, 2, 3, 4]));
 * assert.deepEqual(await image.readAt(2 ** 40 - 6, 6), new Uint8Array([0, 0, 1, 2, 3, 4]));
 * assert.ok(image.allocatedBytes() <= 64 * 1024);
 * ```
 *
 * @module
 */

/** A disk image: bytes at offsets, read and written asynchronously. */
export interface DiskImage {
  /** Size in bytes. */
  readonly size: number;
  /** True when writes are refused (the image was opened read-only). */
  readonly readOnly: boolean;
  /** The logical sector size the image asks for (512 or 4096), if it has a preference. */
  readonly sectorSize?: number;
  /** `length` bytes at `offset`; rejects with {@linkcode DiskImageError} outside the image or on I/O failure. */
  readAt(offset: number, length: number): Promise<Uint8Array>;
  /** Stores `bytes` at `offset`; rejects when read-only, outside the image, or on I/O failure. */
  writeAt(offset: number, bytes: Uint8Array): Promise<void>;
  /** Makes the writes so far durable (the host file's data reaches the disk). */
  flush(): Promise<void>;
  /** Releases the image (closes the host file); later accesses reject. */
  close(): Promise<void>;
}

/** A disk image access failed: read-only, out of range, closed, or the host's I/O failed. */
export class DiskImageError extends Error {
  /** Creates the error with `message`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DiskImageError";
  }
}

/**
 * Checks that `[offset, offset + length)` lies inside an image of `size` bytes; the error to reject with,
 * or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkImageRange } from "./disk_image.ts";
 *
 * assert.equal(checkImageRange(1024, 512, 512, "read"), undefined);
 * assert.match(checkImageRange(1024, 1000, 512, "read")?.message ?? "", /outside/);
 * ```
 */
export function checkImageRange(
  size: number,
  offset: number,
  length: number,
  action: string,
): DiskImageError | undefined {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    return new DiskImageError(`Cannot ${action} ${length} bytes at ${offset}: not a byte range`);
  }
  if (offset + length > size) {
    return new DiskImageError(
      `Cannot ${action} ${length} bytes at ${offset}: outside the ${size}-byte image`,
    );
  }
  return undefined;
}

/** Options of a {@linkcode MemoryDiskImage}. */
export interface MemoryDiskImageOptions {
  /** Size in bytes (any safe integer; nothing is allocated until written). */
  size: number;
  /** Refuse writes. */
  readOnly?: boolean;
  /** The logical sector size to ask the backend for. */
  sectorSize?: number;
  /** Initial contents at offset 0 (copied). */
  contents?: Uint8Array;
}

/** Bytes per chunk of a {@linkcode MemoryDiskImage}: unwritten chunks cost nothing and read as zeros. */
export const MEMORY_IMAGE_CHUNK = 64 * 1024;

/** A sparse image in memory, in {@linkcode MEMORY_IMAGE_CHUNK}-byte chunks allocated on first write. */
export class MemoryDiskImage implements DiskImage {
  /** Size in bytes. */
  readonly size: number;
  /** Writes are refused. */
  readonly readOnly: boolean;
  /** The preferred logical sector size, if given. */
  readonly sectorSize?: number;
  /** Flushes so far (tests check that a flush reached the image). */
  flushes = 0;
  /** Writes so far. */
  writes = 0;
  readonly #chunks = new Map<number, Uint8Array>();
  #closed = false;

  /** An image of `options.size` zero bytes (then `options.contents` at 0). */
  constructor(options: MemoryDiskImageOptions) {
    if (!Number.isSafeInteger(options.size) || options.size < 0) {
      throw new RangeError(`Cannot create a memory image of ${options.size} bytes`);
    }
    this.size = options.size;
    this.readOnly = options.readOnly ?? false;
    if (options.sectorSize !== undefined) this.sectorSize = options.sectorSize;
    if (options.contents !== undefined) {
      const error = checkImageRange(this.size, 0, options.contents.length, "initialise");
      if (error !== undefined) throw error;
      this.#store(0, options.contents);
    }
  }

  /** Bytes of chunks allocated so far. */
  allocatedBytes(): number {
    return this.#chunks.size * MEMORY_IMAGE_CHUNK;
  }

  /** `length` bytes at `offset` (zeros where nothing was written). */
  readAt(offset: number, length: number): Promise<Uint8Array> {
    const error = this.#check(offset, length, "read");
    if (error !== undefined) return Promise.reject(error);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const index = Math.floor(at / MEMORY_IMAGE_CHUNK);
      const within = at - index * MEMORY_IMAGE_CHUNK;
      const n = Math.min(length - done, MEMORY_IMAGE_CHUNK - within);
      const chunk = this.#chunks.get(index);
      if (chunk !== undefined) out.set(chunk.subarray(within, within + n), done);
      done += n;
    }
    return Promise.resolve(out);
  }

  /** Stores `bytes` at `offset`. */
  writeAt(offset: number, bytes: Uint8Array): Promise<void> {
    const error = this.readOnly
      ? new DiskImageError(`Cannot write ${bytes.length} bytes at ${offset}: the image is read-only`)
      : this.#check(offset, bytes.length, "write");
    if (error !== undefined) return Promise.reject(error);
    this.#store(offset, bytes);
    this.writes++;
    return Promise.resolve();
  }

  /** Counts the flush. */
  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(new DiskImageError("Cannot flush: the image is closed"));
    this.flushes++;
    return Promise.resolve();
  }

  /** Refuses every later access. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #check(offset: number, length: number, action: string): DiskImageError | undefined {
    if (this.#closed) return new DiskImageError(`Cannot ${action} at ${offset}: the image is closed`);
    return checkImageRange(this.size, offset, length, action);
  }

  #store(offset: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const at = offset + done;
      const index = Math.floor(at / MEMORY_IMAGE_CHUNK);
      const within = at - index * MEMORY_IMAGE_CHUNK;
      const n = Math.min(bytes.length - done, MEMORY_IMAGE_CHUNK - within);
      let chunk = this.#chunks.get(index);
      if (chunk === undefined) {
        chunk = new Uint8Array(MEMORY_IMAGE_CHUNK);
        this.#chunks.set(index, chunk);
      }
      chunk.set(bytes.subarray(done, done + n), within);
      done += n;
    }
  }
}
