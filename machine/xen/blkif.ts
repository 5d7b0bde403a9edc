/**
 * The blkif wire format as the backend reads and writes it (io/blkif.h and io/ring.h, native arm64 ABI
 * `"arm-abi"`, xen-spec §5–§6): the shared ring page's header, the 112-byte request slot in its direct
 * and indirect forms, the 8-byte segment, the 16-byte response, the opcodes, status codes, limits and
 * `info` bits. Requests are decoded from a private copy of the slot (XSA-155); responses are encoded
 * into zeroed bytes, so their padding never carries anything (XSA-216).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BLKIF_OP_READ, BLKIF_RSP_ERROR, blkifRingSize, decodeBlkifRequest, encodeBlkifResponse } from "./blkif.ts";
 *
 * assert.equal(blkifRingSize(4096), 32);
 * const slot = new Uint8Array(112);
 * slot[1] = 1; // one segment
 * slot[29] = 7; // seg[0].last_sect
 * const request = decodeBlkifRequest(slot);
 * assert.ok(request.kind === "direct" && request.operation === BLKIF_OP_READ);
 * assert.deepEqual(request.segments, [{ gref: 0, firstSect: 0, lastSect: 7 }]);
 * assert.equal(encodeBlkifResponse(5n, BLKIF_OP_READ, BLKIF_RSP_ERROR)[10], 0xff);
 * ```
 *
 * @module
 */

import { defineLayout, StructBuffer } from "./layout.ts";
import { XEN_PAGE_SIZE } from "./xen_abi.ts";

// Operations (blkif.h).
/** Read sectors into the granted pages. */
export const BLKIF_OP_READ = 0;
/** Write the granted pages to the disk. */
export const BLKIF_OP_WRITE = 1;
/** Write with barrier semantics (`feature-barrier`). */
export const BLKIF_OP_WRITE_BARRIER = 2;
/** Flush the disk's write cache (`feature-flush-cache`). */
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
/** Reserved (was `BLKIF_OP_RESERVED_1`). */
export const BLKIF_OP_RESERVED_1 = 4;
/** Discard (`feature-discard`); this backend does not offer it. */
export const BLKIF_OP_DISCARD = 5;
/** Segments in granted indirect pages (`feature-max-indirect-segments`). */
export const BLKIF_OP_INDIRECT = 6;

/** Opcode names, for traces. */
export const BLKIF_OP_NAMES: Readonly<Record<number, string>> = {
  [BLKIF_OP_READ]: "READ",
  [BLKIF_OP_WRITE]: "WRITE",
  [BLKIF_OP_WRITE_BARRIER]: "WRITE_BARRIER",
  [BLKIF_OP_FLUSH_DISKCACHE]: "FLUSH_DISKCACHE",
  [BLKIF_OP_RESERVED_1]: "RESERVED_1",
  [BLKIF_OP_DISCARD]: "DISCARD",
  [BLKIF_OP_INDIRECT]: "INDIRECT",
};

// Response status.
/** Done. */
export const BLKIF_RSP_OKAY = 0;
/** Failed (a bad request, a refused grant, an I/O error). */
export const BLKIF_RSP_ERROR = -1;
/** The operation is not supported. */
export const BLKIF_RSP_EOPNOTSUPP = -2;

/** Status names, for traces. */
export const BLKIF_RSP_NAMES: Readonly<Record<number, string>> = {
  [BLKIF_RSP_OKAY]: "OKAY",
  [BLKIF_RSP_ERROR]: "ERROR",
  [BLKIF_RSP_EOPNOTSUPP]: "EOPNOTSUPP",
};

// Limits and units.
/** Segments in a direct request. */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
/** Indirect pages one indirect request may name. */
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
/** Request sector numbers and segment sectors are 512-byte units, whatever `sector-size` says. */
export const BLKIF_SECTOR_BYTES = 512;
/** 512-byte sectors in a page (`last_sect` is at most 7). */
export const BLKIF_SECTORS_PER_PAGE = XEN_PAGE_SIZE / BLKIF_SECTOR_BYTES;

// `info` bits.
/** The disk is a CD-ROM. */
export const VDISK_CDROM = 1;
/** The medium is removable. */
export const VDISK_REMOVABLE = 2;
/** The disk is read-only. */
export const VDISK_READONLY = 4;

/** `protocol` of the native arm64 ABI (`XEN_IO_PROTO_ABI_NATIVE` on Arm). */
export const XEN_IO_PROTO_ABI_NATIVE = "arm-abi";

