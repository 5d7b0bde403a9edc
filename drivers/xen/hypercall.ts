/**
 * The `hvc #0xEA1` entry as typed functions: each builds the ARM64 registers (x16 = hypercall
 * number, x0..x4 = arguments), writes structure arguments into a scratch page of guest memory at
 * Xen's arm64 layouts, makes the call and reads the OUT fields back. Every function resolves to the
 * signed x0 (0 or positive on success, a negative Xen errno on failure) plus the OUT fields.
 *
 * One vCPU issues one hypercall at a time: calls are serialised here, so the PV console's output pump
 * and a driver waiting on an event channel never interleave inside the scratch page.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hypercalls } from "./hypercall.ts";
 * import type { HypercallRegisters, PhysicalMemory, Platform } from "../../machine/platform.ts";
 *
 * const seen: HypercallRegisters[] = [];
 * const platform = {
 *   memory: {} as PhysicalMemory,
 *   entry: { x0: 0, pc: 0 },
 *   hypercall: (regs: HypercallRegisters) => { seen.push(regs); return Promise.resolve(0x4_0011n); },
 * } satisfies Platform;
 * const hc = new Hypercalls(platform, 0x9c000000);
 * assert.equal(await hc.xenVersion(), 0x4_0011); // Xen 4.17
 * assert.equal(seen[0]?.x16, 17);
 * ```
 *
 * @module
 */

import type { HypercallRegisters, PhysicalMemory, Platform } from "../../machine/platform.ts";
import type { Malloc } from "../../board/malloc.ts";
import {
  __HYPERVISOR_console_io,
  __HYPERVISOR_event_channel_op,
  __HYPERVISOR_grant_table_op,
  __HYPERVISOR_hvm_op,
  __HYPERVISOR_memory_op,
  __HYPERVISOR_sched_op,
  __HYPERVISOR_xen_version,
  CONSOLEIO_write,
  DOMID_SELF,
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_close,
  EVTCHNOP_send,
  EVTCHNOP_unmask,
  GNTTABOP_query_size,
  GNTTABOP_setup_table,
  HVMOP_get_param,
  HVMOP_set_param,
  SCHEDOP_poll,
  SCHEDOP_POLL_MAX_PORTS,
  SCHEDOP_shutdown,
  SCHEDOP_yield,
  XEN_PAGE_SIZE,
  XENMEM_add_to_physmap,
  XENMEM_populate_physmap,
  XENMEM_remove_from_physmap,
  XENVER_version,
} from "./abi.ts";

// Scratch page layout: one structure at the start, arrays after it, console text in the upper part.
/** Offset of the structure argument in the scratch page. */
const SCRATCH_STRUCT = 0;
/** Offset of array arguments (poll ports, extent lists, frame lists). */
const SCRATCH_ARRAY = 0x100;
/** Bytes available for array arguments. */
const SCRATCH_ARRAY_BYTES = 0x300;
/** Offset of console_io text. */
const SCRATCH_TEXT = 0x400;
/** Bytes of console text per console_io call. */
export const CONSOLE_IO_CHUNK = XEN_PAGE_SIZE - SCRATCH_TEXT;

