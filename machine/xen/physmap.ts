/**
 * The guest's physmap (Xen's p2m) as far as the hypervisor changes it: which guest frames hold RAM,
 * which hold a Xen-heap page (shared_info, grant frames) and which are holes. `XENMEM_add_to_physmap`
 * puts a Xen page at a frame (a RAM page there leaves the physmap), `XENMEM_remove_from_physmap` makes a
 * frame a hole, `XENMEM_populate_physmap` fills holes with fresh zeroed RAM, within the domain's page
 * budget (`max_pages`). Since Xen 4.17 (xen-spec §1.4) a Xen page may be mapped at one frame only:
 * mapping it again while mapped, even at the same frame, is `-EBUSY`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { Physmap } from "./physmap.ts";
 * import { XenPage } from "./xen_page.ts";
 *
 * const memory = new GuestMemory();
 * memory.addRegion({ base: 0x4000_0000, size: 0x10_0000 });
 * const physmap = new Physmap(memory, { totPages: 256, maxPages: 260, ipaBits: 40 });
 * const page = new XenPage(memory, "shared_info");
 * assert.equal(physmap.mapXenPage(page, 0x40010), "ok");
 * assert.equal(physmap.mapXenPage(page, 0x40010), "EBUSY");
 * assert.equal(physmap.remove(0x40010), "ok");
 * assert.equal(physmap.kind(0x40010), "hole");
 * assert.equal(physmap.populate(0x40010, 0), true);
 * assert.equal(physmap.kind(0x40010), "ram");
 * ```
 *
 * @module
 */

import { type GuestMemory, GuestMemoryError } from "../guest_memory.ts";
import { XEN_PAGE_SHIFT, XEN_PAGE_SIZE } from "./xen_abi.ts";
import type { XenPage } from "./xen_page.ts";

/** What a guest frame holds. */
export type FrameKind = "ram" | "xen" | "hole";

/** Options of a {@linkcode Physmap}. */
export interface PhysmapOptions {
  /** Pages the domain holds at start (`tot_pages`: RAM banks plus the magic pages). */
  totPages: number;
  /** Most pages the domain may hold (`max_pages`). */
  maxPages: number;
  /** Width of the guest physical address space (frames above it cannot be mapped). */
  ipaBits: number;
}

/** Largest extent order a DomU may populate (`CONFIG_DOMU_MAX_ORDER`, 2 MiB). */
export const DOMU_MAX_ORDER = 9;

/** The hypervisor's view of the guest physmap. */
export class Physmap {
  readonly #memory: GuestMemory;
  readonly #xenPages = new Map<number, XenPage>();
  readonly #frameLimit: number;
  readonly #maxPages: number;
  #totPages: number;

  /** Tracks `memory`, whose regions are the guest's RAM. */
  constructor(memory: GuestMemory, options: PhysmapOptions) {
    this.#memory = memory;
    this.#totPages = options.totPages;
    this.#maxPages = options.maxPages;
    this.#frameLimit = 2 ** (options.ipaBits - XEN_PAGE_SHIFT);
  }

  /** Pages the domain holds (`tot_pages`). */
  get totPages(): number {
    return this.#totPages;
  }

  /** True when `gfn` is a frame number inside the guest's IPA space. */
  inRange(gfn: number): boolean {
    return Number.isSafeInteger(gfn) && gfn >= 0 && gfn < this.#frameLimit;
  }

  /** What `gfn` holds. */
  kind(gfn: number): FrameKind {
    if (!this.inRange(gfn)) return "hole";
    if (this.#xenPages.has(gfn)) return "xen";
    return this.#memory.isMapped(gfn * XEN_PAGE_SIZE, XEN_PAGE_SIZE) ? "ram" : "hole";
  }

  /** The Xen page mapped at `gfn`, if any. */
  xenPageAt(gfn: number): XenPage | undefined {
    return this.#xenPages.get(gfn);
  }

  /** Every Xen page currently mapped, by GFN order. */
  xenMappings(): { gfn: number; label: string }[] {
    return [...this.#xenPages.entries()].sort(([a], [b]) => a - b).map(([gfn, page]) => ({
      gfn,
      label: page.label,
    }));
  }

  /**
   * Maps `page` at `gfn` (Xen's `xenmem_add_to_physmap_one` on Arm): `EBUSY` if the page is mapped
   * anywhere, `EINVAL` for a frame outside the IPA space, `ENOMEM` when the frame cannot be added.
   * Whatever was at `gfn` leaves the physmap.
   */
  mapXenPage(page: XenPage, gfn: number): "ok" | "EBUSY" | "EINVAL" | "ENOMEM" {
    if (!this.inRange(gfn)) return "EINVAL";
    if (page.gfn !== undefined) return "EBUSY";
    const old = this.#xenPages.get(gfn);
    if (old !== undefined) {
      old.detach();
      this.#xenPages.delete(gfn);
    } else if (this.kind(gfn) === "ram") {
      this.#totPages--;
    } else if (!this.#addFrame(gfn)) {
      return "ENOMEM";
    }
    page.attach(gfn);
    this.#xenPages.set(gfn, page);
    return "ok";
  }

  /** Makes `gfn` a hole (`XENMEM_remove_from_physmap`); `ENOENT` when nothing is there. */
  remove(gfn: number): "ok" | "ENOENT" {
    const page = this.#xenPages.get(gfn);
    if (page !== undefined) {
      page.detach();
      this.#xenPages.delete(gfn);
    } else if (this.kind(gfn) === "ram") {
      this.#totPages--;
    } else {
      return "ENOENT";
    }
    this.#memory.removeRegion({ base: gfn * XEN_PAGE_SIZE, size: XEN_PAGE_SIZE });
    return "ok";
  }

  /**
   * Puts fresh zeroed RAM at the 2^`order` frames from `gfn` (one extent of `XENMEM_populate_physmap`);
   * a Xen page there leaves the physmap, RAM there is replaced by a zeroed page. False, with nothing
   * changed, when the order is above {@linkcode DOMU_MAX_ORDER}, the extent is misaligned or outside the
   * IPA space, or the domain would exceed `max_pages`; false after the frames before it when guest
   * memory's region table is full.
   */
  populate(gfn: number, order: number): boolean {
    if (!Number.isInteger(order) || order < 0 || order > DOMU_MAX_ORDER) return false;
    const count = 2 ** order;
    if (!this.inRange(gfn) || !this.inRange(gfn + count - 1) || gfn % count !== 0) return false;
    let fresh = 0;
    for (let i = 0; i < count; i++) if (this.kind(gfn + i) !== "ram") fresh++;
    if (this.#totPages + fresh > this.#maxPages) return false;
    for (let i = 0; i < count; i++) {
      const frame = gfn + i;
      const page = this.#xenPages.get(frame);
      if (page !== undefined) {
        page.detach();
        this.#xenPages.delete(frame);
        this.#memory.fill(frame * XEN_PAGE_SIZE, XEN_PAGE_SIZE, 0);
        this.#totPages++;
      } else if (this.kind(frame) === "ram") {
        this.#memory.fill(frame * XEN_PAGE_SIZE, XEN_PAGE_SIZE, 0);
      } else if (this.#addFrame(frame)) {
        this.#totPages++;
      } else {
        return false;
      }
    }
    return true;
  }

  /** Adds one frame of guest memory; false when the memory's region table is full. */
  #addFrame(gfn: number): boolean {
    try {
      this.#memory.addRegion({ base: gfn * XEN_PAGE_SIZE, size: XEN_PAGE_SIZE });
      return true;
    } catch (error) {
      if (error instanceof GuestMemoryError) return false;
      throw error;
    }
  }
}
