import assert from "node:assert/strict";
import { FsError } from "../fs_driver.ts";
import type { FatVolume } from "./fat_volume.ts";
import { isDirItem } from "./dir_iterator.ts";
import {
  allDirs,
  expectedListing,
  extractAll,
  FAT_PARTITIONS,
  type FatFixture,
  fatFixture,
  hostVolume,
  mdir,
  minfo,
  Recorder,
  shownName,
} from "./_test_oracle.ts";

const fixtures: FatFixture[] = [];
for (const [name, part] of FAT_PARTITIONS) fixtures.push(await fatFixture(name, part));

/** Disks opened for the whole file (outside any test, so the resource sanitizer does not mind). */
const volumes = new Map<string, FatVolume>();
const quiet = new Map<string, FatVolume>();
const recorders = new Map<string, Recorder>();
for (const f of fixtures) {
  const recorder = new Recorder();
  recorders.set(f.label, recorder);
  volumes.set(f.label, (await hostVolume(f, recorder)).volume!);
  quiet.set(f.label, (await hostVolume(f)).volume!);
}

/** The fixture's volume (diagnostics dropped). */
function mount(f: FatFixture): FatVolume {
  return quiet.get(f.label)!;
}

/** The fixture's volume whose diagnostics go to a recorder (emptied first). */
function mountRecording(f: FatFixture): { v: FatVolume; out: Recorder } {
  const out = recorders.get(f.label)!;
  out.take();
  return { v: volumes.get(f.label)!, out };
}

