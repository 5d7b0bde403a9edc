/**
 * Test helper (not a test): a block frontend that talks to blkback only across the guest boundary, as a
 * guest does: grant entries written into the grant-table frame it mapped, the ring page laid out by hand,
 * XenStore through the guest's ring (the {@linkcode TestGuest} of _test_frontend.ts), event channels by
 * hypercall. Byte offsets and numbers are written here from xen-spec.md §4–§6, not imported from the
 * modules under test, so the tests check the layouts too. Used by blkback_test.ts and blkback_bench.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { completeGuestConfig, vdevName } from "../guest_config.ts";
import { createMachine, type Machine } from "../machine.ts";
import { TraceBus } from "../trace.ts";
import type { BlkbackDiskSpec } from "./blkback.ts";
import type { DiskImage } from "./disk_image.ts";
import { SPEC, TestGuest, XS } from "./_test_frontend.ts";

/** blkif numbers and offsets from xen-spec.md §5–§6. */
export const BLK = {
  OP_READ: 0,
  OP_WRITE: 1,
  OP_WRITE_BARRIER: 2,
  OP_FLUSH_DISKCACHE: 3,
  OP_RESERVED_1: 4,
  OP_DISCARD: 5,
  OP_INDIRECT: 6,
  RSP_OKAY: 0,
  RSP_ERROR: -1,
  RSP_EOPNOTSUPP: -2,
  VDISK_READONLY: 4,
  // shared ring
  req_prod: 0,
  req_event: 4,
  rsp_prod: 8,
  rsp_event: 12,
  ring: 64,
  slot: 112,
  ringSize: 32,
  // blkif_request
  operation: 0,
  nr_segments: 1,
  handle: 2,
  id: 8,
  sector_number: 16,
  seg: 24,
  segBytes: 8,
  // blkif_request_indirect
  indirect_op: 1,
  indirect_nr_segments: 2,
  indirect_handle: 24,
  indirect_grefs: 28,
  // blkif_response
  rsp_id: 0,
  rsp_operation: 8,
  rsp_status: 10,
} as const;

/** XenBus states (xen-spec §9). */
export const STATE = {
  Unknown: 0,
  Initialising: 1,
  InitWait: 2,
  Initialised: 3,
  Connected: 4,
  Closing: 5,
  Closed: 6,
} as const;

const PAGE = 0x1000;
const GTF_permit_access = 1;
const GTF_readonly = 4;
/** Where the test guest maps grant-table frame 0 (the DT /hypervisor region). */
export const GNTTAB_GFN = 0x38000;
/** The ring page. */
export const RING_GFN = 0x40300;
/** Indirect pages (8). */
export const INDIRECT_GFN = 0x40380;
/** Data pages start here (RAM base + 4 MiB). */
export const DATA_GFN = 0x40400;
/** Grant refs the frontend uses: the ring, then 8 indirect pages, then the data pages. */
export const RING_REF = 8;
/** First indirect page ref. */
export const INDIRECT_REF = 9;
/** First data ref. */
export const DATA_REF = 17;
/** Hand-overs a wait for responses makes at most. */
const MAX_WAITS = 64;

/** A segment of a request. */
export interface Segment {
  gref: number;
  first: number;
  last: number;
}

/** A response as the frontend copied it. */
export interface Response {
  id: bigint;
  operation: number;
  status: number;
  /** The 16 bytes. */
  raw: Uint8Array;
}

/** A disk for {@linkcode diskMachine}. */
export interface TestDisk extends Partial<BlkbackDiskSpec> {
  /** The image it serves. */
  image: DiskImage;
}

/** A 64 MiB machine with `disks` attached (xvda, xvdb, …) and a test guest on it, grant table mapped. */
export async function diskMachine(
  disks: readonly TestDisk[],
): Promise<{ machine: Machine; guest: TestGuest }> {
  const specs: BlkbackDiskSpec[] = disks.map((disk, i) => {
    const { image: _image, ...rest } = disk;
    return {
      target: `image${i}`,
      vdev: vdevName(i),
      access: disk.image.readOnly ? "ro" : "rw",
      format: "raw",
      ...rest,
    };
  });
  const machine = await createMachine(completeGuestConfig({ memoryMiB: 64, disks: specs }), {
    readFile: () => Promise.reject(new Error("Cannot read files in this test")),
    trace: new TraceBus(),
    openDisk: (disk) => {
      const image = disks[specs.findIndex((s) => s.target === disk.target)]?.image;
      return image === undefined
        ? Promise.reject(new Error(`no image ${disk.target}`))
        : Promise.resolve(image);
    },
  });
  const guest = new TestGuest(machine);
  assert.equal(await guest.addToPhysmap(SPEC.XENMAPSPACE_grant_table, 0, GNTTAB_GFN), 0n);
  return { machine, guest };
}

/** Address of data page `i`. */
export function dataPage(i: number): number {
  return (DATA_GFN + i) * PAGE;
}

