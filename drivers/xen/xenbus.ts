/**
 * The XenStore client (U-Boot's drivers/xen/xenbus.c, hardened as xen-spec §10.2 asks): requests go
 * into the request ring of the page at `HVM_PARAM_STORE_PFN` and the server is notified on
 * `HVM_PARAM_STORE_EVTCHN`; replies are read back from the response ring and matched by request id.
 *
 * What it does that U-Boot does not:
 * - Looks for a reply that is already in the ring before it waits (U-Boot waits for the producer
 *   index to move from the value it saw on entry and misses replies that came early).
 * - Streams messages through the 1024-byte rings, so requests and replies up to the 4096-byte payload
 *   limit work in both directions.
 * - Numbers requests and matches replies by `req_id`; a late reply to a request that timed out is
 *   dropped; watch events that arrive between a request and its reply are queued and delivered to
 *   the registered callbacks after the request finishes.
 * - Validates every reply: ring indexes (`prod − cons ≤ 1024`), payload length ≤ 4096, the reply's
 *   type (the request's or `XS_ERROR`), NUL terminators where the type has them, `req_id`. A
 *   violation fails that request with {@linkcode XenbusProtocolError}; waits are bounded
 *   ({@linkcode XenbusTimeoutError}). Nothing throws for what the server sends.
 *
 * Results are `T | XenbusError` values (see xenbus_errors.ts); only misuse (a bad argument) throws.
 * Requests are serialised: one is in flight at a time, as on the real board.
 *
 * @example
 * ```ts
 * import { XenbusState, XBT_NIL } from "./xs_wire.ts";
 * console.log(XenbusState.Connected, XBT_NIL); // 4 0
 * ```
 *
 * @module
 */

import type { PhysicalMemory } from "../../machine/platform.ts";
import type { Hypercalls } from "./hypercall.ts";
import type { EventChannels } from "./events.ts";
import { HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN, XEN_PAGE_SIZE } from "./abi.ts";
import { hvmGetParameter } from "./hypervisor.ts";
import { XenError } from "./errors.ts";
import { boundedWait } from "./clock.ts";
import { sscanf } from "../../lib/sscanf/mod.ts";
import {
  bytesToByteString,
  byteStringToBytes,
  decodeXsHeader,
  encodeXsHeader,
  XBT_NIL,
  XENBUS_STATE_MAX,
  type XenbusState,
  XENSTORE_ABS_PATH_MAX,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_REL_PATH_MAX,
  XENSTORE_RING_SIZE,
  XS_DIRECTORY,
  XS_ERROR,
  XS_ERROR_NAMES,
  XS_GET_DOMAIN_PATH,
  XS_GET_PERMS,
  XS_HDR_BYTES,
  XS_MKDIR,
  XS_READ,
  XS_RESET_WATCHES,
  XS_RING_REQ,
  XS_RING_REQ_CONS,
  XS_RING_REQ_PROD,
  XS_RING_RSP,
  XS_RING_RSP_CONS,
  XS_RING_RSP_PROD,
  XS_RM,
  XS_SET_PERMS,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  type XsHeader,
} from "./xs_wire.ts";
import {
  XenbusError,
  XenbusProtocolError,
  type XenbusResult,
  XenbusTimeoutError,
  XenStoreError,
} from "./xenbus_errors.ts";

/** U-Boot's reply timeout (`WAIT_XENBUS_TO_MS`). */
export const XENBUS_REPLY_TIMEOUT_MS = 5000;
/** U-Boot's state polling period (`WAIT_XENBUS_POLL_TO_MS`). */
export const XENBUS_POLL_MS = 1;
/** How often a transaction is retried after `EAGAIN` before giving up. */
export const XENBUS_MAX_TRANSACTION_RETRIES = 32;
/** Watch events kept while nobody collects them; older ones are dropped beyond this. */
export const XENBUS_MAX_QUEUED_EVENTS = 256;
/** Watch events delivered per delivery pass (XSA-391: a storm cannot hold the guest). */
export const XENBUS_MAX_EVENTS_PER_DELIVERY = 64;
/** Request ids of timed-out requests remembered, so their late replies are dropped quietly. */
const MAX_ABANDONED_IDS = 32;
/** The value of every successful "OK" reply. */
const OK_REPLY = "OK";
/** Largest domain id a guest can have (below DOMID_FIRST_RESERVED). */
const MAX_DOMID = 0x7fef;
const U32_MAX = 0xffff_ffff;
/** `'0'`: U-Boot reads a state as `value[0] - '0'`. */
const CHAR_0 = 0x30;

