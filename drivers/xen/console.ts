/**
 * The PV console frontend (U-Boot's drivers/serial/serial_xen.c) as the shell's {@linkcode Console}:
 * output goes into the `out` ring of the page at `HVM_PARAM_CONSOLE_PFN` and the backend is notified
 * on `HVM_PARAM_CONSOLE_EVTCHN`; input comes from the `in` ring. Ctrl-C and `delay` come from an inner
 * console (the session's), and a Ctrl-C byte waiting in the input ring counts too.
 *
 * `puts` is synchronous, as the shell needs it: it copies what fits into the ring at once and keeps
 * the rest in order in a queue. An output pump then notifies the backend (`EVTCHNOP_send`) and, while
 * the ring is full, yields (`SCHEDOP_yield`) and retries, so output is never dropped while a backend
 * drains the ring. Unlike U-Boot it does not spin forever on a ring nobody drains: after
 * {@linkcode CONSOLE_MAX_STALLED_YIELDS} yields without progress the pump pauses, keeping the queue
 * (up to {@linkcode CONSOLE_MAX_QUEUED_BYTES}), and resumes at the next `puts` or `flush`.
 *
 * Layout (`struct xencons_interface`): in[1024] @0, out[2048] @1024, in_cons @3072, in_prod @3076,
 * out_cons @3080, out_prod @3084, connection @3088. Indexes run freely; bad ones (producer more
 * than a ring ahead) stop that direction with an error instead of an assertion (xen-spec §10.2 item 20).
 *
 * @example
 * ```ts
 * import { XENCONS_OUT_SIZE, XENCONS_IN_SIZE } from "./console.ts";
 * console.log(XENCONS_OUT_SIZE, XENCONS_IN_SIZE); // 2048 1024
 * ```
 *
 * @module
 */

import type { Console } from "../../commands/command.ts";
import type { PhysicalMemory } from "../../machine/platform.ts";
import type { Hypercalls } from "./hypercall.ts";
import { HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN, XEN_PAGE_SIZE } from "./abi.ts";
import { hvmGetParameter } from "./hypervisor.ts";
import { XenError } from "./errors.ts";

/** `in[]` offset. */
export const XENCONS_IN = 0;
/** `in[]` size. */
export const XENCONS_IN_SIZE = 1024;
/** `out[]` offset. */
export const XENCONS_OUT = 1024;
/** `out[]` size. */
export const XENCONS_OUT_SIZE = 2048;
/** `in_cons` (guest writes). */
export const XENCONS_IN_CONS = 3072;
/** `in_prod` (backend writes). */
export const XENCONS_IN_PROD = 3076;
/** `out_cons` (backend writes). */
export const XENCONS_OUT_CONS = 3080;
/** `out_prod` (guest writes). */
export const XENCONS_OUT_PROD = 3084;
/** `connection`: 0 connected, 1 disconnected. */
export const XENCONS_CONNECTION = 3088;

/** Yields without progress on a full ring before the output pump pauses. */
export const CONSOLE_MAX_STALLED_YIELDS = 64;
/** Output kept while the ring is full; beyond this new output is counted as dropped. */
export const CONSOLE_MAX_QUEUED_BYTES = 1 << 20;
/** Ctrl-C. */
const CTRL_C = 0x03;

/** Options of {@linkcode XenConsole}. */
export interface XenConsoleOptions {
  /** Yields without progress before the pump pauses (default {@linkcode CONSOLE_MAX_STALLED_YIELDS}). */
  maxStalledYields?: number;
  /** Queue bound in bytes (default {@linkcode CONSOLE_MAX_QUEUED_BYTES}). */
  maxQueuedBytes?: number;
}

/** The PV console frontend. */
export class XenConsole implements Console {
  /** The hypercall entry. */
  readonly hc: Hypercalls;
  /** The inner console (Ctrl-C, delays). */
  readonly inner: Console;
  /** Guest-physical address of the ring page. */
  readonly ring: number;
  /** The console event channel (the toolstack's: never closed). */
  readonly port: number;
  readonly #memory: PhysicalMemory;
  readonly #maxStalled: number;
  readonly #maxQueued: number;
  #outProd: number;
  #inCons: number;
  #queue: string[] = [];
  #queuedBytes = 0;
  #notifyWanted = false;
  #pumping: Promise<void> | undefined;
  #stalled = false;
  #ringCtrlc = false;
  #dropped = 0;
  #outError: string | undefined;
  #inError: string | undefined;

