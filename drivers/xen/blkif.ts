/**
 * The blkif wire format (xen/include/public/io/blkif.h and io/ring.h, native arm64 ABI `"arm-abi"`):
 * the shared ring page's header, request and response slots, segments, and the constants a block
 * frontend needs. Byte layouts as xen-spec §5–§6 gives them; everything little-endian.
 *
 * Ring page: `req_prod` u32 @0, `req_event` u32 @4, `rsp_prod` u32 @8, `rsp_event` u32 @12, padding
 * to 64, then the slots (112 bytes each: a slot holds a request or a response). One page holds
 * `(4096 - 64) / 112 = 36` slots, rounded down to a power of two: 32.
 *
 * Requests are built into a local 112-byte array and written to the ring in one copy; a response is
 * copied out of the ring once (16 bytes) and only the copy is looked at (XSA-155).
 *
 * @example
 * ```ts
 * import { blkifRingSize, BLKIF_OP_READ, decodeBlkifResponse, encodeBlkifRequest } from "./blkif.ts";
 *
 * console.log(blkifRingSize(4096)); // 32
 * const slot = encodeBlkifRequest({
 *   operation: BLKIF_OP_READ, handle: 51712, id: 3, sectorNumber: 2048,
 *   segments: [{ gref: 511, firstSect: 0, lastSect: 7 }],
 * });
 * console.log(slot.length, slot[1]); // 112 1
 * console.log(decodeBlkifResponse(new Uint8Array(16)).status); // 0
 * ```
 *
 * @module
 */

import { XEN_PAGE_SIZE } from "./abi.ts";

// Operations (blkif.h).
/** Read from the disk into the granted pages. */
export const BLKIF_OP_READ = 0;
/** Write the granted pages to the disk. */
export const BLKIF_OP_WRITE = 1;
/** Write barrier (`feature-barrier`). */
export const BLKIF_OP_WRITE_BARRIER = 2;
/** Flush the disk's write cache (`feature-flush-cache`). */
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
/** Discard (`feature-discard`). */
export const BLKIF_OP_DISCARD = 5;
/** A request whose segments sit in granted indirect pages (`feature-max-indirect-segments`). */
export const BLKIF_OP_INDIRECT = 6;

// Response status.
/** The request succeeded. */
export const BLKIF_RSP_OKAY = 0;
/** The request failed. */
export const BLKIF_RSP_ERROR = -1;
/** The backend does not support the operation. */
export const BLKIF_RSP_EOPNOTSUPP = -2;
/** The status values a backend may send; anything else is a protocol violation. */
export const BLKIF_KNOWN_STATUS: readonly number[] = [BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP];

// Limits.
/** Segments in a direct request (44 KiB with 4 KiB pages). */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
/** Indirect pages one indirect request may name. */
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
/** `blkif_request_segment` entries per indirect page (4096 / 8). */
export const BLKIF_SEGS_PER_INDIRECT_FRAME = XEN_PAGE_SIZE / 8;
/** The protocol's ceiling on segments in an indirect request. */
export const BLKIF_MAX_INDIRECT_SEGMENTS = BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST *
  BLKIF_SEGS_PER_INDIRECT_FRAME;
/** Request sector numbers and segment sectors count 512-byte units, whatever `sector-size` says. */
export const BLKIF_SECTOR_BYTES = 512;
/** 512-byte sectors in a page: `last_sect` is at most 7. */
export const BLKIF_SECTORS_PER_PAGE = XEN_PAGE_SIZE / BLKIF_SECTOR_BYTES;

// `info` bits.
/** The disk is a CD-ROM. */
export const VDISK_CDROM = 1;
/** The medium is removable. */
export const VDISK_REMOVABLE = 2;
/** The disk is read-only. */
export const VDISK_READONLY = 4;

/** The protocol string for the native arm64 ABI (`XEN_IO_PROTO_ABI_NATIVE`). */
export const XEN_IO_PROTO_ABI_NATIVE = "arm-abi";

// Shared ring header (DEFINE_RING_TYPES).
/** `req_prod`: written by the frontend. */
export const SRING_REQ_PROD = 0;
/** `req_event`: written by the backend. */
export const SRING_REQ_EVENT = 4;
/** `rsp_prod`: written by the backend. */
export const SRING_RSP_PROD = 8;
/** `rsp_event`: written by the frontend. */
export const SRING_RSP_EVENT = 12;
/** Where the slots start. */
export const SRING_RING = 64;
/** Bytes of one slot (the request union's size). */
export const BLKIF_SLOT_BYTES = 112;

