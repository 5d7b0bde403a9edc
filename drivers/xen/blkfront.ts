/**
 * The PV block frontend (the driver half of U-Boot's drivers/xen/pvblock.c and Mini-OS blkfront.c,
 * hardened as Linux's xen-blkfront is): connects one `device/vbd/<devid>` to its backend through
 * XenStore, then moves sectors through a shared blkif ring.
 *
 * Connection (xen-spec §6.3, the full protocol rather than U-Boot's shortcut): read `backend` and
 * `backend-id`; wait for the backend's InitWait; a zeroed ring page from the heap, granted to the
 * backend; an unbound event channel for it; `ring-ref`, `event-channel` and `protocol = "arm-abi"`
 * written in one transaction (redone on `EAGAIN`); Initialised; wait for the backend's Connected;
 * read `sectors`, `sector-size`, `info`, `mode`, `feature-flush-cache`, `feature-barrier`,
 * `feature-max-indirect-segments`; Connected. Every wait is bounded.
 *
 * I/O: requests are issued until the ring, the grant table or the bounce budget is full, then
 * responses are reaped, and so on (U-Boot waits for each request alone). A request carries up to 11
 * segments, or when the backend offers indirect segments up to {@linkcode BLKFRONT_MAX_INDIRECT_SEGMENTS}
 * in granted indirect pages. Segments are cut at page boundaries, so a buffer that is not
 * page-aligned spans one page more than its length suggests and gets the segment it needs (the real
 * board's `BUG at blkfront_aio` is the missing count). Guest memory aligned to the sector size is
 * granted where it is; anything else (a JS buffer, an odd address, or every buffer when the toolstack
 * wrote `trusted = 0`) goes through zeroed, page-aligned bounce pages (XSA-403). Writes are granted
 * read-only and followed by a cache flush when the backend offers one.
 *
 * Responses are copied out of the ring once and checked before use (xen-spec §10.2): the producer
 * may not run past the requests issued, the id must name an outstanding request, the operation must
 * match, the status must be known, every data grant must come back. A violation, or a backend that
 * does not answer in time, fails the transfer and breaks the device: the ring is not touched again,
 * grants still mapped are never reused and their pages never freed (XSA-396).
 *
 * Units: request sectors, `first_sect`/`last_sect` and the backend's `sectors` are 512-byte units;
 * `sector-size` (512 or 4096) only sets the alignment of offsets and lengths (blkif.h, xen-spec §11).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { patternImage, startFakeXen } from "./_fake_blkback.ts";
 * import { BlkFront } from "./blkfront.ts";
 *
 * const { drivers } = await startFakeXen([{ devid: 51712, image: patternImage(64) }]);
 * const front = await BlkFront.connect(drivers, 51712);
 * const sector = new Uint8Array(front.sectorSize);
 * assert.equal(await front.readBytes(0, sector), undefined); // an error value on failure
 * const report = await front.close(); // before xenFini: nothing stays granted or bound
 * assert.ok(report.ringGrantEnded && drivers.gnttab.activeRefs().length === 0);
 * ```
 *
 * @module
 */

import type { PhysicalMemory } from "../../machine/platform.ts";
import { type Malloc, MallocExhaustedError } from "../../board/malloc.ts";
import type { EventChannels } from "./events.ts";
import { type GrantTable, GrantTableFullError } from "./gnttab.ts";
import { type XenBus, XENBUS_MAX_TRANSACTION_RETRIES, XENBUS_POLL_MS } from "./xenbus.ts";
import { XenbusError } from "./xenbus_errors.ts";
import { XenbusState } from "./xs_wire.ts";
import { DOMID_FIRST_RESERVED, XEN_PAGE_SIZE } from "./abi.ts";
import {
  BLKIF_KNOWN_STATUS,
  BLKIF_MAX_INDIRECT_SEGMENTS,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_RESPONSE_BYTES,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_OKAY,
  BLKIF_SECTOR_BYTES,
  BLKIF_SEGS_PER_INDIRECT_FRAME,
  blkifRingSize,
  type BlkifSegment,
  blkifSlotOffset,
  decodeBlkifResponse,
  encodeBlkifIndirectRequest,
  encodeBlkifRequest,
  encodeIndirectPage,
  SRING_REQ_EVENT,
  SRING_REQ_PROD,
  SRING_RSP_EVENT,
  SRING_RSP_PROD,
  VDISK_READONLY,
  XEN_IO_PROTO_ABI_NATIVE,
} from "./blkif.ts";
import { BlkfrontConnectError, BlkfrontIoError } from "./blkfront_errors.ts";

/** How long a wait for a backend state may take (Linux's `xenbus_reset_state` allows 5 s a step). */
export const BLKFRONT_STATE_TIMEOUT_MS = 5000;
/** How long a transfer waits for the next response before the backend counts as dead. */
export const BLKFRONT_IO_TIMEOUT_MS = 5000;
/**
 * Segments per indirect request at most: Linux blkfront's default `max_indirect_segments` (32, i.e.
 * 128 KiB). More would let one request hold most of the 504 grant references the guest has.
 */
export const BLKFRONT_MAX_INDIRECT_SEGMENTS = 32;
/**
 * Bounce pages in flight at most: a one-page ring full of 11-segment requests (32 × 11 pages, 1.4 MiB),
 * so bounced transfers keep the ring as busy as direct ones; small against U-Boot's 32 MiB heap.
 */
