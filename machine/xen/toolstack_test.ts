import assert from "node:assert/strict";
import { formatTraceLine } from "../trace.ts";
import { formatHandoffReport } from "./handoff.ts";
import { SPEC, TestGuest, testMachine, XS } from "./_test_frontend.ts";

Deno.test("the magic pages exist at GUEST_MAGIC_BASE; the console page reads as served, xenstore zeroed", async () => {
  const machine = await testMachine();
  const m = machine.memory;
  assert.ok(m.isMapped(0x3900_0000, 4 * 0x1000));
  assert.ok(!m.isMapped(0x3900_4000, 1));
  assert.ok(!m.isMapped(0x3800_0000, 1)); // grant frames appear only when the guest maps them
  assert.equal(m.readU32(0x3900_1000 + SPEC.xs_req_prod), 0);
  assert.equal(m.readU8(0x3900_0000 + SPEC.cons_connection), 0);
});

Deno.test("the toolstack's ports are 1 (xenstore) and 2 (console), bound by Dom0's backends", async () => {
  const machine = await testMachine();
  const report = machine.handoffReport();
  assert.deepEqual(
    report.eventChannels.map((c) => [c.port, c.state, c.remoteDomain, c.toolstack]),
    [[1, "interdomain", 0, true], [2, "interdomain", 0, true]],
  );
});

Deno.test("libxl's XenStore tree: keys, values and permissions", async () => {
  const machine = await testMachine();
  const dump = machine.xen.xenstored.db.dump();
  for (
    const line of [
      '/local/domain/1 = "" (n0,r1)',
      '/local/domain/1/name = "pvboot" (n0,r1)',
      '/local/domain/1/domid = "1" (n0,r1)',
      '/local/domain/1/memory/static-max = "65536" (n0,r1)',
      '/local/domain/1/cpu/0/availability = "online" (n0,r1)',
      '/local/domain/1/store/port = "1" (n0,r1)',
      '/local/domain/1/store/ring-ref = "233473" (n0,r1)',
      '/local/domain/1/control/shutdown = "" (n1)',
      '/local/domain/1/data = "" (n1)',
      '/local/domain/1/device = "" (n0,r1)',
      '/local/domain/1/device/suspend/event-channel = "" (n1)',
      '/local/domain/1/console/backend = "/local/domain/0/backend/console/1/0" (n0,r1)',
      '/local/domain/1/console/backend-id = "0" (n1,r0)',
      '/local/domain/1/console/ring-ref = "233472" (n0,r1)',
      '/local/domain/1/console/port = "2" (n0,r1)',
      '/local/domain/1/console/type = "xenconsoled" (n0,r1)',
      '/local/domain/0/backend/console/1/0/state = "1" (n0,r1)',
      '/local/domain/0/backend/console/1/0/protocol = "vt100" (n0,r1)',
      '/vm/00000000-0000-0000-0000-000000000001/name = "pvboot" (n0,r1)',
      '/libxl/1/type = "pvh" (n0)',
    ]
  ) assert.ok(dump.includes(line), line);
});

Deno.test("a fresh machine hands over cleanly", async () => {
  const machine = await testMachine();
  assert.deepEqual(machine.handoffReport().problems, []);
  assert.equal(formatHandoffReport(machine.handoffReport()).at(-1), "handoff: clean");
});

Deno.test("the handoff report names what a guest left behind", async () => {
  const machine = await testMachine();
  const guest = new TestGuest(machine);
  await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 0, 0x40600);
  await guest.addToPhysmap(SPEC.XENMAPSPACE_grant_table, 0, 0x38000);
  machine.memory.writeU32(0x3800_0000 + 9 * 8 + SPEC.gnt_frame, 0x40601);
  machine.memory.writeU16(0x3800_0000 + 9 * 8 + SPEC.gnt_flags, 1);
  const [, port] = await guest.allocUnbound(0);
  await guest.removeFromPhysmap(0x40700);
  await guest.portOp(SPEC.EVTCHNOP_close, 2);
  const problems = machine.handoffReport().problems;
  assert.deepEqual(problems, [
    "grant 9 still grants frame 0x40601 to d0",
    `event channel ${port} is still allocated (unbound, for d0)`,
    "the toolstack's event channel 2 was closed",
    "grant frame 0 is still mapped at gfn 0x38000 (the next add_to_physmap gets EBUSY)",
    "shared_info is still mapped at gfn 0x40600 (the next add_to_physmap gets EBUSY)",
    "RAM frames 0x40700+1 were removed and not populated again",
  ]);
});

/** A short scripted guest session: XenStore traffic, console output, a poll timeout. */
async function session(): Promise<string[]> {
  const machine = await testMachine();
  const lines: string[] = [];
  machine.trace.onAny(({ kind, event }) => lines.push(formatTraceLine(kind, event)));
  const guest = new TestGuest(machine);
  await guest.xsConnect();
  await guest.xs(XS.WATCH, ["data", "t"]);
  await guest.xs(XS.WRITE, ["data/x"], "1");
  await guest.xsDrain();
  machine.memory.write(0x3900_0000 + SPEC.cons_out, Uint8Array.of(0x6f, 0x6b));
  machine.memory.writeU32(0x3900_0000 + SPEC.cons_out_prod, 2);
  await guest.portOp(SPEC.EVTCHNOP_send, 2);
  await guest.poll([1], 1_000_000n);
  return lines;
}

Deno.test("the same inputs give the same trace", async () => {
  const first = await session();
  const second = await session();
  assert.ok(first.length > 20);
  assert.deepEqual(second, first);
  assert.ok(first.includes('xenstore-msg guest→xenstored WRITE req=2 tx=0 "data/x\\01"'));
  assert.ok(first.includes('console-output "ok"'));
});
