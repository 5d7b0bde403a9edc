import assert from "node:assert/strict";
import { ERR, SPEC, TestGuest, testMachine } from "./_test_frontend.ts";

const UNMAPPED = 0x1000n; // nothing lives at 4 KiB
const HUGE = 1n << 60n; // beyond any JS-representable address

async function setup() {
  const machine = await testMachine();
  return { machine, guest: new TestGuest(machine) };
}

Deno.test("unknown hypercalls are -ENOSYS and the privileged ones -EPERM", async () => {
  const { guest } = await setup();
  assert.equal(await guest.call(0), ERR.ENOSYS);
  assert.equal(await guest.call(63), ERR.ENOSYS);
  assert.equal(await guest.call(36), ERR.EPERM); // domctl
  assert.equal(await guest.call(35), ERR.EPERM); // sysctl
});

Deno.test("a structure argument outside guest memory is -EFAULT, whatever the hypercall", async () => {
  const { guest } = await setup();
  for (const pointer of [UNMAPPED, HUGE]) {
    assert.equal(await guest.call(SPEC.memory_op, BigInt(SPEC.XENMEM_add_to_physmap), pointer), ERR.EFAULT);
    assert.equal(await guest.call(SPEC.event_channel_op, BigInt(SPEC.EVTCHNOP_send), pointer), ERR.EFAULT);
    assert.equal(await guest.call(SPEC.hvm_op, BigInt(SPEC.HVMOP_get_param), pointer), ERR.EFAULT);
    assert.equal(await guest.call(SPEC.sched_op, BigInt(SPEC.SCHEDOP_poll), pointer), ERR.EFAULT);
    assert.equal(
      await guest.call(SPEC.grant_table_op, BigInt(SPEC.GNTTABOP_query_size), pointer, 1n),
      ERR.EFAULT,
    );
    assert.equal(await guest.call(SPEC.xen_version, 1n, pointer), ERR.EFAULT);
  }
});

Deno.test("HVM parameters point at the magic pages and the toolstack's ports", async () => {
  const { guest } = await setup();
  assert.deepEqual(await guest.getParam(SPEC.HVM_PARAM_CONSOLE_PFN), [0n, 0x39000n]);
  assert.deepEqual(await guest.getParam(SPEC.HVM_PARAM_STORE_PFN), [0n, 0x39001n]);
  assert.deepEqual(await guest.getParam(SPEC.HVM_PARAM_STORE_EVTCHN), [0n, 1n]);
  assert.deepEqual(await guest.getParam(SPEC.HVM_PARAM_CONSOLE_EVTCHN), [0n, 2n]);
  assert.deepEqual(await guest.getParam(SPEC.HVM_PARAM_CALLBACK_IRQ), [0n, 0x020000000000021fn]);
  assert.equal((await guest.getParam(SPEC.HVM_PARAM_MONITOR_RING_PFN))[0], ERR.EPERM);
  assert.equal((await guest.getParam(99))[0], ERR.EINVAL);
});

Deno.test("a DomU may set none of the toolstack's HVM parameters, nor touch another domain's", async () => {
  const { guest, machine } = await setup();
  const m = machine.memory;
  const at = guest.scratch;
  const param = (domid: number, index: number) => {
    m.fill(at, 16, 0);
    m.writeU16(at, domid);
    m.writeU32(at + 4, index);
    m.writeU64(at + 8, 5n);
  };
  param(SPEC.DOMID_SELF, SPEC.HVM_PARAM_STORE_PFN);
  assert.equal(await guest.call(SPEC.hvm_op, BigInt(SPEC.HVMOP_set_param), BigInt(at)), ERR.EPERM);
  param(0, SPEC.HVM_PARAM_STORE_PFN);
  assert.equal(await guest.call(SPEC.hvm_op, BigInt(SPEC.HVMOP_get_param), BigInt(at)), ERR.EPERM);
  param(9, SPEC.HVM_PARAM_STORE_PFN);
  assert.equal(await guest.call(SPEC.hvm_op, BigInt(SPEC.HVMOP_get_param), BigInt(at)), ERR.ESRCH);
  assert.equal(await guest.call(SPEC.hvm_op, 7n, BigInt(at)), ERR.ENOSYS);
  assert.deepEqual(await guest.getParam(SPEC.HVM_PARAM_STORE_PFN), [0n, 0x39001n]);
});