export const BLKFRONT_MAX_BOUNCE_PAGES = 32 * BLKIF_MAX_SEGMENTS_PER_REQUEST;
/** Grant references left for others (other disks' rings, the console) while a transfer fills the ring. */
export const BLKFRONT_GRANT_RESERVE = 8;
/** The largest `sectors` accepted: the disk's bytes must stay a safe integer. */
const MAX_SECTORS = Math.floor(Number.MAX_SAFE_INTEGER / BLKIF_SECTOR_BYTES);
const U32_MAX = 0xffff_ffff;
/** Largest domain id a backend can have. */
const MAX_BACKEND_ID = DOMID_FIRST_RESERVED - 1;
/** Longest backend path accepted: room for `/feature-max-indirect-segments` under the 3072-byte limit. */
const MAX_BACKEND_PATH = 3000;
/** `blkif_vdev_t` is 16 bits. */
const HANDLE_MASK = 0xffff;

/** The drivers a frontend uses (what `xenInit` returns). */
export interface BlkfrontDrivers {
  /** U-Boot's malloc area: ring, bounce and indirect pages. */
  readonly heap: Malloc;
  /** Event channels. */
  readonly events: EventChannels;
  /** The XenStore client. */
  readonly xenbus: XenBus;
  /** The grant table. */
  readonly gnttab: GrantTable;
}

/** Options of {@linkcode BlkFront.connect}. */
export interface BlkfrontOptions {
  /** Where U-Boot's driver messages go (the console). */
  log?: (text: string) => void;
  /** Bound on each wait for a backend state (default {@linkcode BLKFRONT_STATE_TIMEOUT_MS}). */
  stateTimeoutMs?: number;
  /** Bound on each wait for a response (default {@linkcode BLKFRONT_IO_TIMEOUT_MS}). */
  ioTimeoutMs?: number;
  /** Use indirect segments when the backend offers them (default true). */
  indirect?: boolean;
}

/** What the backend told the frontend at connection. */
export interface BlkfrontInfo {
  /** The backend's domain. */
  readonly backendId: number;
  /** The backend's XenStore directory. */
  readonly backend: string;
  /** Disk size in 512-byte units. */
  readonly sectors: number;
  /** Logical block size (512 or 4096). */
  readonly sectorSize: number;
  /** `VDISK_*` bits. */
  readonly info: number;
  /** Writes are refused (`mode` not `w`, or `VDISK_READONLY`). */
  readonly readOnly: boolean;
  /** The backend offers `BLKIF_OP_FLUSH_DISKCACHE`. */
  readonly flush: boolean;
  /** The backend offers `BLKIF_OP_WRITE_BARRIER`. */
  readonly barrier: boolean;
  /** Segments per indirect request (0: direct requests only). */
  readonly maxIndirectSegments: number;
  /** The toolstack trusts the backend (`trusted`, default 1); when not, every transfer bounces. */
  readonly trusted: boolean;
}

/** What {@linkcode BlkFront.close} managed (all true / zero when the backend behaved). */
export interface BlkfrontCloseReport {
  /** The backend reached Closed before the ring was taken back. */
  readonly backendClosed: boolean;
  /** The last backend state read (undefined when it could not be read). */
  readonly backendState: number | undefined;
  /** The ring grant was ended (false: the backend still maps it; the page is leaked on purpose). */
  readonly ringGrantEnded: boolean;
  /** Pages never given back to the heap because the backend kept them mapped. */
  readonly leakedPages: number;
}

/** A transfer's buffer: guest memory at an address, or a JS array (always bounced). */
type _Buffer = { readonly address: number } | { readonly array: Uint8Array };

/** A request on the ring, as only the frontend knows it (Linux's shadow entry). */
interface _Shadow {
  /** The operation its response must carry (the `indirect_op` of an indirect request). */
  readonly operation: number;
  /** Grant references to end when it completes: data pages, then indirect pages. */
  readonly grefs: number[];
  /** Heap allocations to free once every grant is ended. */
  readonly allocations: number[];
  /** Byte offset on the disk and length, for messages. */
  readonly diskOffset: number;
  readonly bytes: number;
  /** Bounce read: copies the data out once the response is in. */
  readonly copyOut: (() => void) | undefined;
  /** Bounce pages it holds (counted against {@linkcode BLKFRONT_MAX_BOUNCE_PAGES}). */
  readonly bouncePages: number;
  /** The transfer it belongs to. */
  readonly job: _Job;
}

/** One transfer in progress. */
interface _Job {
  readonly label: "read" | "write" | "flush";
  error: BlkfrontIoError | undefined;
}

/** A page run of a buffer: guest address and length, within one page. */
interface _Run {
  readonly address: number;
  readonly length: number;
}

function _u32(n: number): number {
  return n >>> 0;
}

/** Cuts `[address, address + length)` at page boundaries, at most `max` runs. */
function _pageRuns(address: number, length: number, max: number): _Run[] {
  const runs: _Run[] = [];
  let at = address;
  let left = length;
  while (left > 0 && runs.length < max) {
    const n = Math.min(left, XEN_PAGE_SIZE - (at % XEN_PAGE_SIZE));
    runs.push({ address: at, length: n });
    at += n;
    left -= n;
  }
  return runs;
}

/** An absolute XenStore path short enough for the keys read under it (xen-spec §7.2 path rules). */
function _isBackendPath(path: string): boolean {
  return path.length <= MAX_BACKEND_PATH && /^(\/[A-Za-z0-9_@-]+)+$/.test(path);
}

