/**
 * The ext2/ext3/ext4 {@linkcode FsDriver} (U-Boot's `ext4fs_probe` + `ext4fs_mount`): a partition is
 * ext when its superblock has the magic 0xEF53 and the root directory's inode can be read. Anything
 * else (another filesystem, unusable geometry, a failing device) is `undefined`, quietly, as U-Boot's
 * probe fails. The volume prints U-Boot's messages from inside the ext4 code to the partition's
 * `out`. Every command probes again, so nothing is kept between commands.
 *
 * @example
 * ```ts
 * import { EXT4_DRIVER } from "./driver.ts";
 * import { MemoryBlockDevice } from "../../drivers/blk/memory_block_device.ts";
 *
 * const dev = new MemoryBlockDevice({ lba: 64 });
 * const info = { start: 0n, size: 64n, blksz: 512, name: "", type: "U-Boot", bootable: 0, uuid: "", sysInd: 0 };
 * console.log(await EXT4_DRIVER.probe({ dev, part: 0, info })); // undefined: no superblock
 * ```
 *
 * @module
 */

import { FsCorruptError, type FsDriver, FsError, type FsPartition } from "../fs_driver.ts";
import { EXT2_ROOT_INO, Ext4Fs } from "./filesystem.ts";
import { Ext4Volume } from "./volume.ts";

/** Mounts `partition`, or `undefined` when it holds no usable ext filesystem. */
export async function mountExt4(partition: FsPartition): Promise<Ext4Volume | undefined> {
  try {
    const fs = await Ext4Fs.mount(partition);
    if (fs === undefined) return undefined;
    await fs.readInode(EXT2_ROOT_INO);
    return new Ext4Volume(fs, partition.out);
  } catch (e) {
    if (e instanceof FsError || e instanceof FsCorruptError) return undefined;
    throw e;
  }
}

/** The ext4 driver (it reads ext2 and ext3 too; `fstype` calls them all `ext4`). */
export const EXT4_DRIVER: FsDriver = {
  name: "ext4",
  probe: mountExt4,
};
