/**
 * `HYPERVISOR_grant_table_op` for the guest (xen/common/grant_table.c, xen-spec §1.6, §4.1):
 * `GNTTABOP_query_size`, `GNTTABOP_setup_table` (optional on Arm; reports the GFNs the frames are mapped
 * at, `INVALID_GFN` for unmapped ones), `get_version` and `set_version` (v1 only on Arm). Each takes
 * exactly one element. Map, unmap and copy by the guest itself are not emulated (`-ENOSYS`); backends
 * use the {@linkcode GrantTable} API instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GNTTAB_SETUP_TABLE } from "./grant_table_op.ts";
 *
 * assert.equal(GNTTAB_SETUP_TABLE.bytes, 24);
 * assert.deepEqual(GNTTAB_SETUP_TABLE.fields.frame_list, [16, 8]);
 * ```
 *
 * @module
 */

import type { XenDomain } from "./domain.ts";
import { GuestFault } from "./guest_access.ts";
import { defineLayout } from "./layout.ts";
import {
  DOM0_ID,
  GNTST,
  GNTTABOP_cache_flush,
  GNTTABOP_CMD_MASK,
  GNTTABOP_copy,
  GNTTABOP_get_version,
  GNTTABOP_map_grant_ref,
  GNTTABOP_query_size,
  GNTTABOP_set_version,
  GNTTABOP_setup_table,
  GNTTABOP_unmap_grant_ref,
  INVALID_GFN,
  xenError,
} from "./xen_abi.ts";

/** `struct gnttab_setup_table` (24 bytes). */
export const GNTTAB_SETUP_TABLE = defineLayout("gnttab_setup_table", 24, {
  dom: [0, 2],
  nr_frames: [4, 4],
  status: [8, 2],
  frame_list: [16, 8],
});
/** `struct gnttab_query_size` (16 bytes). */
export const GNTTAB_QUERY_SIZE = defineLayout("gnttab_query_size", 16, {
  dom: [0, 2],
  nr_frames: [4, 4],
  max_nr_frames: [8, 4],
  status: [12, 2],
});
/** `struct gnttab_map_grant_ref` (32 bytes). */
export const GNTTAB_MAP_GRANT_REF = defineLayout("gnttab_map_grant_ref", 32, {
  host_addr: [0, 8],
  flags: [8, 4],
  ref: [12, 4],
  dom: [16, 2],
  status: [18, 2],
  handle: [20, 4],
  dev_bus_addr: [24, 8],
});
/** `struct gnttab_unmap_grant_ref` (24 bytes). */
export const GNTTAB_UNMAP_GRANT_REF = defineLayout("gnttab_unmap_grant_ref", 24, {
  host_addr: [0, 8],
  dev_bus_addr: [8, 8],
  handle: [16, 4],
  status: [20, 2],
});
/** `struct gnttab_copy` (40 bytes). */
export const GNTTAB_COPY = defineLayout("gnttab_copy", 40, {
  source_ref: [0, 4],
  source_gmfn: [0, 8],
  source_domid: [8, 2],
  source_offset: [10, 2],
  dest_ref: [16, 4],
  dest_gmfn: [16, 8],
  dest_domid: [24, 2],
  dest_offset: [26, 2],
  len: [32, 2],
  flags: [34, 2],
  status: [36, 2],
});
/** `struct gnttab_get_version` (8 bytes). */
export const GNTTAB_GET_VERSION = defineLayout("gnttab_get_version", 8, { dom: [0, 2], version: [4, 4] });
/** `struct gnttab_set_version` (4 bytes). */
export const GNTTAB_SET_VERSION = defineLayout("gnttab_set_version", 4, { version: [0, 4] });

/** The only grant table version Xen on Arm offers. */
const GRANT_TABLE_VERSION = 1;
/** The other version a guest may ask for. */
const GRANT_TABLE_VERSION_2 = 2;
/** Bytes per frame-list entry. */
const FRAME_BYTES = 8;
/** The sign bit of `grant_table_op`'s 32-bit count. */
const INT_SIGN = 0x8000_0000;

/** Command names, for traces. */
export const GRANT_TABLE_OP_NAMES: Readonly<Record<number, string>> = {
  [GNTTABOP_map_grant_ref]: "GNTTABOP_map_grant_ref",
  [GNTTABOP_unmap_grant_ref]: "GNTTABOP_unmap_grant_ref",
  [GNTTABOP_setup_table]: "GNTTABOP_setup_table",
  [GNTTABOP_copy]: "GNTTABOP_copy",
  [GNTTABOP_query_size]: "GNTTABOP_query_size",
  [GNTTABOP_set_version]: "GNTTABOP_set_version",
  [GNTTABOP_get_version]: "GNTTABOP_get_version",
};

