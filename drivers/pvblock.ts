/**
 * PV block disks as block devices (U-Boot's `pvblock` uclass and `pvblock_blk` driver,
 * drivers/xen/pvblock.c): {@linkcode initPvblock} enumerates `device/vbd` in XenStore, connects each
 * disk's frontend ({@linkcode BlkFront}) and registers it as `pvblock <n>`; {@linkcode PvBlockDevice}
 * is the {@linkcode BlockDevice} over one frontend; {@linkcode removePvblock} unplugs them all before
 * the handoff (U-Boot's `pvblock_blk_remove` under `DM_FLAG_OS_PREPARE`).
 *
 * What the disks show is U-Boot's: vendor `Xen`, revision `1`, product `Virtual disk`, a hard disk,
 * never removable; a transfer past the end prints `pvblock: block number 0x%lx exceeds max(0x%lx)`
 * and does nothing. Start-up prints `PVBLOCK: ` then `pvblock: 0, pvblock: 1` (U-Boot's
 * `initr_pvblock` and `print_pvblock_devices`), without the real board's bogus
 * `Adding disk for pvblock_blk failed` lines.
 *
 * Guest code: no host I/O.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { patternImage, startFakeXen } from "./xen/_fake_blkback.ts";
 * import { BlockRegistry } from "./blk/block_registry.ts";
 * import { initPvblock, removePvblock } from "./pvblock.ts";
 * import { xenFini } from "./xen/xen_init.ts";
 *
 * const { drivers } = await startFakeXen([{ devid: 51712, image: patternImage(32768) }]);
 * const blk = new BlockRegistry();
 * let text = "";
 * const disks = await initPvblock(drivers, blk, { puts: (t) => (text += t) });
 * assert.equal(text, "PVBLOCK: pvblock: 0\n");
 * // ... at handoff, before xenFini:
 * await removePvblock(disks, blk);
 * assert.deepEqual((await xenFini(drivers)).portsClosed, []);
 * ```
 *
 * @module
 */

import { DataAbort, type PhysicalMemory } from "../machine/platform.ts";
import { BLK_EIO, type BlockDevice, checkTransferBuffer, DEV_TYPE_HARDDISK } from "./blk/block_device.ts";
import type { BlockRegistry } from "./blk/block_registry.ts";
import type { PartitionLayer } from "../disk/part.ts";
import type { TextSink } from "../lib/display_options.ts";
import {
  BlkFront,
  type BlkfrontCloseReport,
  type BlkfrontDrivers,
  type BlkfrontOptions,
} from "./xen/blkfront.ts";
import { BlkfrontConnectError, type BlkfrontIoError } from "./xen/blkfront_errors.ts";
import { BLKIF_SECTOR_BYTES } from "./xen/blkif.ts";
import { XEN_PAGE_SIZE } from "./xen/abi.ts";
import { XenbusError } from "./xen/xenbus_errors.ts";

/** The interface name of PV disks (`pvblock 0`). */
export const PVBLOCK_IF_TYPE = "pvblock";
/** The XenStore directory the toolstack lists the guest's disks in. */
export const PVBLOCK_VBD_DIR = "device/vbd";
/** Disks connected at most (a XenStore listing is untrusted; Linux's xvd naming stops far below). */
export const MAX_PVBLOCK_DEVICES = 256;
const ULONG_MASK = (1n << 64n) - 1n;

/** Block transfers straight between a disk and guest memory (what `pvblock read addr` uses). */
export interface GuestMemoryBlockIo {
  /**
   * Reads `count` blocks from block `lba` into guest memory at `address`. Resolves to `count`, 0
   * (out of range, as U-Boot's pvblock) or `BLK_EIO`. Memory that is not there throws the platform's
   * {@linkcode DataAbort}, as the guest's own access would.
   */
  readToGuest(lba: bigint, count: bigint, address: number): Promise<number>;
  /** Writes `count` blocks of guest memory at `address` to block `lba`; results as `readToGuest`. */
  writeFromGuest(lba: bigint, count: bigint, address: number): Promise<number>;
}

