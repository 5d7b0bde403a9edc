import assert from "node:assert/strict";
import {
  elapsedMs,
  FS_RET_USAGE,
  FsLayer,
  type FsLayerOptions,
  loadIntoMemory,
  printLoadResult,
} from "./fs.ts";
import { DIR, fsContext, pattern, RecordingMemory, TEST_BOARD, testDisks, tinyDriver } from "./_test_fs.ts";
import type { FsDriver } from "./fs_driver.ts";
import { SYS_LOAD_ADDR } from "../board/board_info.ts";

const HELLO = new TextEncoder().encode("Hello from the pvboot reference corpus!\n");
const BLOB = pattern(0x1000);
const FILES = { "hello.txt": HELLO, "blob.bin": BLOB, "empty.txt": new Uint8Array(0), dir1: DIR } as const;

/** The lowest reserved address of the test board (start of U-Boot's area as lmb sees it). */
const RESERVED_START = Math.min(...TEST_BOARD.reserved.map((a) => a.start));

function layerWith(drivers: FsDriver[], extra: Partial<FsLayerOptions> = {}): FsLayer {
  return new FsLayer({ ...testDisks(), drivers, ...extra });
}

function sink() {
  return {
    text: "",
    puts(t: string) {
      this.text += t;
    },
  };
}

/** A clock returning `readings` in turn (then the last one). */
function clock(...readings: number[]): () => number {
  let i = 0;
  return () => readings[Math.min(i++, readings.length - 1)]!;
}

Deno.test("setBlkDev tries the drivers in order and mounts with the first that recognises the partition", async () => {
  const a = tinyDriver("a", "AAFS", FILES);
  const b = tinyDriver("b", "BBFS", FILES);
  const out = sink();
  const volume = await layerWith([a, b]).setBlkDev({ out }, "pvblock", "0:2");
  assert.equal(volume?.type, "b");
  assert.deepEqual([a.log.probes, b.log.probes], [1, 1]);
  const first = await layerWith([a, b]).setBlkDev({ out }, "pvblock", "0:1");
  assert.equal(first?.type, "a");
  assert.equal(b.log.probes, 1, "the second driver is not probed once the first matched");
  assert.equal(out.text, "");
});

Deno.test("setBlkDev with a named type tries only that driver", async () => {
  const a = tinyDriver("a", "AAFS", FILES);
  const b = tinyDriver("b", "BBFS", FILES);
  const out = sink();
  assert.equal(await layerWith([a, b]).setBlkDev({ out }, "pvblock", "0:2", "a"), undefined);
  assert.equal(b.log.probes, 0);
  assert.equal((await layerWith([a, b]).setBlkDev({ out }, "pvblock", "0:2", "b"))?.type, "b");
  assert.equal(out.text, "");
});

Deno.test("a partition no driver recognises fails silently", async () => {
  const out = sink();
  const layer = layerWith([tinyDriver("a", "AAFS", FILES), tinyDriver("b", "BBFS", FILES)]);
  assert.equal(await layerWith([]).setBlkDev({ out }, "pvblock", "0:1"), undefined);
  assert.equal(await layer.setBlkDev({ out }, "pvblock", "0:3"), undefined);
  assert.equal(out.text, "");
});

Deno.test("device and partition errors print U-Boot's messages", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const cases: [string, string][] = [
    ["9:1", "** Bad device specification pvblock 9 **\nCouldn't find partition pvblock 9:1\n"],
    ["0:9", "** Invalid partition 9 **\nCouldn't find partition pvblock 0:9\n"],
    ["1:1", "** No partition table - pvblock 1 **\nCouldn't find partition pvblock 1:1\n"],
  ];
  for (const [spec, expected] of cases) {
    const out = sink();
    assert.equal(await layer.setBlkDev({ out }, "pvblock", spec), undefined);
    assert.equal(out.text, expected, spec);
  }
});

Deno.test("a disk without a partition table is mounted whole", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  assert.equal((await layer.setBlkDev({ out: sink() }, "pvblock", "1"))?.type, "b");
  assert.equal((await layer.setBlkDev({ out: sink() }, "pvblock", "1:0"))?.type, "b");
});

