/**
 * The machine's typed event bus: what happens at the guest boundary (hypercalls, event channel sends and
 * deliveries, XenStore messages, console output, refused grant accesses) as typed events that front ends
 * (terminal tracer, CI reporter, later a browser) subscribe to. One `Events` map names every kind and its
 * payload; {@linkcode formatTraceLine} and {@linkcode formatTraceJson} turn an event into one line.
 *
 * Nothing here reads a clock: events carry only what the machine did, so a run with the same inputs gives
 * the same trace.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTraceLine, TraceBus } from "./trace.ts";
 *
 * const bus = new TraceBus();
 * const lines: string[] = [];
 * bus.on("evtchn-send", (event) => lines.push(formatTraceLine("evtchn-send", event)));
 * bus.emit("evtchn-send", { fromDomain: 1, fromPort: 1, toDomain: 0, toPort: 3 });
 * assert.deepEqual(lines, ["evtchn-send d1:1 -> d0:3"]);
 * ```
 *
 * @module
 */

/** Which way a XenStore message went. */
export type XenStoreDirection = "guest→xenstored" | "xenstored→guest";

/** Every event kind and its payload. */
export interface Events {
  /** A hypercall the guest made, with the x0 it got back. */
  hypercall: {
    /** x16. */
    nr: number;
    /** The hypercall's name (`event_channel_op`), or `unknown`. */
    name: string;
    /** The sub-command's name (`EVTCHNOP_send`), or "" when there is none or it is unknown. */
    op: string;
    /** The argument registers the hypercall uses (x0, x1, …). */
    args: readonly bigint[];
    /** x0 on return (negative: a Xen errno). */
    result: bigint;
    /** The errno's name for a negative result (`EINVAL`), else "". */
    error: string;
  };
  /** `EVTCHNOP_send` (or a backend's notify): from a local port to the remote end, if bound. */
  "evtchn-send": {
    /** Sending domain. */
    fromDomain: number;
    /** Sending port. */
    fromPort: number;
    /** Receiving domain, or null when the port is not bound to a peer (the send is dropped). */
    toDomain: number | null;
    /** Receiving port, or null. */
    toPort: number | null;
  };
  /** A port became pending in a domain (Xen's `evtchn_set_pending`). */
  "evtchn-deliver": {
    /** Receiving domain. */
    domain: number;
    /** The port. */
    port: number;
    /** The port is masked: no upcall. */
    masked: boolean;
    /** `evtchn_upcall_pending` went from 0 to 1 (Xen injects PPI 31). */
    upcall: boolean;
  };
  /** A complete XenStore message on the guest's ring. */
  "xenstore-msg": {
    /** Request or reply/watch event. */
    direction: XenStoreDirection;
    /** The type's name (`READ`, `WATCH_EVENT`, `ERROR`, or the number when unknown). */
    type: string;
    /** xsd_sockmsg.req_id. */
    reqId: number;
    /** xsd_sockmsg.tx_id. */
    txId: number;
    /** The payload as printable text (see {@linkcode printableBytes}). */
    payload: string;
  };
  /** Bytes the console backend took from the guest's output ring. */
  "console-output": {
    /** The bytes, in ring order. */
    bytes: Uint8Array;
  };
  /** A backend was refused access to a grant; the guest's memory was not touched. */
  "grant-refused": {
    /** The granting domain. */
    domain: number;
    /** The grant reference. */
    ref: number;
    /** The domain that asked (the backend). */
    by: number;
    /** Why, in words. */
    why: string;
  };
  /** A line the guest wrote with `CONSOLEIO_write` (Xen's own console, `xl dmesg`). */
  "xen-console": {
    /** The writing domain. */
    domain: number;
    /** The line, without its newline. */
    line: string;
  };
  /** A blkif request a block backend answered (or dropped, when it went away first). */
  "blkif-request": {
    /** The frontend's domain. */
    domain: number;
    /** The VBD number (`virtual-device`, 51712 for xvda). */
    device: number;
    /** The request's `id`. */
    id: bigint;
    /** The operation's name (`READ`, `WRITE`, `FLUSH_DISKCACHE`, `INDIRECT READ`, or the number). */
    op: string;
    /** `sector_number` (512-byte units). */
    sector: bigint;
    /** 512-byte sectors the segments cover. */
    sectors: number;
    /** Segments. */
    segments: number;
    /** `BLKIF_RSP_*` status sent, or null when no response was sent. */
    status: number | null;
    /** Why it failed, or "". */
    why: string;
  };
  /** The guest shut itself down (`SCHEDOP_shutdown`). */
  "domain-shutdown": {
    /** The domain. */
    domain: number;
    /** `SHUTDOWN_*` reason code. */
    reason: number;
    /** The reason's name (`poweroff`, `reboot`, …) or the number. */
    name: string;
  };
}

