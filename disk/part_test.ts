import assert from "node:assert/strict";
import { PartitionLayer, partitionMapHeader, wholeDiskInfo } from "./part.ts";
import { DOS_PARTITION_DRIVER } from "./part_dos.ts";
import { EFI_PARTITION_DRIVER } from "./part_efi.ts";
import { PART_TYPE_DOS, PART_TYPE_EFI, PART_TYPE_UNKNOWN } from "./part_driver.ts";
import { ESP_TYPE, gptDisk, LINUX_TYPE, mbrBlock, putBlock, TextRecorder } from "./_test_disks.ts";
import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";

function dosDisk(devnum = 1): MemoryBlockDevice {
  const disk = new MemoryBlockDevice({ ifType: "pvblock", devnum, lba: 400 });
  putBlock(
    disk,
    0,
    mbrBlock([{ sys: 0x83, start: 10, size: 20 }, { sys: 0x83, start: 30, size: 20 }], 0xabcd),
  );
  return disk;
}

Deno.test("EFI is tried before DOS: a protective MBR is also a valid DOS table", async () => {
  const { disk } = gptDisk({
    lba: 200,
    entries: [{ type: ESP_TYPE, guid: "5a1e0001-0000-4000-8000-000000000001", start: 40n, end: 79n }],
  });
  assert.ok(await DOS_PARTITION_DRIVER.test(disk));
  const layer = new PartitionLayer();
  assert.equal((await layer.driverFor(disk))?.name, "EFI");
  assert.equal(layer.partType(disk), PART_TYPE_EFI);
  const dosFirst = new PartitionLayer([DOS_PARTITION_DRIVER, EFI_PARTITION_DRIVER]);
  assert.equal((await dosFirst.driverFor(disk))?.name, "DOS");
});

Deno.test("the table type found at probe time is kept until the next probe", async () => {
  const disk = dosDisk();
  const layer = new PartitionLayer();
  const out = new TextRecorder();
  assert.deepEqual(await layer.probe(disk, out), [1, 2]);
  assert.equal(layer.partType(disk), PART_TYPE_DOS);
  disk.bytes.fill(0, 0, 512); // the table is wiped after probing
  assert.equal((await layer.driverFor(disk))?.name, "DOS");
  const print = new TextRecorder();
  await layer.print(disk, print);
  assert.match(print.text, /Partition Type: DOS\n\nPart\tStart Sector/);
  await layer.probe(disk, out);
  assert.equal(layer.partType(disk), PART_TYPE_UNKNOWN);
  assert.equal(out.text, "");
});

Deno.test("a device without a table is tested again at each use", async () => {
  const disk = new MemoryBlockDevice({ lba: 400 });
  const layer = new PartitionLayer();
  const out = new TextRecorder();
  assert.deepEqual(await layer.probe(disk, out), []);
  await layer.print(disk, out);
  assert.equal(out.take(), "## Unknown partition table type 0\n");
  putBlock(disk, 0, dosDisk().bytes.subarray(0, 512));
  assert.equal((await layer.getInfo(disk, 2, out))?.start, 30n);
  assert.equal(layer.partType(disk), PART_TYPE_DOS);
});

Deno.test("probing looks at partitions 1-128, printing what the driver prints", async () => {
  const disk = dosDisk();
  putBlock(disk, 0, mbrBlock([{ sys: 0x83, start: 10, size: 20 }, { sys: 0x05, start: 100, size: 50 }]));
  const out = new TextRecorder();
  const found = await new PartitionLayer().probe(disk, out);
  assert.deepEqual(found, [1, 2]);
  // Block 100 has no signature: each of partitions 3 .. 128 walks to it and complains.
  assert.equal(out.text, "bad MBR sector signature 0x0000\n".repeat(126));
});

Deno.test("ensureProbed probes a device once", async () => {
  const disk = dosDisk();
  let reads = 0;
  const counting = Object.assign(Object.create(disk) as MemoryBlockDevice, {
    read: (lba: number, count: number, into: Uint8Array) => {
      reads++;
      return disk.read(lba, count, into);
    },
  });
  const layer = new PartitionLayer();
  await layer.ensureProbed(counting, new TextRecorder());
  const afterFirst = reads;
  await layer.ensureProbed(counting, new TextRecorder());
  assert.ok(afterFirst > 0);
  assert.equal(reads, afterFirst);
});

