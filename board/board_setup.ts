/**
 * U-Boot's start-up figures: where U-Boot 2023.01 (arm64) relocates itself, its heap, board info,
 * global data, control-FDT copy and stack, computed the way common/board_f.c's reservation sequence
 * does for the first RAM bank, and the areas its lmb later refuses to load over.
 *
 * The sequence (top of bank 0 downwards):
 * `setup_dest_addr` (ram_top = end of bank 0) → `reserve_round_4k` → `arch_reserve_mmu` (page tables
 * sized by arm64's `get_page_table_size`, start rounded down to 64 KiB) → `reserve_uboot` (`mon_len`,
 * rounded down to 4 KiB) → `reserve_malloc` (`SYS_MALLOC_LEN + ENV_SIZE`) → `reserve_board` (bd_info)
 * → `reserve_global_data` (gd_t) → `reserve_fdt` (the control DTB, size rounded up to 32) →
 * `reserve_stacks` (16 bytes, 16-byte aligned). Every `reserve_stack_aligned` step rounds down to 16.
 * No video, trace, bootstage or bloblist area exists in either build.
 *
 * Calibration (the figures that cannot be read from a source file are named below and were chosen so
 * that the real transcripts come out exactly):
 * - qemu_arm64 (the `default` profile), 512 MiB: `fdtcontroladdr=5edb6db0` (goldens/06-env) with
 *   QEMU's 1 MiB control DTB needs `mon_len` in (0xf8000, 0xf9000]; the 4 GiB example of U-Boot's
 *   doc/usage/cmd/bdinfo.rst (relocaddr 0x13fefb000, fdt_blob 0x13edbadb0) confirms the sequence
 *   with the `ENV_SIZE` (0x40000) added to the heap and 0x250 bytes of bd_info + gd_t.
 * - xenguest_arm64, 1536 MiB: `fdtcontroladdr=9df75840` (xenguest/board-session.txt) needs
 *   `mon_len` in (0x5a000, 0x5b000] (its u-boot.bin is 318552 bytes, plus bss), and then gd_t and
 *   the DTB copy must take 0x720 bytes together: with a gd_t 16 bytes smaller than qemu_arm64's
 *   (xenguest enables fewer features), a Xen DTB of 0x561..0x580 bytes. Both are assumptions.
 * - lmb: `load` and `booti` see U-Boot's EFI memory map reserved from
 *   `(start_addr_sp - STACK_SIZE) & ~0xfff` less the pages EFI allocated during start-up (12 pages
 *   make goldens/10-booti's `Loading Device Tree to 5dda6000` and `Loading Ramdisk to 5dcaa000` come
 *   out), and `arch_lmb_reserve`'s area from the current stack pointer less 16 KiB.
 *
 * @module
 */

import type { BoardInfo, BoardProfileName, RamBank, ReservedArea } from "./board_info.ts";

/** 4 KiB: pages, `reserve_round_4k`, `reserve_uboot`, EFI pages. */
const PAGE_SIZE = 0x1000;
/** `arm_reserve_mmu` rounds the page-table area down to 64 KiB. */
const TLB_ALIGN = 0x10000;
/** `reserve_stack_aligned` rounds every reservation down to 16 bytes. */
const STACK_ALIGN = 16;
/** `reserve_fdt` rounds the control DTB's size up to 32 bytes. */
const FDT_SIZE_ALIGN = 32;
/** `reserve_stacks` takes 16 bytes before aligning. */
const STACK_RESERVE = 16;
/** `sizeof(struct bd_info)` on arm64 with one DRAM bank (14 longs, MAC + speed, one bank). */
const BD_INFO_SIZE = 0x98;
/** `arch_lmb_reserve`: arm reserves from 16 KiB below the current stack pointer. */
const LMB_STACK_MARGIN = 0x4000;
/**
 * How far below `start_addr_sp` the stack pointer is while `bdinfo` (or `load`) builds its lmb:
 * 0x470 in doc/usage/cmd/bdinfo.rst (sp start 0x13edbada0, reserved[1] at 0x13edb6930 + 16 KiB).
 */
const COMMAND_STACK_DEPTH = 0x470;

/** Xen guest layout (xen-spec §2.1/2.2): grant table and the console and XenStore magic pages. */
const GUEST_GNTTAB_BASE = 0x38000000;
const GUEST_GNTTAB_SIZE = 0x01000000;
const GUEST_CONSOLE_PAGE = 0x39000000;
const GUEST_XENSTORE_PAGE = 0x39001000;

