/**
 * Assembles the guest machine from a {@linkcode GuestConfig}: guest RAM with Xen's banks, the device
 * tree placed where Xen's toolstack puts boot modules, the guest's Xen (hypercalls, shared_info, event
 * channels, grant table, magic pages, xenstored and the console backend in Dom0; see xen/toolstack.ts),
 * and the {@linkcode Platform} the guest runs on (entry registers, memory, the hypercall entry).
 *
 * Files (a `--dtb` blob), console output and the trace bus come in through {@linkcode MachineIo}, so this
 * module stays free of `Deno.*`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMachine } from "./machine.ts";
 * import { completeGuestConfig } from "./guest_config.ts";
 *
 * const io = { readFile: () => Promise.reject(new Error("no files here")) };
 * const machine = await createMachine(completeGuestConfig({ memoryMiB: 1536 }), io);
 * assert.ok(machine.entry.pc === 0x4008_0000);
 * assert.ok(machine.entry.x0 === 0x4800_0000); // RAM base + 128 MiB
 * assert.ok(machine.memory.readU32(machine.entry.x0) === 0xedfe0dd0); // FDT magic, big-endian
 * ```
 *
 * @module
 */

import { GuestMemory, GuestMemoryError, type MemoryRegion } from "./guest_memory.ts";
import { type GuestConfig, vbdDeviceNumber } from "./guest_config.ts";
import type { EntryState, HypercallRegisters, Platform } from "./platform.ts";
import { buildGuestDeviceTree, guestRamBanks, readMemoryBanks } from "./guest_device_tree.ts";
import { TraceBus } from "./trace.ts";
import { attachVbd, type Blkback, type BlkbackDiskSpec, settleBlkbacks } from "./xen/blkback.ts";
import type { Dom0 } from "./xen/dom0.ts";
import type { DiskImage } from "./xen/disk_image.ts";
import type { HandoffReport } from "./xen/handoff.ts";
import type { VirtualClock } from "./xen/scheduler.ts";
import { buildXenGuest, type XenGuest } from "./xen/toolstack.ts";
import { GUEST_DOMID } from "./xen/xen_abi.ts";

/** The host side of the machine: files, console output, tracing. */
export interface MachineIo {
  /** The whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Receives the guest's console output; without it the bytes are collected (see `takeConsoleOutput`). */
  consoleOut?: (bytes: Uint8Array) => void;
  /** The trace bus to emit into (default: a new one, `machine.trace`). */
  trace?: TraceBus;
  /**
   * Let a `SCHEDOP_poll` on the console port wait on the wall clock for `consoleInput` (interactive
   * sessions). Without it the machine runs on virtual time only.
   */
  waitForInput?: boolean;
  /** Accept the guest's `CONSOLEIO_write` as a debug Xen does (default: `-EPERM`, as a release Xen). */
  xenConsoleWrites?: boolean;
  /**
   * Opens the image of one of `config.disks` (host files: `openHostDiskImage` in xen/host_disk_image.ts;
   * tests: a `MemoryDiskImage`). Required when the configuration has disks.
   */
  openDisk?: (disk: BlkbackDiskSpec) => Promise<DiskImage>;
}

/** The assembled guest: the platform it runs on plus what built it. */
export interface Machine extends Platform {
  /** Guest RAM and the pages Xen maps. */
  readonly memory: GuestMemory;
  /** The configuration the machine was built from (with a loaded DTB, `memoryMiB` is the DTB's RAM). */
  readonly config: GuestConfig;
  /** The RAM banks, in guest-physical order of the device tree. */
  readonly banks: readonly MemoryRegion[];
  /** Where the device tree blob was placed (also `entry.x0`). */
  readonly dtbAddress: number;
  /** Its length in bytes. */
  readonly dtbSize: number;
  /** The trace bus (hypercalls, event channels, XenStore messages, console output, refused grants). */
  readonly trace: TraceBus;
  /** The guest's Xen: hypervisor, domain state, xenstored, console backend. */
  readonly xen: XenGuest;
  /** What Dom0 backends (blkback) use: event channels, grants, XenStore, run order, clock. */
  readonly dom0: Dom0;
  /** One block backend per configured disk, in `config.disks` order. */
  readonly blkbacks: readonly Blkback[];
  /** Xen system time (virtual; moves when a poll times out). */
  readonly clock: VirtualClock;
  /** The guest's `SCHEDOP_shutdown` reason once it shut down, else undefined. */
  readonly shutdownReason: number | undefined;
  /** Terminal input for the guest's PV console; it enters the ring when the backends next run. */
  consoleInput(bytes: Uint8Array): void;
  /** The console output collected since the last call (when `io.consoleOut` was not given). */
  takeConsoleOutput(): Uint8Array;
  /** What the guest leaves for the next kernel: grants, event channels, Xen pages, backend states. */
  handoffReport(): HandoffReport;
}

