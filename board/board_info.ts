/**
 * The board as U-Boot's global data (`gd`) and board info (`bd`) describe it after start-up: RAM banks
 * from the device tree, U-Boot's own relocation at the top of the first bank, the control FDT.
 *
 * @module
 */

/** A RAM bank. */
export interface RamBank {
  /** Guest-physical start. */
  start: number;
  /** Size in bytes. */
  size: number;
}

/** A memory area U-Boot keeps for itself (code, heap, stack, its copy of the FDT). */
export interface ReservedArea {
  /** First byte. */
  start: number;
  /** Size in bytes. */
  size: number;
}

/** Which build of U-Boot the session behaves as. */
export type BoardProfileName = "default" | "xenguest";

/**
 * `CONFIG_SYS_LOAD_ADDR` of each build (qemu_arm64: 0x40200000; xenguest_arm64: 0x40000000): the
 * default address of `load`, `source` and `booti` when neither an argument nor `loadaddr` says.
 */
export const SYS_LOAD_ADDR: Readonly<Record<BoardProfileName, number>> = {
  default: 0x40200000,
  xenguest: 0x40000000,
};

/** U-Boot's view of the board after start-up. */
export interface BoardInfo {
  /** Which profile (command set, parser, environment). */
  readonly profile: BoardProfileName;
  /** `gd->ram_base`: start of the first bank. */
  readonly ramBase: number;
  /** `gd->ram_size`: size of the first bank. */
  readonly ramSize: number;
  /** `gd->ram_top`: end of the area U-Boot relocates into. */
  readonly ramTop: number;
  /** Every RAM bank the device tree lists (U-Boot itself takes only the first). */
  readonly banks: readonly RamBank[];
  /** `gd->relocaddr`: where U-Boot's code runs after relocation. */
  readonly relocAddr: number;
  /** `gd->reloc_off`. */
  readonly relocOff: number;
  /** `gd->start_addr_sp`: the initial stack pointer after relocation. */
  readonly startAddrSp: number;
  /** `gd->fdt_blob`: U-Boot's relocated copy of the control FDT (`fdtcontroladdr`). */
  readonly fdtBlob: number;
  /** Size of the control FDT copy. */
  readonly fdtSize: number;
  /** Start of U-Boot's malloc area (`mem_malloc_start`), below its relocated code. */
  readonly heapStart: number;
  /** Size of the malloc area (`SYS_MALLOC_LEN` plus the environment buffer). */
  readonly heapSize: number;
  /** Areas a `load` must not overwrite (from the stack down to the end of RAM, as lmb reserves). */
  readonly reserved: readonly ReservedArea[];
  /** The device tree's `model`. */
  readonly model: string;
}
