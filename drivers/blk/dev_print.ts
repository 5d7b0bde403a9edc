/**
 * U-Boot's `dev_print` (disk/part.c): the description of a block device that `pvblock info`,
 * `pvblock dev` and `fatinfo` print.
 *
 * ```
 * Vendor: Xen Rev: 1 Prod: Virtual disk
 *             Type: Hard Disk
 *             Capacity: 16.0 MB = 0.0 GB (32768 x 512)
 * ```
 *
 * The capacity counts 512-byte units (`lba * blksz / 512`); tenths of a MB come from `units * 10 >> 11`
 * and GB from that over 1024, both truncated, as U-Boot's integer arithmetic does.
 *
 * @example
 * ```ts
 * import { formatDevice } from "./dev_print.ts";
 * import { MemoryBlockDevice } from "./memory_block_device.ts";
 * console.log(formatDevice(new MemoryBlockDevice({ lba: 32768 })));
 * ```
 *
 * @module
 */

import {
  type BlockDevice,
  DEV_TYPE_CDROM,
  DEV_TYPE_HARDDISK,
  DEV_TYPE_OPDISK,
  DEV_TYPE_TAPE,
  DEV_TYPE_UNKNOWN,
} from "./block_device.ts";
import { blockInterface } from "./block_interface.ts";

/** Where text goes (a console). */
export interface DevPrintSink {
  /** Prints a byte string. */
  puts(text: string): void;
}

/** The indent of the Type and Capacity lines. */
const INDENT = "            ";
/** U-Boot's 512-byte unit for capacities. */
const CAPACITY_UNIT = 512n;
/** `units * 10 >> MB_SHIFT` is tenths of a MB (2048 units of 512 bytes). */
const MB_SHIFT = 11n;
const TENTHS = 10n;
const MB_PER_GB = 1024n;
/** `dev_print` prints only the low five bits of the type. */
const TYPE_MASK = 0x1f;

const _TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [DEV_TYPE_HARDDISK, "Hard Disk"],
  [DEV_TYPE_CDROM, "CD ROM"],
  [DEV_TYPE_OPDISK, "Optical Device"],
  [DEV_TYPE_TAPE, "Tape"],
]);

function _firstLine(dev: BlockDevice): string {
  switch (blockInterface(dev.ifType).devPrintStyle) {
    case "virtio":
      return `${dev.vendor} VirtIO Block Device\n`;
    case "model-firm-serial":
      return `Model: ${dev.vendor} Firm: ${dev.revision} Ser#: ${dev.product}\n`;
    case "scsi":
      return `(0:0) Vendor: ${dev.vendor} Prod.: ${dev.product} Rev: ${dev.revision}\n`;
    case "efi-media":
      return `EFI media Block Device ${dev.revision}\n`;
    case "vendor-rev-prod":
      return `Vendor: ${dev.vendor} Rev: ${dev.revision} Prod: ${dev.product}\n`;
  }
}

/** The `Capacity:` line (without the indent) of `lba` blocks of `blksz` bytes. */
export function formatCapacity(lba: number, blksz: number): string {
  if (lba <= 0) return "Capacity: not available\n";
  const units = BigInt(lba) * (BigInt(blksz) / CAPACITY_UNIT);
  const mb = (units * TENTHS) >> MB_SHIFT;
  const gb = mb / MB_PER_GB;
  return `Capacity: ${mb / TENTHS}.${mb % TENTHS} MB = ${gb / TENTHS}.${
    gb % TENTHS
  } GB (${lba} x ${blksz})\n`;
}

/** The text `dev_print` prints for `dev`. */
export function formatDevice(dev: BlockDevice): string {
  if (dev.type === DEV_TYPE_UNKNOWN) return "not available\n";
  const kind = dev.type & TYPE_MASK;
  const typeName = _TYPE_NAMES.get(kind) ?? `# ${kind.toString(16).toUpperCase().padStart(2, "0")} #`;
  return _firstLine(dev) +
    `${INDENT}Type: ${dev.removable ? "Removable " : ""}${typeName}\n` +
    INDENT + formatCapacity(dev.lba, dev.blksz);
}

/** U-Boot's `dev_print(desc)`: prints {@link formatDevice} to `out`. */
export function devPrint(out: DevPrintSink, dev: BlockDevice): void {
  out.puts(formatDevice(dev));
}
