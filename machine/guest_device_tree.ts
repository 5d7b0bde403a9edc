/**
 * The device tree the Xen toolstack (libxl, Xen 4.17) builds for an ARM64 DomU, byte for byte, and the
 * guest's RAM banks; plus a small reader for the memory banks of a DTB given by the user.
 *
 * libxl writes the tree with libfdt's sequential writer, with placeholders that it fills in once the
 * domain is built: the memory nodes get their `reg` (an unused bank is replaced by NOP tags) and the
 * hypervisor node's `reg` placeholder, sized for the grant table and one extended region per RAM bank,
 * is set to the regions actually found (the bytes that frees stay at the end of the blob). The same steps
 * are taken here (see xen-spec.md §2.1 and §2.4). libxl fills `/chosen/rng-seed` with random bytes; here
 * they come from a fixed seed unless given, so that the same configuration gives the same blob.
 *
 * @module
 */

import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_HEADER,
  FDT_MAGIC,
  FDT_NOP,
  FDT_PROP,
  fdtCells,
  fdtNopRegion,
  FdtSequentialWriter,
  fdtSetPropertyInplace,
  fdtShrinkProperty,
  fdtStrings,
} from "./fdt_sw.ts";

/** Guest RAM bank 0: 3 GiB at 1 GiB (`GUEST_RAM0_BASE` / `GUEST_RAM0_SIZE`). */
export const GUEST_RAM0_BASE = 0x40000000;
/** Size of RAM bank 0. */
export const GUEST_RAM0_SIZE = 0xc0000000;
/** Guest RAM bank 1: 1016 GiB at 8 GiB (`GUEST_RAM1_BASE` / `GUEST_RAM1_SIZE`). */
export const GUEST_RAM1_BASE = 0x200000000;
/** Size of RAM bank 1. */
export const GUEST_RAM1_SIZE = 0xfe00000000;
/** Grant table region (`GUEST_GNTTAB_BASE` / `GUEST_GNTTAB_SIZE`), region 0 of `/hypervisor` `reg`. */
export const GUEST_GNTTAB_BASE = 0x38000000;
/** Size of the grant table region. */
export const GUEST_GNTTAB_SIZE = 0x01000000;
/** GICv2 distributor and CPU interface; GICv3 distributor and redistributors of vCPU 0..127. */
export const GUEST_GICD_BASE = 0x03001000;
const GUEST_GICD_SIZE = 0x1000;
const GUEST_GICC_BASE = 0x03002000;
const GUEST_GICC_SIZE = 0x2000;
const GUEST_GICV3_GICD_SIZE = 0x10000;
const GUEST_GICV3_GICR0_BASE = 0x03020000;
const GUEST_GICV3_GICR0_SIZE = 0x01000000;
/** Phandle of the GIC (`GUEST_PHANDLE_GIC`). */
export const GUEST_PHANDLE_GIC = 65000;
/** Most vCPUs a guest may have (`GUEST_MAX_VCPUS`). */
export const GUEST_MAX_VCPUS = 128;
/** Width of the guest's physical (IPA) address space: what `libxl_domain_info` reports as gpaddr_bits. */
export const GUEST_IPA_BITS = 40;

/** PPIs: secure and non-secure physical timer, virtual timer, event channel upcall. */
const GUEST_TIMER_PHYS_S_PPI = 29;
const GUEST_TIMER_PHYS_NS_PPI = 30;
const GUEST_TIMER_VIRT_PPI = 27;
const GUEST_EVTCHN_PPI = 31;
/** First PPI and first SPI interrupt numbers (device tree numbers count from these). */
const PPI_BASE = 16;
const SPI_BASE = 32;
/** Interrupt type: level-sensitive, active low. */
const DT_IRQ_TYPE_LEVEL_LOW = 8;
/** CPU mask of the interrupt specifiers: all CPUs. */
const ALL_CPUS_MASK = 0xf;
/** PSCI function numbers in `/psci` (`PSCI_cpu_off`, `PSCI_cpu_on`). */
const PSCI_CPU_OFF = 1;
const PSCI_CPU_ON = 2;
/** `#address-cells` / `#size-cells` of the root. */
const ROOT_ADDRESS_CELLS = 2;
const ROOT_SIZE_CELLS = 2;
/** Extended regions are 2 MiB-aligned and at least 64 MiB. */
const EXT_REGION_ALIGN = 0x200000;
const EXT_REGION_MIN_SIZE = 0x4000000;
/** Number of RAM banks (`GUEST_RAM_BANKS`). */
const GUEST_RAM_BANKS = 2;
/** Bytes of `/chosen/rng-seed`. */
export const RNG_SEED_SIZE = 128;
/** Seed of the default `rng-seed` bytes ("pvbt"). */
const DEFAULT_RNG_SEED = 0x70766274;
const MIB = 0x100000;
const TWO_POW_32 = 0x100000000;

