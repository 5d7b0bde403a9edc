/**
 * Test helper (not a test): a small fake of the Xen side for the drivers' unit tests. A flat memory
 * of a few regions, and a hypercall entry that implements just what the drivers use, with hooks for a
 * fake xenstored and a fake console backend. Every call is recorded.
 *
 * @module
 */

import {
  DataAbort,
  type HypercallRegisters,
  type PhysicalMemory,
  type Platform,
} from "../../machine/platform.ts";
import {
  __HYPERVISOR_console_io,
  __HYPERVISOR_event_channel_op,
  __HYPERVISOR_grant_table_op,
  __HYPERVISOR_hvm_op,
  __HYPERVISOR_memory_op,
  __HYPERVISOR_sched_op,
  __HYPERVISOR_xen_version,
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_close,
  EVTCHNOP_send,
  EVTCHNOP_unmask,
  GNTTABOP_query_size,
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
  HVMOP_get_param,
  SCHEDOP_poll,
  SCHEDOP_yield,
  XENMAPSPACE_grant_table,
  XENMAPSPACE_shared_info,
  XENMEM_add_to_physmap,
  XENMEM_populate_physmap,
  XENMEM_remove_from_physmap,
} from "./abi.ts";
import {
  decodeXsHeader,
  encodeXsHeader,
  XENSTORE_RING_SIZE,
  XS_DIRECTORY,
  XS_ERROR,
  XS_HDR_BYTES,
  XS_MKDIR,
  XS_READ,
  XS_RING_REQ,
  XS_RING_REQ_CONS,
  XS_RING_REQ_PROD,
  XS_RING_RSP,
  XS_RING_RSP_CONS,
  XS_RING_RSP_PROD,
  XS_RM,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  type XsHeader,
} from "./xs_wire.ts";
import {
  XENCONS_IN,
  XENCONS_IN_PROD,
  XENCONS_IN_SIZE,
  XENCONS_OUT,
  XENCONS_OUT_CONS,
  XENCONS_OUT_PROD,
  XENCONS_OUT_SIZE,
} from "./console.ts";

export const RAM_BASE = 0x4000_0000;
export const RAM_SIZE = 0x0100_0000;
/** Above 2^31, as U-Boot's real heap (0x9bf00000 with 1.5 GiB), to catch 32-bit shift mistakes. */
export const HEAP_START = 0x9c00_0000;
export const HEAP_SIZE = 0x0010_0000;
export const GNTTAB_BASE = 0x3800_0000;
export const MAGIC_BASE = 0x3900_0000;
export const CONSOLE_PFN = MAGIC_BASE / 0x1000;
export const STORE_PFN = CONSOLE_PFN + 1;
export const STORE_PORT = 1;
export const CONSOLE_PORT = 2;
const ENOSYS = -38n;
const EBUSY = -16n;
const EINVAL = -22n;
const SHARED_PENDING = 48;
const SHARED_MASK = 560;
const PAGE = 0x1000;

/** A few byte arrays at guest-physical addresses. */
export class FlatMemory implements PhysicalMemory {
  readonly regions: Array<{ base: number; bytes: Uint8Array }> = [];

  add(base: number, size: number): void {
    this.regions.push({ base, bytes: new Uint8Array(size) });
  }

  remove(base: number): void {
    const i = this.regions.findIndex((r) => r.base === base);
    if (i >= 0) this.regions.splice(i, 1);
  }

