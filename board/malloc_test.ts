import assert from "node:assert/strict";
import { Malloc, MALLOC_ALIGNMENT, MallocExhaustedError } from "./malloc.ts";

const BASE = 0x9c00_0000;
const PAGE = 0x1000;

Deno.test("memalign returns addresses aligned as asked, inside the area, not overlapping", () => {
  const heap = new Malloc(BASE + 8, 0x10_0000);
  const spans: Array<[number, number]> = [];
  for (const [align, size] of [[PAGE, PAGE], [16, 3], [0x200, 100], [PAGE, 1], [8, 40]] as const) {
    const at = heap.memalign(align, size);
    assert.equal(at % Math.max(align, MALLOC_ALIGNMENT), 0, `align ${align}`);
    assert.ok(heap.contains(at, size));
    for (const [s, e] of spans) assert.ok(at + size <= s || at >= e, "overlap");
    spans.push([at, at + size]);
  }
});

Deno.test("the area starts aligned inwards to 16 bytes", () => {
  const heap = new Malloc(BASE + 8, 0x1000);
  assert.equal(heap.start, BASE + 16);
  assert.equal(heap.malloc(1) % MALLOC_ALIGNMENT, 0);
});

Deno.test("free merges neighbours so the whole area is one block again", () => {
  const heap = new Malloc(BASE, 0x4000);
  const a = heap.malloc(0x1000);
  const b = heap.malloc(0x1000);
  const c = heap.malloc(0x1000);
  heap.free(a);
  heap.free(c);
  assert.ok(heap.freeBlockCount() >= 2);
  heap.free(b);
  assert.equal(heap.freeBlockCount(), 1);
  assert.equal(heap.largestFree(), 0x4000);
  assert.equal(heap.usedBytes(), 0);
});

Deno.test("first fit reuses the lowest hole that is large enough", () => {
  const heap = new Malloc(BASE, 0x10000);
  const a = heap.malloc(0x100);
  heap.malloc(0x100);
  heap.free(a);
  assert.equal(heap.malloc(0x80), a);
});

Deno.test("alignment padding is returned to the free list", () => {
  const heap = new Malloc(BASE, 0x4000);
  const small = heap.malloc(16);
  const page = heap.memalign(PAGE, PAGE);
  assert.equal(page, BASE + PAGE);
  // The gap between `small` and `page` is still usable.
  const gap = heap.malloc(0x100);
  assert.ok(gap > small && gap < page);
});

Deno.test("exhaustion throws MallocExhaustedError and leaves the heap usable", () => {
  const heap = new Malloc(BASE, 0x2000);
  const a = heap.malloc(0x1800);
  assert.throws(() => heap.malloc(0x1000), MallocExhaustedError);
  heap.free(a);
  assert.equal(heap.malloc(0x2000), BASE);
});

Deno.test("a request larger than the area is refused, not wrapped", () => {
  const heap = new Malloc(BASE, 0x1000);
  assert.throws(() => heap.memalign(PAGE, 2 ** 40), MallocExhaustedError);
});

Deno.test("freeing an address that was not allocated, or twice, throws", () => {
  const heap = new Malloc(BASE, 0x1000);
  const a = heap.malloc(32);
  heap.free(a);
  assert.throws(() => heap.free(a), RangeError);
  assert.throws(() => heap.free(BASE + 0x800), RangeError);
  heap.free(0); // free(NULL) is a no-op
});

Deno.test("bad alignments and sizes are argument errors", () => {
  const heap = new Malloc(BASE, 0x1000);
  assert.throws(() => heap.memalign(24, 16), RangeError);
  assert.throws(() => heap.memalign(0, 16), RangeError);
  assert.throws(() => heap.memalign(16, -1), RangeError);
});

Deno.test("forBoard covers the board's malloc area", () => {
  const heap = Malloc.forBoard({ heapStart: 0x9bf00000, heapSize: 0x2040000 });
  assert.equal(heap.start, 0x9bf00000);
  assert.equal(heap.size, 0x2040000);
});