/** Whether `dev` moves blocks straight to and from guest memory. */
export function hasGuestMemoryIo(dev: BlockDevice): dev is BlockDevice & GuestMemoryBlockIo {
  const io = dev as Partial<GuestMemoryBlockIo>;
  return typeof io.readToGuest === "function" && typeof io.writeFromGuest === "function";
}

/**
 * Throws {@linkcode DataAbort} at the first page of `[address, address + length)` with no guest
 * memory behind it (RAM banks are page-granular).
 */
export function checkGuestRange(
  memory: PhysicalMemory,
  address: number,
  length: number,
  write: boolean,
): void {
  if (length <= 0 || memory.isMapped(address, length)) return;
  let at = address;
  const end = address + length;
  // One check per page: bounded by the length, which the caller bounded by the disk's size.
  while (at < end) {
    const next = Math.min(end, (Math.floor(at / XEN_PAGE_SIZE) + 1) * XEN_PAGE_SIZE);
    if (!memory.isMapped(at, next - at)) throw new DataAbort(at, write);
    at = next;
  }
}

/** One PV disk: U-Boot's `pvblock_blk` device. */
export class PvBlockDevice implements BlockDevice, GuestMemoryBlockIo {
  readonly ifType = PVBLOCK_IF_TYPE;
  readonly devnum: number;
  readonly blksz: number;
  readonly lba: number;
  readonly type = DEV_TYPE_HARDDISK;
  readonly vendor = "Xen";
  readonly product = "Virtual disk";
  readonly revision = "1";
  readonly removable = false;
  readonly readOnly: boolean;
  /** The frontend underneath. */
  readonly front: BlkFront;
  readonly #memory: PhysicalMemory;
  readonly #log: (text: string) => void;
  /** Set by the last failed transfer (for diagnostics). */
  lastError: BlkfrontIoError | undefined;

  /** The device `pvblock <devnum>` over a connected frontend; `memory` is guest memory. */
  constructor(
    front: BlkFront,
    devnum: number,
    memory: PhysicalMemory,
    log: (text: string) => void = () => {},
  ) {
    this.front = front;
    this.devnum = devnum;
    this.blksz = front.sectorSize;
    this.lba = front.blocks;
    this.readOnly = front.info.readOnly;
    this.#memory = memory;
    this.#log = log;
  }