Deno.test("a missing device string falls back to bootdevice", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const getenv = (name: string) => (name === "bootdevice" ? "0:2" : undefined);
  assert.equal((await layer.setBlkDev({ out: sink(), getenv }, "pvblock", undefined))?.type, "b");
  const out = sink();
  assert.equal(await layer.setBlkDev({ out }, "pvblock", undefined), undefined);
  assert.equal(out.text, "** No device specified **\nCouldn't find partition pvblock <NULL>\n");
});

Deno.test("a probe that finds corrupt data counts as not recognised", async () => {
  const broken = tinyDriver("x", "BBFS", FILES, { corrupt: true });
  const b = tinyDriver("b", "BBFS", FILES);
  assert.equal((await layerWith([broken, b]).setBlkDev({ out: sink() }, "pvblock", "0:2"))?.type, "b");
  assert.equal(broken.log.probes, 1);
});

Deno.test("every operation closes the volume it mounted", async () => {
  const b = tinyDriver("b", "BBFS", FILES);
  const layer = layerWith([b]);
  const io = { out: sink() };
  await layer.ls(io, "pvblock", "0:2", "/");
  await layer.exists(io, "pvblock", "0:2", "hello.txt");
  await layer.size(io, "pvblock", "0:2", "hello.txt");
  await layer.fstype(io, "pvblock", "0:2");
  await layer.loadFile(fsContext(), ["load", "pvblock", "0:2", "0x40400000", "hello.txt"]);
  await layer.loadFile(fsContext(), ["load", "pvblock", "0:2", "zz", "hello.txt"]);
  assert.equal(b.log.mounts, 6);
  assert.equal(b.log.closes, 6);
});

Deno.test("fstypesText lists the drivers as do_fs_types does", () => {
  const drivers = [tinyDriver("fat", "AAFS", FILES), tinyDriver("ext4", "BBFS", FILES)];
  assert.equal(layerWith(drivers).fstypesText(), "Supported filesystems: fat, ext4\n");
  assert.equal(layerWith([]).fstypesText(), "Supported filesystems: <none>\n");
});

Deno.test("doLs prints the volume's listing of / by default and fails for a missing directory", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const ctx = fsContext();
  assert.equal(await layer.doLs(ctx, ["ls", "pvblock", "0:2"]), 0);
  assert.match(ctx.console.text, /^ {7}40 {3}hello\.txt\n/);
  ctx.console.text = "";
  assert.equal(await layer.doLs(ctx, ["ls", "pvblock", "0:2", "nothere"]), 1);
  assert.equal(await layer.doLs(ctx, ["ls", "pvblock", "0:3"]), 1);
  assert.equal(ctx.console.text, "");
  assert.equal(await layer.doLs(ctx, ["ls"]), FS_RET_USAGE);
});

Deno.test("exists answers through the volume and is false when nothing mounts", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const io = { out: sink() };
  assert.equal(await layer.exists(io, "pvblock", "0:2", "/dir1"), true);
  assert.equal(await layer.exists(io, "pvblock", "0:2", "/nothere"), false);
  assert.equal(await layer.exists(io, "pvblock", "0:3", "/hello.txt"), false);
});

Deno.test("load writes the file into guest memory and sets fileaddr and filesize in hex", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)], { clock: clock(100.4, 102.1) });
  const ctx = fsContext();
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:2", "0x40400000", "blob.bin"]), 0);
  assert.equal(ctx.console.text, "4096 bytes read in 2 ms (2 MiB/s)\n");
  assert.deepEqual(ctx.memory.read(0x40400000, BLOB.length), BLOB);
  assert.equal(ctx.env.get("fileaddr"), "40400000");
  assert.equal(ctx.env.get("filesize"), "1000");
});