  /** A console on the ring page at `ring`, notifying `port`. Throws {@linkcode XenError} when the page is not memory. */
  constructor(hc: Hypercalls, inner: Console, ring: number, port: number, options: XenConsoleOptions = {}) {
    this.hc = hc;
    this.inner = inner;
    this.ring = ring;
    this.port = port;
    this.#memory = hc.memory;
    this.#maxStalled = options.maxStalledYields ?? CONSOLE_MAX_STALLED_YIELDS;
    this.#maxQueued = options.maxQueuedBytes ?? CONSOLE_MAX_QUEUED_BYTES;
    if (ring <= 0 || ring % XEN_PAGE_SIZE !== 0 || !this.#memory.isMapped(ring, XEN_PAGE_SIZE)) {
      throw new XenError("use the console ring", `no page at 0x${ring.toString(16)}`);
    }
    this.#outProd = this.#memory.readU32(ring + XENCONS_OUT_PROD);
    this.#inCons = this.#memory.readU32(ring + XENCONS_IN_CONS);
  }

  /**
   * The probe of U-Boot's serial_xen: `HVM_PARAM_CONSOLE_EVTCHN` 0 means there is no console
   * (undefined); `HVM_PARAM_CONSOLE_PFN` 0 is an error (U-Boot: -EINVAL), thrown as {@linkcode XenError}.
   */
  static async probe(
    hc: Hypercalls,
    inner: Console,
    options: XenConsoleOptions = {},
  ): Promise<XenConsole | undefined> {
    const port = Number(await hvmGetParameter(hc, HVM_PARAM_CONSOLE_EVTCHN));
    if (port === 0) return undefined;
    const pfn = await hvmGetParameter(hc, HVM_PARAM_CONSOLE_PFN);
    if (pfn === 0n || pfn > BigInt(Math.floor(Number.MAX_SAFE_INTEGER / XEN_PAGE_SIZE))) {
      throw new XenError("probe the Xen console", -22);
    }
    return new XenConsole(hc, inner, Number(pfn) * XEN_PAGE_SIZE, port, options);
  }

  /** Output bytes dropped because the queue was full or the ring broken. */
  get droppedBytes(): number {
    return this.#dropped;
  }

  /** Bytes waiting for room in the ring. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Why output or input stopped (bad ring indexes), if it did. */
  get error(): string | undefined {
    return this.#outError ?? this.#inError;
  }

  /** The `connection` byte reads 0 (a backend serves the ring; a zeroed page reads as connected). */
  get connected(): boolean {
    return this.#memory.readU8(this.ring + XENCONS_CONNECTION) === 0;
  }

