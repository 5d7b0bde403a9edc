/**
 * `HYPERVISOR_sched_op` (xen/common/sched/core.c, xen-spec §1.7) and the hand-over of the CPU to the
 * backends (DESIGN.md "Scheduling"). `SCHEDOP_yield` and `SCHEDOP_block` run the backends and return.
 * `SCHEDOP_poll` returns at once when a listed port is pending (masked ones count); otherwise it runs the
 * backends and returns when that made a listed port pending (any port of the domain when more than one is
 * listed, as Xen wakes such pollers). If nothing arrived, the virtual clock jumps to the timeout and the
 * call returns 0, as Xen's poll does on timeout; with no timeout it returns 0 too (a spurious wake-up the
 * guest must tolerate) rather than block a machine that has nothing left to wake it.
 *
 * Only when the machine allows waiting for the terminal, a poll that lists the console port waits, on
 * the wall clock, for input (a slice at a time). `SCHEDOP_shutdown` records the reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SCHED_POLL } from "./sched_op.ts";
 *
 * assert.deepEqual(SCHED_POLL.fields.timeout, [16, 8]);
 * ```
 *
 * @module
 */

import type { XenDomain } from "./domain.ts";
import { defineLayout } from "./layout.ts";
import { EVTCHN_2L_NR_CHANNELS } from "./shared_info.ts";
import {
  DOM0_ID,
  SCHEDOP_block,
  SCHEDOP_pin_override,
  SCHEDOP_poll,
  SCHEDOP_POLL_MAX_PORTS,
  SCHEDOP_remote_shutdown,
  SCHEDOP_shutdown,
  SCHEDOP_shutdown_code,
  SCHEDOP_watchdog,
  SCHEDOP_yield,
  SHUTDOWN_NAMES,
  xenError,
} from "./xen_abi.ts";

/** `struct sched_poll` (24 bytes). */
export const SCHED_POLL = defineLayout("sched_poll", 24, {
  ports: [0, 8],
  nr_ports: [8, 4],
  timeout: [16, 8],
});
/** `struct sched_shutdown` (4 bytes). */
export const SCHED_SHUTDOWN = defineLayout("sched_shutdown", 4, { reason: [0, 4] });
/** `struct sched_remote_shutdown` (8 bytes). */
export const SCHED_REMOTE_SHUTDOWN = defineLayout("sched_remote_shutdown", 8, {
  domain_id: [0, 2],
  reason: [4, 4],
});

/** Command names, for traces. */
export const SCHED_OP_NAMES: Readonly<Record<number, string>> = {
  [SCHEDOP_yield]: "SCHEDOP_yield",
  [SCHEDOP_block]: "SCHEDOP_block",
  [SCHEDOP_shutdown]: "SCHEDOP_shutdown",
  [SCHEDOP_poll]: "SCHEDOP_poll",
  [SCHEDOP_remote_shutdown]: "SCHEDOP_remote_shutdown",
  [SCHEDOP_shutdown_code]: "SCHEDOP_shutdown_code",
  [SCHEDOP_watchdog]: "SCHEDOP_watchdog",
  [SCHEDOP_pin_override]: "SCHEDOP_pin_override",
};

/** Bytes per port in a poll list. */
const PORT_BYTES = 4;
/** Shutdown reasons are a byte in Xen (`(u8)reason`). */
const REASON_MASK = 0xff;
/** Longest single wall-clock wait for terminal input; the guest's poll loop calls again. */
export const INPUT_WAIT_SLICE_MS = 50;
const NS_PER_MS = 1_000_000n;

/** Terminal input a poll on the console port may wait for (only when the machine allows waiting). */
export interface InputWait {
  /** The guest's console port. */
  readonly port: number;
  /** True when input is queued (it reaches the ring when the backends run). */
  hasInput(): boolean;
  /** Resolves when input arrives. */
  arrival(): Promise<void>;
}