// struct xen_add_to_physmap (24 bytes).
const XATP_DOMID = 0;
const XATP_SIZE = 2;
const XATP_SPACE = 4;
const XATP_IDX = 8;
const XATP_GPFN = 16;
const XATP_BYTES = 24;
// struct xen_remove_from_physmap (16 bytes).
const XRFP_DOMID = 0;
const XRFP_GPFN = 8;
const XRFP_BYTES = 16;
// struct xen_memory_reservation (32 bytes).
const XMR_EXTENT_START = 0;
const XMR_NR_EXTENTS = 8;
const XMR_EXTENT_ORDER = 16;
const XMR_MEM_FLAGS = 20;
const XMR_DOMID = 24;
const XMR_BYTES = 32;
// struct xen_hvm_param (16 bytes).
const HVMP_DOMID = 0;
const HVMP_INDEX = 4;
const HVMP_VALUE = 8;
const HVMP_BYTES = 16;
// struct evtchn_alloc_unbound (8 bytes).
const EAU_DOM = 0;
const EAU_REMOTE_DOM = 2;
const EAU_PORT = 4;
const EAU_BYTES = 8;
// struct evtchn_bind_interdomain (12 bytes).
const EBI_REMOTE_DOM = 0;
const EBI_REMOTE_PORT = 4;
const EBI_LOCAL_PORT = 8;
const EBI_BYTES = 12;
// struct evtchn_send / evtchn_close / evtchn_unmask (4 bytes).
const EVTCHN_PORT = 0;
const EVTCHN_PORT_BYTES = 4;
// struct gnttab_query_size (16 bytes).
const GQS_DOM = 0;
const GQS_NR_FRAMES = 4;
const GQS_MAX_NR_FRAMES = 8;
const GQS_STATUS = 12;
const GQS_BYTES = 16;
// struct gnttab_setup_table (24 bytes).
const GST_DOM = 0;
const GST_NR_FRAMES = 4;
const GST_STATUS = 8;
const GST_FRAME_LIST = 16;
const GST_BYTES = 24;
// struct sched_poll (24 bytes).
const SP_PORTS = 0;
const SP_NR_PORTS = 8;
const SP_TIMEOUT = 16;
const SP_BYTES = 24;
// struct sched_shutdown (4 bytes).
const SS_REASON = 0;
const SS_BYTES = 4;
/** Bytes per element of a u64 array (extent and frame lists). */
const U64_BYTES = 8;
/** Bytes per port in a poll list. */
const U32_BYTES = 4;

/** A hypercall result with the value of an OUT field. */
export interface HypercallValue<T> {
  /** The signed x0. */
  rc: number;
  /** The OUT field (meaningful when `rc` is 0). */
  value: T;
}

/** `GNTTABOP_query_size` results. */
export interface GnttabSize {
  /** The signed x0 of the call. */
  rc: number;
  /** The element's `status` (GNTST_*). */
  status: number;
  /** Frames in use. */
  nrFrames: number;
  /** Frames the table may grow to. */
  maxNrFrames: number;
}

function _signed(x0: bigint): number {
  return Number(BigInt.asIntN(64, x0));
}

function _u16(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`Cannot pass ${what} ${value}: not a 16-bit value`);
  }
  return value;
}

function _u32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`Cannot pass ${what} ${value}: not a 32-bit value`);
  }
  return value;
}

/** The guest's hypercall entry: typed, serialised calls through a scratch page. */
export class Hypercalls {
  /** The platform the calls go to. */
  readonly platform: Platform;
  /** Guest-physical address of the page-aligned scratch page. */
  readonly scratch: number;
  #tail: Promise<unknown> = Promise.resolve();

  /** Uses `scratch` (one page of guest RAM the caller owns) for structure arguments. */
  constructor(platform: Platform, scratch: number) {
    if (scratch % XEN_PAGE_SIZE !== 0) {
      throw new RangeError(`Cannot use scratch page 0x${scratch.toString(16)}: not page-aligned`);
    }
    this.platform = platform;
    this.scratch = scratch;
  }

  /** Takes the scratch page from `heap`. */
  static create(platform: Platform, heap: Malloc): Hypercalls {
    return new Hypercalls(platform, heap.memalign(XEN_PAGE_SIZE, XEN_PAGE_SIZE));
  }

  /** Guest memory (for reading structures the caller placed elsewhere). */
  get memory(): PhysicalMemory {
    return this.platform.memory;
  }