  /** Prints a byte string through the ring (see the module documentation). */
  puts(text: string): void {
    if (text.length === 0) return;
    if (this.#outError) {
      this.#dropped += text.length;
      return;
    }
    let rest = text;
    if (this.#queue.length === 0) {
      const n = this.#writeRing(text);
      if (n > 0) this.#notifyWanted = true;
      rest = text.slice(n);
      if (this.#outError) {
        this.#dropped += rest.length;
        return;
      }
    }
    if (rest.length > 0) {
      const room = Math.max(0, this.#maxQueued - this.#queuedBytes);
      if (rest.length > room) {
        this.#dropped += rest.length - room;
        rest = rest.slice(0, room);
      }
      if (rest.length > 0) {
        this.#queue.push(rest);
        this.#queuedBytes += rest.length;
      }
    }
    this.#stalled = false;
    this.#kick();
  }

  /**
   * Waits until every byte printed so far is in the ring and the backend consumed it
   * (`out_cons == out_prod`). Resolves false when the backend stopped draining or the ring broke.
   */
  async flush(): Promise<boolean> {
    this.#stalled = false;
    if (!this.#outError && !this.#ringEmpty()) this.#notifyWanted = true;
    // Every round either sees the backend consume at least one byte or counts a stall.
    const limit = this.#maxStalled + this.#queuedBytes + XENCONS_OUT_SIZE;
    let stalls = 0;
    let lastCons = this.#outCons();
    for (let round = 0; round <= limit; round++) {
      this.#kick();
      await this.#pumping;
      if (this.#outError) return false;
      if (this.#queue.length === 0 && this.#ringEmpty()) return true;
      if (this.#stalled) return false;
      await this.hc.schedYield();
      const cons = this.#outCons();
      if (cons !== lastCons) {
        lastCons = cons;
        stalls = 0;
      } else if (++stalls > this.#maxStalled) {
        return false;
      }
    }
    return false;
  }

  /** `pending(input)`: a byte waits in the input ring. */
  tstc(): boolean {
    if (this.#inError) return false;
    const prod = this.#memory.readU32(this.ring + XENCONS_IN_PROD);
    const avail = (prod - this.#inCons) >>> 0;
    if (avail > XENCONS_IN_SIZE) {
      this.#inError = `console input ring indexes out of range (prod ${prod}, cons ${this.#inCons})`;
      return false;
    }
    return avail > 0;
  }

  /** Takes one input byte (-1 when none waits), advances `in_cons` and notifies the backend. */
  getc(): number {
    if (!this.tstc()) return -1;
    const byte = this.#memory.readU8(this.ring + XENCONS_IN + (this.#inCons % XENCONS_IN_SIZE));
    this.#inCons = (this.#inCons + 1) >>> 0;
    this.#memory.writeU32(this.ring + XENCONS_IN_CONS, this.#inCons);
    this.#notifyWanted = true;
    this.#kick();
    return byte;
  }

  /** `ctrlc()`: Ctrl-C from the inner console or waiting in the input ring; clears it. */
  ctrlc(): boolean {
    this.#takeRingCtrlc();
    const inner = this.inner.ctrlc();
    const ring = this.#ringCtrlc;
    this.#ringCtrlc = false;
    return inner || ring;
  }

  /** `had_ctrlc()`. */
  hadCtrlc(): boolean {
    this.#takeRingCtrlc();
    return this.inner.hadCtrlc() || this.#ringCtrlc;
  }

  /** `clear_ctrlc()`. */
  clearCtrlc(): void {
    this.inner.clearCtrlc();
    this.#ringCtrlc = false;
  }

  /** Waits through the inner console. */
  delay(ms: number): Promise<boolean> {
    return this.inner.delay(ms);
  }

  /** A Ctrl-C at the head of the input ring is taken (other bytes stay for `getc`). */
  #takeRingCtrlc(): void {
    if (!this.tstc()) return;
    const head = this.#memory.readU8(this.ring + XENCONS_IN + (this.#inCons % XENCONS_IN_SIZE));
    if (head === CTRL_C) {
      this.getc();
      this.#ringCtrlc = true;
    }
  }

  #outCons(): number {
    return this.#memory.readU32(this.ring + XENCONS_OUT_CONS);
  }

  #ringEmpty(): boolean {
    return this.#outCons() === this.#outProd;
  }

  /** Copies as much of `text` as fits into `out[]`, publishes `out_prod`; returns the bytes written. */
  #writeRing(text: string): number {
    const m = this.#memory;
    const cons = m.readU32(this.ring + XENCONS_OUT_CONS);
    const used = (this.#outProd - cons) >>> 0;
    if (used > XENCONS_OUT_SIZE) {
      this.#outError = `console output ring indexes out of range (prod ${this.#outProd}, cons ${cons})`;
      return 0;
    }
    const n = Math.min(text.length, XENCONS_OUT_SIZE - used);
    let done = 0;
    // At most two pieces: up to the end of the ring, then from its start.
    while (done < n) {
      const index = (this.#outProd + done) % XENCONS_OUT_SIZE;
      const piece = Math.min(n - done, XENCONS_OUT_SIZE - index);
      const bytes = new Uint8Array(piece);
      for (let i = 0; i < piece; i++) bytes[i] = text.charCodeAt(done + i) & 0xff;
      m.write(this.ring + XENCONS_OUT + index, bytes);
      done += piece;
    }
    if (n > 0) {
      // wmb(): the bytes are in place before the index moves.
      this.#outProd = (this.#outProd + n) >>> 0;
      m.writeU32(this.ring + XENCONS_OUT_PROD, this.#outProd);
    }
    return n;
  }

  /** Moves queued output into the ring; returns the bytes moved. */
  #drainQueue(): number {
    let moved = 0;
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const n = this.#writeRing(head);
      moved += n;
      this.#queuedBytes -= n;
      if (n < head.length) {
        this.#queue[0] = head.slice(n);
        break;
      }
      this.#queue.shift();
    }
    if (this.#outError) {
      this.#dropped += this.#queuedBytes;
      this.#queue = [];
      this.#queuedBytes = 0;
    }
    return moved;
  }

  #kick(): void {
    if (this.#pumping || this.#stalled || this.#outError) return;
    if (this.#queue.length === 0 && !this.#notifyWanted) return;
    this.#pumping = this.#pump().catch((error: unknown) => {
      // A hypercall that throws (a data abort) ends output for good; never an unhandled rejection.
      this.#outError = `console output stopped: ${error instanceof Error ? error.message : String(error)}`;
    }).finally(() => {
      this.#pumping = undefined;
      // Output queued while the pump was finishing.
      if (!this.#stalled && (this.#queue.length > 0 || this.#notifyWanted)) this.#kick();
    });
  }

  async #pump(): Promise<void> {
    let stalls = 0;
    // Each round either moves bytes, notifies, or counts a stall; stalls are bounded and moving
    // bytes is bounded by what was queued, so the loop ends.
    for (;;) {
      if (this.#notifyWanted) {
        this.#notifyWanted = false;
        await this.hc.evtchnSend(this.port);
      }
      if (this.#queue.length === 0) {
        if (this.#notifyWanted) continue;
        return;
      }
      const moved = this.#drainQueue();
      if (moved > 0) {
        this.#notifyWanted = true;
        stalls = 0;
        continue;
      }
      if (this.#outError) return;
      if (++stalls > this.#maxStalled) {
        this.#stalled = true;
        return;
      }
      await this.hc.schedYield();
    }
  }
}
