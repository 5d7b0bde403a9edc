/**
 * `HYPERVISOR_memory_op` for the guest (xen/common/memory.c, xen-spec §1.4): `XENMEM_add_to_physmap`
 * of the shared_info page or a grant frame at a guest frame (growing the grant table on demand, `EBUSY`
 * when the page is mapped already), `XENMEM_remove_from_physmap`, and `XENMEM_populate_physmap` (returns
 * the number of extents done). Other sub-ops and map spaces answer `-ENOSYS`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { XEN_ADD_TO_PHYSMAP } from "./memory_op.ts";
 *
 * assert.equal(XEN_ADD_TO_PHYSMAP.bytes, 24);
 * assert.deepEqual(XEN_ADD_TO_PHYSMAP.fields.gpfn, [16, 8]);
 * ```
 *
 * @module
 */

import type { XenDomain } from "./domain.ts";
import { GuestFault } from "./guest_access.ts";
import { defineLayout } from "./layout.ts";
import {
  DOM0_ID,
  MEMOP_CMD_MASK,
  MEMOP_EXTENT_SHIFT,
  xenError,
  XENMAPIDX_grant_table_status,
  XENMAPSPACE_grant_table,
  XENMAPSPACE_shared_info,
  XENMEM_add_to_physmap,
  XENMEM_populate_physmap,
  XENMEM_remove_from_physmap,
} from "./xen_abi.ts";

/** `struct xen_add_to_physmap` (24 bytes). */
export const XEN_ADD_TO_PHYSMAP = defineLayout("xen_add_to_physmap", 24, {
  domid: [0, 2],
  size: [2, 2],
  space: [4, 4],
  idx: [8, 8],
  gpfn: [16, 8],
});

/** `struct xen_remove_from_physmap` (16 bytes). */
export const XEN_REMOVE_FROM_PHYSMAP = defineLayout("xen_remove_from_physmap", 16, {
  domid: [0, 2],
  gpfn: [8, 8],
});

/** `struct xen_memory_reservation` (32 bytes). */
export const XEN_MEMORY_RESERVATION = defineLayout("xen_memory_reservation", 32, {
  extent_start: [0, 8],
  nr_extents: [8, 8],
  extent_order: [16, 4],
  mem_flags: [20, 4],
  domid: [24, 2],
});

/** Bytes per entry of an extent list. */
const EXTENT_BYTES = 8;
/** Extents one populate call handles (Xen would continue the hypercall; bounds the loop here). */
export const MAX_POPULATE_EXTENTS = 1 << 20;

/** The sub-op's name, for traces. */
export const MEMORY_OP_NAMES: Readonly<Record<number, string>> = {
  [XENMEM_populate_physmap]: "XENMEM_populate_physmap",
  [XENMEM_add_to_physmap]: "XENMEM_add_to_physmap",
  [XENMEM_remove_from_physmap]: "XENMEM_remove_from_physmap",
};

/** Splits `memory_op`'s cmd into the sub-op and the continuation's start extent. */
export function memoryOpCommand(cmd: bigint): { op: number; startExtent: bigint } {
  const value = BigInt.asUintN(64, cmd);
  return { op: Number(value & BigInt(MEMOP_CMD_MASK)), startExtent: value >> BigInt(MEMOP_EXTENT_SHIFT) };
}

/** `memory_op(cmd, arg)` for `domain`; throws `GuestFault` for arguments out of guest memory. */
export function memoryOp(domain: XenDomain, cmd: bigint, arg: bigint): bigint {
  const { op, startExtent } = memoryOpCommand(cmd);
  switch (op) {
    case XENMEM_add_to_physmap:
      return _addToPhysmap(domain, arg);
    case XENMEM_remove_from_physmap:
      return _removeFromPhysmap(domain, arg);
    case XENMEM_populate_physmap:
      return _populatePhysmap(domain, arg, startExtent);
    default:
      return xenError("ENOSYS");
  }
}

/** ESRCH for an unknown domain, EPERM for one the guest may not touch (XSM_TARGET), else undefined. */
function _target(domain: XenDomain, domid: number): bigint | undefined {
  const target = domain.resolve(domid);
  if (target === undefined) return xenError("ESRCH");
  if (target === DOM0_ID) return xenError("EPERM");
  return undefined;
}

function _addToPhysmap(domain: XenDomain, arg: bigint): bigint {
  const xatp = domain.access.readStruct(XEN_ADD_TO_PHYSMAP, domain.access.pointer(arg));
  const denied = _target(domain, xatp.u("domid"));
  if (denied !== undefined) return denied;
  const gpfn = xatp.u64("gpfn");
  const idx = xatp.u64("idx");
  if (gpfn >= BigInt(Number.MAX_SAFE_INTEGER)) return xenError("EINVAL");
  let page;
  switch (xatp.u("space")) {
    case XENMAPSPACE_shared_info:
      if (idx !== 0n) return xenError("EINVAL");
      page = domain.sharedInfo;
      break;
    case XENMAPSPACE_grant_table: {
      if ((idx & BigInt(XENMAPIDX_grant_table_status)) !== 0n) return xenError("EINVAL");
      if (idx >= BigInt(domain.grants.maxFrames)) return xenError("EINVAL");
      domain.grants.grow(Number(idx) + 1);
      page = domain.grants.frame(Number(idx));
      if (page === undefined) return xenError("EINVAL");
      break;
    }
    default:
      return xenError("ENOSYS");
  }
  const result = domain.physmap.mapXenPage(page, Number(gpfn));
  return result === "ok" ? 0n : xenError(result);
}

function _removeFromPhysmap(domain: XenDomain, arg: bigint): bigint {
  const xrfp = domain.access.readStruct(XEN_REMOVE_FROM_PHYSMAP, domain.access.pointer(arg));
  const denied = _target(domain, xrfp.u("domid"));
  if (denied !== undefined) return denied;
  const gpfn = xrfp.u64("gpfn");
  if (gpfn >= BigInt(Number.MAX_SAFE_INTEGER)) return xenError("ENOENT");
  const result = domain.physmap.remove(Number(gpfn));
  return result === "ok" ? 0n : xenError(result);
}

/** Returns the number of extents done (from the continuation's start), as Xen does on any failure. */
function _populatePhysmap(domain: XenDomain, arg: bigint, startExtent: bigint): bigint {
  const reservation = domain.access.readStruct(XEN_MEMORY_RESERVATION, domain.access.pointer(arg));
  const nrExtents = reservation.u64("nr_extents");
  if (startExtent >= nrExtents) return startExtent;
  if (_target(domain, reservation.u("domid")) !== undefined) return startExtent;
  const list = reservation.u64("extent_start");
  const order = reservation.u("extent_order");
  const end = nrExtents - startExtent > BigInt(MAX_POPULATE_EXTENTS)
    ? startExtent + BigInt(MAX_POPULATE_EXTENTS)
    : nrExtents;
  let done = startExtent;
  for (; done < end; done++) {
    const entry = list + done * BigInt(EXTENT_BYTES);
    let gfn: bigint;
    try {
      gfn = domain.access.readU64(domain.access.pointer(entry));
    } catch (error) {
      if (error instanceof GuestFault) return done;
      throw error;
    }
    if (gfn >= BigInt(Number.MAX_SAFE_INTEGER) || !domain.physmap.populate(Number(gfn), order)) return done;
  }
  return done;
}
