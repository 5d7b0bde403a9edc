/**
 * What a Dom0 backend (xenstored, the console backend, later blkback) may use: its own event channel
 * ends, grant access to the guest's pages (checked, see grant_table.ts), the XenStore as Dom0, a place
 * in the scheduler's run order, and the virtual clock. Backends never touch guest memory any other way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { TraceBus } from "../trace.ts";
 * import { createDom0 } from "./dom0.ts";
 * import { EventChannels } from "./event_channels.ts";
 * import { GrantTable } from "./grant_table.ts";
 * import { Scheduler } from "./scheduler.ts";
 * import { XenPage } from "./xen_page.ts";
 * import { XenStoreDb } from "./xenstore_db.ts";
 * import { XenStored } from "./xenstored.ts";
 *
 * const memory = new GuestMemory();
 * const trace = new TraceBus();
 * const events = new EventChannels(trace);
 * events.addDomain({ domid: 0, shared: new XenPage(memory, "dom0"), portLimit: 4096, upcalls: false });
 * events.addDomain({ domid: 1, shared: new XenPage(memory, "shared_info"), portLimit: 1024, upcalls: true });
 * const grants = new GrantTable({ memory, domid: 1, maxFrames: 1, trace });
 * const xenstored = new XenStored({ db: new XenStoreDb([0, 1]), events, trace });
 * const dom0 = createDom0({ events, grants: [grants], xenstored, scheduler: new Scheduler(), trace });
 * const guestPort = events.allocUnbound(1, 0) as number;
 * const port = dom0.events.bindInterdomain(1, guestPort);
 * assert.equal(typeof port, "number");
 * assert.equal(dom0.events.testAndClearPending(port as number), true); // binding marks it pending
 * ```
 *
 * @module
 */

import type { TraceBus } from "../trace.ts";
import type { EventChannels } from "./event_channels.ts";
import { GrantError, type GrantMapping, type GrantTable } from "./grant_table.ts";
import type { Backend, Scheduler, VirtualClock } from "./scheduler.ts";
import { DOM0_ID, GNTST, type XenErrnoName } from "./xen_abi.ts";
import type { XenStored, XenStoreDom0 } from "./xenstored.ts";

/** Dom0's event channel ends. */
export interface Dom0Events {
  /** Binds to `remotePort` of `remoteDomid` (which must be unbound for Dom0); the new local port. */
  bindInterdomain(remoteDomid: number, remotePort: number): number | XenErrnoName;
  /** Allocates a Dom0 port `remoteDomid` may bind. */
  allocUnbound(remoteDomid: number): number | XenErrnoName;
  /** Notifies the remote end of `port`. */
  send(port: number): "ok" | XenErrnoName;
  /** Closes `port` (the peer goes back to unbound). */
  close(port: number): "ok" | XenErrnoName;
  /** Clears `port`'s pending bit; true when a notification was waiting. */
  testAndClearPending(port: number): boolean;
  /** True when a notification is waiting on `port`. */
  isPending(port: number): boolean;
}

/** Dom0's access to other domains' grants. */
export interface Dom0Grants {
  /** Maps grant `ref` of `domid` (see {@linkcode GrantTable.map}). */
  map(domid: number, ref: number, options: { writable: boolean }): GrantMapping | GrantError;
  /** Copies `length` bytes at `offset` out of the page grant `ref` of `domid` names. */
  copyFrom(domid: number, ref: number, offset: number, length: number): Uint8Array | GrantError;
  /** Copies `data` into the page grant `ref` of `domid` names, at `offset`. */
  copyTo(domid: number, ref: number, offset: number, data: Uint8Array): GrantError | undefined;
}

/** Everything a Dom0 backend may use. */
export interface Dom0 {
  /** Dom0's domain id (0). */
  readonly domid: number;
  /** Event channel ends. */
  readonly events: Dom0Events;
  /** Grant access. */
  readonly grants: Dom0Grants;
  /** XenStore as Dom0. */
  readonly xenstore: XenStoreDom0;
  /** Xen system time (virtual). */
  readonly clock: VirtualClock;
  /** Adds a backend after the existing ones in the run order. */
  addBackend(backend: Backend): void;
}

/** What {@linkcode createDom0} wires together. */
export interface Dom0Parts {
  /** Event channels of every domain. */
  events: EventChannels;
  /** The grant tables of the other domains. */
  grants: readonly GrantTable[];
  /** xenstored (for its Dom0 API). */
  xenstored: XenStored;
  /** The scheduler. */
  scheduler: Scheduler;
  /** Where a refusal for an unknown domain is traced. */
  trace: TraceBus;
}

/** The Dom0 API over the machine's parts. */
export function createDom0(parts: Dom0Parts): Dom0 {
  const { events, scheduler } = parts;
  const table = (domid: number): GrantTable | undefined => parts.grants.find((t) => t.domid === domid);
  const unknown = (domid: number, ref: number): GrantError => {
    const why = "no such domain";
    parts.trace.emit("grant-refused", { domain: domid, ref, by: DOM0_ID, why });
    return new GrantError(GNTST.bad_domain, ref, why);
  };
  return {
    domid: DOM0_ID,
    events: {
      bindInterdomain: (remoteDomid, remotePort) => events.bindInterdomain(DOM0_ID, remoteDomid, remotePort),
      allocUnbound: (remoteDomid) => events.allocUnbound(DOM0_ID, remoteDomid),
      send: (port) => events.send(DOM0_ID, port),
      close: (port) => events.close(DOM0_ID, port),
      testAndClearPending: (port) => events.testAndClearPending(DOM0_ID, port),
      isPending: (port) => events.isPending(DOM0_ID, port),
    },
    grants: {
      map: (domid, ref, options) => table(domid)?.map(ref, DOM0_ID, options) ?? unknown(domid, ref),
      copyFrom: (domid, ref, offset, length) =>
        table(domid)?.copyFrom(ref, DOM0_ID, offset, length) ?? unknown(domid, ref),
      copyTo: (domid, ref, offset, data) => {
        const granting = table(domid);
        return granting === undefined ? unknown(domid, ref) : granting.copyTo(ref, DOM0_ID, offset, data);
      },
    },
    xenstore: parts.xenstored.dom0,
    clock: scheduler.clock,
    addBackend: (backend) => scheduler.add(backend),
  };
}
