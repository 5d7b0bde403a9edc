/**
 * Grant tables v1 (xen-spec §4): the guest's table of `grant_entry_v1` in Xen-heap frames, and the only
 * way a backend reaches guest memory. A backend maps a grant (getting a {@linkcode GrantMapping} with
 * read/write/unmap) or copies through one; each access checks, as Xen's grant_table.c does, that the
 * entry exists, is `GTF_permit_access`, grants *this* backend's domain, and is not `GTF_readonly` for a
 * write. While a mapping or copy holds an entry, Xen's `GTF_reading` / `GTF_writing` bits are set in it;
 * they are cleared only when the last pin of that kind goes (XSA-218/230). A refused access returns a
 * {@linkcode GrantError} (a `GNTST_*` status and the reason), emits a `grant-refused` trace event, and
 * leaves the guest's memory untouched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { TraceBus } from "../trace.ts";
 * import { GrantError, GrantTable } from "./grant_table.ts";
 * import { GTF_permit_access, GTF_readonly } from "./xen_abi.ts";
 *
 * const memory = new GuestMemory();
 * memory.addRegion({ base: 0x4000_0000, size: 0x10_0000 });
 * const table = new GrantTable({ memory, domid: 1, maxFrames: 4, trace: new TraceBus() });
 * table.setEntry(8, { flags: GTF_permit_access | GTF_readonly, domid: 0, frame: 0x40002 });
 * const refused = table.map(8, 0, { writable: true });
 * assert.ok(refused instanceof GrantError && refused.status === -1);
 * const mapping = table.map(8, 0, { writable: false });
 * assert.ok(!(mapping instanceof GrantError));
 * assert.ok(mapping.write(0, new Uint8Array([1])) instanceof GrantError);
 * mapping.unmap();
 * ```
 *
 * @module
 */

import type { PhysicalMemory } from "../platform.ts";
import type { TraceBus } from "../trace.ts";
import { defineLayout } from "./layout.ts";
import {
  GNTST,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_sub_page,
  GTF_type_mask,
  GTF_writing,
  XEN_PAGE_SIZE,
} from "./xen_abi.ts";
import { XenPage } from "./xen_page.ts";

/** `struct grant_entry_v1` (8 bytes). */
export const GRANT_ENTRY_V1 = defineLayout("grant_entry_v1", 8, {
  flags: [0, 2],
  domid: [2, 2],
  frame: [4, 4],
});

/** Entries per 4 KiB grant frame. */
export const GRANT_ENTRIES_PER_FRAME = XEN_PAGE_SIZE / GRANT_ENTRY_V1.bytes;
/** Xen's default `max_grant_frames` for a domain (xl's `max_grant_frames`). */
export const DEFAULT_MAX_GRANT_FRAMES = 64;
/** Frames a new table starts with (`INITIAL_NR_GRANT_FRAMES`). */
export const INITIAL_NR_GRANT_FRAMES = 1;
/** Most mappings live at once (Xen bounds them by its maptrack frames). */
export const MAX_GRANT_MAPPINGS = 65536;

/** A grant entry's fields. */
export interface GrantEntry {
  /** `GTF_*` flags. */
  flags: number;
  /** The domain the grant is for. */
  domid: number;
  /** The granted guest frame. */
  frame: number;
}

/** An entry that is in use: granted (`GTF_permit_access`) or still held by a mapping. */
export interface ActiveGrant extends GrantEntry {
  /** The grant reference. */
  ref: number;
  /** Read pins (every mapping and copy in progress holds one). */
  readPins: number;
  /** Write pins (writable mappings and copies into the page). */
  writePins: number;
}

/** A refused grant access: the `GNTST_*` status Xen would report, and why. */
export class GrantError extends Error {
  /** `GNTST_*` status (negative). */
  readonly status: number;
  /** The grant reference. */
  readonly ref: number;
  /** The reason in words (also in the trace). */
  readonly why: string;
  /** Creates the error for `ref`. */
  constructor(status: number, ref: number, why: string) {
    super(`Cannot use grant ${ref}: ${why}`);
    this.name = "GrantError";
    this.status = status;
    this.ref = ref;
    this.why = why;
  }
}