Deno.test("shared_info maps once: a second mapping is -EBUSY until it is removed", async () => {
  const { guest, machine } = await setup();
  const gfn = 0x40300;
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 1, gfn), ERR.EINVAL);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 0, gfn), 0n);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 0, gfn), ERR.EBUSY);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 0, gfn + 1), ERR.EBUSY);
  assert.equal(await guest.removeFromPhysmap(gfn), 0n);
  assert.equal(machine.memory.isMapped(gfn * 0x1000, 1), false);
  assert.equal(await guest.removeFromPhysmap(gfn), ERR.ENOENT);
  assert.equal(await guest.populate([gfn]), 1n);
  assert.equal(machine.memory.isMapped(gfn * 0x1000, 0x1000), true);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 0, gfn), 0n);
});

Deno.test("add_to_physmap refuses bad spaces, frames and domains", async () => {
  const { guest } = await setup();
  assert.equal(await guest.addToPhysmap(2, 0, 0x40300), ERR.ENOSYS); // gmfn
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_grant_table, 64, 0x38000), ERR.EINVAL);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_grant_table, 0x8000_0000, 0x38000), ERR.EINVAL);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 0, 1 << 28), ERR.EINVAL);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 0, 0x40300, 0), ERR.EPERM);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_shared_info, 0, 0x40300, 4), ERR.ESRCH);
});

Deno.test("mapping grant frame 3 grows the table; query_size and setup_table report it", async () => {
  const { guest, machine } = await setup();
  const m = machine.memory;
  const at = guest.scratch;
  const query = async () => {
    m.fill(at, 16, 0);
    m.writeU16(at, SPEC.DOMID_SELF);
    assert.equal(await guest.call(SPEC.grant_table_op, BigInt(SPEC.GNTTABOP_query_size), BigInt(at), 1n), 0n);
    return [m.readU32(at + 4), m.readU32(at + 8), m.readU16(at + 12)];
  };
  assert.deepEqual(await query(), [1, 64, 0]);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_grant_table, 3, 0x38003), 0n);
  assert.deepEqual(await query(), [4, 64, 0]);
  const list = at + 0x100;
  m.fill(at, 24, 0);
  m.writeU16(at, SPEC.DOMID_SELF);
  m.writeU32(at + 4, 4);
  m.writeU64(at + 16, BigInt(list));
  assert.equal(await guest.call(SPEC.grant_table_op, BigInt(SPEC.GNTTABOP_setup_table), BigInt(at), 1n), 0n);
  assert.equal(m.readU16(at + 8), 0);
  assert.equal(m.readU64(list), 0xffff_ffff_ffff_ffffn);
  assert.equal(m.readU64(list + 24), 0x38003n);
  assert.equal(
    await guest.call(SPEC.grant_table_op, BigInt(SPEC.GNTTABOP_query_size), BigInt(at), 2n),
    ERR.EINVAL,
  );
  assert.equal(await guest.call(SPEC.grant_table_op, 0x1000n | 6n, BigInt(at), 1n), ERR.EINVAL);
  assert.equal(await guest.call(SPEC.grant_table_op, 0n, BigInt(at), 1n), ERR.ENOSYS); // map by the guest
  m.writeU16(at, 9);
  assert.equal(await guest.call(SPEC.grant_table_op, BigInt(SPEC.GNTTABOP_query_size), BigInt(at), 1n), 0n);
  assert.equal(m.readU16(at + 12), 0xfffe); // GNTST_bad_domain
});

Deno.test("populate_physmap counts the extents it did and stops at the domain's page budget", async () => {
  const { guest } = await setup();
  assert.equal(await guest.removeFromPhysmap(0x40300), 0n);
  assert.equal(await guest.removeFromPhysmap(0x40301), 0n);
  assert.equal(await guest.populate([0x40300, 0x40301]), 2n);
  assert.equal(await guest.populate([0x40301], 10), 0n); // above the DomU order limit
  assert.equal(await guest.populate([0x40401], 1), 0n); // misaligned
  const far = Array.from({ length: 300 }, (_, i) => 0x60000 + i);
  const done = await guest.populate(far);
  assert.ok(done > 0n && done < 300n, `populated ${done} of 300 beyond RAM`);
});

