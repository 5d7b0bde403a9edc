/**
 * Event channels with the 2-level ABI, as Xen's common/event_channel.c and event_2l.c do them
 * (xen-spec §1.5, §3.3): per-domain port tables, `alloc_unbound` / `bind_interdomain` / `send` /
 * `close` / `unmask` / `status`, and delivery into the domain's shared_info bitmaps with the selector
 * and upcall rules. Dom0's ports (the backends' ends) have a private shared_info-shaped page and no
 * upcall; the backends test and clear their pending bits.
 *
 * Port numbers: port 0 is reserved; a new port is the lowest free one. A port is valid below the
 * domain's port limit (the guest: 1024, libxl's default `max_event_channels` of 1023 plus port 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { TraceBus } from "../trace.ts";
 * import { EventChannels } from "./event_channels.ts";
 * import { XenPage } from "./xen_page.ts";
 *
 * const memory = new GuestMemory();
 * const events = new EventChannels(new TraceBus());
 * events.addDomain({ domid: 0, shared: new XenPage(memory, "dom0"), portLimit: 4096, upcalls: false });
 * events.addDomain({ domid: 1, shared: new XenPage(memory, "shared_info"), portLimit: 1024, upcalls: true });
 * const port = events.allocUnbound(1, 0);
 * assert.equal(port, 1);
 * const backendPort = events.bindInterdomain(0, 1, 1);
 * assert.equal(events.send(0, backendPort as number), "ok");
 * assert.ok(events.isPending(1, 1));
 * ```
 *
 * @module
 */

import type { TraceBus } from "../trace.ts";
import {
  BITS_PER_EVTCHN_WORD,
  type ByteCell,
  EVTCHN_2L_NR_CHANNELS,
  maskBit,
  pendingBit,
  VCPU_INFO,
  type VcpuInfoCell,
} from "./shared_info.ts";
import type { XenErrnoName } from "./xen_abi.ts";

/** What a port is. */
export type Channel =
  | { readonly state: "free" }
  | { readonly state: "reserved" }
  | { readonly state: "unbound"; readonly remoteDomid: number }
  | { readonly state: "interdomain"; readonly remoteDomid: number; readonly remotePort: number };

/** A domain's event channel set-up. */
export interface EventDomainOptions {
  /** The domain id. */
  domid: number;
  /** Its shared_info page (Dom0: a private page with the same layout). */
  shared: ByteCell;
  /** Ports `0 .. portLimit-1` are valid. */
  portLimit: number;
  /** Whether a pending unmasked port raises `evtchn_upcall_pending` (false for Dom0's emulated side). */
  upcalls: boolean;
}

interface _Domain {
  readonly domid: number;
  readonly shared: ByteCell;
  readonly portLimit: number;
  readonly upcalls: boolean;
  readonly channels: Channel[];
  vcpuInfo: VcpuInfoCell;
}

const FREE: Channel = { state: "free" };
const RESERVED: Channel = { state: "reserved" };
const BITS_PER_BYTE = 8;

/** The event channels of every domain. */
export class EventChannels {
  readonly #trace: TraceBus;
  readonly #domains = new Map<number, _Domain>();
  /** Called after a port became pending (Xen wakes pollers here, masked or not). */
  onPending: ((domid: number, port: number) => void) | undefined;

  /** Events go to `trace` (`evtchn-send`, `evtchn-deliver`). */
  constructor(trace: TraceBus) {
    this.#trace = trace;
  }

