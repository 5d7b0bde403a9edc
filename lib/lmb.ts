/**
 * U-Boot 2023.01's logical memory blocks (lib/lmb.c): two sorted region tables, `memory` (the RAM
 * banks) and `reserved` (what must not be overwritten), each holding at most
 * {@linkcode LMB_MAX_REGIONS} regions. `load` asks {@linkcode Lmb.allocAddr} whether a file may be
 * read to an address; `booti` places the kernel, ramdisk and device tree with the same table.
 *
 * 2023.01 rules kept here (later U-Boots changed them):
 * - `lmb_add_region`: a region equal (same base and size) to one in the table succeeds when the flags
 *   match and fails when they do not; a region adjacent to one with the same flags is merged into the
 *   first such neighbour; any overlap fails. Otherwise it is inserted in address order.
 * - the table is built afresh for every `load` (`lmb_init_and_reserve`), so reservations of earlier
 *   loads do not count.
 *
 * Addresses and sizes are `phys_addr_t`/`phys_size_t`: unsigned 64-bit, carried as bigints and
 * wrapping as the C arithmetic does.
 *
 * @example
 * ```ts
 * import { Lmb } from "./lmb.ts";
 *
 * const lmb = new Lmb();
 * lmb.add(0x40000000n, 0x20000000n);
 * lmb.reserve(0x5e000000n, 0x2000000n);
 * console.log(lmb.allocAddr(0x40400000n, 0x100000n).toString(16)); // "40400000"
 * console.log(lmb.allocAddr(0x5df00000n, 0x200000n)); // 0n: would overwrite reserved memory
 * ```
 *
 * @module
 */

import type { BoardInfo } from "../board/board_info.ts";
import { hex } from "./display_options.ts";

/** `LMB_NONE`: an ordinary reservation. */
export const LMB_NONE = 0;
/** `LMB_NOMAP`: a `no-map` reserved-memory node (`BIT(1)`). */
export const LMB_NOMAP = 1 << 1;
/** `CONFIG_LMB_MAX_REGIONS` (with `LMB_USE_MAX_REGIONS`): regions per table. */
export const LMB_MAX_REGIONS = 8;
/** `LMB_ALLOC_ANYWHERE`: no upper limit for {@linkcode Lmb.allocBase}. */
export const LMB_ALLOC_ANYWHERE = 0n;
/** `CONFIG_NR_DRAM_BANKS` of both builds: lmb's memory is the first RAM bank only. */
export const NR_DRAM_BANKS = 1;

const U64_MASK = (1n << 64n) - 1n;

/** One region: `[base, base + size)` with its flags. */
export interface LmbRegion {
  /** First address. */
  base: bigint;
  /** Size in bytes. */
  size: bigint;
  /** `LMB_NONE` or `LMB_NOMAP`. */
  flags: number;
}

/** `base + size` as `phys_addr_t` arithmetic (modulo 2^64). */
function _add(a: bigint, b: bigint): bigint {
  return (a + b) & U64_MASK;
}

/** `a - b` modulo 2^64. */
function _sub(a: bigint, b: bigint): bigint {
  return (a - b) & U64_MASK;
}

/** `lmb_addrs_overlap`: the inclusive ends compared, as U-Boot does. */
function _overlap(base1: bigint, size1: bigint, base2: bigint, size2: bigint): boolean {
  const end1 = _sub(_add(base1, size1), 1n);
  const end2 = _sub(_add(base2, size2), 1n);
  return base1 <= end2 && base2 <= end1;
}

/** `lmb_addrs_adjacent`: 1 when region 2 starts where 1 ends, -1 when 1 starts where 2 ends. */
function _adjacent(base1: bigint, size1: bigint, base2: bigint, size2: bigint): number {
  if (base2 === _add(base1, size1)) return 1;
  if (base1 === _add(base2, size2)) return -1;
  return 0;
}

/** `lmb_align_down(addr, size)`: `addr & ~(size - 1)`. */
function _alignDown(addr: bigint, align: bigint): bigint {
  return addr & ~_sub(align, 1n) & U64_MASK;
}

/** One region table (`struct lmb_region`). */
class _RegionTable {
  readonly regions: LmbRegion[] = [];

  /** `lmb_overlaps_region`: index of the first region overlapping `[base, base+size)`, or -1. */
  overlaps(base: bigint, size: bigint): number {
    return this.regions.findIndex((r) => _overlap(base, size, r.base, r.size));
  }

