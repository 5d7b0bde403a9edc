import assert from "node:assert/strict";
import { ERR, SPEC, TestGuest, testMachine } from "./_test_frontend.ts";
import type { Events } from "../trace.ts";

const SHARED_GFN = 0x40500;
const SHARED = SHARED_GFN * 0x1000;

async function setup() {
  const machine = await testMachine();
  const guest = new TestGuest(machine);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 0, SHARED_GFN), 0n);
  const delivered: Events["evtchn-deliver"][] = [];
  machine.trace.on("evtchn-deliver", (e) => delivered.push(e));
  const m = machine.memory;
  const bit = (base: number, port: number) => (m.readU8(SHARED + base + (port >> 3)) >> (port & 7)) & 1;
  const upcall = () => m.readU8(SHARED + SPEC.evtchn_upcall_pending);
  const selector = () => m.readU64(SHARED + SPEC.evtchn_pending_sel);
  /** A guest port bound by a Dom0 backend: [guest port, Dom0 port]. */
  const channel = async (): Promise<[number, number]> => {
    const [rc, port] = await guest.allocUnbound(0);
    assert.equal(rc, 0n);
    const backend = machine.dom0.events.bindInterdomain(1, port);
    assert.equal(typeof backend, "number");
    return [port, backend as number];
  };
  return { machine, guest, delivered, bit, upcall, selector, channel };
}

Deno.test("a notification sets the pending bit, the selector bit and the upcall at the spec's offsets", async () => {
  const { machine, delivered, bit, upcall, selector, channel } = await setup();
  const ports: [number, number][] = [];
  for (let i = 0; i < 68; i++) ports.push(await channel()); // guest ports 3..70
  const [port, backend] = ports[ports.length - 1] as [number, number];
  assert.equal(port, 70);
  assert.equal(upcall(), 0);
  assert.equal(machine.dom0.events.send(backend), "ok");
  assert.equal(bit(SPEC.evtchn_pending, 70), 1);
  assert.equal(bit(SPEC.evtchn_pending, 69), 0);
  assert.equal(selector(), 1n << 1n); // word 70/64 = 1
  assert.equal(upcall(), 1);
  assert.deepEqual(delivered.at(-1), { domain: 1, port: 70, masked: false, upcall: true });
});

Deno.test("a masked port only gets its pending bit; unmask then raises the upcall", async () => {
  const { machine, guest, delivered, bit, upcall, selector, channel } = await setup();
  const [port, backend] = await channel();
  machine.memory.writeU8(SHARED + SPEC.evtchn_mask + (port >> 3), 1 << (port & 7));
  machine.dom0.events.send(backend);
  assert.equal(bit(SPEC.evtchn_pending, port), 1);
  assert.equal(selector(), 0n);
  assert.equal(upcall(), 0);
  assert.deepEqual(delivered.at(-1), { domain: 1, port, masked: true, upcall: false });
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_unmask, port), 0n);
  assert.equal(bit(SPEC.evtchn_mask, port), 0);
  assert.equal(selector(), 1n);
  assert.equal(upcall(), 1);
});

Deno.test("a port that is already pending is not delivered again", async () => {
  const { machine, delivered, channel } = await setup();
  const [, backend] = await channel();
  machine.dom0.events.send(backend);
  machine.dom0.events.send(backend);
  assert.equal(delivered.filter((e) => e.domain === 1).length, 1);
});

Deno.test("the guest's send reaches the backend's port; closing sends the peer back to unbound", async () => {
  const { machine, guest, bit, channel } = await setup();
  const [port, backend] = await channel();
  assert.equal(machine.dom0.events.testAndClearPending(backend), true); // bind marks it pending
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_send, port), 0n);
  assert.equal(machine.dom0.events.testAndClearPending(backend), true);
  machine.dom0.events.send(backend);
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_close, port), 0n);
  assert.equal(bit(SPEC.evtchn_pending, port), 0);
  const sends: Events["evtchn-send"][] = [];
  machine.trace.on("evtchn-send", (e) => sends.push(e));
  assert.equal(machine.dom0.events.send(backend), "ok");
  assert.deepEqual(sends, [{ fromDomain: 0, fromPort: backend, toDomain: null, toPort: null }]);
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_send, port), ERR.EINVAL);
});

Deno.test("poll returns at once when a listed port is pending, masked or not", async () => {
  const { machine, guest, channel } = await setup();
  const [port, backend] = await channel();
  machine.memory.writeU8(SHARED + SPEC.evtchn_mask + (port >> 3), 1 << (port & 7));
  machine.dom0.events.send(backend);
  assert.equal(await guest.poll([port], 5_000_000n), 0n);
  assert.equal(machine.clock.nowNs(), 0n);
});

Deno.test("poll with nothing pending moves virtual time to its timeout and returns 0", async () => {
  const { machine, guest, channel } = await setup();
  const [port] = await channel();
  assert.equal(await guest.poll([port], 2_000_000n), 0n);
  assert.equal(machine.clock.nowNs(), 2_000_000n);
  assert.equal(await guest.poll([port], 1_000_000n), 0n); // a past timeout: no time travel
  assert.equal(machine.clock.nowNs(), 2_000_000n);
  assert.equal(await guest.poll([port], 0n), 0n); // no timeout: a spurious wake-up, not a hang
});

Deno.test("poll is woken when the backends it lets run notify a listed port", async () => {
  const { machine, guest } = await setup();
  await guest.xsConnect();
  const m = machine.memory;
  const request = Uint8Array.from("\x02\0\0\0\x01\0\0\0\0\0\0\0\x06\0\0\0domid\0", (c) => c.charCodeAt(0));
  for (let i = 0; i < request.length; i++) m.writeU8(guest.xsRing + SPEC.xs_req + i, request[i] ?? 0);
  m.writeU32(guest.xsRing + SPEC.xs_req_prod, request.length);
  assert.equal(await guest.poll([guest.xsPort], 9_000_000_000n), 0n);
  assert.equal(machine.clock.nowNs(), 0n);
  assert.equal(m.readU32(guest.xsRing + SPEC.xs_rsp_prod), 16 + 1);
});

Deno.test("poll refuses more than 128 ports and ports beyond the 2-level range", async () => {
  const { guest } = await setup();
  assert.equal(await guest.poll(new Array(129).fill(1), 1n), ERR.EINVAL);
  assert.equal(await guest.poll([4096], 1n), ERR.EINVAL);
  assert.equal(await guest.poll([4095], 1n), 0n);
});

Deno.test("only a machine allowed to wait lets a console poll wait for terminal input", async () => {
  const machine = await testMachine({ waitForInput: true });
  const guest = new TestGuest(machine);
  const [, consoleGfn] = await guest.getParam(SPEC.HVM_PARAM_CONSOLE_PFN);
  const ring = Number(consoleGfn) * 0x1000;
  setTimeout(() => machine.consoleInput(Uint8Array.of(0x61)), 1);
  for (let round = 0; round < 100 && machine.memory.readU32(ring + SPEC.cons_in_prod) === 0; round++) {
    assert.equal(await guest.poll([2], 0n), 0n);
  }
  assert.equal(machine.memory.readU32(ring + SPEC.cons_in_prod), 1);
  assert.equal(machine.memory.readU8(ring + SPEC.cons_in), 0x61);
});
