/**
 * Filesystems (U-Boot's fs/): the {@linkcode FsDriver} seam the FAT and ext4 drivers implement, and
 * the generic layer ({@linkcode FsLayer}) that mounts a partition with the first driver recognising
 * it and runs `ls`, `load`, `size`, `fstype` and `test -e` over it.
 *
 * @example
 * ```ts
 * import { FsLayer, printLoadResult } from "./mod.ts";
 * import { PartitionLayer } from "../disk/mod.ts";
 * import { BlockRegistry } from "../drivers/blk/mod.ts";
 *
 * const layer = new FsLayer({ blk: new BlockRegistry(), parts: new PartitionLayer(), drivers: [] });
 * console.log(layer.drivers.length); // 0
 * printLoadResult({ puts: (t: string) => console.log(t.trimEnd()) }, 1n, 1); // 1 bytes read in 1 ms (1000 Bytes/s)
 * ```
 *
 * @module
 */

export * from "./fs_driver.ts";
export * from "./fs.ts";