Deno.test("load takes loadaddr and bootfile from the environment when not given", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)], { clock: clock(0) });
  const ctx = fsContext({ loadaddr: "0x40500000", bootfile: "hello.txt" });
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:2"]), 0);
  assert.equal(ctx.console.text, "40 bytes read in 0 ms\n");
  assert.deepEqual(ctx.memory.read(0x40500000, HELLO.length), HELLO);
  assert.equal(ctx.env.get("fileaddr"), "40500000");
  assert.equal(ctx.env.get("filesize"), "28");
});

Deno.test("load without loadaddr uses the build's CONFIG_SYS_LOAD_ADDR", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const ctx = fsContext({ bootfile: "hello.txt" });
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:2"]), 0);
  assert.equal(ctx.env.get("fileaddr"), SYS_LOAD_ADDR[TEST_BOARD.profile].toString(16));
  assert.deepEqual(ctx.memory.read(SYS_LOAD_ADDR[TEST_BOARD.profile], HELLO.length), HELLO);
});

Deno.test("load without a file name or bootfile says no boot file is defined", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const ctx = fsContext();
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:2", "0x40400000"]), 1);
  assert.equal(ctx.console.text, "** No boot file defined **\n");
});

Deno.test("load checks the device before the address, and a bad address is a usage error", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const ctx = fsContext();
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:3", "xyz", "hello.txt"]), 1);
  assert.equal(ctx.console.text, "Can't set block device\n");
  ctx.console.text = "";
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:9", "xyz", "hello.txt"]), 1);
  assert.equal(
    ctx.console.text,
    "** Invalid partition 9 **\nCouldn't find partition pvblock 0:9\nCan't set block device\n",
  );
  ctx.console.text = "";
  for (const addr of ["xyz", "0x4040000g", ""]) {
    assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:2", addr, "hello.txt"]), FS_RET_USAGE);
  }
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock"]), 1, "no device string and no bootdevice");
  assert.equal(await layer.loadFile(ctx, ["load"]), FS_RET_USAGE);
  assert.equal(ctx.memory.writes, 0);
});

Deno.test("load refuses to read over reserved memory before reading anything", async () => {
  const driver = tinyDriver("b", "BBFS", FILES);
  const layer = layerWith([driver]);
  const ctx = fsContext();
  const addr = `0x${(RESERVED_START - BLOB.length + 1).toString(16)}`;
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:2", addr, "blob.bin"]), 1);
  assert.equal(
    ctx.console.text,
    "** Reading file would overwrite reserved memory **\nFailed to load 'blob.bin'\n",
  );
  assert.equal(driver.log.reads.length, 0);
  assert.equal(ctx.memory.writes, 0);
  assert.equal(ctx.env.get("filesize"), undefined);
});

Deno.test("load may end exactly where reserved memory starts", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const ctx = fsContext();
  const addr = RESERVED_START - BLOB.length;
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:2", addr.toString(16), "blob.bin"]), 0);
  assert.deepEqual(ctx.memory.read(addr, BLOB.length), BLOB);
});

Deno.test("the reserved-memory check measures what the read will give: bytes and pos count", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const near = (RESERVED_START - 0x10).toString(16);
  const ok: string[][] = [
    ["0x10"], // bytes
    ["0", "0xff0"], // size - pos
    ["0x20", "0xff0"], // bytes beyond the end of the file
    ["0", "0x1000"], // pos at the end: no check at all
    ["0", "0x2000"], // pos past the end
  ];
  for (const extra of ok) {
    const ctx = fsContext();
    assert.equal(
      await layer.loadFile(ctx, ["load", "pvblock", "0:2", near, "blob.bin", ...extra]),
      0,
      `${extra}`,
    );
  }
  const ctx = fsContext();
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:2", near, "blob.bin", "0x11"]), 1);
  assert.match(ctx.console.text, /overwrite reserved memory/);
});

