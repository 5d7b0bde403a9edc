import assert from "node:assert/strict";
import { GuestMemory, GuestMemoryError } from "./guest_memory.ts";
import { DataAbort } from "./platform.ts";

const RAM0_BASE = 0x4000_0000;
const RAM0_SIZE = 0xC000_0000;
const RAM1_BASE = 0x2_0000_0000;
const RAM1_SIZE = 0xFE_0000_0000;
const SMALL_CHUNK = 0x1000;

function ram(size = 0x100_0000, chunkSize = SMALL_CHUNK): GuestMemory {
  const memory = new GuestMemory({ chunkSize });
  memory.addRegion({ base: RAM0_BASE, size });
  return memory;
}

/** Bytes 0..n-1 with a pattern that differs between neighbours and across chunk sizes. */
function pattern(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return out;
}

Deno.test("declaring 3 GiB plus a 1016 GiB bank allocates nothing", () => {
  const memory = new GuestMemory();
  memory.addRegion({ base: RAM0_BASE, size: RAM0_SIZE });
  memory.addRegion({ base: RAM1_BASE, size: RAM1_SIZE });
  assert.equal(memory.allocatedBytes(), 0);
  assert.deepEqual(memory.regions(), [
    { base: RAM0_BASE, size: RAM0_SIZE },
    { base: RAM1_BASE, size: RAM1_SIZE },
  ]);
});

Deno.test("reading unwritten memory returns zeros and allocates nothing", () => {
  const memory = new GuestMemory();
  memory.addRegion({ base: RAM0_BASE, size: RAM0_SIZE });
  memory.addRegion({ base: RAM1_BASE, size: RAM1_SIZE });
  const bytes = memory.read(RAM0_BASE + 0x100_0003, 0x20_0000);
  assert.equal(bytes.length, 0x20_0000);
  assert.ok(bytes.every((b) => b === 0));
  const target = new Uint8Array(0x1_0000).fill(0xaa);
  memory.readInto(RAM1_BASE + RAM1_SIZE - target.length, target);
  assert.ok(target.every((b) => b === 0));
  assert.equal(memory.readU64(RAM0_BASE + 5), 0n);
  assert.equal(memory.readU32(RAM1_BASE + 0xffff), 0);
  assert.equal(memory.allocatedBytes(), 0);
});

Deno.test("touching one byte of a 4 GiB guest allocates one chunk", () => {
  const memory = new GuestMemory();
  memory.addRegion({ base: RAM0_BASE, size: RAM0_SIZE });
  memory.addRegion({ base: RAM1_BASE, size: 0x4000_0000 });
  memory.writeU8(RAM1_BASE + 0x1234_5678, 0x5a);
  assert.equal(memory.allocatedBytes(), memory.chunkSize);
  assert.equal(memory.readU8(RAM1_BASE + 0x1234_5678), 0x5a);
});

Deno.test("filling with zero does not allocate and frees whole chunks", () => {
  const memory = ram();
  memory.fill(RAM0_BASE, 0x10_0000, 0);
  assert.equal(memory.allocatedBytes(), 0);
  memory.fill(RAM0_BASE + 0x10, 3 * SMALL_CHUNK, 0x1ff); // truncated to 0xff
  assert.equal(memory.allocatedBytes(), 4 * SMALL_CHUNK);
  assert.equal(memory.readU8(RAM0_BASE + 0x10), 0xff);
  assert.equal(memory.readU8(RAM0_BASE + 0xf), 0);
  memory.fill(RAM0_BASE, 4 * SMALL_CHUNK, 0);
  assert.equal(memory.allocatedBytes(), 0);
});

Deno.test("writes and reads that cross chunk boundaries round-trip", () => {
  const memory = ram();
  const data = pattern(5 * SMALL_CHUNK + 123);
  const at = RAM0_BASE + SMALL_CHUNK - 77;
  memory.write(at, data);
  assert.deepEqual(memory.read(at, data.length), data);
  const middle = new Uint8Array(SMALL_CHUNK + 2);
  memory.readInto(at + SMALL_CHUNK - 1, middle);
  assert.deepEqual(middle, data.subarray(SMALL_CHUNK - 1, 2 * SMALL_CHUNK + 1));
  assert.equal(memory.readU8(at - 1), 0);
  assert.equal(memory.readU8(at + data.length), 0);
});

Deno.test("accessors are little-endian", () => {
  const memory = ram();
  memory.writeU32(RAM0_BASE, 0x1122_3344);
  assert.deepEqual([...memory.read(RAM0_BASE, 4)], [0x44, 0x33, 0x22, 0x11]);
  memory.writeU16(RAM0_BASE + 8, 0xabcd);
  assert.deepEqual([...memory.read(RAM0_BASE + 8, 2)], [0xcd, 0xab]);
  memory.writeU64(RAM0_BASE + 16, 0x0102_0304_0506_0708n);
  assert.deepEqual([...memory.read(RAM0_BASE + 16, 8)], [8, 7, 6, 5, 4, 3, 2, 1]);
  memory.write(RAM0_BASE + 32, new Uint8Array([0xef, 0xbe, 0xad, 0xde]));
  assert.equal(memory.readU32(RAM0_BASE + 32), 0xdead_beef);
  assert.equal(memory.readU16(RAM0_BASE + 34), 0xdead);
});

