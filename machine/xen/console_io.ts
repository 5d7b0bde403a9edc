/**
 * `HYPERVISOR_console_io` (xen/drivers/char/console.c, xen-spec §1.7): Xen's own console, not the PV
 * console. A release Xen's default policy refuses it to a DomU (`-EPERM` for every command); a
 * `CONFIG_VERBOSE_DEBUG` Xen accepts `CONSOLEIO_write` and prints the domain's text line by line, with
 * non-printable characters dropped, which here becomes `xen-console` trace events. Reading is
 * privileged either way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONSOLE_LINE_MAX } from "./console_io.ts";
 *
 * assert.equal(CONSOLE_LINE_MAX, 199);
 * ```
 *
 * @module
 */

import type { XenDomain } from "./domain.ts";
import { CONSOLEIO_read, CONSOLEIO_write, xenError } from "./xen_abi.ts";

/** Characters Xen buffers per DomU line before printing it anyway (`DOMAIN_PBUF_SIZE` - 1). */
export const CONSOLE_LINE_MAX = 199;
/** Bytes one write may carry (Xen would continue the hypercall; bounds the work here). */
export const MAX_CONSOLE_IO_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const TAB = 0x09;
const PRINTABLE_FIRST = 0x20;
const PRINTABLE_LAST = 0x7e;

/** Command names, for traces. */
export const CONSOLE_IO_NAMES: Readonly<Record<number, string>> = {
  [CONSOLEIO_write]: "CONSOLEIO_write",
  [CONSOLEIO_read]: "CONSOLEIO_read",
};

/** `console_io(cmd, count, buffer)`; throws `GuestFault` for a buffer out of guest memory. */
export function consoleIo(domain: XenDomain, cmd: number, count: bigint, buffer: bigint): bigint {
  if (!domain.consoleIoWrite || cmd === CONSOLEIO_read) return xenError("EPERM");
  if (cmd !== CONSOLEIO_write) return xenError("ENOSYS");
  const length = Number(BigInt.asUintN(32, count));
  if (length > MAX_CONSOLE_IO_BYTES) return xenError("EINVAL");
  const bytes = domain.access.readBytes(domain.access.pointer(buffer), length);
  for (const byte of bytes) {
    if (byte === NEWLINE) {
      _flush(domain);
      continue;
    }
    if (byte === TAB || (byte >= PRINTABLE_FIRST && byte <= PRINTABLE_LAST)) {
      domain.consoleLine += String.fromCharCode(byte);
      if (domain.consoleLine.length >= CONSOLE_LINE_MAX) _flush(domain);
    }
  }
  return 0n;
}

function _flush(domain: XenDomain): void {
  domain.trace.emit("xen-console", { domain: domain.domid, line: domain.consoleLine });
  domain.consoleLine = "";
}
