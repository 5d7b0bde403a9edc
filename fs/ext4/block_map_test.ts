/**
 * The ext2 block map on the ext4-edge fixture's revision-0 filesystem (1 KiB blocks): direct,
 * double and triple indirect blocks read back the bytes the recipe wrote, holes read as zeros,
 * bad pointers are corrupt data.
 */

import assert from "node:assert/strict";
import { pseudoRandomBytes } from "../../scripts/fixtures/payloads.ts";
import { EDGE_TRI_DATA_AT } from "../../scripts/fixtures/ext4_edge_disk.ts";
import { FsCorruptError, FsError } from "../fs_driver.ts";
import {
  collectingSink,
  inodeOffset,
  memoryPartition,
  mountFixture,
  partitionBytes,
  partitionFile,
  taggedBlocks,
  TextRecorder,
} from "./_test_images.ts";
import { blockMapRuns, IND_BLOCK, TIND_BLOCK } from "./block_map.ts";
import { mountExt4 } from "./driver.ts";
import { Ext4Fs } from "./filesystem.ts";
import { I_BLOCK } from "./inode.ts";
import { findPath } from "./path_lookup.ts";

const KIB = 1024;

async function _read(path: string, offset: number, length: number, bytes?: Uint8Array) {
  const volume = bytes === undefined
    ? await mountFixture("ext4-edge", 2)
    : (await mountExt4(memoryPartition(bytes)))!;
  const collected = collectingSink();
  const n = await volume.read(path, BigInt(offset), BigInt(length), collected.sink);
  return { n, bytes: collected.bytes() };
}

Deno.test("ext2 block map: data under the triple indirect block reads back; the gap is zeros", async () => {
  const high = await _read("tri.bin", EDGE_TRI_DATA_AT, 4 * KIB);
  assert.deepEqual(high.bytes, pseudoRandomBytes("tri-high", 4 * KIB));
  const low = await _read("tri.bin", 0, 100);
  assert.deepEqual(low.bytes, pseudoRandomBytes("tri-low", 100));
  const volume = await mountFixture("ext4-edge", 2);
  let zeros = 0;
  const gapLength = EDGE_TRI_DATA_AT - 100;
  const n = await volume.read("tri.bin", 100n, BigInt(gapLength), (chunk) => {
    let nonzero = 0;
    for (let i = 0; i < chunk.length; i++) nonzero |= chunk[i]!;
    if (nonzero === 0) zeros += chunk.length;
  });
  assert.equal(n, BigInt(gapLength));
  assert.equal(zeros, gapLength);
  const across = await _read("tri.bin", EDGE_TRI_DATA_AT - 10, 20);
  assert.deepEqual(across.bytes.subarray(10), pseudoRandomBytes("tri-high", 10));
});

Deno.test("ext2 block map: data under the double indirect block reads back", async () => {
  const { n, bytes } = await _read("dbl.bin", 0, 0);
  assert.equal(n, 400n * BigInt(KIB));
  assert.deepEqual(bytes, pseudoRandomBytes("dbl", 400 * KIB));
});

Deno.test("ext2 block map: a zero triple indirect pointer is a hole; one past the partition is corrupt", async () => {
  const image = await partitionFile("ext4-edge", 2);
  const tind = (await inodeOffset(image, "/tri.bin", KIB)) + I_BLOCK + 4 * TIND_BLOCK;
  const zeroed = (await partitionBytes("ext4-edge", 2)).slice();
  new DataView(zeroed.buffer).setUint32(tind, 0, true);
  const hole = await _read("tri.bin", EDGE_TRI_DATA_AT, 4 * KIB, zeroed);
  assert.equal(hole.n, 4n * BigInt(KIB));
  assert.ok(hole.bytes.every((b) => b === 0));

  const far = (await partitionBytes("ext4-edge", 2)).slice();
  new DataView(far.buffer).setUint32(tind, 0x7fffffff, true);
  const result = await _read("tri.bin", EDGE_TRI_DATA_AT, 4 * KIB, far);
  assert.ok(result.n instanceof FsError && result.n.kind === "corrupt");
});

Deno.test("ext2 block map: a data block number past the partition is corrupt", async () => {
  const image = await partitionFile("ext4-edge", 2);
  const [ind] = await taggedBlocks(image, "/dbl.bin", "IND");
  assert.ok(ind !== undefined);
  const bytes = (await partitionBytes("ext4-edge", 2)).slice();
  new DataView(bytes.buffer).setUint32(ind * KIB + 8, 0xfffffff0, true);
  const result = await _read("dbl.bin", 0, 0, bytes);
  assert.ok(result.n instanceof FsError && result.n.kind === "corrupt");
  assert.equal(
    (await _read("dbl.bin", 0, 12 * KIB, bytes)).n,
    12n * BigInt(KIB),
    "the direct blocks still read",
  );
  assert.equal(IND_BLOCK, 12);
});

Deno.test("ext2 block map: a block past what the triple indirect block reaches is corrupt", async () => {
  const fs = (await Ext4Fs.mount(memoryPartition((await partitionBytes("ext4-edge", 2)).slice())))!;
  const found = (await findPath(fs, "/tri.bin", new TextRecorder()))!;
  const perBlock = KIB / 4;
  const limit = 12 + perBlock + perBlock ** 2 + perBlock ** 3;
  await assert.rejects(() => blockMapRuns(fs, found.inode, limit - 1, limit + 1), FsCorruptError);
  const runs = await blockMapRuns(fs, found.inode, limit - 2, limit);
  assert.deepEqual(runs, [{ logical: limit - 2, count: 2, physical: null }]);
});