/** Called for a watch event: the path that changed and the watch's token. */
export type WatchCallback = (path: string, token: string) => void;

/** Options of {@linkcode XenBus}. */
export interface XenBusOptions {
  /** Where U-Boot's messages go (the console). */
  log?: (text: string) => void;
  /** How long a request may wait for its reply (default 5000 ms as U-Boot). */
  replyTimeoutMs?: number;
}

/** What {@linkcode XenBus.fini} cleaned up. */
export interface XenBusFiniReport {
  /** Watches removed. */
  watchesRemoved: number;
  /** Transactions aborted. */
  transactionsAborted: number;
}

interface _Pending {
  reqId: number;
  type: number;
  result?: Uint8Array | XenbusError;
}

interface _Watch {
  path: string;
  callback: WatchCallback;
}

function _u32(n: number): number {
  return n >>> 0;
}

/** Splits a payload of NUL-terminated strings; undefined when it does not end in NUL. */
function _strings(payload: Uint8Array): string[] | undefined {
  if (payload.length === 0) return [];
  if (payload[payload.length - 1] !== 0) return undefined;
  return bytesToByteString(payload.subarray(0, payload.length - 1)).split("\0");
}

/** The XenStore client. */
export class XenBus {
  /** Guest-physical address of the ring page. */
  readonly ring: number;
  /** The store event channel (the toolstack's: never bound, never closed). */
  readonly port: number;
  readonly #events: EventChannels;
  readonly #memory: PhysicalMemory;
  readonly #log: (text: string) => void;
  readonly #timeoutMs: number;
  #tail: Promise<unknown> = Promise.resolve();
  #nextReqId = 1;
  #reqProd: number;
  #rspCons: number;
  /** Bytes of a request whose sender gave up, still to go out before the next request. */
  #txRemainder: Uint8Array | undefined;
  #rxHeader = new Uint8Array(XS_HDR_BYTES);
  #rxHeaderFill = 0;
  #rxDecoded: XsHeader | undefined;
  #rxPayload: Uint8Array | undefined;
  #rxPayloadFill = 0;
  #pending: _Pending | undefined;
  readonly #abandoned: number[] = [];
  readonly #watches = new Map<string, _Watch>();
  readonly #queued: Array<{ path: string; token: string }> = [];
  readonly #transactions = new Set<number>();
  #delivering = false;
  #droppedEvents = 0;
  /** Response bytes were consumed since the server was last notified. */
  #consumed = false;

  /**
   * A client of the ring at `ring` notified through `port`. Throws {@linkcode XenError} when the
   * page is not guest memory. Response bytes left in the ring by a previous owner are dropped (as
   * Linux does at start-up), when the indexes are sane.
   */
  constructor(events: EventChannels, ring: number, port: number, options: XenBusOptions = {}) {
    this.#events = events;
    this.#memory = events.hc.memory;
    this.ring = ring;
    this.port = port;
    this.#log = options.log ?? (() => {});
    this.#timeoutMs = options.replyTimeoutMs ?? XENBUS_REPLY_TIMEOUT_MS;
    if (ring <= 0 || ring % XEN_PAGE_SIZE !== 0 || !this.#memory.isMapped(ring, XEN_PAGE_SIZE)) {
      throw new XenError("use the XenStore ring", `no page at 0x${ring.toString(16)}`);
    }
    this.#reqProd = this.#memory.readU32(ring + XS_RING_REQ_PROD);
    const rspProd = this.#memory.readU32(ring + XS_RING_RSP_PROD);
    const rspCons = this.#memory.readU32(ring + XS_RING_RSP_CONS);
    if (_u32(rspProd - rspCons) <= XENSTORE_RING_SIZE && rspProd !== rspCons) {
      this.#memory.writeU32(ring + XS_RING_RSP_CONS, rspProd);
      this.#rspCons = rspProd;
    } else {
      this.#rspCons = rspCons;
    }
  }

