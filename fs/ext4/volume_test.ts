/**
 * The ext4 volume's read, size, exists, ls and uuid semantics (U-Boot's `ext4fs_open`,
 * `ext4_read_file`, `ext4fs_ls`, `ext4fs_uuid`), and one device call per run of blocks.
 */

import assert from "node:assert/strict";
import type { BlockDevice } from "../../drivers/blk/block_device.ts";
import { MemoryBlockDevice } from "../../drivers/blk/memory_block_device.ts";
import { pseudoRandomBytes } from "../../scripts/fixtures/payloads.ts";
import { EDGE_HUGE_SIZE, EDGE_PREALLOC_SIZE } from "../../scripts/fixtures/ext4_edge_disk.ts";
import { FsError } from "../fs_driver.ts";
import {
  collectingSink,
  debugfs,
  memoryPartition,
  mountFixture,
  partitionBytes,
  partitionFile,
  TextRecorder,
} from "./_test_images.ts";
import { mountExt4 } from "./driver.ts";
import { readFileData } from "./file_data.ts";
import { Ext4Fs } from "./filesystem.ts";
import { findPath } from "./path_lookup.ts";
import type { Ext4Volume } from "./volume.ts";

async function _read(volume: Ext4Volume, path: string, offset = 0n, length = 0n) {
  const collected = collectingSink();
  const n = await volume.read(path, offset, length, collected.sink);
  return { n, bytes: collected.bytes() };
}

/** One run of data blocks from `debugfs stat`: logical start, physical start, length. */
interface _Extent {
  readonly logical: number;
  readonly physical: number;
  readonly length: number;
}

/** The data blocks of `path` as `debugfs stat` lists them (`(0-11):21-32`, `(12):40`; tree blocks left out). */
async function _extents(image: string, path: string): Promise<_Extent[]> {
  const text = await debugfs(image, `stat "${path}"`);
  const extents: _Extent[] = [];
  for (const m of text.matchAll(/\((\d+)(?:-(\d+))?(?:\[u\])?\):(\d+)(?:-(\d+))?/g)) {
    const logical = Number(m[1]);
    extents.push({ logical, physical: Number(m[3]), length: Number(m[2] ?? m[1]) - logical + 1 });
  }
  return extents;
}

Deno.test("ext4 read: an empty file and an offset at or past the end read nothing (kind eof)", async () => {
  const volume = await mountFixture("gpt", 2);
  for (
    const [path, offset] of [["empty.txt", 0n], ["blob-1M.bin", 0x100000n], [
      "blob-1M.bin",
      0x200000n,
    ]] as const
  ) {
    const { n } = await _read(volume, path, offset, 0x100n);
    assert.ok(n instanceof FsError && n.kind === "eof", `${path} at ${offset}`);
  }
});

Deno.test("ext4 read: a range is cut at the end of the file; length 0 reads to the end", async () => {
  const volume = await mountFixture("gpt", 2);
  const whole = await _read(volume, "blob-1M.bin");
  assert.equal(whole.n, 0x100000n);
  const tail = await _read(volume, "blob-1M.bin", 0xfff00n, 0x1000n);
  assert.equal(tail.n, 0x100n);
  assert.deepEqual(tail.bytes, whole.bytes.subarray(0xfff00));
  const rest = await _read(volume, "blob-1M.bin", 0x10n, 0n);
  assert.deepEqual(rest.bytes, whole.bytes.subarray(0x10));
  const middle = await _read(volume, "blob-4097.bin", 4095n, 2n);
  assert.equal(middle.n, 2n);
});

Deno.test("ext4 read: ranges across holes and data of a sparse file match the whole read", async () => {
  const volume = await mountFixture("gpt", 2);
  const whole = (await _read(volume, "sparse.bin")).bytes;
  const ranges: [number, number][] = [[0x0ff0, 0x20], [0x1000, 0x10], [0x3ffff, 0x2], [0x7f001, 0x9000]];
  for (const [offset, length] of ranges) {
    const part = await _read(volume, "sparse.bin", BigInt(offset), BigInt(length));
    assert.deepEqual(part.bytes, whole.subarray(offset, offset + length), `${offset}+${length}`);
  }
});

Deno.test("ext4 read: unwritten extents read as zeros though stale data lies under them", async () => {
  const image = await partitionFile("ext4-edge", 1);
  const [extent] = await _extents(image, "/prealloc.bin");
  assert.ok(extent !== undefined);
  const raw = await partitionBytes("ext4-edge", 1);
  const stale = raw.subarray(extent.physical * 4096, (extent.physical + extent.length) * 4096);
  assert.ok(stale.some((b) => b !== 0), "the blocks hold a deleted file's bytes");
  const volume = await mountFixture("ext4-edge", 1);
  const { n, bytes } = await _read(volume, "prealloc.bin");
  assert.equal(n, BigInt(EDGE_PREALLOC_SIZE));
  assert.ok(bytes.every((b) => b === 0));
});

