/**
 * The guest configuration: what an `xl.cfg` file or pvboot's command line says the guest is (name, RAM,
 * vCPUs, PV disks, kernel command line, board profile), its defaults and limits, and the virtual disk
 * identifiers of xen-vbd-interface(7).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeGuestConfig, vdevName } from "./guest_config.ts";
 *
 * const config = completeGuestConfig({
 *   memoryMiB: 1536,
 *   disks: [{ target: "disk.img", vdev: vdevName(0), access: "rw", format: "raw" }],
 * });
 * assert.ok(config.vcpus === 1 && config.disks[0]?.vdev === "xvda");
 * ```
 *
 * @module
 */

import { isAbsolute, join } from "node:path";

/** Which U-Boot build the session behaves as: QEMU-like `default` or the real `xenguest` board. */
export type BoardName = "default" | "xenguest";

/** Every {@linkcode BoardName}, for validation and help text. */
export const BOARD_NAMES: readonly BoardName[] = ["default", "xenguest"];

/** How the guest may use a disk. */
export type DiskAccess = "rw" | "ro";

/** Disk image formats pvboot's block backend reads. */
export type DiskFormat = "raw";

/** A PV disk (xl-disk-configuration(5) reduced to what pvboot emulates). */
export interface DiskSpec {
  /** Host path of the image file. */
  target: string;
  /** Virtual device the guest sees (`xvda`, `xvdb`, …). */
  vdev: string;
  /** Read-write or read-only. */
  access: DiskAccess;
  /** Image format. */
  format: DiskFormat;
}

/** The guest: what the toolstack builds the domain and its device tree from. */
export interface GuestConfig {
  /** Domain name. */
  name: string;
  /** RAM in MiB, split over Xen's two guest RAM banks. */
  memoryMiB: number;
  /** Number of vCPUs. */
  vcpus: number;
  /** PV disks, in the order they are attached. */
  disks: DiskSpec[];
  /** The kernel command line (the device tree's `/chosen/bootargs`); empty for none. */
  extra: string;
  /** A device tree blob to hand the guest instead of generating one. */
  dtbPath?: string;
  /** Which U-Boot build to behave as. */
  board: BoardName;
}

/** Name used when the configuration gives none. */
export const DEFAULT_GUEST_NAME = "pvboot";
/** RAM when the configuration gives none (MiB). */
export const DEFAULT_MEMORY_MIB = 512;
/** vCPUs when the configuration gives none. */
export const DEFAULT_VCPUS = 1;
/** `GUEST_MAX_VCPUS` (arch-arm.h). */
export const MAX_VCPUS = 128;
/** Smallest RAM accepted (MiB). */
export const MIN_MEMORY_MIB = 1;
const MIB = 1024 * 1024;
/** `GUEST_RAM0_SIZE` + `GUEST_RAM1_SIZE` (arch-arm.h): 3 GiB + 1016 GiB, in MiB. */
export const MAX_MEMORY_MIB = (0xC000_0000 + 0xFE_0000_0000) / MIB;
/** Most disks one guest may have (bounds what a config file can ask for). */
export const MAX_DISKS = 64;
/** Longest name accepted (xenstore's path components are bounded; libxl has no lower limit). */
export const MAX_NAME_LENGTH = 64;

/** A configuration that cannot describe a guest (a user mistake). */
export class GuestConfigError extends RangeError {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "GuestConfigError";
  }
}

/** A fresh configuration with every default. */
export function defaultGuestConfig(): GuestConfig {
  return {
    name: DEFAULT_GUEST_NAME,
    memoryMiB: DEFAULT_MEMORY_MIB,
    vcpus: DEFAULT_VCPUS,
    disks: [],
    extra: "",
    board: "default",
  };
}

/**
 * Fills the defaults into `partial` and validates the result. Throws {@linkcode GuestConfigError} with a
 * message for the user.
 */
