import assert from "node:assert/strict";
import { SPEC, TestGuest, testMachine } from "./_test_frontend.ts";

async function setup() {
  const out: number[] = [];
  const machine = await testMachine({ consoleOut: (bytes) => out.push(...bytes) });
  const guest = new TestGuest(machine);
  const [, gfn] = await guest.getParam(SPEC.HVM_PARAM_CONSOLE_PFN);
  const [, port] = await guest.getParam(SPEC.HVM_PARAM_CONSOLE_EVTCHN);
  const ring = Number(gfn) * 0x1000;
  const m = machine.memory;
  /** The guest side of `__write_console`: bytes into out[], then notify. */
  const write = async (text: string) => {
    let prod = m.readU32(ring + SPEC.cons_out_prod);
    for (const c of text) {
      m.writeU8(ring + SPEC.cons_out + (prod & 2047), c.charCodeAt(0));
      prod = (prod + 1) >>> 0;
    }
    m.writeU32(ring + SPEC.cons_out_prod, prod);
    return await guest.portOp(SPEC.EVTCHNOP_send, Number(port));
  };
  return { machine, guest, ring, m, write, out, port: Number(port) };
}

Deno.test("the console page is served: connection 0, indexes at 0", async () => {
  const { m, ring } = await setup();
  assert.equal(m.readU8(ring + SPEC.cons_connection), 0);
  assert.equal(m.readU32(ring + SPEC.cons_out_prod), 0);
});

Deno.test("output the guest writes reaches the sink and the trace, and out_cons catches up", async () => {
  const { machine, m, ring, write, out } = await setup();
  const traced: string[] = [];
  machine.trace.on("console-output", (e) => traced.push(String.fromCharCode(...e.bytes)));
  assert.equal(await write("Core:  6 devices\n"), 0n);
  assert.equal(String.fromCharCode(...out), "Core:  6 devices\n");
  assert.deepEqual(traced, ["Core:  6 devices\n"]);
  assert.equal(m.readU32(ring + SPEC.cons_out_cons), m.readU32(ring + SPEC.cons_out_prod));
});

Deno.test("output wraps around the 2048-byte ring", async () => {
  const { m, ring, write, out } = await setup();
  m.writeU32(ring + SPEC.cons_out_cons, 0xffff_fff0);
  m.writeU32(ring + SPEC.cons_out_prod, 0xffff_fff0);
  await write("0123456789abcdefXYZ");
  assert.equal(String.fromCharCode(...out), "0123456789abcdefXYZ");
  assert.equal(m.readU32(ring + SPEC.cons_out_cons), 3);
});

Deno.test("terminal input enters the in[] ring at the next hand-over, with a notification", async () => {
  const { machine, guest, m, ring } = await setup();
  const sends: string[] = [];
  machine.trace.on("evtchn-send", (e) => sends.push(`${e.fromDomain}->${e.toDomain}:${e.toPort}`));
  machine.consoleInput(Uint8Array.from("ls\r", (c) => c.charCodeAt(0)));
  assert.equal(m.readU32(ring + SPEC.cons_in_prod), 0);
  await guest.yield();
  assert.equal(m.readU32(ring + SPEC.cons_in_prod), 3);
  assert.equal(String.fromCharCode(...m.read(ring + SPEC.cons_in, 3)), "ls\r");
  assert.deepEqual(sends, ["0->1:2"]);
});

Deno.test("input waits while the guest's in[] ring is full", async () => {
  const { machine, guest, m, ring } = await setup();
  machine.consoleInput(new Uint8Array(1500).fill(0x41));
  await guest.yield();
  assert.equal(m.readU32(ring + SPEC.cons_in_prod), 1024);
  m.writeU32(ring + SPEC.cons_in_cons, 1000);
  await guest.yield();
  assert.equal(m.readU32(ring + SPEC.cons_in_prod), 1500);
});

Deno.test("indexes more than a ring apart are left alone and reported", async () => {
  const { machine, m, ring, write, out } = await setup();
  m.writeU32(ring + SPEC.cons_out_cons, 0);
  m.writeU32(ring + SPEC.cons_out_prod, 5000);
  await write("");
  assert.deepEqual(out, []);
  assert.equal(m.readU32(ring + SPEC.cons_out_cons), 0);
  const report = machine.handoffReport().backends.find((b) => b.name === "console");
  assert.equal(report?.state, "ring error");
});

Deno.test("without a sink the machine collects the console output", async () => {
  const machine = await testMachine();
  const guest = new TestGuest(machine);
  const ring = 0x39000 * 0x1000;
  machine.memory.write(ring + SPEC.cons_out, Uint8Array.of(0x68, 0x69));
  machine.memory.writeU32(ring + SPEC.cons_out_prod, 2);
  await guest.yield();
  assert.deepEqual(machine.takeConsoleOutput(), Uint8Array.of(0x68, 0x69));
  assert.equal(machine.takeConsoleOutput().length, 0);
});
