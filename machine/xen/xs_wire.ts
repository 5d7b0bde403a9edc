/**
 * The XenStore wire protocol (io/xs_wire.h, xen-spec §7): message types, the 16-byte `xsd_sockmsg`
 * header, error names, and `struct xenstore_domain_interface`, the shared ring page (two 1024-byte
 * byte-stream rings with free-running u32 indexes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeXsHeader, encodeXsMessage, XS_READ, xsTypeName } from "./xs_wire.ts";
 *
 * const message = encodeXsMessage(XS_READ, 7, 0, new TextEncoder().encode("domid\0"));
 * assert.deepEqual(decodeXsHeader(message), { type: XS_READ, reqId: 7, txId: 0, len: 6 });
 * assert.equal(xsTypeName(XS_READ), "READ");
 * ```
 *
 * @module
 */

import { defineLayout, StructBuffer } from "./layout.ts";

/** Control (debug) commands: privileged. */
export const XS_CONTROL = 0;
/** List a node's children. */
export const XS_DIRECTORY = 1;
/** Read a node's value. */
export const XS_READ = 2;
/** Read a node's permissions. */
export const XS_GET_PERMS = 3;
/** Register a watch. */
export const XS_WATCH = 4;
/** Remove a watch. */
export const XS_UNWATCH = 5;
/** Start a transaction. */
export const XS_TRANSACTION_START = 6;
/** Commit or abort a transaction. */
export const XS_TRANSACTION_END = 7;
/** Introduce a domain (privileged). */
export const XS_INTRODUCE = 8;
/** Release a domain (privileged). */
export const XS_RELEASE = 9;
/** `/local/domain/<domid>`. */
export const XS_GET_DOMAIN_PATH = 10;
/** Write a node. */
export const XS_WRITE = 11;
/** Create a node. */
export const XS_MKDIR = 12;
/** Remove a subtree. */
export const XS_RM = 13;
/** Set a node's permissions. */
export const XS_SET_PERMS = 14;
/** A watch fired (server to client only). */
export const XS_WATCH_EVENT = 15;
/** An error reply (server to client only). */
export const XS_ERROR = 16;
/** Privileged. */
export const XS_IS_DOMAIN_INTRODUCED = 17;
/** Privileged. */
export const XS_RESUME = 18;
/** Privileged. */
export const XS_SET_TARGET = 19;
/** Drop all of the caller's watches and transactions. */
export const XS_RESET_WATCHES = 21;
/** A slice of a long child list. */
export const XS_DIRECTORY_PART = 22;
/** Types Xen 4.17's xenstored knows (0..22). */
export const XS_TYPE_COUNT = 23;
/** Guaranteed invalid type. */
export const XS_INVALID = 0xffff;

/** Type names, by number. */
export const XS_TYPE_NAMES: Readonly<Record<number, string>> = {
  [XS_CONTROL]: "CONTROL",
  [XS_DIRECTORY]: "DIRECTORY",
  [XS_READ]: "READ",
  [XS_GET_PERMS]: "GET_PERMS",
  [XS_WATCH]: "WATCH",
  [XS_UNWATCH]: "UNWATCH",
  [XS_TRANSACTION_START]: "TRANSACTION_START",
  [XS_TRANSACTION_END]: "TRANSACTION_END",
  [XS_INTRODUCE]: "INTRODUCE",
  [XS_RELEASE]: "RELEASE",
  [XS_GET_DOMAIN_PATH]: "GET_DOMAIN_PATH",
  [XS_WRITE]: "WRITE",
  [XS_MKDIR]: "MKDIR",
  [XS_RM]: "RM",
  [XS_SET_PERMS]: "SET_PERMS",
  [XS_WATCH_EVENT]: "WATCH_EVENT",
  [XS_ERROR]: "ERROR",
  [XS_IS_DOMAIN_INTRODUCED]: "IS_DOMAIN_INTRODUCED",
  [XS_RESUME]: "RESUME",
  [XS_SET_TARGET]: "SET_TARGET",
  [XS_RESET_WATCHES]: "RESET_WATCHES",
  [XS_DIRECTORY_PART]: "DIRECTORY_PART",
};