/** The shared ring page's header (`DEFINE_RING_TYPES`); the slots start at {@linkcode SRING_RING_OFFSET}. */
export const BLKIF_SRING = defineLayout("blkif_sring", 64, {
  req_prod: [0, 4],
  req_event: [4, 4],
  rsp_prod: [8, 4],
  rsp_event: [12, 4],
});
/** Where `ring[]` starts in the shared page. */
export const SRING_RING_OFFSET = BLKIF_SRING.bytes;

/** `struct blkif_request` (read, write, flush, barrier): 112 bytes, the size of a ring slot. */
export const BLKIF_REQUEST = defineLayout("blkif_request", 112, {
  operation: [0, 1],
  nr_segments: [1, 1],
  handle: [2, 2],
  id: [8, 8],
  sector_number: [16, 8],
});
/** Offset of `seg[11]` in {@linkcode BLKIF_REQUEST}. */
export const BLKIF_REQUEST_SEG_OFFSET = 24;

/** `struct blkif_request_segment` (8 bytes). */
export const BLKIF_REQUEST_SEGMENT = defineLayout("blkif_request_segment", 8, {
  gref: [0, 4],
  first_sect: [4, 1],
  last_sect: [5, 1],
});

/** `struct blkif_request_indirect` (64 bytes, in a 112-byte slot). */
export const BLKIF_REQUEST_INDIRECT = defineLayout("blkif_request_indirect", 64, {
  operation: [0, 1],
  indirect_op: [1, 1],
  nr_segments: [2, 2],
  id: [8, 8],
  sector_number: [16, 8],
  handle: [24, 2],
});
/** Offset of `indirect_grefs[8]` in {@linkcode BLKIF_REQUEST_INDIRECT}. */
export const BLKIF_INDIRECT_GREFS_OFFSET = 28;
/** Bytes of one `indirect_grefs` entry. */
export const BLKIF_GREF_BYTES = 4;

/** `struct blkif_response` (16 bytes; bytes 9 and 12..15 are padding). */
export const BLKIF_RESPONSE = defineLayout("blkif_response", 16, {
  id: [0, 8],
  operation: [8, 1],
  status: [10, 2],
});

/** Bytes of a ring slot (the request union). */
export const BLKIF_SLOT_BYTES = BLKIF_REQUEST.bytes;
/** `blkif_request_segment` entries in one indirect page (4096 / 8). */
export const BLKIF_SEGS_PER_INDIRECT_FRAME = XEN_PAGE_SIZE / BLKIF_REQUEST_SEGMENT.bytes;
/** The protocol's ceiling on segments in an indirect request (8 pages of 512). */
export const BLKIF_MAX_INDIRECT_SEGMENTS = BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST *
  BLKIF_SEGS_PER_INDIRECT_FRAME;

/** One segment: a granted page and the inclusive range of 512-byte sectors in it. */
export interface BlkifSegment {
  /** The grant reference of the data page. */
  readonly gref: number;
  /** First sector in the page (0..7 when valid). */
  readonly firstSect: number;
  /** Last sector in the page, inclusive (0..7 when valid). */
  readonly lastSect: number;
}

/** A request as copied out of its slot; the fields are raw (not validated). */
export type BlkifRequest =
  | {
    /** Read, write, flush, barrier, or an opcode this backend does not know. */
    readonly kind: "direct";
    /** `operation`. */
    readonly operation: number;
    /** `nr_segments`. */
    readonly nrSegments: number;
    /** `id`, echoed in the response. */
    readonly id: bigint;
    /** `sector_number` (512-byte units). */
    readonly sectorNumber: bigint;
    /** The first `min(nr_segments, 11)` segments. */
    readonly segments: readonly BlkifSegment[];
  }
  | {
    /** `BLKIF_OP_INDIRECT`. */
    readonly kind: "indirect";
    /** Always {@linkcode BLKIF_OP_INDIRECT}. */
    readonly operation: number;
    /** `indirect_op` (READ or WRITE when valid). */
    readonly indirectOp: number;
    /** `nr_segments` (u16). */
    readonly nrSegments: number;
    /** `id`. */
    readonly id: bigint;
    /** `sector_number` (512-byte units). */
    readonly sectorNumber: bigint;
    /** The grant references of the indirect pages the segment count needs (at most 8). */
    readonly indirectGrefs: readonly number[];
  };

/**
 * Ring slots in `bytes` of shared ring: `(bytes - 64) / 112` rounded down to a power of two.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blkifRingSize } from "./blkif.ts";
 *
 * assert.deepEqual([4096, 8192, 65536].map(blkifRingSize), [32, 64, 512]);
 * ```
 */
export function blkifRingSize(bytes: number): number {
  const slots = Math.floor((bytes - SRING_RING_OFFSET) / BLKIF_SLOT_BYTES);
  if (slots < 1) return 0;
  return 2 ** Math.floor(Math.log2(slots));
}