  /**
   * `init_xenbus`: reads `HVM_PARAM_STORE_EVTCHN` and `HVM_PARAM_STORE_PFN` (a failure prints
   * U-Boot's message and throws {@linkcode XenError}); the ring is the page at `pfn << 12`.
   */
  static async init(hc: Hypercalls, events: EventChannels, options: XenBusOptions = {}): Promise<XenBus> {
    const log = options.log ?? (() => {});
    const port = Number(await hvmGetParameter(hc, HVM_PARAM_STORE_EVTCHN, log));
    const pfn = await hvmGetParameter(hc, HVM_PARAM_STORE_PFN, log);
    if (port <= 0 || pfn <= 0n || pfn > BigInt(Math.floor(Number.MAX_SAFE_INTEGER / XEN_PAGE_SIZE))) {
      throw new XenError("find XenStore", `store port ${port}, page frame 0x${pfn.toString(16)}`);
    }
    return new XenBus(events, Number(pfn) * XEN_PAGE_SIZE, port, options);
  }

  /** Watch events dropped because too many were waiting. */
  get droppedEvents(): number {
    return this.#droppedEvents;
  }

  /** Transactions started and not yet ended. */
  openTransactions(): number[] {
    return [...this.#transactions];
  }

  /** Tokens of the registered watches. */
  watchTokens(): string[] {
    return [...this.#watches.keys()];
  }

  // ---------------------------------------------------------------------------------------------
  // Requests.

  /** `xenbus_read`: the value of `path` (a byte string). */
  async read(path: string, tx = XBT_NIL): Promise<XenbusResult<string>> {
    const reply = await this.#request(XS_READ, tx, [path], undefined, `read ${path}`);
    return reply instanceof XenbusError ? reply : bytesToByteString(reply);
  }

  /** `xenbus_write`: sets `path` to `value` (sent without a NUL). */
  async write(path: string, value: string, tx = XBT_NIL): Promise<XenbusResult<void>> {
    return this.#ok(await this.#request(XS_WRITE, tx, [path], value, `write ${path}`), `write ${path}`);
  }

  /** `xenbus_ls`: the names of `path`'s children. */
  async directory(path: string, tx = XBT_NIL): Promise<XenbusResult<string[]>> {
    const action = `list ${path}`;
    const reply = await this.#request(XS_DIRECTORY, tx, [path], undefined, action);
    if (reply instanceof XenbusError) return reply;
    const names = _strings(reply);
    if (!names || names.some((name) => name.length === 0)) {
      return new XenbusProtocolError(action, "directory reply is not a list of NUL-terminated names");
    }
    return names;
  }

  /** Creates `path`. */
  async mkdir(path: string, tx = XBT_NIL): Promise<XenbusResult<void>> {
    return this.#ok(await this.#request(XS_MKDIR, tx, [path], undefined, `mkdir ${path}`), `mkdir ${path}`);
  }

  /** `xenbus_rm`: removes `path` and its children. */
  async rm(path: string, tx = XBT_NIL): Promise<XenbusResult<void>> {
    return this.#ok(await this.#request(XS_RM, tx, [path], undefined, `remove ${path}`), `remove ${path}`);
  }

  /** `xenbus_get_perms`: `path`'s permissions (`n0`, `r1`, ...), owner first. */
  async getPerms(path: string, tx = XBT_NIL): Promise<XenbusResult<string[]>> {
    const action = `get permissions of ${path}`;
    const reply = await this.#request(XS_GET_PERMS, tx, [path], undefined, action);
    if (reply instanceof XenbusError) return reply;
    const perms = _strings(reply);
    if (!perms || perms.length === 0 || perms.some((perm) => !/^[nrwb][0-9]+$/.test(perm))) {
      return new XenbusProtocolError(action, "permission reply is not a list of permissions");
    }
    return perms;
  }

  /** Sets `path`'s permissions: `perms` such as `["n0", "r1"]` (owner first). */
  async setPerms(path: string, perms: readonly string[], tx = XBT_NIL): Promise<XenbusResult<void>> {
    const action = `set permissions of ${path}`;
    for (const perm of perms) {
      if (!/^[nrwb][0-9]{1,5}$/.test(perm)) throw new TypeError(`Cannot use permission "${perm}"`);
    }
    return this.#ok(await this.#request(XS_SET_PERMS, tx, [path, ...perms], undefined, action), action);
  }

  /** `/local/domain/<domid>` as the server names it. */
  async getDomainPath(domid: number): Promise<XenbusResult<string>> {
    const action = `get the path of domain ${domid}`;
    const reply = await this.#request(XS_GET_DOMAIN_PATH, XBT_NIL, [String(domid)], undefined, action);
    if (reply instanceof XenbusError) return reply;
    const parts = _strings(reply);
    if (!parts || parts.length !== 1) return new XenbusProtocolError(action, "reply is not one string");
    return parts[0]!;
  }

  /**
   * Watches `path`: `callback` receives `(changedPath, token)` for each event. The server sends one
   * event at once. Tokens are unique per client; a token in use throws.
   */
  async watch(path: string, token: string, callback: WatchCallback): Promise<XenbusResult<void>> {
    if (this.#watches.has(token)) throw new TypeError(`Cannot watch ${path}: token "${token}" in use`);
    // Registered before the request so that the immediate event, queued meanwhile, finds it.
    this.#watches.set(token, { path, callback });
    const result = this.#ok(
      await this.#request(XS_WATCH, XBT_NIL, [path, token], undefined, `watch ${path}`),
      `watch ${path}`,
    );
    if (result instanceof XenbusError) this.#watches.delete(token);
    return result;
  }

  /** Removes the watch registered under `token`. */
  async unwatch(token: string): Promise<XenbusResult<void>> {
    const watch = this.#watches.get(token);
    if (!watch) throw new TypeError(`Cannot unwatch "${token}": no such watch`);
    const action = `unwatch ${watch.path}`;
    const result = this.#ok(
      await this.#request(XS_UNWATCH, XBT_NIL, [watch.path, token], undefined, action),
      action,
    );
    if (!(result instanceof XenbusError)) this.#watches.delete(token);
    return result;
  }

  /** Drops every watch and transaction of this client on the server (`XS_RESET_WATCHES`). */
  async resetWatches(): Promise<XenbusResult<void>> {
    const result = this.#ok(
      await this.#request(XS_RESET_WATCHES, XBT_NIL, [""], undefined, "reset watches"),
      "reset watches",
    );
    if (!(result instanceof XenbusError)) {
      this.#watches.clear();
      this.#transactions.clear();
    }
    return result;
  }

