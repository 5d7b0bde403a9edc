/**
 * Fuzzing: random damage to the metadata of real filesystems (superblock, group descriptors, inode
 * table, directory blocks, an extent leaf) must never make the reader throw or hang: every
 * operation ends with a value (a listing status, a size, bytes read, or an {@linkcode FsError}).
 * The damage is seeded, so a failure names a reproducible iteration.
 */

import assert from "node:assert/strict";
import { FsError } from "../fs_driver.ts";
import {
  firstDataBlock,
  memoryPartition,
  partitionBytes,
  partitionFile,
  taggedBlocks,
  TextRecorder,
} from "./_test_images.ts";
import { mountExt4 } from "./driver.ts";
import { SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE } from "./superblock.ts";
import { debugfs } from "./_test_images.ts";
import { seededRandom as _random } from "../../tests/seeded_random.ts";

const ITERATIONS = 150;
/** Bytes read per file at most (a damaged size may claim 4 GiB of holes). */
const READ_LIMIT = 64 * 1024;
const PATHS = [
  "hello.txt",
  "link-to-hello",
  "sparse.bin",
  "blob-4097.bin",
  "dir1/dir2/dir3/deep.txt",
  "abs-link-deep",
  "big1k.bin",
];
const DIRS = ["/", "dir1", "link-to-dir3", "lost+found"];

/** Byte ranges worth damaging: [start, end). */
async function _regions(fixture: string, part: number): Promise<[number, number][]> {
  const image = await partitionFile(fixture, part);
  const stats = await debugfs(image, "stats");
  const blockSize = Number(/Block size:\s+(\d+)/.exec(stats)?.[1]);
  const firstData = Number(/First block:\s+(\d+)/.exec(stats)?.[1]);
  const table = Number(/Inode table at (\d+)/.exec(stats)?.[1]);
  const regions: [number, number][] = [
    [SUPERBLOCK_OFFSET, SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE],
    [(firstData + 1) * blockSize, (firstData + 1) * blockSize + 256],
    [table * blockSize, table * blockSize + 16 * 1024],
  ];
  const root = await firstDataBlock(image, "/");
  regions.push([root * blockSize, (root + 1) * blockSize]);
  for (const leaf of await taggedBlocks(image, "/sparse.bin", "ETB0").catch(() => [])) {
    regions.push([leaf * blockSize, leaf * blockSize + 512]);
  }
  return regions;
}

async function _exercise(bytes: Uint8Array): Promise<void> {
  const out = new TextRecorder();
  const volume = await mountExt4(memoryPartition(bytes, out));
  if (volume === undefined) return;
  for (const dir of DIRS) {
    const rc = await volume.ls(dir, out);
    assert.ok(rc === 0 || rc === 1);
  }
  for (const path of PATHS) {
    assert.equal(typeof await volume.exists(path), "boolean");
    const size = await volume.size(path);
    assert.ok(typeof size === "bigint" || size instanceof FsError);
    let received = 0;
    const n = await volume.read(path, 0n, BigInt(READ_LIMIT), (chunk) => received += chunk.length);
    if (!(n instanceof FsError)) assert.equal(BigInt(received), n);
  }
  volume.close();
}

for (const [fixture, part, seed] of [["gpt", 2, 1], ["mbr", 2, 2], ["ext4-edge", 3, 3]] as const) {
  Deno.test(`ext4 fuzz: damaged metadata of ${fixture} p${part} never throws`, async () => {
    const bytes = (await partitionBytes(fixture, part)).slice();
    const regions = await _regions(fixture, part);
    const random = _random(seed);
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const saved: [number, number][] = [];
      const mutations = 1 + Math.floor(random() * 8);
      for (let m = 0; m < mutations; m++) {
        const [start, end] = regions[Math.floor(random() * regions.length)]!;
        const at = start + Math.floor(random() * (end - start));
        const kind = random();
        const value = kind < 0.2 ? 0 : kind < 0.4 ? 0xff : Math.floor(random() * 256);
        saved.push([at, bytes[at]!]);
        bytes[at] = value;
      }
      try {
        await _exercise(bytes);
      } catch (e) {
        throw new Error(`iteration ${iteration} (seed ${seed}) threw: ${e instanceof Error ? e.stack : e}`);
      }
      for (const [at, old] of saved.reverse()) bytes[at] = old;
    }
  });
}
