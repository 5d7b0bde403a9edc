/**
 * The block layer (U-Boot's blk uclass): the {@linkcode BlockDevice} seam that PV block, in-memory
 * and host-file disks implement, the {@linkcode BlockRegistry} that finds them by `<interface> <dev>`,
 * and `dev_print`. Guest code: no host I/O here.
 *
 * @example
 * ```ts
 * import { BlockRegistry, formatDevice, MemoryBlockDevice } from "./mod.ts";
 *
 * const blk = new BlockRegistry();
 * blk.register(new MemoryBlockDevice({ ifType: "pvblock", devnum: 0, lba: 32768 }));
 * console.log(formatDevice(blk.get("pvblock", 0)!));
 * ```
 *
 * @module
 */

export * from "./block_device.ts";
export * from "./block_interface.ts";
export * from "./block_registry.ts";
export * from "./dev_print.ts";
export * from "./memory_block_device.ts";
