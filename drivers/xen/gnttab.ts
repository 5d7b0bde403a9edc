/**
 * The grant table, v1, as U-Boot's drivers/xen/gnttab.c sets it up on Arm: one frame
 * (`NR_GRANT_FRAMES` = 1, 512 entries) mapped with `XENMEM_add_to_physmap` {space grant_table, idx 0}
 * at the base the device tree's `xen,xen` node gives in `reg[0]`; refs 8..511 on a LIFO free list
 * (the first ref handed out is 511); refs 0..7 are the toolstack's and never touched.
 *
 * Entry (`grant_entry_v1`, 8 bytes): flags u16 @0, domid u16 @2, frame u32 @4. Granting writes frame
 * and domid first and the flags last (xen-spec §4.3). Ending checks `GTF_reading|GTF_writing` and
 * clears the flags in one step (xen-spec §4.4): Xen and the backends run only inside hypercalls, so
 * the check and the clear cannot be split by a backend mapping the page. An entry still in use is
 * refused and its ref stays allocated: never freed while the backend holds it (XSA-396).
 *
 * @example
 * ```ts
 * import { GNTTAB_NR_RESERVED_ENTRIES, NR_GRANT_ENTRIES } from "./gnttab.ts";
 * console.log(GNTTAB_NR_RESERVED_ENTRIES, NR_GRANT_ENTRIES); // 8 512
 * ```
 *
 * @module
 */

import type { PhysicalMemory } from "../../machine/platform.ts";
import type { Hypercalls } from "./hypercall.ts";
import { DOMID_FIRST_RESERVED, XEN_PAGE_SIZE, XENMAPSPACE_grant_table } from "./abi.ts";
import { XenError } from "./errors.ts";

/** Grant-table frames the guest maps (U-Boot: 1). */
export const NR_GRANT_FRAMES = 1;
/** Bytes per v1 entry. */
export const GRANT_ENTRY_V1_BYTES = 8;
/** Entries in the mapped frames. */
export const NR_GRANT_ENTRIES = (NR_GRANT_FRAMES * XEN_PAGE_SIZE) / GRANT_ENTRY_V1_BYTES;
/** Refs 0..7 belong to the toolstack (console, xenstore, ...). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;

/** `grant_entry_v1.flags`. */
const ENTRY_FLAGS = 0;
/** `grant_entry_v1.domid`. */
const ENTRY_DOMID = 2;
/** `grant_entry_v1.frame`. */
const ENTRY_FRAME = 4;

/** Entry type: not in use. */
export const GTF_invalid = 0;
/** Entry type: the domain may map or copy the frame. */
export const GTF_permit_access = 1;
/** Guest: the grantee may only read. */
export const GTF_readonly = 1 << 2;
/** Xen: the frame is mapped or held for reading. */
export const GTF_reading = 1 << 3;
/** Xen: the frame is mapped or held for writing. */
export const GTF_writing = 1 << 4;

/** No free grant reference is left (U-Boot's free list would run dry). */
export class GrantTableFullError extends RangeError {
  /** Creates the error. */
  constructor() {
    super(
      `Cannot grant access: all ${NR_GRANT_ENTRIES - GNTTAB_NR_RESERVED_ENTRIES} grant references in use`,
    );
    this.name = "GrantTableFullError";
  }
}

/** Options of {@linkcode GrantTable}. */
export interface GrantTableOptions {
  /** Where U-Boot's messages go (the console). */
  log?: (text: string) => void;
}

/** The guest's grant table (v1, one frame). */
export class GrantTable {
  /** The hypercall entry. */
  readonly hc: Hypercalls;
  /** Guest-physical address of the mapped table (the DT's `reg[0]`). */
  readonly base: number;
  readonly #memory: PhysicalMemory;
  readonly #log: (text: string) => void;
  /** LIFO free list: the last element is handed out next. */
  readonly #free: number[] = [];
  /** Refs granted and not yet ended. */
  readonly #active = new Set<number>();
  #mapped = false;

  /** A table to be mapped at `base`; call {@linkcode GrantTable.init}. */
  constructor(hc: Hypercalls, base: number, options: GrantTableOptions = {}) {
    if (!Number.isSafeInteger(base) || base <= 0 || base % XEN_PAGE_SIZE !== 0) {
      throw new RangeError(`Cannot map the grant table at 0x${base.toString(16)}: not a page address`);
    }
    this.hc = hc;
    this.base = base;
    this.#memory = hc.memory;
    this.#log = options.log ?? (() => {});
  }

