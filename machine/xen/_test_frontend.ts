/**
 * Test helper (not a test): a minimal guest that talks to the emulated Xen only across the guest
 * boundary — hypercall registers and guest memory laid out as xen-spec.md gives it. Offsets are written
 * here from the spec, not taken from the modules under test, so the tests check the byte layouts too.
 *
 * @module
 */

import assert from "node:assert/strict";
import { completeGuestConfig } from "../guest_config.ts";
import { createMachine, type Machine, type MachineIo } from "../machine.ts";
import { TraceBus } from "../trace.ts";

/** Numbers and offsets from xen-spec.md, for the tests. */
export const SPEC = {
  memory_op: 12,
  xen_version: 17,
  console_io: 18,
  grant_table_op: 20,
  vcpu_op: 24,
  sched_op: 29,
  event_channel_op: 32,
  hvm_op: 34,
  DOMID_SELF: 0x7ff0,
  XENMEM_populate_physmap: 6,
  XENMEM_add_to_physmap: 7,
  XENMEM_remove_from_physmap: 15,
  XENMAPSPACE_shared_info: 0,
  XENMAPSPACE_grant_table: 1,
  EVTCHNOP_bind_interdomain: 0,
  EVTCHNOP_close: 3,
  EVTCHNOP_send: 4,
  EVTCHNOP_status: 5,
  EVTCHNOP_alloc_unbound: 6,
  EVTCHNOP_unmask: 9,
  GNTTABOP_setup_table: 2,
  GNTTABOP_query_size: 6,
  HVMOP_set_param: 0,
  HVMOP_get_param: 1,
  HVM_PARAM_CALLBACK_IRQ: 0,
  HVM_PARAM_STORE_PFN: 1,
  HVM_PARAM_STORE_EVTCHN: 2,
  HVM_PARAM_CONSOLE_PFN: 17,
  HVM_PARAM_CONSOLE_EVTCHN: 18,
  HVM_PARAM_MONITOR_RING_PFN: 28,
  SCHEDOP_yield: 0,
  SCHEDOP_shutdown: 2,
  SCHEDOP_poll: 3,
  // shared_info (arm64)
  evtchn_upcall_pending: 0,
  evtchn_pending_sel: 8,
  evtchn_pending: 48,
  evtchn_mask: 560,
  // xenstore_domain_interface
  xs_req: 0,
  xs_rsp: 1024,
  xs_req_cons: 2048,
  xs_req_prod: 2052,
  xs_rsp_cons: 2056,
  xs_rsp_prod: 2060,
  xs_server_features: 2064,
  xs_connection: 2068,
  xs_error: 2072,
  // xencons_interface
  cons_in: 0,
  cons_out: 1024,
  cons_in_cons: 3072,
  cons_in_prod: 3076,
  cons_out_cons: 3080,
  cons_out_prod: 3084,
  cons_connection: 3088,
  // grant_entry_v1
  gnt_flags: 0,
  gnt_domid: 2,
  gnt_frame: 4,
} as const;

/** Errno values the tests expect (public/errno.h). */
export const ERR = {
  EPERM: -1n,
  ENOENT: -2n,
  ESRCH: -3n,
  EAGAIN: -11n,
  EFAULT: -14n,
  EBUSY: -16n,
  EINVAL: -22n,
  ENOSPC: -28n,
  ENOSYS: -38n,
} as const;

/** xs_wire.h message types. */
export const XS = {
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  RESET_WATCHES: 21,
} as const;

const RAM_BASE = 0x4000_0000;
const PAGE = 0x1000;
const RING = 1024;
/** Hand-overs a test waits for a reply before it gives up (the emulation answers in one). */
const MAX_WAITS = 64;

/** A XenStore message as the test guest received it. */
export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

/** Bytes of `text` (one per char). */
export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Text of `data` (one char per byte). */
export function text(data: Uint8Array): string {
  return String.fromCharCode(...data);
}

/** A 64 MiB machine for tests, with its trace bus. */
export async function testMachine(io: Partial<MachineIo> = {}): Promise<Machine> {
  const base: MachineIo = { readFile: () => Promise.reject(new Error("Cannot read files in this test")) };
  return await createMachine(completeGuestConfig({ memoryMiB: 64 }), {
    ...base,
    trace: new TraceBus(),
    ...io,
  });
}

/** The test guest. */
export class TestGuest {
  /** The machine. */
  readonly machine: Machine;
  /** Scratch page for hypercall structures (RAM base + 1 MiB). */
  readonly scratch = RAM_BASE + 0x10_0000;
  /** Watch events received while waiting for replies. */
  readonly events: XsMessage[] = [];
  #reqId = 0;
  #ring = 0;
  #port = 0;

  /** A guest on `machine`. */
  constructor(machine: Machine) {
    this.machine = machine;
  }

  /** Guest memory. */
  get memory(): Machine["memory"] {
    return this.machine.memory;
  }

