/**
 * Dom0's PV block backend over a {@linkcode DiskImage}, as Linux's xen-blkback serves a guest
 * (xen-spec §4–§6, §9). One {@linkcode Blkback} serves one virtual disk of one guest.
 *
 * **XenStore and the handshake.** {@linkcode attachVbd} writes the toolstack's nodes (vbd_toolstack.ts)
 * and starts the backend, which publishes in its directory `feature-max-indirect-segments` (when above
 * 11), `feature-flush-cache`, `feature-barrier`, `sectors` (512-byte units), `info` (`VDISK_READONLY` for a
 * read-only disk), `sector-size` and `physical-sector-size`, switches to InitWait and watches the
 * frontend's `state`. On frontend Initialised or Connected it reads `protocol` (absent or "arm-abi";
 * anything else is fatal), `ring-ref` (or `ring-ref0` with `ring-page-order` 0; a larger order or more
 * than one queue is fatal), `event-channel`, maps the ring grant writable, binds the event channel and
 * switches to Connected. Frontend Closing → disconnect, Closing; Closed → disconnect, Closed (and gone
 * for good if `online` is not "1"); Initialising after Closed → InitWait, ready to reconnect; a missing
 * frontend → gone. A fatal error writes `error/backend/vbd/<fe>/<devid>/error` under Dom0's home
 * ("<errno> <message>", as `xenbus_dev_fatal`) and switches to Closing.
 *
 * **Requests.** READ, WRITE, FLUSH_DISKCACHE, WRITE_BARRIER and INDIRECT (READ or WRITE through up to
 * eight granted indirect pages). Each request is copied out of the ring once and checked: segment count,
 * `first_sect ≤ last_sect ≤ 7`, alignment to `sector-size`, the sector range inside the disk, no write to
 * a read-only disk, and every data grant mapped through the grant API (writable for a READ, read-only
 * otherwise) before any data moves. A failed check is answered `BLKIF_RSP_ERROR` (an operation this
 * backend does not offer `BLKIF_RSP_EOPNOTSUPP`), never by throwing, and guest memory is not touched. A
 * `req_prod` more than a ring ahead stops the ring for good (until the next connection).
 *
 * **Time.** The scheduler's backends run synchronously; disk I/O is asynchronous. A run takes requests off
 * the ring, maps their grants and queues their I/O; {@linkcode Blkback.settle} performs the queued I/O in
 * order (one access at a time, so the result never depends on host timing), and the next run pushes the
 * responses, then notifies the frontend if `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY` says so. The machine
 * calls {@linkcode settleBlkbacks} after each hypercall, so a guest sees its responses when its hypercall
 * returns. Fault injection ({@linkcode BlkbackFaults}) can fail sectors, hold responses back for virtual
 * time or backend runs, and make the backend go away mid-transfer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeGuestConfig } from "../guest_config.ts";
 * import { createMachine } from "../machine.ts";
 * import { MemoryDiskImage } from "./disk_image.ts";
 *
 * const config = completeGuestConfig({
 *   memoryMiB: 64,
 *   disks: [{ target: "disk.img", vdev: "xvda", access: "ro", format: "raw" }],
 * });
 * const machine = await createMachine(config, {
 *   readFile: () => Promise.reject(new Error("no files")),
 *   openDisk: (disk) => Promise.resolve(new MemoryDiskImage({ size: 1 << 20, readOnly: disk.access === "ro" })),
 * });
 * const backend = "/local/domain/0/backend/vbd/1/51712";
 * assert.equal(machine.dom0.xenstore.readString(`${backend}/state`), "2"); // InitWait
 * assert.equal(machine.dom0.xenstore.readString(`${backend}/sectors`), "2048");
 * assert.equal(machine.dom0.xenstore.readString(`${backend}/info`), "4"); // VDISK_READONLY
 * assert.equal(machine.blkbacks[0]?.report().state, "InitWait");
 * ```
 *
 * @module
 */

import type { DiskSpec } from "../guest_config.ts";
import type { TraceBus } from "../trace.ts";
import {
  BLKIF_MAX_INDIRECT_SEGMENTS,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_NAMES,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_REQUEST_SEGMENT,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  BLKIF_SECTOR_BYTES,
  BLKIF_SECTORS_PER_PAGE,
  BLKIF_SEGS_PER_INDIRECT_FRAME,
  type BlkifRequest,
  type BlkifSegment,
  decodeBlkifRequest,
  decodeBlkifSegments,
  encodeBlkifResponse,
  VDISK_READONLY,
  XEN_IO_PROTO_ABI_NATIVE,
} from "./blkif.ts";
import { BLKIF_RING_SIZE, BlkifBackRing, BlkifRingError } from "./blkif_back_ring.ts";
import type { Dom0 } from "./dom0.ts";
import type { DiskImage } from "./disk_image.ts";
import { GrantError, type GrantMapping } from "./grant_table.ts";
import type { Backend, BackendReport } from "./scheduler.ts";
import { vbdPaths, writeVbdNodes } from "./vbd_toolstack.ts";
import { XEN_ERRNO, type XenErrnoName } from "./xen_abi.ts";
import { parseXenbusState, XenbusState, xenbusStateName, type XenbusStateValue } from "./xenbus_state.ts";
import { domainPath, XenStoreError } from "./xenstore_db.ts";

