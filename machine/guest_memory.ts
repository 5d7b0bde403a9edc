/**
 * Sparse guest-physical memory: the RAM banks (and later the pages Xen maps for the guest) as a set of
 * address regions, backed by fixed-size chunks that exist only once something was written to them.
 *
 * Declaring gigabytes costs nothing: a guest with 4 GiB in bank 0 and 1 TiB in bank 1 starts with no
 * backing store at all, and reading memory nobody wrote returns zeros without allocating. Bulk moves
 * (`read`, `readInto`, `write`, `fill`, `copy`) go through `TypedArray.set`/`subarray`/`copyWithin` one
 * chunk piece at a time, never byte by byte. An access that touches any byte outside every region throws
 * {@linkcode DataAbort} before anything is changed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "./guest_memory.ts";
 *
 * const memory = new GuestMemory();
 * memory.addRegion({ base: 0x4000_0000, size: 0xC000_0000 }); // 3 GiB, nothing allocated yet
 * memory.writeU32(0x4800_0000, 0xd00dfeed);
 * assert.ok(memory.readU32(0x4800_0000) === 0xd00dfeed);
 * assert.ok(memory.allocatedBytes() === memory.chunkSize);
 * ```
 *
 * @module
 */

import { DataAbort, type PhysicalMemory } from "./platform.ts";

/** A guest-physical address range. */
export interface MemoryRegion {
  /** First address. */
  readonly base: number;
  /** Length in bytes. */
  readonly size: number;
}

/** Options for {@linkcode GuestMemory}. */
export interface GuestMemoryOptions {
  /** Backing-store granule in bytes: a power of two from 4 KiB to 16 MiB. */
  chunkSize?: number;
}

/**
 * The backing-store granule. 64 KiB because:
 * - it is a multiple of the 4 KiB guest page, so a page (ring, grant frame, shared_info) never straddles
 *   two chunks and the 8/16/32/64-bit accessors almost always take the single-chunk fast path;
 * - a 64 MiB bulk copy is 1024 `set` calls plus 1024 map lookups: guest_memory_bench.ts measured it at
 *   1.3x a plain 64 MiB `Uint8Array.set`, against 2.7x with 4 KiB chunks and 1.1x with 1 MiB chunks;
 * - touching a single byte costs 64 KiB of host memory, so the scattered small writes U-Boot makes (its
 *   relocated copy, heap, stack, the PV rings, the DTB) stay in the low megabytes.
 */
export const DEFAULT_CHUNK_SIZE = 0x1_0000;

/** Smallest chunk: one guest page. */
const MIN_CHUNK_SIZE = 0x1000;
/** Largest chunk: beyond this a touched byte costs too much host memory. */
const MAX_CHUNK_SIZE = 0x100_0000;
/** Addresses and lengths are JS numbers: every address must stay below 2^53. */
const ADDRESS_LIMIT = 2 ** 53;
/**
 * Most disjoint regions one memory holds. Regions come from the guest's hypercalls later (pages mapped
 * with add_to_physmap), so the table is bounded; adjacent regions merge and do not count twice.
 */
export const MAX_REGIONS = 4096;

/** Bytes of the widest accessor (64-bit). */
const SCRATCH_BYTES = 8;
const U16_BYTES = 2;
const U32_BYTES = 4;
const U64_BYTES = 8;
const BYTE_MASK = 0xff;

interface _Chunk {
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

interface _Span {
  base: number;
  end: number;
}

/** A bad argument to a memory operation (a programming error, not a guest fault). */
export class GuestMemoryError extends RangeError {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "GuestMemoryError";
  }
}

function _hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/**
 * Sparse, region-checked guest-physical memory. Implements the guest boundary's
 * {@linkcode PhysicalMemory}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "./guest_memory.ts";
 *
 * const memory = new GuestMemory();
 * memory.addRegion({ base: 0x4000_0000, size: 0x1000_0000 });
 * memory.write(0x4000_0000, new Uint8Array([1, 2, 3, 4]));
 * memory.copy(0x4000_0001, 0x4000_0000, 4); // memmove: overlapping is fine
 * assert.ok(memory.read(0x4000_0000, 5).join() === "1,1,2,3,4");
 * ```
 */