  /** Adds a domain with every port free except the reserved port 0. */
  addDomain(options: EventDomainOptions): void {
    const channels: Channel[] = [RESERVED];
    this.#domains.set(options.domid, {
      domid: options.domid,
      shared: options.shared,
      portLimit: options.portLimit,
      upcalls: options.upcalls,
      channels,
      vcpuInfo: { cell: options.shared, offset: 0 },
    });
  }

  /** True when `domid` has event channels. */
  hasDomain(domid: number): boolean {
    return this.#domains.has(domid);
  }

  /** Where vCPU 0's `vcpu_info` is. */
  vcpuInfo(domid: number): VcpuInfoCell {
    return this.#domain(domid).vcpuInfo;
  }

  /** Moves vCPU 0's `vcpu_info` (`VCPUOP_register_vcpu_info`). */
  setVcpuInfo(domid: number, place: VcpuInfoCell): void {
    this.#domain(domid).vcpuInfo = place;
  }

  /** True when `port` is a valid port number of `domid` (Xen's `port_is_valid`). */
  isValidPort(domid: number, port: number): boolean {
    const d = this.#domains.get(domid);
    return d !== undefined && Number.isInteger(port) && port >= 0 && port < d.portLimit;
  }

  /** The port's state (free for valid ports never allocated). */
  channel(domid: number, port: number): Channel {
    return this.#domain(domid).channels[port] ?? FREE;
  }

  /** Every allocated port of `domid` (not free, not reserved), by number. */
  boundPorts(domid: number): { port: number; channel: Channel }[] {
    const out: { port: number; channel: Channel }[] = [];
    this.#domain(domid).channels.forEach((channel, port) => {
      if (channel.state === "unbound" || channel.state === "interdomain") out.push({ port, channel });
    });
    return out;
  }

  /** `EVTCHNOP_alloc_unbound` in `domid` for `remoteDomid`: the new port, or an errno name. */
  allocUnbound(domid: number, remoteDomid: number): number | XenErrnoName {
    const d = this.#domains.get(domid);
    if (d === undefined) return "ESRCH";
    const port = this.#freePort(d);
    if (port === undefined) return "ENOSPC";
    d.channels[port] = { state: "unbound", remoteDomid };
    return port;
  }

  /**
   * `EVTCHNOP_bind_interdomain` by `domid` to `remotePort` of `remoteDomid`, which must be unbound for
   * `domid`. The new local port is marked pending (Xen does so in case a notification was lost).
   */
  bindInterdomain(domid: number, remoteDomid: number, remotePort: number): number | XenErrnoName {
    const local = this.#domains.get(domid);
    const remote = this.#domains.get(remoteDomid);
    if (local === undefined || remote === undefined) return "ESRCH";
    const port = this.#freePort(local);
    if (port === undefined) return "ENOSPC";
    if (!this.isValidPort(remoteDomid, remotePort)) return "EINVAL";
    const peer = this.channel(remoteDomid, remotePort);
    if (peer.state !== "unbound" || peer.remoteDomid !== domid) return "EINVAL";
    local.channels[port] = { state: "interdomain", remoteDomid, remotePort };
    remote.channels[remotePort] = { state: "interdomain", remoteDomid: domid, remotePort: port };
    this.setPending(domid, port);
    return port;
  }

  /** `EVTCHNOP_send` on `domid`'s `port`: raises the remote end; a send on an unbound port is dropped. */
  send(domid: number, port: number): "ok" | XenErrnoName {
    if (!this.isValidPort(domid, port)) return "EINVAL";
    const channel = this.channel(domid, port);
    if (channel.state === "interdomain") {
      this.#trace.emit("evtchn-send", {
        fromDomain: domid,
        fromPort: port,
        toDomain: channel.remoteDomid,
        toPort: channel.remotePort,
      });
      this.setPending(channel.remoteDomid, channel.remotePort);
      return "ok";
    }
    if (channel.state === "unbound") {
      this.#trace.emit("evtchn-send", { fromDomain: domid, fromPort: port, toDomain: null, toPort: null });
      return "ok";
    }
    return "EINVAL";
  }

  /** `EVTCHNOP_close`: frees the port (clearing its pending bit); an interdomain peer goes back to unbound. */
  close(domid: number, port: number): "ok" | XenErrnoName {
    if (!this.isValidPort(domid, port)) return "EINVAL";
    const d = this.#domain(domid);
    const channel = this.channel(domid, port);
    if (channel.state === "free" || channel.state === "reserved") return "EINVAL";
    if (channel.state === "interdomain") {
      const remote = this.#domains.get(channel.remoteDomid);
      if (remote !== undefined) {
        remote.channels[channel.remotePort] = { state: "unbound", remoteDomid: domid };
      }
    }
    d.channels[port] = FREE;
    this.#clearBit(d.shared, pendingBit(port));
    return "ok";
  }

  /** `EVTCHNOP_unmask`: clears the mask; a pending port then marks events pending (event_2l.c). */
  unmask(domid: number, port: number): "ok" | XenErrnoName {
    if (!this.isValidPort(domid, port)) return "EINVAL";
    const d = this.#domain(domid);
    if (
      this.#testAndClearBit(d.shared, maskBit(port)) && this.#testBit(d.shared, pendingBit(port)) &&
      !this.#testAndSetSelector(d, port)
    ) {
      this.#markEventsPending(d);
    }
    return "ok";
  }

  /** True when `port`'s pending bit is set (ports beyond the 2-level range are never pending). */
  isPending(domid: number, port: number): boolean {
    if (port < 0 || port >= EVTCHN_2L_NR_CHANNELS) return false;
    return this.#testBit(this.#domain(domid).shared, pendingBit(port));
  }

  /** True when `port`'s mask bit is set. */
  isMasked(domid: number, port: number): boolean {
    if (port < 0 || port >= EVTCHN_2L_NR_CHANNELS) return false;
    return this.#testBit(this.#domain(domid).shared, maskBit(port));
  }

  /** Clears `port`'s pending bit; true when it was set (how a backend consumes its notifications). */
  testAndClearPending(domid: number, port: number): boolean {
    if (port < 0 || port >= EVTCHN_2L_NR_CHANNELS) return false;
    return this.#testAndClearBit(this.#domain(domid).shared, pendingBit(port));
  }

  /**
   * Xen's `evtchn_2l_set_pending`: set the pending bit; if it was clear and the port is unmasked and its
   * selector bit was clear, mark events pending (upcall). Pollers are woken whatever the mask.
   */
  setPending(domid: number, port: number): void {
    const d = this.#domain(domid);
    if (this.#testAndSetBit(d.shared, pendingBit(port))) return;
    const masked = this.#testBit(d.shared, maskBit(port));
    let upcall = false;
    if (d.upcalls && !masked && !this.#testAndSetSelector(d, port)) upcall = this.#markEventsPending(d);
    this.#trace.emit("evtchn-deliver", { domain: domid, port, masked, upcall });
    this.onPending?.(domid, port);
  }

  /** vCPU 0's `evtchn_upcall_pending` and `evtchn_pending_sel`. */
  upcallState(domid: number): { upcallPending: number; pendingSel: bigint } {
    const { cell, offset } = this.#domain(domid).vcpuInfo;
    return {
      upcallPending: cell.readU8(offset + VCPU_INFO.fields.evtchn_upcall_pending[0]),
      pendingSel: cell.readU64(offset + VCPU_INFO.fields.evtchn_pending_sel[0]),
    };
  }

  #domain(domid: number): _Domain {
    const d = this.#domains.get(domid);
    if (d === undefined) throw new RangeError(`Cannot use event channels of d${domid}: no such domain`);
    return d;
  }

  #freePort(d: _Domain): number | undefined {
    for (let port = 1; port < d.portLimit; port++) {
      const channel = d.channels[port];
      if (channel === undefined || channel.state === "free") return port;
    }
    return undefined;
  }

  /** Sets `upcall_pending`; true when it was 0 (Xen then injects the event PPI). */
  #markEventsPending(d: _Domain): boolean {
    const { cell, offset } = d.vcpuInfo;
    const at = offset + VCPU_INFO.fields.evtchn_upcall_pending[0];
    const was = cell.readU8(at);
    cell.writeU8(at, 1);
    return was === 0;
  }

  /** Test-and-set of the selector bit `port / 64` in `evtchn_pending_sel`. */
  #testAndSetSelector(d: _Domain, port: number): boolean {
    const { cell, offset } = d.vcpuInfo;
    const at = offset + VCPU_INFO.fields.evtchn_pending_sel[0];
    const bit = 1n << BigInt(Math.floor(port / BITS_PER_EVTCHN_WORD));
    const sel = cell.readU64(at);
    cell.writeU64(at, sel | bit);
    return (sel & bit) !== 0n;
  }

  #testBit(cell: ByteCell, where: { byte: number; bit: number }): boolean {
    return (cell.readU8(where.byte) & (1 << where.bit)) !== 0;
  }

  #testAndSetBit(cell: ByteCell, where: { byte: number; bit: number }): boolean {
    const value = cell.readU8(where.byte);
    cell.writeU8(where.byte, value | (1 << where.bit));
    return (value & (1 << where.bit)) !== 0;
  }

  #testAndClearBit(cell: ByteCell, where: { byte: number; bit: number }): boolean {
    const value = cell.readU8(where.byte);
    cell.writeU8(where.byte, value & ~(1 << where.bit) & ((1 << BITS_PER_BYTE) - 1));
    return (value & (1 << where.bit)) !== 0;
  }

  #clearBit(cell: ByteCell, where: { byte: number; bit: number }): void {
    this.#testAndClearBit(cell, where);
  }
}
