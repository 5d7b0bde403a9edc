/**
 * The hypercall entry: `hvc #0xEA1` with the ARM64 registers (x16 the number, x0–x4 the arguments),
 * dispatched to one handler per hypercall, x0 back as a bigint (negative: a Xen errno). It never throws
 * for anything the guest does: an argument outside guest memory is `-EFAULT`, an unknown hypercall
 * `-ENOSYS`, the privileged ones (`domctl`, `sysctl`, `platform_op`) `-EPERM`. Every call is traced as a
 * `hypercall` event with the registers it uses and its sub-command's name.
 *
 * The backends get the CPU after a successful `EVTCHNOP_send`, and inside `SCHEDOP_yield`, `_block` and
 * `_poll` (see sched_op.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { TraceBus } from "../trace.ts";
 * import { XenDomain } from "./domain.ts";
 * import { EventChannels } from "./event_channels.ts";
 * import { Hypervisor } from "./hypervisor.ts";
 * import { Scheduler } from "./scheduler.ts";
 *
 * const trace = new TraceBus();
 * const domain = new XenDomain({
 *   memory: new GuestMemory(), domid: 1, vcpus: 1, totPages: 0, maxPages: 256,
 *   trace, events: new EventChannels(trace), scheduler: new Scheduler(),
 * });
 * const xen = new Hypervisor(domain);
 * const regs = { x16: 17, x0: 0n, x1: 0n, x2: 0n, x3: 0n, x4: 0n };
 * assert.equal(await xen.hypercall(regs), 0x4_0011n); // XENVER_version: 4.17
 * assert.equal(await xen.hypercall({ ...regs, x16: 99 }), -38n); // ENOSYS
 * ```
 *
 * @module
 */

import { DataAbort, type HypercallRegisters } from "../platform.ts";
import { CONSOLE_IO_NAMES, consoleIo } from "./console_io.ts";
import type { XenDomain } from "./domain.ts";
import { EVENT_CHANNEL_OP_NAMES, eventChannelOp } from "./event_channel_op.ts";
import { GRANT_TABLE_OP_NAMES, grantTableOp } from "./grant_table_op.ts";
import { GuestFault } from "./guest_access.ts";
import { HVM_OP_NAMES, hvmOp } from "./hvm_op.ts";
import { MEMORY_OP_NAMES, memoryOp, memoryOpCommand } from "./memory_op.ts";
import { type InputWait, SCHED_OP_NAMES, schedOp } from "./sched_op.ts";
import { VCPU_OP_NAMES, vcpuOp } from "./vcpu_op.ts";
import {
  errnoName,
  EVTCHNOP_send,
  GNTTABOP_CMD_MASK,
  HYPERCALL_NAMES,
  HYPERVISOR_console_io,
  HYPERVISOR_domctl,
  HYPERVISOR_event_channel_op,
  HYPERVISOR_grant_table_op,
  HYPERVISOR_hvm_op,
  HYPERVISOR_memory_op,
  HYPERVISOR_platform_op,
  HYPERVISOR_sched_op,
  HYPERVISOR_sysctl,
  HYPERVISOR_vcpu_op,
  HYPERVISOR_xen_version,
  xenError,
} from "./xen_abi.ts";
import { XEN_VERSION_NAMES, xenVersion } from "./xen_version.ts";

/** Argument registers each hypercall uses (for traces); unknown ones show all five. */
const ARG_COUNTS: Readonly<Record<number, number>> = {
  [HYPERVISOR_memory_op]: 2,
  [HYPERVISOR_xen_version]: 2,
  [HYPERVISOR_console_io]: 3,
  [HYPERVISOR_grant_table_op]: 3,
  [HYPERVISOR_vcpu_op]: 3,
  [HYPERVISOR_sched_op]: 2,
  [HYPERVISOR_event_channel_op]: 2,
  [HYPERVISOR_hvm_op]: 2,
};
const ALL_ARGS = 5;

