/**
 * A domain's HVM parameters and the rules Xen on Arm applies to them (xen/arch/arm/hvm.c
 * `hvm_allow_get_param` / `hvm_allow_set_param`): the domain may read the callback IRQ and the xenstore
 * and console page/port parameters, may read nothing else; it may set none of the toolstack's (`EPERM`),
 * only the ioreq-server ones; any other index is `EINVAL`. The toolstack sets them directly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HvmParams } from "./hvm_params.ts";
 * import { HVM_PARAM_MONITOR_RING_PFN, HVM_PARAM_STORE_PFN } from "./xen_abi.ts";
 *
 * const params = new HvmParams();
 * params.set(HVM_PARAM_STORE_PFN, 0x39001n);
 * assert.equal(params.guestGet(HVM_PARAM_STORE_PFN), 0x39001n);
 * assert.equal(params.guestGet(HVM_PARAM_MONITOR_RING_PFN), "EPERM");
 * assert.equal(params.guestSet(HVM_PARAM_STORE_PFN, 1n), "EPERM");
 * ```
 *
 * @module
 */

import {
  HVM_NR_PARAMS,
  HVM_PARAM_CALLBACK_IRQ,
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_IOREQ_SERVER_PFN,
  HVM_PARAM_MONITOR_RING_PFN,
  HVM_PARAM_NR_IOREQ_SERVER_PAGES,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
  type XenErrnoName,
} from "./xen_abi.ts";

/** Parameters the domain itself may read. */
const GUEST_READABLE: ReadonlySet<number> = new Set([
  HVM_PARAM_CALLBACK_IRQ,
  HVM_PARAM_STORE_PFN,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_IOREQ_SERVER_PFN,
  HVM_PARAM_NR_IOREQ_SERVER_PAGES,
]);
/** Parameters only the toolstack may set or (MONITOR_RING_PFN) read. */
const TOOLSTACK_ONLY: ReadonlySet<number> = new Set([
  HVM_PARAM_CALLBACK_IRQ,
  HVM_PARAM_STORE_PFN,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_MONITOR_RING_PFN,
]);
/** Largest value `NR_IOREQ_SERVER_PAGES` takes (bits in Xen's page mask). */
const MAX_IOREQ_SERVER_PAGES = 64n;

/** The HVM parameters of one domain (all 0 until set). */
export class HvmParams {
  readonly #values = new Map<number, bigint>();

  /** The toolstack's (or Xen's) write. */
  set(index: number, value: bigint): void {
    if (!Number.isInteger(index) || index < 0 || index >= HVM_NR_PARAMS) {
      throw new RangeError(`Cannot set HVM parameter ${index}: not below ${HVM_NR_PARAMS}`);
    }
    this.#values.set(index, BigInt.asUintN(64, value));
  }

  /** The value (0 when never set). */
  get(index: number): bigint {
    return this.#values.get(index) ?? 0n;
  }

  /** `HVMOP_get_param` by the domain itself. */
  guestGet(index: number): bigint | XenErrnoName {
    if (GUEST_READABLE.has(index)) return this.get(index);
    return index === HVM_PARAM_MONITOR_RING_PFN ? "EPERM" : "EINVAL";
  }

  /** `HVMOP_set_param` by the domain itself. */
  guestSet(index: number, value: bigint): "ok" | XenErrnoName {
    if (TOOLSTACK_ONLY.has(index)) return "EPERM";
    if (index === HVM_PARAM_NR_IOREQ_SERVER_PAGES) {
      if (value === 0n || value > MAX_IOREQ_SERVER_PAGES) return "EINVAL";
    } else if (index !== HVM_PARAM_IOREQ_SERVER_PFN) {
      return "EINVAL";
    }
    this.set(index, value);
    return "ok";
  }
}
