/**
 * Path lookup and symlinks, as the real U-Boot resolves them on the fixtures (the expectations are
 * its answers in tests/conformance/cases/ext4.cases and ext4-edge.cases).
 */

import assert from "node:assert/strict";
import { FsError } from "../fs_driver.ts";
import { collectingSink, mountFixture, TextRecorder } from "./_test_images.ts";
import type { Ext4Volume } from "./volume.ts";

async function _text(volume: Ext4Volume, path: string): Promise<string | FsError> {
  const collected = collectingSink();
  const n = await volume.read(path, 0n, 0n, collected.sink);
  return n instanceof FsError ? n : new TextDecoder().decode(collected.bytes());
}

Deno.test("ext4 lookup: relative, absolute, upward and directory symlinks reach their targets", async () => {
  const volume = await mountFixture("gpt", 2);
  const hello = await _text(volume, "/hello.txt");
  assert.equal(typeof hello, "string");
  assert.equal(await _text(volume, "link-to-hello"), hello);
  assert.equal(await _text(volume, "abs-link-deep"), await _text(volume, "dir1/dir2/dir3/deep.txt"));
  assert.equal(await _text(volume, "dir1/up-link-boot.scr"), await _text(volume, "boot.scr"));
  assert.equal(await _text(volume, "link-to-dir3/deep.txt"), await _text(volume, "/dir1/dir2/dir3/deep.txt"));
});

Deno.test("ext4 lookup: names are case-sensitive and . and .. are records", async () => {
  const volume = await mountFixture("gpt", 2);
  assert.equal(await volume.exists("UPPER.TXT"), true);
  assert.equal(await volume.exists("upper.txt"), false);
  assert.equal(await volume.exists("HELLO.TXT"), false);
  assert.equal(await volume.exists("/dir1/../dir1/./file-in-dir1.txt"), true);
  const out = new TextRecorder();
  assert.equal(await volume.ls("DIR1", out), 1);
  assert.equal(out.take(), "** Can not find directory. **\n");
});

Deno.test("ext4 lookup: dangling and slow dangling symlinks, directories and fifos are not files", async () => {
  const gpt = await mountFixture("gpt", 2);
  for (const path of ["dangling", "slow-symlink", "dir1", "link-to-dir3", "nothere", "dir1/nothere.txt"]) {
    assert.equal(await gpt.exists(path), false, path);
    assert.ok(await gpt.size(path) instanceof FsError, path);
  }
  assert.equal(await gpt.exists("emptydir"), false);
  const edge = await mountFixture("ext4-edge", 1);
  assert.equal(await edge.exists("pipe"), false);
  assert.equal((await edge.size("pipe") as FsError).kind, "not-a-file");
});

Deno.test("ext4 lookup: seven symlink hops resolve, the eighth fails, a loop fails", async () => {
  const volume = await mountFixture("ext4-edge", 1);
  assert.equal(await _text(volume, "l2"), await _text(volume, "hello.txt"));
  assert.equal(await volume.exists("l1"), false);
  assert.equal(await volume.exists("loopA"), false);
});

Deno.test("ext4 lookup: a symlink to / resolves to nothing, one to . to its directory", async () => {
  const volume = await mountFixture("ext4-edge", 1);
  const out = new TextRecorder();
  assert.equal(await volume.ls("to-root", out), 1);
  assert.equal(out.take(), "** Can not find directory. **\n");
  assert.equal(await volume.ls("to-root/dir1", out), 1);
  out.take();
  assert.equal(await volume.ls("to-dot/dir1", out), 0);
  assert.match(out.take(), /<DIR> {7}4096 dir2\n$/);
  assert.equal(await volume.ls("to-dir-slash", out), 0);
  assert.match(out.take(), /dir2\n$/);
});

Deno.test("ext4 lookup: leading, repeated and trailing slashes are skipped", async () => {
  const volume = await mountFixture("ext4-edge", 1);
  assert.equal(await _text(volume, "//dir1///dir2//deep.txt//"), "deep\n");
  assert.equal(await _text(volume, "hello.txt/"), await _text(volume, "hello.txt"));
  const out = new TextRecorder();
  assert.equal(await volume.ls("", out), 0);
  const root = out.take();
  assert.equal(await volume.ls("../..", out), 0);
  assert.equal(out.take(), root);
});

Deno.test("ext4 lookup: fast symlinks end below 60 bytes, longer ones are read from their blocks", async () => {
  const volume = await mountFixture("ext4-edge", 1);
  assert.equal(await _text(volume, "fast59"), "deep\n");
  assert.equal(await _text(volume, "slow60"), "deep\n");
  assert.equal(await _text(volume, "slow-abs"), "deep\n");
  const rev0 = await mountFixture("ext4-edge", 2);
  assert.equal(await _text(rev0, "slowlink"), "inner\n");
  assert.equal(await _text(rev0, "fastlink"), await _text(rev0, "hello.txt"));
});