export class GuestMemory implements PhysicalMemory {
  /** Backing-store granule in bytes. */
  readonly chunkSize: number;
  readonly #chunks = new Map<number, _Chunk>();
  /** Disjoint, non-adjacent, sorted by base. */
  #spans: _Span[] = [];
  /** The span of the last successful lookup (accesses cluster). */
  #lastSpan: _Span | undefined;
  readonly #scratch = new Uint8Array(SCRATCH_BYTES);
  readonly #scratchView = new DataView(this.#scratch.buffer);

  /** Creates an empty memory (no regions, nothing allocated). */
  constructor(options: GuestMemoryOptions = {}) {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (
      !Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE ||
      (chunkSize & (chunkSize - 1)) !== 0
    ) {
      throw new GuestMemoryError(
        `Cannot create guest memory: chunk size ${chunkSize} is not a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`,
      );
    }
    this.chunkSize = chunkSize;
  }

  // ----- regions -------------------------------------------------------------------------------------

  /**
   * Makes `[base, base + size)` guest memory. It must not overlap an existing region; touching regions
   * merge. The new range reads as zeros.
   */
  addRegion(region: MemoryRegion): void {
    const { base, size } = region;
    _checkRegion("map", base, size);
    const end = base + size;
    const spans = this.#spans;
    for (const span of spans) {
      if (base < span.end && span.base < end) {
        throw new GuestMemoryError(
          `Cannot map guest memory ${_hex(base)}+${_hex(size)}: overlaps ${_hex(span.base)}-${
            _hex(span.end)
          }`,
        );
      }
    }
    const merged: _Span = { base, end };
    const kept: _Span[] = [];
    for (const span of spans) {
      if (span.end === merged.base) merged.base = span.base;
      else if (span.base === merged.end) merged.end = span.end;
      else kept.push(span);
    }
    if (kept.length >= MAX_REGIONS) {
      throw new GuestMemoryError(`Cannot map guest memory ${_hex(base)}: already ${MAX_REGIONS} regions`);
    }
    kept.push(merged);
    kept.sort((a, b) => a.base - b.base);
    this.#spans = kept;
    this.#lastSpan = undefined;
    // Whatever a previous mapping of this range left behind must not show through.
    this.#discard(base, end);
  }

  /**
   * Removes `[base, base + size)` from guest memory; every byte of it must be mapped. A region may be cut
   * in the middle. The contents are dropped: mapping the range again gives zeros.
   */
  removeRegion(region: MemoryRegion): void {
    const { base, size } = region;
    _checkRegion("unmap", base, size);
    const end = base + size;
    const span = this.#spanAt(base);
    if (span === undefined || end > span.end) {
      throw new GuestMemoryError(`Cannot unmap guest memory ${_hex(base)}+${_hex(size)}: not all mapped`);
    }
    const kept = this.#spans.filter((s) => s !== span);
    if (span.base < base) kept.push({ base: span.base, end: base });
    if (end < span.end) kept.push({ base: end, end: span.end });
    if (kept.length > MAX_REGIONS) {
      throw new GuestMemoryError(
        `Cannot unmap guest memory ${_hex(base)}: would exceed ${MAX_REGIONS} regions`,
      );
    }
    kept.sort((a, b) => a.base - b.base);
    this.#spans = kept;
    this.#lastSpan = undefined;
    this.#discard(base, end);
  }

  /** The mapped ranges, sorted by address (touching regions appear merged). */
  regions(): MemoryRegion[] {
    return this.#spans.map((s) => ({ base: s.base, size: s.end - s.base }));
  }

  /** True when every byte of `[address, address + length)` is backed by guest memory. */
  isMapped(address: number, length: number): boolean {
    _checkAccess(address, length);
    if (length === 0) return true;
    const span = this.#spanAt(address);
    return span !== undefined && address + length <= span.end;
  }

  /** Host bytes of backing store allocated so far (whole chunks). */
  allocatedBytes(): number {
    return this.#chunks.size * this.chunkSize;
  }

  // ----- bulk ----------------------------------------------------------------------------------------

