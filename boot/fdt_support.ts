/**
 * The boot-time FDT fixups of U-Boot 2023.01's boot/fdt_support.c that `fdt chosen` and `fdt memory`
 * run directly and `booti` runs before the handoff: `/chosen` (bootargs, `u-boot,version`, the initrd
 * and its reservation) and `/memory`. Messages are U-Boot's; the libfdt error of a failed step is
 * returned, as the C functions return it.
 *
 * @module
 */

import { type Fdt, FDT_ERR_NOTFOUND, FdtError, fdtU32, fdtU64 } from "../lib/fdt/mod.ts";

/** Where the fixups print their warnings. */
export interface FixupConsole {
  /** Prints a byte string. */
  puts(text: string): void;
}

/** `#address-cells` for which `fdt_setprop_uint` writes 64-bit values. */
const U64_ADDRESS_CELLS = 2;
/** Largest cell count `fdt_pack_reg` handles per number (two cells: 64 bits). */
const MAX_CELLS_PER_NUMBER = 2;
/** Bytes in one cell. */
const CELL_BYTES = 4;
const U64_MASK = (1n << 64n) - 1n;
const U32_MASK = 0xffffffffn;

/**
 * `fdt_find_or_add_subnode`: the child of `parent` called `name` (a name without `@unit` matches any
 * unit address), added when there is none.
 *
 * @example
 * ```ts
 * import { fdtFindOrAddSubnode } from "./fdt_support.ts";
 * import { Fdt } from "../lib/fdt/mod.ts";
 * const fdt = Fdt.createEmptyTree(256) as Fdt;
 * console.log(fdtFindOrAddSubnode(fdt, 0, "chosen") === fdtFindOrAddSubnode(fdt, 0, "chosen")); // true
 * ```
 */
export function fdtFindOrAddSubnode(fdt: Fdt, parent: number, name: string): number | FdtError {
  const found = fdt.subnodeOffset(parent, name);
  if (!(found instanceof FdtError) || found.code !== FDT_ERR_NOTFOUND) return found;
  return fdt.addSubnode(parent, name);
}

/** What `fdt_chosen` writes besides what the blob holds. */
export interface ChosenValues {
  /** `board_fdt_chosen_bootargs()`: the `bootargs` variable; nothing is written when unset. */
  bootargs: string | undefined;
  /** `PLAIN_VERSION`, the U-Boot version string (`u-boot,version`). */
  version: string;
}