/**
 * Segments per indirect request this backend offers by default (Linux blkback's `MAX_INDIRECT_SEGMENTS`):
 * 1 MiB per request; blkback_bench.ts shows what it buys over 11-segment requests.
 */
export const DEFAULT_MAX_INDIRECT_SEGMENTS = 256;
/** Logical sector sizes a backend may announce. */
export const SECTOR_SIZES: readonly number[] = [512, 4096];
/** Settle rounds {@linkcode settleBlkbacks} runs at most after one hypercall (two are the norm). */
export const MAX_SETTLE_ROUNDS = 16;
/** I/O operations one {@linkcode Blkback.settle} performs at most (a ring's worth is the norm). */
export const MAX_SETTLE_IO = 4 * BLKIF_RING_SIZE;
const NS_PER_MS = 1_000_000;
const WATCH_TOKEN_PREFIX = "blkback";
const U32_MAX = 0xffff_ffff;

/**
 * Faults to inject; change them at any time on {@linkcode Blkback.faults}, or give them with the disk
 * ({@linkcode BlkbackDiskSpec.faults}).
 */
export interface BlkbackFaults {
  /** A request covering any of these 512-byte sectors fails with `BLKIF_RSP_ERROR`; nothing is read or written. */
  ioErrorSectors?: readonly number[];
  /** Responses are held until this many milliseconds of Xen system time (virtual) passed since the request was taken. */
  delayMs?: number;
  /** Responses are held for this many runs of the backend after the request was taken. */
  delayRounds?: number;
  /**
   * Once this many requests were taken since the ring connected, the backend goes away on the next one:
   * it switches to Closing in the middle of the transfer and answers nothing more (one-shot: the field is
   * cleared when it fires, so a reconnection works).
   */
  goAwayAfterRequests?: number;
}

/** A disk of the guest configuration with the backend's own options. */
export interface BlkbackDiskSpec extends DiskSpec {
  /** Logical sector size to announce (512 or 4096; default: the image's preference, else 512). */
  sectorSize?: number;
  /** Most segments of an indirect request (default 256; 11 or fewer: no indirect requests). */
  maxIndirectSegments?: number;
  /** Faults to inject from the start. */
  faults?: BlkbackFaults;
}

/** What a {@linkcode Blkback} serves and how. */
export interface BlkbackOptions {
  /** Dom0's API (grants, event channels, XenStore, clock). */
  dom0: Dom0;
  /** Where `blkif-request` events go. */
  trace: TraceBus;
  /** The guest. */
  frontendDomid: number;
  /** The VBD number (`virtual-device`). */
  devid: number;
  /** The device name, for reports (`xvda`). */
  vdev: string;
  /** The disk image. */
  image: DiskImage;
  /** Logical sector size to announce (512 or 4096; default: the image's preference, else 512). */
  sectorSize?: number;
  /** Most segments of an indirect request; 11 or fewer turns indirect requests off (default 256). */
  maxIndirectSegments?: number;
  /** Offer `BLKIF_OP_WRITE_BARRIER` (`feature-barrier`, default true). */
  barrier?: boolean;
  /** Offer `BLKIF_OP_FLUSH_DISKCACHE` (`feature-flush-cache`, default true). */
  flushCache?: boolean;
  /** Faults to inject from the start. */
  faults?: BlkbackFaults;
}

/** What {@linkcode attachVbd} needs beyond the backend's options: the toolstack's view of the disk. */
export interface AttachVbdOptions extends BlkbackOptions {
  /** The image's host path (`params`). */
  params: string;
  /** "rw" or "ro" (`mode`). */
  access: "rw" | "ro";
}

/** A backend option is out of range (a programming or configuration error). */
export class BlkbackError extends RangeError {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "BlkbackError";
  }
}

/** Counts for reports. */
export interface BlkbackStats {
  /** Requests taken off the ring. */
  requests: number;
  /** Responses other than `BLKIF_RSP_OKAY`. */
  errors: number;
  /** Bytes read from the image for the guest. */
  bytesRead: number;
  /** Bytes written to the image from the guest. */
  bytesWritten: number;
}

/** A request taken off the ring and not yet answered. */
interface _Pending {
  readonly id: bigint;
  responseOp: number;
  opName: string;
  readonly sector: bigint;
  sectors: number;
  readonly segments: number;
  status: number | undefined;
  why: string;
  readonly dueNs: bigint;
  readonly dueRound: number;
  abandoned: boolean;
}

/** The data movement a valid request asks for. */
interface _Io {
  readonly op: number;
  /** Byte offset in the image. */
  readonly offset: number;
  readonly bytes: number;
  readonly segments: readonly BlkifSegment[];
  readonly flush: boolean;
}