/** The machine cannot be built from this configuration (a user mistake or a bad DTB file). */
export class MachineError extends Error {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "MachineError";
  }
}

const MIB = 1024 * 1024;
/** Xen errno `ENOSYS`: the answer to a hypercall the platform does not implement. */
export const XEN_ENOSYS = 38n;
/** Console output kept when nobody takes it (the newest bytes win). */
export const MAX_COLLECTED_OUTPUT = 1024 * 1024;
/**
 * U-Boot's `CONFIG_TEXT_BASE` offset: the xenguest U-Boot is an arm64 Linux Image with
 * `text_offset` 0x80000, and Xen loads it at RAM base + text_offset (0x40080000).
 */
export const UBOOT_TEXT_OFFSET = 0x8_0000;
/**
 * The size of the U-Boot image the toolstack loads (the real xenguest_arm64 u-boot.bin is 318552
 * bytes, reference/xenguest/README.md); it only matters through the 2 MiB-rounded end of the kernel.
 */
export const UBOOT_IMAGE_BYTES = 318_552;
/** Xen places boot modules at RAM base + 128 MiB when they fit (xg_dom_arm.c `meminit`). */
export const MODULE_OFFSET = 128 * MIB;
/** The toolstack rounds the kernel's end up to 2 MiB. */
const KERNEL_END_ALIGN = 2 * MIB;
/** Modules are rounded up to whole pages. */
const PAGE_SIZE = 0x1000;
/** The arm64 boot protocol limits the device tree blob to 2 MiB. */
export const MAX_DTB_BYTES = 2 * MIB;

function _roundUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/**
 * Where the toolstack puts `moduleSize` bytes of boot modules (here: the DTB) for a kernel occupying
 * `[kernelBase, kernelEnd)` in `bank0` (xg_dom_arm.c `meminit`): RAM base + 128 MiB if the modules fit
 * below the end of bank 0 and the kernel ends below that point, else as high as possible in bank 0
 * above the kernel, else just below the kernel. `undefined` when none of these fits.
 */
export function placeBootModules(
  bank0: MemoryRegion,
  kernelBase: number,
  kernelEnd: number,
  moduleSize: number,
): number | undefined {
  const kernEnd = _roundUp(kernelEnd, KERNEL_END_ALIGN);
  const modSize = _roundUp(moduleSize, PAGE_SIZE);
  const bank0End = bank0.base + bank0.size;
  const ram128mb = bank0.base + MODULE_OFFSET;
  if (modSize + (kernEnd - kernelBase) > bank0.size) return undefined;
  if (bank0End >= ram128mb + modSize && kernEnd < ram128mb) return ram128mb;
  if (bank0End - modSize > kernEnd) return bank0End - modSize;
  if (kernelBase - bank0.base > modSize) return kernelBase - modSize;
  return undefined;
}

/**
 * Builds the machine for `config`: RAM banks from the configured memory size (or, with `dtbPath`, from
 * the memory nodes of that DTB, which is then handed to the guest unchanged), the device tree placed as
 * Xen's toolstack places it, and entry registers x0 = DTB address, pc = RAM base + 0x80000 (U-Boot's
 * text base). Throws {@linkcode MachineError} for a DTB that cannot be used. The guest's Xen is set up as
 * `xl create` leaves it (xen/toolstack.ts).
 */