const BANK_BASES = [GUEST_RAM0_BASE, GUEST_RAM1_BASE] as const;
const BANK_SIZES = [GUEST_RAM0_SIZE, GUEST_RAM1_SIZE] as const;
/** Largest guest memory: both banks full. */
export const GUEST_MAX_MEMORY_MIB = (GUEST_RAM0_SIZE + GUEST_RAM1_SIZE) / MIB;

/** A range of guest-physical memory. */
export interface MemoryBank {
  /** Guest-physical start address. */
  readonly base: number;
  /** Size in bytes. */
  readonly size: number;
}

/** What the guest's device tree depends on (a subset of an `xl.cfg`). */
export interface GuestDeviceTreeConfig {
  /** `memory`: guest RAM in MiB. */
  readonly memoryMiB: number;
  /** `vcpus` (1 to 128). */
  readonly vcpus: number;
  /** `cmdline` (`extra`): becomes `/chosen/bootargs`. */
  readonly cmdline?: string;
  /** Xen version as `[major, minor]` (default 4.17). */
  readonly xenVersion?: readonly [number, number];
  /** `gic_version` (default 2, as on the reference board). */
  readonly gicVersion?: 2 | 3;
  /** The 128 bytes of `/chosen/rng-seed` (default: fixed bytes, see {@linkcode defaultRngSeed}). */
  readonly rngSeed?: Uint8Array;
}

function checkMemory(memoryMiB: number): void {
  if (!Number.isInteger(memoryMiB) || memoryMiB <= 0 || memoryMiB > GUEST_MAX_MEMORY_MIB) {
    throw new RangeError(`Cannot lay out guest memory: ${memoryMiB} MiB is not 1 to ${GUEST_MAX_MEMORY_MIB}`);
  }
}

/** Bytes of each RAM bank, unused ones 0 (libxl fills bank 0 up to 3 GiB first). */
function bankSizes(memoryMiB: number): number[] {
  checkMemory(memoryMiB);
  let rest = memoryMiB * MIB;
  return BANK_SIZES.map((max) => {
    const size = Math.min(rest, max);
    rest -= size;
    return size;
  });
}

/**
 * The guest's RAM banks for `memoryMiB`: bank 0 at 0x40000000 up to 3 GiB, the rest in bank 1 at
 * 0x200000000. Only banks in use are listed.
 *
 * @example
 * ```ts
 * import { guestRamBanks } from "./guest_device_tree.ts";
 * console.log(guestRamBanks(4096)); // [{ base: 0x40000000, size: 0xc0000000 }, { base: 0x200000000, size: 0x40000000 }]
 * ```
 */
export function guestRamBanks(memoryMiB: number): MemoryBank[] {
  return bankSizes(memoryMiB)
    .map((size, i) => ({ base: BANK_BASES[i] ?? 0, size }))
    .filter((bank) => bank.size > 0);
}

/**
 * The extended regions libxl advertises in `/hypervisor` `reg` after the grant table: in each bank, the
 * space above the guest's RAM (from the RAM end rounded up to 2 MiB to the end of the bank or of the
 * IPA space), when it is at least 64 MiB.
 *
 * @example
 * ```ts
 * import { guestExtendedRegions } from "./guest_device_tree.ts";
 * console.log(guestExtendedRegions(1536)); // [{ base: 0xa0000000, size: 0x60000000 }, { base: 0x200000000, size: 0xfe00000000 }]
 * ```
 */
