import assert from "node:assert/strict";
import { Lmb, LMB_MAX_REGIONS, LMB_NOMAP, LMB_NONE, lmbFromBoard } from "./lmb.ts";
import { computeBoardInfo } from "../board/board_setup.ts";

const RAM = 0x40000000n;
const RAM_SIZE = 0x20000000n;

function ram(): Lmb {
  const lmb = new Lmb();
  lmb.add(RAM, RAM_SIZE);
  return lmb;
}

/** The qemu_arm64-like board of the goldens: 512 MiB, a 1 MiB control DTB. */
const BOARD = computeBoardInfo({
  banks: [{ start: 0x40000000, size: 0x20000000 }],
  fdtSize: 0x100000,
  model: "linux,dummy-virt",
  profile: "default",
});

Deno.test("reserve merges a region adjacent to an existing one with the same flags", () => {
  const lmb = ram();
  assert.ok(lmb.reserve(0x50000000n, 0x1000n) >= 0);
  assert.ok(lmb.reserve(0x50001000n, 0x1000n) >= 0);
  assert.ok(lmb.reserve(0x4ffff000n, 0x1000n) >= 0);
  assert.deepEqual(lmb.reserved, [{ base: 0x4ffff000n, size: 0x3000n, flags: LMB_NONE }]);
});

Deno.test("reserve keeps regions apart when their flags differ", () => {
  const lmb = ram();
  lmb.reserve(0x50000000n, 0x1000n);
  assert.ok(lmb.reserve(0x50001000n, 0x1000n, LMB_NOMAP) >= 0);
  assert.equal(lmb.reserved.length, 2);
  assert.equal(lmb.reserved[1]!.flags, LMB_NOMAP);
});

Deno.test("reserve refuses an overlap but accepts the very same region again", () => {
  const lmb = ram();
  lmb.reserve(0x50000000n, 0x2000n);
  assert.ok(lmb.reserve(0x50001000n, 0x2000n) < 0);
  assert.ok(lmb.reserve(0x50000800n, 0x800n) < 0, "2023.01 refuses a region inside another");
  assert.equal(lmb.reserve(0x50000000n, 0x2000n), 0);
  assert.ok(lmb.reserve(0x50000000n, 0x2000n, LMB_NOMAP) < 0);
});

Deno.test("reserve inserts in address order and refuses a region past the table's capacity", () => {
  const lmb = ram();
  for (let i = LMB_MAX_REGIONS - 1; i >= 0; i--) {
    assert.equal(lmb.reserve(0x41000000n + BigInt(i) * 0x100000n, 0x1000n), 0);
  }
  const bases = lmb.reserved.map((r) => r.base);
  assert.deepEqual(bases, [...bases].sort((a, b) => (a < b ? -1 : 1)));
  assert.ok(lmb.reserve(0x50000000n, 0x1000n) < 0);
});

Deno.test("allocAddr takes a free range inside RAM and reserves it", () => {
  const lmb = ram();
  assert.equal(lmb.allocAddr(0x40400000n, 0x1000n), 0x40400000n);
  assert.equal(lmb.allocAddr(0x40400800n, 0x1000n), 0n, "now overlaps the first");
});

Deno.test("allocAddr refuses ranges whose end leaves RAM", () => {
  const lmb = ram();
  assert.equal(lmb.allocAddr(0x5ffff000n, 0x2000n), 0n);
  assert.equal(lmb.allocAddr(0x3fff0000n, 0x1000n), 0n);
  assert.equal(lmb.allocAddr(0x60000000n, 1n), 0n);
  assert.equal(lmb.allocAddr(0x5ffff000n, 0x1000n), 0x5ffff000n);
});

Deno.test("allocAddr accepts a range starting below RAM that ends inside it, as 2023.01 does", () => {
  // The real U-Boot passes the check for `load ... 0x3ffff000 ... 0x2000`, then aborts writing.
  assert.equal(ram().allocAddr(0x3ffff000n, 0x2000n), 0x3ffff000n);
});

Deno.test("allocAddr refuses a range overlapping reserved memory and accepts one ending just below it", () => {
  const lmb = ram();
  lmb.reserve(0x5e000000n, 0x2000000n);
  assert.equal(lmb.allocAddr(0x5dffffffn, 2n), 0n);
  assert.equal(lmb.allocAddr(0x5df00000n, 0x100000n), 0x5df00000n);
});

