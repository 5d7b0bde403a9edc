import assert from "node:assert/strict";
import { patternImage, startFakeXen } from "./xen/_fake_blkback.ts";
import { initPvblock, type PvBlockDevice, removePvblock } from "./pvblock.ts";
import { BlockRegistry } from "./blk/block_registry.ts";
import { BLK_EIO } from "./blk/block_device.ts";
import { formatDevice } from "./blk/dev_print.ts";
import { xenFini } from "./xen/xen_init.ts";
import { PartitionLayer } from "../disk/part.ts";
import { PART_TYPE_DOS } from "../disk/part_driver.ts";
import { mbrBlock } from "../disk/_test_disks.ts";
import { DataAbort } from "../machine/platform.ts";

const SECTOR = 512;
const PAGE = 4096;
const FAST = { stateTimeoutMs: 50, ioTimeoutMs: 50 };

class Out {
  text = "";
  puts(t: string): void {
    this.text += t;
  }
}

async function twoDisks(first: Partial<{ initialState: number }> = {}) {
  const env = await startFakeXen([
    { devid: 51712, image: patternImage(32768), ...first },
    { devid: 51728, image: patternImage(2048), sectorSize: 4096 },
  ]);
  const blk = new BlockRegistry();
  const out = new Out();
  const devices = await initPvblock(env.drivers, blk, out, FAST);
  return { ...env, blk, out, devices };
}

Deno.test("start-up connects every disk and prints U-Boot's PVBLOCK line without bogus errors", async () => {
  const env = await twoDisks();
  assert.equal(env.out.text, "PVBLOCK: pvblock: 0, pvblock: 1\n");
  assert.deepEqual(env.devices.map((d) => [d.devnum, d.front.devid]), [[0, 51712], [1, 51728]]);
  assert.equal(env.blk.get("pvblock", 0), env.devices[0]);
  assert.equal(env.blk.get("pvblock", 1), env.devices[1]);
  assert.equal(
    formatDevice(env.devices[0]!),
    "Vendor: Xen Rev: 1 Prod: Virtual disk\n            Type: Hard Disk\n" +
      "            Capacity: 16.0 MB = 0.0 GB (32768 x 512)\n",
  );
  assert.equal(env.devices[1]!.blksz, 4096);
  assert.equal(env.devices[1]!.lba, 256);
});

Deno.test("a disk that cannot connect is left out but keeps its number, as U-Boot's bind order", async () => {
  const env = await twoDisks({ initialState: 1 });
  assert.equal(env.out.text, "PVBLOCK: backend not available, state=1\npvblock: 1\n");
  assert.equal(env.blk.get("pvblock", 0), undefined);
  assert.equal(env.blk.get("pvblock", 1)?.lba, 256);
});

Deno.test("no device/vbd directory prints U-Boot's message and an empty list", async () => {
  const env = await startFakeXen([]);
  const out = new Out();
  const devices = await initPvblock(env.drivers, new BlockRegistry(), out, FAST);
  assert.deepEqual(devices, []);
  assert.equal(out.text, "PVBLOCK: Failed to read device/vbd directory: ENOENT\n\n");
});

Deno.test("the partition table is looked for when a disk is probed", async () => {
  const image = patternImage(4096);
  image.set(mbrBlock([{ boot: 0x80, sys: 0x0e, start: 2048, size: 1024 }], 0x1234abcd), 0);
  const env = await startFakeXen([{ image }]);
  const parts = new PartitionLayer();
  const [dev] = await initPvblock(env.drivers, new BlockRegistry(), new Out(), { ...FAST, parts });
  assert.equal(parts.partType(dev!), PART_TYPE_DOS);
});

Deno.test("block reads and writes go through the ring; past the end prints U-Boot's message and does nothing", async () => {
  const env = await twoDisks();
  const dev = env.devices[0]!;
  const buf = new Uint8Array(3 * SECTOR);
  assert.equal(await dev.read(10, 3, buf), 3);
  assert.deepEqual(buf, env.disks[0]!.image.subarray(10 * SECTOR, 13 * SECTOR));
  assert.equal(await dev.write(20, 1, new Uint8Array(SECTOR).fill(9)), 1);
  assert.equal(env.disks[0]!.image[20 * SECTOR + 100], 9);
  env.out.text = "";
  assert.equal(await dev.read(32767, 2, new Uint8Array(2 * SECTOR)), 0);
  assert.equal(env.out.text, "pvblock: block number 0x8001 exceeds max(0x8000)\n");
  assert.equal(await dev.read(0, 0, new Uint8Array(0)), 0);
  const big = env.devices[1]!;
  const block = new Uint8Array(4096);
  assert.equal(await big.read(3, 1, block), 1);
  assert.deepEqual(block, env.disks[1]!.image.subarray(3 * 4096, 4 * 4096));
});

Deno.test("a read of 11+ pages into a sector- but not page-aligned buffer works (the board's BUG)", async () => {
  const env = await twoDisks();
  const dev = env.devices[0]!;
  const address = env.ram + 0x200;
  const count = 0x60; // 48 KiB: 12 pages of data over 13 pages
  assert.equal(await dev.readToGuest(0x800n, BigInt(count), address), count);
  assert.deepEqual(
    env.xen.memory.read(address, count * SECTOR),
    env.disks[0]!.image.subarray(0x800 * SECTOR, (0x800 + count) * SECTOR),
  );
  const data = new Uint8Array(11 * PAGE + SECTOR).fill(0x77);
  env.xen.memory.write(env.ram + 0x10_0200, data);
  assert.equal(
    await dev.writeFromGuest(100n, BigInt(data.length / SECTOR), env.ram + 0x10_0200),
    data.length / SECTOR,
  );
  assert.deepEqual(env.disks[0]!.image.subarray(100 * SECTOR, 100 * SECTOR + data.length), data);
});

Deno.test("a read into memory that is not there faults as the guest's access would", async () => {
  const env = await twoDisks();
  const dev = env.devices[0]!;
  const end = env.ram + 0x100_0000;
  await assert.rejects(
    dev.readToGuest(0n, 16n, end - 4 * SECTOR),
    (e: unknown) => e instanceof DataAbort && e.address === end,
  );
  assert.equal(env.disks[0]!.seen.length, 0);
});

Deno.test("a failed transfer reports -EIO", async () => {
  const env = await twoDisks();
  env.disks[0]!.forceStatus = -1;
  assert.equal(await env.devices[0]!.read(0, 1, new Uint8Array(SECTOR)), BLK_EIO);
  assert.equal(env.devices[0]!.lastError?.kind, "status");
});

Deno.test("unplugging every disk before xenFini leaves no grant and no bound port behind", async () => {
  const env = await twoDisks();
  await env.devices[0]!.read(0, 1, new Uint8Array(SECTOR));
  const reports = await removePvblock(env.devices, env.blk);
  assert.ok(reports.every((r) => r.backendClosed && r.ringGrantEnded && r.leakedPages === 0));
  assert.deepEqual(env.blk.list("pvblock"), []);
  assert.deepEqual(env.disks.map((d) => d.state), [2, 2]);
  const fini = await xenFini(env.drivers);
  assert.deepEqual(fini.grantsInUse, []);
  assert.deepEqual(fini.portsClosed, []);
});

Deno.test("a PvBlockDevice shows U-Boot's identity", async () => {
  const env = await twoDisks();
  const dev: PvBlockDevice = env.devices[0]!;
  assert.deepEqual(
    [dev.ifType, dev.vendor, dev.revision, dev.product, dev.type, dev.removable, dev.readOnly],
    ["pvblock", "Xen", "1", "Virtual disk", 0, false, false],
  );
});