export function guestExtendedRegions(memoryMiB: number, ipaBits: number = GUEST_IPA_BITS): MemoryBank[] {
  const sizes = bankSizes(memoryMiB);
  const ipaEnd = 2 ** ipaBits - 1;
  const regions: MemoryBank[] = [];
  for (let i = 0; i < GUEST_RAM_BANKS; i++) {
    const bankBase = BANK_BASES[i] ?? 0;
    const base = bankBase + Math.ceil((sizes[i] ?? 0) / EXT_REGION_ALIGN) * EXT_REGION_ALIGN;
    const end = Math.min(ipaEnd, bankBase + (BANK_SIZES[i] ?? 0) - 1);
    const size = end > base ? end - base + 1 : 0;
    if (size >= EXT_REGION_MIN_SIZE) regions.push({ base, size });
  }
  return regions;
}

/**
 * The default `rng-seed`: 128 bytes from a fixed seed (mulberry32), the same on every run.
 *
 * @example
 * ```ts
 * import { defaultRngSeed } from "./guest_device_tree.ts";
 * console.log(defaultRngSeed().length); // 128
 * ```
 */
export function defaultRngSeed(): Uint8Array {
  let state = DEFAULT_RNG_SEED;
  const out = new Uint8Array(RNG_SEED_SIZE);
  for (let i = 0; i < out.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 24) & 0xff;
  }
  return out;
}

/** `<address size>` pairs with 2 + 2 cells each. */
function regs(ranges: ReadonlyArray<readonly [number, number]>): Uint8Array {
  const cells: number[] = [];
  for (const [address, size] of ranges) {
    cells.push(
      Math.floor(address / TWO_POW_32),
      address % TWO_POW_32,
      Math.floor(size / TWO_POW_32),
      size % TWO_POW_32,
    );
  }
  return fdtCells(...cells);
}

/** An interrupt specifier: `<is-PPI number flags>`. */
function interrupt(irq: number): number[] {
  const ppi = irq < SPI_BASE;
  return [ppi ? 1 : 0, irq - (ppi ? PPI_BASE : SPI_BASE), (ALL_CPUS_MASK << 8) | DT_IRQ_TYPE_LEVEL_LOW];
}

/** MPIDR affinity of vCPU `i` (`libxl__compute_mpdir`). */
function mpidr(i: number): number {
  return (i & 0xf) | (((i >> 4) & 0xff) << 8);
}

function checkConfig(config: GuestDeviceTreeConfig): void {
  checkMemory(config.memoryMiB);
  if (!Number.isInteger(config.vcpus) || config.vcpus < 1 || config.vcpus > GUEST_MAX_VCPUS) {
    throw new RangeError(
      `Cannot build the device tree: ${config.vcpus} vCPUs is not 1 to ${GUEST_MAX_VCPUS}`,
    );
  }
  if (config.rngSeed !== undefined && config.rngSeed.length !== RNG_SEED_SIZE) {
    throw new RangeError(`Cannot build the device tree: rng-seed is ${config.rngSeed.length} bytes, not 128`);
  }
  if (config.cmdline?.includes("\0")) {
    throw new RangeError("Cannot build the device tree: cmdline contains NUL");
  }
}

/**
 * The DTB libxl gives an ARM64 DomU with this configuration (node order and properties of xen-spec.md
 * §2.4).
 *
 * @example
 * ```ts
 * import { buildGuestDeviceTree } from "./guest_device_tree.ts";
 * const dtb = buildGuestDeviceTree({ memoryMiB: 1536, vcpus: 1, cmdline: "console=hvc0" });
 * console.log(new DataView(dtb.buffer).getUint32(0).toString(16)); // "d00dfeed"
 * ```
 */