/** arm64 page-table geometry (cache_v8.c): 512 entries of 8 bytes per 4 KiB table. */
const MAX_PTE_ENTRIES = 512n;
const PTE_BYTES = 8n;
/** Tables kept beyond the primary + emergency copies ("reserve up to 4 (random pick)"). */
const SPARE_PAGE_TABLES = 4n;

/** The configuration figures of one U-Boot build that the reservation sequence uses. */
export interface BoardProfileFigures {
  /** `CONFIG_TEXT_BASE` (link address; `reloc_off = relocaddr - TEXT_BASE`). */
  readonly textBase: number;
  /** `CONFIG_SYS_MALLOC_LEN`. */
  readonly mallocLen: number;
  /** `CONFIG_ENV_SIZE`, added to the heap (`TOTAL_MALLOC_LEN`) as both builds configure it. */
  readonly envSize: number;
  /** `CONFIG_STACK_SIZE`: the stack EFI's memory map keeps below `start_addr_sp`. */
  readonly stackSize: number;
  /** `gd->mon_len` (code + data + bss) of the build the transcripts came from (calibrated). */
  readonly monLen: number;
  /** `sizeof(gd_t)` (calibrated: depends on the build's options). */
  readonly globalDataSize: number;
  /** `CONFIG_SYS_MALLOC_F_LEN`: the pre-relocation heap. */
  readonly earlyMallocLen: number;
  /** `gd->malloc_ptr` after start-up: bytes of the pre-relocation heap used (assumed). */
  readonly earlyMallocUsed: number;
  /** EFI pages allocated below U-Boot's region during start-up (calibrated on goldens/10-booti). */
  readonly efiEarlyPages: number;
}

/** The figures of the two builds pvboot behaves as. */
export const PROFILE_FIGURES: Readonly<Record<BoardProfileName, BoardProfileFigures>> = {
  // qemu_arm64_defconfig (Debian 2023.01+dfsg-2+deb12u3): runs from flash at 0, 16 MiB heap,
  // environment in flash (0x40000). Early malloc figures from doc/usage/cmd/bdinfo.rst.
  default: {
    textBase: 0x00000000,
    mallocLen: 0x1000000,
    envSize: 0x40000,
    stackSize: 0x1000000,
    monLen: 0xf9000,
    globalDataSize: 0x1b0, // bd_info + gd_t = 0x250 in both qemu calibration points
    earlyMallocLen: 0x2000,
    earlyMallocUsed: 0x3a8,
    efiEarlyPages: 12,
  },
  // xenguest_arm64_defconfig: TEXT_BASE 0x40080000, 32 MiB heap, ENV_SIZE 0x1f000, MALLOC_F 0x400.
  // earlyMallocUsed is not observable on the real board (it has no bdinfo): assumed.
  xenguest: {
    textBase: 0x40080000,
    mallocLen: 0x2000000,
    envSize: 0x1f000,
    stackSize: 0x1000000,
    monLen: 0x5b000,
    globalDataSize: 0x1a0,
    earlyMallocLen: 0x400,
    earlyMallocUsed: 0x1c8,
    efiEarlyPages: 12,
  },
};

/** What the board's start-up depends on. */
export interface BoardSetupInput {
  /** RAM banks from the device tree, in order (U-Boot relocates into the first). */
  readonly banks: readonly RamBank[];
  /** `totalsize` of the control DTB (the one Xen hands over in x0). */
  readonly fdtSize: number;
  /** The device tree's `model`. */
  readonly model: string;
  /** Which build to behave as. */
  readonly profile: BoardProfileName;
  /** `gd->mon_len` override (default: the profile's calibrated figure). */
  readonly ubootSize?: number;
  /** Override of the EFI start-up page count (default: the profile's). */
  readonly efiEarlyPages?: number;
}

/** One region of the MMU map (`struct mm_region`), identity-mapped. */
export interface MmuRegion {
  /** Start address. */
  readonly start: number;
  /** Size in bytes (non-zero). */
  readonly size: number;
}

/** Figures `bdinfo` prints that {@linkcode BoardInfo} does not carry; derived from it. */
export interface StartupFigures {
  /** `gd->arch.tlb_addr`. */
  readonly tlbAddr: number;
  /** `gd->arch.tlb_size`. */
  readonly tlbSize: number;
  /** `gd->irq_sp` (arm64: the same as `start_addr_sp`). */
  readonly irqSp: number;
  /** `CONFIG_SYS_MALLOC_F_LEN`. */
  readonly earlyMallocLen: number;
  /** `gd->malloc_ptr`. */
  readonly earlyMallocUsed: number;
}

