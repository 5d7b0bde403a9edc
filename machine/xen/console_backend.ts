/**
 * Dom0's console backend for the guest's PV console 0 (xenconsoled's job; io/console.h, xen-spec §8).
 * It maps the console ring page through the toolstack's grant ref 0, binds the console event channel,
 * marks the page connected, and then on every run moves the guest's output (`out[]`, 2048 bytes) to the
 * sink and queued terminal input into `in[]` (1024 bytes), notifying the guest when it moved anything.
 *
 * As xenconsoled does, it leaves a ring whose indexes are more than a ring apart alone (nothing consumed
 * or produced) and reports it; the guest's bytes are never trusted beyond the ring size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONSOLE_IN_SIZE, XENCONS_INTERFACE } from "./console_backend.ts";
 *
 * assert.equal(CONSOLE_IN_SIZE, 1024);
 * assert.equal(XENCONS_INTERFACE.fields.out_prod[0], 3084);
 * ```
 *
 * @module
 */

import type { TraceBus } from "../trace.ts";
import type { EventChannels } from "./event_channels.ts";
import { GrantError, type GrantMapping } from "./grant_table.ts";
import { defineLayout } from "./layout.ts";
import type { Backend, BackendReport } from "./scheduler.ts";
import { DOM0_ID } from "./xen_abi.ts";

/** Offset of `in[]` (backend → guest). */
export const CONSOLE_IN = 0;
/** Bytes of `in[]`. */
export const CONSOLE_IN_SIZE = 1024;
/** Offset of `out[]` (guest → backend). */
export const CONSOLE_OUT = 1024;
/** Bytes of `out[]`. */
export const CONSOLE_OUT_SIZE = 2048;
/** `struct xencons_interface` from the index fields on (3092 bytes with padding). */
export const XENCONS_INTERFACE = defineLayout("xencons_interface", 3092, {
  in_cons: [3072, 4],
  in_prod: [3076, 4],
  out_cons: [3080, 4],
  out_prod: [3084, 4],
  connection: [3088, 1],
});
/** `connection`: a backend serves the ring. */
export const XENCONSOLE_CONNECTED = 0;
/** `connection`: nobody serves it yet (what `xc_dom_console_init` writes). */
export const XENCONSOLE_DISCONNECTED = 1;
/** Most terminal input held back while the guest does not read (a pasted megabyte is cut here). */
export const MAX_QUEUED_INPUT = 64 * 1024;

const F = XENCONS_INTERFACE.fields;

/** What the console backend needs. */
export interface ConsoleBackendOptions {
  /** Event channels (the backend binds the console port as Dom0). */
  events: EventChannels;
  /** Where `console-output` events go. */
  trace: TraceBus;
  /** Receives the guest's output bytes. */
  sink: (bytes: Uint8Array) => void;
}

/** Thrown when the ring page cannot be reached through its grant. */
class _RingBroken extends Error {
  constructor(reason: string) {
    super(`Cannot access the console ring: ${reason}`);
    this.name = "_RingBroken";
  }
}

/** The console backend. */
export class ConsoleBackend implements Backend {
  /** Backend name. */
  readonly name = "console";
  readonly #events: EventChannels;
  readonly #trace: TraceBus;
  readonly #sink: (bytes: Uint8Array) => void;
  #mapping: GrantMapping | undefined;
  #port = 0;
  #input: number[] = [];
  #ringError = "";
  #broken = "";
  #arrival: { promise: Promise<void>; resolve: () => void } | undefined;

  /** A backend with nothing connected yet. */
  constructor(options: ConsoleBackendOptions) {
    this.#events = options.events;
    this.#trace = options.trace;
    this.#sink = options.sink;
  }

  /** Dom0's end of the console event channel (0 before {@linkcode ConsoleBackend.connect}). */
  get port(): number {
    return this.#port;
  }

  /**
   * Starts serving the ring reached through `mapping` for `domid`: binds Dom0's end of the guest's
   * unbound console port `remotePort` and sets `connection` = connected. Returns the local port or why not.
   */
  connect(domid: number, mapping: GrantMapping, remotePort: number): number | string {
    const port = this.#events.bindInterdomain(DOM0_ID, domid, remotePort);
    if (typeof port === "string") return port;
    const refused = mapping.write(F.connection[0], new Uint8Array([XENCONSOLE_CONNECTED]));
    if (refused !== undefined) return refused.why;
    this.#mapping = mapping;
    this.#port = port;
    return port;
  }