/** `grant_table_op(cmd, arg, count)`; throws `GuestFault` for arguments out of guest memory. */
export function grantTableOp(domain: XenDomain, cmd: bigint, arg: bigint, count: bigint): bigint {
  const command = Number(BigInt.asUintN(32, cmd));
  const op = command & GNTTABOP_CMD_MASK;
  if (op !== GNTTABOP_cache_flush && command - op !== 0) return xenError("EINVAL");
  const n = Number(BigInt.asUintN(32, count));
  if (n >= INT_SIGN) return xenError("EINVAL");
  switch (op) {
    case GNTTABOP_query_size:
      return n !== 1 ? xenError("EINVAL") : _querySize(domain, arg);
    case GNTTABOP_setup_table:
      return n !== 1 ? xenError("EINVAL") : _setupTable(domain, arg);
    case GNTTABOP_get_version:
      return n !== 1 ? xenError("EINVAL") : _getVersion(domain, arg);
    case GNTTABOP_set_version:
      return n !== 1 ? xenError("EINVAL") : _setVersion(domain, arg);
    default:
      return xenError("ENOSYS");
  }
}

/** The element status for the `dom` field: bad_domain, permission_denied, or okay. */
function _domStatus(domain: XenDomain, dom: number): number {
  const target = domain.resolve(dom);
  if (target === undefined) return GNTST.bad_domain;
  return target === DOM0_ID ? GNTST.permission_denied : GNTST.okay;
}

function _querySize(domain: XenDomain, arg: bigint): bigint {
  const at = domain.access.pointer(arg);
  const op = domain.access.readStruct(GNTTAB_QUERY_SIZE, at);
  const status = _domStatus(domain, op.u("dom"));
  if (status === GNTST.okay) {
    op.set("nr_frames", domain.grants.nrFrames);
    op.set("max_nr_frames", domain.grants.maxFrames);
  }
  op.set("status", status);
  domain.access.writeStruct(at, op);
  return 0n;
}

function _setupTable(domain: XenDomain, arg: bigint): bigint {
  const access = domain.access;
  const at = access.pointer(arg);
  const op = access.readStruct(GNTTAB_SETUP_TABLE, at);
  const nrFrames = op.u("nr_frames");
  const list = op.u64("frame_list");
  access.check(access.pointer(list), nrFrames * FRAME_BYTES, true);
  let status = _domStatus(domain, op.u("dom"));
  if (status === GNTST.okay && (nrFrames > domain.grants.maxFrames || !domain.grants.grow(nrFrames))) {
    status = GNTST.general_error;
  }
  if (status === GNTST.okay) {
    for (let i = 0; i < nrFrames; i++) {
      const gfn = domain.grants.frame(i)?.gfn;
      try {
        access.writeU64(
          access.pointer(list + BigInt(i * FRAME_BYTES)),
          gfn === undefined ? INVALID_GFN : BigInt(gfn),
        );
      } catch (error) {
        if (!(error instanceof GuestFault)) throw error;
        status = GNTST.bad_virt_addr;
      }
    }
  }
  op.set("status", status);
  access.writeStruct(at, op);
  return 0n;
}

function _getVersion(domain: XenDomain, arg: bigint): bigint {
  const at = domain.access.pointer(arg);
  const op = domain.access.readStruct(GNTTAB_GET_VERSION, at);
  const target = domain.resolve(op.u("dom"));
  if (target === undefined) return xenError("ESRCH");
  if (target === DOM0_ID) return xenError("EPERM");
  op.set("version", GRANT_TABLE_VERSION);
  domain.access.writeStruct(at, op);
  return 0n;
}

function _setVersion(domain: XenDomain, arg: bigint): bigint {
  const at = domain.access.pointer(arg);
  const op = domain.access.readStruct(GNTTAB_SET_VERSION, at);
  const version = op.u("version");
  const result = version === GRANT_TABLE_VERSION ? 0n : xenError("EINVAL");
  if (version !== GRANT_TABLE_VERSION && version !== GRANT_TABLE_VERSION_2) return xenError("EINVAL");
  op.set("version", GRANT_TABLE_VERSION);
  domain.access.writeStruct(at, op);
  return result;
}