export function buildGuestDeviceTree(config: GuestDeviceTreeConfig): Uint8Array {
  checkConfig(config);
  const [major, minor] = config.xenVersion ?? [4, 17];
  const gicPhandle = fdtCells(GUEST_PHANDLE_GIC);
  const w = new FdtSequentialWriter();
  w.finishReservemap();
  w.beginNode("");

  w.propertyString("model", `XENVM-${major}.${minor}`);
  w.property("compatible", fdtStrings(`xen,xenvm-${major}.${minor}`, "xen,xenvm"));
  w.property("interrupt-parent", gicPhandle);
  w.property("#address-cells", fdtCells(ROOT_ADDRESS_CELLS));
  w.property("#size-cells", fdtCells(ROOT_SIZE_CELLS));

  w.beginNode("chosen");
  if (config.cmdline !== undefined) w.propertyString("bootargs", config.cmdline);
  w.property("rng-seed", config.rngSeed ?? defaultRngSeed());
  w.endNode();

  w.beginNode("cpus");
  w.property("#address-cells", fdtCells(1));
  w.property("#size-cells", fdtCells(0));
  for (let i = 0; i < config.vcpus; i++) {
    w.beginNode(`cpu@${mpidr(i).toString(16)}`);
    w.propertyString("device_type", "cpu");
    w.property("compatible", fdtStrings("arm,armv8"));
    w.propertyString("enable-method", "psci");
    w.property("reg", fdtCells(mpidr(i)));
    w.endNode();
  }
  w.endNode();

  w.beginNode("psci");
  w.property("compatible", fdtStrings("arm,psci-1.0", "arm,psci-0.2", "arm,psci"));
  w.propertyString("method", "hvc");
  w.property("cpu_off", fdtCells(PSCI_CPU_OFF));
  w.property("cpu_on", fdtCells(PSCI_CPU_ON));
  w.endNode();

  const memoryNodes = BANK_BASES.map((base) => {
    const start = w.beginNode(`memory@${base.toString(16)}`);
    w.propertyString("device_type", "memory");
    const reg = w.property("reg", regs([[0, 0]]));
    return { base, start, reg, end: w.endNode() };
  });

  w.beginNode(`interrupt-controller@${GUEST_GICD_BASE.toString(16)}`);
  if (config.gicVersion === 3) {
    w.property("compatible", fdtStrings("arm,gic-v3"));
  } else {
    w.property("compatible", fdtStrings("arm,cortex-a15-gic", "arm,cortex-a9-gic"));
  }
  w.property("#interrupt-cells", fdtCells(3));
  w.property("#address-cells", fdtCells(0));
  w.property("interrupt-controller", new Uint8Array());
  w.property(
    "reg",
    config.gicVersion === 3
      ? regs([[GUEST_GICD_BASE, GUEST_GICV3_GICD_SIZE], [GUEST_GICV3_GICR0_BASE, GUEST_GICV3_GICR0_SIZE]])
      : regs([[GUEST_GICD_BASE, GUEST_GICD_SIZE], [GUEST_GICC_BASE, GUEST_GICC_SIZE]]),
  );
  w.property("linux,phandle", gicPhandle);
  w.property("phandle", gicPhandle);
  w.endNode();

  w.beginNode("timer");
  w.property("compatible", fdtStrings("arm,armv8-timer"));
  w.property(
    "interrupts",
    fdtCells(
      ...interrupt(GUEST_TIMER_PHYS_S_PPI),
      ...interrupt(GUEST_TIMER_PHYS_NS_PPI),
      ...interrupt(GUEST_TIMER_VIRT_PPI),
    ),
  );
  w.property("interrupt-parent", gicPhandle);
  w.endNode();

  w.beginNode("hypervisor");
  w.property("compatible", fdtStrings(`xen,xen-${major}.${minor}`, "xen,xen"));
  const hypervisorReg = w.property("reg", regs(Array.from({ length: GUEST_RAM_BANKS + 1 }, () => [0, 0])));
  w.property("interrupts", fdtCells(...interrupt(GUEST_EVTCHN_PPI)));
  w.property("interrupt-parent", gicPhandle);
  w.endNode();

  w.endNode();
  const dtb = w.finish();

  // Finalisation, as libxl does once the domain's memory is laid out.
  const regions = guestExtendedRegions(config.memoryMiB).map((r) => [r.base, r.size] as const);
  fdtShrinkProperty(dtb, hypervisorReg, regs([[GUEST_GNTTAB_BASE, GUEST_GNTTAB_SIZE], ...regions]));
  const sizes = bankSizes(config.memoryMiB);
  memoryNodes.forEach((node, i) => {
    const size = sizes[i] ?? 0;
    if (size === 0) fdtNopRegion(dtb, node.start, node.end);
    else fdtSetPropertyInplace(dtb, node.reg, regs([[node.base, size]]));
  });
  return dtb;
}

/** A DTB that cannot be read; `offset` is where in the blob the problem is. */
export class DtbFormatError extends SyntaxError {
  /** Byte offset in the blob. */
  readonly offset: number;