  /** Reads `length` bytes at `address` into a new array. Throws {@linkcode DataAbort} outside RAM. */
  read(address: number, length: number): Uint8Array {
    this.#check(address, length, false);
    const out = new Uint8Array(length);
    this.#load(address, out, 0, length, false);
    return out;
  }

  /** Reads into `target` the bytes at `address`. Throws {@linkcode DataAbort} outside RAM. */
  readInto(address: number, target: Uint8Array): void {
    this.#check(address, target.length, false);
    this.#load(address, target, 0, target.length, true);
  }

  /** Writes `data` at `address`. Throws {@linkcode DataAbort} outside RAM, with nothing written. */
  write(address: number, data: Uint8Array): void {
    this.#check(address, data.length, true);
    this.#store(address, data, data.length);
  }

  /** Fills `length` bytes at `address` with `value` (truncated to a byte, as memset does). */
  fill(address: number, length: number, value: number): void {
    this.#check(address, length, true);
    const byte = value & BYTE_MASK;
    const size = this.chunkSize;
    let at = address;
    let left = length;
    while (left > 0) {
      const index = Math.floor(at / size);
      const offset = at - index * size;
      const n = Math.min(size - offset, left);
      const chunk = this.#chunks.get(index);
      if (byte === 0 && chunk === undefined) {
        // Already zero.
      } else if (byte === 0 && n === size) {
        this.#chunks.delete(index); // a whole chunk of zeros needs no storage
      } else {
        (chunk ?? this.#allocate(index)).bytes.fill(byte, offset, offset + n);
      }
      at += n;
      left -= n;
    }
  }

  /**
   * Copies `length` bytes from `source` to `destination` with memmove semantics: overlapping ranges in
   * either direction give the bytes the source held before the copy. Throws {@linkcode DataAbort} (source
   * checked first) with nothing written.
   */
  copy(destination: number, source: number, length: number): void {
    this.#check(source, length, false);
    this.#check(destination, length, true);
    if (length === 0 || destination === source) return;
    const size = this.chunkSize;
    if (destination < source || destination >= source + length) {
      // Forward: no byte is written before it has been read.
      let from = source;
      let to = destination;
      let left = length;
      while (left > 0) {
        const fromIndex = Math.floor(from / size);
        const fromOffset = from - fromIndex * size;
        const toIndex = Math.floor(to / size);
        const toOffset = to - toIndex * size;
        const n = Math.min(left, size - fromOffset, size - toOffset);
        this.#copyPiece(toIndex, toOffset, fromIndex, fromOffset, n);
        from += n;
        to += n;
        left -= n;
      }
      return;
    }
    // Backward: the destination overlaps the source's tail.
    let fromEnd = source + length;
    let toEnd = destination + length;
    let left = length;
    while (left > 0) {
      const fromIndex = Math.floor((fromEnd - 1) / size);
      const fromEndOffset = fromEnd - fromIndex * size;
      const toIndex = Math.floor((toEnd - 1) / size);
      const toEndOffset = toEnd - toIndex * size;
      const n = Math.min(left, fromEndOffset, toEndOffset);
      this.#copyPiece(toIndex, toEndOffset - n, fromIndex, fromEndOffset - n, n);
      fromEnd -= n;
      toEnd -= n;
      left -= n;
    }
  }

  // ----- accessors -----------------------------------------------------------------------------------

  /** 8-bit read. */
  readU8(address: number): number {
    this.#check(address, 1, false);
    const index = Math.floor(address / this.chunkSize);
    const chunk = this.#chunks.get(index);
    return chunk === undefined ? 0 : chunk.bytes[address - index * this.chunkSize] ?? 0;
  }

  /** Little-endian 16-bit read (any alignment). */
  readU16(address: number): number {
    const chunk = this.#readChunk(address, U16_BYTES);
    if (chunk === null) return this.#gather(address, U16_BYTES).getUint16(0, true);
    return chunk === undefined ? 0 : chunk.view.getUint16(this.#offset(address), true);
  }

  /** Little-endian 32-bit read (any alignment). */
  readU32(address: number): number {
    const chunk = this.#readChunk(address, U32_BYTES);
    if (chunk === null) return this.#gather(address, U32_BYTES).getUint32(0, true);
    return chunk === undefined ? 0 : chunk.view.getUint32(this.#offset(address), true);
  }

  /** Little-endian 64-bit read (any alignment). */
  readU64(address: number): bigint {
    const chunk = this.#readChunk(address, U64_BYTES);
    if (chunk === null) return this.#gather(address, U64_BYTES).getBigUint64(0, true);
    return chunk === undefined ? 0n : chunk.view.getBigUint64(this.#offset(address), true);
  }

  /** 8-bit write (value truncated). */
  writeU8(address: number, value: number): void {
    this.#check(address, 1, true);
    const index = Math.floor(address / this.chunkSize);
    const chunk = this.#chunks.get(index) ?? this.#allocate(index);
    chunk.bytes[address - index * this.chunkSize] = value;
  }

  /** Little-endian 16-bit write (value truncated, any alignment). */
  writeU16(address: number, value: number): void {
    const chunk = this.#writeChunk(address, U16_BYTES);
    if (chunk === null) {
      this.#scratchView.setUint16(0, value, true);
      this.#store(address, this.#scratch, U16_BYTES);
    } else {
      chunk.view.setUint16(this.#offset(address), value, true);
    }
  }

  /** Little-endian 32-bit write (value truncated, any alignment). */
  writeU32(address: number, value: number): void {
    const chunk = this.#writeChunk(address, U32_BYTES);
    if (chunk === null) {
      this.#scratchView.setUint32(0, value, true);
      this.#store(address, this.#scratch, U32_BYTES);
    } else {
      chunk.view.setUint32(this.#offset(address), value, true);
    }
  }

  /** Little-endian 64-bit write (value truncated to 64 bits, any alignment). */
  writeU64(address: number, value: bigint): void {
    const chunk = this.#writeChunk(address, U64_BYTES);
    if (chunk === null) {
      this.#scratchView.setBigUint64(0, value, true);
      this.#store(address, this.#scratch, U64_BYTES);
    } else {
      chunk.view.setBigUint64(this.#offset(address), value, true);
    }
  }

  // ----- internals -----------------------------------------------------------------------------------

  /** Validates the arguments, then throws {@linkcode DataAbort} at the first unmapped byte, if any. */
  #check(address: number, length: number, write: boolean): void {
    _checkAccess(address, length);
    if (length === 0) return;
    const last = this.#lastSpan;
    if (last !== undefined && address >= last.base && address + length <= last.end) return;
    const span = this.#spanAt(address);
    if (span === undefined) throw new DataAbort(address, write);
    if (address + length > span.end) throw new DataAbort(span.end, write);
    this.#lastSpan = span;
  }

  /** The span holding `address`, by binary search. */
  #spanAt(address: number): _Span | undefined {
    const spans = this.#spans;
    let low = 0;
    let high = spans.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const span = spans[middle];
      if (span === undefined) break;
      if (address < span.base) high = middle - 1;
      else if (address >= span.end) low = middle + 1;
      else return span;
    }
    return undefined;
  }

  /**
   * For a read of `width` bytes: checks the access, then returns the chunk when the access sits in one
   * chunk (`undefined` if that chunk was never written), or `null` when it straddles two chunks.
   */
  #readChunk(address: number, width: number): _Chunk | undefined | null {
    this.#check(address, width, false);
    const index = Math.floor(address / this.chunkSize);
    if (address - index * this.chunkSize > this.chunkSize - width) return null;
    return this.#chunks.get(index);
  }

  /** As {@linkcode GuestMemory.#readChunk} for a write: the chunk is allocated when missing. */
  #writeChunk(address: number, width: number): _Chunk | null {
    this.#check(address, width, true);
    const index = Math.floor(address / this.chunkSize);
    if (address - index * this.chunkSize > this.chunkSize - width) return null;
    return this.#chunks.get(index) ?? this.#allocate(index);
  }

  #offset(address: number): number {
    return address - Math.floor(address / this.chunkSize) * this.chunkSize;
  }

  /** Copies `width` bytes at `address` (already checked) into the scratch buffer. */
  #gather(address: number, width: number): DataView {
    this.#load(address, this.#scratch, 0, width, true);
    return this.#scratchView;
  }