/** The board cannot host U-Boot: RAM missing or too small for its reservations. */
export class BoardSetupError extends RangeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "BoardSetupError";
  }
}

function _alignDown(value: number, align: number): number {
  return value - (value % align);
}

function _alignUp(value: number, align: number): number {
  return _alignDown(value + align - 1, align);
}

/** `reserve_stack_aligned(bytes)`. */
function _reserveAligned(sp: number, bytes: number): number {
  return _alignDown(sp - bytes, STACK_ALIGN);
}

/**
 * The MMU map xenguest_arm64's `setup_mem_map` builds: the console and XenStore pages, the grant
 * table, then every RAM bank (virtio regions are not configured).
 *
 * @example
 * ```ts
 * import { xenMemMap } from "./board_setup.ts";
 * console.log(xenMemMap([{ start: 0x40000000, size: 0x20000000 }]).length); // 4
 * ```
 */
export function xenMemMap(banks: readonly RamBank[]): MmuRegion[] {
  return [
    { start: GUEST_CONSOLE_PAGE, size: PAGE_SIZE },
    { start: GUEST_XENSTORE_PAGE, size: PAGE_SIZE },
    { start: GUEST_GNTTAB_BASE, size: GUEST_GNTTAB_SIZE },
    ...banks.filter((bank) => bank.size > 0).map((bank) => ({ start: bank.start, size: bank.size })),
  ];
}

/** `level2shift(level)`: the address bits one entry of a table at `level` covers. */
function _levelShift(level: number): bigint {
  return BigInt(12 + 9 * (3 - level));
}

/** cache_v8.c `count_required_pts`: page tables needed below a PTE at `level` covering `addr`. */
function _countRequiredTables(
  map: readonly { start: bigint; end: bigint }[],
  addr: bigint,
  level: number,
  maxAddr: bigint,
): bigint {
  const levelSize = 1n << _levelShift(level);
  const levelEnd = addr + levelSize;
  let kind: "invalid" | "block" | "table" = "invalid";
  for (const region of map) {
    const start = region.start > addr ? region.start : addr;
    const end = region.end < levelEnd ? region.end : levelEnd;
    if (start > end) continue;
    if (start % levelSize !== 0n || end % levelSize !== 0n || level <= 0) {
      kind = "table";
      break;
    }
    kind = "block";
  }
  if (kind !== "table") return 0n;
  const subSize = 1n << _levelShift(level + 1);
  let count = 1n;
  let sub = addr;
  for (let i = 0n; i < MAX_PTE_ENTRIES; i++) {
    count += _countRequiredTables(map, sub, level + 1, maxAddr);
    sub += subSize;
    if (sub >= maxAddr) break;
  }
  return count;
}

/** `get_tcr`'s choice of virtual-address bits for the highest address of the map. */
function _vaBits(maxAddr: bigint): number {
  const limits: [number, number][] = [[44, 48], [42, 44], [40, 42], [36, 40], [32, 36]];
  for (const [bits, va] of limits) if (maxAddr > 1n << BigInt(bits)) return va;
  return 32;
}

/**
 * arm64's `get_page_table_size()`: the page tables the map needs, twice (primary and emergency), plus
 * four spare tables, in bytes.
 *
 * @example
 * ```ts
 * import { pageTableSize, xenMemMap } from "./board_setup.ts";
 * console.log(pageTableSize(xenMemMap([{ start: 0x40000000, size: 0x60000000 }]))); // 49152
 * ```
 */
export function pageTableSize(regions: readonly MmuRegion[]): number {
  const map = regions.map((r) => ({ start: BigInt(r.start), end: BigInt(r.start) + BigInt(r.size) }));
  const maxAddr = map.reduce((max, r) => (r.end > max ? r.end : max), 0n);
  const vaBits = _vaBits(maxAddr);
  const startLevel = vaBits < 39 ? 1 : 0;
  const oneTable = MAX_PTE_ENTRIES * PTE_BYTES;
  const tables = _countRequiredTables(map, 0n, startLevel - 1, 1n << BigInt(vaBits));
  return Number(oneTable * tables * 2n + oneTable * SPARE_PAGE_TABLES);
}

/** The first bank, checked. */
function _firstBank(banks: readonly RamBank[]): RamBank {
  const bank = banks[0];
  if (bank === undefined || bank.size <= 0) {
    throw new BoardSetupError("Cannot compute board info: no RAM bank");
  }
  if (!Number.isSafeInteger(bank.start) || !Number.isSafeInteger(bank.start + bank.size)) {
    throw new BoardSetupError(
      `Cannot compute board info: bank 0 at 0x${bank.start.toString(16)} out of range`,
    );
  }
  return bank;
}

