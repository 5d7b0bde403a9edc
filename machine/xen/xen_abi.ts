/**
 * Numbers of the Xen ARM64 guest ABI the emulated hypervisor answers to (xen/include/public: xen.h,
 * memory.h, event_channel.h, grant_table.h, hvm/params.h, hvm/hvm_op.h, sched.h, version.h, vcpu.h,
 * errno.h; xen-spec.md §1–§4), named as in the headers. Structure layouts sit beside the code that reads
 * them, each as a named offset table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errnoName, HYPERVISOR_event_channel_op, XEN_ERRNO } from "./xen_abi.ts";
 *
 * assert.equal(HYPERVISOR_event_channel_op, 32);
 * assert.equal(errnoName(-XEN_ERRNO.EINVAL), "EINVAL");
 * ```
 *
 * @module
 */

/** Guest pages are 4 KiB. */
export const XEN_PAGE_SIZE = 0x1000;
/** log2 of the page size. */
export const XEN_PAGE_SHIFT = 12;
/** The calling domain. */
export const DOMID_SELF = 0x7ff0;
/** Domain ids at and above this are reserved. */
export const DOMID_FIRST_RESERVED = 0x7ff0;
/** The control domain: xenstored, xenconsoled and blkback run there. */
export const DOM0_ID = 0;
/** The guest's domain id: the first domain `xl create` makes. */
export const GUEST_DOMID = 1;
/** `INVALID_GFN` as the frame lists carry it (~0 in a u64). */
export const INVALID_GFN = 0xffff_ffff_ffff_ffffn;

// Hypercall numbers (x16), xen.h.
/** `platform_op` (privileged). */
export const HYPERVISOR_platform_op = 7;
/** `memory_op` (cmd, ptr). */
export const HYPERVISOR_memory_op = 12;
/** `multicall`. */
export const HYPERVISOR_multicall = 13;
/** `xen_version` (cmd, ptr). */
export const HYPERVISOR_xen_version = 17;
/** `console_io` (cmd, count, ptr). */
export const HYPERVISOR_console_io = 18;
/** `grant_table_op` (cmd, ptr, count). */
export const HYPERVISOR_grant_table_op = 20;
/** `vm_assist`. */
export const HYPERVISOR_vm_assist = 21;
/** `vcpu_op` (cmd, vcpuid, ptr). */
export const HYPERVISOR_vcpu_op = 24;
/** `xsm_op`. */
export const HYPERVISOR_xsm_op = 27;
/** `sched_op` (cmd, ptr). */
export const HYPERVISOR_sched_op = 29;
/** `event_channel_op` (cmd, ptr). */
export const HYPERVISOR_event_channel_op = 32;
/** `physdev_op`. */
export const HYPERVISOR_physdev_op = 33;
/** `hvm_op` (op, ptr). */
export const HYPERVISOR_hvm_op = 34;
/** `sysctl` (privileged). */
export const HYPERVISOR_sysctl = 35;
/** `domctl` (privileged). */
export const HYPERVISOR_domctl = 36;

/** Names of the hypercalls, by number (for traces). */
export const HYPERCALL_NAMES: Readonly<Record<number, string>> = {
  [HYPERVISOR_platform_op]: "platform_op",
  [HYPERVISOR_memory_op]: "memory_op",
  [HYPERVISOR_multicall]: "multicall",
  [HYPERVISOR_xen_version]: "xen_version",
  [HYPERVISOR_console_io]: "console_io",
  [HYPERVISOR_grant_table_op]: "grant_table_op",
  [HYPERVISOR_vm_assist]: "vm_assist",
  [HYPERVISOR_vcpu_op]: "vcpu_op",
  [HYPERVISOR_xsm_op]: "xsm_op",
  [HYPERVISOR_sched_op]: "sched_op",
  [HYPERVISOR_event_channel_op]: "event_channel_op",
  [HYPERVISOR_physdev_op]: "physdev_op",
  [HYPERVISOR_hvm_op]: "hvm_op",
  [HYPERVISOR_sysctl]: "sysctl",
  [HYPERVISOR_domctl]: "domctl",
};