function _segment(gref: number, run: _Run): BlkifSegment {
  const first = (run.address % XEN_PAGE_SIZE) / BLKIF_SECTOR_BYTES;
  return { gref, firstSect: first, lastSect: first + run.length / BLKIF_SECTOR_BYTES - 1 };
}

/** The frontend of one PV disk. */
export class BlkFront {
  /** The device id (`virtual-device`, e.g. 51712 for xvda). */
  readonly devid: number;
  /** `device/vbd/<devid>`. */
  readonly nodename: string;
  readonly #drivers: BlkfrontDrivers;
  readonly #memory: PhysicalMemory;
  readonly #log: (text: string) => void;
  readonly #stateTimeoutMs: number;
  readonly #ioTimeoutMs: number;
  readonly #useIndirect: boolean;
  #info: BlkfrontInfo | undefined;
  #backend = "";
  #backendId = 0;
  #ring = 0;
  #ringRef: number | undefined;
  #port: number | undefined;
  #ringSize = blkifRingSize(XEN_PAGE_SIZE);
  #reqProdPvt = 0;
  #reqProdPushed = 0;
  #rspCons = 0;
  #shadow: Array<_Shadow | undefined> = [];
  #freeIds: number[] = [];
  #bouncePages = 0;
  #broken: string | undefined;
  #closed = false;
  #closeReport: BlkfrontCloseReport | undefined;
  #flushEnabled = false;
  /** Pages kept out of the heap for good: the backend still maps them. */
  #leaked = 0;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(drivers: BlkfrontDrivers, devid: number, options: BlkfrontOptions) {
    this.#drivers = drivers;
    this.#memory = drivers.events.hc.memory;
    this.devid = devid;
    this.nodename = `device/vbd/${devid}`;
    this.#log = options.log ?? (() => {});
    this.#stateTimeoutMs = options.stateTimeoutMs ?? BLKFRONT_STATE_TIMEOUT_MS;
    this.#ioTimeoutMs = options.ioTimeoutMs ?? BLKFRONT_IO_TIMEOUT_MS;
    this.#useIndirect = options.indirect ?? true;
  }

  /**
   * Connects `device/vbd/<devid>`. Prints U-Boot's messages for the steps that fail (`backend not
   * available, state=%d`, ...) through `log` and throws {@linkcode BlkfrontConnectError} after
   * giving back what it took (grant, event channel, pages).
   */
  static async connect(
    drivers: BlkfrontDrivers,
    devid: number,
    options: BlkfrontOptions = {},
  ): Promise<BlkFront> {
    if (!Number.isSafeInteger(devid) || devid < 0 || devid > U32_MAX) {
      throw new RangeError(`Cannot connect virtual device ${devid}: not a device id`);
    }
    const front = new BlkFront(drivers, devid, options);
    await front.#connect();
    return front;
  }

  /** The backend's description of the disk. */
  get info(): BlkfrontInfo {
    if (!this.#info) throw new Error(`Cannot describe ${this.nodename}: not connected`);
    return this.#info;
  }

  /** Logical block size in bytes. */
  get sectorSize(): number {
    return this.info.sectorSize;
  }

  /** Disk size in logical blocks. */
  get blocks(): number {
    return Math.floor((this.info.sectors * BLKIF_SECTOR_BYTES) / this.info.sectorSize);
  }

  /** Why the device is broken (a protocol violation or a dead backend), or undefined. */
  get broken(): string | undefined {
    return this.#broken;
  }

  /** The ring's event channel (undefined once closed). */
  get port(): number | undefined {
    return this.#port;
  }

  /** The ring's grant reference (undefined once given back). */
  get ringRef(): number | undefined {
    return this.#ringRef;
  }

  /** Requests on the ring without a response. */
  get inFlight(): number {
    return _u32(this.#reqProdPvt - this.#rspCons);
  }

  /** Pages kept out of the heap because the backend did not give them back. */
  get leakedPages(): number {
    return this.#leaked;
  }

  // ---------------------------------------------------------------------------------------------
  // Transfers.

  /** Reads `into.length` bytes from 512-byte sector `sector` into `into` (through bounce pages). */
  readBytes(sector: number, into: Uint8Array): Promise<BlkfrontIoError | undefined> {
    return this.#exclusive(() => this.#transfer(BLKIF_OP_READ, sector, into.length, { array: into }));
  }

  /** Writes `from` at 512-byte sector `sector` (through bounce pages), then flushes. */
  writeBytes(sector: number, from: Uint8Array): Promise<BlkfrontIoError | undefined> {
    return this.#exclusive(() => this.#transfer(BLKIF_OP_WRITE, sector, from.length, { array: from }));
  }

  /**
   * Reads `bytes` from 512-byte sector `sector` into guest memory at `address`. Memory aligned to
   * the sector size is granted to the backend where it is (split at page boundaries); other
   * addresses go through bounce pages. The caller checks that the memory exists.
   */
  readGuest(sector: number, address: number, bytes: number): Promise<BlkfrontIoError | undefined> {
    return this.#exclusive(() => this.#transfer(BLKIF_OP_READ, sector, bytes, { address }));
  }

  /** Writes `bytes` of guest memory at `address` to 512-byte sector `sector`, then flushes. */
  writeGuest(sector: number, address: number, bytes: number): Promise<BlkfrontIoError | undefined> {
    return this.#exclusive(() => this.#transfer(BLKIF_OP_WRITE, sector, bytes, { address }));
  }

  /**
   * Unplugs the disk (U-Boot's `shutdown_blkfront`, in the order of xen-spec §9): Closing, Closed,
   * then Initialising so the next kernel finds a fresh device; `ring-ref` and `event-channel`
   * removed; the ring grant ended only when the backend no longer maps it (else the page is leaked
   * on purpose); the event channel closed. Every wait is bounded; calling it twice does nothing.
   */
  close(): Promise<BlkfrontCloseReport> {
    return this.#exclusive(() => this.#close());
  }

  #exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(body, body);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #ioError(kind: "argument" | "broken" | "resources", detail: string): BlkfrontIoError {
    return new BlkfrontIoError(this.nodename, kind, detail);
  }

  async #transfer(
    op: number,
    sector: number,
    bytes: number,
    buffer: _Buffer,
  ): Promise<BlkfrontIoError | undefined> {
    const info = this.#info;
    if (this.#closed || !info) return this.#ioError("broken", "the device is closed");
    if (this.#broken) return this.#ioError("broken", `the device is broken (${this.#broken})`);
    const perBlock = info.sectorSize / BLKIF_SECTOR_BYTES;
    if (
      !Number.isSafeInteger(sector) || sector < 0 || sector % perBlock !== 0 ||
      !Number.isSafeInteger(bytes) || bytes < 0 || bytes % info.sectorSize !== 0
    ) {
      return this.#ioError(
        "argument",
        `sector ${sector}, ${bytes} bytes: not whole ${info.sectorSize}-byte blocks`,
      );
    }
    if (sector + bytes / BLKIF_SECTOR_BYTES > info.sectors) {
      return this.#ioError(
        "argument",
        `sectors ${sector}+${bytes / BLKIF_SECTOR_BYTES} past the end (${info.sectors})`,
      );
    }
    if (op === BLKIF_OP_WRITE && info.readOnly) return this.#ioError("argument", "the disk is read-only");
    if (bytes === 0) return undefined;

    const direct = "address" in buffer && info.trusted && buffer.address % info.sectorSize === 0;
    const job: _Job = { label: op === BLKIF_OP_READ ? "read" : "write", error: undefined };
    let cursor = 0;
    const issue = (): boolean => {
      const issued = this.#issueData(op, job, sector, cursor, bytes - cursor, buffer, direct);
      if (issued === 0) return false;
      cursor += issued;
      return true;
    };
    await this.#run(job, () => cursor < bytes, issue);
    if (!job.error && op === BLKIF_OP_WRITE && this.#flushEnabled) await this.#flush(job);
    return job.error;
  }

  /** `blkfront_sync`'s flush: one `BLKIF_OP_FLUSH_DISKCACHE` after the writes completed. */
  async #flush(job: _Job): Promise<void> {
    const flush: _Job = { label: "flush", error: undefined };
    let issued = false;
    await this.#run(flush, () => !issued, () => {
      issued = this.#issueFlush(flush);
      return issued;
    });
    if (flush.error?.kind === "status" && flush.error.status === BLKIF_RSP_EOPNOTSUPP) {
      // As Linux: the backend withdrew the feature; the data itself was written.
      this.#flushEnabled = false;
      return;
    }
    job.error = flush.error;
  }

  /**
   * Issues requests while `more()` and room allow, pushes them, reaps responses, until the job has
   * nothing left on the ring. Stops issuing after the job's first failure.
   */
  async #run(job: _Job, more: () => boolean, issue: () => boolean): Promise<void> {
    for (;;) {
      if (this.#broken) {
        job.error ??= this.#ioError("broken", `the device is broken (${this.#broken})`);
        break;
      }
      while (!job.error && more() && this.inFlight < this.#ringSize) {
        if (!issue()) break;
      }
      await this.#push();
      if (this.inFlight === 0) {
        if (!job.error && more()) job.error = this.#ioError("resources", "no heap or grant references left");
        break;
      }
      const failure = await this.#reap();
      if (failure) {
        job.error ??= failure;
        break;
      }
    }
  }

  /** Builds one data request from `offset` of the transfer; returns the bytes it covers (0: no room now). */
  #issueData(
    op: number,
    job: _Job,
    sector: number,
    offset: number,
    remaining: number,
    buffer: _Buffer,
    direct: boolean,
  ): number {
    const info = this.#info!;
    const maxSegs = this.#useIndirect && info.maxIndirectSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST
      ? info.maxIndirectSegments
      : BLKIF_MAX_SEGMENTS_PER_REQUEST;
    // Grants: one per segment, plus one per indirect page when the request is indirect.
    const indirectPages = maxSegs > BLKIF_MAX_SEGMENTS_PER_REQUEST
      ? Math.ceil(maxSegs / BLKIF_SEGS_PER_INDIRECT_FRAME)
      : 0;
    const grants = this.#drivers.gnttab.freeCount() - BLKFRONT_GRANT_RESERVE - indirectPages;
    const segLimit = Math.min(maxSegs, grants);
    if (segLimit < 1) return 0;
    const allocations: number[] = [];
    let runs: _Run[];
    let length: number;
    let copyOut: (() => void) | undefined;
    if (direct && "address" in buffer) {
      runs = _pageRuns(buffer.address + offset, remaining, segLimit);
      length = runs.reduce((sum, r) => sum + r.length, 0);
    } else {
      let pages = Math.min(
        segLimit,
        Math.ceil(remaining / XEN_PAGE_SIZE),
        BLKFRONT_MAX_BOUNCE_PAGES - this.#bouncePages,
      );
      // A tight heap gets smaller requests rather than none (at most log2(segments) tries).
      let region = pages >= 1 ? this.#alloc(pages * XEN_PAGE_SIZE) : undefined;
      while (region === undefined && pages > 1) {
        pages = Math.floor(pages / 2);
        region = this.#alloc(pages * XEN_PAGE_SIZE);
      }
      if (region === undefined) return 0;
      allocations.push(region);
      length = Math.min(remaining, pages * XEN_PAGE_SIZE);
      if (op === BLKIF_OP_WRITE) {
        if ("array" in buffer) this.#memory.write(region, buffer.array.subarray(offset, offset + length));
        else this.#memory.copy(region, buffer.address + offset, length);
      } else {
        copyOut = "array" in buffer
          ? () => this.#memory.readInto(region, buffer.array.subarray(offset, offset + length))
          : () => this.#memory.copy(buffer.address + offset, region, length);
      }
      runs = _pageRuns(region, length, pages);
    }
    const readonly = op === BLKIF_OP_WRITE;
    const grefs: number[] = [];
    const segments: BlkifSegment[] = [];
    for (const run of runs) {
      const gref = this.#grant(Math.floor(run.address / XEN_PAGE_SIZE), readonly);
      if (gref === undefined) return this.#undo(grefs, allocations);
      grefs.push(gref);
      segments.push(_segment(gref, run));
    }
    const id = this.#freeIds.pop()!;
    const sectorNumber = sector + offset / BLKIF_SECTOR_BYTES;
    let slot: Uint8Array;
    if (segments.length <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
      slot = encodeBlkifRequest({
        operation: op,
        handle: this.devid & HANDLE_MASK,
        id,
        sectorNumber,
        segments,
      });
    } else {
      const pageCount = Math.ceil(segments.length / BLKIF_SEGS_PER_INDIRECT_FRAME);
      const pages = this.#alloc(pageCount * XEN_PAGE_SIZE);
      if (pages === undefined) {
        this.#freeIds.push(id);
        return this.#undo(grefs, allocations);
      }
      allocations.push(pages);
      const indirectGrefs: number[] = [];
      for (let p = 0; p < pageCount; p++) {
        const at = pages + p * XEN_PAGE_SIZE;
        const chunk = segments.slice(
          p * BLKIF_SEGS_PER_INDIRECT_FRAME,
          (p + 1) * BLKIF_SEGS_PER_INDIRECT_FRAME,
        );
        this.#memory.write(at, encodeIndirectPage(chunk));
        // The backend only reads the segment list.
        const gref = this.#grant(at / XEN_PAGE_SIZE, true);
        if (gref === undefined) {
          this.#freeIds.push(id);
          return this.#undo([...grefs, ...indirectGrefs], allocations);
        }
        indirectGrefs.push(gref);
      }
      grefs.push(...indirectGrefs);
      slot = encodeBlkifIndirectRequest({
        indirectOp: op,
        handle: this.devid & HANDLE_MASK,
        id,
        sectorNumber,
        nrSegments: segments.length,
        indirectGrefs,
      });
    }
    const bouncePages = direct ? 0 : Math.ceil(length / XEN_PAGE_SIZE);
    this.#bouncePages += bouncePages;
    this.#shadow[id] = {
      operation: op,
      grefs,
      allocations,
      diskOffset: sectorNumber * BLKIF_SECTOR_BYTES,
      bytes: length,
      copyOut,
      bouncePages,
      job,
    };
    this.#putSlot(slot);
    return length;
  }

  #issueFlush(job: _Job): boolean {
    const id = this.#freeIds.pop()!;
    this.#shadow[id] = {
      operation: BLKIF_OP_FLUSH_DISKCACHE,
      grefs: [],
      allocations: [],
      diskOffset: 0,
      bytes: 0,
      copyOut: undefined,
      bouncePages: 0,
      job,
    };
    this.#putSlot(
      encodeBlkifRequest({
        operation: BLKIF_OP_FLUSH_DISKCACHE,
        handle: this.devid & HANDLE_MASK,
        id,
        sectorNumber: 0,
        segments: [],
      }),
    );
    return true;
  }

  /** A zeroed, page-aligned heap region (XSA-403), or undefined when the heap is full. */
  #alloc(bytes: number): number | undefined {
    try {
      const at = this.#drivers.heap.memalign(XEN_PAGE_SIZE, bytes);
      this.#memory.fill(at, bytes, 0);
      return at;
    } catch (e: unknown) {
      if (e instanceof MallocExhaustedError) return undefined;
      throw e;
    }
  }

  #grant(frame: number, readonly: boolean): number | undefined {
    try {
      return this.#drivers.gnttab.grantAccess(this.#backendId, frame, readonly);
    } catch (e: unknown) {
      if (e instanceof GrantTableFullError) return undefined;
      throw e;
    }
  }

  /** Takes back what a request that could not be completed had taken (nothing was on the ring). */
  #undo(grefs: readonly number[], allocations: readonly number[]): 0 {
    for (const gref of grefs) this.#drivers.gnttab.endAccess(gref);
    for (const at of allocations) this.#drivers.heap.free(at);
    return 0;
  }

  #putSlot(slot: Uint8Array): void {
    this.#memory.write(this.#ring + blkifSlotOffset(this.#reqProdPvt, this.#ringSize), slot);
    this.#reqProdPvt = _u32(this.#reqProdPvt + 1);
  }

  /** `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`, then `EVTCHNOP_send` when the backend asked for it. */
  async #push(): Promise<void> {
    const old = this.#reqProdPushed;
    const next = this.#reqProdPvt;
    if (old === next) return;
    // wmb(): the slots are in place before the index moves.
    this.#memory.writeU32(this.#ring + SRING_REQ_PROD, next);
    this.#reqProdPushed = next;
    // mb(): the backend sees the requests before req_event is read.
    const event = this.#memory.readU32(this.#ring + SRING_REQ_EVENT);
    if (_u32(next - event) < _u32(next - old)) await this.#drivers.events.send(this.#port!);
  }

  /** Waits for responses and consumes them; returns the violation or timeout that broke the device. */
  async #reap(): Promise<BlkfrontIoError | undefined> {
    const m = this.#memory;
    const ring = this.#ring;
    const answered = await this.#drivers.events.waitOn(this.#port!, () => {
      if (m.readU32(ring + SRING_RSP_PROD) !== this.#rspCons) return true;
      // RING_FINAL_CHECK_FOR_RESPONSES: ask for an event at the next response, then look again.
      m.writeU32(ring + SRING_RSP_EVENT, _u32(this.#rspCons + 1));
      return m.readU32(ring + SRING_RSP_PROD) !== this.#rspCons;
    }, this.#ioTimeoutMs);
    if (!answered) {
      return this.#breakDevice("timeout", `no response within ${this.#ioTimeoutMs} ms`);
    }
    return this.#consume();
  }

  /** Consumes the responses the backend produced, checking each before use (xen-spec §10.2). */
  #consume(): BlkfrontIoError | undefined {
    const m = this.#memory;
    // One read of the producer; everything below uses this value.
    const rp = m.readU32(this.#ring + SRING_RSP_PROD);
    const available = _u32(rp - this.#rspCons);
    const outstanding = this.inFlight;
    if (available > this.#ringSize || available > outstanding) {
      return this.#breakDevice(
        "protocol",
        `response producer ${rp} is ${available} past ${this.#rspCons}, with ${outstanding} requests outstanding`,
      );
    }
    const copy = new Uint8Array(BLKIF_RESPONSE_BYTES);
    for (let i = 0; i < available; i++) {
      m.readInto(this.#ring + blkifSlotOffset(this.#rspCons, this.#ringSize), copy);
      const rsp = decodeBlkifResponse(copy);
      const id = rsp.id < BigInt(this.#ringSize) ? Number(rsp.id) : -1;
      if (id < 0) return this.#breakDevice("protocol", `response id ${rsp.id} is out of range`);
      const shadow = this.#shadow[id];
      if (!shadow) {
        return this.#breakDevice("protocol", `response id ${id} names no outstanding request (duplicate?)`);
      }
      if (rsp.operation !== shadow.operation) {
        return this.#breakDevice(
          "protocol",
          `response to request ${id} has operation ${rsp.operation}, not ${shadow.operation}`,
        );
      }
      if (!BLKIF_KNOWN_STATUS.includes(rsp.status)) {
        return this.#breakDevice("protocol", `response to request ${id} has unknown status ${rsp.status}`);
      }
      // Processing: the entry leaves the table before anything else happens.
      this.#shadow[id] = undefined;
      this.#rspCons = _u32(this.#rspCons + 1);
      const returned = this.#release(shadow);
      this.#freeIds.push(id);
      if (!returned) {
        return this.#breakDevice("protocol", `backend has not unmapped the grants of request ${id}`);
      }
      this.#complete(shadow, rsp.status);
    }
    return undefined;
  }

  /** Ends a completed request's grants and frees its pages; false when the backend kept a grant. */
  #release(shadow: _Shadow): boolean {
    let allEnded = true;
    for (const gref of shadow.grefs) {
      if (!this.#drivers.gnttab.endAccess(gref)) allEnded = false;
    }
    this.#bouncePages -= shadow.bouncePages;
    if (allEnded) {
      for (const at of shadow.allocations) this.#drivers.heap.free(at);
    } else {
      this.#leaked += shadow.allocations.reduce(
        (sum, at) => sum + (this.#drivers.heap.allocationSize(at) ?? 0) / XEN_PAGE_SIZE,
        0,
      );
    }
    return allEnded;
  }

  #complete(shadow: _Shadow, status: number): void {
    const job = shadow.job;
    if (status === BLKIF_RSP_OKAY) {
      shadow.copyOut?.();
      return;
    }
    if (job.label === "flush") {
      this.#log(`flush error ${status}\n`);
    } else {
      this.#log(
        `${job.label} error ${status} on ${this.nodename} at offset ${shadow.diskOffset}, num bytes ${shadow.bytes}\n`,
      );
    }
    job.error ??= new BlkfrontIoError(
      this.nodename,
      "status",
      `${job.label} at byte ${shadow.diskOffset} failed with status ${status}`,
      status,
    );
  }

  /**
   * A protocol violation or a dead backend: the device stops using the ring. Outstanding requests
   * give back the grants the backend does not hold; pages behind grants it holds are leaked.
   */
  #breakDevice(kind: "protocol" | "timeout", detail: string): BlkfrontIoError {
    this.#broken = detail;
    this.#log(`blkfront ${this.nodename}: ${detail}; device disabled\n`);
    for (let id = 0; id < this.#shadow.length; id++) {
      const shadow = this.#shadow[id];
      if (!shadow) continue;
      this.#shadow[id] = undefined;
      this.#release(shadow);
    }
    return new BlkfrontIoError(this.nodename, kind, detail);
  }

  // ---------------------------------------------------------------------------------------------
  // Connection.

  async #connect(): Promise<void> {
    const xb = this.#drivers.xenbus;
    const node = this.nodename;
    const fail = (state: string): never => {
      throw new BlkfrontConnectError(node, state);
    };
    const backend = await xb.read(`${node}/backend`);
    if (backend instanceof XenbusError) {
      this.#log(`Error ${backend.xsError} when reading the backend path ${node}/backend\n`);
      fail(`no backend path (${backend.xsError})`);
    }
    if (!_isBackendPath(backend as string)) {
      this.#log(`Error EINVAL when reading the backend path ${node}/backend\n`);
      fail("the backend path is not an absolute XenStore path");
    }
    this.#backend = backend as string;
    const backendId = await xb.readNumber(`${node}/backend-id`, 0, MAX_BACKEND_ID);
    if (backendId instanceof XenbusError) {
      this.#log(`Failed to read ${node}/backend-id.\n`);
      fail(`no backend id (${backendId.detail})`);
    }
    this.#backendId = backendId as number;
    const trusted = await xb.readNumber(`${node}/trusted`, 0, 1);

    const initWait = await xb.waitForState(
      `${this.#backend}/state`,
      [XenbusState.InitWait],
      this.#stateTimeoutMs,
      XENBUS_POLL_MS,
    );
    if (initWait instanceof XenbusError) {
      this.#log(`backend not available, state=${this.#lastState(initWait)}\n`);
      fail(`backend did not reach InitWait (${initWait.detail})`);
    }

    let published = false;
    try {
      this.#setUpRing();
      await this.#publishTransport();
      published = true;
      const switched = await xb.switchState(`${node}/state`, XenbusState.Initialised);
      if (switched instanceof XenbusError) fail(`cannot switch to Initialised (${switched.detail})`);
      const connected = await xb.waitForState(
        `${this.#backend}/state`,
        [XenbusState.Connected, XenbusState.Closing, XenbusState.Closed],
        this.#stateTimeoutMs,
        XENBUS_POLL_MS,
      );
      if (connected !== XenbusState.Connected) {
        const state = connected instanceof XenbusError ? this.#lastState(connected) : connected;
        this.#log(`backend not available, state=${state}\n`);
        fail(`backend did not connect (state ${state})`);
      }
      this.#info = await this.#readBackend(trusted instanceof XenbusError ? 1 : trusted);
      this.#flushEnabled = this.#info.flush;
      const connectedSelf = await xb.switchState(`${node}/state`, XenbusState.Connected);
      if (connectedSelf instanceof XenbusError) fail(`cannot switch to Connected (${connectedSelf.detail})`);
    } catch (e: unknown) {
      if (published) {
        await this.#close();
      } else {
        this.#freeRing();
        if (this.#port !== undefined) await this.#drivers.events.unbind(this.#port);
        this.#port = undefined;
        this.#closed = true;
      }
      throw e;
    }
  }

  #lastState(error: XenbusError): number | string {
    return "lastState" in error && typeof error.lastState === "number" ? error.lastState : error.xsError;
  }

  /** `SHARED_RING_INIT` on a zeroed heap page, granted writable; the event channel. */
  #setUpRing(): void {
    const ring = this.#alloc(XEN_PAGE_SIZE);
    if (ring === undefined) throw new BlkfrontConnectError(this.nodename, "no heap for the ring page");
    this.#ring = ring;
    // req_prod = rsp_prod = 0 (zeroed); req_event = rsp_event = 1.
    this.#memory.writeU32(ring + SRING_REQ_EVENT, 1);
    this.#memory.writeU32(ring + SRING_RSP_EVENT, 1);
    this.#ringSize = blkifRingSize(XEN_PAGE_SIZE);
    this.#shadow = new Array<_Shadow | undefined>(this.#ringSize).fill(undefined);
    this.#freeIds = [];
    for (let id = this.#ringSize - 1; id >= 0; id--) this.#freeIds.push(id);
    this.#reqProdPvt = this.#reqProdPushed = this.#rspCons = 0;
    const ref = this.#grant(ring / XEN_PAGE_SIZE, false);
    if (ref === undefined) throw new BlkfrontConnectError(this.nodename, "no grant reference for the ring");
    this.#ringRef = ref;
  }

  /** The event channel, then `ring-ref`, `event-channel`, `protocol` in one transaction. */
  async #publishTransport(): Promise<void> {
    const xb = this.#drivers.xenbus;
    const node = this.nodename;
    this.#port = await this.#drivers.events.allocUnbound(this.#backendId);
    const keys: Array<[string, string, string]> = [
      ["ring-ref", String(this.#ringRef), "writing ring-ref"],
      ["event-channel", String(this.#port), "writing event-channel"],
      ["protocol", XEN_IO_PROTO_ABI_NATIVE, "writing protocol"],
    ];
    for (let attempt = 0; attempt < XENBUS_MAX_TRANSACTION_RETRIES; attempt++) {
      const tx = await xb.transactionStart();
      if (tx instanceof XenbusError) {
        this.#log("starting transaction\n");
        throw new BlkfrontConnectError(node, `cannot start a transaction (${tx.detail})`);
      }
      for (const [key, value, message] of keys) {
        const written = await xb.write(`${node}/${key}`, value, tx);
        if (written instanceof XenbusError) {
          await xb.transactionEnd(tx, true);
          this.#log(`Abort transaction ${message}\n`);
          throw new BlkfrontConnectError(node, `${message} failed (${written.detail})`);
        }
      }
      const ended = await xb.transactionEnd(tx, false);
      if (ended instanceof XenbusError) {
        throw new BlkfrontConnectError(node, `cannot commit the transaction (${ended.detail})`);
      }
      if (!ended.retry) return;
    }
    throw new BlkfrontConnectError(node, "the transaction kept conflicting (EAGAIN)");
  }

  /** Reads and checks what the backend published when it connected (xen-spec §10.2 item 19). */
  async #readBackend(trusted: number): Promise<BlkfrontInfo> {
    const xb = this.#drivers.xenbus;
    const be = this.#backend;
    const required = async (key: string, min: number, max: number): Promise<number> => {
      const value = await xb.readNumber(`${be}/${key}`, min, max);
      if (value instanceof XenbusError) {
        this.#log(`Failed to read ${be}/${key}.\n`);
        throw new BlkfrontConnectError(this.nodename, `bad ${key} (${value.detail})`);
      }
      return value;
    };
    const optional = async (key: string, max: number): Promise<number> => {
      const value = await xb.readNumber(`${be}/${key}`, 0, max);
      return value instanceof XenbusError ? 0 : value;
    };
    const sectors = await required("sectors", 1, MAX_SECTORS);
    const sectorSize = await required("sector-size", BLKIF_SECTOR_BYTES, XEN_PAGE_SIZE);
    if ((sectorSize & (sectorSize - 1)) !== 0) {
      throw new BlkfrontConnectError(this.nodename, `sector-size ${sectorSize} is not a power of two`);
    }
    const info = await optional("info", U32_MAX);
    const mode = await xb.read(`${be}/mode`);
    const writable = !(mode instanceof XenbusError) && mode.startsWith("w");
    const indirect = await optional("feature-max-indirect-segments", U32_MAX);
    return {
      backendId: this.#backendId,
      backend: be,
      sectors,
      sectorSize,
      info,
      // `mode` is the backend's private key: without it, only VDISK_READONLY decides.
      readOnly: (mode instanceof XenbusError ? false : !writable) || (info & VDISK_READONLY) !== 0,
      flush: (await optional("feature-flush-cache", U32_MAX)) !== 0,
      barrier: (await optional("feature-barrier", U32_MAX)) !== 0,
      maxIndirectSegments: indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST
        ? Math.min(indirect, BLKFRONT_MAX_INDIRECT_SEGMENTS, BLKIF_MAX_INDIRECT_SEGMENTS)
        : 0,
      trusted: trusted !== 0,
    };
  }

  async #close(): Promise<BlkfrontCloseReport> {
    const xb = this.#drivers.xenbus;
    const node = this.nodename;
    const stateNode = `${node}/state`;
    const backendState = `${this.#backend}/state`;
    if (this.#closeReport) return this.#closeReport;
    this.#closed = true;
    let last: number | undefined;
    const step = async (state: XenbusState, until: readonly XenbusState[]): Promise<boolean> => {
      const switched = await xb.switchState(stateNode, state);
      if (switched instanceof XenbusError) {
        this.#log(`shutdown_blkfront: error changing state to ${state}: ${switched.xsError}\n`);
        return false;
      }
      const reached = await xb.waitForState(backendState, until, this.#stateTimeoutMs, XENBUS_POLL_MS);
      if (reached instanceof XenbusError) {
        const state = this.#lastState(reached);
        last = typeof state === "number" ? state : undefined;
        return false;
      }
      last = reached;
      return true;
    };
    let backendClosed = false;
    if (await step(XenbusState.Closing, [XenbusState.Closing, XenbusState.Closed])) {
      backendClosed = await step(XenbusState.Closed, [XenbusState.Closed]);
      if (backendClosed) {
        await step(XenbusState.Initialising, [
          XenbusState.InitWait,
          XenbusState.Initialised,
          XenbusState.Connected,
          XenbusState.Closing,
        ]);
      }
    }
    await xb.rm(`${node}/ring-ref`);
    await xb.rm(`${node}/event-channel`);
    // Outstanding requests (a backend that went away mid-transfer) give back what they can.
    if (!this.#broken && this.inFlight > 0) this.#breakDevice("timeout", "closed with requests outstanding");
    const ringGrantEnded = this.#freeRing();
    if (this.#port !== undefined) {
      this.#drivers.events.mask(this.#port);
      await this.#drivers.events.unbind(this.#port);
      this.#port = undefined;
    }
    this.#closeReport = { backendClosed, backendState: last, ringGrantEnded, leakedPages: this.#leaked };
    return this.#closeReport;
  }

  /** Ends the ring grant and frees the page; when the backend still maps it the page is leaked. */
  #freeRing(): boolean {
    let ended = true;
    if (this.#ringRef !== undefined) {
      ended = this.#drivers.gnttab.endAccess(this.#ringRef);
      if (ended) this.#ringRef = undefined;
    }
    if (this.#ring !== 0) {
      if (ended) this.#drivers.heap.free(this.#ring);
      else this.#leaked++;
      this.#ring = 0;
    }
    return ended;
  }
}