  /** Creates the error; `state` completes "Cannot read memory banks: ...". */
  constructor(state: string, offset: number) {
    super(`Cannot read memory banks: ${state}`);
    this.name = "DtbFormatError";
    this.offset = offset;
  }
}

/** Size of a version 17 header. */
const HEADER_SIZE = 40;
/** Oldest and newest blob versions read (16 and 17 have the same structure block). */
const READ_MIN_VERSION = 16;
const READ_MAX_COMP_VERSION = 17;
/** Deepest node nesting read (U-Boot's MAX_LEVEL). */
const MAX_DEPTH = 32;
/** `#address-cells` / `#size-cells` when a node has none. */
const DEFAULT_ADDRESS_CELLS = 2;
const DEFAULT_SIZE_CELLS = 1;
/** Cells of a number a `MemoryBank` can hold (64 bits; values must also be below 2^53). */
const MAX_NUMBER_CELLS = 2;
const TAG = 4;
const PROP_HEADER = 12;

interface NodeFrame {
  name: string;
  at: number;
  addressCells?: number;
  sizeCells?: number;
  deviceType?: Uint8Array;
  status?: Uint8Array;
  reg?: Uint8Array;
  regAt?: number;
  done: boolean;
}

const decoder = new TextDecoder();
const MEMORY = fdtStrings("memory");

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function enabled(status: Uint8Array | undefined): boolean {
  if (status === undefined) return true;
  const text = decoder.decode(status.subarray(0, status.indexOf(0) < 0 ? status.length : status.indexOf(0)));
  return text === "okay" || text === "ok";
}

/**
 * The `reg` ranges of the enabled nodes whose `device_type` is `"memory"`, in blob order, read from a
 * DTB given by the user (`--dtb FILE`), as U-Boot's `dram_init_banksize` finds them. Each `reg` is read
 * with its parent's `#address-cells` / `#size-cells`. A malformed blob gives a {@linkcode DtbFormatError};
 * the walk is bounded by the blob's size and 32 levels of nesting.
 *
 * @example
 * ```ts
 * import { buildGuestDeviceTree, readMemoryBanks } from "./guest_device_tree.ts";
 * console.log(readMemoryBanks(buildGuestDeviceTree({ memoryMiB: 512, vcpus: 1 })));
 * // [{ base: 0x40000000, size: 0x20000000 }]
 * ```
 */