  /** `lmb_add_region_flags` (see the module doc); returns U-Boot's result (< 0 on failure). */
  add(base: bigint, size: bigint, flags: number): number {
    const regions = this.regions;
    if (regions.length === 0) {
      regions.push({ base, size, flags });
      return 0;
    }
    let coalesced = 0;
    let i = 0;
    for (; i < regions.length; i++) {
      const r = regions[i]!;
      if (r.base === base && r.size === size) return r.flags === flags ? 0 : -1;
      const adjacent = _adjacent(base, size, r.base, r.size);
      if (adjacent > 0) {
        if (flags !== r.flags) break;
        r.base = _sub(r.base, size);
        r.size = _add(r.size, size);
        coalesced++;
        break;
      } else if (adjacent < 0) {
        if (flags !== r.flags) break;
        r.size = _add(r.size, size);
        coalesced++;
        break;
      } else if (_overlap(base, size, r.base, r.size)) {
        return -1;
      }
    }
    const here = regions[i];
    const next = regions[i + 1];
    if (
      here !== undefined && next !== undefined && _adjacent(here.base, here.size, next.base, next.size) > 0
    ) {
      if (here.flags === next.flags) {
        here.size = _add(here.size, next.size);
        regions.splice(i + 1, 1);
        coalesced++;
      }
    }
    if (coalesced) return coalesced;
    if (regions.length >= LMB_MAX_REGIONS) return -1;
    let at = regions.length;
    while (at > 0 && base < regions[at - 1]!.base) at--;
    regions.splice(at, 0, { base, size, flags });
    return 0;
  }
}

/** The two tables of U-Boot's `struct lmb`. */
export class Lmb {
  readonly #memory = new _RegionTable();
  readonly #reserved = new _RegionTable();

  /** The memory regions, in address order (copies). */
  get memory(): LmbRegion[] {
    return this.#memory.regions.map((r) => ({ ...r }));
  }

  /** The reserved regions, in address order (copies). */
  get reserved(): LmbRegion[] {
    return this.#reserved.regions.map((r) => ({ ...r }));
  }

  /** `lmb_add`: declares RAM. Returns U-Boot's result (< 0 when refused). */
  add(base: bigint, size: bigint): number {
    return this.#memory.add(base, size, LMB_NONE);
  }

  /** `lmb_reserve_flags` (`lmb_reserve` with `LMB_NONE`). Returns U-Boot's result (< 0 when refused). */
  reserve(base: bigint, size: bigint, flags: number = LMB_NONE): number {
    return this.#reserved.add(base, size, flags);
  }

  /**
   * Puts `region` into the reserved table as it is, without U-Boot's merge rules: for a table whose
   * end state is known (the board's start-up reservations, see {@linkcode lmbFromBoard}).
   */
  insertReserved(region: LmbRegion): void {
    if (this.#reserved.regions.length >= LMB_MAX_REGIONS) {
      throw new RangeError(`Cannot insert lmb region: the table holds ${LMB_MAX_REGIONS} regions`);
    }
    const regions = this.#reserved.regions;
    let at = regions.length;
    while (at > 0 && region.base < regions[at - 1]!.base) at--;
    regions.splice(at, 0, { ...region });
  }

  /**
   * `lmb_alloc_addr`: reserves exactly `[base, base + size)` when it lies in one memory region and
   * the reservation is accepted. Returns `base`, or 0n when it does not fit.
   */
  allocAddr(base: bigint, size: bigint): bigint {
    const rgn = this.#memory.overlaps(base, size);
    if (rgn < 0) return 0n;
    const bank = this.#memory.regions[rgn]!;
    if (!_overlap(bank.base, bank.size, _sub(_add(base, size), 1n), 1n)) return 0n;
    return this.reserve(base, size) >= 0 ? base : 0n;
  }

  /** `lmb_alloc(size, align)`: the highest free, aligned place anywhere. 0n when there is none. */
  alloc(size: bigint, align: bigint): bigint {
    return this.allocBase(size, align, LMB_ALLOC_ANYWHERE);
  }

  /**
   * `__lmb_alloc_base(size, align, max_addr)`: the highest free `align`-aligned area of `size`
   * bytes ending at or below `maxAddr` ({@linkcode LMB_ALLOC_ANYWHERE}: no limit), reserved and
   * returned; 0n when none is free. (`lmb_alloc_base` adds a message on failure; callers print it.)
   */
  allocBase(size: bigint, align: bigint, maxAddr: bigint): bigint {
    const memory = this.#memory.regions;
    for (let i = memory.length - 1; i >= 0; i--) {
      const bank = memory[i]!;
      if (bank.size < size) continue;
      let base: bigint;
      if (maxAddr === LMB_ALLOC_ANYWHERE) {
        base = _alignDown(_sub(_add(bank.base, bank.size), size), align);
      } else if (bank.base < maxAddr) {
        base = _add(bank.base, bank.size);
        if (base < bank.base) base = U64_MASK;
        if (maxAddr < base) base = maxAddr;
        base = _alignDown(_sub(base, size), align);
      } else {
        continue;
      }
      // Each step moves below a reserved region, so the walk ends within the table's size.
      for (let step = 0; base !== 0n && bank.base <= base && step <= LMB_MAX_REGIONS + 1; step++) {
        const rgn = this.#reserved.overlaps(base, size);
        if (rgn < 0) return this.#reserved.add(base, size, LMB_NONE) < 0 ? 0n : base;
        const resBase = this.#reserved.regions[rgn]!.base;
        if (resBase < size) break;
        base = _alignDown(resBase - size, align);
      }
    }
    return 0n;
  }

