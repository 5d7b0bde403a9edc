/**
 * `<dev>[.<hwpart>][:<part>]` and `<dev>#<name>` strings, as every filesystem and partition command
 * takes them (U-Boot's `blk_get_device_by_str`, `blk_get_device_part_str`,
 * `part_get_info_by_dev_and_name_or_num`), with U-Boot's messages:
 *
 * - dev, hwpart and part are hex (`simple_strtoul` base 16: `0x` allowed, an empty dev is 0). A dev
 *   that is not all hex prints `** Bad device specification pvblock x **` twice (once where it is
 *   parsed, once by the caller); a dev with no device prints it once. hwpart is parsed and ignored
 *   (block devices without hardware partitions accept any, as U-Boot's do).
 * - An empty or `-` string means env `bootdevice`; without it `** No device specified **`.
 * - part: missing or empty = unspecified (partition 1 when there is a table), `auto` = the first
 *   bootable partition or else the first one, else a hex number taken as a C `int` (so `ffffffff` is
 *   `auto` and `fffffffe` unspecified, as in U-Boot). Not hex, or 0 where the whole disk is not
 *   allowed: `** Bad partition specification pvblock 0:x **`.
 * - No table, or part 0: the whole disk when allowed and no number was given (`Whole Disk`), else
 *   `** No partition table - pvblock 2 **` (`** Bad device size - ... **` for an empty device).
 * - `** Invalid partition 9 **`, `** No valid partitions found **` for `auto`.
 * - `dev#name` looks the name up first (`Could not find "name" partition`), then falls back to the
 *   `:` form; any final failure adds `Couldn't find partition pvblock <string>`.
 *
 * @example
 * ```ts
 * import { blkGetDevicePartStr } from "./device_part_str.ts";
 * import { PartitionLayer } from "./part.ts";
 * import { BlockRegistry } from "../drivers/blk/block_registry.ts";
 *
 * const out = { text: "", puts(t: string) { this.text += t; } };
 * const lookup = { blk: new BlockRegistry(), parts: new PartitionLayer(), out };
 * console.log(await blkGetDevicePartStr(lookup, "pvblock", "9:1", true)); // undefined
 * console.log(out.text); // "** Bad device specification pvblock 9 **\n"
 * ```
 *
 * @module
 */

import { type BlockDevice, DEV_TYPE_UNKNOWN } from "../drivers/blk/block_device.ts";
import type { BlockRegistry } from "../drivers/blk/block_registry.ts";
import type { TextSink } from "../lib/display_options.ts";
import { simpleStrtoul } from "../lib/strto.ts";
import { wholeDiskInfo } from "./part.ts";
import type { PartitionLayer } from "./part.ts";
import {
  BOOT_PART_TYPE,
  MAX_SEARCH_PARTITIONS,
  PART_TYPE_UNKNOWN,
  type PartitionInfo,
} from "./part_driver.ts";

/** `PART_UNSPECIFIED`: no partition given. */
export const PART_UNSPECIFIED = -2;
/** `PART_AUTO`: `:auto`. */
export const PART_AUTO = -1;
/** The env variable an empty device string falls back to. */
export const BOOTDEVICE_VAR = "bootdevice";
/** How U-Boot's printf prints a NULL string. */
const NULL_STRING = "<NULL>";
const HEX = 16;

/** What a lookup needs: the devices, the partition layer, where messages go, and the environment. */
export interface PartLookup {
  /** The block devices. */
  readonly blk: BlockRegistry;
  /** The partition layer (shared, it remembers table types). */
  readonly parts: PartitionLayer;
  /** Where U-Boot's messages go. */
  readonly out: TextSink;
  /** `env_get`, for `bootdevice` (no environment: never set). */
  readonly getenv?: (name: string) => string | undefined;
}

/** A device and a partition of it (part 0 with the whole disk). */
export interface DevicePartition {
  /** The device. */
  readonly dev: BlockDevice;
  /** The partition number; 0 for the whole disk. */
  readonly part: number;
  /** The partition. */
  readonly info: PartitionInfo;
}

/** `hextoul` of the whole string as a C `int`, or `undefined` when a character is not consumed. */
function _hexInt(text: string): number | undefined {
  const r = simpleStrtoul(text, HEX);
  return r.end === text.length ? Number(BigInt.asIntN(32, r.value)) : undefined;
}

/**
 * `blk_get_device_by_str`: the device `ifname` `<dev>[.<hwpart>]`, probed (its table type found)
 * on first use as U-Boot probes a device when it is looked up. `undefined` when the string is bad
 * (printed) or names no device (silent).
 */
