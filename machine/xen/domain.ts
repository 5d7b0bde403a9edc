/**
 * The guest domain as the hypervisor keeps it: its memory and physmap, shared_info page, grant table,
 * HVM parameters, vCPU registrations and shutdown state, next to the event channels, scheduler and trace
 * every hypercall handler reaches. One object per guest; the handlers take it as their context.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { TraceBus } from "../trace.ts";
 * import { XenDomain } from "./domain.ts";
 * import { EventChannels } from "./event_channels.ts";
 * import { Scheduler } from "./scheduler.ts";
 * import { DOMID_SELF } from "./xen_abi.ts";
 *
 * const trace = new TraceBus();
 * const domain = new XenDomain({
 *   memory: new GuestMemory(), domid: 1, vcpus: 1, totPages: 0, maxPages: 256,
 *   trace, events: new EventChannels(trace), scheduler: new Scheduler(),
 * });
 * assert.equal(domain.resolve(DOMID_SELF), 1);
 * assert.equal(domain.resolve(7), undefined);
 * ```
 *
 * @module
 */

import { GUEST_IPA_BITS } from "../guest_device_tree.ts";
import type { GuestMemory } from "../guest_memory.ts";
import type { TraceBus } from "../trace.ts";
import type { EventChannels } from "./event_channels.ts";
import { GuestAccess } from "./guest_access.ts";
import { DEFAULT_MAX_GRANT_FRAMES, GrantTable } from "./grant_table.ts";
import { HvmParams } from "./hvm_params.ts";
import { Physmap } from "./physmap.ts";
import type { Scheduler } from "./scheduler.ts";
import { DOM0_ID, DOMID_SELF } from "./xen_abi.ts";
import { XenPage } from "./xen_page.ts";

/** A 16-byte domain handle (UUID) of zeros, when none is given. */
const NIL_UUID_BYTES = 16;

/** Xen's version as `xen_version` reports it. */
export interface XenVersionInfo {
  /** Major version. */
  major: number;
  /** Minor version. */
  minor: number;
  /** `XENVER_extraversion` (".0"). */
  extraversion: string;
  /** `XENVER_changeset`. */
  changeset: string;
  /** `XENVER_capabilities`. */
  capabilities: string;
  /** `XENVER_compile_info`: compiler, by, domain, date. */
  compiler: string;
  /** Who built it. */
  compileBy: string;
  /** Where. */
  compileDomain: string;
  /** When (a fixed string: the run must not depend on the clock). */
  compileDate: string;
}

/** Xen 4.17 on arm64, as the reference board ran it. */
export const XEN_4_17: XenVersionInfo = {
  major: 4,
  minor: 17,
  extraversion: ".0",
  changeset: "unavailable",
  capabilities: "xen-3.0-aarch64 xen-3.0-armv7l ",
  compiler: "gcc (Debian 12.2.0-14) 12.2.0",
  compileBy: "pvboot",
  compileDomain: "pvboot",
  compileDate: "Thu Jan  1 00:00:00 UTC 1970",
};

/** What a {@linkcode XenDomain} is built from. */
export interface XenDomainOptions {
  /** The guest's memory (RAM banks already added). */
  memory: GuestMemory;
  /** Its domain id. */
  domid: number;
  /** vCPUs. */
  vcpus: number;
  /** Pages it holds at start. */
  totPages: number;
  /** Pages it may hold. */
  maxPages: number;
  /** The trace bus. */
  trace: TraceBus;
  /** Event channels (shared with Dom0). */
  events: EventChannels;
  /** The backend scheduler and clock. */
  scheduler: Scheduler;
  /** The grant table's frame limit (default 64). */
  maxGrantFrames?: number;
  /** Xen's version (default {@linkcode XEN_4_17}). */
  version?: XenVersionInfo;
  /** The domain handle (default zeros). */
  uuid?: Uint8Array;
  /** Accept `CONSOLEIO_write` (a `CONFIG_VERBOSE_DEBUG` Xen); a release Xen refuses it with `EPERM`. */
  consoleIoWrite?: boolean;
}

/** Where a registered `vcpu_info` is. */
export interface VcpuInfoRegistration {
  /** Guest frame. */
  gfn: number;
  /** Offset in the frame. */
  offset: number;
}

/** The guest domain's hypervisor-side state. */
export class XenDomain {
  /** Domain id. */
  readonly domid: number;
  /** vCPU count. */
  readonly vcpus: number;
  /** Guest memory. */
  readonly memory: GuestMemory;
  /** Checked guest copies for hypercall arguments. */
  readonly access: GuestAccess;
  /** RAM, Xen pages and holes. */
  readonly physmap: Physmap;
  /** The shared_info page. */
  readonly sharedInfo: XenPage;
  /** The grant table (v1). */
  readonly grants: GrantTable;
  /** HVM parameters. */
  readonly params: HvmParams = new HvmParams();
  /** Event channels of every domain. */
  readonly events: EventChannels;
  /** Backends and virtual time. */
  readonly scheduler: Scheduler;
  /** The trace bus. */
  readonly trace: TraceBus;
  /** Xen's version. */
  readonly version: XenVersionInfo;
  /** The domain handle. */
  readonly uuid: Uint8Array;
  /** Whether `CONSOLEIO_write` is accepted. */
  readonly consoleIoWrite: boolean;
  /** vCPU 0's registered `vcpu_info`, if the guest registered one. */
  vcpuInfo: VcpuInfoRegistration | undefined;
  /** vCPU 0's registered runstate area address, if any (recorded, not maintained). */
  runstateArea: bigint | undefined;
  /** The shutdown reason once the domain shut down. */
  shutdownReason: number | undefined;
  /** `SCHEDOP_shutdown_code`'s value. */
  shutdownCode: number | undefined;
  /** Characters of the current `CONSOLEIO_write` line. */
  consoleLine = "";
  /** Set while a `SCHEDOP_poll` blocks: called when one of the domain's ports becomes pending. */
  pollWaker: ((port: number) => void) | undefined;

  /** A domain with a fresh shared_info page and grant table, mapped nowhere. */
  constructor(options: XenDomainOptions) {
    this.domid = options.domid;
    this.vcpus = options.vcpus;
    this.memory = options.memory;
    this.access = new GuestAccess(options.memory);
    this.physmap = new Physmap(options.memory, {
      totPages: options.totPages,
      maxPages: options.maxPages,
      ipaBits: GUEST_IPA_BITS,
    });
    this.sharedInfo = new XenPage(options.memory, "shared_info");
    this.grants = new GrantTable({
      memory: options.memory,
      domid: options.domid,
      maxFrames: options.maxGrantFrames ?? DEFAULT_MAX_GRANT_FRAMES,
      trace: options.trace,
    });
    this.events = options.events;
    this.scheduler = options.scheduler;
    this.trace = options.trace;
    this.version = options.version ?? XEN_4_17;
    this.uuid = options.uuid ?? new Uint8Array(NIL_UUID_BYTES);
    this.consoleIoWrite = options.consoleIoWrite ?? false;
  }

  /** A domid argument as Xen's `rcu_lock_domain_by_any_id` resolves it: self, Dom0, or none. */
  resolve(domid: number): number | undefined {
    if (domid === DOMID_SELF || domid === this.domid) return this.domid;
    if (domid === DOM0_ID) return DOM0_ID;
    return undefined;
  }
}
