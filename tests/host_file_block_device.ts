/**
 * A block device over a disk image file on the host, for tests (U-Boot's sandbox `host` device):
 * reads and writes go to the file at block offsets; past the end they fail with `-EIO`. Host I/O,
 * so it uses `Deno.*`.
 *
 * @example
 * ```ts ignore
 * const disk = await HostFileBlockDevice.open(await ensureFixture("gpt"), { ifType: "pvblock", devnum: 0 });
 * try { console.log(disk.lba); } finally { disk.close(); }
 * ```
 *
 * @module
 */

import {
  BLK_EIO,
  type BlockDevice,
  blockRangeFits,
  checkTransferBuffer,
  DEV_TYPE_HARDDISK,
} from "../drivers/blk/block_device.ts";

/** How the device presents itself. */
export interface HostFileBlockDeviceOptions {
  /** Interface name (default `pvblock`). */
  readonly ifType?: string;
  /** Device number (default 0). */
  readonly devnum?: number;
  /** Block size (default 512). */
  readonly blksz?: number;
  /** Open for writing too (default read-only). */
  readonly writable?: boolean;
}

/** The image's size is not a whole number of blocks. */
export class HostFileSizeError extends RangeError {
  /** Creates the error for `path` of `size` bytes with `blksz`-byte blocks. */
  constructor(path: string, size: number, blksz: number) {
    super(`Cannot use ${path} as a disk: ${size} bytes is not a whole number of ${blksz}-byte blocks`);
    this.name = "HostFileSizeError";
  }
}

/** A disk image file as a block device. */
export class HostFileBlockDevice implements BlockDevice {
  readonly type = DEV_TYPE_HARDDISK;
  readonly vendor = "Xen";
  readonly product = "Virtual disk";
  readonly revision = "1";
  readonly removable = false;
  readonly readOnly: boolean;
  readonly #file: Deno.FsFile;
  /** The last transfer started: transfers run one after another (each is a seek then a read or write). */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    file: Deno.FsFile,
    readonly ifType: string,
    readonly devnum: number,
    readonly blksz: number,
    readonly lba: number,
    readOnly: boolean,
  ) {
    this.#file = file;
    this.readOnly = readOnly;
  }

  /** Opens `path`; close it with {@linkcode close}. */
  static async open(path: string, options: HostFileBlockDeviceOptions = {}): Promise<HostFileBlockDevice> {
    const blksz = options.blksz ?? 512;
    const writable = options.writable ?? false;
    const file = await Deno.open(path, { read: true, write: writable });
    const size = (await file.stat()).size;
    if (size % blksz !== 0) {
      file.close();
      throw new HostFileSizeError(path, size, blksz);
    }
    return new HostFileBlockDevice(
      file,
      options.ifType ?? "pvblock",
      options.devnum ?? 0,
      blksz,
      size / blksz,
      !writable,
    );
  }

  /** Runs `transfer` after every transfer started before it. */
  #serial(transfer: () => Promise<number>): Promise<number> {
    const run = this.#queue.then(transfer, transfer);
    this.#queue = run.catch(() => {});
    return run;
  }

  read(lba: number, count: number, into: Uint8Array): Promise<number> {
    return this.#serial(() => this.#read(lba, count, into));
  }

  write(lba: number, count: number, from: Uint8Array): Promise<number> {
    return this.#serial(() => this.#write(lba, count, from));
  }

  async #read(lba: number, count: number, into: Uint8Array): Promise<number> {
    checkTransferBuffer(this.blksz, count, into);
    if (!blockRangeFits(lba, count, this.lba)) return BLK_EIO;
    const bytes = into.subarray(0, count * this.blksz);
    await this.#file.seek(lba * this.blksz, Deno.SeekMode.Start);
    let done = 0;
    while (done < bytes.length) {
      const n = await this.#file.read(bytes.subarray(done));
      if (n === null) return BLK_EIO;
      done += n;
    }
    return count;
  }

  async #write(lba: number, count: number, from: Uint8Array): Promise<number> {
    checkTransferBuffer(this.blksz, count, from);
    if (this.readOnly || !blockRangeFits(lba, count, this.lba)) return BLK_EIO;
    const bytes = from.subarray(0, count * this.blksz);
    await this.#file.seek(lba * this.blksz, Deno.SeekMode.Start);
    let done = 0;
    while (done < bytes.length) done += await this.#file.write(bytes.subarray(done));
    return count;
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}