type _Refusal = { readonly status: number; readonly why: string };

function _opName(op: number): string {
  return BLKIF_OP_NAMES[op] ?? `op ${op}`;
}

function _reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A XenStore number as Linux's `%u` scan reads it here: decimal digits, at most 2^32 - 1. */
function _parseU32(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= U32_MAX ? n : undefined;
}

/** The backend for one virtual disk (see the module documentation). */
export class Blkback implements Backend {
  /** Name in the run order and the handoff report (`vbd xvda`). */
  readonly name: string;
  /** The VBD number. */
  readonly devid: number;
  /** The device name. */
  readonly vdev: string;
  /** The image served. */
  readonly image: DiskImage;
  /** The backend directory. */
  readonly backendPath: string;
  /** Announced logical sector size. */
  readonly sectorSize: number;
  /** Disk size in 512-byte sectors (whole logical sectors only). */
  readonly sectors: number;
  /** Most segments of an indirect request (≤ 11: none offered). */
  readonly maxIndirectSegments: number;
  /** `feature-barrier`. */
  readonly barrier: boolean;
  /** `feature-flush-cache`. */
  readonly flushCache: boolean;
  /** Faults to inject; change them at any time. */
  readonly faults: BlkbackFaults;
  /** Counts since the backend started. */
  readonly stats: BlkbackStats = { requests: 0, errors: 0, bytesRead: 0, bytesWritten: 0 };
  readonly #dom0: Dom0;
  readonly #trace: TraceBus;
  readonly #frontendDomid: number;
  #frontendPath = "";
  #readOnly = true;
  #started = false;
  #removed = false;
  #state: XenbusStateValue = XenbusState.Initialising;
  #frontendState: XenbusStateValue = XenbusState.Unknown;
  #frontendChanged = false;
  #ring: BlkifBackRing | undefined;
  #ringRef = 0;
  #remotePort = 0;
  #port = 0;
  #moreToDo = false;
  #ringError = "";
  #fatal = "";
  #storeFailures: string[] = [];
  #queue: _Pending[] = [];
  #io: (() => Promise<void>)[] = [];
  #inFlight = 0;
  #settling: Promise<void> | undefined;
  #round = 0;
  #taken = 0;

  /** A backend for `options.devid`; {@linkcode Blkback.start} publishes it (or use {@linkcode attachVbd}). */
  constructor(options: BlkbackOptions) {
    const sectorSize = options.sectorSize ?? options.image.sectorSize ?? BLKIF_SECTOR_BYTES;
    if (!SECTOR_SIZES.includes(sectorSize)) {
      throw new BlkbackError(
        `Cannot serve ${options.vdev} with ${sectorSize}-byte sectors: 512 or 4096 only`,
      );
    }
    const maxIndirect = options.maxIndirectSegments ?? DEFAULT_MAX_INDIRECT_SEGMENTS;
    if (!Number.isInteger(maxIndirect) || maxIndirect < 0 || maxIndirect > BLKIF_MAX_INDIRECT_SEGMENTS) {
      throw new BlkbackError(
        `Cannot serve ${options.vdev} with ${maxIndirect} indirect segments: at most ${BLKIF_MAX_INDIRECT_SEGMENTS}`,
      );
    }
    this.#dom0 = options.dom0;
    this.#trace = options.trace;
    this.#frontendDomid = options.frontendDomid;
    this.devid = options.devid;
    this.vdev = options.vdev;
    this.name = `vbd ${options.vdev}`;
    this.image = options.image;
    this.backendPath = vbdPaths(options.frontendDomid, options.dom0.domid, options.devid).backend;
    this.sectorSize = sectorSize;
    this.sectors = Math.floor(options.image.size / sectorSize) * (sectorSize / BLKIF_SECTOR_BYTES);
    this.maxIndirectSegments = maxIndirect;
    this.barrier = options.barrier ?? true;
    this.flushCache = options.flushCache ?? true;
    this.faults = { ...options.faults };
  }

  /** The backend's XenBus state. */
  get state(): XenbusStateValue {
    return this.#state;
  }

  /** The frontend's XenBus state as last seen. */
  get frontendState(): XenbusStateValue {
    return this.#frontendState;
  }

  /** True when the disk is served read-only (`mode` "r" or a read-only image). */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** True while a ring is mapped. */
  get connected(): boolean {
    return this.#ring !== undefined;
  }

  /** Why the ring was stopped, or "". */
  get ringError(): string {
    return this.#ringError;
  }

  /** Requests whose image I/O has not finished (see {@linkcode Blkback.settle}). */
  get ioInFlight(): number {
    return this.#inFlight;
  }