export async function blkGetDeviceByStr(
  lookup: PartLookup,
  ifname: string,
  devHwpartStr: string,
): Promise<BlockDevice | undefined> {
  const dot = devHwpartStr.indexOf(".");
  const devStr = dot >= 0 ? devHwpartStr.slice(0, dot) : devHwpartStr;
  const devnum = _hexInt(devStr);
  if (devnum === undefined) {
    lookup.out.puts(`** Bad device specification ${ifname} ${devStr} **\n`);
    return undefined;
  }
  if (dot >= 0) {
    const hwpartStr = devHwpartStr.slice(dot + 1);
    if (_hexInt(hwpartStr) === undefined) {
      lookup.out.puts(`** Bad HW partition specification ${ifname} ${hwpartStr} **\n`);
      return undefined;
    }
  }
  const dev = lookup.blk.get(ifname, devnum);
  if (dev === undefined || dev.type === DEV_TYPE_UNKNOWN) return undefined;
  await lookup.parts.ensureProbed(dev, lookup.out);
  return dev;
}

/** `blk_get_device_part_str`: resolves `<dev>[.<hwpart>][:<part>]` (see the module doc). */
export async function blkGetDevicePartStr(
  lookup: PartLookup,
  ifname: string,
  devPartStr: string | undefined,
  allowWholeDev: boolean,
): Promise<DevicePartition | undefined> {
  const { out, parts } = lookup;
  let spec = devPartStr;
  if (spec === undefined || spec === "" || spec === "-") spec = lookup.getenv?.(BOOTDEVICE_VAR);
  if (spec === undefined) {
    out.puts("** No device specified **\n");
    return undefined;
  }
  const colon = spec.indexOf(":");
  const devStr = colon >= 0 ? spec.slice(0, colon) : spec;
  const partStr = colon >= 0 ? spec.slice(colon + 1) : "";
  const dev = await blkGetDeviceByStr(lookup, ifname, devStr);
  if (dev === undefined) {
    out.puts(`** Bad device specification ${ifname} ${devStr} **\n`);
    return undefined;
  }
  let part: number;
  if (partStr === "") {
    part = PART_UNSPECIFIED;
  } else if (partStr === "auto") {
    part = PART_AUTO;
  } else {
    const n = _hexInt(partStr);
    if (n === undefined || (n === 0 && !allowWholeDev)) {
      out.puts(`** Bad partition specification ${ifname} ${spec} **\n`);
      return undefined;
    }
    part = n;
  }
  if (parts.partType(dev) === PART_TYPE_UNKNOWN || part === 0) {
    if (dev.lba === 0) {
      out.puts(`** Bad device size - ${ifname} ${devStr} **\n`);
      return undefined;
    }
    if (part > 0 || !allowWholeDev) {
      out.puts(`** No partition table - ${ifname} ${devStr} **\n`);
      return undefined;
    }
    return { dev, part: 0, info: wholeDiskInfo(dev) };
  }
  if (part === PART_UNSPECIFIED) part = 1;
  let info: PartitionInfo | undefined;
  if (part !== PART_AUTO) {
    info = await parts.getInfo(dev, part, out);
    if (info === undefined) {
      out.puts(`** Invalid partition ${part} **\n`);
      return undefined;
    }
  } else {
    part = 0;
    for (let p = 1; p <= MAX_SEARCH_PARTITIONS; p++) {
      const candidate = await parts.getInfo(dev, p, out);
      if (candidate === undefined) continue;
      if (part === 0 || candidate.bootable) {
        part = p;
        info = candidate;
      }
      if (candidate.bootable) break;
    }
    if (info === undefined) {
      out.puts("** No valid partitions found **\n");
      return undefined;
    }
  }
  if (info.type !== BOOT_PART_TYPE) {
    out.puts(`** Invalid partition type "${info.type.slice(0, 32)}" (expect "${BOOT_PART_TYPE}")\n`);
    return undefined;
  }
  return { dev, part, info };
}

/**
 * `part_get_info_by_dev_and_name_or_num`, what `ls`/`load`/`fatls`/`ext4load` use: `<dev>#<name>`
 * by name, else {@linkcode blkGetDevicePartStr}; a failure adds `Couldn't find partition ...`.
 */
export async function partGetInfoByDevAndNameOrNum(
  lookup: PartLookup,
  ifname: string,
  devPartStr: string | undefined,
  allowWholeDev: boolean,
): Promise<DevicePartition | undefined> {
  const hash = devPartStr?.indexOf("#") ?? -1;
  if (devPartStr !== undefined && hash >= 0) {
    const dev = await blkGetDeviceByStr(lookup, ifname, devPartStr.slice(0, hash));
    if (dev !== undefined) {
      const name = devPartStr.slice(hash + 1);
      const found = await lookup.parts.getInfoByName(dev, name, lookup.out);
      if (found !== undefined) return { dev, part: found.part, info: found.info };
      lookup.out.puts(`Could not find "${name}" partition\n`);
    }
  }
  const result = await blkGetDevicePartStr(lookup, ifname, devPartStr, allowWholeDev);
  if (result === undefined) {
    lookup.out.puts(`Couldn't find partition ${ifname} ${devPartStr ?? NULL_STRING}\n`);
  }
  return result;
}