  /** Copies `length` checked bytes at `address` into `target[position..]`. */
  #load(address: number, target: Uint8Array, position: number, length: number, clear: boolean): void {
    const size = this.chunkSize;
    let at = address;
    let done = 0;
    while (done < length) {
      const index = Math.floor(at / size);
      const offset = at - index * size;
      const n = Math.min(size - offset, length - done);
      const chunk = this.#chunks.get(index);
      if (chunk !== undefined) target.set(chunk.bytes.subarray(offset, offset + n), position + done);
      else if (clear) target.fill(0, position + done, position + done + n);
      at += n;
      done += n;
    }
  }

  /** Copies the first `length` bytes of `data` to the checked range at `address`. */
  #store(address: number, data: Uint8Array, length: number): void {
    const size = this.chunkSize;
    let at = address;
    let done = 0;
    while (done < length) {
      const index = Math.floor(at / size);
      const offset = at - index * size;
      const n = Math.min(size - offset, length - done);
      const chunk = this.#chunks.get(index) ?? this.#allocate(index);
      chunk.bytes.set(data.subarray(done, done + n), offset);
      at += n;
      done += n;
    }
  }

  /** One piece of a copy that lies within one source chunk and one destination chunk. */
  #copyPiece(toIndex: number, toOffset: number, fromIndex: number, fromOffset: number, length: number): void {
    const from = this.#chunks.get(fromIndex);
    if (from === undefined) {
      this.#chunks.get(toIndex)?.bytes.fill(0, toOffset, toOffset + length);
      return;
    }
    const to = this.#chunks.get(toIndex) ?? this.#allocate(toIndex);
    if (to === from) to.bytes.copyWithin(toOffset, fromOffset, fromOffset + length);
    else to.bytes.set(from.bytes.subarray(fromOffset, fromOffset + length), toOffset);
  }

  #allocate(index: number): _Chunk {
    const bytes = new Uint8Array(this.chunkSize);
    const chunk: _Chunk = { bytes, view: new DataView(bytes.buffer) };
    this.#chunks.set(index, chunk);
    return chunk;
  }

  /** Forgets the contents of `[base, end)`: whole chunks are freed, partial ones zeroed. */
  #discard(base: number, end: number): void {
    const size = this.chunkSize;
    if (this.#chunks.size === 0) return;
    const first = Math.floor(base / size);
    const last = Math.floor((end - 1) / size);
    if (last - first + 1 > this.#chunks.size) {
      // Fewer chunks than the range spans: walk the chunks, not the range.
      for (const [index, chunk] of this.#chunks) {
        if (index >= first && index <= last) this.#discardChunk(index, chunk, base, end);
      }
      return;
    }
    for (let index = first; index <= last; index++) {
      const chunk = this.#chunks.get(index);
      if (chunk !== undefined) this.#discardChunk(index, chunk, base, end);
    }
  }

  #discardChunk(index: number, chunk: _Chunk, base: number, end: number): void {
    const start = index * this.chunkSize;
    const from = Math.max(base, start) - start;
    const to = Math.min(end, start + this.chunkSize) - start;
    if (from === 0 && to === this.chunkSize) this.#chunks.delete(index);
    else chunk.bytes.fill(0, from, to);
  }
}

function _checkAccess(address: number, length: number): void {
  if (!Number.isSafeInteger(address) || address < 0) {
    throw new GuestMemoryError(
      `Cannot access guest memory: address ${address} is not an integer in [0, 2^53)`,
    );
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new GuestMemoryError(`Cannot access guest memory: length ${length} is not a non-negative integer`);
  }
  if (address + length > ADDRESS_LIMIT) {
    throw new GuestMemoryError(`Cannot access guest memory: ${_hex(address)}+${_hex(length)} passes 2^53`);
  }
}

function _checkRegion(action: string, base: number, size: number): void {
  if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(size) || size <= 0) {
    throw new GuestMemoryError(
      `Cannot ${action} guest memory: base ${base} and size ${size} must be integers, size > 0`,
    );
  }
  if (base + size > ADDRESS_LIMIT) {
    throw new GuestMemoryError(`Cannot ${action} guest memory: ${_hex(base)}+${_hex(size)} passes 2^53`);
  }
}