Deno.test("ext4 size: a file of 4 GiB or more has its size modulo 2^32, as i_size_lo", async () => {
  const volume = await mountFixture("ext4-edge", 1);
  const low = BigInt(EDGE_HUGE_SIZE) % (1n << 32n);
  assert.equal(await volume.size("huge.bin"), low);
  const { n, bytes } = await _read(volume, "huge.bin");
  assert.equal(n, low);
  assert.deepEqual(bytes, pseudoRandomBytes("huge-low", Number(low)));
  const out = new TextRecorder();
  await volume.ls("/", out);
  assert.match(out.text, new RegExp(`\\n {6}${String(low).padStart(10)} huge\\.bin\\n`));
});

/** Runs of blocks contiguous both in the file and on disk. */
function _runs(extents: readonly _Extent[]): number {
  let runs = 0;
  let logicalEnd = -1;
  let physicalEnd = -1;
  for (const e of extents) {
    if (e.logical !== logicalEnd || e.physical !== physicalEnd) runs++;
    logicalEnd = e.logical + e.length;
    physicalEnd = e.physical + e.length;
  }
  return runs;
}

Deno.test("ext4 read: one device call per run of contiguous blocks (extents and block maps)", async () => {
  const cases = [
    ["gpt", 2, "/blob-1M.bin"],
    ["gpt", 2, "/sparse.bin"],
    ["ext4-edge", 1, "/frag.bin"],
    ["ext4-edge", 3, "/frag1k.bin"],
    ["ext4-edge", 2, "/dbl.bin"],
    ["mbr", 2, "/blob-4097.bin"],
  ] as const;
  for (const [fixture, part, path] of cases) {
    const runs = _runs(await _extents(await partitionFile(fixture, part), path));
    assert.ok(runs > 0);
    let calls = 0;
    const memory = MemoryBlockDevice.fromBytes((await partitionBytes(fixture, part)).slice());
    const counting: BlockDevice = Object.assign(Object.create(memory), {
      read(lba: number, count: number, into: Uint8Array) {
        calls++;
        return memory.read(lba, count, into);
      },
    });
    const fs = (await Ext4Fs.mount(memoryPartition(memory.bytes, undefined, counting)))!;
    const found = (await findPath(fs, path, new TextRecorder()))!;
    const size = Number(found.inode.sizeLo);
    await readFileData(fs, found.inode, 0, size, () => {}); // reads (and caches) the tree's blocks
    calls = 0;
    await readFileData(fs, found.inode, 0, size, () => {});
    assert.equal(calls, runs, `${fixture} p${part} ${path}`);
  }
});

Deno.test("ext4: the messages of a missing file and a missing directory", async () => {
  const out = new TextRecorder();
  const volume = await mountFixture("gpt", 2, out);
  const { n } = await _read(volume, "nothere.txt");
  assert.ok(n instanceof FsError && n.kind === "not-found");
  assert.equal(out.take(), "** File not found nothere.txt **\n");
  assert.ok(await volume.size("nothere.txt") instanceof FsError);
  assert.equal(out.take(), "");
  const ls = new TextRecorder();
  assert.equal(await volume.ls("nothere", ls), 1);
  assert.equal(await volume.ls("hello.txt", ls), 1);
  assert.equal(ls.take(), "** Can not find directory. **\n".repeat(2));
});

Deno.test("ext4: uuid and label are the superblock's", async () => {
  for (const [fixture, part] of [["gpt", 2], ["mbr", 2]] as const) {
    const stats = await debugfs(await partitionFile(fixture, part), "stats");
    const volume = await mountFixture(fixture, part);
    assert.equal(await volume.uuid(), /Filesystem UUID:\s+(\S+)/.exec(stats)?.[1]);
    assert.equal(volume.label, /Filesystem volume name:\s+(\S+)/.exec(stats)?.[1]);
  }
});

Deno.test("ext4: 1 KiB filesystem blocks on a device of 4 KiB sectors read as on 512-byte sectors", async () => {
  const bytes = (await partitionBytes("mbr", 2)).slice();
  const small = await mountFixture("mbr", 2);
  const large = (await mountExt4(
    memoryPartition(bytes, undefined, MemoryBlockDevice.fromBytes(bytes, { blksz: 4096 })),
  ))!;
  assert.ok(large !== undefined);
  const [a, b] = [new TextRecorder(), new TextRecorder()];
  assert.equal(await large.ls("/", a), 0);
  await small.ls("/", b);
  assert.equal(a.text, b.text);
  for (const path of ["hello.txt", "blob-4097.bin", "link-to-hello", "dir1/file-in-dir1.txt"]) {
    assert.deepEqual((await _read(large, path)).bytes, (await _read(small, path)).bytes, path);
  }
});
