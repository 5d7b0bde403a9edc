/**
 * The ext4 reader against the filesystems mkfs made for the fixtures, with debugfs as the oracle:
 * every directory lists what `debugfs ls -p` lists, in the same (on-disk) order, in U-Boot's format;
 * every regular file reads back as `debugfs dump` writes it.
 */

import assert from "node:assert/strict";
import { FsError } from "../fs_driver.ts";
import {
  collectingSink,
  debugfsDump,
  type DebugfsEntry,
  debugfsList,
  EXT_PARTITIONS,
  mountFixture,
  partitionFile,
  TextRecorder,
} from "./_test_images.ts";
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "./inode.ts";

const TWO_POW_32 = 1n << 32n;
/** Files larger than this are left out of the read-back (huge.bin is 4 GiB of holes). */
const READ_BACK_LIMIT = 64n * 1024n * 1024n;
/** Of a directory with more files than this, every n-th file is read back (ext4-edge's many/ has 1200). */
const READ_BACK_SAMPLE = 40;

function _tag(mode: number): string {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return "<DIR> ";
    case S_IFLNK:
      return "<SYM> ";
    case S_IFREG:
      return "      ";
    default:
      return "< ? > ";
  }
}

const _walks = new Map<string, Promise<Map<string, DebugfsEntry[]>>>();

/** Every directory of the image (paths from the root) with its debugfs listing (once per image). */
function _walk(image: string): Promise<Map<string, DebugfsEntry[]>> {
  let walk = _walks.get(image);
  if (walk === undefined) {
    walk = _walkOnce(image);
    _walks.set(image, walk);
  }
  return walk;
}

async function _walkOnce(image: string): Promise<Map<string, DebugfsEntry[]>> {
  const dirs = new Map<string, DebugfsEntry[]>();
  const queue = ["/"];
  while (queue.length > 0) {
    const dir = queue.shift()!;
    const entries = await debugfsList(image, dir);
    dirs.set(dir, entries);
    for (const e of entries) {
      if ((e.mode & S_IFMT) === S_IFDIR && e.name !== "." && e.name !== "..") {
        queue.push(`${dir === "/" ? "" : dir}/${e.name}`);
      }
    }
  }
  return dirs;
}

for (const spec of EXT_PARTITIONS) {
  Deno.test(`ext4: ${spec.label}: every directory lists as debugfs sees it, in U-Boot's ext4ls format`, async () => {
    const image = await partitionFile(spec.fixture, spec.part);
    const volume = await mountFixture(spec.fixture, spec.part);
    const out = new TextRecorder();
    for (const [dir, entries] of await _walk(image)) {
      const expected = entries
        .map((e) => `${_tag(e.mode)}${String(e.size % TWO_POW_32).padStart(10)} ${e.name}\n`)
        .join("");
      assert.equal(await volume.ls(dir, out), 0, dir);
      assert.equal(out.take(), expected, `listing of ${dir}`);
    }
  });

  Deno.test(`ext4: ${spec.label}: regular files read back as debugfs dumps them`, async () => {
    const image = await partitionFile(spec.fixture, spec.part);
    const volume = await mountFixture(spec.fixture, spec.part);
    const files: { path: string; size: bigint }[] = [];
    for (const [dir, entries] of await _walk(image)) {
      const regular = entries.filter((e) => (e.mode & S_IFMT) === S_IFREG);
      const step = regular.length > READ_BACK_SAMPLE ? READ_BACK_SAMPLE : 1;
      for (let i = 0; i < regular.length; i += step) {
        const e = regular[i]!;
        files.push({ path: `${dir === "/" ? "" : dir}/${e.name}`, size: e.size });
      }
    }
    const small = files.filter((f) => f.size <= READ_BACK_LIMIT);
    assert.ok(small.length > 0);
    const dumped = await debugfsDump(image, small.map((f) => f.path));
    for (const { path, size } of small) {
      assert.equal(await volume.size(path), size, `size of ${path}`);
      assert.equal(await volume.exists(path), true, path);
      const collected = collectingSink();
      const n = await volume.read(path, 0n, 0n, collected.sink);
      if (size === 0n) {
        assert.ok(n instanceof FsError && n.kind === "eof", `empty ${path}`);
        continue;
      }
      assert.equal(n, size, `bytes read of ${path}`);
      assert.deepEqual(collected.bytes(), dumped.get(path), `contents of ${path}`);
    }
  });
}