// memory_op (memory.h).
/** `memory_op`'s cmd carries the sub-op in its low bits and a continuation extent above them. */
export const MEMOP_EXTENT_SHIFT = 6;
/** Mask of the sub-op in `memory_op`'s cmd. */
export const MEMOP_CMD_MASK = (1 << MEMOP_EXTENT_SHIFT) - 1;
/** Fill guest frames with fresh pages. */
export const XENMEM_populate_physmap = 6;
/** Map a Xen page (shared_info, grant frame) at a guest frame. */
export const XENMEM_add_to_physmap = 7;
/** Unmap whatever is at a guest frame. */
export const XENMEM_remove_from_physmap = 15;
/** The shared_info page (idx 0). */
export const XENMAPSPACE_shared_info = 0;
/** Grant-table frames (idx = frame index). */
export const XENMAPSPACE_grant_table = 1;
/** idx bit selecting grant v2 status frames. */
export const XENMAPIDX_grant_table_status = 0x8000_0000;

// event_channel_op (event_channel.h).
/** Bind to a remote domain's unbound port. */
export const EVTCHNOP_bind_interdomain = 0;
/** Bind a virtual IRQ. */
export const EVTCHNOP_bind_virq = 1;
/** Close a port. */
export const EVTCHNOP_close = 3;
/** Notify the remote end. */
export const EVTCHNOP_send = 4;
/** Describe a port. */
export const EVTCHNOP_status = 5;
/** Allocate a port a remote domain may bind. */
export const EVTCHNOP_alloc_unbound = 6;
/** Bind an IPI. */
export const EVTCHNOP_bind_ipi = 7;
/** Unmask a port; Xen re-raises it if pending. */
export const EVTCHNOP_unmask = 9;
/** `EVTCHNSTAT_*` values of `evtchn_status.status`. */
export const EVTCHNSTAT_closed = 0;
/** Allocated, waiting for the remote domain to bind. */
export const EVTCHNSTAT_unbound = 1;
/** Bound to a port of another domain. */
export const EVTCHNSTAT_interdomain = 2;

// grant_table_op (grant_table.h).
/** Map a granted page (backends). */
export const GNTTABOP_map_grant_ref = 0;
/** Unmap it. */
export const GNTTABOP_unmap_grant_ref = 1;
/** GFNs of the grant frames (optional on Arm). */
export const GNTTABOP_setup_table = 2;
/** Copy to or from granted pages. */
export const GNTTABOP_copy = 5;
/** Current and maximum frame counts. */
export const GNTTABOP_query_size = 6;
/** Choose the table version. */
export const GNTTABOP_set_version = 8;
/** Read the table version. */
export const GNTTABOP_get_version = 10;
/** Cache maintenance (the one op whose cmd may carry high bits). */
export const GNTTABOP_cache_flush = 12;
/** grant_table_op's cmd: the op in the low 12 bits, continuation state above. */
export const GNTTABOP_CMD_MASK = 0xfff;

// Grant entry flags (grant_table.h §4.2).
/** Entry type mask (bits 1:0). */
export const GTF_type_mask = 3;
/** Entry not in use. */
export const GTF_invalid = 0;
/** The grantee may map or copy `frame`. */
export const GTF_permit_access = 1;
/** The grantee may transfer a page here (unused on Arm). */
export const GTF_accept_transfer = 2;
/** Transitive grant (v2). */
export const GTF_transitive = 3;
/** [guest] read-only access. */
export const GTF_readonly = 4;
/** [Xen] mapped or held for reading. */
export const GTF_reading = 8;
/** [Xen] mapped or held for writing. */
export const GTF_writing = 16;
/** v2 only: copy allowed, map not. */
export const GTF_sub_page = 0x100;
/** Refs 0..7 belong to the toolstack (console 0, xenstore 1). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
/** The console ring's grant (seeded by the toolstack). */
export const GNTTAB_RESERVED_CONSOLE = 0;
/** The xenstore ring's grant (seeded by the toolstack). */
export const GNTTAB_RESERVED_XENSTORE = 1;

/** GNTST_* status codes of grant operations. */
export const GNTST = {
  okay: 0,
  general_error: -1,
  bad_domain: -2,
  bad_gntref: -3,
  bad_handle: -4,
  bad_virt_addr: -5,
  bad_dev_addr: -6,
  no_device_space: -7,
  permission_denied: -8,
  bad_page: -9,
  bad_copy_arg: -10,
  address_too_big: -11,
  eagain: -12,
  no_space: -13,
} as const;