Deno.test("load passes bytes and pos through to the filesystem and stores what it reads", async () => {
  const driver = tinyDriver("b", "BBFS", FILES, { chunk: 5 });
  const layer = layerWith([driver], { clock: clock(3, 3) });
  const ctx = fsContext();
  assert.equal(
    await layer.loadFile(ctx, ["load", "pvblock", "0:2", "40400000", "blob.bin", "0x10", "0x100"]),
    0,
  );
  assert.deepEqual(driver.log.reads, [{ path: "blob.bin", offset: 0x100n, length: 0x10n }]);
  assert.deepEqual(ctx.memory.read(0x40400000, 0x10), BLOB.subarray(0x100, 0x110));
  assert.equal(ctx.console.text, "16 bytes read in 0 ms\n");
  assert.equal(ctx.env.get("filesize"), "10");
});

Deno.test("bytes and pos that are not hex read as far as they parse", async () => {
  const driver = tinyDriver("b", "BBFS", FILES);
  const ctx = fsContext();
  await layerWith([driver]).loadFile(ctx, ["load", "pvblock", "0:2", "40400000", "hello.txt", "zz", "1q"]);
  assert.deepEqual(driver.log.reads, [{ path: "hello.txt", offset: 1n, length: 0n }]);
  assert.equal(ctx.env.get("filesize"), "27");
});

Deno.test("a file that is missing fails with Failed to load only", async () => {
  const driver = tinyDriver("b", "BBFS", FILES);
  const ctx = fsContext();
  assert.equal(await layerWith([driver]).loadFile(ctx, ["load", "pvblock", "0:2", "40400000", "nothere"]), 1);
  assert.equal(ctx.console.text, "Failed to load 'nothere'\n");
  assert.equal(driver.log.reads.length, 0, "the size probe fails first");
});

Deno.test("reading a directory fails as FAT's and ext4's loads do", async () => {
  const fat = fsContext();
  await layerWith([tinyDriver("b", "BBFS", FILES)]).loadFile(fat, [
    "load",
    "pvblock",
    "0:2",
    "40400000",
    "dir1",
  ]);
  assert.equal(fat.console.text, "** Unable to read file dir1 **\nFailed to load 'dir1'\n");
  const ext4 = fsContext();
  const driver = tinyDriver("b", "BBFS", FILES, { flavour: "ext4" });
  await layerWith([driver]).loadFile(ext4, ["load", "pvblock", "0:2", "40400000", "dir1"]);
  assert.equal(ext4.console.text, "Failed to load 'dir1'\n");
});

Deno.test("an empty file loads as 0 bytes in 0 ms with no rate", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)], { clock: clock(5.2, 5.9) });
  const ctx = fsContext();
  assert.equal(await layer.loadFile(ctx, ["load", "pvblock", "0:2", "40400000", "empty.txt"]), 0);
  assert.equal(ctx.console.text, "0 bytes read in 0 ms\n");
  assert.equal(ctx.env.get("filesize"), "0");
});

Deno.test("loadFile with a named type loads only from that filesystem", async () => {
  const layer = layerWith([tinyDriver("a", "AAFS", FILES), tinyDriver("b", "BBFS", FILES)]);
  const ctx = fsContext();
  assert.equal(await layer.loadFile(ctx, ["fatload", "pvblock", "0:2", "40400000", "hello.txt"], "a"), 1);
  assert.equal(ctx.console.text, "Can't set block device\n");
});

Deno.test("printLoadResult prints the rate only when ms > 0, dividing before multiplying", () => {
  // Lines of the real U-Boot's transcripts (goldens/02-fat, 10-booti, README examples).
  const cases: [number, number, string][] = [
    [1, 1, "1 bytes read in 1 ms (1000 Bytes/s)"],
    [67108864, 7, "67108864 bytes read in 7 ms (8.9 GiB/s)"],
    [0, 0, "0 bytes read in 0 ms"],
    [19, 0, "19 bytes read in 0 ms"],
    [1, 7, "1 bytes read in 7 ms (0 Bytes/s)"],
    [40, 2, "40 bytes read in 2 ms (19.5 KiB/s)"],
    [19, 1, "19 bytes read in 1 ms (18.6 KiB/s)"],
    [4097, 1, "4097 bytes read in 1 ms (3.9 MiB/s)"],
    [524288, 1, "524288 bytes read in 1 ms (500 MiB/s)"],
    [3153920, 3, "3153920 bytes read in 3 ms (1002.6 MiB/s)"],
    [1304, 2, "1304 bytes read in 2 ms (636.7 KiB/s)"],
    [67108864, 56, "67108864 bytes read in 56 ms (1.1 GiB/s)"],
  ];
  for (const [bytes, ms, line] of cases) {
    const out = sink();
    printLoadResult(out, BigInt(bytes), ms);
    assert.equal(out.text, `${line}\n`);
  }
});