/** The name of message type `type`, or its number. */
export function xsTypeName(type: number): string {
  return XS_TYPE_NAMES[type] ?? String(type);
}

/** The error names xenstored sends (`xsd_errors`, in header order; an unknown errno becomes EINVAL). */
export const XS_ERROR_NAMES = [
  "EINVAL",
  "EACCES",
  "EEXIST",
  "EISDIR",
  "ENOENT",
  "ENOMEM",
  "ENOSPC",
  "EIO",
  "ENOTEMPTY",
  "ENOSYS",
  "EROFS",
  "EBUSY",
  "EAGAIN",
  "EISCONN",
  "E2BIG",
  "EPERM",
] as const;

/** A XenStore error name. */
export type XsErrorName = typeof XS_ERROR_NAMES[number];

/** `struct xsd_sockmsg` (16 bytes). */
export const XSD_SOCKMSG = defineLayout("xsd_sockmsg", 16, {
  type: [0, 4],
  req_id: [4, 4],
  tx_id: [8, 4],
  len: [12, 4],
});

/** Largest payload in either direction. */
export const XENSTORE_PAYLOAD_MAX = 4096;
/** Longest absolute path. */
export const XENSTORE_ABS_PATH_MAX = 3072;
/** Longest relative path. */
export const XENSTORE_REL_PATH_MAX = 2048;

/** Bytes of each ring of the interface page. */
export const XENSTORE_RING_SIZE = 1024;
/** Offset of `req[]` (guest → server). */
export const XS_RING_REQ = 0;
/** Offset of `rsp[]` (server → guest). */
export const XS_RING_RSP = 1024;
/** `struct xenstore_domain_interface` from the index fields on (2080 bytes in all). */
export const XENSTORE_DOMAIN_INTERFACE = defineLayout("xenstore_domain_interface", 2080, {
  req_cons: [2048, 4],
  req_prod: [2052, 4],
  rsp_cons: [2056, 4],
  rsp_prod: [2060, 4],
  server_features: [2064, 4],
  connection: [2068, 4],
  error: [2072, 4],
  evtchn_port: [2076, 4],
});

/** Server feature: the ring reconnection protocol. */
export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
/** Server feature: the `error` field. */
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
/** `connection`: steady state. */
export const XENSTORE_CONNECTED = 0;
/** `connection`: the guest asked for a reset. */
export const XENSTORE_RECONNECT = 1;
/** `error`: none. */
export const XENSTORE_ERROR_NONE = 0;
/** `error`: communication problem. */
export const XENSTORE_ERROR_COMM = 1;
/** `error`: inconsistent ring index. */
export const XENSTORE_ERROR_RINGIDX = 2;
/** `error`: protocol violation (payload too long). */
export const XENSTORE_ERROR_PROTO = 3;

/** A decoded header. */
export interface XsHeader {
  /** Message type. */
  type: number;
  /** Request id (echoed in the reply). */
  reqId: number;
  /** Transaction id (0: none). */
  txId: number;
  /** Payload bytes that follow. */
  len: number;
}

/** Decodes the 16-byte header at the start of `bytes`. */
export function decodeXsHeader(bytes: Uint8Array): XsHeader {
  const header = new StructBuffer(XSD_SOCKMSG, bytes.subarray(0, XSD_SOCKMSG.bytes));
  return { type: header.u("type"), reqId: header.u("req_id"), txId: header.u("tx_id"), len: header.u("len") };
}

/** A whole message: header then payload. */
export function encodeXsMessage(type: number, reqId: number, txId: number, payload: Uint8Array): Uint8Array {
  const message = new Uint8Array(XSD_SOCKMSG.bytes + payload.length);
  const header = new StructBuffer(XSD_SOCKMSG, message.subarray(0, XSD_SOCKMSG.bytes));
  header.set("type", type);
  header.set("req_id", reqId);
  header.set("tx_id", txId);
  header.set("len", payload.length);
  message.set(payload, XSD_SOCKMSG.bytes);
  return message;
}

/** Bytes as a byte string (one char per byte), the way xenstored treats paths and values. */
export function bytesToLatin1(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

/** A byte string (chars 0..255) as bytes. */
export function latin1ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}
