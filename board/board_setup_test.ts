import assert from "node:assert/strict";
import {
  BoardSetupError,
  computeBoardInfo,
  pageTableSize,
  PROFILE_FIGURES,
  startupFigures,
  xenMemMap,
} from "./board_setup.ts";

const RAM0 = 0x40000000;
const MIB = 0x100000;
/** QEMU's virt machine hands U-Boot a 1 MiB device tree. */
const QEMU_DTB_SIZE = 0x100000;

Deno.test("qemu_arm64 with 512 MiB puts the control FDT at 5edb6db0 as the real U-Boot did", () => {
  const board = computeBoardInfo({
    banks: [{ start: RAM0, size: 512 * MIB }],
    fdtSize: QEMU_DTB_SIZE,
    model: "linux,dummy-virt",
    profile: "default",
  });
  assert.equal(board.fdtBlob, 0x5edb6db0); // goldens/06-env fdtcontroladdr
  assert.equal(board.fdtSize, QEMU_DTB_SIZE);
  assert.equal(board.ramTop, 0x60000000);
  assert.equal(board.relocAddr, 0x5fef7000);
  assert.equal(board.relocOff, 0x5fef7000); // TEXT_BASE 0
  assert.equal(board.startAddrSp, 0x5edb6da0);
  assert.equal(startupFigures(board).tlbAddr, 0x5fff0000);
});

Deno.test("qemu_arm64's lmb starts its reservations where booti's golden allocations end", () => {
  const board = computeBoardInfo({
    banks: [{ start: RAM0, size: 512 * MIB }],
    fdtSize: QEMU_DTB_SIZE,
    model: "linux,dummy-virt",
    profile: "default",
  });
  // goldens/10-booti: "Loading Ramdisk to 5dcaa000, end 5ddaa000": the free RAM ends at 0x5ddaa000.
  const lowest = Math.min(...board.reserved.map((area) => area.start));
  assert.equal(lowest, 0x5ddaa000);
  for (const area of board.reserved) assert.equal(area.start + area.size, board.ramTop);
});

Deno.test("xenguest_arm64 with 1536 MiB puts the control FDT at 9df75840 as the real board did", () => {
  const board = computeBoardInfo({
    banks: [{ start: RAM0, size: 1536 * MIB }],
    fdtSize: 0x578, // a Xen 4.17 DTB of 0x561..0x580 bytes (assumed: not in the session)
    model: "XENVM-4.17",
    profile: "xenguest",
  });
  assert.equal(board.fdtBlob, 0x9df75840); // xenguest/board-session.txt fdtcontroladdr
  assert.equal(board.fdtSize, 0x580);
  assert.equal(board.relocAddr, 0x9ff95000);
  assert.equal(board.relocOff, 0x9ff95000 - PROFILE_FIGURES.xenguest.textBase);
  assert.equal(board.startAddrSp, 0x9df75830);
  assert.equal(board.model, "XENVM-4.17");
});

Deno.test("the 4 GiB example of U-Boot's bdinfo documentation is reproduced", () => {
  const board = computeBoardInfo({
    banks: [{ start: RAM0, size: 0x100000000 }],
    fdtSize: QEMU_DTB_SIZE,
    model: "linux,dummy-virt",
    profile: "default",
    ubootSize: 0xf5000,
    efiEarlyPages: 7,
  });
  assert.equal(board.relocAddr, 0x13fefb000);
  assert.equal(board.fdtBlob, 0x13edbadb0);
  assert.equal(board.startAddrSp, 0x13edbada0);
  assert.equal(startupFigures(board).tlbAddr, 0x13fff0000);
  assert.deepEqual(board.reserved, [
    { start: 0x13ddb3000, size: 0x0224d000 },
    { start: 0x13edb6930, size: 0x012496d0 },
  ]);
});

Deno.test("a larger U-Boot moves everything below it down by whole pages", () => {
  const input = { banks: [{ start: RAM0, size: 512 * MIB }], fdtSize: 0x560, model: "m" } as const;
  const small = computeBoardInfo({ ...input, profile: "xenguest", ubootSize: 0x5a001 });
  const large = computeBoardInfo({ ...input, profile: "xenguest", ubootSize: 0x5b001 });
  assert.equal(small.relocAddr % 0x1000, 0);
  assert.equal(small.relocAddr - large.relocAddr, 0x1000);
  assert.equal(small.fdtBlob - large.fdtBlob, 0x1000);
});

Deno.test("the control FDT copy is rounded up to 32 bytes and every bank is kept", () => {
  const banks = [{ start: RAM0, size: 256 * MIB }, { start: 0x200000000, size: 512 * MIB }];
  const board = computeBoardInfo({ banks, fdtSize: 0x551, model: "m", profile: "xenguest" });
  assert.equal(board.fdtSize, 0x560);
  assert.deepEqual(board.banks, banks);
  assert.equal(board.ramSize, 256 * MIB);
  assert.equal(board.ramTop, RAM0 + 256 * MIB);
});

Deno.test("page tables: 1536 MiB at 1 GiB needs 4 tables, so 48 KiB with the emergency copy", () => {
  assert.equal(pageTableSize(xenMemMap([{ start: RAM0, size: 1536 * MIB }])), 0xc000);
});

Deno.test("page tables: RAM ending on a 1 GiB boundary needs one table fewer", () => {
  assert.equal(pageTableSize(xenMemMap([{ start: RAM0, size: 0x100000000 }])), 0xa000);
});

Deno.test("page tables: a second bank above 4 GiB adds its own level-2 table", () => {
  const banks = [{ start: RAM0, size: 1536 * MIB }, { start: 0x200000000, size: 512 * MIB }];
  assert.equal(pageTableSize(xenMemMap(banks)), 0xe000);
});

Deno.test("a board without RAM or with too little RAM is refused", () => {
  const base = { fdtSize: 0x560, model: "m", profile: "xenguest" } as const;
  assert.throws(() => computeBoardInfo({ ...base, banks: [] }), BoardSetupError);
  assert.throws(() => computeBoardInfo({ ...base, banks: [{ start: RAM0, size: 0 }] }), BoardSetupError);
  assert.throws(
    () => computeBoardInfo({ ...base, banks: [{ start: RAM0, size: 16 * MIB }] }),
    BoardSetupError,
  );
  assert.throws(
    () => computeBoardInfo({ ...base, fdtSize: 0, banks: [{ start: RAM0, size: 512 * MIB }] }),
    BoardSetupError,
  );
});

Deno.test("startupFigures gives the profile's early heap and irq_sp = start_addr_sp", () => {
  const board = computeBoardInfo({
    banks: [{ start: RAM0, size: 512 * MIB }],
    fdtSize: 0x560,
    model: "m",
    profile: "xenguest",
  });
  const figures = startupFigures(board);
  assert.equal(figures.irqSp, board.startAddrSp);
  assert.equal(figures.earlyMallocLen, 0x400);
  assert.equal(figures.tlbSize, 0xc000);
});
