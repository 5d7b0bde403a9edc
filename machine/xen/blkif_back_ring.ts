/**
 * The back end of a one-page blkif shared ring (io/ring.h, xen-spec §5): the backend's private
 * `req_cons` and `rsp_prod_pvt`, request slots copied out once, responses written at `rsp_prod_pvt` and
 * published with `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`, and `RING_FINAL_CHECK_FOR_REQUESTS`.
 *
 * The guest's indexes are untrusted: a `req_prod` more than a ring ahead of the responses
 * (`RING_REQUEST_PROD_OVERFLOW`) is a {@linkcode BlkifRingError} and the caller stops serving the ring;
 * consumption stops while a ring's worth of requests is unanswered (`RING_REQUEST_CONS_OVERFLOW`), so one
 * call never takes more than a ring of requests. The page is reached only through its grant mapping; a
 * refused access is a {@linkcode BlkifRingError} too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { TraceBus } from "../trace.ts";
 * import { BlkifBackRing } from "./blkif_back_ring.ts";
 * import { GrantTable } from "./grant_table.ts";
 *
 * const memory = new GuestMemory();
 * memory.addRegion({ base: 0x4000_0000, size: 0x10_0000 });
 * const table = new GrantTable({ memory, domid: 1, maxFrames: 1, trace: new TraceBus() });
 * table.setEntry(8, { flags: 1, domid: 0, frame: 0x40001 });
 * memory.writeU32(0x4000_1000, 1); // req_prod: one request
 * memory.writeU32(0x4000_100c, 1); // rsp_event as SHARED_RING_INIT leaves it
 * const ring = new BlkifBackRing(table.map(8, 0, { writable: true }) as never);
 * const taken = ring.takeRequests();
 * assert.equal(taken.slots.length, 1);
 * ring.pushResponse(new Uint8Array(16));
 * assert.equal(ring.pushResponsesAndCheckNotify(), true); // rsp_prod passed rsp_event
 * ```
 *
 * @module
 */

import { BLKIF_SLOT_BYTES, BLKIF_SRING, blkifRingSize, SRING_RING_OFFSET } from "./blkif.ts";
import { GrantError, type GrantMapping } from "./grant_table.ts";
import { XEN_PAGE_SIZE } from "./xen_abi.ts";

/** The ring cannot be served: the guest's indexes are inconsistent or the page is out of reach. */
export class BlkifRingError extends Error {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "BlkifRingError";
  }
}

/** Slots in a one-page blkif ring (32). */
export const BLKIF_RING_SIZE = blkifRingSize(XEN_PAGE_SIZE);

const F = BLKIF_SRING.fields;

function _u32(value: number): number {
  return value >>> 0;
}

/** Requests taken off the ring. */
export interface TakenRequests {
  /** Private copies of the slots, in ring order. */
  readonly slots: Uint8Array[];
  /** More requests are waiting (the call stopped at its limit or at a full set of unanswered ones). */
  readonly more: boolean;
}

/** The backend's side of one shared ring page. */
export class BlkifBackRing {
  /** Slots in the ring. */
  readonly size = BLKIF_RING_SIZE;
  readonly #mapping: GrantMapping;
  #reqCons = 0;
  #rspProdPvt = 0;

  /** The ring reached through `mapping` (a writable mapping of the frontend's ring page). */
  constructor(mapping: GrantMapping) {
    this.#mapping = mapping;
  }

  /** The mapping of the ring page. */
  get mapping(): GrantMapping {
    return this.#mapping;
  }

  /** Requests consumed so far (`req_cons`). */
  get reqCons(): number {
    return this.#reqCons;
  }

  /** Responses produced so far, published or not (`rsp_prod_pvt`). */
  get rspProdPvt(): number {
    return this.#rspProdPvt;
  }

  /** Requests taken and not yet answered. */
  get unanswered(): number {
    return _u32(this.#reqCons - this.#rspProdPvt);
  }

  /**
   * Copies out the requests the frontend published (reading `req_prod` once), at most `limit` of them
   * and never more than leaves a ring's worth unanswered. Throws {@linkcode BlkifRingError} when
   * `req_prod` is more than a ring ahead of the responses.
   */
  takeRequests(limit: number = BLKIF_RING_SIZE): TakenRequests {
    const rp = this.#read(F.req_prod[0]);
    if (_u32(rp - this.#rspProdPvt) > this.size) {
      throw new BlkifRingError(
        `Cannot take requests: req_prod ${rp} is more than ${this.size} ahead of rsp_prod ${this.#rspProdPvt}`,
      );
    }
    const slots: Uint8Array[] = [];
    let rc = this.#reqCons;
    // Bounded by the ring size: each slot taken leaves one more request unanswered.
    while (rc !== rp) {
      if (_u32(rc - this.#rspProdPvt) >= this.size || slots.length >= limit) {
        this.#reqCons = rc;
        return { slots, more: true };
      }
      const slot = this.#mapping.read(this.#slotOffset(rc), BLKIF_SLOT_BYTES);
      if (slot instanceof GrantError) throw new BlkifRingError(`Cannot read the ring: ${slot.why}`);
      slots.push(slot);
      rc = _u32(rc + 1);
    }
    this.#reqCons = rc;
    return { slots, more: false };
  }

  /**
   * `RING_FINAL_CHECK_FOR_REQUESTS`: with nothing left unconsumed, asks for a notification for the next
   * request (`req_event = req_cons + 1`) and looks again; true when requests arrived meanwhile.
   */
  finalCheckForRequests(): boolean {
    if (this.#read(F.req_prod[0]) !== this.#reqCons) return true;
    this.#write(F.req_event[0], _u32(this.#reqCons + 1));
    return this.#read(F.req_prod[0]) !== this.#reqCons;
  }

  /** Writes a 16-byte response into the slot at `rsp_prod_pvt` (not yet visible to the frontend). */
  pushResponse(response: Uint8Array): void {
    if (this.unanswered === 0) throw new RangeError("Cannot push a response: no request is unanswered");
    const refused = this.#mapping.write(this.#slotOffset(this.#rspProdPvt), response);
    if (refused !== undefined) throw new BlkifRingError(`Cannot write a response: ${refused.why}`);
    this.#rspProdPvt = _u32(this.#rspProdPvt + 1);
  }

  /**
   * `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`: publishes `rsp_prod`; true when the frontend asked to be
   * notified of a response in the range just published (`rsp_event` in (old, new]).
   */
  pushResponsesAndCheckNotify(): boolean {
    const old = this.#read(F.rsp_prod[0]);
    const now = this.#rspProdPvt;
    this.#write(F.rsp_prod[0], now);
    const event = this.#read(F.rsp_event[0]);
    return _u32(now - event) < _u32(now - old);
  }

  #slotOffset(index: number): number {
    return SRING_RING_OFFSET + (index & (this.size - 1)) * BLKIF_SLOT_BYTES;
  }

  #read(offset: number): number {
    const value = this.#mapping.readU32(offset);
    if (value instanceof GrantError) throw new BlkifRingError(`Cannot read the ring: ${value.why}`);
    return value;
  }

  #write(offset: number, value: number): void {
    const refused = this.#mapping.writeU32(offset, value);
    if (refused !== undefined) throw new BlkifRingError(`Cannot write the ring: ${refused.why}`);
  }
}