// struct blkif_request.
/** `operation` u8. */
export const REQ_OPERATION = 0;
/** `nr_segments` u8. */
export const REQ_NR_SEGMENTS = 1;
/** `handle` u16. */
export const REQ_HANDLE = 2;
/** `id` u64 (after 4 bytes of padding). */
export const REQ_ID = 8;
/** `sector_number` u64 (512-byte units). */
export const REQ_SECTOR_NUMBER = 16;
/** `seg[11]`. */
export const REQ_SEG = 24;

// struct blkif_request_indirect.
/** `indirect_op` u8: READ or WRITE. */
export const IND_INDIRECT_OP = 1;
/** `nr_segments` u16. */
export const IND_NR_SEGMENTS = 2;
/** `handle` u16. */
export const IND_HANDLE = 24;
/** `indirect_grefs[8]` u32. */
export const IND_GREFS = 28;

// struct blkif_request_segment (8 bytes).
/** `gref` u32. */
export const SEG_GREF = 0;
/** `first_sect` u8. */
export const SEG_FIRST_SECT = 4;
/** `last_sect` u8. */
export const SEG_LAST_SECT = 5;
/** Bytes of a segment. */
export const SEG_BYTES = 8;

// struct blkif_response (16 bytes).
/** `id` u64. */
export const RSP_ID = 0;
/** `operation` u8. */
export const RSP_OPERATION = 8;
/** `status` i16. */
export const RSP_STATUS = 10;
/** Bytes of a response. */
export const BLKIF_RESPONSE_BYTES = 16;

/** One segment: a granted page and the 512-byte sectors of it used (inclusive, 0..7). */
export interface BlkifSegment {
  /** Grant reference of the page. */
  readonly gref: number;
  /** First sector used within the page. */
  readonly firstSect: number;
  /** Last sector used within the page. */
  readonly lastSect: number;
}

/** A direct request (read, write, flush, barrier): at most 11 segments in the slot. */
export interface BlkifRequest {
  /** `BLKIF_OP_*`. */
  readonly operation: number;
  /** The virtual device (`blkif_vdev_t`; backends ignore it). */
  readonly handle: number;
  /** Echoed in the response. */
  readonly id: number;
  /** First 512-byte sector. */
  readonly sectorNumber: number;
  /** The segments. */
  readonly segments: readonly BlkifSegment[];
}

/** An indirect request: the segments live in granted pages listed by `indirectGrefs`. */
export interface BlkifIndirectRequest {
  /** READ or WRITE. */
  readonly indirectOp: number;
  /** The virtual device. */
  readonly handle: number;
  /** Echoed in the response. */
  readonly id: number;
  /** First 512-byte sector. */
  readonly sectorNumber: number;
  /** Segments in the indirect pages. */
  readonly nrSegments: number;
  /** Grant references of the indirect pages (1..8). */
  readonly indirectGrefs: readonly number[];
}

/** A response, copied out of the ring. */
export interface BlkifResponse {
  /** The request's id (u64: compared as a bigint before use). */
  readonly id: bigint;
  /** The operation answered. */
  readonly operation: number;
  /** `BLKIF_RSP_*` (or anything a broken backend sends). */
  readonly status: number;
}

/** `__RD32((bytes - 64) / 112)`: slots in a ring of `bytes`, a power of two. */
export function blkifRingSize(bytes: number): number {
  const slots = Math.floor((bytes - SRING_RING) / BLKIF_SLOT_BYTES);
  if (slots < 1) throw new RangeError(`Cannot make a blkif ring of ${bytes} bytes: no room for a slot`);
  return 2 ** Math.floor(Math.log2(slots));
}

/** Guest-physical offset of slot `index` (any free-running index) in a ring of `size` slots. */
export function blkifSlotOffset(index: number, size: number): number {
  return SRING_RING + (index & (size - 1)) * BLKIF_SLOT_BYTES;
}