export function readMemoryBanks(dtb: Uint8Array): MemoryBank[] | DtbFormatError {
  if (dtb.length < HEADER_SIZE) return new DtbFormatError(`${dtb.length} bytes is shorter than a header`, 0);
  const view = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength);
  const u32 = (at: number) => view.getUint32(at, false);
  if (u32(0) !== FDT_MAGIC) return new DtbFormatError(`bad magic 0x${u32(0).toString(16)}`, 0);
  const version = u32(FDT_HEADER.version);
  if (version < READ_MIN_VERSION || u32(FDT_HEADER.last_comp_version) > READ_MAX_COMP_VERSION) {
    return new DtbFormatError(`version ${version} is not supported`, FDT_HEADER.version);
  }
  const totalsize = u32(FDT_HEADER.totalsize);
  if (totalsize < HEADER_SIZE || totalsize > dtb.length) {
    return new DtbFormatError(
      `totalsize ${totalsize} does not fit the ${dtb.length}-byte file`,
      FDT_HEADER.totalsize,
    );
  }
  const structStart = u32(FDT_HEADER.off_dt_struct);
  const structEnd = version >= READ_MAX_COMP_VERSION
    ? structStart + u32(FDT_HEADER.size_dt_struct)
    : totalsize;
  const stringsStart = u32(FDT_HEADER.off_dt_strings);
  const stringsEnd = stringsStart + u32(FDT_HEADER.size_dt_strings);
  if (structStart < HEADER_SIZE || structEnd > totalsize) {
    return new DtbFormatError("the structure block is outside the blob", FDT_HEADER.off_dt_struct);
  }
  if (stringsStart < HEADER_SIZE || stringsEnd > totalsize) {
    return new DtbFormatError("the strings block is outside the blob", FDT_HEADER.off_dt_strings);
  }

  const banks: MemoryBank[] = [];
  const stack: NodeFrame[] = [];
  const settle = (node: NodeFrame): DtbFormatError | undefined => {
    node.done = true;
    if (!node.deviceType || !bytesEqual(node.deviceType, MEMORY) || !enabled(node.status) || !node.reg) {
      return;
    }
    const parent = stack[stack.length - 2];
    const na = parent?.addressCells ?? DEFAULT_ADDRESS_CELLS;
    const ns = parent?.sizeCells ?? DEFAULT_SIZE_CELLS;
    const at = node.regAt ?? node.at;
    const usable = (n: number) => Number.isInteger(n) && n >= 0 && n <= MAX_NUMBER_CELLS;
    if (!usable(na) || !usable(ns) || na + ns === 0) {
      return new DtbFormatError(`${node.name}: cannot read reg with ${na} address and ${ns} size cells`, at);
    }
    const entry = (na + ns) * TAG;
    if (node.reg.length % entry !== 0) {
      return new DtbFormatError(`${node.name}: reg is not a whole number of (address, size) entries`, at);
    }
    const regView = new DataView(node.reg.buffer, node.reg.byteOffset, node.reg.byteLength);
    const number = (from: number, cells: number) => {
      let value = 0;
      for (let i = 0; i < cells; i++) value = value * TWO_POW_32 + regView.getUint32(from + i * TAG, false);
      return value;
    };
    for (let p = 0; p < node.reg.length; p += entry) {
      const base = number(p, na);
      const size = number(p + na * TAG, ns);
      if (!Number.isSafeInteger(base + size)) {
        return new DtbFormatError(`${node.name}: reg entry beyond 2^53`, at + p);
      }
      banks.push({ base, size });
    }
  };

  let offset = structStart;
  while (offset + TAG <= structEnd) {
    const tag = u32(offset);
    const node = stack[stack.length - 1];
    switch (tag) {
      case FDT_BEGIN_NODE: {
        const nul = dtb.subarray(0, structEnd).indexOf(0, offset + TAG);
        if (nul < 0) return new DtbFormatError("a node name runs past the structure block", offset);
        if (node && !node.done) {
          const error = settle(node);
          if (error) return error;
        }
        if (stack.length >= MAX_DEPTH) return new DtbFormatError("nodes nested too deep", offset);
        stack.push({ name: decoder.decode(dtb.subarray(offset + TAG, nul)), at: offset, done: false });
        offset = Math.ceil((nul + 1) / TAG) * TAG;
        break;
      }
      case FDT_PROP: {
        if (!node) return new DtbFormatError("a property outside any node", offset);
        if (offset + PROP_HEADER > structEnd) {
          return new DtbFormatError("a property runs past the structure", offset);
        }
        const length = u32(offset + TAG);
        const valueAt = offset + PROP_HEADER;
        if (valueAt + length > structEnd) {
          return new DtbFormatError("a property value runs past the structure", offset);
        }
        const nameAt = stringsStart + u32(offset + 2 * TAG);
        const nameEnd = nameAt < stringsEnd ? dtb.subarray(0, stringsEnd).indexOf(0, nameAt) : -1;
        if (nameEnd < 0) return new DtbFormatError("a property name is outside the strings block", offset);
        const name = decoder.decode(dtb.subarray(nameAt, nameEnd));
        const value = dtb.subarray(valueAt, valueAt + length);
        const cells = length === TAG ? u32(valueAt) : Number.NaN;
        if (name === "device_type") node.deviceType = value;
        else if (name === "status") node.status = value;
        else if (name === "reg") {
          node.reg = value;
          node.regAt = valueAt;
        } else if (name === "#address-cells") node.addressCells = cells;
        else if (name === "#size-cells") node.sizeCells = cells;
        offset = Math.ceil((valueAt + length) / TAG) * TAG;
        break;
      }
      case FDT_END_NODE: {
        if (!node) return new DtbFormatError("END_NODE without a node", offset);
        if (!node.done) {
          const error = settle(node);
          if (error) return error;
        }
        stack.pop();
        offset += TAG;
        break;
      }
      case FDT_NOP:
        offset += TAG;
        break;
      case FDT_END:
        if (stack.length !== 0) return new DtbFormatError("the structure ends inside a node", offset);
        return banks;
      default:
        return new DtbFormatError(`unknown tag 0x${tag.toString(16)}`, offset);
    }
  }
  return new DtbFormatError("the structure block has no FDT_END", structEnd);
}
