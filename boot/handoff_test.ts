import assert from "node:assert/strict";
import { bootJumpLinux, formatHandoffRecord } from "./handoff.ts";

const INPUT = {
  entry: 0x40400000,
  kernel: { start: 0x40400000, end: 0x40780000 },
  ramdisk: { start: 0x5dcaa000, end: 0x5ddaa000 },
  fdt: { start: 0x5dca6000, size: 0x2000 },
  bootargs: "console=hvc0",
};

Deno.test("the kernel is announced before the tear-down and starts with x0 = the FDT, x1..x3 = 0", async () => {
  let out = "";
  let printedAtFini = "";
  const record = await bootJumpLinux({ puts: (t) => (out += t) }, INPUT, {
    fini: () => {
      printedAtFini = out;
      return Promise.resolve({
        grantsInUse: [],
        portsClosed: [5],
        watchesRemoved: 0,
        transactionsAborted: 0,
      });
    },
  });
  assert.equal(printedAtFini, "\nStarting kernel ...\n\n");
  assert.deepEqual(
    [record.cpu.pc, record.cpu.x0, record.cpu.x1, record.cpu.x2, record.cpu.x3],
    [0x40400000, 0x5dca6000, 0, 0, 0],
  );
  assert.deepEqual(record.steps, [
    "announce",
    "remove-devices-and-xen-fini",
    "disable-interrupts",
    "caches-off",
    "jump",
  ]);
  assert.deepEqual(record.xenFini?.portsClosed, [5]);
});

Deno.test("the record prints as handoff lines", async () => {
  const record = await bootJumpLinux({ puts: () => {} }, INPUT);
  assert.equal(record.xenFini, undefined);
  assert.deepEqual(formatHandoffRecord(record), [
    "handoff: entry 0x40400000, x0 0x5dca6000, x1 0x0, x2 0x0, x3 0x0",
    "handoff: EL1, interrupts masked, MMU and caches off",
    "handoff: kernel 0x40400000..0x40780000",
    "handoff: ramdisk 0x5dcaa000..0x5ddaa000",
    "handoff: fdt 0x5dca6000 (0x2000 bytes)",
    'handoff: bootargs "console=hvc0"',
  ]);
});