Deno.test("lmbFromBoard uses the first bank and the board's reserved areas", () => {
  const lmb = lmbFromBoard({
    banks: [{ start: 0x40000000, size: 0x20000000 }, { start: 0x200000000, size: 0x10000000 }],
    reserved: BOARD.reserved,
  });
  assert.deepEqual(lmb.memory, [{ base: RAM, size: RAM_SIZE, flags: LMB_NONE }]);
  const sorted = [...BOARD.reserved].sort((a, b) => a.start - b.start);
  assert.deepEqual(lmb.reserved.map((r) => r.base), sorted.map((a) => BigInt(a.start)));
  assert.equal(lmb.allocAddr(0x200000000n, 0x1000n), 0n, "the second bank is not lmb memory");
});

Deno.test("lmbFromBoard refuses loads over U-Boot's area of the real board figures", () => {
  const lowest = BigInt(Math.min(...BOARD.reserved.map((a) => a.start)));
  assert.equal(lmbFromBoard(BOARD).allocAddr(0x5ff00000n, 0x100000n), 0n);
  assert.equal(lmbFromBoard(BOARD).allocAddr(lowest - 0x1000n, 0x1001n), 0n);
  assert.equal(lmbFromBoard(BOARD).allocAddr(lowest - 0x1000n, 0x1000n), lowest - 0x1000n);
});

Deno.test("alloc places a block at the top of free RAM, below reservations, aligned", () => {
  const lmb = ram();
  lmb.reserve(0x5f000000n, 0x1000000n);
  assert.equal(lmb.alloc(0x3000n, 0x1000n), 0x5effd000n);
  assert.equal(lmb.alloc(0x800n, 0x1000n), 0x5effc000n);
});

Deno.test("allocBase stays below its limit and gives 0 when nothing fits", () => {
  const lmb = ram();
  assert.equal(lmb.allocBase(0x1000n, 0x1000n, 0x48000000n), 0x47fff000n);
  const full = ram();
  full.reserve(RAM, RAM_SIZE);
  assert.equal(full.alloc(0x1000n, 0x1000n), 0n);
});

Deno.test("free removes a whole region, trims either end, or splits one", () => {
  const lmb = ram();
  lmb.reserve(0x50000000n, 0x4000n);
  assert.equal(lmb.free(0x50000000n, 0x1000n), 0);
  assert.equal(lmb.free(0x50003000n, 0x1000n), 0);
  assert.deepEqual(lmb.reserved, [{ base: 0x50001000n, size: 0x2000n, flags: LMB_NONE }]);
  assert.equal(lmb.free(0x50001800n, 0x800n), 0);
  assert.deepEqual(lmb.reserved.map((r) => [r.base, r.size]), [[0x50001000n, 0x800n], [
    0x50002000n,
    0x1000n,
  ]]);
  assert.equal(lmb.free(0x50001000n, 0x800n), 0);
  assert.equal(lmb.free(0x50100000n, 0x1000n), -1);
});

Deno.test("getFreeSize and isReservedFlags see the reserved regions", () => {
  const lmb = ram();
  lmb.reserve(0x50000000n, 0x1000n, LMB_NOMAP);
  assert.equal(lmb.getFreeSize(0x4ffff000n), 0x1000n);
  assert.equal(lmb.getFreeSize(0x50000800n), 0n);
  assert.equal(lmb.getFreeSize(0x5ffff000n), 0x1000n);
  assert.equal(lmb.getFreeSize(0x70000000n), 0n);
  assert.ok(lmb.isReservedFlags(0x50000fffn, LMB_NOMAP));
  assert.ok(lmb.isReserved(0x50000000n));
  assert.ok(!lmb.isReserved(0x50001000n));
});

Deno.test("dump prints lmb_dump_all's format", () => {
  const lmb = ram();
  lmb.insertReserved({ base: 0x5ddb2000n, size: 0x224e000n, flags: LMB_NONE });
  lmb.insertReserved({ base: 0x5edb2930n, size: 0x124d6d0n, flags: LMB_NONE });
  // The real bdinfo's lines (conformance oracle, qemu_arm64 512 MiB).
  assert.equal(
    lmb.dump(),
    "lmb_dump_all:\n" +
      " memory.cnt  = 0x1\n" +
      " memory[0]\t[0x40000000-0x5fffffff], 0x20000000 bytes flags: 0\n" +
      " reserved.cnt  = 0x2\n" +
      " reserved[0]\t[0x5ddb2000-0x5fffffff], 0x0224e000 bytes flags: 0\n" +
      " reserved[1]\t[0x5edb2930-0x5fffffff], 0x0124d6d0 bytes flags: 0\n",
  );
});
