/**
 * The guest's Xen: the hypercall entry ({@linkcode Hypervisor}), the domain state, event channels, the
 * grant table, xenstored and the console backend in Dom0, the toolstack that sets them up as `xl create`
 * does ({@linkcode buildXenGuest}), the Dom0 API later backends use ({@linkcode Dom0}), and the handoff
 * check ({@linkcode handoffReport}). Re-exports only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { TraceBus } from "../trace.ts";
 * import { buildXenGuest, formatHandoffReport } from "./mod.ts";
 *
 * const memory = new GuestMemory();
 * memory.addRegion({ base: 0x4000_0000, size: 0x400_0000 });
 * const xen = buildXenGuest({
 *   memory, banks: memory.regions(), name: "g", vcpus: 1, memoryMiB: 64, trace: new TraceBus(),
 *   consoleSink: () => {},
 * });
 * assert.equal(formatHandoffReport(xen.handoffReport()).at(-1), "handoff: clean");
 * ```
 *
 * @module
 */

export {
  buildXenGuest,
  CALLBACK_IRQ_PPI31,
  DEFAULT_UUID,
  GUEST_MAGIC_BASE,
  NR_MAGIC_PAGES,
  ToolstackError,
} from "./toolstack.ts";
export type { XenGuest, XenGuestOptions } from "./toolstack.ts";
export { createDom0 } from "./dom0.ts";
export type { Dom0, Dom0Events, Dom0Grants } from "./dom0.ts";
export { Hypervisor } from "./hypervisor.ts";
export type { HypervisorOptions } from "./hypervisor.ts";
export { XEN_4_17, XenDomain } from "./domain.ts";
export type { VcpuInfoRegistration, XenVersionInfo } from "./domain.ts";
export { EventChannels } from "./event_channels.ts";
export type { Channel } from "./event_channels.ts";
export { DEFAULT_MAX_GRANT_FRAMES, GRANT_ENTRIES_PER_FRAME, GrantError, GrantTable } from "./grant_table.ts";
export type { ActiveGrant, GrantEntry, GrantMapping } from "./grant_table.ts";
export { MAX_BACKEND_ROUNDS, Scheduler, VirtualClock } from "./scheduler.ts";
export type { Backend, BackendReport } from "./scheduler.ts";
export { XenStored } from "./xenstored.ts";
export type { XenStoreDom0, XenStoreWatchCallback } from "./xenstored.ts";
export { domainPath, formatPerms, parsePerms, XenStoreDb, XenStoreError, XS_QUOTAS } from "./xenstore_db.ts";
export type { XsCaller, XsPerm, XsPermLetter } from "./xenstore_db.ts";
export { ConsoleBackend } from "./console_backend.ts";
export { formatHandoffReport, handoffReport } from "./handoff.ts";
export type { HandoffChannel, HandoffGrant, HandoffReport } from "./handoff.ts";
export { errnoName, XEN_ERRNO } from "./xen_abi.ts";
export type { XenErrnoName } from "./xen_abi.ts";
