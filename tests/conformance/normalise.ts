/**
 * The normalisations applied before comparing the real U-Boot's output with pvboot's: only what
 * must differ. Each is named; `timing` and `line-endings` always apply, `device-names` applies to the
 * real U-Boot's side (and `command-names` to the command line sent to it), and `addresses` applies
 * only to cases flagged `addresses`. Pure.
 *
 * @module
 */

/** One named rewrite. */
export interface Normalisation {
  /** The name used in flags and messages. */
  readonly name: string;
  /** What it hides and why. */
  readonly why: string;
  /** The rewrite itself. */
  apply(text: string): string;
}

/** CRLF (the serial console) and LF (pvboot's stdout) read the same. */
export const LINE_ENDINGS: Normalisation = {
  name: "line-endings",
  why: "the serial console ends lines with CRLF, pvboot's standard output with LF",
  apply: (text) => text.replace(/\r\n/g, "\n"),
};

const TIMING_RE = /(\d+ bytes (?:read|written)) in \d+ ms(?: \([^)\n]*\))?/g;

/** `N bytes read in M ms (R/s)`: the time and rate depend on the host. */
export const TIMING: Normalisation = {
  name: "timing",
  why: "load times and rates depend on the host",
  apply: (text) => text.replace(TIMING_RE, "$1 in <time>"),
};

/** How U-Boot's dev_print() describes a virtio disk, and how it describes a Xen PV disk. */
const VIRTIO_DESCRIPTION = "QEMU VirtIO Block Device";
const PV_DESCRIPTION = "Vendor: Xen Rev: 1 Prod: Virtual disk";

/**
 * The real U-Boot's block devices are virtio; pvboot's are PV block devices: `virtio` reads as
 * `pvblock`, `VirtIO` (in `part list` headers) as `PV BLOCK`, and the device description line as
 * the one U-Boot prints for a Xen PV disk.
 */
export const DEVICE_NAMES: Normalisation = {
  name: "device-names",
  why: "the real U-Boot reaches the disks through virtio, pvboot through Xen PV block",
  apply: (text) =>
    text.replaceAll(VIRTIO_DESCRIPTION, PV_DESCRIPTION).replace(/VirtIO/g, "PV BLOCK").replace(
      /virtio/g,
      "pvblock",
    ),
};

/** pvboot's command spelling turned into the real U-Boot's (applied to the command line sent to QEMU). */
export const COMMAND_NAMES: Normalisation = {
  name: "command-names",
  why: "cases are written with pvblock; the qemu_arm64 build has virtio with the same block-command code",
  apply: (text) => text.replace(/\bpvblock\b/g, "virtio"),
};

/**
 * Hex numbers of 8 or 16 digits (with or without `0x`): addresses such as where `booti` relocates
 * the device tree, which depend on the board's RAM size and U-Boot's own relocation.
 */
const ADDRESS_RE = /\b(?:0x)?(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{8})\b/g;

/** Masks RAM-layout-dependent addresses; opt-in per case (flag `addresses`). */
export const ADDRESSES: Normalisation = {
  name: "addresses",
  why: "relocation targets depend on the board's RAM layout and where U-Boot itself sits",
  apply: (text) => text.replace(ADDRESS_RE, "<addr>"),
};

/** Which side an output came from. */
export type Side = "u-boot" | "pvboot";

/** The normalisations for one side of one case, in the order they apply. */
export function normalisationsFor(side: Side, options: { readonly addresses: boolean }): Normalisation[] {
  const list = [LINE_ENDINGS, TIMING];
  if (side === "u-boot") list.push(DEVICE_NAMES);
  if (options.addresses) list.push(ADDRESSES);
  return list;
}

/**
 * Normalises one side's output of one case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const out = normaliseOutput("u-boot", "6 bytes read in 2 ms (2.9 KiB/s)\r\n", { addresses: false });
 * assert.ok(out === "6 bytes read in <time>\n");
 * ```
 */
export function normaliseOutput(side: Side, text: string, options: { readonly addresses: boolean }): string {
  return normalisationsFor(side, options).reduce((t, n) => n.apply(t), text);
}