/** Options of a {@linkcode GrantTable}. */
export interface GrantTableOptions {
  /** The granting domain's memory (frames are mapped into it, granted pages are read from it). */
  memory: PhysicalMemory;
  /** The granting domain. */
  domid: number;
  /** Largest number of frames the table may grow to. */
  maxFrames: number;
  /** Where `grant-refused` events go. */
  trace: TraceBus;
}

interface _Pin {
  domid: number;
  /** The frame as the entry named it when first pinned (Xen's `act->frame`). */
  frame: number;
  readers: number;
  writers: number;
}

/** A mapping of a granted page into a backend: bounds-checked reads and writes until `unmap`. */
export interface GrantMapping {
  /** The grant reference. */
  readonly ref: number;
  /** The granting domain. */
  readonly domid: number;
  /** The mapping domain (the backend). */
  readonly by: number;
  /** The granted guest frame. */
  readonly frame: number;
  /** True for a writable mapping. */
  readonly writable: boolean;
  /** False after `unmap`. */
  readonly mapped: boolean;
  /** `length` bytes at `offset` in the page. */
  read(offset: number, length: number): Uint8Array | GrantError;
  /** Little-endian u32 at `offset`. */
  readU32(offset: number): number | GrantError;
  /** Stores `data` at `offset`; refused for a read-only mapping. */
  write(offset: number, data: Uint8Array): GrantError | undefined;
  /** Stores a little-endian u32 at `offset`; refused for a read-only mapping. */
  writeU32(offset: number, value: number): GrantError | undefined;
  /** Drops the mapping (and its pins); calling it twice is a programming error. */
  unmap(): void;
}

/** One domain's v1 grant table. */
export class GrantTable {
  /** The granting domain. */
  readonly domid: number;
  /** Most frames the table may have. */
  readonly maxFrames: number;
  readonly #memory: PhysicalMemory;
  readonly #trace: TraceBus;
  readonly #frames: XenPage[] = [];
  readonly #pins = new Map<number, _Pin>();
  #mappings = 0;

  /** A table of {@linkcode INITIAL_NR_GRANT_FRAMES} zeroed frames. */
  constructor(options: GrantTableOptions) {
    this.domid = options.domid;
    this.maxFrames = options.maxFrames;
    this.#memory = options.memory;
    this.#trace = options.trace;
    this.grow(INITIAL_NR_GRANT_FRAMES);
  }

  /** Frames in use (`nr_grant_frames`). */
  get nrFrames(): number {
    return this.#frames.length;
  }

  /** Entries in use (`nr_grant_entries`). */
  get nrEntries(): number {
    return this.#frames.length * GRANT_ENTRIES_PER_FRAME;
  }

  /** Grows the table to `frames` frames; false beyond {@linkcode GrantTable.maxFrames}. */
  grow(frames: number): boolean {
    if (frames > this.maxFrames) return false;
    while (this.#frames.length < frames) {
      this.#frames.push(new XenPage(this.#memory, `grant frame ${this.#frames.length}`));
    }
    return true;
  }

  /** Frame `index` (a Xen page the guest may map), or undefined beyond the table. */
  frame(index: number): XenPage | undefined {
    return this.#frames[index];
  }

  /** Entry `ref` as it is now (the guest may change it at any time). */
  entry(ref: number): GrantEntry {
    const [page, offset] = this.#locate(ref);
    return {
      flags: page.readU16(offset + GRANT_ENTRY_V1.fields.flags[0]),
      domid: page.readU16(offset + GRANT_ENTRY_V1.fields.domid[0]),
      frame: page.readU32(offset + GRANT_ENTRY_V1.fields.frame[0]),
    };
  }

  /** Writes entry `ref` (the toolstack's seeding, and tests acting as the guest). */
  setEntry(ref: number, entry: GrantEntry): void {
    const [page, offset] = this.#locate(ref);
    page.writeU32(offset + GRANT_ENTRY_V1.fields.frame[0], entry.frame);
    page.writeU16(offset + GRANT_ENTRY_V1.fields.domid[0], entry.domid);
    page.writeU16(offset + GRANT_ENTRY_V1.fields.flags[0], entry.flags);
  }