/** A direct request's 112 bytes. */
export function directRequest(
  op: number,
  id: bigint,
  sector: bigint,
  segments: readonly Segment[],
  nrSegments = segments.length,
): Uint8Array {
  const slot = new Uint8Array(BLK.slot);
  const view = new DataView(slot.buffer);
  view.setUint8(BLK.operation, op);
  view.setUint8(BLK.nr_segments, nrSegments);
  view.setUint16(BLK.handle, 51712, true);
  view.setBigUint64(BLK.id, id, true);
  view.setBigUint64(BLK.sector_number, BigInt.asUintN(64, sector), true);
  segments.forEach((seg, i) => {
    const at = BLK.seg + i * BLK.segBytes;
    view.setUint32(at, seg.gref, true);
    view.setUint8(at + 4, seg.first);
    view.setUint8(at + 5, seg.last);
  });
  return slot;
}

/** An indirect request's 112 bytes. */
export function indirectRequest(
  indirectOp: number,
  id: bigint,
  sector: bigint,
  nrSegments: number,
  grefs: readonly number[],
): Uint8Array {
  const slot = new Uint8Array(BLK.slot);
  const view = new DataView(slot.buffer);
  view.setUint8(BLK.operation, BLK.OP_INDIRECT);
  view.setUint8(BLK.indirect_op, indirectOp);
  view.setUint16(BLK.indirect_nr_segments, nrSegments, true);
  view.setBigUint64(BLK.id, id, true);
  view.setBigUint64(BLK.sector_number, sector, true);
  view.setUint16(BLK.indirect_handle, 51712, true);
  grefs.forEach((gref, i) => view.setUint32(BLK.indirect_grefs + i * 4, gref, true));
  return slot;
}

/** The test frontend for one vbd. */
export class TestBlkfront {
  /** The guest. */
  readonly guest: TestGuest;
  /** The VBD number. */
  readonly devid: number;
  /** The frontend directory. */
  readonly dir: string;
  /** The backend directory (read from the frontend's `backend` node at connect). */
  backend = "";
  /** The guest's event channel port. */
  port = 0;
  #reqProdPvt = 0;
  #rspCons = 0;

  /** A frontend for `devid` (xvda: 51712). */
  constructor(guest: TestGuest, devid = 51712) {
    this.guest = guest;
    this.devid = devid;
    this.dir = `/local/domain/1/device/vbd/${devid}`;
  }

  /** Guest memory. */
  get memory(): Machine["memory"] {
    return this.guest.memory;
  }

  /** Grants `gfn` to Dom0 as `ref` (frame and domid first, then the flags). */
  grant(ref: number, gfn: number, readonly = false, domid = 0): void {
    const at = GNTTAB_GFN * PAGE + ref * 8;
    this.memory.writeU32(at + SPEC.gnt_frame, gfn);
    this.memory.writeU16(at + SPEC.gnt_domid, domid);
    this.memory.writeU16(at + SPEC.gnt_flags, GTF_permit_access | (readonly ? GTF_readonly : 0));
  }

  /** The flags of grant `ref`. */
  flags(ref: number): number {
    return this.memory.readU16(GNTTAB_GFN * PAGE + ref * 8 + SPEC.gnt_flags);
  }

  /** Ends grant `ref` (the flags must show no mapping). */
  endGrant(ref: number): void {
    assert.equal(this.flags(ref) & 0x18, 0, `grant ${ref} is still in use`);
    this.memory.writeU16(GNTTAB_GFN * PAGE + ref * 8 + SPEC.gnt_flags, 0);
  }

  /** A XenStore read through the guest's ring ("" + error name when it fails). */
  async read(path: string): Promise<string> {
    return await this.guest.xs(XS.READ, [path]);
  }

  /** A XenStore write through the guest's ring. */
  async write(path: string, value: string, txId = 0): Promise<void> {
    assert.equal(await this.guest.xs(XS.WRITE, [path], value, txId), "OK\0");
  }

  /** The backend's state as the guest reads it. */
  async backendState(): Promise<number> {
    return Number(await this.read(`${this.backend}/state`));
  }

  /** Writes the frontend's state. */
  async setState(state: number): Promise<void> {
    await this.write(`${this.dir}/state`, String(state));
  }