  /**
   * `lmb_free`: gives back `[base, base + size)`, which must lie inside one reserved region (cut
   * from its front, its end, or split in two). Returns U-Boot's result (-1 when no region holds it).
   */
  free(base: bigint, size: bigint): number {
    const regions = this.#reserved.regions;
    const end = _sub(_add(base, size), 1n);
    const i = regions.findIndex((r) => r.base <= base && end <= _sub(_add(r.base, r.size), 1n));
    if (i < 0) return -1;
    const r = regions[i]!;
    const rEnd = _sub(_add(r.base, r.size), 1n);
    if (r.base === base && rEnd === end) {
      regions.splice(i, 1);
      return 0;
    }
    if (r.base === base) {
      r.base = _add(end, 1n);
      r.size = _sub(r.size, size);
      return 0;
    }
    if (rEnd === end) {
      r.size = _sub(r.size, size);
      return 0;
    }
    r.size = _sub(base, r.base);
    return this.#reserved.add(_add(end, 1n), _sub(rEnd, end), r.flags);
  }

  /** `lmb_get_free_size`: free bytes from `addr` up to the next reserved region (0 when reserved). */
  getFreeSize(addr: bigint): bigint {
    if (this.#memory.overlaps(addr, 1n) < 0) return 0n;
    for (const r of this.#reserved.regions) {
      if (addr < r.base) return r.base - addr;
      if (_add(r.base, r.size) > addr) return 0n;
    }
    const last = this.#memory.regions[this.#memory.regions.length - 1]!;
    return _sub(_add(last.base, last.size), addr);
  }

  /** `lmb_is_reserved_flags`: `addr` is in a reserved region carrying every bit of `flags`. */
  isReservedFlags(addr: bigint, flags: number): boolean {
    for (const r of this.#reserved.regions) {
      if (addr >= r.base && addr <= _sub(_add(r.base, r.size), 1n)) return (r.flags & flags) === flags;
    }
    return false;
  }

  /** `lmb_is_reserved`: `addr` is in a reserved region. */
  isReserved(addr: bigint): boolean {
    return this.isReservedFlags(addr, LMB_NONE);
  }

  /** `lmb_dump_all_force`: the text U-Boot prints (`bdinfo` shows it). */
  dump(): string {
    return "lmb_dump_all:\n" + _dumpRegions("memory", this.#memory.regions) +
      _dumpRegions("reserved", this.#reserved.regions);
  }
}

/** `lmb_dump_region`: ` name.cnt  = 0x%lx`, then `[base-end], size bytes flags: f` per region. */
function _dumpRegions(name: string, regions: readonly LmbRegion[]): string {
  let text = ` ${name}.cnt  = 0x${hex(regions.length)}\n`;
  regions.forEach((r, i) => {
    text += ` ${name}[${i}]\t[0x${hex(r.base)}-0x${hex(_sub(_add(r.base, r.size), 1n))}], ` +
      `0x${hex(r.size, 8)} bytes flags: ${hex(r.flags)}\n`;
  });
  return text;
}

/**
 * `lmb_init_and_reserve` for `board`: memory is the first {@linkcode NR_DRAM_BANKS} RAM bank(s) as
 * `gd->bd->bi_dram` holds them, reserved is `board.reserved` (U-Boot's own area, stack and EFI
 * allocations as board/board_setup.ts computes them), taken as the table's end state.
 *
 * @example
 * ```ts
 * import { lmbFromBoard } from "./lmb.ts";
 * import { computeBoardInfo } from "../board/board_setup.ts";
 *
 * const board = computeBoardInfo({
 *   banks: [{ start: 0x40000000, size: 0x20000000 }],
 *   fdtSize: 0x100000,
 *   model: "linux,dummy-virt",
 *   profile: "default",
 * });
 * const lmb = lmbFromBoard(board);
 * console.log(lmb.allocAddr(0x5ff00000n, 0x100000n)); // 0n: U-Boot lives there
 * ```
 */
export function lmbFromBoard(board: Pick<BoardInfo, "banks" | "reserved">): Lmb {
  const lmb = new Lmb();
  for (const bank of board.banks.slice(0, NR_DRAM_BANKS)) {
    if (bank.size > 0) lmb.add(BigInt(bank.start), BigInt(bank.size));
  }
  for (const area of board.reserved) {
    lmb.insertReserved({ base: BigInt(area.start), size: BigInt(area.size), flags: LMB_NONE });
  }
  return lmb;
}
