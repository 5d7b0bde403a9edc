/**
 * Errors of the Xen drivers that are not XenBus replies (those are in xenbus_errors.ts).
 *
 * @example
 * ```ts
 * import { XenError } from "./errors.ts";
 * const e = new XenError("map shared_info", -16);
 * console.log(e.message); // "Cannot map shared_info: EBUSY (-16)"
 * ```
 *
 * @module
 */

import { xenErrnoName } from "./abi.ts";

/**
 * A step of the Xen drivers failed where U-Boot would `BUG()` or panic: a hypercall returned an
 * error, or the platform lacks something the drivers need. `rc` is the hypercall's x0 when there is one.
 */
export class XenError extends Error {
  /** The failed hypercall's return value (a negative Xen errno), if the failure was a hypercall. */
  readonly rc: number | undefined;
  /** Creates the error for `action` ("map shared_info"), with `rc` or a free-text `state`. */
  constructor(action: string, rc: number | string) {
    super(
      typeof rc === "number" ? `Cannot ${action}: ${xenErrnoName(rc)} (${rc})` : `Cannot ${action}: ${rc}`,
    );
    this.name = "XenError";
    this.rc = typeof rc === "number" ? rc : undefined;
  }
}
