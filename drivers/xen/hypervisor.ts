/**
 * The hypervisor's shared_info page as U-Boot's drivers/xen/hypervisor.c maps and uses it, and HVM
 * parameters. `map_shared_info` takes a page of U-Boot's heap and asks Xen to put shared_info there
 * (`XENMEM_add_to_physmap`, space shared_info, idx 0); `unmap_shared_info` removes it and fills the
 * hole with fresh RAM (`XENMEM_populate_physmap`) so Linux finds ordinary memory (xen-spec §1.4, §9).
 *
 * Layout (arm64, xen-spec §3): vcpu_info[0] at 0 (`evtchn_upcall_pending` u8 @0,
 * `evtchn_pending_sel` u64 @8), `evtchn_pending[64]` u64 @48, `evtchn_mask[64]` u64 @560. Port p is
 * byte `p / 8`, bit `p % 8` of either array; its selector bit is `p / 64`. Xen and the backends
 * touch the page only while a hypercall runs, so the guest's read-modify-write of a bit between
 * hypercalls is as atomic as the `synch_*_bit` operations U-Boot uses.
 *
 * @example
 * ```ts
 * import { SHARED_INFO_EVTCHN_PENDING, EVTCHN_2L_NR_CHANNELS } from "./hypervisor.ts";
 * console.log(SHARED_INFO_EVTCHN_PENDING, EVTCHN_2L_NR_CHANNELS); // 48 4096
 * ```
 *
 * @module
 */

import type { PhysicalMemory } from "../../machine/platform.ts";
import type { Malloc } from "../../board/malloc.ts";
import type { Hypercalls } from "./hypercall.ts";
import { XEN_PAGE_SIZE, XENMAPSPACE_shared_info } from "./abi.ts";
import { XenError } from "./errors.ts";

/** `vcpu_info[0].evtchn_upcall_pending` (u8). */
export const VCPU_UPCALL_PENDING = 0;
/** `vcpu_info[0].evtchn_pending_sel` (u64). */
export const VCPU_PENDING_SEL = 8;
/** `evtchn_pending[]` (64 little-endian u64 words). */
export const SHARED_INFO_EVTCHN_PENDING = 48;
/** `evtchn_mask[]` (64 little-endian u64 words). */
export const SHARED_INFO_EVTCHN_MASK = 560;
/** Words in each event array. */
export const EVTCHN_WORDS = 64;
/** Bits per event word. */
export const EVTCHN_WORD_BITS = 64;
/** Ports of the 2-level ABI on arm64 (64 × 64). */
export const EVTCHN_2L_NR_CHANNELS = EVTCHN_WORDS * EVTCHN_WORD_BITS;
/** Bytes per event word. */
const WORD_BYTES = 8;

/** HVM parameter names U-Boot prints (hypervisor.c `param_name`). */
const PARAM_NAMES: Readonly<Record<number, string>> = {
  0: "CALLBACK_IRQ",
  1: "STORE_PFN",
  2: "STORE_EVTCHN",
  4: "PAE_ENABLED",
  5: "IOREQ_PFN",
  7: "VPT_ALIGN",
  17: "CONSOLE_PFN",
  18: "CONSOLE_EVTCHN",
};
/** One past the last index U-Boot's name table covers. */
const PARAM_NAMES_END = 19;

/** U-Boot's name for HVM parameter `index` ("reserved" or "unknown" outside its table). */
export function hvmParamName(index: number): string {
  if (index >= PARAM_NAMES_END) return "unknown";
  return PARAM_NAMES[index] ?? "reserved";
}

/**
 * `hvm_get_parameter`: the value of HVM parameter `index`. On failure prints U-Boot's
 * `Cannot get hvm parameter %s (%d): %d!` through `log` and throws {@linkcode XenError} (U-Boot BUG()s).
 */
export async function hvmGetParameter(
  hc: Hypercalls,
  index: number,
  log: (text: string) => void = () => {},
): Promise<bigint> {
  const { rc, value } = await hc.hvmGetParam(index);
  if (rc < 0) {
    log(`Cannot get hvm parameter ${hvmParamName(index)} (${index}): ${rc}!\n`);
    throw new XenError(`get hvm parameter ${hvmParamName(index)}`, rc);
  }
  return value;
}

/** The mapped shared_info page: event bits and the vCPU's upcall flags. */
export class SharedInfo {
  /** Guest memory. */
  readonly memory: PhysicalMemory;
  /** Guest-physical address of the page. */
  readonly address: number;

  /** Accesses the shared_info page mapped at `address`. */
  constructor(memory: PhysicalMemory, address: number) {
    this.memory = memory;
    this.address = address;
  }