  /** `xenbus_transaction_start`: a transaction id. */
  async transactionStart(): Promise<XenbusResult<number>> {
    const action = "start a transaction";
    // xenstored refuses an empty payload: send one NUL.
    const reply = await this.#request(XS_TRANSACTION_START, XBT_NIL, [""], undefined, action);
    if (reply instanceof XenbusError) return reply;
    const parts = _strings(reply);
    const text = parts?.length === 1 ? parts[0]! : "";
    const id = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
    if (!(id > 0 && id <= U32_MAX)) {
      return new XenbusProtocolError(action, "transaction id is not a decimal number");
    }
    this.#transactions.add(id);
    return id;
  }

  /**
   * `xenbus_transaction_end`: commits (or with `abort`, drops) transaction `tx`. A conflict
   * (`EAGAIN`) gives `{ retry: true }`: the caller redoes the whole transaction.
   */
  async transactionEnd(tx: number, abort = false): Promise<XenbusResult<{ retry: boolean }>> {
    const action = `end transaction ${tx}`;
    const reply = await this.#request(XS_TRANSACTION_END, tx, [abort ? "F" : "T"], undefined, action);
    this.#transactions.delete(tx);
    if (reply instanceof XenStoreError && reply.xsError === "EAGAIN") return { retry: true };
    const result = this.#ok(reply, action);
    return result instanceof XenbusError ? result : { retry: false };
  }

