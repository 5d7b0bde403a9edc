/**
 * Directory records that are damaged on purpose (in a copy of the gpt fixture's root directory):
 * rec_len 0 stops the scan with U-Boot's message, other bad records are corrupt data, deleted
 * records (inode 0) are skipped, and a record's file type decides how it lists and resolves.
 */

import assert from "node:assert/strict";
import { FsError } from "../fs_driver.ts";
import {
  firstDataBlock,
  memoryPartition,
  partitionBytes,
  partitionFile,
  TextRecorder,
} from "./_test_images.ts";
import {
  DIRENT_FILE_TYPE,
  DIRENT_HEADER_BYTES,
  DIRENT_INODE,
  DIRENT_NAME_LEN,
  DIRENT_REC_LEN,
} from "./directory.ts";
import { mountExt4 } from "./driver.ts";
import type { Ext4Volume } from "./volume.ts";

const BLOCK = 4096;

/** Byte offsets of the root directory's records (first block), by name. */
async function _rootRecords(bytes: Uint8Array): Promise<Map<string, number>> {
  const start = (await firstDataBlock(await partitionFile("gpt", 2), "/")) * BLOCK;
  const view = new DataView(bytes.buffer);
  const records = new Map<string, number>();
  for (let at = start; at < start + BLOCK;) {
    const nameLen = view.getUint8(at + DIRENT_NAME_LEN);
    const name = new TextDecoder().decode(
      bytes.subarray(at + DIRENT_HEADER_BYTES, at + DIRENT_HEADER_BYTES + nameLen),
    );
    records.set(name, at);
    at += view.getUint16(at + DIRENT_REC_LEN, true);
  }
  return records;
}

/** A copy of the gpt fixture's ext4 partition after `damage`, mounted, with its message sink. */
async function _damaged(
  damage: (view: DataView, records: Map<string, number>) => void,
): Promise<{ volume: Ext4Volume; out: TextRecorder }> {
  const bytes = (await partitionBytes("gpt", 2)).slice();
  damage(new DataView(bytes.buffer), await _rootRecords(bytes));
  const out = new TextRecorder();
  const volume = await mountExt4(memoryPartition(bytes, out));
  assert.ok(volume !== undefined);
  return { volume, out };
}

const _at = (records: Map<string, number>, name: string) => {
  const at = records.get(name);
  assert.ok(at !== undefined, name);
  return at;
};

Deno.test("ext4 directories: rec_len 0 stops the scan with `Failed to iterate over directory`", async () => {
  const { volume, out } = await _damaged((v, r) => v.setUint16(_at(r, "Image") + DIRENT_REC_LEN, 0, true));
  const ls = new TextRecorder();
  assert.equal(await volume.ls("/", ls), 0);
  const lines = ls.text.split("\n");
  assert.equal(lines.at(-2), "Failed to iterate over directory <NULL>");
  assert.ok(lines.some((l) => l.endsWith(" A long file name for VFAT and ext4 tests.txt")));
  assert.ok(!lines.some((l) => l.endsWith(" hello.txt")));
  assert.equal(await volume.exists("hello.txt"), false);
  assert.equal(out.take(), "Failed to iterate over directory hello.txt\n");
  assert.ok(await volume.read("hello.txt", 0n, 0n, () => {}) instanceof FsError);
  assert.equal(out.take(), "Failed to iterate over directory hello.txt\n** File not found hello.txt **\n");
});

Deno.test("ext4 directories: a rec_len that is short, unaligned or crosses the block is corrupt", async () => {
  for (const recLen of [8, 13, 2 * BLOCK]) {
    const { volume } = await _damaged((v, r) => v.setUint16(_at(r, "Image") + DIRENT_REC_LEN, recLen, true));
    const size = await volume.size("hello.txt");
    assert.ok(size instanceof FsError && size.kind === "corrupt", `rec_len ${recLen}`);
    const ls = new TextRecorder();
    assert.equal(await volume.ls("/", ls), 0, "ls stops where the scan fails, as U-Boot's ignores it");
    assert.match(ls.text, / A long file name for VFAT and ext4 tests\.txt\n$/);
  }
});

Deno.test("ext4 directories: a record with inode 0 is deleted: not listed, not found", async () => {
  const { volume } = await _damaged((v, r) => v.setUint32(_at(r, "hello.txt") + DIRENT_INODE, 0, true));
  const ls = new TextRecorder();
  assert.equal(await volume.ls("/", ls), 0);
  assert.ok(!ls.text.includes("hello.txt"));
  assert.match(ls.text, / empty\.txt\n/);
  assert.equal(await volume.exists("hello.txt"), false);
});

Deno.test("ext4 directories: an inode number past s_inodes_count is corrupt", async () => {
  const { volume } = await _damaged((v, r) =>
    v.setUint32(_at(r, "hello.txt") + DIRENT_INODE, 0x7fffffff, true)
  );
  const size = await volume.size("hello.txt");
  assert.ok(size instanceof FsError && size.kind === "corrupt");
  assert.equal(await volume.size("lower.txt"), 6n, "records before it still resolve");
});

Deno.test("ext4 directories: a file type other than file, directory or symlink lists as `< ? >` and is no file", async () => {
  const { volume } = await _damaged((v, r) => v.setUint8(_at(r, "hello.txt") + DIRENT_FILE_TYPE, 3));
  const ls = new TextRecorder();
  await volume.ls("/", ls);
  assert.match(ls.text, /\n< \? > {9}32 hello\.txt\n/);
  assert.equal(await volume.exists("hello.txt"), false);
});

Deno.test("ext4 directories: file type 0 takes the type from the inode", async () => {
  const { volume } = await _damaged((v, r) => {
    v.setUint8(_at(r, "hello.txt") + DIRENT_FILE_TYPE, 0);
    v.setUint8(_at(r, "dir1") + DIRENT_FILE_TYPE, 0);
  });
  const ls = new TextRecorder();
  await volume.ls("/", ls);
  assert.match(ls.text, /\n {6} {8}32 hello\.txt\n/);
  assert.match(ls.text, /\n<DIR> {7}4096 dir1\n/);
  assert.equal(await volume.size("hello.txt"), 32n);
});