  /** Queues terminal input; it reaches the guest's ring the next time the backends run. */
  input(bytes: Uint8Array): void {
    const room = MAX_QUEUED_INPUT - this.#input.length;
    for (const byte of bytes.subarray(0, Math.max(0, room))) this.#input.push(byte);
    const arrival = this.#arrival;
    this.#arrival = undefined;
    arrival?.resolve();
  }

  /** Bytes of input not yet in the guest's ring. */
  get queuedInput(): number {
    return this.#input.length;
  }

  /** Resolves the next time input is queued (for a poll that may wait for the terminal). */
  inputArrival(): Promise<void> {
    if (this.#arrival === undefined) {
      let resolve = () => {};
      const promise = new Promise<void>((done) => {
        resolve = done;
      });
      this.#arrival = { promise, resolve };
    }
    return this.#arrival.promise;
  }

  /** Moves output to the sink and input into the ring; true when it moved anything. */
  run(): boolean {
    const mapping = this.#mapping;
    if (mapping === undefined || this.#broken !== "") return false;
    try {
      const drained = this.#drainOutput(mapping);
      const filled = this.#fillInput(mapping);
      if (drained || filled) this.#events.send(DOM0_ID, this.#port);
      return drained || filled;
    } catch (error) {
      if (!(error instanceof _RingBroken)) throw error;
      this.#broken = error.message;
      return true;
    }
  }

  /** The console connection for the handoff report. */
  report(): BackendReport {
    const mapping = this.#mapping;
    if (mapping === undefined) return { name: this.name, state: "not connected", details: {}, problems: [] };
    const problems: string[] = [];
    const details: Record<string, string | number | boolean> = {
      port: this.#port,
      queuedInput: this.#input.length,
    };
    if (this.#broken !== "") problems.push(this.#broken);
    else {
      const outCons = mapping.readU32(F.out_cons[0]);
      const outProd = mapping.readU32(F.out_prod[0]);
      if (typeof outCons === "number" && typeof outProd === "number") {
        Object.assign(details, { outCons, outProd });
        if (outCons !== outProd) problems.push("console: output not drained");
      }
    }
    if (this.#ringError !== "") problems.push(this.#ringError);
    const state = this.#broken !== "" ? "broken" : this.#ringError !== "" ? "ring error" : "connected";
    return { name: this.name, state, details, problems };
  }

  #u32(mapping: GrantMapping, offset: number): number {
    const value = mapping.readU32(offset);
    if (value instanceof GrantError) throw new _RingBroken(value.why);
    return value;
  }

  #drainOutput(mapping: GrantMapping): boolean {
    const cons = this.#u32(mapping, F.out_cons[0]);
    const prod = this.#u32(mapping, F.out_prod[0]);
    const size = (prod - cons) >>> 0;
    if (size === 0) return false;
    if (size > CONSOLE_OUT_SIZE) {
      this.#ringError = `console: output indexes ${cons}..${prod} are more than a ring apart`;
      return false;
    }
    this.#ringError = "";
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const at = (cons + done) & (CONSOLE_OUT_SIZE - 1);
      const n = Math.min(size - done, CONSOLE_OUT_SIZE - at);
      const piece = mapping.read(CONSOLE_OUT + at, n);
      if (piece instanceof GrantError) throw new _RingBroken(piece.why);
      bytes.set(piece, done);
      done += n;
    }
    const refused = mapping.writeU32(F.out_cons[0], prod);
    if (refused !== undefined) throw new _RingBroken(refused.why);
    this.#trace.emit("console-output", { bytes });
    this.#sink(bytes);
    return true;
  }

  #fillInput(mapping: GrantMapping): boolean {
    if (this.#input.length === 0) return false;
    const cons = this.#u32(mapping, F.in_cons[0]);
    let prod = this.#u32(mapping, F.in_prod[0]);
    const used = (prod - cons) >>> 0;
    if (used > CONSOLE_IN_SIZE) {
      this.#ringError = `console: input indexes ${cons}..${prod} are more than a ring apart`;
      return false;
    }
    const n = Math.min(CONSOLE_IN_SIZE - used, this.#input.length);
    if (n === 0) return false;
    const bytes = new Uint8Array(this.#input.splice(0, n));
    let done = 0;
    while (done < n) {
      const at = (prod + done) & (CONSOLE_IN_SIZE - 1);
      const piece = Math.min(n - done, CONSOLE_IN_SIZE - at);
      const refused = mapping.write(CONSOLE_IN + at, bytes.subarray(done, done + piece));
      if (refused !== undefined) throw new _RingBroken(refused.why);
      done += piece;
    }
    prod = (prod + n) >>> 0;
    const refused = mapping.writeU32(F.in_prod[0], prod);
    if (refused !== undefined) throw new _RingBroken(refused.why);
    return true;
  }
}