Deno.test("elapsedMs counts whole-millisecond ticks as get_timer does", () => {
  assert.equal(elapsedMs(10.9, 11.1), 1);
  assert.equal(elapsedMs(10.1, 10.9), 0);
  assert.equal(elapsedMs(3, 10), 7);
});

Deno.test("doSize sets filesize and fails silently for a missing file or device", async () => {
  const layer = layerWith([tinyDriver("b", "BBFS", FILES)]);
  const ctx = fsContext();
  assert.equal(await layer.doSize(ctx, ["size", "pvblock", "0:2", "blob.bin"]), 0);
  assert.equal(ctx.env.get("filesize"), "1000");
  assert.equal(await layer.doSize(ctx, ["size", "pvblock", "0:2", "dir1"]), 0, "FAT sizes a directory as 0");
  assert.equal(ctx.env.get("filesize"), "0");
  assert.equal(await layer.doSize(ctx, ["size", "pvblock", "0:2", "nothere"]), 1);
  assert.equal(await layer.doSize(ctx, ["size", "pvblock", "0:3", "hello.txt"]), 1);
  assert.equal(ctx.env.get("filesize"), "0");
  assert.equal(ctx.console.text, "");
  assert.equal(await layer.doSize(ctx, ["size", "pvblock", "0:2"]), FS_RET_USAGE);
});

Deno.test("doFsType prints the type or stores it, and fails silently when nothing mounts", async () => {
  const layer = layerWith([tinyDriver("fat", "AAFS", FILES), tinyDriver("ext4", "BBFS", FILES)]);
  const ctx = fsContext();
  assert.equal(await layer.doFsType(ctx, ["fstype", "pvblock", "0:2"]), 0);
  assert.equal(ctx.console.text, "ext4\n");
  assert.equal(await layer.doFsType(ctx, ["fstype", "pvblock", "0:1", "fsvar"]), 0);
  assert.equal(ctx.env.get("fsvar"), "fat");
  ctx.console.text = "";
  assert.equal(await layer.doFsType(ctx, ["fstype", "pvblock", "0:3"]), 1);
  assert.equal(ctx.console.text, "");
  assert.equal(await layer.doFsType(ctx, ["fstype", "pvblock"]), FS_RET_USAGE);
  assert.equal(await layer.doFsType(ctx, ["fstype", "pvblock", "0:1", "a", "b"]), FS_RET_USAGE);
});

Deno.test("doFsType prints the environment's refusal of a variable", async () => {
  const layer = layerWith([tinyDriver("fat", "AAFS", FILES)]);
  const ctx = fsContext({ ethaddr: "52:54:00:12:34:56" });
  assert.equal(await layer.doFsType(ctx, ["fstype", "pvblock", "0:1", "ethaddr"]), 0);
  assert.match(ctx.console.text, /^## Error: /);
});

Deno.test("loadIntoMemory without the lmb check reads without sizing first", async () => {
  const driver = tinyDriver("b", "BBFS", FILES);
  const volume = await layerWith([driver]).setBlkDev({ out: sink() }, "pvblock", "0:2");
  assert.ok(volume);
  const memory = new RecordingMemory();
  const target = { memory, board: TEST_BOARD, out: sink() };
  const addr = BigInt(RESERVED_START);
  const n = await loadIntoMemory(volume, target, {
    path: "hello.txt",
    addr,
    length: 0n,
    offset: 0n,
    lmbCheck: false,
  });
  assert.equal(n, BigInt(HELLO.length));
  assert.deepEqual(driver.log.sizes, []);
  assert.deepEqual(memory.read(RESERVED_START, HELLO.length), HELLO);
});