  /** Entries that grant access or are still pinned, by ref. */
  activeGrants(): ActiveGrant[] {
    const out: ActiveGrant[] = [];
    for (let ref = 0; ref < this.nrEntries; ref++) {
      const entry = this.entry(ref);
      const pin = this.#pins.get(ref);
      if ((entry.flags & GTF_type_mask) === GTF_permit_access || pin !== undefined) {
        out.push({ ref, ...entry, readPins: pin?.readers ?? 0, writePins: pin?.writers ?? 0 });
      }
    }
    return out;
  }

  /**
   * Maps grant `ref` for domain `by` (`GNTTABOP_map_grant_ref`): a {@linkcode GrantMapping}, or a
   * {@linkcode GrantError} when the ref is out of range, unused, for another domain, read-only for a
   * writable map, or its frame is not guest memory.
   */
  map(ref: number, by: number, options: { writable: boolean }): GrantMapping | GrantError {
    if (this.#mappings >= MAX_GRANT_MAPPINGS) {
      return this.#refuse(GNTST.no_space, ref, by, `${MAX_GRANT_MAPPINGS} mappings already`);
    }
    const pinned = this.#pin(ref, by, options.writable);
    if (pinned instanceof GrantError) return pinned;
    this.#mappings++;
    return this.#mapping(ref, by, pinned, options.writable);
  }

  /**
   * `GNTTABOP_copy` from a granted page into a new array: `length` bytes at `offset`. The entry is held
   * for reading during the copy.
   */
  copyFrom(ref: number, by: number, offset: number, length: number): Uint8Array | GrantError {
    const range = this.#checkRange(ref, by, offset, length);
    if (range !== undefined) return range;
    const frame = this.#pin(ref, by, false);
    if (frame instanceof GrantError) return frame;
    try {
      return this.#memory.read(frame * XEN_PAGE_SIZE + offset, length);
    } finally {
      this.#unpin(ref, false);
    }
  }

  /** `GNTTABOP_copy` of `data` into a granted page at `offset`; the entry is held for writing meanwhile. */
  copyTo(ref: number, by: number, offset: number, data: Uint8Array): GrantError | undefined {
    const range = this.#checkRange(ref, by, offset, data.length);
    if (range !== undefined) return range;
    const frame = this.#pin(ref, by, true);
    if (frame instanceof GrantError) return frame;
    try {
      this.#memory.write(frame * XEN_PAGE_SIZE + offset, data);
      return undefined;
    } finally {
      this.#unpin(ref, true);
    }
  }