/** Reads a whole file (or a slice) into one buffer, checking the sink's offsets are consecutive. */
async function readAll(v: FatVolume, path: string, offset = 0n, length = 0n): Promise<Uint8Array | FsError> {
  const chunks: Uint8Array[] = [];
  let expected = 0;
  const got = await v.read(path, offset, length, (chunk, at) => {
    assert.equal(at, expected);
    chunks.push(chunk.slice());
    expected += chunk.length;
  });
  if (got instanceof FsError) return got;
  assert.equal(Number(got), expected);
  const all = new Uint8Array(expected);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

Deno.test("ls of every directory prints fatls' listing in mtools' on-disk order", async () => {
  for (const f of fixtures) {
    const v = mount(f);
    for (const dir of await allDirs(f)) {
      const out = new Recorder();
      assert.equal(await v.ls(dir, out), 0, `${f.label} ${dir}`);
      assert.equal(out.text, expectedListing(await mdir(f, dir)), `${f.label} ${dir}`);
    }
  }
});

Deno.test("every file reads back byte for byte as mcopy extracts it", async () => {
  for (const f of fixtures) {
    const v = mount(f);
    const host = await extractAll(f);
    try {
      let files = 0;
      for (const dir of await allDirs(f)) {
        for (const e of await mdir(f, dir)) {
          if (e.isDir) continue;
          const path = `${dir === "/" ? "" : dir}/${shownName(e)}`;
          const expected = await Deno.readFile(`${host}${path}`);
          const got = await readAll(v, path);
          assert.ok(!(got instanceof FsError), `${f.label} ${path}`);
          assert.deepEqual(got, expected, `${f.label} ${path}`);
          assert.equal(await v.size(path), BigInt(expected.length));
          files++;
        }
      }
      assert.ok(files > 0);
    } finally {
      await Deno.remove(host, { recursive: true });
    }
  }
});

Deno.test("lookups ignore case and accept the 8.3 alias of a long name", async () => {
  for (const f of fixtures) {
    const v = mount(f);
    for (const e of await mdir(f, "/")) {
      const names = [shownName(e), shownName(e).toUpperCase(), shownName(e).toLowerCase(), e.shortName];
      for (const name of names) {
        assert.ok(await v.exists(name), `${f.label} ${name}`);
        assert.ok(await v.exists(`/${name}`), `${f.label} /${name}`);
        assert.equal(await v.size(name), BigInt(e.size), `${f.label} ${name}`);
      }
    }
  }
});

Deno.test("paths take backslashes, repeated slashes, . and .. as U-Boot resolves them", async () => {
  const f = fixtures.find((x) => x.label === "gpt:1")!;
  const v = mount(f);
  const deep = "/dir1/dir2/dir3";
  const want = expectedListing(await mdir(f, deep));
  for (
    const path of [
      deep,
      "dir1\\dir2\\dir3",
      "//dir1///dir2/dir3/",
      "/./../dir1/../dir1/dir2/./dir3",
      "DIR1/DIR2/DIR3",
    ]
  ) {
    const out = new Recorder();
    assert.equal(await v.ls(path, out), 0, path);
    assert.equal(out.text, want, path);
  }
  const root = new Recorder();
  assert.equal(await v.ls("..", root), 0);
  assert.equal(root.text, expectedListing(await mdir(f, "/")));
  assert.ok(await v.exists("."));
  assert.ok(await v.exists("dir1/dir2/dir3/deep.txt"));
  assert.ok(!await v.exists("hello.txt/"));
  assert.ok(!await v.exists("hello.txt/x"));
});

Deno.test("a missing directory or a file lists nothing and returns 1", async () => {
  for (const f of fixtures) {
    const v = mount(f);
    const file = (await mdir(f, "/")).find((e) => !e.isDir)!;
    for (const path of ["nothere", shownName(file), "nothere/deeper"]) {
      const out = new Recorder();
      assert.equal(await v.ls(path, out), 1, `${f.label} ${path}`);
      assert.equal(out.text, "");
    }
  }
});

Deno.test("size: a directory is 0, a missing name is not-found", async () => {
  const v = mount(fixtures[0]!);
  assert.equal(await v.size("dir1"), 0n);
  assert.equal(await v.size("/"), 0n);
  const missing = await v.size("nothere");
  assert.ok(missing instanceof FsError && missing.kind === "not-found");
});

Deno.test("read: a directory or missing file prints U-Boot's message and fails", async () => {
  const { v, out } = mountRecording(fixtures[0]!);
  const dir = await v.read("dir1", 0n, 0n, () => assert.fail("no data"));
  assert.ok(dir instanceof FsError && dir.kind === "not-a-file");
  assert.equal(out.take(), "** Unable to read file dir1 **\n");
  const missing = await v.read("dir1/nothere.txt", 0n, 0n, () => assert.fail("no data"));
  assert.ok(missing instanceof FsError && missing.kind === "not-found");
  assert.equal(out.take(), "** Unable to read file dir1/nothere.txt **\n");
});

Deno.test("reads at or past the end, and of an empty file, give 0 bytes", async () => {
  for (const f of fixtures) {
    const v = mount(f);
    for (const e of await mdir(f, "/")) {
      if (e.isDir) continue;
      const name = shownName(e);
      for (const offset of [BigInt(e.size), BigInt(e.size) + 1n, 1n << 40n]) {
        const got = await v.read(name, offset, 0n, () => assert.fail("no data past the end"));
        assert.equal(got, 0n, `${f.label} ${name} @${offset}`);
      }
    }
  }
});

Deno.test("offset and length reads match slices of the file, cut at the end", async () => {
  /** xorshift32, the same offsets on every run. */
  let x = 0x2545f491;
  const rand = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  for (const f of fixtures) {
    const v = mount(f);
    const host = await extractAll(f);
    try {
      for (const e of await mdir(f, "/")) {
        if (e.isDir || e.size === 0) continue;
        const name = shownName(e);
        const whole = await Deno.readFile(`${host}/${name}`);
        for (let i = 0; i < 6; i++) {
          const offset = rand(e.size);
          const length = i === 0 ? e.size - offset + 100 : 1 + rand(Math.min(e.size, 70000));
          const got = await readAll(v, name, BigInt(offset), BigInt(length));
          assert.deepEqual(
            got,
            whole.subarray(offset, Math.min(e.size, offset + length)),
            `${f.label} ${name}`,
          );
        }
      }
    } finally {
      await Deno.remove(host, { recursive: true });
    }
  }
});

Deno.test("uuid and fatinfo's line match minfo's serial, type and label", async () => {
  for (const f of fixtures) {
    const v = mount(f);
    const info = await minfo(f);
    assert.equal(await v.uuid(), `${info.serial.slice(0, 4)}-${info.serial.slice(4)}`);
    const out = new Recorder();
    assert.equal(v.detectFs(out), 0);
    assert.equal(out.text, `Filesystem: ${info.type.slice(0, 5)} "${info.label}"\n`);
  }
});

Deno.test("list gives items with directory flags as mdir shows them", async () => {
  const f = fixtures.find((x) => x.label === "fat-edge:1")!;
  const v = mount(f);
  const items = (await v.list("/many"))!;
  const oracle = await mdir(f, "/many");
  assert.deepEqual(items.map((i) => [i.name, isDirItem(i)]), oracle.map((e) => [shownName(e), e.isDir]));
  assert.equal(await v.list("/nothere"), undefined);
});