  /**
   * `map_shared_info`: a page from `heap`, then `XENMEM_add_to_physmap` {space shared_info, idx 0,
   * gpfn}. Throws {@linkcode XenError} (and gives the page back) when Xen refuses.
   */
  static async map(hc: Hypercalls, heap: Malloc): Promise<SharedInfo> {
    const page = heap.memalign(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    const rc = await hc.addToPhysmap(XENMAPSPACE_shared_info, 0, page / XEN_PAGE_SIZE);
    if (rc !== 0) {
      heap.free(page);
      throw new XenError("map shared_info", rc);
    }
    return new SharedInfo(hc.memory, page);
  }

  /**
   * `unmap_shared_info`: `XENMEM_remove_from_physmap` of the page, `XENMEM_populate_physmap` of one
   * page at the same frame (so RAM is whole again), then the page goes back to `heap`. Throws
   * {@linkcode XenError} with U-Boot's panic text when Xen refuses either step.
   */
  async unmap(hc: Hypercalls, heap: Malloc): Promise<void> {
    const gpfn = this.address / XEN_PAGE_SIZE;
    const removed = await hc.removeFromPhysmap(gpfn);
    if (removed !== 0) throw new XenError("unmap shared_info", "Failed to unmap HYPERVISOR_shared_info");
    const populated = await hc.populatePhysmap([gpfn], 0);
    if (populated !== 1) {
      throw new XenError(
        "unmap shared_info",
        "Failed to populate memory on HYPERVISOR_shared_info addr",
      );
    }
    heap.free(this.address);
  }

  #bitAt(base: number, port: number): { at: number; bit: number } {
    if (!Number.isInteger(port) || port < 0 || port >= EVTCHN_2L_NR_CHANNELS) {
      throw new RangeError(`Cannot address event channel ${port}: outside 0..4095`);
    }
    return { at: this.address + base + (port >> 3), bit: 1 << (port & 7) };
  }

  #test(base: number, port: number): boolean {
    const { at, bit } = this.#bitAt(base, port);
    return (this.memory.readU8(at) & bit) !== 0;
  }

  #set(base: number, port: number, on: boolean): boolean {
    const { at, bit } = this.#bitAt(base, port);
    const old = this.memory.readU8(at);
    this.memory.writeU8(at, on ? old | bit : old & ~bit);
    return (old & bit) !== 0;
  }

  /** Whether `port` is pending. */
  isPending(port: number): boolean {
    return this.#test(SHARED_INFO_EVTCHN_PENDING, port);
  }

  /** `clear_evtchn`: clears the pending bit; returns whether it was set (test-and-clear). */
  clearPending(port: number): boolean {
    return this.#set(SHARED_INFO_EVTCHN_PENDING, port, false);
  }

  /** Whether `port` is masked. */
  isMasked(port: number): boolean {
    return this.#test(SHARED_INFO_EVTCHN_MASK, port);
  }

  /** `mask_evtchn`. */
  mask(port: number): void {
    this.#set(SHARED_INFO_EVTCHN_MASK, port, true);
  }

  /** Clears the mask bit; returns whether it was set. */
  clearMask(port: number): boolean {
    return this.#set(SHARED_INFO_EVTCHN_MASK, port, false);
  }

  /** Masks every port of the 2-level ABI. */
  maskAll(): void {
    this.memory.fill(this.address + SHARED_INFO_EVTCHN_MASK, EVTCHN_WORDS * WORD_BYTES, 0xff);
  }

  /** `pending[word] & ~mask[word]`. */
  activeWord(word: number): bigint {
    const off = word * WORD_BYTES;
    const pending = this.memory.readU64(this.address + SHARED_INFO_EVTCHN_PENDING + off);
    const mask = this.memory.readU64(this.address + SHARED_INFO_EVTCHN_MASK + off);
    return pending & ~mask;
  }

  /** `evtchn_upcall_pending`. */
  upcallPending(): boolean {
    return this.memory.readU8(this.address + VCPU_UPCALL_PENDING) !== 0;
  }

  /** Writes `evtchn_upcall_pending`. */
  setUpcallPending(on: boolean): void {
    this.memory.writeU8(this.address + VCPU_UPCALL_PENDING, on ? 1 : 0);
  }

  /** `xchg(&evtchn_pending_sel, 0)`. */
  takePendingSel(): bigint {
    const at = this.address + VCPU_PENDING_SEL;
    const sel = this.memory.readU64(at);
    this.memory.writeU64(at, 0n);
    return sel;
  }

  /** Sets selector bit `word`; returns whether it was already set. */
  setPendingSelBit(word: number): boolean {
    const at = this.address + VCPU_PENDING_SEL;
    const sel = this.memory.readU64(at);
    const bit = 1n << BigInt(word);
    this.memory.writeU64(at, sel | bit);
    return (sel & bit) !== 0n;
  }
}
