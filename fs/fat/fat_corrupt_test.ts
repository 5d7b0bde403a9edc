import assert from "node:assert/strict";
import { FsError } from "../fs_driver.ts";
import type { BlockDevice } from "../../drivers/blk/block_device.ts";
import type { MemoryBlockDevice } from "../../drivers/blk/memory_block_device.ts";
import { FatVolume } from "./fat_volume.ts";
import { FAT_CHUNK_SECTORS } from "./fat_table.ts";
import { fatFixture, memoryVolume, partitionInfo, Recorder } from "./_test_oracle.ts";
import { BS_CLUSTER_SIZE, BS_FS_TYPE_FAT16, BS_SECTOR_SIZE, DOS_BOOT_MAGIC_OFFSET } from "./fat_layout.ts";

const floppy = await fatFixture("floppy", 0);
const gpt = await fatFixture("gpt", 1);
/** Printed text allowed per fuzz iteration: a listing of the whole floppy is far below this. */
const MAX_OUTPUT = 1 << 20;

async function damagedFloppy(patch: (bytes: Uint8Array) => void, out = new Recorder()) {
  const { dev, info } = await memoryVolume(floppy);
  patch(dev.bytes);
  const volume = await FatVolume.mount({ dev, part: 0, info, out });
  return { dev, volume, out };
}

function ascii(bytes: Uint8Array, at: number, text: string): void {
  bytes.set(new TextEncoder().encode(text), at);
}

Deno.test("the probe wants 55 AA and FAT; a broken fs_type mounts but every operation fails quietly", async () => {
  const { volume: none } = await damagedFloppy((b) => (b[DOS_BOOT_MAGIC_OFFSET] = 0));
  assert.equal(none, undefined);
  const { volume, out } = await damagedFloppy((b) => ascii(b, BS_FS_TYPE_FAT16, "FAT     "));
  assert.ok(volume);
  assert.equal(await volume.ls("/", out), 1);
  assert.equal(out.take(), "");
  assert.equal(await volume.exists("hello.txt"), false);
  assert.ok(await volume.size("hello.txt") instanceof FsError);
  assert.equal(await volume.uuid(), "");
  assert.equal(volume.detectFs(out), 1);
  assert.equal(out.take(), "\nNo valid FAT fs found\n");
});

Deno.test("the FAT width comes from the fs_type string, as U-Boot decides it", async () => {
  const { volume } = await damagedFloppy((b) => ascii(b, BS_FS_TYPE_FAT16, "FAT16   "));
  assert.equal(volume?.bootSector?.fatBits, 16);
  const listing = new Recorder();
  const status = await volume!.ls("/", listing);
  assert.ok(status === 0 || status === 1);
});

Deno.test("get_fs_info's refusals print U-Boot's messages at each operation", async () => {
  const cases: [(b: Uint8Array) => void, string][] = [
    [
      (b) => new DataView(b.buffer).setUint16(BS_SECTOR_SIZE, 1024, true),
      "Error: FAT sector size mismatch (fs=1024, dev=512)\n",
    ],
    [(b) => (b[BS_CLUSTER_SIZE] = 0), "Error: FAT cluster size not set\n"],
    [(b) => (b[BS_CLUSTER_SIZE] = 255), "Error: FAT cluster size too big (cs=130560, max=65536)\n"],
  ];
  for (const [patch, message] of cases) {
    const { volume, out } = await damagedFloppy(patch);
    assert.ok(volume);
    assert.equal(await volume.ls("/", out), 1);
    assert.equal(out.take(), message);
    assert.ok(await volume.read("hello.txt", 0n, 0n, () => assert.fail("no data")) instanceof FsError);
    assert.equal(out.take(), `${message}** Unable to read file hello.txt **\n`);
  }
});

/** The FAT12 entry offset and the first cluster of `name` in the floppy's root. */
async function firstCluster(dev: MemoryBlockDevice, name: string): Promise<number> {
  const v = await FatVolume.mount({ dev, part: 0, info: await partitionInfo(dev, 0) });
  const item = (await v!.list("/"))!.find((i) => i.name === name)!;
  return item.start;
}

function setFat12(dev: MemoryBlockDevice, cluster: number, value: number): void {
  const view = new DataView(dev.bytes.buffer);
  const fatStart = view.getUint16(0x0e, true) * 512;
  const at = fatStart + Math.floor((cluster * 3) / 2);
  const pair = view.getUint16(at, true);
  view.setUint16(at, cluster & 1 ? (pair & 0x000f) | (value << 4) : (pair & 0xf000) | value, true);
}

