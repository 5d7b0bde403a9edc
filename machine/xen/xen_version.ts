/**
 * `HYPERVISOR_xen_version` (xen/common/kernel.c): the version number, the strings a DomU may read
 * (extra version, compile information, capabilities, changeset), platform parameters, the feature map,
 * the page size and the domain handle. The command line and build id are privileged (`-EPERM`).
 *
 * Feature map for an Arm DomU on Xen 4.17: writable page tables, auto-translated physmap, vnode-aware
 * memory_op, SMCCC, not direct-mapped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DOMU_FEATURES, XEN_COMPILE_INFO } from "./xen_version.ts";
 *
 * assert.equal(DOMU_FEATURES, 0x16005);
 * assert.equal(XEN_COMPILE_INFO.bytes, 144);
 * ```
 *
 * @module
 */

import type { XenDomain } from "./domain.ts";
import { defineLayout } from "./layout.ts";
import {
  XEN_PAGE_SIZE,
  xenError,
  XENVER_build_id,
  XENVER_capabilities,
  XENVER_changeset,
  XENVER_commandline,
  XENVER_compile_info,
  XENVER_extraversion,
  XENVER_get_features,
  XENVER_guest_handle,
  XENVER_pagesize,
  XENVER_platform_parameters,
  XENVER_version,
} from "./xen_abi.ts";

/** `xen_feature_info` (8 bytes). */
export const XEN_FEATURE_INFO = defineLayout("xen_feature_info", 8, { submap_idx: [0, 4], submap: [4, 4] });
/** `xen_compile_info` (char[64], char[16], char[32], char[32]); first bytes of each string. */
export const XEN_COMPILE_INFO = defineLayout("xen_compile_info", 144, {
  compiler: [0, 1],
  compile_by: [64, 1],
  compile_domain: [80, 1],
  compile_date: [112, 1],
});
/** `xen_platform_parameters` (8 bytes). */
export const XEN_PLATFORM_PARAMETERS = defineLayout("xen_platform_parameters", 8, { virt_start: [0, 8] });
/** Sizes of the string results. */
const EXTRAVERSION_BYTES = 16;
const CAPABILITIES_BYTES = 1024;
const CHANGESET_BYTES = 64;
const COMPILER_BYTES = 64;
const COMPILE_BY_BYTES = 16;
const COMPILE_DOMAIN_BYTES = 32;
const COMPILE_DATE_BYTES = 32;
const HANDLE_BYTES = 16;
const MAJOR_SHIFT = 16;

/** XENFEAT bit numbers (features.h). */
const XENFEAT_writable_page_tables = 0;
const XENFEAT_auto_translated_physmap = 2;
const XENFEAT_memory_op_vnode_supported = 13;
const XENFEAT_ARM_SMCCC_supported = 14;
const XENFEAT_not_direct_mapped = 16;
/** Submap 0 for an Arm DomU. */
export const DOMU_FEATURES = (1 << XENFEAT_writable_page_tables) | (1 << XENFEAT_auto_translated_physmap) |
  (1 << XENFEAT_memory_op_vnode_supported) | (1 << XENFEAT_ARM_SMCCC_supported) |
  (1 << XENFEAT_not_direct_mapped);

/** Command names, for traces. */
export const XEN_VERSION_NAMES: Readonly<Record<number, string>> = {
  [XENVER_version]: "XENVER_version",
  [XENVER_extraversion]: "XENVER_extraversion",
  [XENVER_compile_info]: "XENVER_compile_info",
  [XENVER_capabilities]: "XENVER_capabilities",
  [XENVER_changeset]: "XENVER_changeset",
  [XENVER_platform_parameters]: "XENVER_platform_parameters",
  [XENVER_get_features]: "XENVER_get_features",
  [XENVER_pagesize]: "XENVER_pagesize",
  [XENVER_guest_handle]: "XENVER_guest_handle",
  [XENVER_commandline]: "XENVER_commandline",
  [XENVER_build_id]: "XENVER_build_id",
};

/** `text` NUL-padded (and cut) to `size` bytes, as Xen's `safe_strcpy` into a fixed array. */
function _fixed(text: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < Math.min(text.length, size - 1); i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** `xen_version(cmd, arg)`; throws `GuestFault` for an argument out of guest memory. */
export function xenVersion(domain: XenDomain, cmd: number, arg: bigint): bigint {
  const v = domain.version;
  const access = domain.access;
  const put = (bytes: Uint8Array): bigint => {
    access.writeBytes(access.pointer(arg), bytes);
    return 0n;
  };
  switch (cmd) {
    case XENVER_version:
      return BigInt((v.major << MAJOR_SHIFT) | v.minor);
    case XENVER_extraversion:
      return put(_fixed(v.extraversion, EXTRAVERSION_BYTES));
    case XENVER_compile_info: {
      const info = new Uint8Array(XEN_COMPILE_INFO.bytes);
      info.set(_fixed(v.compiler, COMPILER_BYTES), XEN_COMPILE_INFO.fields.compiler[0]);
      info.set(_fixed(v.compileBy, COMPILE_BY_BYTES), XEN_COMPILE_INFO.fields.compile_by[0]);
      info.set(_fixed(v.compileDomain, COMPILE_DOMAIN_BYTES), XEN_COMPILE_INFO.fields.compile_domain[0]);
      info.set(_fixed(v.compileDate, COMPILE_DATE_BYTES), XEN_COMPILE_INFO.fields.compile_date[0]);
      return put(info);
    }
    case XENVER_capabilities:
      return put(_fixed(v.capabilities, CAPABILITIES_BYTES));
    case XENVER_changeset:
      return put(_fixed(v.changeset, CHANGESET_BYTES));
    case XENVER_platform_parameters:
      return put(new Uint8Array(XEN_PLATFORM_PARAMETERS.bytes));
    case XENVER_get_features: {
      const at = access.pointer(arg);
      const fi = access.readStruct(XEN_FEATURE_INFO, at);
      if (fi.u("submap_idx") !== 0) return xenError("EINVAL");
      fi.set("submap", DOMU_FEATURES);
      access.writeStruct(at, fi);
      return 0n;
    }
    case XENVER_pagesize:
      return arg === 0n ? BigInt(XEN_PAGE_SIZE) : xenError("EINVAL");
    case XENVER_guest_handle:
      return put(domain.uuid.slice(0, HANDLE_BYTES));
    case XENVER_commandline:
    case XENVER_build_id:
      return xenError("EPERM");
    default:
      return xenError("ENOSYS");
  }
}
