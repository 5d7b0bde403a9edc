import assert from "node:assert/strict";
import { FakeXen, FakeXenstored, GNTTAB_BASE, HEAP_SIZE, HEAP_START } from "./_fake_xen.ts";
import { Fdt, fdtRegs, fdtStringList, fdtU32 } from "../../lib/fdt/mod.ts";
import { Malloc } from "../../board/malloc.ts";
import { gnttabBaseFromFdt, xenFini, xenInit } from "./xen_init.ts";
import { XenError } from "./errors.ts";
import {
  __HYPERVISOR_event_channel_op,
  __HYPERVISOR_hvm_op,
  __HYPERVISOR_memory_op,
  EVTCHNOP_close,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
  HVMOP_get_param,
  XENMAPSPACE_grant_table,
  XENMAPSPACE_shared_info,
  XENMEM_add_to_physmap,
  XENMEM_populate_physmap,
  XENMEM_remove_from_physmap,
} from "./abi.ts";

const BOARD = { heapStart: HEAP_START, heapSize: HEAP_SIZE };

function controlFdt(options: { compatible?: string[]; reg?: boolean } = {}): Fdt {
  const fdt = Fdt.createEmptyTree(2048);
  if (fdt instanceof Error) throw fdt;
  fdt.setProp(0, "#address-cells", fdtU32(2));
  fdt.setProp(0, "#size-cells", fdtU32(2));
  const node = fdt.addSubnode(0, "hypervisor");
  if (node instanceof Error) throw node;
  fdt.setProp(node, "compatible", fdtStringList(options.compatible ?? ["xen,xen-4.17", "xen,xen"]));
  if (options.reg !== false) {
    fdt.setProp(node, "reg", fdtRegs(2, 2, [{ address: BigInt(GNTTAB_BASE), size: 0x100_0000n }]));
  }
  return fdt;
}

Deno.test("the grant table base is reg[0] of the xen,xen node", () => {
  assert.equal(gnttabBaseFromFdt(controlFdt()), GNTTAB_BASE);
});

Deno.test("a device tree without xen,xen or without reg gives U-Boot's messages", () => {
  assert.throws(
    () => gnttabBaseFromFdt(controlFdt({ compatible: ["other"] })),
    /No xen,xen compatible found/,
  );
  assert.throws(
    () => gnttabBaseFromFdt(controlFdt({ reg: false })),
    /No grant table base in the device tree/,
  );
});

Deno.test("xenInit runs U-Boot's order: shared_info, store params, grant table", async () => {
  const xen = new FakeXen();
  new FakeXenstored(xen).attach();
  const drivers = await xenInit(xen, BOARD, controlFdt(), { clock: xen.clock, replyTimeoutMs: 50 });
  const steps = xen.calls.map((c) =>
    c.nr === __HYPERVISOR_memory_op && c.cmd === XENMEM_add_to_physmap
      ? `map ${c.detail.space}`
      : c.nr === __HYPERVISOR_hvm_op && c.cmd === HVMOP_get_param
      ? `param ${c.detail.index}`
      : `other ${c.nr}`
  );
  assert.deepEqual(steps, [
    `map ${XENMAPSPACE_shared_info}`,
    `param ${HVM_PARAM_STORE_EVTCHN}`,
    `param ${HVM_PARAM_STORE_PFN}`,
    `map ${XENMAPSPACE_grant_table}`,
  ]);
  assert.equal(xen.sharedInfo, drivers.sharedInfo.address);
  assert.equal(drivers.sharedInfo.address % 0x1000, 0);
  assert.ok(drivers.heap.contains(drivers.sharedInfo.address, 0x1000));
  assert.ok(drivers.sharedInfo.isMasked(1) && drivers.sharedInfo.isMasked(4095));
  assert.equal(await drivers.xenbus.read("domid"), "1");
});

Deno.test("xenFini leaves nothing behind: grants ended, ports closed, shared_info back to RAM", async () => {
  const xen = new FakeXen();
  new FakeXenstored(xen).attach();
  const heap = new Malloc(HEAP_START, HEAP_SIZE);
  const log: string[] = [];
  const drivers = await xenInit(xen, BOARD, controlFdt(), {
    heap,
    clock: xen.clock,
    replyTimeoutMs: 50,
    log: (t) => log.push(t),
  });
  const usedBefore = heap.usedBytes();
  const port = await drivers.events.allocUnbound(0);
  drivers.events.bind(2, () => {}); // the console's port: attached only
  const ref = drivers.gnttab.grantAccess(0, 0x40001, false);
  await drivers.xenbus.watch("device", "w", () => {});
  const sharedGpfn = drivers.sharedInfo.address / 0x1000;

  const report = await xenFini(drivers);
  assert.deepEqual(report, {
    grantsInUse: [],
    portsClosed: [port],
    watchesRemoved: 1,
    transactionsAborted: 0,
  });
  assert.deepEqual(log, [`port ${port} still bound!\n`]);
  assert.equal(xen.memory.isMapped(GNTTAB_BASE, 0x1000), false, "grant frame unmapped");
  assert.equal(xen.sharedInfo, undefined);
  const closes = xen.calls.filter((c) => c.nr === __HYPERVISOR_event_channel_op && c.cmd === EVTCHNOP_close);
  assert.deepEqual(closes.map((c) => c.detail.port), [port], "store and console ports stay open");
  const removes = xen.calls.filter((c) =>
    c.nr === __HYPERVISOR_memory_op && c.cmd === XENMEM_remove_from_physmap
  );
  assert.deepEqual(removes.map((c) => c.detail.gpfn), [GNTTAB_BASE / 0x1000, sharedGpfn]);
  const populate = xen.calls.find((c) =>
    c.nr === __HYPERVISOR_memory_op && c.cmd === XENMEM_populate_physmap
  );
  assert.deepEqual(populate?.detail, { nr: 1, gpfn: sharedGpfn });
  assert.equal(heap.usedBytes(), usedBefore - 0x1000, "the shared_info page went back to the heap");
  assert.ok(ref >= 8);
});

Deno.test("a refused shared_info mapping throws before anything else happens", async () => {
  const xen = new FakeXen();
  xen.override = (
    nr,
    cmd,
  ) => (nr === __HYPERVISOR_memory_op && cmd === XENMEM_add_to_physmap ? -16n : undefined);
  await assert.rejects(xenInit(xen, BOARD, controlFdt(), { clock: xen.clock }), XenError);
  assert.equal(xen.calls.length, 1);
});

Deno.test("a missing store parameter prints U-Boot's message and throws", async () => {
  const xen = new FakeXen();
  xen.params.delete(HVM_PARAM_STORE_EVTCHN);
  const log: string[] = [];
  await assert.rejects(
    xenInit(xen, BOARD, controlFdt(), { clock: xen.clock, log: (t) => log.push(t) }),
    XenError,
  );
  assert.deepEqual(log, ["Cannot get hvm parameter STORE_EVTCHN (2): -22!\n"]);
});
