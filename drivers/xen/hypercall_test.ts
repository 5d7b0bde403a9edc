import assert from "node:assert/strict";
import { FlatMemory, HEAP_SIZE, HEAP_START, RAM_BASE, RAM_SIZE } from "./_fake_xen.ts";
import { Malloc } from "../../board/malloc.ts";
import { Hypercalls } from "./hypercall.ts";
import type { HypercallRegisters, Platform } from "../../machine/platform.ts";

/** A platform that records registers and the bytes of the structure x1 points to. */
function recorder(answer: (regs: HypercallRegisters, memory: FlatMemory) => bigint = () => 0n) {
  const memory = new FlatMemory();
  memory.add(RAM_BASE, RAM_SIZE);
  memory.add(HEAP_START, HEAP_SIZE);
  const seen: Array<{ regs: HypercallRegisters; struct: Uint8Array }> = [];
  const platform: Platform = {
    memory,
    entry: { x0: 0, pc: 0 },
    hypercall(regs) {
      const at = Number(regs.x1);
      const struct = memory.isMapped(at, 32) ? memory.read(at, 32) : new Uint8Array(0);
      seen.push({ regs, struct });
      return Promise.resolve(answer(regs, memory));
    },
  };
  const hc = Hypercalls.create(platform, new Malloc(HEAP_START, HEAP_SIZE));
  return { hc, seen, memory };
}

function u16(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint16(at, true);
}
function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
}
function u64(bytes: Uint8Array, at: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(at, true);
}

Deno.test("add_to_physmap: x16 12, x0 cmd 7, x1 the struct at Xen's layout", async () => {
  const { hc, seen } = recorder();
  assert.equal(await hc.addToPhysmap(1, 0, 0x38000), 0);
  const [call] = seen;
  assert.ok(call);
  assert.equal(call.regs.x16, 12);
  assert.equal(call.regs.x0, 7n);
  assert.equal(call.regs.x1, BigInt(hc.scratch));
  assert.equal(u16(call.struct, 0), 0x7ff0);
  assert.equal(u16(call.struct, 2), 0);
  assert.equal(u32(call.struct, 4), 1);
  assert.equal(u64(call.struct, 8), 0n);
  assert.equal(u64(call.struct, 16), 0x38000n);
});

Deno.test("the signed x0 comes back as a negative errno", async () => {
  const { hc } = recorder(() => BigInt.asUintN(64, -16n));
  assert.equal(await hc.removeFromPhysmap(0x40000), -16);
});

Deno.test("OUT fields are read back after the call", async () => {
  const { hc } = recorder((regs, memory) => {
    if (regs.x16 === 32) memory.writeU32(Number(regs.x1) + 4, 9); // alloc_unbound's port
    if (regs.x16 === 34) memory.writeU64(Number(regs.x1) + 8, 0x39001n); // hvm param value
    return 0n;
  });
  assert.deepEqual(await hc.evtchnAllocUnbound(0), { rc: 0, value: 9 });
  assert.deepEqual(await hc.hvmGetParam(1), { rc: 0, value: 0x39001n });
});

Deno.test("alloc_unbound writes dom = DOMID_SELF and remote_dom", async () => {
  const { hc, seen } = recorder();
  await hc.evtchnAllocUnbound(5);
  const struct = seen[0]!.struct;
  assert.equal(u16(struct, 0), 0x7ff0);
  assert.equal(u16(struct, 2), 5);
});

Deno.test("sched_poll passes the port list, its length and the absolute timeout", async () => {
  const { hc, seen, memory } = recorder();
  await hc.schedPoll([1, 3], 123_000_000n);
  const struct = seen[0]!.struct;
  assert.equal(seen[0]!.regs.x0, 3n);
  const list = Number(u64(struct, 0));
  assert.equal(u32(struct, 8), 2);
  assert.equal(u64(struct, 16), 123_000_000n);
  assert.deepEqual([memory.readU32(list), memory.readU32(list + 4)], [1, 3]);
  assert.throws(() => hc.schedPoll([], 0n), RangeError);
});

Deno.test("populate_physmap passes an extent list and returns the extents done", async () => {
  const { hc, seen, memory } = recorder(() => 1n);
  assert.equal(await hc.populatePhysmap([0x9c000]), 1);
  const struct = seen[0]!.struct;
  assert.equal(memory.readU64(Number(u64(struct, 0))), 0x9c000n);
  assert.equal(u64(struct, 8), 1n);
  assert.equal(u32(struct, 16), 0);
  assert.equal(u16(struct, 24), 0x7ff0);
});

Deno.test("concurrent calls do not interleave inside the scratch page", async () => {
  const memory = new FlatMemory();
  memory.add(RAM_BASE, RAM_SIZE);
  memory.add(HEAP_START, HEAP_SIZE);
  const ports: number[] = [];
  let inFlight = 0;
  const platform: Platform = {
    memory,
    entry: { x0: 0, pc: 0 },
    async hypercall(regs) {
      inFlight++;
      assert.equal(inFlight, 1, "one hypercall at a time");
      await new Promise((r) => setTimeout(r, 1));
      ports.push(memory.readU32(Number(regs.x1)));
      inFlight--;
      return 0n;
    },
  };
  const hc = Hypercalls.create(platform, new Malloc(HEAP_START, HEAP_SIZE));
  await Promise.all([hc.evtchnSend(1), hc.evtchnSend(2), hc.evtchnSend(3)]);
  assert.deepEqual(ports, [1, 2, 3]);
});

Deno.test("a failing call does not block the ones after it", async () => {
  const memory = new FlatMemory();
  memory.add(RAM_BASE, RAM_SIZE);
  memory.add(HEAP_START, HEAP_SIZE);
  let first = true;
  const platform: Platform = {
    memory,
    entry: { x0: 0, pc: 0 },
    hypercall() {
      if (first) {
        first = false;
        return Promise.reject(new Error("boom"));
      }
      return Promise.resolve(0n);
    },
  };
  const hc = Hypercalls.create(platform, new Malloc(HEAP_START, HEAP_SIZE));
  await assert.rejects(hc.evtchnSend(1));
  assert.equal(await hc.evtchnSend(2), 0);
});

Deno.test("console_io writes the text in chunks and xen_version reads major.minor", async () => {
  const { hc, seen } = recorder((regs) => (regs.x16 === 17 ? 0x4_0011n : 0n));
  assert.equal(await hc.consoleWrite("hi"), 2);
  assert.equal(seen[0]!.regs.x16, 18);
  assert.equal(seen[0]!.regs.x1, 2n);
  assert.equal(await hc.xenVersion(), 0x4_0011);
});
