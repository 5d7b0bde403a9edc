/**
 * What the block frontend can end in besides success: a device that could not be connected
 * ({@linkcode BlkfrontConnectError}) and a transfer that failed ({@linkcode BlkfrontIoError}). I/O
 * failures are values the frontend returns, never exceptions: a hostile or broken backend makes a
 * transfer fail, not the guest crash.
 *
 * @example
 * ```ts
 * import { BlkfrontIoError } from "./blkfront_errors.ts";
 * const e = new BlkfrontIoError("device/vbd/51712", "protocol", "response id 99 is out of range");
 * console.log(e.kind, e.message); // "protocol" "Cannot transfer on device/vbd/51712: response id 99 is out of range"
 * ```
 *
 * @module
 */

/** The frontend could not bring the device to Connected. */
export class BlkfrontConnectError extends Error {
  /** The device's XenStore node (`device/vbd/51712`). */
  readonly nodename: string;
  /** Creates the error for `nodename`, `state` saying what went wrong. */
  constructor(nodename: string, state: string) {
    super(`Cannot connect ${nodename}: ${state}`);
    this.name = "BlkfrontConnectError";
    this.nodename = nodename;
  }
}

/**
 * Why a transfer failed:
 * - `status`: the backend answered `BLKIF_RSP_ERROR` or `BLKIF_RSP_EOPNOTSUPP`;
 * - `protocol`: the backend broke the ring protocol (bad id, duplicate, overrunning producer, unknown
 *   status, a grant it did not give back); the device is now broken;
 * - `timeout`: no response in time; the device is now broken;
 * - `broken`: the device was broken by an earlier violation, or is closed;
 * - `argument`: the caller asked for something the device cannot do (range, alignment, read-only);
 * - `resources`: no heap or grant references left for the transfer.
 */
export type BlkfrontIoErrorKind = "status" | "protocol" | "timeout" | "broken" | "argument" | "resources";

/** A transfer failed; `kind` says why. */
export class BlkfrontIoError extends Error {
  /** Why the transfer failed. */
  readonly kind: BlkfrontIoErrorKind;
  /** For `status`: the backend's status value. */
  readonly status: number | undefined;
  /** Creates the error for the device at `nodename`. */
  constructor(nodename: string, kind: BlkfrontIoErrorKind, detail: string, status?: number) {
    super(`Cannot transfer on ${nodename}: ${detail}`);
    this.name = "BlkfrontIoError";
    this.kind = kind;
    this.status = status;
  }
}