  #at(address: number, length: number, write: boolean): { bytes: Uint8Array; offset: number } {
    for (const r of this.regions) {
      if (address >= r.base && address + length <= r.base + r.bytes.length) {
        return { bytes: r.bytes, offset: address - r.base };
      }
    }
    throw new DataAbort(address, write);
  }

  read(address: number, length: number): Uint8Array {
    const { bytes, offset } = this.#at(address, length, false);
    return bytes.slice(offset, offset + length);
  }
  readInto(address: number, target: Uint8Array): void {
    target.set(this.read(address, target.length));
  }
  write(address: number, data: Uint8Array): void {
    const { bytes, offset } = this.#at(address, data.length, true);
    bytes.set(data, offset);
  }
  fill(address: number, length: number, value: number): void {
    const { bytes, offset } = this.#at(address, length, true);
    bytes.fill(value, offset, offset + length);
  }
  copy(destination: number, source: number, length: number): void {
    this.write(destination, this.read(source, length));
  }
  #view(address: number, length: number, write: boolean): DataView {
    const { bytes, offset } = this.#at(address, length, write);
    return new DataView(bytes.buffer, bytes.byteOffset + offset, length);
  }
  readU8(address: number): number {
    return this.#view(address, 1, false).getUint8(0);
  }
  readU16(address: number): number {
    return this.#view(address, 2, false).getUint16(0, true);
  }
  readU32(address: number): number {
    return this.#view(address, 4, false).getUint32(0, true);
  }
  readU64(address: number): bigint {
    return this.#view(address, 8, false).getBigUint64(0, true);
  }
  writeU8(address: number, value: number): void {
    this.#view(address, 1, true).setUint8(0, value & 0xff);
  }
  writeU16(address: number, value: number): void {
    this.#view(address, 2, true).setUint16(0, value & 0xffff, true);
  }
  writeU32(address: number, value: number): void {
    this.#view(address, 4, true).setUint32(0, value >>> 0, true);
  }
  writeU64(address: number, value: bigint): void {
    this.#view(address, 8, true).setBigUint64(0, BigInt.asUintN(64, value), true);
  }
  isMapped(address: number, length: number): boolean {
    try {
      this.#at(address, length, false);
      return true;
    } catch {
      return false;
    }
  }
}

/** One recorded hypercall. */
export interface Call {
  nr: number;
  cmd: number;
  /** Decoded detail (port, gpfn, space, ...). */
  detail: Record<string, number>;
}

/** The fake hypervisor. */
export class FakeXen implements Platform {
  readonly memory = new FlatMemory();
  readonly entry = { x0: 0, pc: RAM_BASE + 0x80000 };
  readonly calls: Call[] = [];
  params = new Map<number, bigint>([
    [HVM_PARAM_STORE_PFN, BigInt(STORE_PFN)],
    [HVM_PARAM_STORE_EVTCHN, BigInt(STORE_PORT)],
    [HVM_PARAM_CONSOLE_PFN, BigInt(CONSOLE_PFN)],
    [HVM_PARAM_CONSOLE_EVTCHN, BigInt(CONSOLE_PORT)],
  ]);
  sharedInfo: number | undefined;
  gnttabMapped: number | undefined;
  nextPort = 3;
  readonly openPorts = new Set<number>([STORE_PORT, CONSOLE_PORT]);
  /** Fake Xen system time (ns): a poll with nothing pending jumps to its timeout. */
  now = 0n;
  /** Runs when the guest sends on a port. */
  onSend: (port: number) => void = () => {};
  /** Runs on SCHEDOP_yield. */
  onYield: () => void = () => {};
  /** Runs on SCHEDOP_poll before it looks at the ports. */
  onPoll: (ports: number[]) => void = () => {};
  /** Overrides a hypercall's result (return undefined to let the fake handle it). */
  override: (nr: number, cmd: number) => bigint | undefined = () => undefined;

  constructor() {
    this.memory.add(RAM_BASE, RAM_SIZE);
    this.memory.add(HEAP_START, HEAP_SIZE);
    this.memory.add(MAGIC_BASE, 4 * PAGE);
  }

  get clock(): { nowNs: () => bigint } {
    return { nowNs: () => this.now };
  }

  count(nr: number, cmd: number): number {
    return this.calls.filter((c) => c.nr === nr && c.cmd === cmd).length;
  }

  /** Xen's `evtchn_2l_set_pending`. */
  raise(port: number): void {
    if (this.sharedInfo === undefined) return;
    const m = this.memory;
    const at = this.sharedInfo + SHARED_PENDING + (port >> 3);
    const bit = 1 << (port & 7);
    const old = m.readU8(at);
    if (old & bit) return;
    m.writeU8(at, old | bit);
    const masked = (m.readU8(this.sharedInfo + SHARED_MASK + (port >> 3)) & bit) !== 0;
    if (masked) return;
    const sel = m.readU64(this.sharedInfo + 8);
    const selBit = 1n << BigInt(port >> 6);
    if (sel & selBit) return;
    m.writeU64(this.sharedInfo + 8, sel | selBit);
    m.writeU8(this.sharedInfo, 1);
  }