/** Sub-command name tables by hypercall. */
const OP_NAMES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  [HYPERVISOR_memory_op]: MEMORY_OP_NAMES,
  [HYPERVISOR_xen_version]: XEN_VERSION_NAMES,
  [HYPERVISOR_console_io]: CONSOLE_IO_NAMES,
  [HYPERVISOR_grant_table_op]: GRANT_TABLE_OP_NAMES,
  [HYPERVISOR_vcpu_op]: VCPU_OP_NAMES,
  [HYPERVISOR_sched_op]: SCHED_OP_NAMES,
  [HYPERVISOR_event_channel_op]: EVENT_CHANNEL_OP_NAMES,
  [HYPERVISOR_hvm_op]: HVM_OP_NAMES,
};

/** Options of the {@linkcode Hypervisor}. */
export interface HypervisorOptions {
  /** Terminal input a console poll may wait for; omit to run on virtual time only. */
  inputWait?: InputWait;
}

/** Low 32 bits of a register as a signed C `int` (the `cmd` of most hypercalls). */
function _int(register: bigint): number {
  return Number(BigInt.asIntN(32, register));
}

/** The hypervisor as one guest sees it. */
export class Hypervisor {
  /** The guest domain. */
  readonly domain: XenDomain;
  readonly #inputWait: InputWait | undefined;

  /** The hypercall entry for `domain`. */
  constructor(domain: XenDomain, options: HypervisorOptions = {}) {
    this.domain = domain;
    this.#inputWait = options.inputWait;
    domain.events.onPending = (domid, port) => {
      if (domid === domain.domid) domain.pollWaker?.(port);
    };
  }

  /** `hvc #0xEA1`: the registers in, x0 out. */
  async hypercall(regs: HypercallRegisters): Promise<bigint> {
    let result: bigint;
    try {
      result = await this.#dispatch(regs);
    } catch (error) {
      if (!(error instanceof GuestFault) && !(error instanceof DataAbort)) throw error;
      result = xenError("EFAULT");
    }
    const trace = this.domain.trace;
    if (trace.wants("hypercall")) {
      const nr = regs.x16;
      const all = [regs.x0, regs.x1, regs.x2, regs.x3, regs.x4];
      trace.emit("hypercall", {
        nr,
        name: HYPERCALL_NAMES[nr] ?? "unknown",
        op: this.#opName(nr, regs.x0),
        args: all.slice(0, ARG_COUNTS[nr] ?? ALL_ARGS),
        result,
        error: result < 0n ? errnoName(result) : "",
      });
    }
    return result;
  }

  #opName(nr: number, x0: bigint): string {
    const names = OP_NAMES[nr];
    if (names === undefined) return "";
    let op = _int(x0);
    if (nr === HYPERVISOR_memory_op) op = memoryOpCommand(x0).op;
    if (nr === HYPERVISOR_grant_table_op) op &= GNTTABOP_CMD_MASK;
    return names[op] ?? "";
  }

  #dispatch(regs: HypercallRegisters): bigint | Promise<bigint> {
    const domain = this.domain;
    switch (regs.x16) {
      case HYPERVISOR_memory_op:
        return memoryOp(domain, regs.x0, regs.x1);
      case HYPERVISOR_xen_version:
        return xenVersion(domain, _int(regs.x0), regs.x1);
      case HYPERVISOR_console_io:
        return consoleIo(domain, _int(regs.x0), regs.x1, regs.x2);
      case HYPERVISOR_grant_table_op:
        return grantTableOp(domain, regs.x0, regs.x1, regs.x2);
      case HYPERVISOR_vcpu_op:
        return vcpuOp(domain, _int(regs.x0), BigInt.asUintN(32, regs.x1), regs.x2);
      case HYPERVISOR_sched_op:
        return schedOp(domain, _int(regs.x0), regs.x1, this.#inputWait);
      case HYPERVISOR_event_channel_op: {
        const cmd = _int(regs.x0);
        const result = eventChannelOp(domain, cmd, regs.x1);
        if (cmd === EVTCHNOP_send && result === 0n) domain.scheduler.runBackends();
        return result;
      }
      case HYPERVISOR_hvm_op:
        return hvmOp(domain, _int(regs.x0), regs.x1);
      case HYPERVISOR_domctl:
      case HYPERVISOR_sysctl:
      case HYPERVISOR_platform_op:
        return xenError("EPERM");
      default:
        return xenError("ENOSYS");
    }
  }
}