  #checkRange(ref: number, by: number, offset: number, length: number): GrantError | undefined {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
      return this.#refuse(GNTST.bad_copy_arg, ref, by, `bad offset ${offset} or length ${length}`);
    }
    if (offset + length > XEN_PAGE_SIZE) {
      return this.#refuse(GNTST.bad_copy_arg, ref, by, `${offset}+${length} runs past the page`);
    }
    return undefined;
  }

  #locate(ref: number): [XenPage, number] {
    const page = this.#frames[Math.floor(ref / GRANT_ENTRIES_PER_FRAME)];
    if (!Number.isInteger(ref) || ref < 0 || page === undefined) {
      throw new RangeError(`Cannot access grant entry ${ref}: the table has ${this.nrEntries} entries`);
    }
    return [page, (ref % GRANT_ENTRIES_PER_FRAME) * GRANT_ENTRY_V1.bytes];
  }

  #refuse(status: number, ref: number, by: number, why: string): GrantError {
    this.#trace.emit("grant-refused", { domain: this.domid, ref, by, why });
    return new GrantError(status, ref, why);
  }

  /** Xen's pin: checks the entry (unless already pinned compatibly), sets the flags, returns the frame. */
  #pin(ref: number, by: number, writable: boolean): number | GrantError {
    if (!Number.isInteger(ref) || ref < 0 || ref >= this.nrEntries) {
      return this.#refuse(GNTST.bad_gntref, ref, by, `ref beyond the table (${this.nrEntries} entries)`);
    }
    const pin = this.#pins.get(ref);
    if (pin !== undefined && pin.domid !== by) {
      return this.#refuse(GNTST.general_error, ref, by, `already pinned by d${pin.domid}`);
    }
    const entry = this.entry(ref);
    const needCheck = pin === undefined || (writable && pin.writers === 0);
    if (needCheck) {
      if ((entry.flags & (GTF_type_mask | GTF_sub_page)) !== GTF_permit_access) {
        return this.#refuse(
          GNTST.general_error,
          ref,
          by,
          `entry not granted (flags 0x${entry.flags.toString(16)})`,
        );
      }
      if (entry.domid !== by) {
        return this.#refuse(GNTST.general_error, ref, by, `entry grants d${entry.domid}, not d${by}`);
      }
      if (writable && (entry.flags & GTF_readonly) !== 0) {
        return this.#refuse(GNTST.general_error, ref, by, "write access to a read-only grant");
      }
      if (!this.#memory.isMapped(entry.frame * XEN_PAGE_SIZE, XEN_PAGE_SIZE)) {
        return this.#refuse(
          GNTST.bad_page,
          ref,
          by,
          `frame 0x${entry.frame.toString(16)} is not guest memory`,
        );
      }
    }
    const held = pin ?? { domid: by, frame: entry.frame, readers: 0, writers: 0 };
    held.readers++;
    if (writable) held.writers++;
    this.#pins.set(ref, held);
    this.#setFlags(ref, GTF_reading | (writable ? GTF_writing : 0));
    return held.frame;
  }

  #unpin(ref: number, writable: boolean): void {
    const pin = this.#pins.get(ref);
    if (pin === undefined) throw new RangeError(`Cannot unpin grant ${ref}: not pinned`);
    pin.readers--;
    if (writable) {
      pin.writers--;
      if (pin.writers === 0) this.#clearFlags(ref, GTF_writing);
    }
    if (pin.readers === 0) {
      this.#pins.delete(ref);
      this.#clearFlags(ref, GTF_reading);
    }
  }

  #setFlags(ref: number, bits: number): void {
    const [page, offset] = this.#locate(ref);
    const at = offset + GRANT_ENTRY_V1.fields.flags[0];
    page.writeU16(at, page.readU16(at) | bits);
  }

  #clearFlags(ref: number, bits: number): void {
    const [page, offset] = this.#locate(ref);
    const at = offset + GRANT_ENTRY_V1.fields.flags[0];
    page.writeU16(at, page.readU16(at) & ~bits);
  }

  #mapping(ref: number, by: number, frame: number, writable: boolean): GrantMapping {
    const memory = this.#memory;
    const base = frame * XEN_PAGE_SIZE;
    let mapped = true;
    const check = (offset: number, length: number, write: boolean): GrantError | undefined => {
      if (!mapped) throw new RangeError(`Cannot use grant ${ref} of d${this.domid}: unmapped`);
      if (write && !writable) {
        return this.#refuse(GNTST.general_error, ref, by, "write through a read-only mapping");
      }
      if (!Number.isInteger(offset) || offset < 0 || length < 0 || offset + length > XEN_PAGE_SIZE) {
        return this.#refuse(GNTST.bad_copy_arg, ref, by, `${offset}+${length} runs past the page`);
      }
      if (!memory.isMapped(base, XEN_PAGE_SIZE)) {
        return this.#refuse(GNTST.bad_page, ref, by, `frame 0x${frame.toString(16)} left guest memory`);
      }
      return undefined;
    };
    const release = () => {
      this.#mappings--;
      this.#unpin(ref, writable);
    };
    const domid = this.domid;
    return {
      ref,
      domid: this.domid,
      by,
      frame,
      writable,
      get mapped() {
        return mapped;
      },
      read(offset, length) {
        return check(offset, length, false) ?? memory.read(base + offset, length);
      },
      readU32(offset) {
        return check(offset, 4, false) ?? memory.readU32(base + offset);
      },
      write(offset, data) {
        const refused = check(offset, data.length, true);
        if (refused === undefined) memory.write(base + offset, data);
        return refused;
      },
      writeU32(offset, value) {
        const refused = check(offset, 4, true);
        if (refused === undefined) memory.writeU32(base + offset, value);
        return refused;
      },
      unmap() {
        if (!mapped) throw new RangeError(`Cannot unmap grant ${ref} of d${domid}: already unmapped`);
        mapped = false;
        release();
      },
    };
  }
}