export function completeGuestConfig(partial: Partial<GuestConfig>): GuestConfig {
  const config: GuestConfig = { ...defaultGuestConfig(), ...partial };
  if (partial.disks !== undefined) config.disks = partial.disks.map((d) => ({ ...d }));
  validateGuestConfig(config);
  return config;
}

/** Throws {@linkcode GuestConfigError} unless `config` describes a guest pvboot can build. */
export function validateGuestConfig(config: GuestConfig): void {
  if (
    config.name.length === 0 || config.name.length > MAX_NAME_LENGTH || !_isPrintableName(config.name)
  ) {
    throw new GuestConfigError(
      `invalid guest name '${config.name}': 1 to ${MAX_NAME_LENGTH} printable characters, no '/'`,
    );
  }
  if (
    !Number.isInteger(config.memoryMiB) || config.memoryMiB < MIN_MEMORY_MIB ||
    config.memoryMiB > MAX_MEMORY_MIB
  ) {
    throw new GuestConfigError(
      `invalid memory ${config.memoryMiB}: a whole number of MiB from ${MIN_MEMORY_MIB} to ${MAX_MEMORY_MIB}`,
    );
  }
  if (!Number.isInteger(config.vcpus) || config.vcpus < 1 || config.vcpus > MAX_VCPUS) {
    throw new GuestConfigError(`invalid vcpus ${config.vcpus}: from 1 to ${MAX_VCPUS}`);
  }
  if (!BOARD_NAMES.includes(config.board)) {
    throw new GuestConfigError(`invalid board '${config.board}': one of ${BOARD_NAMES.join(", ")}`);
  }
  if (config.disks.length > MAX_DISKS) {
    throw new GuestConfigError(`too many disks (${config.disks.length}): at most ${MAX_DISKS}`);
  }
  const seen = new Map<number, string>();
  for (const disk of config.disks) {
    if (disk.target.length === 0) {
      throw new GuestConfigError(`disk ${disk.vdev}: no target (image file) given`);
    }
    const number = vbdDeviceNumber(disk.vdev);
    if (number === undefined) {
      throw new GuestConfigError(`Invalid or unsupported virtual disk identifier ${disk.vdev}`);
    }
    const other = seen.get(number);
    if (other !== undefined) throw new GuestConfigError(`disk ${disk.vdev} is the same device as ${other}`);
    seen.set(number, disk.vdev);
    if (disk.access !== "rw" && disk.access !== "ro") {
      throw new GuestConfigError(`disk ${disk.vdev}: access must be rw or ro, not '${disk.access}'`);
    }
    if (disk.format !== "raw") {
      throw new GuestConfigError(`disk ${disk.vdev}: format ${disk.format} is not supported (raw only)`);
    }
  }
}

const PRINTABLE_FIRST = 0x20;
const PRINTABLE_LAST = 0x7e;
const SLASH = 0x2f;

/** Printable ASCII without '/' (the name becomes a xenstore value and appears in paths and logs). */
function _isPrintableName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < PRINTABLE_FIRST || code > PRINTABLE_LAST || code === SLASH) return false;
  }
  return true;
}

const LETTERS = 26;
const LETTER_A = 0x61;

/**
 * The `index`-th Xen virtual disk name: 0 → `xvda`, 25 → `xvdz`, 26 → `xvdaa`, 536 → `xvdtq` (the
 * letters count in bijective base 26, as xen-vbd-interface(7) numbers them).
 */
export function vdevName(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new GuestConfigError(`Cannot name disk ${index}: not a disk number`);
  }
  let letters = "";
  let n = index + 1;
  while (n > 0) {
    const digit = (n - 1) % LETTERS;
    letters = String.fromCharCode(LETTER_A + digit) + letters;
    n = Math.floor((n - 1) / LETTERS);
  }
  return `xvd${letters}`;
}

