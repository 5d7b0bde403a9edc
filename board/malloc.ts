/**
 * U-Boot's malloc area (`mem_malloc_start` .. `+ TOTAL_MALLOC_LEN`) as an allocator of guest-physical
 * address ranges: `memalign(align, size)`, `malloc(size)`, `free(address)`. First fit over an
 * address-ordered free list; freed blocks merge with free neighbours, so the area returns to one
 * block when everything is freed.
 *
 * The bookkeeping lives here, not in guest RAM: only the addresses handed out are guest memory, and
 * the allocator never reads or writes it (callers zero what they share: XSA-403). Drivers take their
 * page-aligned pages (shared_info, ring pages, bounce buffers) from here, as U-Boot's do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Malloc } from "./malloc.ts";
 *
 * const heap = new Malloc(0x9c000000, 0x100000);
 * const page = heap.memalign(0x1000, 0x1000);
 * assert.equal(page % 0x1000, 0);
 * heap.free(page);
 * assert.equal(heap.largestFree(), 0x100000);
 * ```
 *
 * @module
 */

import type { BoardInfo } from "./board_info.ts";

/** Smallest alignment and size granule (dlmalloc's `MALLOC_ALIGNMENT` on 64-bit: 2 * sizeof(size_t)). */
export const MALLOC_ALIGNMENT = 16;
/** Largest alignment accepted (a huge page: more would only waste the area). */
export const MAX_MALLOC_ALIGNMENT = 0x20_0000;
/** Upper bound on live allocations, so the bookkeeping cannot grow without limit. */
export const MAX_ALLOCATIONS = 1 << 20;

/** The area has no free block large enough (U-Boot's malloc returns NULL). */
export class MallocExhaustedError extends RangeError {
  /** The size asked for. */
  readonly size: number;
  /** The alignment asked for. */
  readonly align: number;
  /** Creates the error for a request of `size` bytes aligned to `align`. */
  constructor(size: number, align: number, largest: number) {
    super(
      `Cannot allocate ${size} bytes aligned to ${align}: largest free block is ${largest} bytes`,
    );
    this.name = "MallocExhaustedError";
    this.size = size;
    this.align = align;
  }
}

interface _Block {
  start: number;
  size: number;
}

function _isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= 2 ** 30;
}

function _alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/** First-fit allocator over `[start, start + size)` of guest-physical memory. */
export class Malloc {
  /** First byte of the area. */
  readonly start: number;
  /** Size of the area in bytes. */
  readonly size: number;
  /** Free blocks, sorted by address, never adjacent (they are merged). */
  readonly #free: _Block[] = [];
  /** Live allocations: address → size. */
  readonly #used = new Map<number, number>();

  /**
   * Manages `[start, start + size)`. Both ends are aligned inwards to {@linkcode MALLOC_ALIGNMENT}.
   * Throws a RangeError for an empty or unsafe range.
   */
  constructor(start: number, size: number) {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size <= 0) {
      throw new RangeError(`Cannot create a heap at 0x${start.toString(16)} of ${size} bytes`);
    }
    const first = _alignUp(start, MALLOC_ALIGNMENT);
    const end = Math.floor((start + size) / MALLOC_ALIGNMENT) * MALLOC_ALIGNMENT;
    if (end <= first) throw new RangeError(`Cannot create a heap of ${size} bytes: too small`);
    this.start = first;
    this.size = end - first;
    this.#free.push({ start: first, size: end - first });
  }

  /** The malloc area of `board` (`heapStart`, `heapSize`). */
  static forBoard(board: Pick<BoardInfo, "heapStart" | "heapSize">): Malloc {
    return new Malloc(board.heapStart, board.heapSize);
  }

  /**
   * `memalign(align, size)`: `size` bytes (rounded up to 16) at an address that is a multiple of
   * `align` (a power of two; below 16 counts as 16). Throws {@linkcode MallocExhaustedError} when no
   * free block fits, a RangeError for a bad argument.
   */
  memalign(align: number, size: number): number {
    if (!_isPowerOfTwo(align) || align > MAX_MALLOC_ALIGNMENT) {
      throw new RangeError(`Cannot allocate with alignment ${align}: not a power of two up to 2 MiB`);
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`Cannot allocate ${size} bytes: not a byte count`);
    }
    const effectiveAlign = Math.max(align, MALLOC_ALIGNMENT);
    const length = Math.max(MALLOC_ALIGNMENT, _alignUp(size, MALLOC_ALIGNMENT));
    if (this.#used.size >= MAX_ALLOCATIONS || length > this.size) {
      throw new MallocExhaustedError(size, align, this.largestFree());
    }
    for (let i = 0; i < this.#free.length; i++) {
      const block = this.#free[i]!;
      const address = _alignUp(block.start, effectiveAlign);
      const blockEnd = block.start + block.size;
      if (address + length > blockEnd) continue;
      const pieces: _Block[] = [];
      if (address > block.start) pieces.push({ start: block.start, size: address - block.start });
      if (address + length < blockEnd) {
        pieces.push({ start: address + length, size: blockEnd - address - length });
      }
      this.#free.splice(i, 1, ...pieces);
      this.#used.set(address, length);
      return address;
    }
    throw new MallocExhaustedError(size, align, this.largestFree());
  }

  /** `malloc(size)`: {@linkcode Malloc.memalign} with the default 16-byte alignment. */
  malloc(size: number): number {
    return this.memalign(MALLOC_ALIGNMENT, size);
  }

  /**
   * `free(address)`: returns the block to the area, merging it with free neighbours. Freeing 0 (NULL)
   * does nothing; an address that is not a live allocation is a bug and throws a RangeError.
   */
  free(address: number): void {
    if (address === 0) return;
    const length = this.#used.get(address);
    if (length === undefined) {
      throw new RangeError(`Cannot free 0x${address.toString(16)}: not an allocation of this heap`);
    }
    this.#used.delete(address);
    // Binary search for the first free block after `address`.
    let lo = 0;
    let hi = this.#free.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#free[mid]!.start < address) lo = mid + 1;
      else hi = mid;
    }
    const block: _Block = { start: address, size: length };
    const next = this.#free[lo];
    const prev = lo > 0 ? this.#free[lo - 1] : undefined;
    if (next && block.start + block.size === next.start) {
      block.size += next.size;
      this.#free.splice(lo, 1);
    }
    if (prev && prev.start + prev.size === block.start) {
      prev.size += block.size;
    } else {
      this.#free.splice(lo, 0, block);
    }
  }

  /** The size of the live allocation at `address`, or undefined. */
  allocationSize(address: number): number | undefined {
    return this.#used.get(address);
  }

  /** Bytes in live allocations (after rounding). */
  usedBytes(): number {
    let sum = 0;
    for (const size of this.#used.values()) sum += size;
    return sum;
  }

  /** The largest free block in bytes. */
  largestFree(): number {
    let largest = 0;
    for (const block of this.#free) largest = Math.max(largest, block.size);
    return largest;
  }

  /** Number of free blocks (1 when nothing is allocated: everything merged back). */
  freeBlockCount(): number {
    return this.#free.length;
  }

  /** True when `[address, address + length)` lies inside the area. */
  contains(address: number, length = 1): boolean {
    return address >= this.start && address + length <= this.start + this.size;
  }
}
