/**
 * The PV block frontend (drivers/xen/blkfront.ts, drivers/pvblock.ts, commands/pvblock.ts) against the
 * emulated Dom0 blkback (machine/xen/blkback.ts) across the guest boundary: a GPT fixture image made by
 * the real tools, read through the ring; writes that reach the image; a clean hand-over after unplug.
 */

import assert from "node:assert/strict";
import { createMachine, type Machine } from "../machine/machine.ts";
import { completeGuestConfig } from "../machine/guest_config.ts";
import { MemoryDiskImage } from "../machine/xen/disk_image.ts";
import type { BlkbackDiskSpec } from "../machine/xen/blkback.ts";
import { Fdt, FdtError, readFdtStringList } from "../lib/fdt/mod.ts";
import { memoryBanks } from "../guest.ts";
import { computeBoardInfo } from "../board/board_setup.ts";
import { Malloc } from "../board/malloc.ts";
import { Hypercalls, type XenDrivers, xenFini, xenInit } from "../drivers/xen/mod.ts";
import { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { PartitionLayer } from "../disk/part.ts";
import { initPvblock, type PvBlockDevice, removePvblock } from "../drivers/pvblock.ts";
import { pvblockCommand } from "../commands/pvblock.ts";
import { fakeContext } from "./fake_context.ts";
import { ensureFixture } from "./fixtures.ts";
import { BLK_EIO } from "../drivers/blk/block_device.ts";

const FDT_HEADER_BYTES = 40;
const SECTOR = 512;
const PAGE = 4096;
const MIB = 1024 * 1024;
/** The part of the fixture copied into the in-memory image: the GPT and the start of the ESP. */
const HEAD_BYTES = 2 * MIB;
/** The second disk: blank, 4 KiB sectors. */
const BLANK_BYTES = 8 * MIB;

class Text {
  text = "";
  puts(t: string): void {
    this.text += t;
  }
}

interface Booted {
  machine: Machine;
  xen: XenDrivers;
  images: MemoryDiskImage[];
  head: Uint8Array;
  blk: BlockRegistry;
  parts: PartitionLayer;
  disks: PvBlockDevice[];
  boot: string;
  /** Where the drivers print after start-up. */
  out: Text;
}

/** The first `length` bytes of the file at `path`. */
async function readHead(path: string, length: number): Promise<{ head: Uint8Array; size: number }> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(Math.min(length, size));
    let done = 0;
    while (done < head.length) {
      const n = await file.read(head.subarray(done));
      if (n === null) break;
      done += n;
    }
    return { head, size };
  } finally {
    file.close();
  }
}

async function boot(options: { ioTimeoutMs?: number } = {}): Promise<Booted> {
  const { head, size } = await readHead(await ensureFixture("gpt"), HEAD_BYTES);
  const images = [
    new MemoryDiskImage({ size, contents: head }),
    new MemoryDiskImage({ size: BLANK_BYTES, sectorSize: 4096 }),
  ];
  const config = completeGuestConfig({
    memoryMiB: 1536,
    disks: [
      { target: "gpt.img", vdev: "xvda", access: "rw", format: "raw" },
      { target: "blank.img", vdev: "xvdb", access: "rw", format: "raw" },
    ],
  });
  const machine = await createMachine(config, {
    readFile: () => Promise.reject(new Error("no files here")),
    openDisk: (disk: BlkbackDiskSpec) => Promise.resolve(images[disk.vdev === "xvda" ? 0 : 1]!),
  });
  const fdtHead = new Fdt(machine.memory.read(machine.entry.x0, FDT_HEADER_BYTES));
  const fdt = new Fdt(machine.memory.read(machine.entry.x0, fdtHead.header("totalsize")));
  const model = fdt.getProperty(0, "model");
  const board = computeBoardInfo({
    banks: memoryBanks(fdt),
    fdtSize: fdt.header("totalsize"),
    model: model instanceof FdtError ? "" : readFdtStringList(model.value)?.[0] ?? "",
    profile: "xenguest",
  });
  const heap = Malloc.forBoard(board);
  const hypercalls = Hypercalls.create(machine, heap);
  const log = new Text();
  const xen = await xenInit(machine, board, fdt, { heap, hypercalls, log: (t) => log.puts(t) });
  const blk = new BlockRegistry();
  const parts = new PartitionLayer();
  const out = new Text();
  const disks = await initPvblock(xen, blk, out, { parts, ...options });
  return { machine, xen, images, head, blk, parts, disks, boot: out.text + log.text, out };
}