  /** `blk_dread`: `count` blocks from `lba` into `into`. */
  async read(lba: number, count: number, into: Uint8Array): Promise<number> {
    checkTransferBuffer(this.blksz, count, into);
    if (!this.#inRange(BigInt(lba), BigInt(count))) return 0;
    return this.#result(
      await this.front.readBytes(this.#sector(lba), into.subarray(0, count * this.blksz)),
      count,
    );
  }

  /** `blk_dwrite`: `count` blocks from `from` at `lba`. */
  async write(lba: number, count: number, from: Uint8Array): Promise<number> {
    checkTransferBuffer(this.blksz, count, from);
    if (!this.#inRange(BigInt(lba), BigInt(count))) return 0;
    return this.#result(
      await this.front.writeBytes(this.#sector(lba), from.subarray(0, count * this.blksz)),
      count,
    );
  }

  /** {@inheritDoc GuestMemoryBlockIo.readToGuest} */
  async readToGuest(lba: bigint, count: bigint, address: number): Promise<number> {
    if (!this.#inRange(lba, count)) return 0;
    const bytes = Number(count) * this.blksz;
    checkGuestRange(this.#memory, address, bytes, true);
    return this.#result(await this.front.readGuest(this.#sector(Number(lba)), address, bytes), Number(count));
  }

  /** {@inheritDoc GuestMemoryBlockIo.writeFromGuest} */
  async writeFromGuest(lba: bigint, count: bigint, address: number): Promise<number> {
    if (!this.#inRange(lba, count)) return 0;
    const bytes = Number(count) * this.blksz;
    checkGuestRange(this.#memory, address, bytes, false);
    return this.#result(
      await this.front.writeGuest(this.#sector(Number(lba)), address, bytes),
      Number(count),
    );
  }

  /** `pvblock_blk_remove`: unplugs the disk (see {@linkcode BlkFront.close}). */
  remove(): Promise<BlkfrontCloseReport> {
    return this.front.close();
  }

  /** `pvblock_iop`'s checks: nothing to do for 0 blocks; past the end prints U-Boot's message. */
  #inRange(lba: bigint, count: bigint): boolean {
    if (count === 0n) return false;
    const end = lba + count;
    if (lba < 0n || count < 0n || end > BigInt(this.lba)) {
      this.#log(
        `pvblock: block number 0x${(end & ULONG_MASK).toString(16)} exceeds max(0x${
          this.lba.toString(16)
        })\n`,
      );
      return false;
    }
    return true;
  }

  #sector(lba: number): number {
    return lba * (this.blksz / BLKIF_SECTOR_BYTES);
  }

  #result(error: BlkfrontIoError | undefined, count: number): number {
    this.lastError = error;
    return error ? BLK_EIO : count;
  }
}

/** Options of {@linkcode initPvblock}. */
export interface PvblockInitOptions extends Omit<BlkfrontOptions, "log"> {
  /** The partition layer: each disk's table is looked for when it is probed (`blk_post_probe`). */
  parts?: PartitionLayer;
}

/**
 * `initr_pvblock`: prints `PVBLOCK: `, lists `device/vbd` (a failure prints U-Boot's `Failed to read
 * device/vbd directory: %s`), connects every disk in the listed order, registers each in `blk` as
 * `pvblock <n>` (numbers in bind order: a disk that fails to connect keeps its number unused, as on
 * U-Boot), probes its partition table, then prints the devices (`pvblock: 0, pvblock: 1`) and a
 * newline. Resolves to the devices registered.
 */
export async function initPvblock(
  drivers: BlkfrontDrivers,
  blk: BlockRegistry,
  out: TextSink,
  options: PvblockInitOptions = {},
): Promise<PvBlockDevice[]> {
  out.puts("PVBLOCK: ");
  const log = (text: string): void => out.puts(text);
  const devices: PvBlockDevice[] = [];
  const names = await drivers.xenbus.directory(PVBLOCK_VBD_DIR);
  if (names instanceof XenbusError) {
    out.puts(`Failed to read ${PVBLOCK_VBD_DIR} directory: ${names.xsError}\n`);
  } else {
    const { parts, ...frontOptions } = options;
    let devnum = blk.nextDevnum(PVBLOCK_IF_TYPE);
    for (const name of names.slice(0, MAX_PVBLOCK_DEVICES)) {
      if (!/^[0-9]{1,10}$/.test(name)) continue;
      const number = devnum++;
      let front: BlkFront;
      try {
        front = await BlkFront.connect(drivers, Number(name), { ...frontOptions, log });
      } catch (e: unknown) {
        if (e instanceof BlkfrontConnectError) continue;
        throw e;
      }
      const dev = new PvBlockDevice(front, number, drivers.events.hc.memory, log);
      blk.register(dev);
      devices.push(dev);
      if (parts) await parts.probe(dev, out);
    }
  }
  out.puts(`${devices.map((d) => `${PVBLOCK_IF_TYPE}: ${d.devnum}`).join(", ")}\n`);
  return devices;
}

/**
 * Unplugs every disk and takes it out of `blk`: what U-Boot does for `DM_FLAG_OS_PREPARE` devices
 * before booting. Call it before `xenFini`, so no ring grant or event channel is left for it to find.
 */
export async function removePvblock(
  devices: readonly PvBlockDevice[],
  blk: BlockRegistry,
): Promise<BlkfrontCloseReport[]> {
  const reports: BlkfrontCloseReport[] = [];
  for (const dev of devices) {
    reports.push(await dev.remove());
    blk.unregister(dev);
  }
  return reports;
}