  /**
   * The frontend's half of the handshake: ring page zeroed and initialised, granted writable, an unbound
   * port for the backend, `ring-ref`, `event-channel` and `protocol` in one transaction, then `state`.
   * `keys` adds or (with null) leaves out frontend keys.
   */
  async connect(
    options: { state?: number; keys?: Record<string, string | null> } = {},
  ): Promise<void> {
    if (this.guest.xsPort === 0) await this.guest.xsConnect();
    this.backend = await this.read(`${this.dir}/backend`);
    assert.match(this.backend, /^\/local\/domain\/0\/backend\/vbd\//);
    const [rc, port] = await this.guest.allocUnbound(0);
    assert.equal(rc, 0n);
    this.port = port;
    const ring = RING_GFN * PAGE;
    this.memory.fill(ring, PAGE, 0);
    this.memory.writeU32(ring + BLK.req_event, 1);
    this.memory.writeU32(ring + BLK.rsp_event, 1);
    this.#reqProdPvt = 0;
    this.#rspCons = 0;
    this.grant(RING_REF, RING_GFN);
    const keys: Record<string, string | null> = {
      "ring-ref": String(RING_REF),
      "event-channel": String(port),
      protocol: "arm-abi",
      ...options.keys,
    };
    const tx = Number.parseInt(await this.guest.xs(XS.TRANSACTION_START, [""]), 10);
    for (const [key, value] of Object.entries(keys)) {
      if (value !== null) await this.write(`${this.dir}/${key}`, value, tx);
    }
    assert.equal(await this.guest.xs(XS.TRANSACTION_END, ["T"], undefined, tx), "OK\0");
    await this.setState(options.state ?? STATE.Initialised);
  }

  /** The U-Boot/Mini-OS close: Closing, Closed, Initialising, each answered by the backend. */
  async close(): Promise<void> {
    await this.setState(STATE.Closing);
    assert.equal(await this.backendState(), STATE.Closing);
    await this.setState(STATE.Closed);
    assert.equal(await this.backendState(), STATE.Closed);
    await this.setState(STATE.Initialising);
    assert.equal(await this.backendState(), STATE.InitWait);
  }

  /** Writes `request` into the next free slot (not yet published). */
  queue(request: Uint8Array): void {
    assert.ok(this.#reqProdPvt - this.#rspCons < BLK.ringSize, "Cannot queue: the ring is full");
    const at = RING_GFN * PAGE + BLK.ring + (this.#reqProdPvt % BLK.ringSize) * BLK.slot;
    this.memory.write(at, request);
    this.#reqProdPvt++;
  }

  /** `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`, then `EVTCHNOP_send` if asked; true when it notified. */
  async push(): Promise<boolean> {
    const ring = RING_GFN * PAGE;
    const old = this.memory.readU32(ring + BLK.req_prod);
    const now = this.#reqProdPvt >>> 0;
    this.memory.writeU32(ring + BLK.req_prod, now);
    const event = this.memory.readU32(ring + BLK.req_event);
    const notify = ((now - event) >>> 0) < ((now - old) >>> 0);
    if (notify) assert.equal(await this.guest.portOp(SPEC.EVTCHNOP_send, this.port), 0n);
    return notify;
  }

  /** The responses published since the last call, each copied once. */
  responses(): Response[] {
    const ring = RING_GFN * PAGE;
    const rp = this.memory.readU32(ring + BLK.rsp_prod);
    const out: Response[] = [];
    for (let i = 0; this.#rspCons !== rp && i < BLK.ringSize; i++) {
      const raw = this.memory.read(ring + BLK.ring + (this.#rspCons % BLK.ringSize) * BLK.slot, 16);
      const view = new DataView(raw.buffer);
      out.push({
        id: view.getBigUint64(BLK.rsp_id, true),
        operation: view.getUint8(BLK.rsp_operation),
        status: view.getInt16(BLK.rsp_status, true),
        raw,
      });
      this.#rspCons = (this.#rspCons + 1) >>> 0;
    }
    this.memory.writeU32(ring + BLK.rsp_event, (this.#rspCons + 1) >>> 0);
    return out;
  }

  /** Queues `requests`, pushes them, and returns the responses that came back (yielding if needed). */
  async submit(...requests: Uint8Array[]): Promise<Response[]> {
    for (const request of requests) this.queue(request);
    await this.push();
    const out = this.responses();
    for (let waits = 0; out.length < requests.length && waits < MAX_WAITS; waits++) {
      await this.guest.yield();
      out.push(...this.responses());
    }
    return out;
  }

  /** Grants `count` data pages from page `first` as refs from {@linkcode DATA_REF} + `first`. */
  grantData(first: number, count: number, readonly = false): void {
    for (let i = first; i < first + count; i++) this.grant(DATA_REF + i, DATA_GFN + i, readonly);
  }

  /** Writes `segments` into indirect page `index` and grants it read-only as {@linkcode INDIRECT_REF} + index. */
  indirectPage(index: number, segments: readonly Segment[]): number {
    const at = (INDIRECT_GFN + index) * PAGE;
    const bytes = new Uint8Array(PAGE);
    const view = new DataView(bytes.buffer);
    segments.forEach((seg, i) => {
      view.setUint32(i * BLK.segBytes, seg.gref, true);
      view.setUint8(i * BLK.segBytes + 4, seg.first);
      view.setUint8(i * BLK.segBytes + 5, seg.last);
    });
    this.memory.write(at, bytes);
    this.grant(INDIRECT_REF + index, INDIRECT_GFN + index, true);
    return INDIRECT_REF + index;
  }
}
