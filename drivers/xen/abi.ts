/**
 * Numbers of the Xen ARM64 guest ABI the frontends use (xen/include/public: xen.h, memory.h,
 * event_channel.h, grant_table.h, hvm/params.h, hvm/hvm_op.h, sched.h, version.h, errno.h), named as
 * in the headers. Struct layouts sit beside the code that reads or writes them.
 *
 * @example
 * ```ts
 * import { __HYPERVISOR_memory_op, xenErrnoName } from "./abi.ts";
 * console.log(__HYPERVISOR_memory_op, xenErrnoName(-38)); // 12 "ENOSYS"
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
/** Domain ids at and above this are reserved (DOMID_FIRST_RESERVED). */
export const DOMID_FIRST_RESERVED = 0x7ff0;

// Hypercall numbers (x16).
/** `memory_op` (cmd, ptr). */
export const __HYPERVISOR_memory_op = 12;
/** `xen_version` (cmd, ptr). */
export const __HYPERVISOR_xen_version = 17;
/** `console_io` (cmd, count, ptr). */
export const __HYPERVISOR_console_io = 18;
/** `grant_table_op` (cmd, ptr, count). */
export const __HYPERVISOR_grant_table_op = 20;
/** `sched_op` (cmd, ptr). */
export const __HYPERVISOR_sched_op = 29;
/** `event_channel_op` (cmd, ptr). */
export const __HYPERVISOR_event_channel_op = 32;
/** `hvm_op` (op, ptr). */
export const __HYPERVISOR_hvm_op = 34;

// memory_op sub-commands and map spaces.
/** Populate the physmap with fresh pages. */
export const XENMEM_populate_physmap = 6;
/** Map a Xen page (shared_info, grant frame) at a guest frame. */
export const XENMEM_add_to_physmap = 7;
/** Unmap whatever is at a guest frame. */
export const XENMEM_remove_from_physmap = 15;
/** The shared_info page (idx 0). */
export const XENMAPSPACE_shared_info = 0;
/** Grant-table frames (idx = frame index). */
export const XENMAPSPACE_grant_table = 1;

// event_channel_op commands.
/** Bind to a remote domain's unbound port. */
export const EVTCHNOP_bind_interdomain = 0;
/** Close a port. */
export const EVTCHNOP_close = 3;
/** Notify the remote end. */
export const EVTCHNOP_send = 4;
/** Allocate a port a remote domain may bind. */
export const EVTCHNOP_alloc_unbound = 6;
/** Unmask a port (Xen re-raises it if pending). */
export const EVTCHNOP_unmask = 9;

// grant_table_op commands.
/** Set up grant frames (optional on Arm). */
export const GNTTABOP_setup_table = 2;
/** Current and maximum frame counts. */
export const GNTTABOP_query_size = 6;

// hvm_op.
/** Set an HVM parameter. */
export const HVMOP_set_param = 0;
/** Read an HVM parameter. */
export const HVMOP_get_param = 1;
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

// sched_op.
/** Give up the CPU. */
export const SCHEDOP_yield = 0;
/** Shut the domain down. */
export const SCHEDOP_shutdown = 2;
/** Wait for one of a set of ports. */
export const SCHEDOP_poll = 3;
/** Most ports one SCHEDOP_poll may list. */
export const SCHEDOP_POLL_MAX_PORTS = 128;

// console_io.
/** Write to Xen's console. */
export const CONSOLEIO_write = 0;

// xen_version.
/** `(major << 16) | minor`. */
export const XENVER_version = 0;

/** Xen errno numbers (public/errno.h), by name. */
export const XEN_ERRNO: Readonly<Record<string, number>> = {
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
};

/** The name of a (negative or positive) Xen errno, or `E<n>` when unknown. */
export function xenErrnoName(rc: number): string {
  const n = Math.abs(rc);
  for (const [name, value] of Object.entries(XEN_ERRNO)) if (value === n) return name;
  return `E${n}`;
}
