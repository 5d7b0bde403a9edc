/**
 * Dom0's xenstored: serves the guest's XenStore ring (xen-spec §7) and offers the same store to the
 * other backends through a direct Dom0 API ({@linkcode XenStoreDom0}).
 *
 * The guest connection is the ring page the toolstack seeded as grant ref 1; xenstored maps it through
 * the grant table, as C xenstored does, and talks over the store event channel it binds at introduction.
 * Each run it reads whatever request bytes the guest produced (a message may arrive in pieces and be
 * longer than the ring), answers complete messages in order, writes replies and watch events into the
 * response ring as space allows, and notifies the guest once if it consumed or produced anything.
 *
 * Checks, as xenstored does them: ring indexes more than a ring apart, or a header announcing more than
 * `XENSTORE_PAYLOAD_MAX` bytes, end the connection (`error` = RINGIDX or PROTO in the interface page;
 * watches, transactions and queued output dropped) until the guest asks for a reconnect; unknown types
 * get `ENOSYS`, privileged ones `EACCES`, malformed payloads `EINVAL`, a `tx_id` that names no open
 * transaction `ENOENT`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { TraceBus } from "../trace.ts";
 * import { EventChannels } from "./event_channels.ts";
 * import { XenPage } from "./xen_page.ts";
 * import { XenStoreDb } from "./xenstore_db.ts";
 * import { XenStored } from "./xenstored.ts";
 *
 * const trace = new TraceBus();
 * const events = new EventChannels(trace);
 * events.addDomain({ domid: 0, shared: new XenPage(new GuestMemory(), "dom0"), portLimit: 4096, upcalls: false });
 * const xenstored = new XenStored({ db: new XenStoreDb([0]), events, trace });
 * const fired: string[] = [];
 * xenstored.dom0.watch("/local/domain/0/backend", "be", (path) => fired.push(path));
 * xenstored.dom0.write("/local/domain/0/backend/vbd/1/51712/state", "2");
 * xenstored.run();
 * assert.deepEqual(fired, ["/local/domain/0/backend", "/local/domain/0/backend/vbd/1/51712/state"]);
 * ```
 *
 * @module
 */

import type { TraceBus } from "../trace.ts";
import { printableBytes } from "../trace.ts";
import type { EventChannels } from "./event_channels.ts";
import { GrantError, type GrantMapping } from "./grant_table.ts";
import type { Backend, BackendReport } from "./scheduler.ts";
import { DOM0_ID } from "./xen_abi.ts";
import {
  domainPath,
  formatPerms,
  isValidNodeName,
  parsePerms,
  type XenStoreDb,
  XenStoreError,
  XS_PERM_READ,
  XS_QUOTAS,
  type XsCaller,
  type XsChange,
  type XsPerm,
  type XsTransaction,
} from "./xenstore_db.ts";
import {
  bytesToLatin1,
  decodeXsHeader,
  encodeXsMessage,
  latin1ToBytes,
  XENSTORE_CONNECTED,
  XENSTORE_DOMAIN_INTERFACE,
  XENSTORE_ERROR_NONE,
  XENSTORE_ERROR_PROTO,
  XENSTORE_ERROR_RINGIDX,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_RECONNECT,
  XENSTORE_REL_PATH_MAX,
  XENSTORE_RING_SIZE,
  XENSTORE_SERVER_FEATURE_ERROR,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
  XS_CONTROL,
  XS_DIRECTORY,
  XS_DIRECTORY_PART,
  XS_ERROR,
  XS_GET_DOMAIN_PATH,
  XS_GET_PERMS,
  XS_INTRODUCE,
  XS_IS_DOMAIN_INTRODUCED,
  XS_MKDIR,
  XS_READ,
  XS_RELEASE,
  XS_RESET_WATCHES,
  XS_RESUME,
  XS_RING_REQ,
  XS_RING_RSP,
  XS_RM,
  XS_SET_PERMS,
  XS_SET_TARGET,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  XSD_SOCKMSG,
  type XsErrorName,
  type XsHeader,
  xsTypeName,
} from "./xs_wire.ts";