Deno.test("both disks connect to the emulated blkback and the GPT is read through the ring", async () => {
  const { disks, blk, parts, boot: text, machine } = await boot();
  assert.equal(text, "PVBLOCK: pvblock: 0, pvblock: 1\n");
  assert.deepEqual(disks.map((d) => [d.blksz, d.lba]), [[512, 50 * 2048], [4096, BLANK_BYTES / 4096]]);
  const ctx = fakeContext([], { memory: machine.memory });
  const command = pvblockCommand(blk, parts);
  assert.equal(await command.run(ctx, ["pvblock", "part", "0"]), 0);
  const map = ctx.console.take();
  assert.match(map, /^\nPartition Map for PV BLOCK device 0 {2}-- {3}Partition Type: EFI\n/);
  assert.match(map, /\n {2}1\t0x00000800\t0x[0-9a-f]{8}\t"ESP"\n/);
  assert.match(map, /"rootfs"\n/);
  assert.match(map, /"blank"\n/);
});

Deno.test("a misaligned read of 11+ pages and a write land where they should", async () => {
  const { disks, images, head, machine } = await boot();
  const address = 0x9000_0200; // sector- but not page-aligned, as on the real board
  const count = 0x60; // 12 pages of data over 13 pages
  assert.equal(await disks[0]!.readToGuest(0x800n, BigInt(count), address), count);
  assert.deepEqual(
    machine.memory.read(address, count * SECTOR),
    head.subarray(0x800 * SECTOR, (0x800 + count) * SECTOR),
  );

  const data = new Uint8Array(3 * PAGE).map((_, i) => (i * 5 + 1) & 0xff);
  machine.memory.write(0x9010_0000, data);
  const blocks = BigInt(data.length / 4096);
  assert.equal(await disks[1]!.writeFromGuest(5n, blocks, 0x9010_0000), Number(blocks));
  assert.deepEqual(await images[1]!.readAt(5 * 4096, data.length), data);
  assert.ok(images[1]!.flushes > 0, "the write was flushed");

  const back = new Uint8Array(data.length);
  assert.equal(await disks[1]!.read(5, Number(blocks), back), Number(blocks));
  assert.deepEqual(back, data);
});

Deno.test("unplugging the disks before xenFini leaves nothing for the next kernel", async () => {
  const { disks, blk, xen, machine } = await boot();
  await disks[0]!.read(0, 1, new Uint8Array(SECTOR));
  const reports = await removePvblock(disks, blk);
  assert.ok(reports.every((r) => r.backendClosed && r.ringGrantEnded && r.leakedPages === 0));
  const fini = await xenFini(xen);
  assert.deepEqual(fini.portsClosed, []);
  assert.deepEqual(fini.grantsInUse, []);
  assert.deepEqual(machine.handoffReport().problems, []);
});

Deno.test("a failing sector is an I/O error with U-Boot's message; the disk stays usable", async () => {
  const { disks, machine, out } = await boot();
  machine.blkbacks[0]!.faults.ioErrorSectors = [0x801];
  out.text = "";
  assert.equal(await disks[0]!.readToGuest(0x800n, 4n, 0x9000_0000), BLK_EIO);
  assert.equal(out.text, "read error -1 on device/vbd/51712 at offset 1048576, num bytes 2048\n");
  machine.blkbacks[0]!.faults.ioErrorSectors = [];
  assert.equal(await disks[0]!.readToGuest(0x800n, 4n, 0x9000_0000), 4);
});

Deno.test("late responses are waited for", async () => {
  const { disks, machine, head } = await boot();
  machine.blkbacks[0]!.faults.delayRounds = 3;
  machine.blkbacks[0]!.faults.delayMs = 20;
  const buf = new Uint8Array(64 * SECTOR);
  assert.equal(await disks[0]!.read(0, 64, buf), 64);
  assert.deepEqual(buf, head.subarray(0, buf.length));
});

Deno.test("a backend that goes away mid-transfer fails the read in bounded time; the hand-over is still clean", async () => {
  const { disks, machine, blk, xen } = await boot({ ioTimeoutMs: 100 });
  machine.blkbacks[0]!.faults.goAwayAfterRequests = 2;
  const buf = new Uint8Array(2 * MIB);
  assert.equal(await disks[0]!.read(0, buf.length / SECTOR, buf), BLK_EIO);
  assert.equal(disks[0]!.lastError?.kind, "timeout");
  const [report] = await removePvblock(disks, blk);
  assert.ok(report!.ringGrantEnded);
  await xenFini(xen);
  assert.deepEqual(machine.handoffReport().problems, []);
});