  /** Runs `body` when no other hypercall is in flight. */
  #exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(body, body);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #raw(nr: number, args: readonly bigint[]): Promise<number> {
    const regs: HypercallRegisters = {
      x16: nr,
      x0: args[0] ?? 0n,
      x1: args[1] ?? 0n,
      x2: args[2] ?? 0n,
      x3: args[3] ?? 0n,
      x4: args[4] ?? 0n,
    };
    return _signed(await this.platform.hypercall(regs));
  }

  /** A raw hypercall (x16 = `nr`, x0.. = `args`), serialised with the others. */
  call(nr: number, ...args: bigint[]): Promise<number> {
    return this.#exclusive(() => this.#raw(nr, args));
  }

  /** Writes a zeroed structure of `bytes` at the scratch page and returns its address. */
  #struct(bytes: number): number {
    const at = this.scratch + SCRATCH_STRUCT;
    this.memory.fill(at, bytes, 0);
    return at;
  }

  /** `XENMEM_add_to_physmap` {DOMID_SELF, size 0, space, idx, gpfn}. */
  addToPhysmap(space: number, idx: number, gpfn: number): Promise<number> {
    return this.#exclusive(() => {
      const m = this.memory;
      const at = this.#struct(XATP_BYTES);
      m.writeU16(at + XATP_DOMID, DOMID_SELF);
      m.writeU16(at + XATP_SIZE, 0);
      m.writeU32(at + XATP_SPACE, _u32(space, "space"));
      m.writeU64(at + XATP_IDX, BigInt(idx));
      m.writeU64(at + XATP_GPFN, BigInt(gpfn));
      return this.#raw(__HYPERVISOR_memory_op, [BigInt(XENMEM_add_to_physmap), BigInt(at)]);
    });
  }

  /** `XENMEM_remove_from_physmap` {DOMID_SELF, gpfn}. */
  removeFromPhysmap(gpfn: number): Promise<number> {
    return this.#exclusive(() => {
      const at = this.#struct(XRFP_BYTES);
      this.memory.writeU16(at + XRFP_DOMID, DOMID_SELF);
      this.memory.writeU64(at + XRFP_GPFN, BigInt(gpfn));
      return this.#raw(__HYPERVISOR_memory_op, [BigInt(XENMEM_remove_from_physmap), BigInt(at)]);
    });
  }

  /** `XENMEM_populate_physmap` of one extent of 2^`order` pages at each GFN; x0 = extents done. */
  populatePhysmap(gpfns: readonly number[], order = 0): Promise<number> {
    if (gpfns.length * U64_BYTES > SCRATCH_ARRAY_BYTES) {
      throw new RangeError(`Cannot populate ${gpfns.length} extents in one call`);
    }
    return this.#exclusive(() => {
      const m = this.memory;
      const list = this.scratch + SCRATCH_ARRAY;
      gpfns.forEach((gpfn, i) => m.writeU64(list + i * U64_BYTES, BigInt(gpfn)));
      const at = this.#struct(XMR_BYTES);
      m.writeU64(at + XMR_EXTENT_START, BigInt(list));
      m.writeU64(at + XMR_NR_EXTENTS, BigInt(gpfns.length));
      m.writeU32(at + XMR_EXTENT_ORDER, _u32(order, "extent order"));
      m.writeU32(at + XMR_MEM_FLAGS, 0);
      m.writeU16(at + XMR_DOMID, DOMID_SELF);
      return this.#raw(__HYPERVISOR_memory_op, [BigInt(XENMEM_populate_physmap), BigInt(at)]);
    });
  }

  /** `HVMOP_get_param` {DOMID_SELF, index}: the value read back. */
  hvmGetParam(index: number): Promise<HypercallValue<bigint>> {
    return this.#exclusive(async () => {
      const at = this.#struct(HVMP_BYTES);
      this.memory.writeU16(at + HVMP_DOMID, DOMID_SELF);
      this.memory.writeU32(at + HVMP_INDEX, _u32(index, "HVM param index"));
      const rc = await this.#raw(__HYPERVISOR_hvm_op, [BigInt(HVMOP_get_param), BigInt(at)]);
      return { rc, value: this.memory.readU64(at + HVMP_VALUE) };
    });
  }

  /** `HVMOP_set_param` {DOMID_SELF, index, value}. */
  hvmSetParam(index: number, value: bigint): Promise<number> {
    return this.#exclusive(() => {
      const at = this.#struct(HVMP_BYTES);
      this.memory.writeU16(at + HVMP_DOMID, DOMID_SELF);
      this.memory.writeU32(at + HVMP_INDEX, _u32(index, "HVM param index"));
      this.memory.writeU64(at + HVMP_VALUE, value);
      return this.#raw(__HYPERVISOR_hvm_op, [BigInt(HVMOP_set_param), BigInt(at)]);
    });
  }

  /** `EVTCHNOP_alloc_unbound` {DOMID_SELF, remoteDom}: the new local port. */
  evtchnAllocUnbound(remoteDom: number): Promise<HypercallValue<number>> {
    return this.#exclusive(async () => {
      const at = this.#struct(EAU_BYTES);
      this.memory.writeU16(at + EAU_DOM, DOMID_SELF);
      this.memory.writeU16(at + EAU_REMOTE_DOM, _u16(remoteDom, "remote domain"));
      const rc = await this.#raw(__HYPERVISOR_event_channel_op, [
        BigInt(EVTCHNOP_alloc_unbound),
        BigInt(at),
      ]);
      return { rc, value: this.memory.readU32(at + EAU_PORT) };
    });
  }

  /** `EVTCHNOP_bind_interdomain` {remoteDom, remotePort}: the new local port. */
  evtchnBindInterdomain(remoteDom: number, remotePort: number): Promise<HypercallValue<number>> {
    return this.#exclusive(async () => {
      const at = this.#struct(EBI_BYTES);
      this.memory.writeU16(at + EBI_REMOTE_DOM, _u16(remoteDom, "remote domain"));
      this.memory.writeU32(at + EBI_REMOTE_PORT, _u32(remotePort, "remote port"));
      const rc = await this.#raw(__HYPERVISOR_event_channel_op, [
        BigInt(EVTCHNOP_bind_interdomain),
        BigInt(at),
      ]);
      return { rc, value: this.memory.readU32(at + EBI_LOCAL_PORT) };
    });
  }

  #portOp(cmd: number, port: number): Promise<number> {
    return this.#exclusive(() => {
      const at = this.#struct(EVTCHN_PORT_BYTES);
      this.memory.writeU32(at + EVTCHN_PORT, _u32(port, "port"));
      return this.#raw(__HYPERVISOR_event_channel_op, [BigInt(cmd), BigInt(at)]);
    });
  }

  /** `EVTCHNOP_close` {port}. */
  evtchnClose(port: number): Promise<number> {
    return this.#portOp(EVTCHNOP_close, port);
  }

  /** `EVTCHNOP_send` {port}: raises the remote end. */
  evtchnSend(port: number): Promise<number> {
    return this.#portOp(EVTCHNOP_send, port);
  }

  /** `EVTCHNOP_unmask` {port}: Xen clears the mask and re-raises a pending port. */
  evtchnUnmask(port: number): Promise<number> {
    return this.#portOp(EVTCHNOP_unmask, port);
  }

  /** `GNTTABOP_query_size` for DOMID_SELF (count 1). */
  gnttabQuerySize(): Promise<GnttabSize> {
    return this.#exclusive(async () => {
      const m = this.memory;
      const at = this.#struct(GQS_BYTES);
      m.writeU16(at + GQS_DOM, DOMID_SELF);
      const rc = await this.#raw(__HYPERVISOR_grant_table_op, [BigInt(GNTTABOP_query_size), BigInt(at), 1n]);
      return {
        rc,
        status: (m.readU16(at + GQS_STATUS) << 16) >> 16,
        nrFrames: m.readU32(at + GQS_NR_FRAMES),
        maxNrFrames: m.readU32(at + GQS_MAX_NR_FRAMES),
      };
    });
  }

  /**
   * `GNTTABOP_setup_table` for DOMID_SELF (count 1): `status` and the GFNs where the frames are
   * mapped. Optional on Arm (U-Boot never issues it); here for completeness and diagnostics.
   */
  gnttabSetupTable(nrFrames: number): Promise<{ rc: number; status: number; frames: number[] }> {
    if (nrFrames * U64_BYTES > SCRATCH_ARRAY_BYTES) {
      throw new RangeError(`Cannot set up ${nrFrames} grant frames in one call`);
    }
    return this.#exclusive(async () => {
      const m = this.memory;
      const list = this.scratch + SCRATCH_ARRAY;
      m.fill(list, nrFrames * U64_BYTES, 0);
      const at = this.#struct(GST_BYTES);
      m.writeU16(at + GST_DOM, DOMID_SELF);
      m.writeU32(at + GST_NR_FRAMES, _u32(nrFrames, "frame count"));
      m.writeU64(at + GST_FRAME_LIST, BigInt(list));
      const rc = await this.#raw(__HYPERVISOR_grant_table_op, [BigInt(GNTTABOP_setup_table), BigInt(at), 1n]);
      const frames: number[] = [];
      for (let i = 0; i < nrFrames; i++) frames.push(Number(m.readU64(list + i * U64_BYTES)));
      return { rc, status: (m.readU16(at + GST_STATUS) << 16) >> 16, frames };
    });
  }

  /** `SCHEDOP_yield`: lets the backends run. */
  schedYield(): Promise<number> {
    return this.call(__HYPERVISOR_sched_op, BigInt(SCHEDOP_yield), 0n);
  }

  /**
   * `SCHEDOP_poll` on `ports` until one is pending (masked ones count) or Xen system time reaches
   * `timeoutNs` (absolute; 0 = no timeout).
   */
  schedPoll(ports: readonly number[], timeoutNs: bigint): Promise<number> {
    if (ports.length === 0 || ports.length > SCHEDOP_POLL_MAX_PORTS) {
      throw new RangeError(`Cannot poll ${ports.length} ports: 1 to ${SCHEDOP_POLL_MAX_PORTS}`);
    }
    return this.#exclusive(() => {
      const m = this.memory;
      const list = this.scratch + SCRATCH_ARRAY;
      ports.forEach((port, i) => m.writeU32(list + i * U32_BYTES, _u32(port, "port")));
      const at = this.#struct(SP_BYTES);
      m.writeU64(at + SP_PORTS, BigInt(list));
      m.writeU32(at + SP_NR_PORTS, ports.length);
      m.writeU64(at + SP_TIMEOUT, BigInt.asUintN(64, timeoutNs));
      return this.#raw(__HYPERVISOR_sched_op, [BigInt(SCHEDOP_poll), BigInt(at)]);
    });
  }

  /** `SCHEDOP_shutdown` {reason} (SHUTDOWN_poweroff 0, reboot 1, crash 3). */
  schedShutdown(reason: number): Promise<number> {
    return this.#exclusive(() => {
      const at = this.#struct(SS_BYTES);
      this.memory.writeU32(at + SS_REASON, _u32(reason, "shutdown reason"));
      return this.#raw(__HYPERVISOR_sched_op, [BigInt(SCHEDOP_shutdown), BigInt(at)]);
    });
  }

  /** `CONSOLEIO_write` of a byte string to Xen's own console, in chunks of the scratch area. */
  async consoleWrite(text: string): Promise<number> {
    let written = 0;
    for (let from = 0; from < text.length; from += CONSOLE_IO_CHUNK) {
      const chunk = text.slice(from, from + CONSOLE_IO_CHUNK);
      const rc = await this.#exclusive(() => {
        const bytes = new Uint8Array(chunk.length);
        for (let i = 0; i < chunk.length; i++) bytes[i] = chunk.charCodeAt(i) & 0xff;
        this.memory.write(this.scratch + SCRATCH_TEXT, bytes);
        return this.#raw(__HYPERVISOR_console_io, [
          BigInt(CONSOLEIO_write),
          BigInt(bytes.length),
          BigInt(this.scratch + SCRATCH_TEXT),
        ]);
      });
      if (rc < 0) return rc;
      written += chunk.length;
    }
    return written;
  }

  /** `XENVER_version`: `(major << 16) | minor`, or a negative errno. */
  xenVersion(): Promise<number> {
    return this.call(__HYPERVISOR_xen_version, BigInt(XENVER_version), 0n);
  }
}