Deno.test("event channel ops answer Xen's errnos for bad ports and domains", async () => {
  const { guest } = await setup();
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_send, 1024), ERR.EINVAL);
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_send, 0), ERR.EINVAL);
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_send, 77), ERR.EINVAL);
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_close, 0), ERR.EINVAL);
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_unmask, 5000), ERR.EINVAL);
  assert.equal(await guest.portOp(SPEC.EVTCHNOP_unmask, 77), 0n);
  assert.deepEqual(await guest.allocUnbound(0, 0), [ERR.EPERM, 0]);
  assert.deepEqual(await guest.allocUnbound(0, 9), [ERR.ESRCH, 0]);
  assert.equal(await guest.call(SPEC.event_channel_op, 10n, BigInt(guest.scratch)), ERR.ENOSYS);
  const m = guest.memory;
  m.fill(guest.scratch, 12, 0);
  m.writeU16(guest.scratch, 0);
  m.writeU32(guest.scratch + 4, 1); // Dom0's xenstored port: already bound
  assert.equal(
    await guest.call(SPEC.event_channel_op, BigInt(SPEC.EVTCHNOP_bind_interdomain), BigInt(guest.scratch)),
    ERR.EINVAL,
  );
  m.writeU16(guest.scratch, 9);
  assert.equal(
    await guest.call(SPEC.event_channel_op, BigInt(SPEC.EVTCHNOP_bind_interdomain), BigInt(guest.scratch)),
    ERR.ESRCH,
  );
});

Deno.test("a DomU runs out of ports after 1023 with -ENOSPC", async () => {
  const { guest } = await setup();
  let last = 0;
  for (let i = 0; i < 1021; i++) {
    const [rc, port] = await guest.allocUnbound(0);
    assert.equal(rc, 0n);
    last = port;
  }
  assert.equal(last, 1023);
  assert.equal((await guest.allocUnbound(0))[0], ERR.ENOSPC);
});

Deno.test("EVTCHNOP_status describes the xenstore port as bound to Dom0", async () => {
  const { guest, machine } = await setup();
  const m = machine.memory;
  const at = guest.scratch;
  m.fill(at, 24, 0);
  m.writeU16(at, SPEC.DOMID_SELF);
  m.writeU32(at + 4, 1);
  assert.equal(await guest.call(SPEC.event_channel_op, BigInt(SPEC.EVTCHNOP_status), BigInt(at)), 0n);
  assert.equal(m.readU32(at + 8), 2); // interdomain
  assert.equal(m.readU16(at + 16), 0);
  assert.equal(m.readU32(at + 20), machine.xen.xenstored.report().details["port"]);
  m.writeU32(at + 4, 50);
  assert.equal(await guest.call(SPEC.event_channel_op, BigInt(SPEC.EVTCHNOP_status), BigInt(at)), 0n);
  assert.equal(m.readU32(at + 8), 0); // closed
  m.writeU32(at + 4, 4096);
  assert.equal(await guest.call(SPEC.event_channel_op, BigInt(SPEC.EVTCHNOP_status), BigInt(at)), ERR.EINVAL);
  m.writeU16(at, 0);
  m.writeU32(at + 4, 1);
  assert.equal(await guest.call(SPEC.event_channel_op, BigInt(SPEC.EVTCHNOP_status), BigInt(at)), ERR.EPERM);
});

Deno.test("xen_version reports 4.17, its strings and an Arm DomU's features", async () => {
  const { guest, machine } = await setup();
  const m = machine.memory;
  const at = guest.scratch;
  assert.equal(await guest.call(SPEC.xen_version, 0n), 0x4_0011n);
  assert.equal(await guest.call(SPEC.xen_version, 1n, BigInt(at)), 0n);
  assert.equal(String.fromCharCode(...m.read(at, 3)), ".0\0");
  m.writeU32(at, 0);
  assert.equal(await guest.call(SPEC.xen_version, 6n, BigInt(at)), 0n);
  assert.equal(m.readU32(at + 4) & 0b101, 0b101); // writable page tables, auto-translated physmap
  m.writeU32(at, 1);
  assert.equal(await guest.call(SPEC.xen_version, 6n, BigInt(at)), ERR.EINVAL);
  assert.equal(await guest.call(SPEC.xen_version, 7n), 4096n);
  assert.equal(await guest.call(SPEC.xen_version, 7n, BigInt(at)), ERR.EINVAL);
  assert.equal(await guest.call(SPEC.xen_version, 9n, BigInt(at)), ERR.EPERM);
  assert.equal(await guest.call(SPEC.xen_version, 42n, BigInt(at)), ERR.ENOSYS);
});

