/**
 * Test helper (not a test): a fake blkback for the frontend's unit tests, over {@linkcode FakeXen}
 * and {@linkcode FakeXenstored}. It plays the toolstack (both XenStore directories), the backend's
 * state machine (InitWait, Connected, Closing, Closed, back to InitWait) and the ring: it checks
 * every grant as Xen would (permit_access, the backend's domid, read-only for the pages it reads),
 * marks grants mapped while it uses them, serves reads and writes on a byte array, and answers.
 *
 * Knobs make it hostile: tamper with responses, run the producer past them, never answer, keep
 * grants mapped, or only serve the ring when the guest polls (so requests pile up in the ring).
 * Offsets are written here from xen-spec §4–§6, not imported, so the tests check the layouts too.
 *
 * @module
 */

import { FakeXen, FakeXenstored, GNTTAB_BASE, RAM_BASE } from "./_fake_xen.ts";
import { Malloc } from "../../board/malloc.ts";
import { Fdt, fdtRegs, fdtStringList, fdtU32 } from "../../lib/fdt/mod.ts";
import { type XenDrivers, xenInit } from "./xen_init.ts";

const PAGE = 4096;
const SECTOR = 512;
// Ring header and slots (xen-spec §5.1, §6.1).
const REQ_PROD = 0;
const REQ_EVENT = 4;
const RSP_PROD = 8;
const RSP_EVENT = 12;
const RING_BASE = 64;
const SLOT = 112;
const RING_SIZE = 32;
// Grant entry flags (xen-spec §4.2).
const GTF_PERMIT = 1;
const GTF_READONLY = 4;
const GTF_READING = 8;
const GTF_WRITING = 16;
// Operations and status.
const OP_READ = 0;
const OP_WRITE = 1;
const OP_FLUSH = 3;
const OP_INDIRECT = 6;
const RSP_OKAY = 0;
const RSP_ERROR = -1;
const RSP_EOPNOTSUPP = -2;

/** A response before it goes into the ring. */
export interface FakeResponse {
  id: bigint;
  operation: number;
  status: number;
}

/** One request the fake backend took off the ring. */
export interface SeenRequest {
  operation: number;
  /** For indirect requests: the data operation. */
  dataOp: number;
  indirect: boolean;
  nrSegments: number;
  sector: number;
  /** Guest frames of the data pages. */
  frames: number[];
  id: bigint;
}

/** How the fake disk is set up. */
export interface FakeDiskOptions {
  devid?: number;
  backendId?: number;
  frontendId?: number;
  image: Uint8Array;
  sectorSize?: number;
  mode?: string;
  info?: number;
  flush?: boolean;
  /** `feature-max-indirect-segments` (0: not published). */
  indirect?: number;
  /** `trusted` in the frontend directory (undefined: not written). */
  trusted?: string;
  /** The backend's state the toolstack leaves it in (default InitWait after probe). */
  initialState?: number;
}

function _u32(n: number): number {
  return n >>> 0;
}

/** The fake backend of one disk. */
export class FakeBlkback {
  readonly devid: number;
  readonly backendId: number;
  readonly frontend: string;
  readonly backend: string;
  readonly image: Uint8Array;
  readonly sectorSize: number;
  /** Requests served, in order. */
  readonly seen: SeenRequest[] = [];
  /** Largest number of requests found waiting in the ring at one service. */
  maxPending = 0;
  /** States the backend went through. */
  readonly states: number[] = [];
  /** Serve the ring only when the guest polls, not when it notifies. */
  deferService = false;
  /** Rewrites the responses of one service before they go into the ring. */
  tamper: ((responses: FakeResponse[]) => FakeResponse[]) | undefined;
  /** Added to the response producer after each service (a lying backend). */
  extraProduced = 0;
  /** Take requests but never answer. */
  silent = false;
  /** Leave data grants marked mapped after answering. */
  holdGrants = false;
  /** Status for flush requests. */
  flushStatus = RSP_OKAY;
  /** Status forced on data requests (undefined: the real outcome). */
  forceStatus: number | undefined;
  /** Refuse to close (stay Connected whatever the frontend says). */
  stuckConnected = false;
  #ring: number | undefined;
  #ringRef: number | undefined;
  #port: number | undefined;
  #reqCons = 0;
  #rspProdPvt = 0;

