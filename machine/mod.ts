/**
 * The machine: everything outside the guest boundary. Guest RAM ({@linkcode GuestMemory}), the guest
 * configuration ({@linkcode GuestConfig}, read from flags or an xl.cfg file with
 * {@linkcode parseXlConfig}), the guest's device tree, the guest's Xen (xen/mod.ts), the trace bus
 * ({@linkcode TraceBus}), and {@linkcode createMachine}, which assembles them into the
 * {@linkcode Platform} the guest runs on. Guest code imports only `platform.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeGuestConfig, createMachine, parseXlConfig } from "./mod.ts";
 *
 * const { config } = parseXlConfig("memory = 1024\nextra = 'console=hvc0'\n");
 * const io = { readFile: () => Promise.reject(new Error("no files here")) };
 * const machine = await createMachine(completeGuestConfig(config), io);
 * assert.ok(machine.entry.x0 === 0x4800_0000 && machine.memory.allocatedBytes() < 1024 * 1024);
 * ```
 *
 * @module
 */

export { DataAbort } from "./platform.ts";
export type { EntryState, HypercallRegisters, PhysicalMemory, Platform } from "./platform.ts";

export { DEFAULT_CHUNK_SIZE, GuestMemory, GuestMemoryError, MAX_REGIONS } from "./guest_memory.ts";
export type { GuestMemoryOptions, MemoryRegion } from "./guest_memory.ts";

export {
  BOARD_NAMES,
  completeGuestConfig,
  DEFAULT_GUEST_NAME,
  DEFAULT_MEMORY_MIB,
  DEFAULT_VCPUS,
  defaultGuestConfig,
  GuestConfigError,
  MAX_DISKS,
  MAX_MEMORY_MIB,
  MAX_NAME_LENGTH,
  MAX_VCPUS,
  MIN_MEMORY_MIB,
  resolveDiskPaths,
  validateGuestConfig,
  vbdDeviceNumber,
  vdevName,
} from "./guest_config.ts";
export type { BoardName, DiskAccess, DiskFormat, DiskSpec, GuestConfig } from "./guest_config.ts";

export {
  MAX_XL_CONFIG_CHARS,
  MAX_XL_LIST_DEPTH,
  parseXlConfig,
  parseXlDiskSpec,
  XlConfigError,
  XlDiskSpecError,
} from "./xl_cfg.ts";
export type { XlConfigResult, XlDiskEntry, XlParseOptions } from "./xl_cfg.ts";

export {
  buildGuestDeviceTree,
  DtbFormatError,
  guestExtendedRegions,
  guestRamBanks,
  readMemoryBanks,
} from "./guest_device_tree.ts";
export type { GuestDeviceTreeConfig, MemoryBank } from "./guest_device_tree.ts";

export {
  createMachine,
  MachineError,
  MAX_COLLECTED_OUTPUT,
  MAX_DTB_BYTES,
  MODULE_OFFSET,
  placeBootModules,
  UBOOT_IMAGE_BYTES,
  UBOOT_TEXT_OFFSET,
  XEN_ENOSYS,
} from "./machine.ts";
export type { Machine, MachineIo } from "./machine.ts";

export {
  formatTraceJson,
  formatTraceLine,
  printableBytes,
  TRACE_KINDS,
  TraceBus,
  TraceError,
} from "./trace.ts";
export type { Events, TraceKind, TraceListener, TraceRecord, XenStoreDirection } from "./trace.ts";

export { formatHandoffReport, GrantError, XenStoreError } from "./xen/mod.ts";
export type {
  Backend,
  BackendReport,
  Dom0,
  GrantMapping,
  HandoffReport,
  XenGuest,
  XenStoreDom0,
} from "./xen/mod.ts";