// hvm_op (hvm_op.h, params.h).
/** Set an HVM parameter (toolstack only for the ones a DomU has). */
export const HVMOP_set_param = 0;
/** Read an HVM parameter. */
export const HVMOP_get_param = 1;
/** Ask for a monitor vm_event (arg must be NULL). */
export const HVMOP_guest_request_vm_event = 24;
/** How event upcalls are delivered. */
export const HVM_PARAM_CALLBACK_IRQ = 0;
/** XenStore ring page frame. */
export const HVM_PARAM_STORE_PFN = 1;
/** XenStore event channel. */
export const HVM_PARAM_STORE_EVTCHN = 2;
/** Console ring page frame. */
export const HVM_PARAM_CONSOLE_PFN = 17;
/** Console event channel. */
export const HVM_PARAM_CONSOLE_EVTCHN = 18;
/** vm_event ring page frame (toolstack only). */
export const HVM_PARAM_MONITOR_RING_PFN = 28;
/** Base of the ioreq server pages. */
export const HVM_PARAM_IOREQ_SERVER_PFN = 32;
/** Number of ioreq server pages. */
export const HVM_PARAM_NR_IOREQ_SERVER_PAGES = 33;
/** Number of HVM parameters (`HVM_NR_PARAMS`). */
export const HVM_NR_PARAMS = 39;

// sched_op (sched.h).
/** Give up the CPU. */
export const SCHEDOP_yield = 0;
/** Block until an event (discouraged on Arm). */
export const SCHEDOP_block = 1;
/** Shut the domain down. */
export const SCHEDOP_shutdown = 2;
/** Wait for one of a set of ports, with a timeout. */
export const SCHEDOP_poll = 3;
/** Shut another domain down (privileged). */
export const SCHEDOP_remote_shutdown = 4;
/** Record the reason for a later shutdown. */
export const SCHEDOP_shutdown_code = 5;
/** Watchdog control. */
export const SCHEDOP_watchdog = 6;
/** Override vCPU pinning (hardware domain only). */
export const SCHEDOP_pin_override = 7;
/** Most ports one `SCHEDOP_poll` may list. */
export const SCHEDOP_POLL_MAX_PORTS = 128;
/** `SHUTDOWN_*` names by reason code. */
export const SHUTDOWN_NAMES: readonly string[] = [
  "poweroff",
  "reboot",
  "suspend",
  "crash",
  "watchdog",
  "soft_reset",
];

// console_io (xen.h).
/** Write to Xen's console. */
export const CONSOLEIO_write = 0;
/** Read from Xen's console. */
export const CONSOLEIO_read = 1;

// xen_version (version.h).
/** `(major << 16) | minor`. */
export const XENVER_version = 0;
/** char[16] extra version (".0"). */
export const XENVER_extraversion = 1;
/** Compiler and build information. */
export const XENVER_compile_info = 2;
/** char[1024] capabilities. */
export const XENVER_capabilities = 3;
/** char[64] changeset. */
export const XENVER_changeset = 4;
/** `xen_platform_parameters`. */
export const XENVER_platform_parameters = 5;
/** `xen_feature_info`. */
export const XENVER_get_features = 6;
/** The page size. */
export const XENVER_pagesize = 7;
/** The domain handle (UUID). */
export const XENVER_guest_handle = 8;
/** Xen's command line (privileged). */
export const XENVER_commandline = 9;
/** The build id (privileged). */
export const XENVER_build_id = 10;

// vcpu_op (vcpu.h; Arm accepts only these two).
/** Register a runstate area. */
export const VCPUOP_register_runstate_memory_area = 5;
/** Move vcpu_info to a guest page. */
export const VCPUOP_register_vcpu_info = 10;

/** Xen errno numbers (public/errno.h), by name. */
export const XEN_ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  E2BIG: 7,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EISDIR: 21,
  EINVAL: 22,
  ENOSPC: 28,
  EROFS: 30,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  EISCONN: 106,
} as const;

/** The name of a Xen errno. */
export type XenErrnoName = keyof typeof XEN_ERRNO;

/** `-errno` as the bigint x0 carries it. */
export function xenError(name: XenErrnoName): bigint {
  return -BigInt(XEN_ERRNO[name]);
}

/** The name of a (negative or positive) Xen errno, or `E<n>` when unknown. */
export function errnoName(rc: number | bigint): string {
  const n = Math.abs(Number(rc));
  for (const [name, value] of Object.entries(XEN_ERRNO)) if (value === n) return name;
  return `E${n}`;
}