  constructor(readonly xen: FakeXen, readonly xs: FakeXenstored, options: FakeDiskOptions) {
    this.devid = options.devid ?? 51712;
    this.backendId = options.backendId ?? 0;
    const fe = options.frontendId ?? 1;
    this.image = options.image;
    this.sectorSize = options.sectorSize ?? SECTOR;
    this.frontend = `device/vbd/${this.devid}`;
    this.backend = `/local/domain/${this.backendId}/backend/vbd/${fe}/${this.devid}`;
    const s = xs.store;
    s.set(`${this.frontend}/backend`, this.backend);
    s.set(`${this.frontend}/backend-id`, String(this.backendId));
    s.set(`${this.frontend}/state`, "1");
    s.set(`${this.frontend}/virtual-device`, String(this.devid));
    s.set(`${this.frontend}/device-type`, "disk");
    if (options.trusted !== undefined) s.set(`${this.frontend}/trusted`, options.trusted);
    s.set(`${this.backend}/frontend`, `/local/domain/${fe}/${this.frontend}`);
    s.set(`${this.backend}/frontend-id`, String(fe));
    s.set(`${this.backend}/online`, "1");
    s.set(`${this.backend}/mode`, options.mode ?? "w");
    if (options.indirect) s.set(`${this.backend}/feature-max-indirect-segments`, String(options.indirect));
    this.#info = options.info ?? 0;
    this.#flush = options.flush ?? false;
    this.#setState(options.initialState ?? 2);
  }

  readonly #info: number;
  readonly #flush: boolean;

  /** The backend's state. */
  get state(): number {
    return Number(this.xs.store.get(`${this.backend}/state`));
  }

  /** The frontend's state. */
  get frontendState(): number {
    return Number(this.xs.store.get(`${this.frontend}/state`) ?? "0");
  }

  /** The ring grant is mapped. */
  get ringMapped(): boolean {
    return this.#ring !== undefined;
  }

  /** Hooks into the fake Xen: notifications serve the ring, polls run the state machine. */
  attach(): this {
    const previousSend = this.xen.onSend;
    this.xen.onSend = (port) => {
      if (port === this.#port && this.#ring !== undefined) {
        if (!this.deferService) this.service();
      } else {
        previousSend(port);
      }
    };
    const previousPoll = this.xen.onPoll;
    this.xen.onPoll = (ports) => {
      previousPoll(ports);
      this.step();
      if (this.#ring !== undefined && this.#port !== undefined && ports.includes(this.#port)) this.service();
    };
    return this;
  }

  #setState(state: number): void {
    this.xs.store.set(`${this.backend}/state`, String(state));
    this.states.push(state);
  }

  /** The backend's reaction to the frontend's state (Linux blkback's `frontend_changed`). */
  step(): void {
    const fe = this.frontendState;
    const be = this.state;
    if (this.stuckConnected && be === 4) return;
    if ((fe === 3 || fe === 4) && (be === 2 || be === 3)) this.#connect();
    else if (fe === 5 && be === 4) {
      this.#unmapRing();
      this.#setState(5);
    } else if (fe === 6 && be !== 6) {
      this.#unmapRing();
      this.#setState(6);
    } else if (fe === 1 && be === 6) this.#setState(2);
  }

