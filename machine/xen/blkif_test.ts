import assert from "node:assert/strict";
import {
  BLKIF_MAX_INDIRECT_SEGMENTS,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_REQUEST,
  BLKIF_REQUEST_INDIRECT,
  BLKIF_REQUEST_SEG_OFFSET,
  BLKIF_REQUEST_SEGMENT,
  BLKIF_RESPONSE,
  BLKIF_SRING,
  blkifRingSize,
  decodeBlkifRequest,
  encodeBlkifResponse,
  SRING_RING_OFFSET,
} from "./blkif.ts";

Deno.test("the layouts match xen-spec §5.1 and §6.1", () => {
  assert.deepEqual(BLKIF_SRING.fields, {
    req_prod: [0, 4],
    req_event: [4, 4],
    rsp_prod: [8, 4],
    rsp_event: [12, 4],
  });
  assert.equal(SRING_RING_OFFSET, 64);
  assert.equal(BLKIF_REQUEST.bytes, 112);
  assert.deepEqual(BLKIF_REQUEST.fields, {
    operation: [0, 1],
    nr_segments: [1, 1],
    handle: [2, 2],
    id: [8, 8],
    sector_number: [16, 8],
  });
  assert.equal(BLKIF_REQUEST_SEG_OFFSET + 11 * BLKIF_REQUEST_SEGMENT.bytes, 112);
  assert.deepEqual(BLKIF_REQUEST_SEGMENT.fields, { gref: [0, 4], first_sect: [4, 1], last_sect: [5, 1] });
  assert.deepEqual(BLKIF_REQUEST_INDIRECT.fields.nr_segments, [2, 2]);
  assert.deepEqual(BLKIF_REQUEST_INDIRECT.fields.handle, [24, 2]);
  assert.deepEqual(BLKIF_RESPONSE.fields, { id: [0, 8], operation: [8, 1], status: [10, 2] });
  assert.equal(BLKIF_MAX_INDIRECT_SEGMENTS, 4096);
});

Deno.test("ring sizes round down to a power of two as in the spec's table", () => {
  assert.deepEqual([4096, 8192, 16384, 32768, 65536].map(blkifRingSize), [32, 64, 128, 256, 512]);
  assert.equal(blkifRingSize(64), 0);
});

Deno.test("a direct request decodes at most 11 segments whatever nr_segments says", () => {
  const slot = new Uint8Array(112).fill(0xff);
  slot[0] = BLKIF_OP_FLUSH_DISKCACHE;
  slot[1] = 200;
  const request = decodeBlkifRequest(slot);
  assert.ok(request.kind === "direct");
  assert.equal(request.nrSegments, 200);
  assert.equal(request.segments.length, 11);
  assert.equal(request.id, 0xffff_ffff_ffff_ffffn);
  assert.deepEqual(request.segments[10], { gref: 0xffff_ffff, firstSect: 0xff, lastSect: 0xff });
});

Deno.test("an indirect request takes only the indirect grefs its segment count needs, at most 8", () => {
  const slot = new Uint8Array(112);
  const view = new DataView(slot.buffer);
  slot[0] = BLKIF_OP_INDIRECT;
  for (let i = 0; i < 8; i++) view.setUint32(28 + 4 * i, 100 + i, true);
  view.setUint16(2, 513, true);
  const two = decodeBlkifRequest(slot);
  assert.ok(two.kind === "indirect" && two.indirectGrefs.length === 2);
  view.setUint16(2, 0xffff, true);
  const capped = decodeBlkifRequest(slot);
  assert.ok(capped.kind === "indirect");
  assert.deepEqual(capped.indirectGrefs, [100, 101, 102, 103, 104, 105, 106, 107]);
});

Deno.test("a response is 16 bytes with zero padding and a signed status", () => {
  const bytes = encodeBlkifResponse(0x1122_3344_5566_7788n, 6, -1);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes.length, 16);
  assert.equal(view.getBigUint64(0, true), 0x1122_3344_5566_7788n);
  assert.equal(view.getUint8(8), 6);
  assert.equal(view.getInt16(10, true), -1);
  assert.deepEqual([bytes[9], ...bytes.subarray(12)], [0, 0, 0, 0, 0]);
});