export async function createMachine(config: GuestConfig, io: MachineIo): Promise<Machine> {
  let dtb: Uint8Array;
  let banks: MemoryRegion[];
  let machineConfig = config;
  if (config.dtbPath !== undefined) {
    dtb = await io.readFile(config.dtbPath);
    if (dtb.length > MAX_DTB_BYTES) {
      throw new MachineError(
        `Cannot use device tree ${config.dtbPath}: ${dtb.length} bytes, more than 2 MiB`,
      );
    }
    const found = readMemoryBanks(dtb);
    if (!Array.isArray(found)) {
      const reason = found instanceof Error ? found.message : String(found);
      throw new MachineError(`Cannot use device tree ${config.dtbPath}: ${reason}`);
    }
    banks = found.filter((bank) => bank.size > 0).map((bank) => ({ base: bank.base, size: bank.size }));
    if (banks.length === 0) {
      throw new MachineError(`Cannot use device tree ${config.dtbPath}: no memory banks`);
    }
    const total = banks.reduce((sum, bank) => sum + bank.size, 0);
    machineConfig = { ...config, memoryMiB: Math.floor(total / MIB) };
  } else {
    const cmdline = config.extra.length > 0 ? { cmdline: config.extra } : {};
    const options = { memoryMiB: config.memoryMiB, vcpus: config.vcpus, ...cmdline };
    dtb = buildGuestDeviceTree(options);
    banks = guestRamBanks(config.memoryMiB).map((bank) => ({ base: bank.base, size: bank.size }));
  }

  const memory = new GuestMemory();
  try {
    for (const bank of banks) memory.addRegion(bank);
  } catch (error) {
    if (error instanceof GuestMemoryError) {
      throw new MachineError(`Cannot create guest RAM: ${error.message}`);
    }
    throw error;
  }

  const bank0 = banks[0];
  if (bank0 === undefined) throw new MachineError("Cannot create guest RAM: no memory banks");
  const kernelBase = bank0.base + UBOOT_TEXT_OFFSET;
  const dtbAddress = placeBootModules(bank0, kernelBase, kernelBase + UBOOT_IMAGE_BYTES, dtb.length);
  if (dtbAddress === undefined) {
    throw new MachineError(
      `Cannot place the device tree: bank 0 (${
        bank0.size / MIB
      } MiB) has no room for U-Boot and ${dtb.length} bytes`,
    );
  }
  memory.write(dtbAddress, dtb);

  const trace = io.trace ?? new TraceBus();
  const collected = new _OutputCollector(MAX_COLLECTED_OUTPUT);
  const consoleOut = io.consoleOut;
  let xen: XenGuest;
  try {
    xen = buildXenGuest({
      memory,
      banks,
      name: machineConfig.name,
      vcpus: machineConfig.vcpus,
      memoryMiB: machineConfig.memoryMiB,
      trace,
      consoleSink: consoleOut ?? ((bytes) => collected.add(bytes)),
      waitForInput: io.waitForInput ?? false,
      consoleIoWrite: io.xenConsoleWrites ?? false,
    });
  } catch (error) {
    if (error instanceof GuestMemoryError) {
      throw new MachineError(`Cannot set up Xen's pages: ${error.message}`);
    }
    throw error;
  }

  const blkbacks: Blkback[] = [];
  for (const disk of machineConfig.disks) blkbacks.push(await _attachDisk(disk, xen, trace, io));

  const entry: EntryState = { x0: dtbAddress, pc: kernelBase };
  return {
    memory,
    entry,
    config: machineConfig,
    banks,
    dtbAddress,
    dtbSize: dtb.length,
    trace,
    xen,
    dom0: xen.dom0,
    blkbacks,
    clock: xen.dom0.clock,
    get shutdownReason() {
      return xen.domain.shutdownReason;
    },
    async hypercall(regs: HypercallRegisters): Promise<bigint> {
      const result = await xen.hypervisor.hypercall(regs);
      // The disk I/O the hand-over queued completes before the guest runs again (xen/blkback.ts "Time").
      await settleBlkbacks(blkbacks, () => xen.domain.scheduler.runBackends());
      return result;
    },
    consoleInput(bytes: Uint8Array): void {
      xen.console.input(bytes);
    },
    takeConsoleOutput(): Uint8Array {
      return collected.take();
    },
    handoffReport(): HandoffReport {
      return xen.handoffReport();
    },
  };
}

/** Opens `disk`'s image and attaches a blkback for it (the toolstack's `libxl__device_disk_add`). */
async function _attachDisk(
  disk: BlkbackDiskSpec,
  xen: XenGuest,
  trace: TraceBus,
  io: MachineIo,
): Promise<Blkback> {
  const devid = vbdDeviceNumber(disk.vdev);
  if (devid === undefined) throw new MachineError(`Cannot attach disk ${disk.vdev}: not a virtual disk name`);
  if (io.openDisk === undefined) {
    throw new MachineError(`Cannot attach disk ${disk.vdev}: no disk access given`);
  }
  let image: DiskImage;
  try {
    image = await io.openDisk(disk);
  } catch (error) {
    throw new MachineError(
      `Cannot open disk image ${disk.target}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const options = {
    dom0: xen.dom0,
    trace,
    frontendDomid: GUEST_DOMID,
    devid,
    vdev: disk.vdev,
    image,
    params: disk.target,
    access: disk.access,
    ...(disk.sectorSize === undefined ? {} : { sectorSize: disk.sectorSize }),
    ...(disk.maxIndirectSegments === undefined ? {} : { maxIndirectSegments: disk.maxIndirectSegments }),
    ...(disk.faults === undefined ? {} : { faults: disk.faults }),
  };
  try {
    return attachVbd(options);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new MachineError(`Cannot attach disk ${disk.vdev}: ${error.message}`);
    }
    throw error;
  }
}

/** Console output nobody took yet, bounded to the newest `limit` bytes. */
class _OutputCollector {
  readonly #limit: number;
  #chunks: Uint8Array[] = [];
  #size = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(bytes: Uint8Array): void {
    this.#chunks.push(bytes.slice());
    this.#size += bytes.length;
    while (this.#size > this.#limit && this.#chunks.length > 0) {
      const first = this.#chunks[0] as Uint8Array;
      const excess = this.#size - this.#limit;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#size -= excess;
      }
    }
  }

  take(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    this.#chunks = [];
    this.#size = 0;
    return out;
  }
}