  #entry(ref: number): number {
    return GNTTAB_BASE + ref * 8;
  }

  /** Xen's map_grant_ref checks; returns the frame or throws. */
  #map(ref: number, writable: boolean): number {
    const m = this.xen.memory;
    const at = this.#entry(ref);
    const flags = m.readU16(at);
    if ((flags & 3) !== GTF_PERMIT) throw new Error(`grant ${ref} is not permit_access`);
    if (m.readU16(at + 2) !== this.backendId) throw new Error(`grant ${ref} is for another domain`);
    if (writable && (flags & GTF_READONLY)) throw new Error(`grant ${ref} is read-only`);
    m.writeU16(at, flags | GTF_READING | (writable ? GTF_WRITING : 0));
    return m.readU32(at + 4);
  }

  #unmap(ref: number): void {
    const m = this.xen.memory;
    const at = this.#entry(ref);
    m.writeU16(at, m.readU16(at) & ~(GTF_READING | GTF_WRITING));
  }

  #connect(): void {
    const s = this.xs.store;
    const ref = Number(s.get(`${this.frontend}/ring-ref`));
    const port = Number(s.get(`${this.frontend}/event-channel`));
    if (s.get(`${this.frontend}/protocol`) !== "arm-abi") throw new Error("fake blkback: unknown protocol");
    this.#ring = this.#map(ref, true) * PAGE;
    this.#ringRef = ref;
    this.#port = port;
    this.#reqCons = 0;
    this.#rspProdPvt = 0;
    s.set(`${this.backend}/sectors`, String(this.image.length / SECTOR));
    s.set(`${this.backend}/sector-size`, String(this.sectorSize));
    s.set(`${this.backend}/info`, String(this.#info));
    s.set(`${this.backend}/feature-flush-cache`, this.#flush ? "1" : "0");
    this.#setState(4);
  }

  #unmapRing(): void {
    if (this.#ringRef !== undefined) this.#unmap(this.#ringRef);
    this.#ring = undefined;
    this.#ringRef = undefined;
    this.#port = undefined;
  }

  /** Takes every request off the ring and answers (unless silent). */
  service(): void {
    const ring = this.#ring;
    if (ring === undefined) return;
    const m = this.xen.memory;
    const prod = m.readU32(ring + REQ_PROD);
    this.maxPending = Math.max(this.maxPending, _u32(prod - this.#reqCons));
    let responses: FakeResponse[] = [];
    while (this.#reqCons !== prod) {
      const slot = m.read(ring + RING_BASE + (this.#reqCons % RING_SIZE) * SLOT, SLOT);
      this.#reqCons = _u32(this.#reqCons + 1);
      responses.push(this.#handle(slot));
    }
    m.writeU32(ring + REQ_EVENT, _u32(this.#reqCons + 1));
    if (this.silent) return;
    if (this.tamper) responses = this.tamper(responses);
    const old = this.#rspProdPvt;
    for (const rsp of responses) {
      const at = ring + RING_BASE + (this.#rspProdPvt % RING_SIZE) * SLOT;
      const bytes = new Uint8Array(16);
      const view = new DataView(bytes.buffer);
      view.setBigUint64(0, BigInt.asUintN(64, rsp.id), true);
      view.setUint8(8, rsp.operation);
      view.setInt16(10, rsp.status, true);
      m.write(at, bytes);
      this.#rspProdPvt = _u32(this.#rspProdPvt + 1);
    }
    const produced = _u32(this.#rspProdPvt + this.extraProduced);
    m.writeU32(ring + RSP_PROD, produced);
    const event = m.readU32(ring + RSP_EVENT);
    if (_u32(produced - event) < _u32(produced - old) && this.#port !== undefined) this.xen.raise(this.#port);
  }

  #handle(slot: Uint8Array): FakeResponse {
    const view = new DataView(slot.buffer, slot.byteOffset, SLOT);
    const operation = view.getUint8(0);
    const id = view.getBigUint64(8, true);
    const sector = Number(view.getBigUint64(16, true));
    if (operation === OP_FLUSH) {
      this.seen.push({
        operation,
        dataOp: operation,
        indirect: false,
        nrSegments: 0,
        sector,
        frames: [],
        id,
      });
      return { id, operation, status: this.#flush ? this.flushStatus : RSP_EOPNOTSUPP };
    }
    let dataOp = operation;
    const segs: Array<{ gref: number; first: number; last: number }> = [];
    const indirectRefs: number[] = [];
    if (operation === OP_INDIRECT) {
      dataOp = view.getUint8(1);
      const n = view.getUint16(2, true);
      const pages = Math.ceil(n / 512);
      for (let p = 0; p < pages; p++) {
        const ref = view.getUint32(28 + 4 * p, true);
        indirectRefs.push(ref);
        const frame = this.#map(ref, false);
        for (let i = 0; i < Math.min(512, n - p * 512); i++) {
          const at = frame * PAGE + i * 8;
          const m = this.xen.memory;
          segs.push({ gref: m.readU32(at), first: m.readU8(at + 4), last: m.readU8(at + 5) });
        }
      }
    } else {
      const n = view.getUint8(1);
      for (let i = 0; i < n; i++) {
        const at = 24 + i * 8;
        segs.push({
          gref: view.getUint32(at, true),
          first: view.getUint8(at + 4),
          last: view.getUint8(at + 5),
        });
      }
    }
    const responseOp = dataOp;
    const seen: SeenRequest = {
      operation,
      dataOp,
      indirect: operation === OP_INDIRECT,
      nrSegments: segs.length,
      sector,
      frames: [],
      id,
    };
    this.seen.push(seen);
    let status = RSP_OKAY;
    const mapped: number[] = [];
    try {
      if ((dataOp !== OP_READ && dataOp !== OP_WRITE) || segs.length === 0) throw new Error("bad request");
      if (operation !== OP_INDIRECT && segs.length > 11) throw new Error("too many segments");
      if (dataOp === OP_WRITE && this.xs.store.get(`${this.backend}/mode`) !== "w") {
        throw new Error("read-only");
      }
      let at = sector * SECTOR;
      const per = this.sectorSize / SECTOR;
      if (sector % per !== 0) throw new Error("misaligned sector");
      for (const seg of segs) {
        if (seg.first > seg.last || seg.last > 7) throw new Error("bad segment");
        const n = (seg.last - seg.first + 1) * SECTOR;
        if (n % this.sectorSize !== 0 || seg.first % per !== 0) throw new Error("misaligned segment");
        if (at + n > this.image.length) throw new Error("past the end");
        const frame = this.#map(seg.gref, dataOp === OP_READ);
        mapped.push(seg.gref);
        seen.frames.push(frame);
        const address = frame * PAGE + seg.first * SECTOR;
        if (dataOp === OP_READ) this.xen.memory.write(address, this.image.subarray(at, at + n));
        else this.image.set(this.xen.memory.read(address, n), at);
        at += n;
      }
    } catch {
      status = RSP_ERROR;
    }
    if (!this.holdGrants) { for (const ref of [...mapped, ...indirectRefs]) this.#unmap(ref); }
    return { id, operation: responseOp, status: this.forceStatus ?? status };
  }
}

/** A fake Xen with XenStore, the drivers up (`xenInit`), and one fake backend per disk. */
export interface FakeXenWithDisks {
  xen: FakeXen;
  xs: FakeXenstored;
  drivers: XenDrivers;
  disks: FakeBlkback[];
  heap: Malloc;
  /** Guest RAM free for buffers: 16 MiB at 0x40000000. */
  ram: number;
}

/** The extra heap region the harness adds (the fake's own is only 1 MiB). */
export const BIG_HEAP_START = 0xa000_0000;
/** Its size. */
export const BIG_HEAP_SIZE = 0x0080_0000;

/** A device tree with the `xen,xen` node the grant table needs. */
export function xenControlFdt(): Fdt {
  const fdt = Fdt.createEmptyTree(2048);
  if (fdt instanceof Error) throw fdt;
  fdt.setProp(0, "#address-cells", fdtU32(2));
  fdt.setProp(0, "#size-cells", fdtU32(2));
  const node = fdt.addSubnode(0, "hypervisor");
  if (node instanceof Error) throw node;
  fdt.setProp(node, "compatible", fdtStringList(["xen,xen-4.17", "xen,xen"]));
  fdt.setProp(node, "reg", fdtRegs(2, 2, [{ address: BigInt(GNTTAB_BASE), size: 0x100_0000n }]));
  return fdt;
}

/** Starts a fake Xen, its XenStore and `disks`, then `xenInit`. */
export async function startFakeXen(disks: FakeDiskOptions[]): Promise<FakeXenWithDisks> {
  const xen = new FakeXen();
  xen.memory.add(BIG_HEAP_START, BIG_HEAP_SIZE);
  const xs = new FakeXenstored(xen).attach();
  const backs = disks.map((d) => new FakeBlkback(xen, xs, d).attach());
  const heap = new Malloc(BIG_HEAP_START, BIG_HEAP_SIZE);
  const drivers = await xenInit(
    xen,
    { heapStart: BIG_HEAP_START, heapSize: BIG_HEAP_SIZE },
    xenControlFdt(),
    { heap, clock: xen.clock, replyTimeoutMs: 50 },
  );
  return { xen, xs, drivers, disks: backs, heap, ram: RAM_BASE };
}

/** A disk image whose every 512-byte sector starts with its number and is filled with a pattern. */
export function patternImage(sectors: number): Uint8Array {
  const image = new Uint8Array(sectors * SECTOR);
  for (let s = 0; s < sectors; s++) {
    for (let i = 0; i < SECTOR; i++) image[s * SECTOR + i] = (s * 7 + i * 13) & 0xff;
    new DataView(image.buffer).setUint32(s * SECTOR, s, true);
  }
  return image;
}