Deno.test("a directory whose chain loops stops with status 1", async () => {
  const { dev, info } = await memoryVolume(floppy);
  const dir1 = await firstCluster(dev, "dir1");
  setFat12(dev, dir1, dir1);
  // Mark the unused entries deleted, so that no end marker stops the walk before the loop.
  const view = new DataView(dev.bytes.buffer);
  const sectSize = view.getUint16(0x0b, true);
  const dataStart = view.getUint16(0x0e, true) + dev.bytes[0x10]! * view.getUint16(0x16, true) +
    (view.getUint16(0x11, true) * 32) / sectSize;
  const clusterAt = (dataStart + (dir1 - 2) * dev.bytes[0x0d]!) * sectSize;
  for (let at = clusterAt; at < clusterAt + dev.bytes[0x0d]! * sectSize; at += 32) {
    if (dev.bytes[at] === 0) dev.bytes[at] = 0xe5;
  }
  const v = await FatVolume.mount({ dev, part: 0, info });
  const out = new Recorder();
  assert.equal(await v!.ls("/dir1", out), 1);
  assert.equal(out.text.includes("file(s)"), false);
});

Deno.test("a file chain that leaves the volume or ends early prints Invalid FAT entry", async () => {
  for (const value of [0xfee, 0xfff, 0x000]) {
    const { dev, info } = await memoryVolume(floppy);
    setFat12(dev, await firstCluster(dev, "blob-4097.bin"), value);
    const out = new Recorder();
    const v = await FatVolume.mount({ dev, part: 0, info, out });
    const got = await v!.read("blob-4097.bin", 0n, 0n, () => {});
    assert.ok(got instanceof FsError && got.kind === "corrupt", `value ${value}`);
    assert.equal(out.text, "Invalid FAT entry\n** Unable to read file blob-4097.bin **\n");
  }
});

Deno.test("random damage to boot sector, FAT and directories gives only typed results", async () => {
  const { dev, info } = await memoryVolume(floppy);
  const pristine = dev.bytes.slice();
  const regions: [number, number][] = [[0, 64], [512, 18 * 512], [19 * 512, 14 * 512], [33 * 512, 64 * 512]];
  let x = 0x9e3779b9;
  const rand = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  for (let iteration = 0; iteration < 120; iteration++) {
    dev.bytes.set(pristine);
    const [start, length] = regions[iteration % regions.length]!;
    for (let n = 1 + rand(24); n > 0; n--) dev.bytes[start + rand(length)] = rand(256);
    const out = new Recorder();
    const v = await FatVolume.mount({ dev, part: 0, info, out });
    if (v === undefined) continue;
    for (const dir of ["/", "dir1", "dir1/dir2/dir3"]) {
      await v.ls(dir, out);
      for (const item of (await v.list(dir)) ?? []) {
        const path = `${dir}/${item.name}`;
        await v.exists(path);
        const size = await v.size(path);
        assert.ok(typeof size === "bigint" || size instanceof FsError);
        const got = await v.read(path, 0n, 0n, () => {});
        assert.ok(typeof got === "bigint" || got instanceof FsError);
      }
    }
    v.detectFs(out);
    await v.uuid();
    assert.ok(out.text.length < MAX_OUTPUT, `${out.text.length} bytes printed`);
  }
});

/** A device that records the block counts of its reads. */
function counting(dev: BlockDevice, counts: number[]): BlockDevice {
  return {
    ...dev,
    ifType: dev.ifType,
    read: (lba, count, into) => {
      counts.push(count);
      return dev.read(lba, count, into);
    },
    write: (lba, count, from) => dev.write(lba, count, from),
  };
}

Deno.test("a contiguous 1 MiB file is read with one data transfer", async () => {
  const { dev, info } = await memoryVolume(gpt);
  const counts: number[] = [];
  const v = await FatVolume.mount({ dev: counting(dev, counts), part: 1, info });
  const size = await v!.size("blob-1M.bin");
  assert.equal(size, 1048576n);
  counts.length = 0;
  let bytes = 0;
  assert.equal(await v!.read("blob-1M.bin", 0n, 0n, (chunk) => (bytes += chunk.length)), size);
  assert.equal(bytes, 1048576);
  assert.deepEqual(counts.filter((c) => c > FAT_CHUNK_SECTORS), [1048576 / 512]);
});