  /** A raw hypercall. */
  call(x16: number, x0 = 0n, x1 = 0n, x2 = 0n): Promise<bigint> {
    return this.machine.hypercall({ x16, x0, x1, x2, x3: 0n, x4: 0n });
  }

  /** `HVMOP_get_param` {DOMID_SELF, index}: [rc, value]. */
  async getParam(index: number): Promise<[bigint, bigint]> {
    const m = this.memory;
    m.fill(this.scratch, 16, 0);
    m.writeU16(this.scratch, SPEC.DOMID_SELF);
    m.writeU32(this.scratch + 4, index);
    const rc = await this.call(SPEC.hvm_op, BigInt(SPEC.HVMOP_get_param), BigInt(this.scratch));
    return [rc, m.readU64(this.scratch + 8)];
  }

  /** An event channel op on a one-port structure (send, close, unmask). */
  portOp(cmd: number, port: number): Promise<bigint> {
    this.memory.writeU32(this.scratch, port);
    return this.call(SPEC.event_channel_op, BigInt(cmd), BigInt(this.scratch));
  }

  /** `EVTCHNOP_alloc_unbound` {dom, remote}: [rc, port]. */
  async allocUnbound(remote: number, dom: number = SPEC.DOMID_SELF): Promise<[bigint, number]> {
    const m = this.memory;
    m.fill(this.scratch, 8, 0);
    m.writeU16(this.scratch, dom);
    m.writeU16(this.scratch + 2, remote);
    const rc = await this.call(
      SPEC.event_channel_op,
      BigInt(SPEC.EVTCHNOP_alloc_unbound),
      BigInt(this.scratch),
    );
    return [rc, m.readU32(this.scratch + 4)];
  }

  /** `XENMEM_add_to_physmap` {DOMID_SELF, space, idx, gpfn}. */
  addToPhysmap(space: number, idx: number, gpfn: number, domid: number = SPEC.DOMID_SELF): Promise<bigint> {
    const m = this.memory;
    m.fill(this.scratch, 24, 0);
    m.writeU16(this.scratch, domid);
    m.writeU32(this.scratch + 4, space);
    m.writeU64(this.scratch + 8, BigInt(idx));
    m.writeU64(this.scratch + 16, BigInt(gpfn));
    return this.call(SPEC.memory_op, BigInt(SPEC.XENMEM_add_to_physmap), BigInt(this.scratch));
  }

  /** `XENMEM_remove_from_physmap` {DOMID_SELF, gpfn}. */
  removeFromPhysmap(gpfn: number): Promise<bigint> {
    const m = this.memory;
    m.fill(this.scratch, 16, 0);
    m.writeU16(this.scratch, SPEC.DOMID_SELF);
    m.writeU64(this.scratch + 8, BigInt(gpfn));
    return this.call(SPEC.memory_op, BigInt(SPEC.XENMEM_remove_from_physmap), BigInt(this.scratch));
  }

  /** `XENMEM_populate_physmap` of order-`order` extents at `gpfns`: extents done. */
  populate(gpfns: readonly number[], order = 0): Promise<bigint> {
    const m = this.memory;
    const list = this.scratch + 0x100;
    gpfns.forEach((gfn, i) => m.writeU64(list + i * 8, BigInt(gfn)));
    m.fill(this.scratch, 32, 0);
    m.writeU64(this.scratch, BigInt(list));
    m.writeU64(this.scratch + 8, BigInt(gpfns.length));
    m.writeU32(this.scratch + 16, order);
    m.writeU16(this.scratch + 24, SPEC.DOMID_SELF);
    return this.call(SPEC.memory_op, BigInt(SPEC.XENMEM_populate_physmap), BigInt(this.scratch));
  }

  /** `SCHEDOP_poll` on `ports` until `timeout` (absolute ns; 0: none). */
  poll(ports: readonly number[], timeout: bigint): Promise<bigint> {
    const m = this.memory;
    const list = this.scratch + 0x100;
    ports.forEach((port, i) => m.writeU32(list + i * 4, port));
    m.fill(this.scratch, 24, 0);
    m.writeU64(this.scratch, BigInt(list));
    m.writeU32(this.scratch + 8, ports.length);
    m.writeU64(this.scratch + 16, timeout);
    return this.call(SPEC.sched_op, BigInt(SPEC.SCHEDOP_poll), BigInt(this.scratch));
  }

  /** `SCHEDOP_yield`. */
  yield(): Promise<bigint> {
    return this.call(SPEC.sched_op, BigInt(SPEC.SCHEDOP_yield), 0n);
  }

  // ----- XenStore ------------------------------------------------------------------------------------

  /** Finds the ring and port through the HVM parameters. */
  async xsConnect(): Promise<void> {
    const [rcPfn, pfn] = await this.getParam(SPEC.HVM_PARAM_STORE_PFN);
    const [rcPort, port] = await this.getParam(SPEC.HVM_PARAM_STORE_EVTCHN);
    assert.equal(rcPfn, 0n);
    assert.equal(rcPort, 0n);
    this.#ring = Number(pfn) * PAGE;
    this.#port = Number(port);
  }

