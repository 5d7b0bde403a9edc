/**
 * What a XenBus request can end in besides its value. Every error carries `xsError`, the string U-Boot's
 * xenbus functions return in the same case (the server's error name such as `ENOENT`, `No reply` on a
 * timeout), so callers can print U-Boot's messages (`Failed to read device/vbd directory: %s`).
 *
 * @example
 * ```ts
 * import { XenStoreError, XenbusError } from "./xenbus_errors.ts";
 * const e = new XenStoreError("read device/vbd", "ENOENT");
 * console.log(e instanceof XenbusError, e.xsError, e.message); // true "ENOENT" "Cannot read device/vbd: ENOENT"
 * ```
 *
 * @module
 */

/** A request failed; `xsError` is U-Boot's error string for it. */
export class XenbusError extends Error {
  /** The error string (`ENOENT`, `EAGAIN`, `No reply`, `EIO`, ...). */
  readonly xsError: string;
  /** What went wrong, without the action (defaults to `xsError`). */
  readonly detail: string;
  /** Creates the error for `action` ("read device/vbd"); `detail` defaults to `xsError`. */
  constructor(action: string, xsError: string, detail?: string) {
    super(`Cannot ${action}: ${detail ?? xsError}`);
    this.name = "XenbusError";
    this.xsError = xsError;
    this.detail = detail ?? xsError;
  }
}

/** The server answered `XS_ERROR` with this name (unknown names read as `EINVAL`). */
export class XenStoreError extends XenbusError {
  /** Creates the error for `action` with the server's error name. */
  constructor(action: string, xsError: string) {
    super(action, xsError);
    this.name = "XenStoreError";
  }
}

/** No reply (or no room in the request ring) within the timeout: U-Boot's `No reply`. */
export class XenbusTimeoutError extends XenbusError {
  /** For a state wait: the last state read, if any. */
  readonly lastState: number | undefined;
  /** Creates the error for `action` after `timeoutMs`. */
  constructor(action: string, timeoutMs: number, lastState?: number) {
    super(action, "No reply", `no answer within ${timeoutMs} ms`);
    this.name = "XenbusTimeoutError";
    this.lastState = lastState;
  }
}

/**
 * The server broke the protocol (xen-spec §10.2 items 11–18): ring indexes out of range, a payload
 * longer than 4096 bytes, a reply to a request that was never made, a reply of the wrong type, a
 * payload without its NUL terminators. The request fails with `EIO`; nothing crashes or hangs.
 */
export class XenbusProtocolError extends XenbusError {
  /** Creates the error for `action`, `detail` saying what was wrong. */
  constructor(action: string, detail: string) {
    super(action, "EIO", detail);
    this.name = "XenbusProtocolError";
  }
}

/** A value, or the error the request ended in. */
export type XenbusResult<T> = T | XenbusError;