/**
 * `count` segments from `bytes` (a copy of the slot's `seg[]` or of an indirect page).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBlkifSegments } from "./blkif.ts";
 *
 * const page = new Uint8Array(16);
 * page.set([9, 0, 0, 0, 1, 6], 8);
 * assert.deepEqual(decodeBlkifSegments(page, 2)[1], { gref: 9, firstSect: 1, lastSect: 6 });
 * ```
 */
export function decodeBlkifSegments(bytes: Uint8Array, count: number): BlkifSegment[] {
  const size = BLKIF_REQUEST_SEGMENT.bytes;
  const n = Math.min(count, Math.floor(bytes.length / size));
  const out: BlkifSegment[] = [];
  for (let i = 0; i < n; i++) {
    const seg = new StructBuffer(BLKIF_REQUEST_SEGMENT, bytes.subarray(i * size, (i + 1) * size));
    out.push({ gref: seg.u("gref"), firstSect: seg.u("first_sect"), lastSect: seg.u("last_sect") });
  }
  return out;
}

/**
 * The request in `slot` (a private 112-byte copy of a ring slot), decoded by its `operation` byte.
 * Nothing is validated here; for an indirect request only the grefs that `nr_segments` needs (and at most
 * eight) are taken.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BLKIF_OP_INDIRECT, BLKIF_OP_WRITE, decodeBlkifRequest } from "./blkif.ts";
 *
 * const slot = new Uint8Array(112);
 * slot.set([BLKIF_OP_INDIRECT, BLKIF_OP_WRITE, 0x00, 0x02]); // 512 segments: one indirect page
 * slot[28] = 42; // indirect_grefs[0]
 * const request = decodeBlkifRequest(slot);
 * assert.ok(request.kind === "indirect" && request.nrSegments === 512);
 * assert.deepEqual(request.indirectGrefs, [42]);
 * ```
 */
export function decodeBlkifRequest(slot: Uint8Array): BlkifRequest {
  if (slot.length !== BLKIF_SLOT_BYTES) {
    throw new RangeError(`Cannot decode a blkif request: ${slot.length} bytes, not ${BLKIF_SLOT_BYTES}`);
  }
  const operation = slot[0] ?? 0;
  if (operation === BLKIF_OP_INDIRECT) {
    const req = new StructBuffer(BLKIF_REQUEST_INDIRECT, slot.subarray(0, BLKIF_REQUEST_INDIRECT.bytes));
    const nrSegments = req.u("nr_segments");
    const pages = Math.min(
      Math.ceil(nrSegments / BLKIF_SEGS_PER_INDIRECT_FRAME),
      BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
    );
    const view = new DataView(slot.buffer, slot.byteOffset, slot.byteLength);
    const indirectGrefs: number[] = [];
    for (let i = 0; i < pages; i++) {
      indirectGrefs.push(view.getUint32(BLKIF_INDIRECT_GREFS_OFFSET + i * BLKIF_GREF_BYTES, true));
    }
    return {
      kind: "indirect",
      operation,
      indirectOp: req.u("indirect_op"),
      nrSegments,
      id: req.u64("id"),
      sectorNumber: req.u64("sector_number"),
      indirectGrefs,
    };
  }
  const req = new StructBuffer(BLKIF_REQUEST, slot);
  const nrSegments = req.u("nr_segments");
  return {
    kind: "direct",
    operation,
    nrSegments,
    id: req.u64("id"),
    sectorNumber: req.u64("sector_number"),
    segments: decodeBlkifSegments(
      slot.subarray(BLKIF_REQUEST_SEG_OFFSET),
      Math.min(nrSegments, BLKIF_MAX_SEGMENTS_PER_REQUEST),
    ),
  };
}

/**
 * A response: 16 zeroed bytes with `id`, `operation` and `status` filled in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BLKIF_OP_WRITE, BLKIF_RSP_EOPNOTSUPP, encodeBlkifResponse } from "./blkif.ts";
 *
 * const bytes = encodeBlkifResponse(0x0102n, BLKIF_OP_WRITE, BLKIF_RSP_EOPNOTSUPP);
 * assert.deepEqual([...bytes], [2, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0xfe, 0xff, 0, 0, 0, 0]);
 * ```
 */
export function encodeBlkifResponse(id: bigint, operation: number, status: number): Uint8Array {
  const rsp = new StructBuffer(BLKIF_RESPONSE);
  rsp.set64("id", id);
  rsp.set("operation", operation);
  rsp.set("status", status);
  return rsp.bytes;
}
