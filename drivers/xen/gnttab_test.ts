import assert from "node:assert/strict";
import { FakeXen, GNTTAB_BASE, HEAP_SIZE, HEAP_START } from "./_fake_xen.ts";
import { Malloc } from "../../board/malloc.ts";
import { Hypercalls } from "./hypercall.ts";
import {
  GNTTAB_NR_RESERVED_ENTRIES,
  GrantTable,
  GrantTableFullError,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_writing,
  NR_GRANT_ENTRIES,
} from "./gnttab.ts";
import { __HYPERVISOR_memory_op, XENMAPSPACE_grant_table, XENMEM_add_to_physmap } from "./abi.ts";
import { XenError } from "./errors.ts";

async function setup() {
  const xen = new FakeXen();
  const hc = Hypercalls.create(xen, new Malloc(HEAP_START, HEAP_SIZE));
  const log: string[] = [];
  const table = new GrantTable(hc, GNTTAB_BASE, { log: (t) => log.push(t) });
  await table.init();
  return { xen, table, log };
}

Deno.test("init maps frame 0 of the grant table at the device tree's base", async () => {
  const { xen } = await setup();
  const add = xen.calls.find((c) => c.nr === __HYPERVISOR_memory_op && c.cmd === XENMEM_add_to_physmap);
  assert.deepEqual(add?.detail, {
    space: XENMAPSPACE_grant_table,
    idx: 0,
    gpfn: GNTTAB_BASE / 0x1000,
    domid: 0x7ff0,
  });
});

Deno.test("a refused mapping prints U-Boot's message and throws", async () => {
  const xen = new FakeXen();
  xen.override = (nr) => (nr === __HYPERVISOR_memory_op ? -16n : undefined);
  const log: string[] = [];
  const table = new GrantTable(Hypercalls.create(xen, new Malloc(HEAP_START, HEAP_SIZE)), GNTTAB_BASE, {
    log: (t) => log.push(t),
  });
  await assert.rejects(table.init(), XenError);
  assert.deepEqual(log, ["XENMEM_add_to_physmap failed; status = -16\n"]);
});

Deno.test("refs are handed out LIFO from 511 and never below 8", async () => {
  const { table } = await setup();
  assert.equal(table.grantAccess(0, 0x40001, false), NR_GRANT_ENTRIES - 1);
  assert.equal(table.grantAccess(0, 0x40002, false), NR_GRANT_ENTRIES - 2);
  assert.equal(table.freeCount(), NR_GRANT_ENTRIES - GNTTAB_NR_RESERVED_ENTRIES - 2);
});

Deno.test("a grant writes frame, domid and then the flags of a v1 entry", async () => {
  const { xen, table } = await setup();
  const rw = table.grantAccess(0, 0x40123, false);
  const ro = table.grantAccess(3, 0x40456, true);
  const m = xen.memory;
  assert.equal(m.readU16(GNTTAB_BASE + rw * 8), GTF_permit_access);
  assert.equal(m.readU16(GNTTAB_BASE + rw * 8 + 2), 0);
  assert.equal(m.readU32(GNTTAB_BASE + rw * 8 + 4), 0x40123);
  assert.equal(m.readU16(GNTTAB_BASE + ro * 8), GTF_permit_access | GTF_readonly);
  assert.equal(m.readU16(GNTTAB_BASE + ro * 8 + 2), 3);
});

Deno.test("ending a grant the backend still maps is refused and the ref is not reused", async () => {
  const { xen, table, log } = await setup();
  const ref = table.grantAccess(0, 0x40001, false);
  const flags = GNTTAB_BASE + ref * 8;
  xen.memory.writeU16(flags, GTF_permit_access | GTF_reading | GTF_writing); // Xen: mapped
  assert.equal(table.endAccess(ref), false);
  assert.deepEqual(log, ["WARNING: g.e. still in use! (19)\n"]);
  assert.deepEqual(table.activeRefs(), [ref]);
  assert.notEqual(table.grantAccess(0, 0x40002, false), ref);
  // The backend unmaps: now the end succeeds, the entry is cleared and the ref is free again.
  xen.memory.writeU16(flags, GTF_permit_access);
  assert.equal(table.endAccess(ref), true);
  assert.equal(xen.memory.readU16(flags), 0);
  assert.equal(table.grantAccess(0, 0x40003, false), ref);
});

Deno.test("ending a ref that was never granted is a bug", async () => {
  const { table } = await setup();
  assert.throws(() => table.endAccess(100), RangeError);
  assert.throws(() => table.endAccess(1), RangeError);
});

Deno.test("running out of refs throws GrantTableFullError", async () => {
  const { table } = await setup();
  for (let i = GNTTAB_NR_RESERVED_ENTRIES; i < NR_GRANT_ENTRIES; i++) table.grantAccess(0, i, true);
  assert.throws(() => table.grantAccess(0, 1, true), GrantTableFullError);
});

Deno.test("fini ends free grants, reports those in use, and unmaps the frame", async () => {
  const { xen, table } = await setup();
  const a = table.grantAccess(0, 0x40001, false);
  const b = table.grantAccess(0, 0x40002, false);
  xen.memory.writeU16(GNTTAB_BASE + b * 8, GTF_permit_access | GTF_reading);
  assert.deepEqual(await table.fini(), [b]);
  assert.equal(xen.gnttabMapped, undefined);
  assert.ok(a !== b);
});

Deno.test("grants to reserved domain ids are refused", async () => {
  const { table } = await setup();
  assert.throws(() => table.grantAccess(0x7ff0, 1, true), RangeError);
});