  /**
   * The backend's probe: reads `frontend` and `mode` from the backend directory the toolstack wrote,
   * publishes the features and disk properties, switches to InitWait and watches the frontend's state.
   * Throws {@linkcode BlkbackError} when the toolstack's nodes are missing.
   */
  start(): void {
    if (this.#started) throw new BlkbackError(`Cannot start ${this.name}: already started`);
    const xs = this.#dom0.xenstore;
    const frontend = xs.readString(`${this.backendPath}/frontend`);
    const frontendId = xs.readString(`${this.backendPath}/frontend-id`);
    if (frontend instanceof XenStoreError || frontendId !== String(this.#frontendDomid)) {
      throw new BlkbackError(`Cannot start ${this.name}: no toolstack nodes in ${this.backendPath}`);
    }
    const mode = xs.readString(`${this.backendPath}/mode`);
    this.#readOnly = mode !== "w" || this.image.readOnly;
    this.#frontendPath = frontend;
    this.#started = true;
    if (this.maxIndirectSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
      this.#write("feature-max-indirect-segments", String(this.maxIndirectSegments));
    }
    this.#writeProperties();
    this.#switchState(XenbusState.InitWait);
    const watched = xs.watch(`${frontend}/state`, `${WATCH_TOKEN_PREFIX}-${this.devid}`, () => {
      this.#frontendChanged = true;
    });
    if (watched !== undefined) this.#storeFailures.push(`watch ${frontend}/state: ${watched.code}`);
  }

  /** Reacts to the frontend's state, answers finished requests and takes new ones; true on progress. */
  run(): boolean {
    if (!this.#started || this.#removed) return false;
    this.#round++;
    let progress = false;
    if (this.#frontendChanged) {
      this.#frontendChanged = false;
      progress = this.#onFrontendChanged();
    }
    return this.#serveRing() || progress;
  }

  /**
   * Performs the queued image I/O, one access at a time in the order the requests were taken; the
   * responses go out on the next run. Concurrent calls share one pass.
   */
  settle(): Promise<void> {
    this.#settling ??= this.#drainIo().finally(() => {
      this.#settling = undefined;
    });
    return this.#settling;
  }

  /** The connection for the handoff report. */
  report(): BackendReport {
    const details: Record<string, string | number | boolean> = {
      devid: this.devid,
      frontendState: xenbusStateName(this.#frontendState),
      requests: this.stats.requests,
      errors: this.stats.errors,
    };
    const problems: string[] = [];
    const ring = this.#ring;
    if (ring !== undefined) {
      Object.assign(details, { ringRef: this.#ringRef, port: this.#port, reqCons: ring.reqCons });
      problems.push(
        `${this.name}: ring grant ${this.#ringRef} is still mapped and event channel ${this.#remotePort} bound`,
      );
    }
    if (!this.#removed && this.#started && this.#state !== XenbusState.InitWait) {
      problems.push(
        `${this.name}: backend is ${
          xenbusStateName(this.#state)
        }, not InitWait (the next kernel must reset it)`,
      );
    }
    if (this.#queue.length > 0) problems.push(`${this.name}: ${this.#queue.length} request(s) not answered`);
    if (this.#ringError !== "") problems.push(`${this.name}: ${this.#ringError}`);
    for (const failure of this.#storeFailures) problems.push(`${this.name}: cannot ${failure}`);
    let state = this.#removed ? "removed" : xenbusStateName(this.#state);
    if (this.#ringError !== "") state += " (ring stopped)";
    if (this.#fatal !== "") details.error = this.#fatal;
    return { name: this.name, state, details, problems };
  }

  // ----- XenStore --------------------------------------------------------------------------------------

  #write(key: string, value: string): void {
    const error = this.#dom0.xenstore.write(`${this.backendPath}/${key}`, value);
    if (error !== undefined) this.#storeFailures.push(`write ${key}: ${error.code}`);
  }

  #readFrontend(key: string): string | undefined {
    const value = this.#dom0.xenstore.readString(`${this.#frontendPath}/${key}`);
    return value instanceof XenStoreError ? undefined : value;
  }

  /** `xenbus_switch_state`: writes the state unless it is already that; true when it changed. */
  #switchState(state: XenbusStateValue): boolean {
    if (this.#state === state) return false;
    this.#state = state;
    this.#write("state", String(state));
    return true;
  }

  /** `xenbus_dev_fatal`: the error node under Dom0's home, then Closing. */
  #fail(errno: XenErrnoName, message: string): void {
    this.#fatal = message;
    const node = `${
      domainPath(this.#dom0.domid)
    }/error/backend/vbd/${this.#frontendDomid}/${this.devid}/error`;
    const error = this.#dom0.xenstore.write(node, `${XEN_ERRNO[errno]} ${message}`);
    if (error !== undefined) this.#storeFailures.push(`write ${node}: ${error.code}`);
    this.#switchState(XenbusState.Closing);
  }

  #writeProperties(): void {
    this.#write("feature-flush-cache", this.flushCache ? "1" : "0");
    this.#write("feature-barrier", this.barrier ? "1" : "0");
    this.#write("sectors", String(this.sectors));
    this.#write("info", String(this.#readOnly ? VDISK_READONLY : 0));
    this.#write("sector-size", String(this.sectorSize));
    this.#write("physical-sector-size", String(this.sectorSize));
  }

  /** Linux blkback's `frontend_changed`; true when the backend did something. */
  #onFrontendChanged(): boolean {
    const state = parseXenbusState(this.#readFrontend("state"));
    this.#frontendState = state;
    switch (state) {
      case XenbusState.Initialising:
        return this.#state === XenbusState.Closed && this.#switchState(XenbusState.InitWait);
      case XenbusState.Initialised:
      case XenbusState.Connected:
        if (this.#state === XenbusState.Connected) return false;
        this.#disconnect();
        if (this.#connectRing()) {
          this.#writeProperties();
          this.#switchState(XenbusState.Connected);
        }
        return true;
      case XenbusState.Closing:
        this.#disconnect();
        this.#switchState(XenbusState.Closing);
        return true;
      case XenbusState.Closed: {
        this.#disconnect();
        this.#switchState(XenbusState.Closed);
        const online = this.#dom0.xenstore.readString(`${this.backendPath}/online`);
        if (online !== "1") this.#remove();
        return true;
      }
      case XenbusState.Unknown:
        this.#remove();
        return true;
      default:
        this.#fail("EINVAL", `saw state ${state} at frontend`);
        return true;
    }
  }

  /** Linux blkback's `connect_ring`: true when the ring is mapped and the event channel bound. */
  #connectRing(): boolean {
    const fe = this.#frontendPath;
    const protocol = this.#readFrontend("protocol");
    if (protocol !== undefined && protocol !== XEN_IO_PROTO_ABI_NATIVE) {
      this.#fail("ENOSYS", `unknown fe protocol ${protocol}`);
      return false;
    }
    const queues = this.#readFrontend("multi-queue-num-queues");
    if (queues !== undefined && _parseU32(queues) !== 1) {
      this.#fail("ENOSYS", `guest requested ${queues} queues, exceeding the maximum of 1.`);
      return false;
    }
    const orderText = this.#readFrontend("ring-page-order");
    let refKey = "ring-ref";
    if (orderText !== undefined) {
      if (_parseU32(orderText) !== 0) {
        this.#fail("EINVAL", `requested ring page order ${orderText} exceed max:0`);
        return false;
      }
      refKey = "ring-ref0";
    }
    const port = _parseU32(this.#readFrontend("event-channel"));
    if (port === undefined) {
      this.#fail("EINVAL", `reading ${fe}/event-channel`);
      return false;
    }
    const ref = _parseU32(this.#readFrontend(refKey));
    if (ref === undefined) {
      this.#fail("EINVAL", `reading ${fe}/${refKey}`);
      return false;
    }
    const mapping = this.#dom0.grants.map(this.#frontendDomid, ref, { writable: true });
    if (mapping instanceof GrantError) {
      this.#fail("EINVAL", `mapping ring-ref ${ref} port ${port}: ${mapping.why}`);
      return false;
    }
    const local = this.#dom0.events.bindInterdomain(this.#frontendDomid, port);
    if (typeof local === "string") {
      mapping.unmap();
      this.#fail(local, `mapping ring-ref ${ref} port ${port}: cannot bind the event channel`);
      return false;
    }
    this.#ring = new BlkifBackRing(mapping);
    this.#ringRef = ref;
    this.#remotePort = port;
    this.#port = local;
    this.#ringError = "";
    this.#taken = 0;
    this.#moreToDo = true;
    return true;
  }

  /** `xen_blkif_disconnect`: answers what is done, drops the rest, unbinds and unmaps. */
  #disconnect(): void {
    const ring = this.#ring;
    if (ring === undefined) return;
    if (this.#ringError === "") {
      try {
        this.#pushDone(ring, true);
      } catch (error) {
        if (!(error instanceof BlkifRingError)) throw error;
      }
    }
    this.#abandonQueue("the ring was disconnected first");
    this.#dom0.events.close(this.#port);
    ring.mapping.unmap();
    this.#ring = undefined;
    this.#port = 0;
    this.#moreToDo = false;
  }

  /** The frontend is gone for good: no more watching, nothing more served. */
  #remove(): void {
    this.#disconnect();
    this.#dom0.xenstore.unwatch(`${this.#frontendPath}/state`, `${WATCH_TOKEN_PREFIX}-${this.devid}`);
    this.#removed = true;
  }

  /** The injected fault: Closing in the middle of a transfer, every unanswered request dropped. */
  #goAway(): void {
    delete this.faults.goAwayAfterRequests;
    this.#abandonQueue("the backend went away");
    this.#switchState(XenbusState.Closing);
  }

  #abandonQueue(why: string): void {
    for (const entry of this.#queue) {
      entry.abandoned = true;
      this.#traceEntry(entry, null, why);
    }
    this.#queue = [];
  }

  // ----- the ring --------------------------------------------------------------------------------------

  #serveRing(): boolean {
    const ring = this.#ring;
    if (ring === undefined || this.#state !== XenbusState.Connected || this.#ringError !== "") return false;
    try {
      let progress = this.#pushDone(ring, false);
      const kicked = this.#dom0.events.testAndClearPending(this.#port);
      if (kicked || this.#moreToDo) {
        progress = this.#consume(ring) || progress;
        if (this.#state === XenbusState.Connected) progress = this.#pushDone(ring, false) || progress;
      }
      return progress;
    } catch (error) {
      if (!(error instanceof BlkifRingError)) throw error;
      this.#ringError = error.message;
      this.#moreToDo = false;
      return true;
    }
  }

  /** Takes the published requests (a ring's worth at most); true when it took any. */
  #consume(ring: BlkifBackRing): boolean {
    const taken = ring.takeRequests();
    for (const [i, slot] of taken.slots.entries()) {
      const goAway = this.faults.goAwayAfterRequests;
      if (goAway !== undefined && this.#taken >= goAway) {
        for (const dropped of taken.slots.slice(i)) this.#traceDropped(dropped);
        this.#goAway();
        return true;
      }
      this.#taken++;
      this.stats.requests++;
      this.#queue.push(this.#dispatch(slot));
    }
    this.#moreToDo = taken.more || ring.finalCheckForRequests();
    return taken.slots.length > 0;
  }

  /** Answers the finished requests that are due (all finished ones with `ignoreDelay`); true when any. */
  #pushDone(ring: BlkifBackRing, ignoreDelay: boolean): boolean {
    const now = this.#dom0.clock.nowNs();
    const keep: _Pending[] = [];
    let pushed = 0;
    for (const entry of this.#queue) {
      const due = ignoreDelay || (now >= entry.dueNs && this.#round >= entry.dueRound);
      if (entry.status === undefined || !due) {
        keep.push(entry);
        continue;
      }
      ring.pushResponse(encodeBlkifResponse(entry.id, entry.responseOp, entry.status));
      if (entry.status !== BLKIF_RSP_OKAY) this.stats.errors++;
      this.#traceEntry(entry, entry.status, entry.why);
      pushed++;
    }
    this.#queue = keep;
    if (pushed > 0 && ring.pushResponsesAndCheckNotify()) this.#dom0.events.send(this.#port);
    return pushed > 0;
  }

  #traceEntry(entry: _Pending, status: number | null, why: string): void {
    if (!this.#trace.wants("blkif-request")) return;
    this.#trace.emit("blkif-request", {
      domain: this.#frontendDomid,
      device: this.devid,
      id: entry.id,
      op: entry.opName,
      sector: entry.sector,
      sectors: entry.sectors,
      segments: entry.segments,
      status,
      why,
    });
  }

  #traceDropped(slot: Uint8Array): void {
    const request = decodeBlkifRequest(slot);
    const entry = this.#newEntry(request);
    this.#traceEntry(entry, null, "the backend went away");
  }