function _u64(n: number): bigint {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Cannot encode ${n} as an unsigned 64-bit field`);
  }
  return BigInt(n);
}

function _segment(view: DataView, at: number, seg: BlkifSegment): void {
  if (seg.firstSect > seg.lastSect || seg.lastSect >= BLKIF_SECTORS_PER_PAGE || seg.firstSect < 0) {
    throw new RangeError(`Cannot encode segment sectors ${seg.firstSect}..${seg.lastSect}: outside one page`);
  }
  view.setUint32(at + SEG_GREF, seg.gref, true);
  view.setUint8(at + SEG_FIRST_SECT, seg.firstSect);
  view.setUint8(at + SEG_LAST_SECT, seg.lastSect);
}

/** The 112-byte slot of a direct request (padding zero). */
export function encodeBlkifRequest(req: BlkifRequest): Uint8Array {
  if (req.segments.length > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
    throw new RangeError(`Cannot encode ${req.segments.length} segments: a request holds at most 11`);
  }
  const slot = new Uint8Array(BLKIF_SLOT_BYTES);
  const view = new DataView(slot.buffer);
  view.setUint8(REQ_OPERATION, req.operation);
  view.setUint8(REQ_NR_SEGMENTS, req.segments.length);
  view.setUint16(REQ_HANDLE, req.handle & 0xffff, true);
  view.setBigUint64(REQ_ID, _u64(req.id), true);
  view.setBigUint64(REQ_SECTOR_NUMBER, _u64(req.sectorNumber), true);
  req.segments.forEach((seg, i) => _segment(view, REQ_SEG + i * SEG_BYTES, seg));
  return slot;
}

/** The 112-byte slot of an indirect request (padding zero). */
export function encodeBlkifIndirectRequest(req: BlkifIndirectRequest): Uint8Array {
  const pages = Math.ceil(req.nrSegments / BLKIF_SEGS_PER_INDIRECT_FRAME);
  if (
    req.nrSegments < 1 || req.nrSegments > BLKIF_MAX_INDIRECT_SEGMENTS || req.indirectGrefs.length !== pages
  ) {
    throw new RangeError(
      `Cannot encode an indirect request of ${req.nrSegments} segments in ${req.indirectGrefs.length} pages`,
    );
  }
  const slot = new Uint8Array(BLKIF_SLOT_BYTES);
  const view = new DataView(slot.buffer);
  view.setUint8(REQ_OPERATION, BLKIF_OP_INDIRECT);
  view.setUint8(IND_INDIRECT_OP, req.indirectOp);
  view.setUint16(IND_NR_SEGMENTS, req.nrSegments, true);
  view.setBigUint64(REQ_ID, _u64(req.id), true);
  view.setBigUint64(REQ_SECTOR_NUMBER, _u64(req.sectorNumber), true);
  view.setUint16(IND_HANDLE, req.handle & 0xffff, true);
  req.indirectGrefs.forEach((gref, i) => view.setUint32(IND_GREFS + i * 4, gref, true));
  return slot;
}

/** The bytes of an indirect page holding `segments` (at most 512; the rest zero). */
export function encodeIndirectPage(segments: readonly BlkifSegment[]): Uint8Array {
  if (segments.length > BLKIF_SEGS_PER_INDIRECT_FRAME) {
    throw new RangeError(`Cannot put ${segments.length} segments in one indirect page`);
  }
  const page = new Uint8Array(XEN_PAGE_SIZE);
  const view = new DataView(page.buffer);
  segments.forEach((seg, i) => _segment(view, i * SEG_BYTES, seg));
  return page;
}

/** Decodes a 16-byte response copied out of the ring. */
export function decodeBlkifResponse(bytes: Uint8Array): BlkifResponse {
  if (bytes.length < BLKIF_RESPONSE_BYTES) {
    throw new RangeError(`Cannot decode a blkif response from ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, BLKIF_RESPONSE_BYTES);
  return {
    id: view.getBigUint64(RSP_ID, true),
    operation: view.getUint8(RSP_OPERATION),
    status: view.getInt16(RSP_STATUS, true),
  };
}

/** Encodes a response (zeroed padding, as XSA-216 asks of backends); for tests and emulated backends. */
export function encodeBlkifResponse(rsp: BlkifResponse): Uint8Array {
  const bytes = new Uint8Array(BLKIF_RESPONSE_BYTES);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(RSP_ID, BigInt.asUintN(64, rsp.id), true);
  view.setUint8(RSP_OPERATION, rsp.operation & 0xff);
  view.setInt16(RSP_STATUS, rsp.status, true);
  return bytes;
}