  /**
   * `init_gnttab`: refs 8..511 onto the free list, then each frame mapped at `base` with
   * `XENMEM_add_to_physmap`. A refusal prints `XENMEM_add_to_physmap failed; status = %d` and throws
   * {@linkcode XenError} (U-Boot BUG()s).
   */
  async init(): Promise<void> {
    this.#free.length = 0;
    this.#active.clear();
    for (let ref = GNTTAB_NR_RESERVED_ENTRIES; ref < NR_GRANT_ENTRIES; ref++) this.#free.push(ref);
    for (let frame = 0; frame < NR_GRANT_FRAMES; frame++) {
      const rc = await this.hc.addToPhysmap(
        XENMAPSPACE_grant_table,
        frame,
        this.base / XEN_PAGE_SIZE + frame,
      );
      if (rc !== 0) {
        this.#log(`XENMEM_add_to_physmap failed; status = ${rc}\n`);
        throw new XenError("map the grant table", rc);
      }
    }
    this.#mapped = true;
  }

  /**
   * `gnttab_grant_access(domid, frame, readonly)`: takes a free ref, writes frame and domid, then
   * the flags (`GTF_permit_access`, plus `GTF_readonly`). Returns the ref; throws
   * {@linkcode GrantTableFullError} when none is free.
   */
  grantAccess(domid: number, frame: number, readonly: boolean): number {
    if (!this.#mapped) throw new Error("Cannot grant access: the grant table is not mapped");
    if (!Number.isInteger(domid) || domid < 0 || domid >= DOMID_FIRST_RESERVED) {
      throw new RangeError(`Cannot grant access to domain ${domid}: not a domain id`);
    }
    if (!Number.isInteger(frame) || frame < 0 || frame > 0xffff_ffff) {
      throw new RangeError(`Cannot grant frame ${frame}: not a 32-bit frame number`);
    }
    const ref = this.#free.pop();
    if (ref === undefined) throw new GrantTableFullError();
    const at = this.#entry(ref);
    this.#memory.writeU32(at + ENTRY_FRAME, frame);
    this.#memory.writeU16(at + ENTRY_DOMID, domid);
    // wmb(): the entry is complete before the flags make it valid.
    this.#memory.writeU16(at + ENTRY_FLAGS, GTF_permit_access | (readonly ? GTF_readonly : 0));
    this.#active.add(ref);
    return ref;
  }

  /**
   * `gnttab_end_access(ref)`: when the backend no longer maps the frame (`GTF_reading` and
   * `GTF_writing` clear) the flags become 0 and the ref returns to the free list: true. When it
   * still does, prints U-Boot's `WARNING: g.e. still in use! (%x)` and returns false; the ref stays
   * allocated and the caller must not reuse the page. A ref this table did not grant throws.
   */
  endAccess(ref: number): boolean {
    if (!this.#active.has(ref)) {
      throw new RangeError(`Cannot end grant ${ref}: not granted by this table`);
    }
    const at = this.#entry(ref);
    const flags = this.#memory.readU16(at + ENTRY_FLAGS);
    if (flags & (GTF_reading | GTF_writing)) {
      this.#log(`WARNING: g.e. still in use! (${flags.toString(16)})\n`);
      return false;
    }
    this.#memory.writeU16(at + ENTRY_FLAGS, GTF_invalid);
    this.#active.delete(ref);
    this.#free.push(ref);
    return true;
  }

  /** Whether the backend currently maps `ref` (`GTF_reading` or `GTF_writing`). */
  inUse(ref: number): boolean {
    return (this.#memory.readU16(this.#entry(ref) + ENTRY_FLAGS) & (GTF_reading | GTF_writing)) !== 0;
  }

  /** Refs granted and not ended, ascending. */
  activeRefs(): number[] {
    return [...this.#active].sort((a, b) => a - b);
  }

  /** Free refs left. */
  freeCount(): number {
    return this.#free.length;
  }

  /**
   * `fini_gnttab`, made safe for handoff (xen-spec §9 item 4): every grant still active is ended if
   * the backend let go of it, then each frame leaves the physmap (`XENMEM_remove_from_physmap`; a
   * refusal prints `XENMEM_remove_from_physmap failed; status = %d` and throws {@linkcode XenError}).
   * Returns the refs that could not be ended because the backend still maps them.
   */
  async fini(): Promise<number[]> {
    const stillInUse: number[] = [];
    if (!this.#mapped) return stillInUse;
    for (const ref of this.activeRefs()) {
      if (!this.endAccess(ref)) stillInUse.push(ref);
    }
    for (let frame = 0; frame < NR_GRANT_FRAMES; frame++) {
      const rc = await this.hc.removeFromPhysmap(this.base / XEN_PAGE_SIZE + frame);
      if (rc !== 0) {
        this.#log(`XENMEM_remove_from_physmap failed; status = ${rc}\n`);
        throw new XenError("unmap the grant table", rc);
      }
    }
    this.#mapped = false;
    return stillInUse;
  }

  #entry(ref: number): number {
    if (!Number.isInteger(ref) || ref < 0 || ref >= NR_GRANT_ENTRIES) {
      throw new RangeError(`Cannot address grant ${ref}: outside 0..${NR_GRANT_ENTRIES - 1}`);
    }
    return this.base + ref * GRANT_ENTRY_V1_BYTES;
  }
}
