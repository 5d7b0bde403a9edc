import assert from "node:assert/strict";
import { GrantError, type GrantMapping } from "./grant_table.ts";
import { SPEC, TestGuest, testMachine } from "./_test_frontend.ts";
import type { Events } from "../trace.ts";

const GNTTAB_GFN = 0x38000;
const GNTTAB = GNTTAB_GFN * 0x1000;
const PAGE_GFN = 0x40200; // a RAM page the guest grants
const PAGE = PAGE_GFN * 0x1000;
const GTF_permit_access = 1;
const GTF_readonly = 4;
const GTF_reading = 8;
const GTF_writing = 16;

async function setup() {
  const machine = await testMachine();
  const guest = new TestGuest(machine);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_grant_table, 0, GNTTAB_GFN), 0n);
  const refused: Events["grant-refused"][] = [];
  machine.trace.on("grant-refused", (e) => refused.push(e));
  const grant = (ref: number, flags: number, domid = 0, frame = PAGE_GFN) => {
    const at = GNTTAB + ref * 8;
    machine.memory.writeU32(at + SPEC.gnt_frame, frame);
    machine.memory.writeU16(at + SPEC.gnt_domid, domid);
    machine.memory.writeU16(at + SPEC.gnt_flags, flags);
  };
  const flags = (ref: number) => machine.memory.readU16(GNTTAB + ref * 8 + SPEC.gnt_flags);
  return { machine, guest, refused, grant, flags, grants: machine.dom0.grants };
}

function mapped(value: GrantMapping | GrantError): GrantMapping {
  if (value instanceof GrantError) throw value;
  return value;
}

Deno.test("the toolstack's grants 0 and 1 name the console and xenstore pages, held by their backends", async () => {
  const { flags, machine } = await setup();
  const held = GTF_permit_access | GTF_reading | GTF_writing;
  assert.equal(flags(0), held);
  assert.equal(flags(1), held);
  assert.equal(machine.memory.readU32(GNTTAB + SPEC.gnt_frame), 0x39000);
  assert.equal(machine.memory.readU32(GNTTAB + 8 + SPEC.gnt_frame), 0x39001);
  assert.equal(machine.memory.readU16(GNTTAB + 8 + SPEC.gnt_domid), 0);
});

Deno.test("a writable mapping sets GTF_reading and GTF_writing until it is unmapped", async () => {
  const { grant, flags, grants, machine } = await setup();
  grant(8, GTF_permit_access);
  const mapping = mapped(grants.map(1, 8, { writable: true }));
  assert.equal(flags(8), GTF_permit_access | GTF_reading | GTF_writing);
  assert.equal(mapping.write(16, new Uint8Array([7, 8, 9])), undefined);
  assert.deepEqual([...machine.memory.read(PAGE + 16, 3)], [7, 8, 9]);
  assert.deepEqual(mapping.read(16, 3), new Uint8Array([7, 8, 9]));
  mapping.unmap();
  assert.equal(flags(8), GTF_permit_access);
  assert.throws(() => mapping.read(0, 1), RangeError);
});

Deno.test("GTF_reading stays while any mapping remains and GTF_writing while a writable one does", async () => {
  const { grant, flags, grants } = await setup();
  grant(9, GTF_permit_access);
  const reader = mapped(grants.map(1, 9, { writable: false }));
  const writer = mapped(grants.map(1, 9, { writable: true }));
  assert.equal(flags(9), GTF_permit_access | GTF_reading | GTF_writing);
  writer.unmap();
  assert.equal(flags(9), GTF_permit_access | GTF_reading);
  reader.unmap();
  assert.equal(flags(9), GTF_permit_access);
});

Deno.test("copies go through the grant and hold it only while they run", async () => {
  const { grant, flags, grants, machine } = await setup();
  grant(10, GTF_permit_access);
  assert.equal(grants.copyTo(1, 10, 100, new Uint8Array([1, 2, 3, 4])), undefined);
  assert.deepEqual([...machine.memory.read(PAGE + 100, 4)], [1, 2, 3, 4]);
  assert.deepEqual(grants.copyFrom(1, 10, 101, 2), new Uint8Array([2, 3]));
  assert.equal(flags(10), GTF_permit_access);
});

Deno.test("refused accesses return an error value, trace why, and leave guest memory alone", async () => {
  const { grant, grants, refused, machine } = await setup();
  machine.memory.fill(PAGE, 0x1000, 0xaa);
  grant(11, 0); // not in use
  grant(12, GTF_permit_access, 5); // for another domain
  grant(13, GTF_permit_access | GTF_readonly);
  grant(14, GTF_permit_access, 0, 0x7_0000); // not guest memory
  const cases: [GrantMapping | GrantError | Uint8Array | undefined, number, number, RegExp][] = [
    [grants.map(1, 512, { writable: false }), 512, -3, /beyond the table/],
    [grants.map(1, 11, { writable: false }), 11, -1, /not granted/],
    [grants.map(1, 12, { writable: false }), 12, -1, /grants d5, not d0/],
    [grants.map(1, 13, { writable: true }), 13, -1, /read-only/],
    [grants.copyTo(1, 13, 0, new Uint8Array([1])), 13, -1, /read-only/],
    [grants.map(1, 14, { writable: false }), 14, -9, /not guest memory/],
    [grants.copyFrom(1, 13, 4000, 200), 13, -10, /runs past the page/],
    [grants.map(7, 8, { writable: false }), 8, -2, /no such domain/],
  ];
  for (const [result, ref, status, why] of cases) {
    assert.ok(result instanceof GrantError, `ref ${ref} should be refused`);
    assert.equal(result.status, status);
    assert.equal(result.ref, ref);
    assert.match(result.why, why);
  }
  assert.equal(refused.length, cases.length);
  assert.deepEqual(refused[2], { domain: 1, ref: 12, by: 0, why: "entry grants d5, not d0" });
  const readOnly = mapped(grants.map(1, 13, { writable: false }));
  const denied = readOnly.write(0, new Uint8Array([1]));
  assert.ok(denied instanceof GrantError && /read-only mapping/.test(denied.why));
  readOnly.unmap();
  assert.deepEqual(machine.memory.read(PAGE, 0x1000), new Uint8Array(0x1000).fill(0xaa));
});

Deno.test("ending a grant while it is mapped leaves it in use until the backend unmaps it", async () => {
  const { grant, flags, grants, machine } = await setup();
  grant(20, GTF_permit_access);
  const mapping = mapped(grants.map(1, 20, { writable: true }));
  // A correct end reads the flags first and sees the grant is held.
  assert.notEqual(flags(20) & (GTF_reading | GTF_writing), 0);
  // A careless guest clears the entry anyway: Xen keeps the mapping.
  machine.memory.writeU16(GNTTAB + 20 * 8 + SPEC.gnt_flags, 0);
  const active = machine.handoffReport().grants.find((g) => g.ref === 20);
  assert.deepEqual(active && [active.readPins, active.writePins], [1, 1]);
  assert.ok(machine.handoffReport().problems.some((p) => p.startsWith("grant 20 is still in use")));
  assert.equal(mapping.write(0, new Uint8Array([5])), undefined);
  // A new mapping by the same backend still works while the entry is pinned; nobody else may pin it.
  const again = mapped(grants.map(1, 20, { writable: false }));
  again.unmap();
  mapping.unmap();
  assert.equal(flags(20), 0);
  assert.equal(machine.handoffReport().grants.find((g) => g.ref === 20), undefined);
});