  /**
   * `xenbus_read_integer` as U-Boot: `sscanf("%d")` of the value; -1 (after printing
   * `Failed to read %s.`) when the node cannot be read or holds no number.
   */
  async readInteger(path: string): Promise<number> {
    const value = await this.read(path);
    if (value instanceof XenbusError) {
      this.#log(`Failed to read ${path}.\n`);
      return -1;
    }
    const scanned = sscanf(value, "%d");
    return scanned.count === 1 ? Number(scanned.values[0]) : -1;
  }

  /**
   * A strict decimal number in `[min, max]` (xen-spec §10.2 item 19): digits only, no sign, no
   * spaces. Anything else is an `EINVAL` {@linkcode XenbusError}.
   */
  async readNumber(path: string, min = 0, max = Number.MAX_SAFE_INTEGER): Promise<XenbusResult<number>> {
    const value = await this.read(path);
    if (value instanceof XenbusError) return value;
    const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max)) {
      return new XenbusError(
        `read ${path}`,
        "EINVAL",
        `"${value.slice(0, 32)}" is not a number in ${min}..${max}`,
      );
    }
    return n;
  }

  /** `xenbus_get_self_id`: the guest's domain id (relative key `domid`). */
  getSelfId(): Promise<XenbusResult<number>> {
    return this.readNumber("domid", 0, MAX_DOMID);
  }

  /** The XenBus state in `path`: a single decimal digit 0..8, else an `EINVAL` error. */
  async readState(path: string, tx = XBT_NIL): Promise<XenbusResult<XenbusState>> {
    const value = await this.read(path, tx);
    if (value instanceof XenbusError) return value;
    if (!/^[0-9]$/.test(value) || Number(value) > XENBUS_STATE_MAX) {
      return new XenbusError(`read ${path}`, "EINVAL", `"${value.slice(0, 32)}" is not a XenBus state`);
    }
    return Number(value) as XenbusState;
  }

  /**
   * `xenbus_switch_state`: in its own transaction when `tx` is `XBT_NIL` (retried on `EAGAIN`),
   * reads the state and writes `state` only when it differs.
   */
  async switchState(path: string, state: XenbusState, tx = XBT_NIL): Promise<XenbusResult<void>> {
    for (let attempt = 0; attempt < XENBUS_MAX_TRANSACTION_RETRIES; attempt++) {
      let t = tx;
      if (t === XBT_NIL) {
        const started = await this.transactionStart();
        if (started instanceof XenbusError) return started;
        t = started;
      }
      let error: XenbusError | undefined;
      const current = await this.read(path, t);
      if (current instanceof XenbusError) error = current;
      else if (current.charCodeAt(0) - CHAR_0 !== state) {
        const written = await this.write(path, String(state), t);
        if (written instanceof XenbusError) error = written;
      }
      if (tx !== XBT_NIL) return error;
      const ended = await this.transactionEnd(t, false);
      if (ended instanceof XenbusError) return error ?? ended;
      if (!ended.retry) return error;
    }
    return new XenStoreError(`switch ${path} to state ${state}`, "EAGAIN");
  }

  /**
   * Polls `path` every `sliceMs` (U-Boot: 1 ms) until its state is one of `states`, for at most
   * `timeoutMs`. Resolves to the state reached, the read error, or a {@linkcode XenbusTimeoutError}
   * carrying the last state seen.
   */
  async waitForState(
    path: string,
    states: readonly XenbusState[],
    timeoutMs: number,
    sliceMs = XENBUS_POLL_MS,
  ): Promise<XenbusResult<XenbusState>> {
    let last: XenbusResult<XenbusState> | undefined;
    const reached = await boundedWait({
      clock: this.#events.clock,
      timeoutMs,
      sliceMs,
      ready: async () => {
        last = await this.readState(path);
        return last instanceof XenbusError || states.includes(last);
      },
      sleep: (until) => {
        this.#events.clear(this.port);
        return this.#events.sleep([this.port], until);
      },
    });
    if (reached && last !== undefined) return last;
    return new XenbusTimeoutError(
      `wait for ${path} to reach state ${states.join("/")}`,
      timeoutMs,
      typeof last === "number" ? last : undefined,
    );
  }

  /** Collects watch events waiting in the ring and delivers them (no request needed). */
  async processEvents(): Promise<void> {
    await this.#exclusive(async () => {
      const error = this.#pump();
      if (error) this.#log(`xenbus: ${error.message}\n`);
      await this.#notifyIfConsumed();
    });
    this.#deliver();
  }

  /**
   * Quiesces the client for handoff (xen-spec §9 item 2): removes every watch, aborts every open
   * transaction, and consumes what is left in the response ring.
   */
  async fini(): Promise<XenBusFiniReport> {
    let watchesRemoved = 0;
    let transactionsAborted = 0;
    for (const token of this.watchTokens()) {
      if (!(await this.unwatch(token) instanceof XenbusError)) watchesRemoved++;
      this.#watches.delete(token);
    }
    for (const tx of this.openTransactions()) {
      if (!(await this.transactionEnd(tx, true) instanceof XenbusError)) transactionsAborted++;
    }
    await this.processEvents();
    return { watchesRemoved, transactionsAborted };
  }

  // ---------------------------------------------------------------------------------------------
  // Machinery.

  #exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(body, body);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #ok(reply: Uint8Array | XenbusError, action: string): XenbusResult<void> {
    if (reply instanceof XenbusError) return reply;
    const parts = _strings(reply);
    if (!parts || parts.length !== 1 || parts[0] !== OK_REPLY) {
      return new XenbusProtocolError(action, "reply is not OK");
    }
    return undefined;
  }

  /** Builds the payload: each string NUL-terminated, then `value` without a NUL. */
  #payload(strings: readonly string[], value: string | undefined, action: string): Uint8Array {
    const parts: Uint8Array[] = [];
    strings.forEach((text, i) => {
      const bytes = byteStringToBytes(text);
      if (!bytes || bytes.includes(0)) {
        throw new TypeError(`Cannot ${action}: argument is not a byte string without NUL`);
      }
      if (i === 0 && text.length > 0) {
        const max = text.startsWith("/") ? XENSTORE_ABS_PATH_MAX : XENSTORE_REL_PATH_MAX;
        if (text.length > max) throw new RangeError(`Cannot ${action}: path longer than ${max} bytes`);
      }
      parts.push(bytes, new Uint8Array(1));
    });
    if (value !== undefined) {
      const bytes = byteStringToBytes(value);
      if (!bytes) throw new TypeError(`Cannot ${action}: value is not a byte string`);
      parts.push(bytes);
    }
    const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  async #request(
    type: number,
    tx: number,
    strings: readonly string[],
    value: string | undefined,
    action: string,
  ): Promise<Uint8Array | XenbusError> {
    const payload = this.#payload(strings, value, action);
    if (payload.length > XENSTORE_PAYLOAD_MAX) {
      return new XenbusError(
        action,
        "E2BIG",
        `request of ${payload.length} bytes is over ${XENSTORE_PAYLOAD_MAX}`,
      );
    }
    const result = await this.#exclusive(() => this.#transact(type, tx, payload, action));
    this.#deliver();
    return result;
  }

  async #transact(
    type: number,
    tx: number,
    payload: Uint8Array,
    action: string,
  ): Promise<Uint8Array | XenbusError> {
    const reqId = this.#nextReqId;
    this.#nextReqId = this.#nextReqId >= U32_MAX ? 1 : this.#nextReqId + 1;
    const message = new Uint8Array(XS_HDR_BYTES + payload.length);
    message.set(encodeXsHeader({ type, reqId, txId: tx, len: payload.length }), 0);
    message.set(payload, XS_HDR_BYTES);

    const pending: _Pending = { reqId, type };
    this.#pending = pending;
    try {
      const sent = await this.#send(message, reqId, action);
      if (sent) return sent;
      const answered = await this.#events.waitOn(this.port, async () => {
        const error = this.#pump();
        if (error && pending.result === undefined) pending.result = error;
        await this.#notifyIfConsumed();
        return pending.result !== undefined;
      }, this.#timeoutMs);
      if (!answered || pending.result === undefined) {
        this.#log("xenbus_get_reply: wait_event timeout\n");
        this.#abandon(reqId);
        return new XenbusTimeoutError(action, this.#timeoutMs);
      }
      const result = pending.result;
      if (result instanceof XenbusError) {
        // Keep the caller's action in the message.
        if (result instanceof XenStoreError) return new XenStoreError(action, result.xsError);
        if (result instanceof XenbusProtocolError) return new XenbusProtocolError(action, result.detail);
      }
      return result;
    } finally {
      this.#pending = undefined;
    }
  }

  /** Streams `message` (after any unsent remainder) into the request ring, notifying as it goes. */
  async #send(message: Uint8Array, reqId: number, action: string): Promise<XenbusError | undefined> {
    let error: XenbusError | undefined;
    const queue = this.#txRemainder ? [this.#txRemainder, message] : [message];
    this.#txRemainder = undefined;
    let which = 0;
    let offset = 0;
    const done = await this.#events.waitOn(this.port, async () => {
      const m = this.#memory;
      const cons = m.readU32(this.ring + XS_RING_REQ_CONS);
      const used = _u32(this.#reqProd - cons);
      if (used > XENSTORE_RING_SIZE) {
        error = new XenbusProtocolError(
          action,
          `request ring indexes out of range (prod ${this.#reqProd}, cons ${cons})`,
        );
        return true;
      }
      let room = XENSTORE_RING_SIZE - used;
      let wrote = 0;
      // At most two messages, each copied in at most two pieces per pass.
      while (room > 0 && which < queue.length) {
        const current = queue[which]!;
        const index = this.#reqProd % XENSTORE_RING_SIZE;
        const n = Math.min(room, current.length - offset, XENSTORE_RING_SIZE - index);
        m.write(this.ring + XS_RING_REQ + index, current.subarray(offset, offset + n));
        this.#reqProd = _u32(this.#reqProd + n);
        offset += n;
        room -= n;
        wrote += n;
        if (offset === current.length) {
          which++;
          offset = 0;
        }
      }
      if (wrote > 0) {
        // wmb(): the bytes are in place before the index moves.
        m.writeU32(this.ring + XS_RING_REQ_PROD, this.#reqProd);
        await this.#events.send(this.port);
      }
      return which === queue.length;
    }, this.#timeoutMs);
    if (error) return error;
    if (!done) {
      const current = queue[which];
      if (current) {
        // Keep the stream whole: the rest goes out before the next request.
        const rest = current.subarray(offset);
        const after = queue.slice(which + 1);
        this.#txRemainder = after.length === 0 ? rest : _concat([rest, ...after]);
      }
      this.#abandon(reqId);
      this.#log("xenbus_get_reply: wait_event timeout\n");
      return new XenbusTimeoutError(action, this.#timeoutMs);
    }
    return undefined;
  }

  async #notifyIfConsumed(): Promise<void> {
    if (!this.#consumed) return;
    this.#consumed = false;
    await this.#events.send(this.port);
  }

  /**
   * Reads what the response ring holds (at most one ring's worth per call), completing messages.
   * Returns a protocol error for broken indexes or an oversized header; the stream is then
   * resynchronised by dropping what the ring holds.
   */
  #pump(): XenbusProtocolError | undefined {
    const m = this.#memory;
    const prod = m.readU32(this.ring + XS_RING_RSP_PROD);
    let avail = _u32(prod - this.#rspCons);
    if (avail > XENSTORE_RING_SIZE) {
      return new XenbusProtocolError(
        "read a XenStore reply",
        `response ring indexes out of range (prod ${prod}, cons ${this.#rspCons})`,
      );
    }
    let error: XenbusProtocolError | undefined;
    while (avail > 0) {
      const index = this.#rspCons % XENSTORE_RING_SIZE;
      const contiguous = Math.min(avail, XENSTORE_RING_SIZE - index);
      let n: number;
      if (!this.#rxDecoded) {
        n = Math.min(contiguous, XS_HDR_BYTES - this.#rxHeaderFill);
        m.readInto(
          this.ring + XS_RING_RSP + index,
          this.#rxHeader.subarray(this.#rxHeaderFill, this.#rxHeaderFill + n),
        );
        this.#rxHeaderFill += n;
      } else {
        n = Math.min(contiguous, this.#rxDecoded.len - this.#rxPayloadFill);
        const target = this.#rxPayload!.subarray(this.#rxPayloadFill, this.#rxPayloadFill + n);
        m.readInto(this.ring + XS_RING_RSP + index, target);
        this.#rxPayloadFill += n;
      }
      this.#rspCons = _u32(this.#rspCons + n);
      avail -= n;
      this.#consumed = true;
      if (!this.#rxDecoded && this.#rxHeaderFill === XS_HDR_BYTES) {
        const header = decodeXsHeader(this.#rxHeader);
        if (header.len > XENSTORE_PAYLOAD_MAX) {
          error = new XenbusProtocolError(
            "read a XenStore reply",
            `payload of ${header.len} bytes is over ${XENSTORE_PAYLOAD_MAX}`,
          );
          // The stream cannot be followed any more: drop what is there and start afresh.
          this.#rspCons = prod;
          avail = 0;
          this.#resetRx();
          break;
        }
        this.#rxDecoded = header;
        this.#rxPayload = new Uint8Array(header.len);
        this.#rxPayloadFill = 0;
      }
      if (this.#rxDecoded && this.#rxPayloadFill === this.#rxDecoded.len) {
        const header = this.#rxDecoded;
        const payload = this.#rxPayload!;
        this.#resetRx();
        const problem = this.#onMessage(header, payload);
        if (problem && !error) error = problem;
      }
    }
    if (this.#consumed) m.writeU32(this.ring + XS_RING_RSP_CONS, this.#rspCons);
    if (error && this.#pending && this.#pending.result === undefined) {
      this.#pending.result = error;
      return undefined;
    }
    return error;
  }

  #resetRx(): void {
    this.#rxHeaderFill = 0;
    this.#rxDecoded = undefined;
    this.#rxPayload = undefined;
    this.#rxPayloadFill = 0;
  }

  /** Handles one complete message; returns a protocol error that no pending request took. */
  #onMessage(header: XsHeader, payload: Uint8Array): XenbusProtocolError | undefined {
    if (header.type === XS_WATCH_EVENT) {
      const parts = _strings(payload);
      if (!parts || parts.length !== 2) {
        this.#log("xenbus: dropped a malformed watch event\n");
        return undefined;
      }
      if (this.#queued.length >= XENBUS_MAX_QUEUED_EVENTS) {
        this.#queued.shift();
        this.#droppedEvents++;
      }
      this.#queued.push({ path: parts[0]!, token: parts[1]! });
      return undefined;
    }
    const pending = this.#pending;
    if (pending && pending.result === undefined && header.reqId === pending.reqId) {
      if (header.type === XS_ERROR) {
        const parts = bytesToByteString(payload).split("\0");
        const name = parts[0] ?? "";
        pending.result = new XenStoreError("", XS_ERROR_NAMES.includes(name) ? name : "EINVAL");
      } else if (header.type === pending.type) {
        pending.result = payload;
      } else {
        pending.result = new XenbusProtocolError(
          "read a XenStore reply",
          `reply of type ${header.type} to a request of type ${pending.type}`,
        );
      }
      return undefined;
    }
    const abandoned = this.#abandoned.indexOf(header.reqId);
    if (abandoned >= 0) {
      this.#abandoned.splice(abandoned, 1);
      return undefined;
    }
    const error = new XenbusProtocolError(
      "read a XenStore reply",
      `reply (type ${header.type}) to request id ${header.reqId}, which is not outstanding`,
    );
    if (pending && pending.result === undefined) {
      pending.result = error;
      return undefined;
    }
    return error;
  }

  #abandon(reqId: number): void {
    this.#abandoned.push(reqId);
    if (this.#abandoned.length > MAX_ABANDONED_IDS) this.#abandoned.shift();
  }

  /** Delivers queued watch events to their callbacks (not re-entered from a callback). */
  #deliver(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (let i = 0; i < XENBUS_MAX_EVENTS_PER_DELIVERY; i++) {
        const event = this.#queued.shift();
        if (!event) break;
        const watch = this.#watches.get(event.token);
        if (!watch) continue;
        try {
          watch.callback(event.path, event.token);
        } catch (error) {
          this.#log(`xenbus: watch callback for ${event.path} failed: ${String(error)}\n`);
        }
      }
    } finally {
      this.#delivering = false;
    }
  }
}

function _concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
