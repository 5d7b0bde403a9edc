/**
 * `HYPERVISOR_event_channel_op` for the guest (xen/common/event_channel.c, xen-spec §1.5):
 * `alloc_unbound`, `bind_interdomain`, `send`, `close`, `unmask` and `status`, with Xen's errnos. The
 * other commands (virq, ipi, pirq, vcpu binding, FIFO set-up, reset) answer `-ENOSYS`: the emulated
 * machine offers only interdomain channels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EVTCHN_STATUS } from "./event_channel_op.ts";
 *
 * assert.equal(EVTCHN_STATUS.bytes, 24);
 * assert.deepEqual(EVTCHN_STATUS.fields.interdomain_port, [20, 4]);
 * ```
 *
 * @module
 */

import type { XenDomain } from "./domain.ts";
import { defineLayout } from "./layout.ts";
import {
  DOM0_ID,
  DOMID_SELF,
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_ipi,
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_send,
  EVTCHNOP_status,
  EVTCHNOP_unmask,
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_unbound,
  type XenErrnoName,
  xenError,
} from "./xen_abi.ts";

/** `struct evtchn_alloc_unbound` (8 bytes). */
export const EVTCHN_ALLOC_UNBOUND = defineLayout("evtchn_alloc_unbound", 8, {
  dom: [0, 2],
  remote_dom: [2, 2],
  port: [4, 4],
});
/** `struct evtchn_bind_interdomain` (12 bytes). */
export const EVTCHN_BIND_INTERDOMAIN = defineLayout("evtchn_bind_interdomain", 12, {
  remote_dom: [0, 2],
  remote_port: [4, 4],
  local_port: [8, 4],
});
/** `struct evtchn_send`, `evtchn_close`, `evtchn_unmask` (4 bytes). */
export const EVTCHN_PORT = defineLayout("evtchn_send", 4, { port: [0, 4] });
/** `struct evtchn_bind_virq` (12 bytes). */
export const EVTCHN_BIND_VIRQ = defineLayout("evtchn_bind_virq", 12, {
  virq: [0, 4],
  vcpu: [4, 4],
  port: [8, 4],
});
/** `struct evtchn_bind_vcpu` (8 bytes). */
export const EVTCHN_BIND_VCPU = defineLayout("evtchn_bind_vcpu", 8, { port: [0, 4], vcpu: [4, 4] });
/** `struct evtchn_status` (24 bytes; the union at 16). */
export const EVTCHN_STATUS = defineLayout("evtchn_status", 24, {
  dom: [0, 2],
  port: [4, 4],
  status: [8, 4],
  vcpu: [12, 4],
  unbound_dom: [16, 2],
  interdomain_dom: [16, 2],
  interdomain_port: [20, 4],
});

/** Command names, for traces. */
export const EVENT_CHANNEL_OP_NAMES: Readonly<Record<number, string>> = {
  [EVTCHNOP_bind_interdomain]: "EVTCHNOP_bind_interdomain",
  [EVTCHNOP_bind_virq]: "EVTCHNOP_bind_virq",
  [EVTCHNOP_close]: "EVTCHNOP_close",
  [EVTCHNOP_send]: "EVTCHNOP_send",
  [EVTCHNOP_status]: "EVTCHNOP_status",
  [EVTCHNOP_alloc_unbound]: "EVTCHNOP_alloc_unbound",
  [EVTCHNOP_bind_ipi]: "EVTCHNOP_bind_ipi",
  [EVTCHNOP_unmask]: "EVTCHNOP_unmask",
};

function _result(value: "ok" | XenErrnoName): bigint {
  return value === "ok" ? 0n : xenError(value);
}

/** `event_channel_op(cmd, arg)`; throws `GuestFault` for arguments out of guest memory. */
export function eventChannelOp(domain: XenDomain, cmd: number, arg: bigint): bigint {
  const access = domain.access;
  const events = domain.events;
  switch (cmd) {
    case EVTCHNOP_alloc_unbound: {
      const at = access.pointer(arg);
      const op = access.readStruct(EVTCHN_ALLOC_UNBOUND, at);
      const dom = domain.resolve(op.u("dom"));
      if (dom === undefined) return xenError("ESRCH");
      if (dom !== domain.domid) return xenError("EPERM");
      const remote = op.u("remote_dom") === DOMID_SELF ? domain.domid : op.u("remote_dom");
      const port = events.allocUnbound(dom, remote);
      if (typeof port === "string") return xenError(port);
      op.set("port", port);
      access.writeStruct(at, op);
      return 0n;
    }
    case EVTCHNOP_bind_interdomain: {
      const at = access.pointer(arg);
      const op = access.readStruct(EVTCHN_BIND_INTERDOMAIN, at);
      const remote = domain.resolve(op.u("remote_dom"));
      if (remote === undefined) return xenError("ESRCH");
      const port = events.bindInterdomain(domain.domid, remote, op.u("remote_port"));
      if (typeof port === "string") return xenError(port);
      op.set("local_port", port);
      access.writeStruct(at, op);
      return 0n;
    }
    case EVTCHNOP_send:
      return _result(
        events.send(domain.domid, access.readStruct(EVTCHN_PORT, access.pointer(arg)).u("port")),
      );
    case EVTCHNOP_close:
      return _result(
        events.close(domain.domid, access.readStruct(EVTCHN_PORT, access.pointer(arg)).u("port")),
      );
    case EVTCHNOP_unmask:
      return _result(
        events.unmask(domain.domid, access.readStruct(EVTCHN_PORT, access.pointer(arg)).u("port")),
      );
    case EVTCHNOP_status:
      return _status(domain, arg);
    default:
      return xenError("ENOSYS");
  }
}

function _status(domain: XenDomain, arg: bigint): bigint {
  const access = domain.access;
  const at = access.pointer(arg);
  const op = access.readStruct(EVTCHN_STATUS, at);
  const dom = domain.resolve(op.u("dom"));
  if (dom === undefined) return xenError("ESRCH");
  const port = op.u("port");
  if (!domain.events.isValidPort(dom, port)) return xenError("EINVAL");
  if (dom === DOM0_ID) return xenError("EPERM");
  const channel = domain.events.channel(dom, port);
  op.set("vcpu", 0);
  op.set("interdomain_port", 0);
  op.set("unbound_dom", 0);
  switch (channel.state) {
    case "unbound":
      op.set("status", EVTCHNSTAT_unbound);
      op.set("unbound_dom", channel.remoteDomid);
      break;
    case "interdomain":
      op.set("status", EVTCHNSTAT_interdomain);
      op.set("interdomain_dom", channel.remoteDomid);
      op.set("interdomain_port", channel.remotePort);
      break;
    default:
      op.set("status", EVTCHNSTAT_closed);
  }
  access.writeStruct(at, op);
  return 0n;
}