/** The name of an event kind. */
export type TraceKind = keyof Events;

/** A listener for one kind. */
export type TraceListener<K extends TraceKind> = (event: Events[K]) => void;

/** One event with its kind, for listeners that take every kind. */
export type TraceRecord = { [K in TraceKind]: { kind: K; event: Events[K] } }[TraceKind];

/** Every event kind, in a fixed order (for `--trace` validation and help text). */
export const TRACE_KINDS: readonly TraceKind[] = [
  "hypercall",
  "evtchn-send",
  "evtchn-deliver",
  "xenstore-msg",
  "console-output",
  "grant-refused",
  "xen-console",
  "domain-shutdown",
  "blkif-request",
];

/** Most listeners one kind may have: a bus is wired once, a leak would show here. */
export const MAX_LISTENERS = 64;

/** A listener could not be added (a programming error). */
export class TraceError extends RangeError {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "TraceError";
  }
}

type _AnyListener = (record: TraceRecord) => void;

/**
 * The typed event bus. Emitters ask {@linkcode TraceBus.wants} before building costly payloads; a bus
 * with no listeners costs one map lookup per event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TraceBus } from "./trace.ts";
 *
 * const bus = new TraceBus();
 * assert.ok(!bus.wants("hypercall"));
 * const off = bus.on("hypercall", () => {});
 * assert.ok(bus.wants("hypercall"));
 * off();
 * assert.ok(!bus.wants("hypercall"));
 * ```
 */
export class TraceBus {
  readonly #listeners = new Map<TraceKind, Array<(event: never) => void>>();
  readonly #any: _AnyListener[] = [];

  /** Calls `fn` for every event of `kind`; returns a function that removes it. */
  on<K extends TraceKind>(kind: K, fn: TraceListener<K>): () => void {
    const list = this.#listeners.get(kind) ?? [];
    if (list.length >= MAX_LISTENERS) {
      throw new TraceError(`Cannot add a listener for ${kind}: already ${MAX_LISTENERS}`);
    }
    const entry = fn as (event: never) => void;
    list.push(entry);
    this.#listeners.set(kind, list);
    return () => {
      const at = list.indexOf(entry);
      if (at >= 0) list.splice(at, 1);
    };
  }

  /** Calls `fn` for every event of every kind; returns a function that removes it. */
  onAny(fn: (record: TraceRecord) => void): () => void {
    if (this.#any.length >= MAX_LISTENERS) {
      throw new TraceError(`Cannot add a listener for every kind: already ${MAX_LISTENERS}`);
    }
    this.#any.push(fn);
    return () => {
      const at = this.#any.indexOf(fn);
      if (at >= 0) this.#any.splice(at, 1);
    };
  }

  /** True when someone listens to `kind`. */
  wants(kind: TraceKind): boolean {
    return this.#any.length > 0 || (this.#listeners.get(kind)?.length ?? 0) > 0;
  }