Deno.test("unaligned accessors that straddle a chunk boundary are correct", () => {
  const memory = ram();
  for (let shift = 1; shift < 8; shift++) {
    const at = RAM0_BASE + 3 * SMALL_CHUNK - shift;
    const value = 0xfedc_ba98_7654_3210n ^ BigInt(shift);
    memory.writeU64(at, value);
    assert.equal(memory.readU64(at), value);
    const bytes = memory.read(at, 8);
    assert.equal(new DataView(bytes.buffer).getBigUint64(0, true), value);
    if (shift < 4) {
      memory.writeU32(at, 0x8765_4321 + shift);
      assert.equal(memory.readU32(at), 0x8765_4321 + shift);
    }
  }
  const edge = RAM0_BASE + 5 * SMALL_CHUNK - 1;
  memory.writeU16(edge, 0xbeef);
  assert.equal(memory.readU8(edge), 0xef);
  assert.equal(memory.readU8(edge + 1), 0xbe);
  assert.equal(memory.readU16(edge), 0xbeef);
  // A straddling read of never-written memory is zero.
  assert.equal(memory.readU64(RAM0_BASE + 9 * SMALL_CHUNK - 3), 0n);
});

Deno.test("writes truncate their values", () => {
  const memory = ram();
  memory.writeU8(RAM0_BASE, 0x1ff);
  memory.writeU16(RAM0_BASE + 2, 0x12345);
  memory.writeU32(RAM0_BASE + 4, -1);
  memory.writeU64(RAM0_BASE + 8, (1n << 64n) + 5n);
  assert.equal(memory.readU8(RAM0_BASE), 0xff);
  assert.equal(memory.readU16(RAM0_BASE + 2), 0x2345);
  assert.equal(memory.readU32(RAM0_BASE + 4), 0xffff_ffff);
  assert.equal(memory.readU64(RAM0_BASE + 8), 5n);
});

function checkMemmove(destinationDelta: number, sourceDelta: number, length: number): void {
  const memory = ram();
  const before = pattern(0x8000, destinationDelta + sourceDelta);
  memory.write(RAM0_BASE, before);
  memory.copy(RAM0_BASE + destinationDelta, RAM0_BASE + sourceDelta, length);
  const expected = before.slice();
  expected.copyWithin(destinationDelta, sourceDelta, sourceDelta + length);
  assert.deepEqual(memory.read(RAM0_BASE, before.length), expected);
}

Deno.test("copy with overlap moving up is a memmove", () => {
  checkMemmove(SMALL_CHUNK + 5, 100, 3 * SMALL_CHUNK + 17); // destination above, overlapping
  checkMemmove(1, 0, 0x7000); // by one byte
});

Deno.test("copy with overlap moving down is a memmove", () => {
  checkMemmove(100, SMALL_CHUNK + 5, 3 * SMALL_CHUNK + 17);
  checkMemmove(0, 1, 0x7000);
});

Deno.test("copy between disjoint ranges and from unwritten memory", () => {
  checkMemmove(0x4000, 3, 0x3001);
  const memory = ram();
  memory.fill(RAM0_BASE + 0x8000, 0x3000, 0x66);
  memory.copy(RAM0_BASE + 0x8800, RAM0_BASE + 0x20_0000, 0x1000); // zeros over written bytes
  assert.equal(memory.readU8(RAM0_BASE + 0x87ff), 0x66);
  assert.ok(memory.read(RAM0_BASE + 0x8800, 0x1000).every((b) => b === 0));
  assert.equal(memory.readU8(RAM0_BASE + 0x9800), 0x66);
  const allocated = memory.allocatedBytes();
  memory.copy(RAM0_BASE + 0x40_0000, RAM0_BASE + 0x20_0000, 0x10_0000); // zeros over zeros
  assert.equal(memory.allocatedBytes(), allocated);
});

Deno.test("copy works across regions", () => {
  const memory = ram(0x10_0000);
  memory.addRegion({ base: RAM1_BASE, size: 0x10_0000 });
  const data = pattern(0x2345);
  memory.write(RAM0_BASE + 0x10, data);
  memory.copy(RAM1_BASE + 0x3, RAM0_BASE + 0x10, data.length);
  assert.deepEqual(memory.read(RAM1_BASE + 0x3, data.length), data);
});

Deno.test("an access outside every region is a data abort at the first unmapped byte", () => {
  const memory = ram(0x10_0000);
  const end = RAM0_BASE + 0x10_0000;
  assert.throws(() => memory.readU32(0), (e) => e instanceof DataAbort && e.address === 0 && !e.write);
  assert.throws(
    () => memory.read(end - 4, 8),
    (e) => e instanceof DataAbort && e.address === end && !e.write,
  );
  assert.throws(
    () => memory.writeU64(end - 4, 1n),
    (e) => e instanceof DataAbort && e.address === end && e.write,
  );
  assert.throws(() => memory.fill(RAM0_BASE - 1, 2, 1), (e) => e instanceof DataAbort && e.write);
  assert.throws(
    () => memory.copy(RAM0_BASE, end - 1, 2),
    (e) => e instanceof DataAbort && e.address === end && !e.write,
  );
  assert.equal(memory.isMapped(end - 4, 4), true);
  assert.equal(memory.isMapped(end - 4, 5), false);
});

