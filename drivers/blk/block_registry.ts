/**
 * The block devices of a guest by interface and number (U-Boot's blk uclass lookups:
 * `blk_get_devnum_by_uclass_idname`, `blk_find_max_devnum`). Drivers register what they probe;
 * commands and filesystems look devices up by the `<interface> <dev>` they were given.
 *
 * @example
 * ```ts
 * import { BlockRegistry } from "./block_registry.ts";
 * import { MemoryBlockDevice } from "./memory_block_device.ts";
 *
 * const blk = new BlockRegistry();
 * blk.register(new MemoryBlockDevice({ ifType: "pvblock", devnum: blk.nextDevnum("pvblock"), lba: 8 }));
 * console.log(blk.get("pvblock", 0)?.lba, blk.get("pvblock", 1)); // 8 undefined
 * ```
 *
 * @module
 */

import type { BlockDevice } from "./block_device.ts";

/** A device was registered twice under the same interface and number. */
export class DuplicateBlockDeviceError extends Error {
  /** Creates the error for `ifType` `devnum`. */
  constructor(ifType: string, devnum: number) {
    super(`Cannot register block device: ${ifType} ${devnum} is already registered`);
    this.name = "DuplicateBlockDeviceError";
  }
}

/** The registered block devices. */
export class BlockRegistry {
  readonly #byInterface = new Map<string, Map<number, BlockDevice>>();

  /** Adds `dev` under its `ifType` and `devnum`; throws {@link DuplicateBlockDeviceError} if taken. */
  register(dev: BlockDevice): void {
    let devices = this.#byInterface.get(dev.ifType);
    if (devices === undefined) {
      devices = new Map();
      this.#byInterface.set(dev.ifType, devices);
    }
    if (devices.has(dev.devnum)) throw new DuplicateBlockDeviceError(dev.ifType, dev.devnum);
    devices.set(dev.devnum, dev);
  }

  /** Removes `dev` (a driver's remove at handoff); true when it was registered. */
  unregister(dev: BlockDevice): boolean {
    const devices = this.#byInterface.get(dev.ifType);
    if (devices?.get(dev.devnum) !== dev) return false;
    devices.delete(dev.devnum);
    return true;
  }

  /** The device `ifname` `devnum`, or `undefined` (unknown interface or number). */
  get(ifname: string, devnum: number): BlockDevice | undefined {
    return this.#byInterface.get(ifname)?.get(devnum);
  }

  /** The devices of `ifname` by increasing number. */
  list(ifname: string): BlockDevice[] {
    const devices = this.#byInterface.get(ifname);
    if (devices === undefined) return [];
    return [...devices.values()].sort((a, b) => a.devnum - b.devnum);
  }

  /** The interface names that have at least one device, sorted. */
  interfaces(): string[] {
    return [...this.#byInterface].filter(([, d]) => d.size > 0).map(([name]) => name).sort();
  }

  /** The number the next device of `ifname` gets: one past the highest in use (`blk_next_free_devnum`). */
  nextDevnum(ifname: string): number {
    let next = 0;
    for (const devnum of this.#byInterface.get(ifname)?.keys() ?? []) next = Math.max(next, devnum + 1);
    return next;
  }
}
