import assert from "node:assert/strict";
import {
  BLKIF_OP_INDIRECT,
  BLKIF_OP_WRITE,
  blkifRingSize,
  blkifSlotOffset,
  decodeBlkifResponse,
  encodeBlkifIndirectRequest,
  encodeBlkifRequest,
  encodeBlkifResponse,
  encodeIndirectPage,
} from "./blkif.ts";

Deno.test("ring sizes are rounded down to a power of two as xen-spec §5.1 lists them", () => {
  assert.deepEqual([4096, 8192, 16384, 32768, 65536].map(blkifRingSize), [32, 64, 128, 256, 512]);
  assert.equal(blkifSlotOffset(33, 32), 64 + 112);
});

Deno.test("a direct request puts its fields at the arm64 offsets", () => {
  const slot = encodeBlkifRequest({
    operation: BLKIF_OP_WRITE,
    handle: 51728,
    id: 7,
    sectorNumber: 0x1_0000_0001,
    segments: [{ gref: 0x1ff, firstSect: 1, lastSect: 6 }, { gref: 9, firstSect: 0, lastSect: 7 }],
  });
  const v = new DataView(slot.buffer);
  assert.equal(slot.length, 112);
  assert.deepEqual([v.getUint8(0), v.getUint8(1), v.getUint16(2, true)], [1, 2, 51728]);
  assert.equal(v.getUint32(4, true), 0);
  assert.equal(v.getBigUint64(8, true), 7n);
  assert.equal(v.getBigUint64(16, true), 0x1_0000_0001n);
  assert.deepEqual([v.getUint32(24, true), slot[28], slot[29], slot[30], slot[31]], [0x1ff, 1, 6, 0, 0]);
  assert.deepEqual([v.getUint32(32, true), slot[36], slot[37]], [9, 0, 7]);
  assert.ok(slot.subarray(40).every((b) => b === 0));
});

Deno.test("an indirect request and its page follow blkif_request_indirect", () => {
  const slot = encodeBlkifIndirectRequest({
    indirectOp: BLKIF_OP_WRITE,
    handle: 51712,
    id: 3,
    sectorNumber: 2048,
    nrSegments: 513,
    indirectGrefs: [100, 101],
  });
  const v = new DataView(slot.buffer);
  assert.deepEqual([slot[0], slot[1], v.getUint16(2, true)], [BLKIF_OP_INDIRECT, BLKIF_OP_WRITE, 513]);
  assert.deepEqual([v.getBigUint64(8, true), v.getBigUint64(16, true)], [3n, 2048n]);
  assert.deepEqual([v.getUint16(24, true), v.getUint32(28, true), v.getUint32(32, true)], [51712, 100, 101]);
  const page = encodeIndirectPage([{ gref: 5, firstSect: 2, lastSect: 3 }]);
  assert.deepEqual([page.length, page[0], page[4], page[5]], [4096, 5, 2, 3]);
  assert.throws(() =>
    encodeBlkifIndirectRequest({
      indirectOp: 0,
      handle: 0,
      id: 0,
      sectorNumber: 0,
      nrSegments: 513,
      indirectGrefs: [1],
    })
  );
});

Deno.test("segments outside one page and too many segments are refused", () => {
  const base = { operation: 0, handle: 0, id: 0, sectorNumber: 0 };
  assert.throws(
    () => encodeBlkifRequest({ ...base, segments: [{ gref: 1, firstSect: 3, lastSect: 2 }] }),
    RangeError,
  );
  assert.throws(
    () => encodeBlkifRequest({ ...base, segments: [{ gref: 1, firstSect: 0, lastSect: 8 }] }),
    RangeError,
  );
  const twelve = Array.from({ length: 12 }, () => ({ gref: 1, firstSect: 0, lastSect: 7 }));
  assert.throws(() => encodeBlkifRequest({ ...base, segments: twelve }), RangeError);
});

Deno.test("a response's status is signed and its id a full 64-bit value", () => {
  const bytes = encodeBlkifResponse({ id: 0xffff_ffff_ffff_fffen, operation: 1, status: -2 });
  assert.deepEqual([bytes[9], bytes[12], bytes[15]], [0, 0, 0]);
  const rsp = decodeBlkifResponse(bytes);
  assert.deepEqual(rsp, { id: 0xffff_ffff_ffff_fffen, operation: 1, status: -2 });
  assert.equal(new DataView(bytes.buffer).getUint16(10, true), 0xfffe);
});