  #newEntry(request: BlkifRequest): _Pending {
    const delayMs = this.faults.delayMs ?? 0;
    const delayNs = BigInt(Math.max(0, Math.round(delayMs * NS_PER_MS)));
    return {
      id: request.id,
      responseOp: request.kind === "indirect" ? request.indirectOp : request.operation,
      opName: request.kind === "indirect"
        ? `INDIRECT ${_opName(request.indirectOp)}`
        : _opName(request.operation),
      sector: request.sectorNumber,
      sectors: 0,
      segments: request.nrSegments,
      status: undefined,
      why: "",
      dueNs: this.#dom0.clock.nowNs() + delayNs,
      dueRound: this.#round + Math.max(0, Math.floor(this.faults.delayRounds ?? 0)),
      abandoned: false,
    };
  }

  /** Checks a request, maps its grants and queues its I/O; an invalid one is answered at once. */
  #dispatch(slot: Uint8Array): _Pending {
    const request = decodeBlkifRequest(slot);
    const entry = this.#newEntry(request);
    const plan = this.#plan(request, entry);
    if ("status" in plan) {
      entry.status = plan.status;
      entry.why = plan.why;
      return entry;
    }
    const mappings = this.#mapSegments(plan);
    if (typeof mappings === "string") {
      entry.status = BLKIF_RSP_ERROR;
      entry.why = mappings;
      return entry;
    }
    this.#inFlight++;
    this.#io.push(() => this.#perform(entry, plan, mappings));
    return entry;
  }

  /** Linux blkback's checks in `dispatch_rw_block_io`: the I/O to do, or the answer to give. */
  #plan(request: BlkifRequest, entry: _Pending): _Io | _Refusal {
    const fail = (why: string): _Refusal => ({ status: BLKIF_RSP_ERROR, why });
    const unsupported = (why: string): _Refusal => ({ status: BLKIF_RSP_EOPNOTSUPP, why });
    let op: number;
    let segments: readonly BlkifSegment[];
    if (request.kind === "indirect") {
      if (this.maxIndirectSegments <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
        entry.responseOp = request.operation;
        return unsupported("indirect requests are not offered");
      }
      op = request.indirectOp;
      if (op !== BLKIF_OP_READ && op !== BLKIF_OP_WRITE) return fail(`indirect operation ${op}`);
      if (request.nrSegments < 1 || request.nrSegments > this.maxIndirectSegments) {
        return fail(`${request.nrSegments} segments (1..${this.maxIndirectSegments})`);
      }
      const read = this.#readIndirect(request.indirectGrefs, request.nrSegments);
      if (typeof read === "string") return fail(read);
      segments = read;
    } else {
      op = request.operation;
      const n = request.nrSegments;
      switch (op) {
        case BLKIF_OP_READ:
        case BLKIF_OP_WRITE:
          if (n < 1 || n > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
            return fail(`${n} segments (1..${BLKIF_MAX_SEGMENTS_PER_REQUEST})`);
          }
          break;
        case BLKIF_OP_FLUSH_DISKCACHE:
        case BLKIF_OP_WRITE_BARRIER:
          if (op === BLKIF_OP_FLUSH_DISKCACHE ? !this.flushCache : !this.barrier) {
            return unsupported(`${_opName(op)} is not offered`);
          }
          if (n > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
            return fail(`${n} segments (0..${BLKIF_MAX_SEGMENTS_PER_REQUEST})`);
          }
          break;
        default:
          return unsupported(`operation ${op} is not supported`);
      }
      segments = request.segments;
    }
    if (op !== BLKIF_OP_READ && this.#readOnly) return fail("the disk is read-only");
    const unit = this.sectorSize / BLKIF_SECTOR_BYTES;
    let total = 0;
    for (const [i, seg] of segments.entries()) {
      if (seg.firstSect > seg.lastSect || seg.lastSect >= BLKIF_SECTORS_PER_PAGE) {
        return fail(`segment ${i} covers sectors ${seg.firstSect}..${seg.lastSect} of its page`);
      }
      const count = seg.lastSect - seg.firstSect + 1;
      if (seg.firstSect % unit !== 0 || count % unit !== 0) {
        return fail(`segment ${i} is not aligned to ${this.sectorSize}-byte sectors`);
      }
      total += count;
    }
    entry.sectors = total;
    if (total > 0) {
      if (request.sectorNumber % BigInt(unit) !== 0n) {
        return fail(`sector ${request.sectorNumber} is not aligned to ${this.sectorSize}-byte sectors`);
      }
      if (request.sectorNumber + BigInt(total) > BigInt(this.sectors)) {
        return fail(`sectors ${request.sectorNumber}+${total} run past the disk's ${this.sectors}`);
      }
    }
    return {
      op,
      offset: Number(request.sectorNumber) * BLKIF_SECTOR_BYTES,
      bytes: total * BLKIF_SECTOR_BYTES,
      segments,
      flush: op === BLKIF_OP_FLUSH_DISKCACHE || op === BLKIF_OP_WRITE_BARRIER,
    };
  }

  /** The segments in the indirect pages (each copied once through its grant), or why not. */
  #readIndirect(grefs: readonly number[], count: number): BlkifSegment[] | string {
    const segments: BlkifSegment[] = [];
    let left = count;
    for (const [i, gref] of grefs.entries()) {
      const n = Math.min(left, BLKIF_SEGS_PER_INDIRECT_FRAME);
      const bytes = this.#dom0.grants.copyFrom(this.#frontendDomid, gref, 0, n * BLKIF_REQUEST_SEGMENT.bytes);
      if (bytes instanceof GrantError) return `indirect page ${i} (grant ${gref}): ${bytes.why}`;
      segments.push(...decodeBlkifSegments(bytes, n));
      left -= n;
    }
    return segments;
  }

  /** Maps every data grant (writable for a READ), or unmaps them again and says why not. */
  #mapSegments(io: _Io): GrantMapping[] | string {
    const writable = io.op === BLKIF_OP_READ;
    const mappings: GrantMapping[] = [];
    for (const [i, seg] of io.segments.entries()) {
      const mapping = this.#dom0.grants.map(this.#frontendDomid, seg.gref, { writable });
      if (mapping instanceof GrantError) {
        for (const held of mappings) held.unmap();
        return `segment ${i} (grant ${seg.gref}): ${mapping.why}`;
      }
      mappings.push(mapping);
    }
    return mappings;
  }

  // ----- image I/O -------------------------------------------------------------------------------------

  async #drainIo(): Promise<void> {
    for (let done = 0; done < MAX_SETTLE_IO; done++) {
      const work = this.#io.shift();
      if (work === undefined) return;
      await work();
    }
  }

  /** The first injected faulty sector the I/O covers, if any. */
  #faultySector(io: _Io): number | undefined {
    const first = io.offset / BLKIF_SECTOR_BYTES;
    const end = first + io.bytes / BLKIF_SECTOR_BYTES;
    return this.faults.ioErrorSectors?.find((sector) => sector >= first && sector < end);
  }

  /** Moves the data between the image and the mapped pages; never rejects, always unmaps. */
  async #perform(entry: _Pending, io: _Io, mappings: readonly GrantMapping[]): Promise<void> {
    try {
      if (entry.abandoned) return;
      const bad = this.#faultySector(io);
      if (bad !== undefined) {
        entry.status = BLKIF_RSP_ERROR;
        entry.why = `injected I/O error at sector ${bad}`;
        return;
      }
      entry.status = io.op === BLKIF_OP_READ
        ? await this.#read(entry, io, mappings)
        : await this.#writeOut(io, mappings);
    } catch (error) {
      entry.status = BLKIF_RSP_ERROR;
      entry.why = _reason(error);
    } finally {
      for (const mapping of mappings) mapping.unmap();
      this.#inFlight--;
    }
    if (entry.status !== BLKIF_RSP_OKAY && entry.why === "") entry.why = "a granted page became unreachable";
  }

  async #read(entry: _Pending, io: _Io, mappings: readonly GrantMapping[]): Promise<number> {
    const data = await this.image.readAt(io.offset, io.bytes);
    if (entry.abandoned) return BLKIF_RSP_ERROR;
    let at = 0;
    for (const [i, seg] of io.segments.entries()) {
      const length = (seg.lastSect - seg.firstSect + 1) * BLKIF_SECTOR_BYTES;
      const refused = mappings[i]?.write(seg.firstSect * BLKIF_SECTOR_BYTES, data.subarray(at, at + length));
      if (refused !== undefined) return BLKIF_RSP_ERROR;
      at += length;
    }
    this.stats.bytesRead += io.bytes;
    return BLKIF_RSP_OKAY;
  }

  async #writeOut(io: _Io, mappings: readonly GrantMapping[]): Promise<number> {
    if (io.bytes > 0) {
      const data = new Uint8Array(io.bytes);
      let at = 0;
      for (const [i, seg] of io.segments.entries()) {
        const length = (seg.lastSect - seg.firstSect + 1) * BLKIF_SECTOR_BYTES;
        const piece = mappings[i]?.read(seg.firstSect * BLKIF_SECTOR_BYTES, length);
        if (piece === undefined || piece instanceof GrantError) return BLKIF_RSP_ERROR;
        data.set(piece, at);
        at += length;
      }
      await this.image.writeAt(io.offset, data);
      this.stats.bytesWritten += io.bytes;
    }
    if (io.flush) await this.image.flush();
    return BLKIF_RSP_OKAY;
  }
}