Deno.test("the map header names the interface, device and table", async () => {
  const out = new TextRecorder();
  await new PartitionLayer().print(dosDisk(1), out);
  assert.ok(out.text.startsWith("\nPartition Map for PV BLOCK device 1  --   Partition Type: DOS\n\nPart\t"));
  const virtio = new MemoryBlockDevice({ ifType: "virtio", devnum: 0, lba: 1 });
  assert.equal(
    partitionMapHeader(virtio, "EFI"),
    "\nPartition Map for VirtIO device 0  --   Partition Type: EFI\n\n",
  );
});

Deno.test("a name is looked up among 1..max_entries-1 and the search ends at the first gap", async () => {
  const out = new TextRecorder();
  const { disk } = gptDisk({
    lba: 300,
    entries: [
      { type: LINUX_TYPE, guid: "5a1e0001-0000-4000-8000-000000000001", start: 40n, end: 49n, name: "one" },
      { type: LINUX_TYPE, guid: "5a1e0002-0000-4000-8000-000000000002", start: 50n, end: 59n, name: "two" },
      {
        slot: 3,
        type: LINUX_TYPE,
        guid: "5a1e0004-0000-4000-8000-000000000004",
        start: 60n,
        end: 69n,
        name: "four",
      },
    ],
  });
  const layer = new PartitionLayer();
  assert.equal((await layer.getInfoByName(disk, "two", out))?.part, 2);
  assert.equal(await layer.getInfoByName(disk, "four", out), undefined);
  // DOS: max_entries 8, so xxb8 is never found even when it exists.
  const dos = new MemoryBlockDevice({ devnum: 1, lba: 400 });
  putBlock(
    dos,
    0,
    mbrBlock(
      [1, 2, 3].map((i) => ({ sys: 0x83, start: i * 10, size: 5 })).concat([
        { sys: 0x05, start: 100, size: 200 },
      ]),
    ),
  );
  for (let i = 0; i < 4; i++) {
    const links = i < 3 ? [{ sys: 0x05, start: 20 * (i + 1), size: 20 }] : [];
    putBlock(dos, 100 + 20 * i, mbrBlock([{ sys: 0x83, start: 2, size: 4 }, ...links]));
  }
  assert.equal((await layer.getInfoByName(dos, "xxb7", out))?.part, 7);
  assert.equal((await layer.getInfo(dos, 8, out))?.name, "xxb8");
  assert.equal(await layer.getInfoByName(dos, "xxb8", out), undefined);
  assert.equal(out.text, "");
});

Deno.test("the whole disk is a U-Boot partition named Whole Disk", () => {
  const info = wholeDiskInfo(new MemoryBlockDevice({ lba: 2880 }));
  assert.deepEqual([info.start, info.size, info.name, info.type, info.uuid], [
    0n,
    2880n,
    "Whole Disk",
    "U-Boot",
    "",
  ]);
});

Deno.test("the xenguest board session's pvblock maps, with the DOS driver only (its build has no EFI)", async () => {
  const session = await Deno.readTextFile(
    new URL("../tests/reference/xenguest-board-session.txt", import.meta.url),
  );
  // Device 0's MBR tail as the session dumped it (md.b 0x900001b8 0x48 after reading block 0).
  const dump = session.slice(session.indexOf("xenguest# md.b 0x900001b8 0x48\n"));
  const mbr = new Uint8Array(512);
  for (const m of dump.matchAll(/^9000([0-9a-f]{4}): ((?:[0-9a-f]{2} )+)/gm).take(5)) {
    m[2]!.trim().split(" ").forEach((b, i) => mbr[parseInt(m[1]!, 16) + i] = parseInt(b, 16));
  }
  const dos = new MemoryBlockDevice({ ifType: "pvblock", devnum: 0, lba: 32768 });
  putBlock(dos, 0, mbr);
  // Device 1 is a GPT disk of the same size: without EFI its protective MBR reads as a DOS table.
  const gpt = gptDisk({ lba: 32768, entries: [] }).disk;
  const layer = new PartitionLayer([DOS_PARTITION_DRIVER]);
  const maps = session.slice(session.indexOf("xenguest# pvblock part\n") + "xenguest# pvblock part\n".length);
  const expected = maps.slice(0, maps.indexOf("xenguest# ")).split("\n\n\n").map((m, i) =>
    (i ? "\n" : "") + m
  );
  for (const [i, disk] of [dos, new MemoryBlockDevice({ devnum: 1, lba: gpt.lba }, gpt.bytes)].entries()) {
    const out = new TextRecorder();
    await layer.print(disk, out);
    assert.equal(out.text, expected[i] + (i === 0 ? "\n" : ""), `device ${i}`);
  }
});