/** xen-vbd-interface(7) encodings of the VBD number written to xenstore. */
const VBD_EXTENDED = 1 << 28;
const VBD_XVD_MAJOR = 202;
const VBD_SD_MAJOR = 8;
const VBD_HD_MAJOR_01 = 3;
const VBD_HD_MAJOR_23 = 22;
const VBD_MAJOR_SHIFT = 8;
const VBD_SMALL_LIMIT = 16;
const VBD_EXTENDED_DISKS = 1 << 20;
const VBD_EXTENDED_PARTITIONS = 256;
const VBD_HD_DISKS = 4;
const VBD_HD_PARTITIONS = 64;
/** Longest disk-letter run accepted (bounds the arithmetic below; `xvdzzzz` is already past 2^20). */
const MAX_VDEV_LETTERS = 4;

/**
 * The VBD number libxl writes to xenstore for `vdev` (xen-vbd-interface(7)): `xvda` → 51712,
 * `xvdb2` → 51730, `d536p37` → 268572709, `hdc2` → 5634; a plain number is taken as it is.
 * `undefined` when `vdev` is not a valid identifier.
 */
export function vbdDeviceNumber(vdev: string): number | undefined {
  if (/^(?:0x[0-9a-f]+|[1-9][0-9]*|0[0-7]*)$/i.test(vdev)) {
    const value = vdev.toLowerCase().startsWith("0x")
      ? Number.parseInt(vdev.slice(2), 16)
      : vdev.startsWith("0")
      ? Number.parseInt(vdev, 8)
      : Number.parseInt(vdev, 10);
    return value < 2 * VBD_EXTENDED ? value : undefined;
  }
  const named = new RegExp(`^(xvd|hd|sd)([a-z]{1,${MAX_VDEV_LETTERS}})([0-9]{0,3})$`).exec(vdev);
  const numbered = /^d([0-9]{1,7})(?:p([0-9]{1,3}))?$/.exec(vdev);
  let kind: string;
  let disk: number;
  let partitionText: string;
  if (named !== null) {
    kind = named[1] ?? "";
    disk = 0;
    for (const letter of named[2] ?? "") disk = disk * LETTERS + (letter.charCodeAt(0) - LETTER_A + 1);
    disk -= 1;
    partitionText = named[3] ?? "";
  } else if (numbered !== null) {
    kind = "xvd";
    disk = Number.parseInt(numbered[1] ?? "", 10);
    partitionText = numbered[2] ?? "";
  } else {
    return undefined;
  }
  if (partitionText.length > 1 && partitionText.startsWith("0")) return undefined;
  const partition = partitionText === "" ? 0 : Number.parseInt(partitionText, 10);
  if (kind === "xvd") {
    if (disk < VBD_SMALL_LIMIT && partition < VBD_SMALL_LIMIT) {
      return (VBD_XVD_MAJOR << VBD_MAJOR_SHIFT) | (disk << 4) | partition;
    }
    if (disk >= VBD_EXTENDED_DISKS || partition >= VBD_EXTENDED_PARTITIONS) return undefined;
    return VBD_EXTENDED + disk * (1 << VBD_MAJOR_SHIFT) + partition;
  }
  if (kind === "sd") {
    if (disk >= VBD_SMALL_LIMIT || partition >= VBD_SMALL_LIMIT) return undefined;
    return (VBD_SD_MAJOR << VBD_MAJOR_SHIFT) | (disk << 4) | partition;
  }
  if (disk >= VBD_HD_DISKS || partition >= VBD_HD_PARTITIONS) return undefined;
  return disk < 2
    ? (VBD_HD_MAJOR_01 << VBD_MAJOR_SHIFT) | (disk << 6) | partition
    : (VBD_HD_MAJOR_23 << VBD_MAJOR_SHIFT) | ((disk - 2) << 6) | partition;
}

/**
 * Returns `config` with every relative disk target joined onto `baseDir`, normally the directory of the
 * config file that named it (xl itself would use its working directory); absolute targets are kept.
 */
export function resolveDiskPaths<T extends Partial<GuestConfig>>(config: T, baseDir: string): T {
  if (config.disks === undefined) return config;
  return {
    ...config,
    disks: config.disks.map((disk) => ({
      ...disk,
      target: isAbsolute(disk.target) ? disk.target : join(baseDir, disk.target),
    })),
  };
}
