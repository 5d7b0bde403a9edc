/**
 * `HYPERVISOR_hvm_op` for the guest (xen/arch/arm/hvm.c): `HVMOP_get_param` / `HVMOP_set_param` with
 * `struct xen_hvm_param`, under the rules of {@linkcode HvmParams}, and `HVMOP_guest_request_vm_event`
 * (NULL argument only). Anything else is `-ENOSYS`, as on Arm.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { XEN_HVM_PARAM } from "./hvm_op.ts";
 *
 * assert.deepEqual(XEN_HVM_PARAM.fields.value, [8, 8]);
 * ```
 *
 * @module
 */

import type { XenDomain } from "./domain.ts";
import type { HvmParams } from "./hvm_params.ts";
import { defineLayout } from "./layout.ts";
import {
  DOM0_ID,
  HVMOP_get_param,
  HVMOP_guest_request_vm_event,
  HVMOP_set_param,
  xenError,
} from "./xen_abi.ts";

/** `struct xen_hvm_param` (16 bytes). */
export const XEN_HVM_PARAM = defineLayout("xen_hvm_param", 16, {
  domid: [0, 2],
  index: [4, 4],
  value: [8, 8],
});

/** Op names, for traces. */
export const HVM_OP_NAMES: Readonly<Record<number, string>> = {
  [HVMOP_set_param]: "HVMOP_set_param",
  [HVMOP_get_param]: "HVMOP_get_param",
  [HVMOP_guest_request_vm_event]: "HVMOP_guest_request_vm_event",
};

/** `hvm_op(op, arg)`; throws `GuestFault` for arguments out of guest memory. */
export function hvmOp(domain: XenDomain, op: number, arg: bigint): bigint {
  switch (op) {
    case HVMOP_set_param:
    case HVMOP_get_param:
      return _param(domain, domain.params, op, arg);
    case HVMOP_guest_request_vm_event:
      return arg === 0n ? 0n : xenError("EINVAL");
    default:
      return xenError("ENOSYS");
  }
}

function _param(domain: XenDomain, params: HvmParams, op: number, arg: bigint): bigint {
  const at = domain.access.pointer(arg);
  const param = domain.access.readStruct(XEN_HVM_PARAM, at);
  const target = domain.resolve(param.u("domid"));
  if (target === undefined) return xenError("ESRCH");
  if (target === DOM0_ID) return xenError("EPERM");
  const index = param.u("index");
  if (op === HVMOP_set_param) {
    const result = params.guestSet(index, param.u64("value"));
    return result === "ok" ? 0n : xenError(result);
  }
  const value = params.guestGet(index);
  if (typeof value === "string") return xenError(value);
  param.set64("value", value);
  domain.access.writeStruct(at, param);
  return 0n;
}