/** Features this xenstored announces in the ring page (Xen 4.17: reconnection and the error field). */
export const XENSTORED_FEATURES = XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR;
/** Messages answered per run: bounds one run's work. */
export const MAX_MESSAGES_PER_RUN = 64;
/** While this many messages wait for room in the response ring, no new request is read (back-pressure). */
export const OUTPUT_BACKLOG = 16;
/** Most messages queued for one connection; further watch events are dropped (xenstored's memory quota). */
export const MAX_QUEUED_MESSAGES = 256;

/** Types only Dom0 may send. */
const PRIVILEGED_TYPES: ReadonlySet<number> = new Set([
  XS_CONTROL,
  XS_INTRODUCE,
  XS_RELEASE,
  XS_IS_DOMAIN_INTRODUCED,
  XS_RESUME,
  XS_SET_TARGET,
]);
/** Types whose `tx_id` xenstored ignores. */
const NO_TX_TYPES: ReadonlySet<number> = new Set([XS_WATCH, XS_UNWATCH]);
const OK = latin1ToBytes("OK\0");
const DOM0: XsCaller = { domid: DOM0_ID, privileged: true };
const RING_MASK = XENSTORE_RING_SIZE - 1;
const F = XENSTORE_DOMAIN_INTERFACE.fields;

/** A watch event for a Dom0 backend: the changed path and the watch's token. */
export type XenStoreWatchCallback = (path: string, token: string) => void;

/** The store as Dom0's backends use it (privileged, no ring, watch events delivered when xenstored runs). */
export interface XenStoreDom0 {
  /** The value at `path`. */
  read(path: string): Uint8Array | XenStoreError;
  /** The value at `path` as a byte string. */
  readString(path: string): string | XenStoreError;
  /** Sets `path` (creating parents). */
  write(path: string, value: string | Uint8Array): XenStoreError | undefined;
  /** Creates `path`. */
  mkdir(path: string): XenStoreError | undefined;
  /** Removes the subtree at `path`. */
  rm(path: string): XenStoreError | undefined;
  /** The child names of `path`. */
  directory(path: string): string[] | XenStoreError;
  /** The permissions of `path`. */
  getPerms(path: string): XsPerm[] | XenStoreError;
  /** Sets the permissions of `path`. */
  setPerms(path: string, perms: readonly XsPerm[]): XenStoreError | undefined;
  /** Watches `path` and below; `callback` gets an initial event, then one per change, in later runs. */
  watch(path: string, token: string, callback: XenStoreWatchCallback): XenStoreError | undefined;
  /** Removes a watch. */
  unwatch(path: string, token: string): XenStoreError | undefined;
}

/** What xenstored needs. */
export interface XenStoredOptions {
  /** The store. */
  db: XenStoreDb;
  /** Event channels (xenstored binds the store port as Dom0). */
  events: EventChannels;
  /** Where `xenstore-msg` events go. */
  trace: TraceBus;
}

interface _Watch {
  /** Absolute path (or `@special`). */
  readonly path: string;
  readonly token: string;
  /** The prefix stripped from event paths when the watch was set relative. */
  readonly relative: string | null;
  readonly callback?: XenStoreWatchCallback;
}

/** Thrown when the ring page cannot be accessed through its grant. */
class _RingBroken extends Error {
  constructor(reason: string) {
    super(`Cannot access the xenstore ring: ${reason}`);
    this.name = "_RingBroken";
  }
}

class _Connection {
  readonly caller: XsCaller;
  readonly watches: _Watch[] = [];
  readonly transactions = new Map<number, XsTransaction>();
  nextTxId = 1;
  constructor(caller: XsCaller) {
    this.caller = caller;
  }
}

class _GuestConnection extends _Connection {
  readonly mapping: GrantMapping;
  readonly localPort: number;
  readonly header = new Uint8Array(XSD_SOCKMSG.bytes);
  headerUsed = 0;
  request: XsHeader | undefined;
  payload: Uint8Array = new Uint8Array(0);
  payloadUsed = 0;
  /** Whole messages waiting for ring space; the first may be partly written. */
  readonly out: Uint8Array[] = [];
  outWritten = 0;
  /** Work to do once the current reply is queued (the initial watch event). */
  readonly afterReply: (() => void)[] = [];
  /** The `error` value when xenstored stopped serving the ring, else 0. */
  error = XENSTORE_ERROR_NONE;
  broken = "";
  constructor(caller: XsCaller, mapping: GrantMapping, localPort: number) {
    super(caller);
    this.mapping = mapping;
    this.localPort = localPort;
  }
}