/**
 * Writes the toolstack's nodes for the disk (vbd_toolstack.ts), starts a {@linkcode Blkback} on them and
 * adds it to Dom0's run order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeGuestConfig } from "../guest_config.ts";
 * import { createMachine } from "../machine.ts";
 * import { attachVbd } from "./blkback.ts";
 * import { MemoryDiskImage } from "./disk_image.ts";
 *
 * const machine = await createMachine(completeGuestConfig({ memoryMiB: 64 }), {
 *   readFile: () => Promise.reject(new Error("no files")),
 * });
 * const blkback = attachVbd({
 *   dom0: machine.dom0, trace: machine.trace, frontendDomid: 1, devid: 51728, vdev: "xvdb",
 *   image: new MemoryDiskImage({ size: 4096 }), params: "scratch", access: "rw", sectorSize: 4096,
 * });
 * assert.equal(machine.dom0.xenstore.readString(`${blkback.backendPath}/sector-size`), "4096");
 * assert.equal(machine.dom0.xenstore.readString("/local/domain/1/device/vbd/51728/state"), "1");
 * ```
 */
export function attachVbd(options: AttachVbdOptions): Blkback {
  writeVbdNodes(options.dom0.xenstore, {
    frontendDomid: options.frontendDomid,
    backendDomid: options.dom0.domid,
    devid: options.devid,
    vdev: options.vdev,
    params: options.params,
    access: options.access,
  });
  const blkback = new Blkback(options);
  blkback.start();
  options.dom0.addBackend(blkback);
  return blkback;
}

/**
 * Lets the backends finish what the guest's last hand-over started: while a blkback has image I/O
 * queued, performs it ({@linkcode Blkback.settle}, backend by backend in order) and runs the backends
 * again so the responses reach the ring. Bounded by {@linkcode MAX_SETTLE_ROUNDS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { settleBlkbacks } from "./blkback.ts";
 *
 * let runs = 0;
 * await settleBlkbacks([], () => runs++);
 * assert.equal(runs, 0); // nothing queued, nothing run
 * ```
 */
export async function settleBlkbacks(
  blkbacks: readonly Blkback[],
  runBackends: () => unknown,
): Promise<void> {
  for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
    const busy = blkbacks.filter((blkback) => blkback.ioInFlight > 0);
    if (busy.length === 0) return;
    for (const blkback of busy) await blkback.settle();
    await runBackends();
  }
}
