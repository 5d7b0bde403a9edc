/**
 * The FAT entry of the filesystem table (U-Boot's `fstypes[]` "fat"): probing is `fat_set_blk_dev`.
 *
 * @example
 * ```ts
 * import { FAT_DRIVER } from "./fat_driver.ts";
 * import { MemoryBlockDevice } from "../../drivers/blk/memory_block_device.ts";
 * import { wholeDiskInfo } from "../../disk/part.ts";
 *
 * const dev = new MemoryBlockDevice({ lba: 8 });
 * console.log(await FAT_DRIVER.probe({ dev, part: 0, info: wholeDiskInfo(dev) })); // undefined
 * ```
 *
 * @module
 */

import type { FsDriver, FsPartition, FsVolume } from "../fs_driver.ts";
import { FAT_TYPE_NAME, FatVolume } from "./fat_volume.ts";

/** The FAT driver. */
export const FAT_DRIVER: FsDriver = {
  name: FAT_TYPE_NAME,
  probe(partition: FsPartition): Promise<FsVolume | undefined> {
    return FatVolume.mount(partition);
  },
};