Deno.test("a faulting write changes nothing", () => {
  const memory = ram(0x10_0000);
  const end = RAM0_BASE + 0x10_0000;
  memory.fill(end - 0x2000, 0x2000, 0x11);
  const before = memory.read(end - 0x2000, 0x2000);
  const allocated = memory.allocatedBytes();
  assert.throws(() => memory.write(end - 0x1800, new Uint8Array(0x1801).fill(0x22)), DataAbort);
  assert.throws(() => memory.writeU32(end - 2, 0xffff_ffff), DataAbort);
  assert.throws(() => memory.fill(end - 0x1000, 0x1001, 0x33), DataAbort);
  assert.throws(() => memory.copy(end - 0x1000, end - 0x2000, 0x1001), DataAbort);
  assert.deepEqual(memory.read(end - 0x2000, 0x2000), before);
  assert.equal(memory.allocatedBytes(), allocated);
});

Deno.test("touching regions merge, so an access may span both", () => {
  const memory = new GuestMemory({ chunkSize: SMALL_CHUNK });
  memory.addRegion({ base: 0x3800_0000, size: 0x1000 });
  memory.addRegion({ base: 0x3800_1000, size: 0x1000 });
  assert.deepEqual(memory.regions(), [{ base: 0x3800_0000, size: 0x2000 }]);
  memory.writeU32(0x3800_0ffe, 0xa1b2_c3d4);
  assert.equal(memory.readU32(0x3800_0ffe), 0xa1b2_c3d4);
});

Deno.test("overlapping regions are refused", () => {
  const memory = ram(0x10_0000);
  assert.throws(() => memory.addRegion({ base: RAM0_BASE + 0xf_f000, size: 0x2000 }), GuestMemoryError);
});

Deno.test("removing part of a region unmaps it and drops its contents", () => {
  const memory = ram(0x10_0000);
  memory.fill(RAM0_BASE, 0x10_0000, 0x77);
  memory.removeRegion({ base: RAM0_BASE + 0x1000, size: 0x1000 });
  assert.deepEqual(memory.regions(), [
    { base: RAM0_BASE, size: 0x1000 },
    { base: RAM0_BASE + 0x2000, size: 0xf_e000 },
  ]);
  assert.throws(() => memory.readU8(RAM0_BASE + 0x1800), DataAbort);
  assert.equal(memory.readU8(RAM0_BASE + 0xfff), 0x77);
  assert.equal(memory.readU8(RAM0_BASE + 0x2000), 0x77);
  memory.addRegion({ base: RAM0_BASE + 0x1000, size: 0x1000 });
  assert.equal(memory.readU8(RAM0_BASE + 0x1800), 0);
  assert.throws(() => memory.removeRegion({ base: 0x1000, size: 0x1000 }), GuestMemoryError);
});

Deno.test("non-integer or out-of-range addresses are programming errors", () => {
  const memory = ram();
  assert.throws(() => memory.readU8(RAM0_BASE + 0.5), GuestMemoryError);
  assert.throws(() => memory.read(RAM0_BASE, -1), GuestMemoryError);
  assert.throws(() => memory.read(-4, 4), GuestMemoryError);
  assert.throws(() => memory.readU8(Number.NaN), GuestMemoryError);
  assert.throws(() => memory.read(2 ** 53 - 2, 4), GuestMemoryError);
  assert.throws(() => new GuestMemory({ chunkSize: 3000 }), GuestMemoryError);
  assert.throws(() => memory.addRegion({ base: 0, size: 0 }), GuestMemoryError);
});

Deno.test("zero-length operations do nothing, even unmapped", () => {
  const memory = ram();
  assert.equal(memory.read(0, 0).length, 0);
  memory.write(0, new Uint8Array(0));
  memory.copy(0, 8, 0);
  memory.fill(0, 0, 1);
  assert.equal(memory.isMapped(0, 0), true);
  assert.equal(memory.allocatedBytes(), 0);
});

Deno.test("large bulk moves with the default chunk size keep their bytes", () => {
  const memory = new GuestMemory();
  memory.addRegion({ base: RAM0_BASE, size: RAM0_SIZE });
  const data = pattern(8 * 1024 * 1024 + 333);
  memory.write(RAM0_BASE + 0x1234, data);
  memory.copy(RAM0_BASE + 0x1000_0001, RAM0_BASE + 0x1234, data.length);
  assert.deepEqual(memory.read(RAM0_BASE + 0x1000_0001, data.length), data);
  memory.copy(RAM0_BASE + 0x1000_0001 + 0x3_0007, RAM0_BASE + 0x1000_0001, data.length);
  assert.deepEqual(memory.read(RAM0_BASE + 0x1000_0001 + 0x3_0007, data.length), data);
});