/** A byte string (one character per byte) with its terminating NUL, as `strlen(s) + 1` bytes. */
function _cString(text: string): Uint8Array {
  const out = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * `fdt_chosen`: checks the header, finds or adds `/chosen`, sets `bootargs` (when the variable is set)
 * and `u-boot,version`. `fdt_fixup_stdout` does nothing: `OF_STDOUT_VIA_ALIAS` is off in both builds.
 *
 * @example
 * ```ts
 * import { fdtChosen } from "./fdt_support.ts";
 * import { Fdt } from "../lib/fdt/mod.ts";
 * const fdt = Fdt.createEmptyTree(512) as Fdt;
 * const err = fdtChosen(fdt, { puts: () => {} }, { bootargs: "console=hvc0", version: "2023.01" });
 * console.log(err); // undefined
 * ```
 */
export function fdtChosen(fdt: Fdt, console: FixupConsole, values: ChosenValues): FdtError | undefined {
  const header = fdt.checkHeader();
  if (header) {
    console.puts(`fdt_chosen: ${header.errName}\n`);
    return header;
  }
  const chosen = fdtFindOrAddSubnode(fdt, 0, "chosen");
  if (chosen instanceof FdtError) return chosen;
  if (values.bootargs !== undefined) {
    const err = fdt.setProp(chosen, "bootargs", _cString(values.bootargs));
    if (err) {
      console.puts(`WARNING: could not set bootargs ${err.errName}.\n`);
      return err;
    }
  }
  const err = fdt.setProp(chosen, "u-boot,version", _cString(values.version));
  if (err) {
    console.puts(`WARNING: could not set u-boot,version ${err.errName}.\n`);
    return err;
  }
  return undefined;
}

/** `fdt_setprop_uint`: a 64-bit value when `is64`, else the low 32 bits. */
function _uintValue(value: bigint, is64: boolean): Uint8Array {
  return is64 ? fdtU64(value & U64_MASK) : fdtU32(Number(value & U32_MASK));
}

/**
 * `fdt_initrd`: nothing when `start === end`; else finds or adds `/chosen`, replaces a reservation
 * starting at `start` by one of `end - start` bytes, and sets `linux,initrd-start` / `-end` (64-bit
 * when the root has `#address-cells = <2>`).
 *
 * @example
 * ```ts
 * import { fdtInitrd } from "./fdt_support.ts";
 * import { Fdt } from "../lib/fdt/mod.ts";
 * const fdt = Fdt.createEmptyTree(512) as Fdt;
 * fdtInitrd(fdt, { puts: () => {} }, 0x44000000n, 0x440fffffn);
 * console.log(fdt.numMemRsv()); // 1
 * ```
 */
export function fdtInitrd(fdt: Fdt, console: FixupConsole, start: bigint, end: bigint): FdtError | undefined {
  if (start === end) return undefined;
  const chosen = fdtFindOrAddSubnode(fdt, 0, "chosen");
  if (chosen instanceof FdtError) return chosen;
  const total = fdt.numMemRsv();
  const count = total instanceof FdtError ? 0 : total;
  for (let j = 0; j < count; j++) {
    const entry = fdt.getMemRsv(j);
    if (!(entry instanceof FdtError) && entry.address === start) {
      fdt.delMemRsv(j);
      break;
    }
  }
  const added = fdt.addMemRsv(start, (end - start) & U64_MASK);
  if (added) {
    console.puts(`fdt_initrd: ${added.errName}\n`);
    return added;
  }
  const is64 = fdt.addressCells(0) === U64_ADDRESS_CELLS;
  for (const [name, value] of [["linux,initrd-start", start], ["linux,initrd-end", end]] as const) {
    const err = fdt.setProp(chosen, name, _uintValue(value, is64));
    if (err) {
      console.puts(`WARNING: could not set ${name} ${err.errName}.\n`);
      return err;
    }
  }
  return undefined;
}

/**
 * `fdt_pack_reg` for one bank: address then size, each as 64 bits when its cell count is 2, else as
 * 32 bits in the first cell of its slot (the rest of a 3- or 4-cell slot stays zero, where U-Boot
 * leaves stack garbage); a 0-cell size takes no room.
 */
function _packReg(start: bigint, size: bigint, addressCells: number, sizeCells: number): Uint8Array {
  const out = new Uint8Array((addressCells + sizeCells) * CELL_BYTES);
  const view = new DataView(out.buffer);
  const put = (at: number, value: bigint, cells: number) => {
    if (cells === 0) return;
    if (cells === MAX_CELLS_PER_NUMBER) view.setBigUint64(at, value & U64_MASK, false);
    else view.setUint32(at, Number(value & U32_MASK), false);
  };
  put(0, start, addressCells);
  put(addressCells * CELL_BYTES, size, sizeCells);
  return out;
}

/**
 * `fdt_fixup_memory(blob, start, size)` (one bank): checks the header, finds or adds `/memory` (any
 * `memory@...` matches), sets `device_type = "memory"` and, unless start and size are both 0, `reg`
 * laid out by the root's `#address-cells` / `#size-cells`.
 *
 * @example
 * ```ts
 * import { fdtFixupMemory } from "./fdt_support.ts";
 * import { Fdt } from "../lib/fdt/mod.ts";
 * const fdt = Fdt.createEmptyTree(512) as Fdt;
 * console.log(fdtFixupMemory(fdt, { puts: () => {} }, 0x40000000n, 0x20000000n)); // undefined
 * ```
 */
export function fdtFixupMemory(
  fdt: Fdt,
  console: FixupConsole,
  start: bigint,
  size: bigint,
): FdtError | undefined {
  const header = fdt.checkHeader();
  if (header) {
    console.puts(`fdt_fixup_memory_banks: ${header.errName}\n`);
    return header;
  }
  const memory = fdtFindOrAddSubnode(fdt, 0, "memory");
  if (memory instanceof FdtError) return memory;
  const typeErr = fdt.setProp(memory, "device_type", _cString("memory"));
  if (typeErr) {
    console.puts(`WARNING: could not set device_type ${typeErr.errName}.\n`);
    return typeErr;
  }
  if (start === 0n && size === 0n) return undefined;
  // U-Boot packs `reg` with whatever count it got (garbage for a bad one); pvboot reports it instead.
  const addressCells = fdt.addressCells(0);
  if (addressCells instanceof FdtError) return _warnReg(console, addressCells);
  const sizeCells = fdt.sizeCells(0);
  if (sizeCells instanceof FdtError) return _warnReg(console, sizeCells);
  const regErr = fdt.setProp(memory, "reg", _packReg(start, size, addressCells, sizeCells));
  return regErr ? _warnReg(console, regErr) : undefined;
}

function _warnReg(console: FixupConsole, err: FdtError): FdtError {
  console.puts(`WARNING: could not set reg ${err.errName}.\n`);
  return err;
}