  /** The ring page's address. */
  get xsRing(): number {
    return this.#ring;
  }

  /** The store port. */
  get xsPort(): number {
    return this.#port;
  }

  /** Streams `data` into the request ring (as much as fits, then notify and let the backends run). */
  async xsWriteBytes(data: Uint8Array): Promise<void> {
    const m = this.memory;
    let done = 0;
    for (let waits = 0; done < data.length; waits++) {
      assert.ok(waits < MAX_WAITS, "Cannot write the request: the ring stays full");
      const cons = m.readU32(this.#ring + SPEC.xs_req_cons);
      let prod = m.readU32(this.#ring + SPEC.xs_req_prod);
      const room = RING - ((prod - cons) >>> 0);
      const n = Math.min(room, data.length - done);
      for (let i = 0; i < n; i++) {
        m.writeU8(this.#ring + SPEC.xs_req + ((prod + i) & (RING - 1)), data[done + i] ?? 0);
      }
      prod = (prod + n) >>> 0;
      done += n;
      m.writeU32(this.#ring + SPEC.xs_req_prod, prod);
      await this.portOp(SPEC.EVTCHNOP_send, this.#port);
    }
  }

  /** Reads `n` bytes from the response ring, yielding until they are there. */
  async xsReadBytes(n: number): Promise<Uint8Array> {
    const m = this.memory;
    const out = new Uint8Array(n);
    let done = 0;
    for (let waits = 0; done < n; waits++) {
      assert.ok(waits < MAX_WAITS, "Cannot read the reply: nothing arrives");
      let cons = m.readU32(this.#ring + SPEC.xs_rsp_cons);
      const prod = m.readU32(this.#ring + SPEC.xs_rsp_prod);
      const avail = Math.min((prod - cons) >>> 0, n - done);
      for (let i = 0; i < avail; i++) {
        out[done + i] = m.readU8(this.#ring + SPEC.xs_rsp + ((cons + i) & (RING - 1)));
      }
      cons = (cons + avail) >>> 0;
      done += avail;
      m.writeU32(this.#ring + SPEC.xs_rsp_cons, cons);
      if (avail > 0) await this.portOp(SPEC.EVTCHNOP_send, this.#port);
      if (done < n) await this.yield();
    }
    return out;
  }

  /** True when the response ring holds unread bytes. */
  xsPending(): boolean {
    const m = this.memory;
    return m.readU32(this.#ring + SPEC.xs_rsp_cons) !== m.readU32(this.#ring + SPEC.xs_rsp_prod);
  }

  /** The next message from the response ring. */
  async xsReadMessage(): Promise<XsMessage> {
    const header = new DataView((await this.xsReadBytes(16)).buffer);
    const len = header.getUint32(12, true);
    return {
      type: header.getUint32(0, true),
      reqId: header.getUint32(4, true),
      txId: header.getUint32(8, true),
      payload: await this.xsReadBytes(len),
    };
  }

  /** Sends a request with this exact header and payload (no checks), and returns its reply. */
  async xsRaw(type: number, payload: Uint8Array, txId = 0, len = payload.length): Promise<XsMessage> {
    const reqId = ++this.#reqId;
    const message = new Uint8Array(16 + payload.length);
    const view = new DataView(message.buffer);
    view.setUint32(0, type, true);
    view.setUint32(4, reqId, true);
    view.setUint32(8, txId, true);
    view.setUint32(12, len, true);
    message.set(payload, 16);
    await this.xsWriteBytes(message);
    for (let skipped = 0;; skipped++) {
      assert.ok(skipped < MAX_WAITS, "Cannot find the reply among the watch events");
      const reply = await this.xsReadMessage();
      if (reply.type === XS.WATCH_EVENT) {
        this.events.push(reply);
        continue;
      }
      assert.equal(reply.reqId, reqId);
      return reply;
    }
  }

  /** A request of NUL-terminated `strings` (then `value` unterminated): the reply as text, or `E…`. */
  async xs(type: number, strings: readonly string[], value?: string, txId = 0): Promise<string> {
    const payload = bytes(strings.map((s) => `${s}\0`).join("") + (value ?? ""));
    const reply = await this.xsRaw(type, payload, txId);
    const body = text(reply.payload);
    if (reply.type === XS.ERROR) return body.replace(/\0$/, "");
    assert.equal(reply.type, type);
    return body;
  }

  /** Reads every message waiting in the response ring (watch events) into {@linkcode TestGuest.events}. */
  async xsDrain(): Promise<void> {
    await this.yield();
    for (let n = 0; this.xsPending(); n++) {
      assert.ok(n < MAX_WAITS, "Cannot drain the ring: it never empties");
      this.events.push(await this.xsReadMessage());
    }
  }

  /** Watch events as `path|token` strings (and forgets them). */
  takeEvents(): string[] {
    return this.events.splice(0).map((e) => text(e.payload).replace(/\0$/, "").replace("\0", "|"));
  }
}
