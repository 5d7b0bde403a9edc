/**
 * What U-Boot prints differently per block interface (uclass): the label of `Partition Map for ...`
 * (disk/part.c `print_part_header`), the first line of `dev_print`, and the prefix of DOS partition
 * names (`part_set_generic_name`: `xxa1` for pvblock and virtio, `mmcsdb2` for MMC).
 *
 * @example
 * ```ts
 * import { blockInterface } from "./block_interface.ts";
 * console.log(blockInterface("pvblock").partitionMapLabel); // "PV BLOCK"
 * console.log(blockInterface("virtio").genericNamePrefix); // "xx"
 * ```
 *
 * @module
 */

/** How `dev_print` introduces a device. */
export type DevPrintStyle =
  /** `Vendor: %s Rev: %s Prod: %s` (mmc, usb, nvme, pvblock, host). */
  | "vendor-rev-prod"
  /** `%s VirtIO Block Device` with the vendor. */
  | "virtio"
  /** `Model: %s Firm: %s Ser#: %s` with vendor, revision, product (ide, ahci). */
  | "model-firm-serial"
  /** `(0:0) Vendor: %s Prod.: %s Rev: %s` (scsi; target and LUN are not modelled). */
  | "scsi"
  /** `EFI media Block Device %s` with the revision. */
  | "efi-media";

/** Facts about one interface name. */
export interface BlockInterfaceInfo {
  /** The word after `Partition Map for`. */
  readonly partitionMapLabel: string;
  /** The first line of `dev_print`. */
  readonly devPrintStyle: DevPrintStyle;
  /** The device-type part of DOS partition names. */
  readonly genericNamePrefix: string;
}

/** U-Boot's default prefix of DOS partition names (`xx`). */
export const DEFAULT_GENERIC_NAME_PREFIX = "xx";

const _INTERFACES: ReadonlyMap<string, BlockInterfaceInfo> = new Map([
  ["pvblock", { partitionMapLabel: "PV BLOCK", devPrintStyle: "vendor-rev-prod", genericNamePrefix: "xx" }],
  ["virtio", { partitionMapLabel: "VirtIO", devPrintStyle: "virtio", genericNamePrefix: "xx" }],
  ["mmc", { partitionMapLabel: "MMC", devPrintStyle: "vendor-rev-prod", genericNamePrefix: "mmcsd" }],
  ["usb", { partitionMapLabel: "USB", devPrintStyle: "vendor-rev-prod", genericNamePrefix: "usbd" }],
  ["nvme", { partitionMapLabel: "NVMe", devPrintStyle: "vendor-rev-prod", genericNamePrefix: "xx" }],
  ["host", { partitionMapLabel: "HOST", devPrintStyle: "vendor-rev-prod", genericNamePrefix: "xx" }],
  ["ide", { partitionMapLabel: "IDE", devPrintStyle: "model-firm-serial", genericNamePrefix: "hd" }],
  ["sata", { partitionMapLabel: "SATA", devPrintStyle: "model-firm-serial", genericNamePrefix: "hd" }],
  ["scsi", { partitionMapLabel: "SCSI", devPrintStyle: "scsi", genericNamePrefix: "sd" }],
  ["efi", { partitionMapLabel: "EFI", devPrintStyle: "efi-media", genericNamePrefix: "xx" }],
]);

/** What an interface U-Boot has no case for gets (`UNKNOWN`, the vendor line, `xx`). */
const _UNKNOWN: BlockInterfaceInfo = {
  partitionMapLabel: "UNKNOWN",
  devPrintStyle: "vendor-rev-prod",
  genericNamePrefix: DEFAULT_GENERIC_NAME_PREFIX,
};

/** The facts for interface `ifType`. */
export function blockInterface(ifType: string): BlockInterfaceInfo {
  return _INTERFACES.get(ifType) ?? _UNKNOWN;
}