Deno.test("console_io is refused to a DomU by a release Xen and logged line by line by a debug one", async () => {
  const { guest } = await setup();
  const text = Uint8Array.from("hi\x01 there\nsecond", (c) => c.charCodeAt(0));
  guest.memory.write(guest.scratch, text);
  assert.equal(await guest.call(SPEC.console_io, 0n, BigInt(text.length), BigInt(guest.scratch)), ERR.EPERM);
  const debug = await testMachine({ xenConsoleWrites: true });
  const lines: string[] = [];
  debug.trace.on("xen-console", (e) => lines.push(e.line));
  const g = new TestGuest(debug);
  g.memory.write(g.scratch, text);
  assert.equal(await g.call(SPEC.console_io, 0n, BigInt(text.length), BigInt(g.scratch)), 0n);
  assert.deepEqual(lines, ["hi there"]);
  assert.equal(await g.call(SPEC.console_io, 1n, 1n, BigInt(g.scratch)), ERR.EPERM);
  assert.equal(await g.call(SPEC.console_io, 0n, 1n, UNMAPPED), ERR.EFAULT);
});

Deno.test("SCHEDOP_shutdown records the reason and traces it", async () => {
  const { guest, machine } = await setup();
  const seen: string[] = [];
  machine.trace.on("domain-shutdown", (e) => seen.push(e.name));
  guest.memory.writeU32(guest.scratch, 1);
  assert.equal(await guest.call(SPEC.sched_op, BigInt(SPEC.SCHEDOP_shutdown), BigInt(guest.scratch)), 0n);
  assert.equal(machine.shutdownReason, 1);
  assert.deepEqual(seen, ["reboot"]);
  assert.equal(await guest.call(SPEC.sched_op, 7n, BigInt(guest.scratch)), ERR.EPERM);
  assert.equal(await guest.call(SPEC.sched_op, 99n), ERR.ENOSYS);
});

Deno.test("vcpu_info registers once (-EBUSY after) and moves the upcall state to the guest page", async () => {
  const { guest, machine } = await setup();
  const m = machine.memory;
  const at = guest.scratch;
  const register = (vcpu: bigint, gfn: number, offset: number) => {
    m.fill(at, 16, 0);
    m.writeU64(at, BigInt(gfn));
    m.writeU32(at + 8, offset);
    return guest.call(SPEC.vcpu_op, 10n, vcpu, BigInt(at));
  };
  assert.equal(await register(1n, 0x40400, 0), ERR.ENOENT);
  assert.equal(await register(0n, 0x40400, 4090), ERR.EINVAL);
  assert.equal(await register(0n, 0x7_0000, 0), ERR.EINVAL);
  assert.equal(await register(0n, 0x40400, 64), 0n);
  assert.equal(m.readU8(0x4040_0000 + 64 + SPEC.evtchn_upcall_pending), 1);
  assert.equal(await register(0n, 0x40401, 0), ERR.EBUSY);
  assert.equal(await guest.call(SPEC.vcpu_op, 0n, 0n, BigInt(at)), ERR.EINVAL);
  assert.ok(machine.handoffReport().problems.some((p) => p.startsWith("vcpu_info is registered")));
});

Deno.test("every hypercall is traced with its sub-command and result", async () => {
  const { guest, machine } = await setup();
  const lines: string[] = [];
  machine.trace.on("hypercall", (e) => lines.push(`${e.name} ${e.op} ${e.result} ${e.error}`));
  await guest.portOp(SPEC.EVTCHNOP_send, 999);
  await guest.call(SPEC.xen_version, 0n);
  assert.deepEqual(lines, [
    "event_channel_op EVTCHNOP_send -22 EINVAL",
    "xen_version XENVER_version 262161 ",
  ]);
});