class _LocalConnection extends _Connection {
  readonly pending: { callback: XenStoreWatchCallback; path: string; token: string }[] = [];
}

function _isChild(child: string, parent: string): boolean {
  if (parent === "/") return true;
  return child.startsWith(parent) && (child.length === parent.length || child[parent.length] === "/");
}

/** The NUL-terminated strings at the start of `payload` (a trailing unterminated part is not one). */
function _strings(payload: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === 0) {
      out.push(bytesToLatin1(payload.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

/** xenstored's `onearg`: one string filling the payload exactly, NUL included. */
function _oneArg(payload: Uint8Array): string | undefined {
  const nul = payload.indexOf(0);
  return payload.length > 0 && nul === payload.length - 1
    ? bytesToLatin1(payload.subarray(0, nul))
    : undefined;
}

/** C `atoi`: optional blanks and sign, then digits; 0 when there are none. */
function _atoi(text: string): number {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  return match === null ? 0 : Number.parseInt(match[1] as string, 10) | 0;
}

function _nulJoined(items: readonly string[]): Uint8Array {
  return latin1ToBytes(items.map((item) => `${item}\0`).join(""));
}

/** The xenstored backend. */
export class XenStored implements Backend {
  /** Backend name. */
  readonly name = "xenstored";
  /** The store. */
  readonly db: XenStoreDb;
  /** The store as Dom0's backends use it. */
  readonly dom0: XenStoreDom0;
  readonly #events: EventChannels;
  readonly #trace: TraceBus;
  readonly #local = new _LocalConnection(DOM0);
  readonly #guests: _GuestConnection[] = [];

  /** xenstored over `db`; it serves guests once {@linkcode XenStored.introduce}d. */
  constructor(options: XenStoredOptions) {
    this.db = options.db;
    this.#events = options.events;
    this.#trace = options.trace;
    this.db.onChange = (change) => this.#fire(change);
    this.dom0 = this.#dom0Api();
  }

  /**
   * `XS_INTRODUCE`: serves the ring page reached through `mapping` for `domid`, binding Dom0's end of
   * the guest's unbound store port `remotePort`. Returns xenstored's local port or an errno name.
   */
  introduce(domid: number, mapping: GrantMapping, remotePort: number): number | string {
    const port = this.#events.bindInterdomain(DOM0_ID, domid, remotePort);
    if (typeof port === "string") return port;
    const conn = new _GuestConnection({ domid, privileged: false }, mapping, port);
    const refused = mapping.writeU32(F.server_features[0], XENSTORED_FEATURES);
    if (refused !== undefined) return refused.why;
    this.#guests.push(conn);
    return port;
  }

  /** Serves the rings and delivers Dom0 watch events; true when anything moved. */
  run(): boolean {
    let progress = false;
    for (const conn of this.#guests) progress = this.#serve(conn) || progress;
    progress = this.#deliverLocal() || progress;
    return progress;
  }

  /** The connection states for the handoff report. */
  report(): BackendReport {
    const conn = this.#guests[0];
    if (conn === undefined) return { name: this.name, state: "no guest", details: {}, problems: [] };
    const details: Record<string, string | number | boolean> = {
      port: conn.localPort,
      watches: conn.watches.length,
      transactions: conn.transactions.size,
      queuedMessages: conn.out.length,
    };
    const problems: string[] = [];
    const index = (name: keyof typeof F): number | undefined => {
      const value = conn.mapping.mapped ? conn.mapping.readU32(F[name][0]) : undefined;
      return typeof value === "number" ? value : undefined;
    };
    const reqCons = index("req_cons");
    const reqProd = index("req_prod");
    const rspCons = index("rsp_cons");
    const rspProd = index("rsp_prod");
    const connection = index("connection");
    Object.assign(details, { reqCons, reqProd, rspCons, rspProd, connection, error: conn.error });
    if (conn.error !== XENSTORE_ERROR_NONE) {
      problems.push(`xenstore connection stopped (error ${conn.error})`);
    }
    if (conn.broken !== "") problems.push(`xenstore ring unreachable: ${conn.broken}`);
    if (conn.watches.length > 0) {
      problems.push(`xenstore: ${conn.watches.length} watch(es) still registered`);
    }
    if (conn.transactions.size > 0) problems.push(`xenstore: ${conn.transactions.size} transaction(s) open`);
    if (reqCons !== reqProd || conn.headerUsed > 0) problems.push("xenstore: a request is in flight");
    if (rspCons !== rspProd || conn.out.length > 0) problems.push("xenstore: responses not consumed");
    if (connection !== undefined && connection !== XENSTORE_CONNECTED) {
      problems.push(`xenstore: connection field is ${connection}`);
    }
    const state = conn.broken !== "" ? "broken" : conn.error !== XENSTORE_ERROR_NONE ? "error" : "connected";
    return { name: this.name, state, details, problems };
  }

  // ----- the guest ring ------------------------------------------------------------------------------

  #serve(conn: _GuestConnection): boolean {
    if (conn.broken !== "") return false;
    try {
      let progress = false;
      if (this.#u32(conn, "connection") === XENSTORE_RECONNECT) {
        this.#reset(conn);
        progress = true;
      }
      if (conn.error !== XENSTORE_ERROR_NONE) return progress;
      progress = this.#flush(conn) || progress;
      progress = this.#readRequests(conn) || progress;
      progress = this.#flush(conn) || progress;
      if (progress) this.#events.send(DOM0_ID, conn.localPort);
      return progress;
    } catch (error) {
      if (!(error instanceof _RingBroken)) throw error;
      conn.broken = error.message;
      this.#drop(conn);
      return true;
    }
  }

  #u32(conn: _GuestConnection, field: keyof typeof F): number {
    const value = conn.mapping.readU32(F[field][0]);
    if (value instanceof GrantError) throw new _RingBroken(value.why);
    return value;
  }

  #setU32(conn: _GuestConnection, field: keyof typeof F, value: number): void {
    const refused = conn.mapping.writeU32(F[field][0], value >>> 0);
    if (refused !== undefined) throw new _RingBroken(refused.why);
  }

  /** The guest asked for a reconnect: drop everything, zero the indexes, connection back to 0. */
  #reset(conn: _GuestConnection): void {
    this.#drop(conn);
    conn.error = XENSTORE_ERROR_NONE;
    for (const field of ["req_cons", "req_prod", "rsp_cons", "rsp_prod", "error"] as const) {
      this.#setU32(conn, field, 0);
    }
    this.#setU32(conn, "connection", XENSTORE_CONNECTED);
    this.#events.send(DOM0_ID, conn.localPort);
  }

  /** Stops serving the ring (`ignore_connection`) with `error` in the interface page. */
  #ignore(conn: _GuestConnection, error: number): void {
    conn.error = error;
    this.#drop(conn);
    this.#setU32(conn, "error", error);
  }

  #drop(conn: _GuestConnection): void {
    conn.watches.length = 0;
    conn.transactions.clear();
    conn.out.length = 0;
    conn.outWritten = 0;
    conn.headerUsed = 0;
    conn.request = undefined;
    conn.payloadUsed = 0;
  }

  /** Reads request bytes and answers whole messages; true when it consumed anything. */
  #readRequests(conn: _GuestConnection): boolean {
    let cons = this.#u32(conn, "req_cons");
    const prod = this.#u32(conn, "req_prod");
    let avail = (prod - cons) >>> 0;
    if (avail > XENSTORE_RING_SIZE) {
      this.#ignore(conn, XENSTORE_ERROR_RINGIDX);
      return true;
    }
    const start = cons;
    let answered = 0;
    while (
      avail > 0 && answered < MAX_MESSAGES_PER_RUN && conn.out.length < OUTPUT_BACKLOG &&
      conn.error === XENSTORE_ERROR_NONE
    ) {
      const request = conn.request;
      const target = request === undefined ? conn.header : conn.payload;
      const used = request === undefined ? conn.headerUsed : conn.payloadUsed;
      const n = Math.min(avail, target.length - used);
      this.#copyIn(conn, cons, target.subarray(used, used + n));
      cons = (cons + n) >>> 0;
      avail -= n;
      if (request === undefined) {
        conn.headerUsed += n;
        if (conn.headerUsed < XSD_SOCKMSG.bytes) continue;
        const header = decodeXsHeader(conn.header);
        if (header.len > XENSTORE_PAYLOAD_MAX) {
          this.#setU32(conn, "req_cons", cons);
          this.#ignore(conn, XENSTORE_ERROR_PROTO);
          return true;
        }
        conn.request = header;
        conn.payload = new Uint8Array(header.len);
        conn.payloadUsed = 0;
      } else {
        conn.payloadUsed += n;
      }
      const complete = conn.request;
      if (complete !== undefined && conn.payloadUsed === complete.len) {
        const payload = conn.payload;
        conn.request = undefined;
        conn.headerUsed = 0;
        conn.payloadUsed = 0;
        this.#process(conn, complete, payload);
        answered++;
      }
    }
    if (cons === start) return false;
    this.#setU32(conn, "req_cons", cons);
    return true;
  }

  #copyIn(conn: _GuestConnection, cons: number, target: Uint8Array): void {
    let done = 0;
    while (done < target.length) {
      const at = (cons + done) & RING_MASK;
      const n = Math.min(target.length - done, XENSTORE_RING_SIZE - at);
      const bytes = conn.mapping.read(XS_RING_REQ + at, n);
      if (bytes instanceof GrantError) throw new _RingBroken(bytes.why);
      target.set(bytes, done);
      done += n;
    }
  }

  /** Writes queued messages into the response ring as far as there is room; true when it wrote. */
  #flush(conn: _GuestConnection): boolean {
    if (conn.out.length === 0) return false;
    const cons = this.#u32(conn, "rsp_cons");
    let prod = this.#u32(conn, "rsp_prod");
    const used = (prod - cons) >>> 0;
    if (used > XENSTORE_RING_SIZE) {
      this.#ignore(conn, XENSTORE_ERROR_RINGIDX);
      return true;
    }
    let room = XENSTORE_RING_SIZE - used;
    const start = prod;
    while (room > 0) {
      const message = conn.out[0];
      if (message === undefined) break;
      const at = prod & RING_MASK;
      const n = Math.min(room, message.length - conn.outWritten, XENSTORE_RING_SIZE - at);
      const refused = conn.mapping.write(
        XS_RING_RSP + at,
        message.subarray(conn.outWritten, conn.outWritten + n),
      );
      if (refused !== undefined) throw new _RingBroken(refused.why);
      conn.outWritten += n;
      prod = (prod + n) >>> 0;
      room -= n;
      if (conn.outWritten === message.length) {
        conn.out.shift();
        conn.outWritten = 0;
      }
    }
    if (prod === start) return false;
    this.#setU32(conn, "rsp_prod", prod);
    return true;
  }

  #send(conn: _GuestConnection, type: number, reqId: number, txId: number, payload: Uint8Array): void {
    if (this.#trace.wants("xenstore-msg")) {
      this.#trace.emit("xenstore-msg", {
        direction: "xenstored→guest",
        type: xsTypeName(type),
        reqId,
        txId,
        payload: printableBytes(payload),
      });
    }
    conn.out.push(encodeXsMessage(type, reqId, txId, payload));
  }

  #process(conn: _GuestConnection, header: XsHeader, payload: Uint8Array): void {
    if (this.#trace.wants("xenstore-msg")) {
      this.#trace.emit("xenstore-msg", {
        direction: "guest→xenstored",
        type: xsTypeName(header.type),
        reqId: header.reqId,
        txId: header.txId,
        payload: printableBytes(payload),
      });
    }
    const reply = this.#dispatch(conn, header, payload);
    if (reply instanceof XenStoreError) {
      this.#send(conn, XS_ERROR, header.reqId, header.txId, latin1ToBytes(`${reply.code}\0`));
    } else if (reply.length > XENSTORE_PAYLOAD_MAX) {
      this.#send(conn, XS_ERROR, header.reqId, header.txId, latin1ToBytes("E2BIG\0"));
    } else {
      this.#send(conn, header.type, header.reqId, header.txId, reply);
    }
    for (const work of conn.afterReply.splice(0)) work();
  }

  /** `process_message`: the reply payload or the error to send. */
  #dispatch(conn: _GuestConnection, header: XsHeader, payload: Uint8Array): Uint8Array | XenStoreError {
    const fail = (code: XsErrorName) => new XenStoreError(code);
    if (PRIVILEGED_TYPES.has(header.type)) return fail("EACCES");
    let tx: XsTransaction | undefined;
    if (!NO_TX_TYPES.has(header.type) && header.txId !== 0) {
      tx = conn.transactions.get(header.txId);
      if (tx === undefined) return fail("ENOENT");
    }
    const caller = conn.caller;
    const one = _oneArg(payload);
    switch (header.type) {
      case XS_DIRECTORY: {
        const children = this.db.directory(caller, tx, one ?? "");
        return children instanceof XenStoreError ? children : _nulJoined(children);
      }
      case XS_READ:
        return this.db.read(caller, tx, one ?? "");
      case XS_GET_PERMS: {
        const perms = this.db.getPerms(caller, tx, one ?? "");
        return perms instanceof XenStoreError ? perms : _nulJoined(formatPerms(perms));
      }
      case XS_WATCH: {
        const strings = _strings(payload);
        if (strings.length !== 2) return fail("EINVAL");
        return this.#watch(conn, strings[0] as string, strings[1] as string, undefined) ?? OK;
      }
      case XS_UNWATCH: {
        const strings = _strings(payload);
        if (strings.length !== 2) return fail("EINVAL");
        return this.#unwatch(conn, strings[0] as string, strings[1] as string) ?? OK;
      }
      case XS_TRANSACTION_START: {
        if (tx !== undefined) return fail("EBUSY");
        if (payload.length === 0) return fail("EINVAL");
        if (conn.transactions.size > XS_QUOTAS.transactionsPerConnection) return fail("ENOSPC");
        return latin1ToBytes(`${this.#startTransaction(conn)}\0`);
      }
      case XS_TRANSACTION_END: {
        if (one !== "T" && one !== "F") return fail("EINVAL");
        if (tx === undefined) return fail("ENOENT");
        conn.transactions.delete(tx.id);
        return this.db.endTransaction(tx, one === "T") ?? OK;
      }
      case XS_GET_DOMAIN_PATH:
        return one === undefined ? fail("EINVAL") : latin1ToBytes(`${domainPath(_atoi(one) >>> 0)}\0`);
      case XS_WRITE: {
        const nul = payload.indexOf(0);
        if (nul < 0) return fail("EINVAL");
        const path = bytesToLatin1(payload.subarray(0, nul));
        return this.db.write(caller, tx, path, payload.slice(nul + 1)) ?? OK;
      }
      case XS_MKDIR:
        return this.db.mkdir(caller, tx, one ?? "") ?? OK;
      case XS_RM:
        return this.db.rm(caller, tx, one ?? "") ?? OK;
      case XS_SET_PERMS: {
        const strings = _strings(payload);
        if (strings.length < 2) return fail("EINVAL");
        const perms = parsePerms(strings.slice(1));
        if (perms === undefined) return fail("EINVAL");
        return this.db.setPerms(caller, tx, strings[0] as string, perms) ?? OK;
      }
      case XS_RESET_WATCHES:
        conn.watches.length = 0;
        conn.transactions.clear();
        return OK;
      case XS_DIRECTORY_PART: {
        const strings = _strings(payload);
        if (strings.length !== 2) return fail("EINVAL");
        return this.db.directoryPart(caller, tx, strings[0] as string, _atoi(strings[1] as string));
      }
      default:
        return fail("ENOSYS");
    }
  }

  #startTransaction(conn: _Connection): number {
    let id = conn.nextTxId;
    for (let tries = 0; id === 0 || conn.transactions.has(id); tries++) {
      if (tries > XS_QUOTAS.transactionsPerConnection + 1) {
        throw new RangeError("Cannot pick a transaction id");
      }
      id = (id + 1) >>> 0;
    }
    conn.nextTxId = (id + 1) >>> 0;
    conn.transactions.set(id, this.db.startTransaction(conn.caller, id));
    return id;
  }

  // ----- watches -------------------------------------------------------------------------------------

  /** `do_watch`: validates, refuses duplicates and too many, adds, then fires once up front. */
  #watch(
    conn: _Connection,
    path: string,
    token: string,
    callback: XenStoreWatchCallback | undefined,
  ): XenStoreError | undefined {
    let absolute = path;
    let relative: string | null = null;
    if (path.startsWith("@")) {
      if (path.length > XENSTORE_REL_PATH_MAX) return new XenStoreError("EINVAL");
    } else {
      if (!path.startsWith("/")) {
        relative = domainPath(conn.caller.domid);
        absolute = this.db.canonical(conn.caller, path);
      }
      if (!isValidNodeName(absolute)) return new XenStoreError("EINVAL");
    }
    if (conn.watches.some((w) => w.path === absolute && w.token === token)) {
      return new XenStoreError("EEXIST");
    }
    if (conn.watches.length > XS_QUOTAS.watchesPerDomain) return new XenStoreError("E2BIG");
    const watch: _Watch = callback === undefined
      ? { path: absolute, token, relative }
      : { path: absolute, token, relative, callback };
    conn.watches.push(watch);
    // xenstored fires once up front, after the OK reply: a guest's event waits until the reply is queued.
    if (conn instanceof _GuestConnection) conn.afterReply.push(() => this.#queueEvent(conn, watch, absolute));
    else this.#queueEvent(conn, watch, absolute);
    return undefined;
  }

  #unwatch(conn: _Connection, path: string, token: string): XenStoreError | undefined {
    const absolute = this.db.canonical(conn.caller, path);
    const at = conn.watches.findIndex((w) => w.path === absolute && w.token === token);
    if (at < 0) return new XenStoreError("ENOENT");
    conn.watches.splice(at, 1);
    return undefined;
  }

  /** Watch events for a change, connection by connection (Dom0's first), watch by watch. */
  #fire(change: XsChange): void {
    for (const conn of [this.#local, ...this.#guests]) {
      if (conn.watches.length === 0) continue;
      if (!conn.caller.privileged && !this.#permitted(conn.caller, change)) continue;
      for (const watch of [...conn.watches]) {
        const hit = change.exact ? watch.path === change.path : _isChild(change.path, watch.path);
        if (hit) this.#queueEvent(conn, watch, change.path);
      }
    }
  }

  #permitted(caller: XsCaller, change: XsChange): boolean {
    return change.perms.some((perms) => (this.db.permFor(caller, perms) & XS_PERM_READ) !== 0);
  }

  #queueEvent(conn: _Connection, watch: _Watch, path: string): void {
    let shown = path;
    if (watch.relative !== null && path.startsWith(watch.relative)) {
      shown = path.slice(watch.relative.length);
      if (shown.startsWith("/")) shown = shown.slice(1);
    }
    if (conn instanceof _LocalConnection) {
      if (watch.callback !== undefined && conn.pending.length < MAX_QUEUED_MESSAGES) {
        conn.pending.push({ callback: watch.callback, path: shown, token: watch.token });
      }
      return;
    }
    if (!(conn instanceof _GuestConnection) || conn.error !== XENSTORE_ERROR_NONE) return;
    const payload = latin1ToBytes(`${shown}\0${watch.token}\0`);
    if (payload.length > XENSTORE_PAYLOAD_MAX || conn.out.length >= MAX_QUEUED_MESSAGES) return;
    const message = encodeXsMessage(XS_WATCH_EVENT, 0, 0, payload);
    // xenstored drops an event identical to one still queued (not yet started on the ring).
    const duplicate = conn.out.some((queued, i) =>
      (i > 0 || conn.outWritten === 0) && queued.length === message.length &&
      queued.every((b, j) => b === message[j])
    );
    if (duplicate) return;
    this.#send(conn, XS_WATCH_EVENT, 0, 0, payload);
  }

  #deliverLocal(): boolean {
    const pending = this.#local.pending.splice(0);
    for (const event of pending) event.callback(event.path, event.token);
    return pending.length > 0;
  }

  // ----- Dom0 API ------------------------------------------------------------------------------------

  #dom0Api(): XenStoreDom0 {
    const db = this.db;
    const local = this.#local;
    return {
      read: (path) => db.read(DOM0, undefined, path),
      readString: (path) => {
        const value = db.read(DOM0, undefined, path);
        return value instanceof XenStoreError ? value : bytesToLatin1(value);
      },
      write: (path, value) => db.write(DOM0, undefined, path, value),
      mkdir: (path) => db.mkdir(DOM0, undefined, path),
      rm: (path) => db.rm(DOM0, undefined, path),
      directory: (path) => db.directory(DOM0, undefined, path),
      getPerms: (path) => db.getPerms(DOM0, undefined, path),
      setPerms: (path, perms) => db.setPerms(DOM0, undefined, path, perms),
      watch: (path, token, callback) => this.#watch(local, path, token, callback),
      unwatch: (path, token) => this.#unwatch(local, path, token),
    };
  }
}