/** `tlb_addr` and `tlb_size` for a board whose first bank ends at `ramTop`. */
function _tlb(banks: readonly RamBank[], ramTop: number): { tlbAddr: number; tlbSize: number } {
  const tlbSize = pageTableSize(xenMemMap(banks));
  return { tlbAddr: _alignDown(_alignDown(ramTop, PAGE_SIZE) - tlbSize, TLB_ALIGN), tlbSize };
}

/**
 * Computes U-Boot's view of the board after start-up (see the module documentation for the sequence
 * and the calibrated figures).
 *
 * @example
 * ```ts
 * import { computeBoardInfo } from "./board_setup.ts";
 * const board = computeBoardInfo({
 *   banks: [{ start: 0x40000000, size: 0x60000000 }],
 *   fdtSize: 0x578,
 *   model: "XENVM-4.17",
 *   profile: "xenguest",
 * });
 * console.log(board.fdtBlob.toString(16)); // "9df75840"
 * ```
 */
export function computeBoardInfo(input: BoardSetupInput): BoardInfo {
  const figures = PROFILE_FIGURES[input.profile];
  const bank = _firstBank(input.banks);
  const monLen = input.ubootSize ?? figures.monLen;
  const efiPages = input.efiEarlyPages ?? figures.efiEarlyPages;
  if (!(input.fdtSize > 0) || !(monLen > 0) || !(efiPages >= 0)) {
    throw new BoardSetupError("Cannot compute board info: sizes must be positive");
  }
  const ramTop = bank.start + bank.size;
  const { tlbAddr } = _tlb(input.banks, ramTop);
  const relocAddr = _alignDown(tlbAddr - monLen, PAGE_SIZE);
  let sp = _reserveAligned(relocAddr, figures.mallocLen + figures.envSize);
  const heapStart = sp;
  sp = _reserveAligned(sp, BD_INFO_SIZE);
  sp = _reserveAligned(sp, figures.globalDataSize);
  const fdtSize = _alignUp(input.fdtSize, FDT_SIZE_ALIGN);
  const fdtBlob = _reserveAligned(sp, fdtSize);
  const startAddrSp = _reserveAligned(fdtBlob, STACK_RESERVE);
  const efiStart = _alignDown(startAddrSp - figures.stackSize, PAGE_SIZE) - efiPages * PAGE_SIZE;
  if (efiStart < bank.start) {
    throw new BoardSetupError(
      `Cannot compute board info: bank 0 (0x${bank.size.toString(16)} bytes) too small for U-Boot`,
    );
  }
  const stackArea = startAddrSp - COMMAND_STACK_DEPTH - LMB_STACK_MARGIN;
  const reserved: ReservedArea[] = [
    { start: efiStart, size: ramTop - efiStart },
    { start: stackArea, size: ramTop - stackArea },
  ];
  return {
    profile: input.profile,
    ramBase: bank.start,
    ramSize: bank.size,
    ramTop,
    banks: input.banks.map((b) => ({ start: b.start, size: b.size })),
    relocAddr,
    relocOff: relocAddr - figures.textBase,
    startAddrSp,
    fdtBlob,
    fdtSize,
    heapStart,
    heapSize: relocAddr - heapStart,
    reserved,
    model: input.model,
  };
}

/**
 * The start-up figures `bdinfo` prints beyond {@linkcode BoardInfo}: the page-table area (recomputed
 * from the banks), the IRQ stack, the early heap.
 *
 * @example
 * ```ts
 * import { computeBoardInfo, startupFigures } from "./board_setup.ts";
 * const board = computeBoardInfo({
 *   banks: [{ start: 0x40000000, size: 0x20000000 }],
 *   fdtSize: 0x100000,
 *   model: "linux,dummy-virt",
 *   profile: "default",
 * });
 * console.log(startupFigures(board).tlbAddr.toString(16)); // "5fff0000"
 * ```
 */
export function startupFigures(board: BoardInfo): StartupFigures {
  const figures = PROFILE_FIGURES[board.profile];
  const { tlbAddr, tlbSize } = _tlb(board.banks, board.ramTop);
  return {
    tlbAddr,
    tlbSize,
    irqSp: board.startAddrSp,
    earlyMallocLen: figures.earlyMallocLen,
    earlyMallocUsed: figures.earlyMallocUsed,
  };
}