/** `sched_op(cmd, arg)`; throws `GuestFault` for an argument out of guest memory. */
export function schedOp(
  domain: XenDomain,
  cmd: number,
  arg: bigint,
  inputWait: InputWait | undefined,
): bigint | Promise<bigint> {
  switch (cmd) {
    case SCHEDOP_yield:
    case SCHEDOP_block:
      domain.scheduler.runBackends();
      return 0n;
    case SCHEDOP_poll:
      return _poll(domain, arg, inputWait);
    case SCHEDOP_shutdown: {
      const reason = domain.access.readStruct(SCHED_SHUTDOWN, domain.access.pointer(arg)).u("reason") &
        REASON_MASK;
      domain.shutdownReason = reason;
      domain.trace.emit("domain-shutdown", {
        domain: domain.domid,
        reason,
        name: SHUTDOWN_NAMES[reason] ?? String(reason),
      });
      return 0n;
    }
    case SCHEDOP_shutdown_code:
      domain.shutdownCode = domain.access.readStruct(SCHED_SHUTDOWN, domain.access.pointer(arg)).u("reason") &
        REASON_MASK;
      return 0n;
    case SCHEDOP_remote_shutdown: {
      const op = domain.access.readStruct(SCHED_REMOTE_SHUTDOWN, domain.access.pointer(arg));
      const target = op.u("domain_id");
      return target !== domain.domid && target !== DOM0_ID ? xenError("ESRCH") : xenError("EPERM");
    }
    case SCHEDOP_pin_override:
      return xenError("EPERM");
    default:
      return xenError("ENOSYS");
  }
}

function _poll(domain: XenDomain, arg: bigint, inputWait: InputWait | undefined): bigint | Promise<bigint> {
  const access = domain.access;
  const poll = access.readStruct(SCHED_POLL, access.pointer(arg));
  const count = poll.u("nr_ports");
  if (count > SCHEDOP_POLL_MAX_PORTS) return xenError("EINVAL");
  const list = access.pointer(poll.u64("ports"));
  access.check(list, count * PORT_BYTES, false);
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const port = access.readU32(list + i * PORT_BYTES);
    if (port >= EVTCHN_2L_NR_CHANNELS) return xenError("EINVAL");
    if (domain.events.isPending(domain.domid, port)) return 0n;
    ports.push(port);
  }
  const timeout = poll.u64("timeout");
  // Block: the backends get the CPU; a port becoming pending meanwhile wakes the poller.
  let woken = false;
  domain.pollWaker = (port) => {
    if (count !== 1 || port === ports[0]) woken = true;
  };
  try {
    domain.scheduler.runBackends();
  } finally {
    domain.pollWaker = undefined;
  }
  if (woken) return 0n;
  if (inputWait !== undefined && ports.includes(inputWait.port)) {
    return _waitForInput(domain, timeout, inputWait);
  }
  if (timeout !== 0n) domain.scheduler.clock.advanceTo(timeout);
  return 0n;
}

/** Waits (wall clock, one slice at most) for terminal input, then lets the backends deliver it. */
async function _waitForInput(
  domain: XenDomain,
  timeout: bigint,
  inputWait: InputWait,
): Promise<bigint> {
  const clock = domain.scheduler.clock;
  if (!inputWait.hasInput()) {
    const left = timeout === 0n ? BigInt(INPUT_WAIT_SLICE_MS) * NS_PER_MS : timeout - clock.nowNs();
    const ms = Math.max(0, Math.min(INPUT_WAIT_SLICE_MS, Number(left / NS_PER_MS)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const slept = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
    });
    const expired = await Promise.race([slept, inputWait.arrival().then(() => false)]);
    clearTimeout(timer);
    clock.advanceBy(BigInt(ms) * NS_PER_MS);
    if (expired && timeout !== 0n && clock.nowNs() >= timeout) return 0n;
  }
  domain.scheduler.runBackends();
  return 0n;
}
