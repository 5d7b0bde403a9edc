/**
 * The XenStore wire protocol (io/xs_wire.h, docs/misc/xenstore.txt, xenstore-ring.txt): message
 * types, the 16-byte `xsd_sockmsg` header, the shared ring page, error names and the XenBus states.
 *
 * @example
 * ```ts
 * import { encodeXsHeader, decodeXsHeader, XS_READ } from "./xs_wire.ts";
 * const header = decodeXsHeader(encodeXsHeader({ type: XS_READ, reqId: 7, txId: 0, len: 6 }));
 * console.log(header.reqId, header.len); // 7 6
 * ```
 *
 * @module
 */

// Message types (enum xsd_sockmsg_type).
/** Debug/control. */
export const XS_CONTROL = 0;
/** List a node's children. */
export const XS_DIRECTORY = 1;
/** Read a value. */
export const XS_READ = 2;
/** Read permissions. */
export const XS_GET_PERMS = 3;
/** Add a watch. */
export const XS_WATCH = 4;
/** Remove a watch. */
export const XS_UNWATCH = 5;
/** Start a transaction. */
export const XS_TRANSACTION_START = 6;
/** Commit or abort a transaction. */
export const XS_TRANSACTION_END = 7;
/** Toolstack only. */
export const XS_INTRODUCE = 8;
/** Toolstack only. */
export const XS_RELEASE = 9;
/** `/local/domain/<domid>`. */
export const XS_GET_DOMAIN_PATH = 10;
/** Write a value. */
export const XS_WRITE = 11;
/** Create a node. */
export const XS_MKDIR = 12;
/** Remove a node and its children. */
export const XS_RM = 13;
/** Set permissions. */
export const XS_SET_PERMS = 14;
/** Server → client: a watch fired. */
export const XS_WATCH_EVENT = 15;
/** Server → client: a request failed. */
export const XS_ERROR = 16;
/** Toolstack only. */
export const XS_IS_DOMAIN_INTRODUCED = 17;
/** Toolstack only. */
export const XS_RESUME = 18;
/** Toolstack only. */
export const XS_SET_TARGET = 19;
/** Drop the caller's watches and transactions. */
export const XS_RESET_WATCHES = 21;
/** Partial directory listing. */
export const XS_DIRECTORY_PART = 22;
/** Feature query. */
export const XS_GET_FEATURE = 23;
/** Feature set. */
export const XS_SET_FEATURE = 24;
/** Quota query. */
export const XS_GET_QUOTA = 25;
/** Quota set. */
export const XS_SET_QUOTA = 26;
/** One past the last type a server may send back (anything else is unknown). */
export const XS_TYPE_COUNT = 27;
/** Invalid type. */
export const XS_INVALID = 0xffff;

/** Largest payload either direction (`XENSTORE_PAYLOAD_MAX`). */
export const XENSTORE_PAYLOAD_MAX = 4096;
/** Bytes in each ring of the page (`XENSTORE_RING_SIZE`). */
export const XENSTORE_RING_SIZE = 1024;
/** Longest absolute path (`XENSTORE_ABS_PATH_MAX`). */
export const XENSTORE_ABS_PATH_MAX = 3072;
/** Longest relative path (`XENSTORE_REL_PATH_MAX`). */
export const XENSTORE_REL_PATH_MAX = 2048;
/** No transaction. */
export const XBT_NIL = 0;

// struct xsd_sockmsg (16 bytes, little-endian).
/** `type` u32. */
export const XS_HDR_TYPE = 0;
/** `req_id` u32, echoed. */
export const XS_HDR_REQ_ID = 4;
/** `tx_id` u32. */
export const XS_HDR_TX_ID = 8;
/** `len` u32: payload bytes that follow. */
export const XS_HDR_LEN = 12;
/** Header size. */
export const XS_HDR_BYTES = 16;

// struct xenstore_domain_interface.
/** `req[1024]`: guest → server. */
export const XS_RING_REQ = 0;
/** `rsp[1024]`: server → guest. */
export const XS_RING_RSP = 1024;
/** `req_cons` (server writes). */
export const XS_RING_REQ_CONS = 2048;
/** `req_prod` (guest writes). */
export const XS_RING_REQ_PROD = 2052;
/** `rsp_cons` (guest writes). */
export const XS_RING_RSP_CONS = 2056;
/** `rsp_prod` (server writes). */
export const XS_RING_RSP_PROD = 2060;
/** `server_features`. */
export const XS_RING_SERVER_FEATURES = 2064;
/** `connection` (0 connected, 1 reconnecting). */
export const XS_RING_CONNECTION = 2068;
/** `error`. */
export const XS_RING_ERROR = 2072;

/** Error names a server sends in `XS_ERROR` payloads (xsd_errors). */
export const XS_ERROR_NAMES: readonly string[] = [
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
];

/** The XenBus device states (`enum xenbus_state`). */
export const XenbusState = {
  Unknown: 0,
  Initialising: 1,
  InitWait: 2,
  Initialised: 3,
  Connected: 4,
  Closing: 5,
  Closed: 6,
  Reconfiguring: 7,
  Reconfigured: 8,
} as const;

/** One of {@linkcode XenbusState}'s values. */
export type XenbusState = typeof XenbusState[keyof typeof XenbusState];

/** Largest state value. */
export const XENBUS_STATE_MAX = XenbusState.Reconfigured;

/** A decoded `xsd_sockmsg` header. */
export interface XsHeader {
  /** Message type. */
  type: number;
  /** Request id (echoed by the server). */
  reqId: number;
  /** Transaction id (0: none). */
  txId: number;
  /** Payload length. */
  len: number;
}

/** The 16 header bytes of `header`. */
export function encodeXsHeader(header: XsHeader): Uint8Array {
  const out = new Uint8Array(XS_HDR_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(XS_HDR_TYPE, header.type, true);
  view.setUint32(XS_HDR_REQ_ID, header.reqId, true);
  view.setUint32(XS_HDR_TX_ID, header.txId, true);
  view.setUint32(XS_HDR_LEN, header.len, true);
  return out;
}

/** Decodes the 16 header bytes at the start of `bytes`. */
export function decodeXsHeader(bytes: Uint8Array): XsHeader {
  if (bytes.length < XS_HDR_BYTES) throw new RangeError("Cannot decode a XenStore header: short");
  const view = new DataView(bytes.buffer, bytes.byteOffset, XS_HDR_BYTES);
  return {
    type: view.getUint32(XS_HDR_TYPE, true),
    reqId: view.getUint32(XS_HDR_REQ_ID, true),
    txId: view.getUint32(XS_HDR_TX_ID, true),
    len: view.getUint32(XS_HDR_LEN, true),
  };
}

/** A byte string (one character per byte) as bytes; characters above 0xFF are refused. */
export function byteStringToBytes(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) return undefined;
    out[i] = code;
  }
  return out;
}

/** Bytes as a byte string. */
export function bytesToByteString(bytes: Uint8Array): string {
  let out = "";
  // Chunked to stay below the argument limit of String.fromCharCode.
  const CHUNK = 0x2000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    out += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return out;
}