  /** Delivers `event` to the listeners of `kind`, then to the listeners of every kind, in order. */
  emit<K extends TraceKind>(kind: K, event: Events[K]): void {
    const list = this.#listeners.get(kind);
    if (list !== undefined) {
      for (const fn of [...list]) (fn as TraceListener<K>)(event);
    }
    if (this.#any.length > 0) {
      const record = { kind, event } as TraceRecord;
      for (const fn of [...this.#any]) fn(record);
    }
  }
}

const _ESCAPES: Readonly<Record<number, string>> = {
  0: "\\0",
  9: "\\t",
  10: "\\n",
  13: "\\r",
  34: '\\"',
  92: "\\\\",
};
const _PRINTABLE_FIRST = 0x20;
const _PRINTABLE_LAST = 0x7e;
const _HEX = 16;

/**
 * Bytes as printable ASCII: printable characters as they are, NUL as `\0`, tab/newline/return, quote and
 * backslash escaped, anything else as `\xNN`. XenStore payloads are NUL-separated strings, so a READ of
 * `device/vbd` shows as `device/vbd\0`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { printableBytes } from "./trace.ts";
 *
 * assert.equal(printableBytes(new Uint8Array([0x4f, 0x4b, 0, 0xff])), "OK\\0\\xff");
 * ```
 */
export function printableBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    const escape = _ESCAPES[byte];
    if (escape !== undefined) out += escape;
    else if (byte >= _PRINTABLE_FIRST && byte <= _PRINTABLE_LAST) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(_HEX).padStart(2, "0")}`;
  }
  return out;
}

function _hex(value: bigint): string {
  return value < 0n ? `-0x${(-value).toString(_HEX)}` : `0x${value.toString(_HEX)}`;
}

function _domainPort(domain: number | null, port: number | null): string {
  return domain === null || port === null ? "(unbound)" : `d${domain}:${port}`;
}

/**
 * One readable line for an event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTraceLine } from "./trace.ts";
 *
 * const line = formatTraceLine("hypercall", {
 *   nr: 32, name: "event_channel_op", op: "EVTCHNOP_send", args: [4n, 0x4000_1000n], result: -22n, error: "EINVAL",
 * });
 * assert.equal(line, "hypercall event_channel_op EVTCHNOP_send(0x4, 0x40001000) = -22 EINVAL");
 * ```
 */
export function formatTraceLine<K extends TraceKind>(kind: K, event: Events[K]): string {
  const record = { kind, event } as TraceRecord;
  switch (record.kind) {
    case "hypercall": {
      const e = record.event;
      const op = e.op === "" ? "" : ` ${e.op}`;
      const error = e.error === "" ? "" : ` ${e.error}`;
      return `hypercall ${e.name}${op}(${e.args.map(_hex).join(", ")}) = ${e.result}${error}`;
    }
    case "evtchn-send": {
      const e = record.event;
      return `evtchn-send d${e.fromDomain}:${e.fromPort} -> ${_domainPort(e.toDomain, e.toPort)}`;
    }
    case "evtchn-deliver": {
      const e = record.event;
      const notes = [e.masked ? "masked" : "", e.upcall ? "upcall" : ""].filter((n) => n !== "");
      return `evtchn-deliver d${e.domain}:${e.port}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
    }
    case "xenstore-msg": {
      const e = record.event;
      return `xenstore-msg ${e.direction} ${e.type} req=${e.reqId} tx=${e.txId} "${e.payload}"`;
    }
    case "console-output":
      return `console-output "${printableBytes(record.event.bytes)}"`;
    case "grant-refused": {
      const e = record.event;
      return `grant-refused d${e.domain} ref ${e.ref} by d${e.by}: ${e.why}`;
    }
    case "xen-console":
      return `xen-console (d${record.event.domain}) ${record.event.line}`;
    case "domain-shutdown":
      return `domain-shutdown d${record.event.domain} ${record.event.name}`;
    case "blkif-request": {
      const e = record.event;
      const result = e.status === null ? "no response" : `= ${e.status}`;
      const why = e.why === "" ? "" : ` (${e.why})`;
      return `blkif-request d${e.domain} vbd ${e.device} id=${e.id} ${e.op} sector ${e.sector}+${e.sectors} ` +
        `segs ${e.segments} ${result}${why}`;
    }
  }
}

function _jsonValue(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Uint8Array) return printableBytes(value);
  if (Array.isArray(value)) return value.map(_jsonValue);
  return value;
}

/**
 * One JSON line for an event: `{"kind": …, …fields}`. Bigints become numbers (or decimal strings beyond
 * 2^53), byte arrays printable text as in {@linkcode printableBytes}. Field order is the payload's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTraceJson } from "./trace.ts";
 *
 * const json = formatTraceJson("grant-refused", { domain: 1, ref: 9, by: 0, why: "unused entry" });
 * assert.equal(json, '{"kind":"grant-refused","domain":1,"ref":9,"by":0,"why":"unused entry"}');
 * ```
 */
export function formatTraceJson<K extends TraceKind>(kind: K, event: Events[K]): string {
  const out: Record<string, unknown> = { kind };
  for (const [key, value] of Object.entries(event)) out[key] = _jsonValue(value);
  return JSON.stringify(out);
}