  isPending(port: number): boolean {
    if (this.sharedInfo === undefined) return false;
    return (this.memory.readU8(this.sharedInfo + SHARED_PENDING + (port >> 3)) & (1 << (port & 7))) !== 0;
  }

  hypercall(regs: HypercallRegisters): Promise<bigint> {
    return Promise.resolve(this.#dispatch(regs));
  }

  #dispatch(regs: HypercallRegisters): bigint {
    const m = this.memory;
    const cmd = Number(regs.x0);
    const arg = Number(regs.x1);
    const detail: Record<string, number> = {};
    this.calls.push({ nr: regs.x16, cmd, detail });
    const forced = this.override(regs.x16, cmd);
    if (forced !== undefined) return forced;
    switch (regs.x16) {
      case __HYPERVISOR_memory_op:
        if (cmd === XENMEM_add_to_physmap) {
          const space = m.readU32(arg + 4);
          const idx = Number(m.readU64(arg + 8));
          const gpfn = Number(m.readU64(arg + 16));
          Object.assign(detail, { space, idx, gpfn, domid: m.readU16(arg) });
          if (space === XENMAPSPACE_shared_info) {
            if (this.sharedInfo !== undefined) return EBUSY;
            this.sharedInfo = gpfn * PAGE;
            m.fill(this.sharedInfo, PAGE, 0);
            return 0n;
          }
          if (space === XENMAPSPACE_grant_table) {
            if (this.gnttabMapped !== undefined) return EBUSY;
            this.gnttabMapped = gpfn * PAGE;
            m.add(this.gnttabMapped, PAGE);
            return 0n;
          }
          return EINVAL;
        }
        if (cmd === XENMEM_remove_from_physmap) {
          const gpfn = Number(m.readU64(arg + 8));
          detail.gpfn = gpfn;
          if (gpfn * PAGE === this.sharedInfo) {
            this.sharedInfo = undefined;
            return 0n;
          }
          if (gpfn * PAGE === this.gnttabMapped) {
            m.remove(this.gnttabMapped);
            this.gnttabMapped = undefined;
            return 0n;
          }
          return EINVAL;
        }
        if (cmd === XENMEM_populate_physmap) {
          const list = Number(m.readU64(arg));
          detail.nr = Number(m.readU64(arg + 8));
          detail.gpfn = Number(m.readU64(list));
          return BigInt(detail.nr);
        }
        return ENOSYS;
      case __HYPERVISOR_hvm_op: {
        if (cmd !== HVMOP_get_param) return ENOSYS;
        const index = m.readU32(arg + 4);
        detail.index = index;
        const value = this.params.get(index);
        if (value === undefined) return EINVAL;
        m.writeU64(arg + 8, value);
        return 0n;
      }
      case __HYPERVISOR_event_channel_op: {
        if (cmd === EVTCHNOP_alloc_unbound) {
          const port = this.nextPort++;
          this.openPorts.add(port);
          detail.remote = m.readU16(arg + 2);
          detail.port = port;
          m.writeU32(arg + 4, port);
          return 0n;
        }
        if (cmd === EVTCHNOP_bind_interdomain) {
          const port = this.nextPort++;
          this.openPorts.add(port);
          m.writeU32(arg + 8, port);
          return 0n;
        }
        const port = m.readU32(arg);
        detail.port = port;
        if (cmd === EVTCHNOP_send) {
          this.onSend(port);
          return 0n;
        }
        if (cmd === EVTCHNOP_close) {
          if (!this.openPorts.delete(port)) return EINVAL;
          return 0n;
        }
        if (cmd === EVTCHNOP_unmask) return 0n;
        return ENOSYS;
      }
      case __HYPERVISOR_sched_op:
        if (cmd === SCHEDOP_yield) {
          this.onYield();
          return 0n;
        }
        if (cmd === SCHEDOP_poll) {
          const list = Number(m.readU64(arg));
          const n = m.readU32(arg + 8);
          const timeout = m.readU64(arg + 16);
          const ports: number[] = [];
          for (let i = 0; i < n; i++) ports.push(m.readU32(list + 4 * i));
          detail.ports = n;
          this.onPoll(ports);
          if (!ports.some((p) => this.isPending(p)) && timeout > this.now) this.now = timeout;
          return 0n;
        }
        return ENOSYS;
      case __HYPERVISOR_grant_table_op:
        if (cmd === GNTTABOP_query_size) {
          m.writeU32(arg + 4, 1);
          m.writeU32(arg + 8, 64);
          m.writeU16(arg + 12, 0);
          return 0n;
        }
        return ENOSYS;
      case __HYPERVISOR_xen_version:
        return (4n << 16n) | 17n;
      case __HYPERVISOR_console_io:
        return 0n;
      default:
        return ENOSYS;
    }
  }
}

/** A reply the fake xenstored sends: header fields and payload (raw), or nothing. */
export interface XsReply {
  type: number;
  reqId: number;
  txId?: number;
  payload: Uint8Array;
  /** Header `len` to claim (default: the payload's length). */
  len?: number;
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * A fake xenstored on the ring page: parses requests, answers from `store` (or through `respond`),
 * writes replies into the response ring and raises the store port.
 */
export class FakeXenstored {
  readonly store = new Map<string, string>();
  readonly requests: Array<{ header: XsHeader; payload: Uint8Array }> = [];
  /** Replaces the default answer; return undefined for no reply at all. */
  respond: ((header: XsHeader, payload: Uint8Array) => XsReply[] | undefined) | undefined;
  /** Do not read requests (a stuck server). */
  stuck = false;
  txCounter = 0;
  #buffer = new Uint8Array(0);

  constructor(readonly xen: FakeXen, readonly ring = STORE_PFN * PAGE, readonly port = STORE_PORT) {
    this.store.set("domid", "1");
  }

  /** Hooks the fake into `xen` (send on the store port runs it). */
  attach(): this {
    const previous = this.xen.onSend;
    this.xen.onSend = (port) => {
      if (port === this.port) this.service();
      else previous(port);
    };
    return this;
  }

  /** Consumes requests and answers them. */
  service(): void {
    if (this.stuck) return;
    const m = this.xen.memory;
    const cons = m.readU32(this.ring + XS_RING_REQ_CONS);
    const prod = m.readU32(this.ring + XS_RING_REQ_PROD);
    const avail = (prod - cons) >>> 0;
    if (avail === 0 || avail > XENSTORE_RING_SIZE) return;
    const chunk = new Uint8Array(avail);
    for (let i = 0; i < avail; i++) {
      chunk[i] = m.readU8(this.ring + XS_RING_REQ + ((cons + i) % XENSTORE_RING_SIZE));
    }
    m.writeU32(this.ring + XS_RING_REQ_CONS, prod);
    const merged = new Uint8Array(this.#buffer.length + chunk.length);
    merged.set(this.#buffer);
    merged.set(chunk, this.#buffer.length);
    this.#buffer = merged;
    for (;;) {
      if (this.#buffer.length < XS_HDR_BYTES) break;
      const header = decodeXsHeader(this.#buffer);
      if (this.#buffer.length < XS_HDR_BYTES + header.len) break;
      const payload = this.#buffer.slice(XS_HDR_BYTES, XS_HDR_BYTES + header.len);
      this.#buffer = this.#buffer.slice(XS_HDR_BYTES + header.len);
      this.requests.push({ header, payload });
      const replies = this.respond ? this.respond(header, payload) : this.answer(header, payload);
      for (const reply of replies ?? []) this.writeReply(reply);
    }
  }

  /** The default, well-behaved answer. */
  answer(header: XsHeader, payload: Uint8Array): XsReply[] {
    const text = new TextDecoder("latin1").decode(payload);
    const parts = text.split("\0");
    const path = parts[0] ?? "";
    const reply = (type: number, body: string): XsReply[] => [
      { type, reqId: header.reqId, txId: header.txId, payload: bytes(body) },
    ];
    const error = (name: string) => reply(XS_ERROR, `${name}\0`);
    switch (header.type) {
      case XS_READ: {
        const value = this.store.get(path);
        return value === undefined ? error("ENOENT") : reply(XS_READ, value);
      }
      case XS_WRITE:
        this.store.set(path, text.slice(path.length + 1));
        return reply(XS_WRITE, "OK\0");
      case XS_MKDIR:
        if (!this.store.has(path)) this.store.set(path, "");
        return reply(XS_MKDIR, "OK\0");
      case XS_RM:
        for (const key of [...this.store.keys()]) {
          if (key === path || key.startsWith(`${path}/`)) this.store.delete(key);
        }
        return reply(XS_RM, "OK\0");
      case XS_DIRECTORY: {
        const children = new Set<string>();
        for (const key of this.store.keys()) {
          if (key.startsWith(`${path}/`)) children.add(key.slice(path.length + 1).split("/")[0]!);
        }
        if (children.size === 0 && !this.store.has(path)) return error("ENOENT");
        return reply(XS_DIRECTORY, [...children].map((c) => `${c}\0`).join(""));
      }
      case XS_TRANSACTION_START:
        return reply(XS_TRANSACTION_START, `${++this.txCounter}\0`);
      case XS_TRANSACTION_END:
        return reply(XS_TRANSACTION_END, "OK\0");
      case XS_WATCH:
        return [
          ...reply(XS_WATCH, "OK\0"),
          { type: XS_WATCH_EVENT, reqId: 0, payload: bytes(`${path}\0${parts[1] ?? ""}\0`) },
        ];
      case XS_UNWATCH:
        return reply(XS_UNWATCH, "OK\0");
      default:
        return error("ENOSYS");
    }
  }

  /** Writes one reply into the response ring (as far as it fits) and raises the port. */
  writeReply(reply: XsReply): void {
    const header = encodeXsHeader({
      type: reply.type,
      reqId: reply.reqId,
      txId: reply.txId ?? 0,
      len: reply.len ?? reply.payload.length,
    });
    const message = new Uint8Array(header.length + reply.payload.length);
    message.set(header);
    message.set(reply.payload, header.length);
    this.writeRaw(message);
  }

  /** Writes raw bytes into the response ring and raises the port. */
  writeRaw(data: Uint8Array): void {
    const m = this.xen.memory;
    let prod = m.readU32(this.ring + XS_RING_RSP_PROD);
    const cons = m.readU32(this.ring + XS_RING_RSP_CONS);
    if (((prod - cons) >>> 0) + data.length > XENSTORE_RING_SIZE) {
      throw new Error("fake xenstored: response ring full");
    }
    for (const byte of data) {
      m.writeU8(this.ring + XS_RING_RSP + (prod % XENSTORE_RING_SIZE), byte);
      prod = (prod + 1) >>> 0;
    }
    m.writeU32(this.ring + XS_RING_RSP_PROD, prod);
    this.xen.raise(this.port);
  }
}

/** A fake console backend: drains `out` into `output` on each send (up to `drainLimit` bytes). */
export class FakeConsoleBackend {
  output = "";
  /** Bytes taken per service (Infinity: all). */
  drainLimit = Infinity;
  /** Stop draining altogether. */
  stuck = false;

  constructor(readonly xen: FakeXen, readonly ring = CONSOLE_PFN * PAGE, readonly port = CONSOLE_PORT) {}

  attach(): this {
    const previous = this.xen.onSend;
    this.xen.onSend = (port) => {
      if (port === this.port) this.service();
      else previous(port);
    };
    return this;
  }

  service(): void {
    if (this.stuck) return;
    const m = this.xen.memory;
    let cons = m.readU32(this.ring + XENCONS_OUT_CONS);
    const prod = m.readU32(this.ring + XENCONS_OUT_PROD);
    let taken = 0;
    while (cons !== prod && taken < this.drainLimit) {
      this.output += String.fromCharCode(m.readU8(this.ring + XENCONS_OUT + (cons % XENCONS_OUT_SIZE)));
      cons = (cons + 1) >>> 0;
      taken++;
    }
    m.writeU32(this.ring + XENCONS_OUT_CONS, cons);
  }

  /** Types `text` into the input ring. */
  type(text: string): void {
    const m = this.xen.memory;
    let prod = m.readU32(this.ring + XENCONS_IN_PROD);
    for (const ch of text) {
      m.writeU8(this.ring + XENCONS_IN + (prod % XENCONS_IN_SIZE), ch.charCodeAt(0));
      prod = (prod + 1) >>> 0;
    }
    m.writeU32(this.ring + XENCONS_IN_PROD, prod);
    this.xen.raise(this.port);
  }
}
