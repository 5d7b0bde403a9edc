import assert from "node:assert/strict";
import { DOS_PARTITION_DRIVER, MAX_EBR_READS, MAX_EXT_PARTS } from "./part_dos.ts";
import { PART_BOOTABLE, PART_EFI_SYSTEM_PARTITION } from "./part_driver.ts";
import { mbrBlock, putBlock, TextRecorder } from "./_test_disks.ts";
import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";

const dos = DOS_PARTITION_DRIVER;
const NESTED = "** Nested DOS partitions detected, stopping **\n";

/**
 * A disk with p1 (bootable FAT16), slot 2 empty, p3 extended at 100 (200 sectors) and p4 ESP; the
 * extended chain holds logical p5 at 110 (EBR 100) and p6 at 155 (EBR 150).
 */
function chainDisk(devnum = 0): MemoryBlockDevice {
  const disk = new MemoryBlockDevice({ ifType: "pvblock", devnum, lba: 400 });
  putBlock(
    disk,
    0,
    mbrBlock([
      { boot: 0x80, sys: 0x06, start: 10, size: 50 },
      { sys: 0, start: 0, size: 0 },
      { sys: 0x0f, start: 100, size: 200 },
      { sys: 0xef, start: 300, size: 20 },
    ], 0x1234abcd),
  );
  putBlock(disk, 100, mbrBlock([{ sys: 0x83, start: 10, size: 20 }, { sys: 0x05, start: 50, size: 40 }]));
  putBlock(disk, 150, mbrBlock([{ sys: 0x0c, start: 5, size: 10, boot: 0x80 }]));
  return disk;
}

Deno.test("primary slots are numbered by position and logical partitions from 5", async () => {
  const out = new TextRecorder();
  const disk = chainDisk();
  assert.ok(await dos.test(disk));
  const p1 = await dos.getInfo(disk, 1, out);
  assert.deepEqual(p1, {
    start: 10n,
    size: 50n,
    blksz: 512,
    name: "xxa1",
    type: "U-Boot",
    bootable: PART_BOOTABLE,
    uuid: "1234abcd-01",
    sysInd: 0x06,
  });
  assert.equal(await dos.getInfo(disk, 2, out), undefined);
  assert.equal((await dos.getInfo(disk, 3, out))?.start, 100n); // the extended container itself
  assert.equal((await dos.getInfo(disk, 4, out))?.bootable, PART_EFI_SYSTEM_PARTITION);
  const p5 = await dos.getInfo(disk, 5, out);
  assert.equal(p5?.start, 110n);
  assert.equal(p5?.uuid, "1234abcd-05");
  const p6 = await dos.getInfo(disk, 6, out);
  assert.equal(p6?.start, 155n); // EBR 150 = extended start 100 + link 50; entry relative to the EBR
  assert.equal(p6?.bootable, PART_BOOTABLE);
  assert.equal(await dos.getInfo(disk, 7, out), undefined);
  assert.equal(out.text, "");
});

Deno.test("the map lists MBR entries, logical partitions, Extd and Boot marks", async () => {
  const out = new TextRecorder();
  await dos.print(chainDisk(), out);
  assert.equal(
    out.text,
    "Part\tStart Sector\tNum Sectors\tUUID\t\tType\n" +
      "  1\t10        \t50        \t1234abcd-01\t06 Boot\n" +
      "  3\t100       \t200       \t1234abcd-03\t0f Extd\n" +
      "  4\t300       \t20        \t1234abcd-04\tef Boot\n" +
      "  5\t110       \t20        \t1234abcd-05\t83\n" +
      "  6\t155       \t10        \t1234abcd-06\t0c Boot\n",
  );
});

Deno.test("names use the interface prefix and a letter per device number", async () => {
  const out = new TextRecorder();
  assert.equal((await dos.getInfo(chainDisk(1), 5, out))?.name, "xxb5");
  const mmc = new MemoryBlockDevice({ ifType: "mmc", devnum: 2, lba: 400 }, chainDisk().bytes);
  assert.equal((await dos.getInfo(mmc, 1, out))?.name, "mmcsdc1");
});

Deno.test("a bad EBR signature is reported by the map and by lookups", async () => {
  const disk = chainDisk();
  disk.bytes[150 * 512 + 0x1fe] = 0x12;
  disk.bytes[150 * 512 + 0x1ff] = 0x34;
  const out = new TextRecorder();
  await dos.print(disk, out);
  assert.match(out.take(), / {2}5\t110 .*\nbad MBR sector signature 0x1234\n$/);
  assert.equal(await dos.getInfo(disk, 6, out), undefined);
  assert.equal(out.take(), "bad MBR sector signature 0x1234\n");
  assert.equal((await dos.getInfo(disk, 5, out))?.start, 110n);
});

Deno.test("an EBR with a bad boot flag fails the map's table test but not the lookup's signature test", async () => {
  const disk = chainDisk();
  disk.bytes[150 * 512 + 0x1be] = 0x7f;
  const out = new TextRecorder();
  await dos.print(disk, out);
  assert.match(out.take(), /\nbad MBR sector signature 0x55aa\n$/);
  assert.equal(await dos.getInfo(disk, 6, out), undefined);
  assert.equal(out.take(), "");
});

Deno.test("an EBR outside the disk cannot be read", async () => {
  const disk = new MemoryBlockDevice({ devnum: 3, lba: 64 });
  putBlock(disk, 0, mbrBlock([{ sys: 0x05, start: 0x10000000, size: 8 }]));
  const out = new TextRecorder();
  assert.equal(await dos.getInfo(disk, 5, out), undefined);
  assert.equal(out.take(), "** Can't read partition table on 3:268435456 **\n");
  assert.equal((await dos.getInfo(disk, 1, out))?.start, 0x10000000n);
});

Deno.test("an EBR chain looping through partitions stops at number 256", async () => {
  const disk = chainDisk();
  putBlock(disk, 150, mbrBlock([{ sys: 0x0c, start: 5, size: 10 }, { sys: 0x05, start: 0, size: 200 }]));
  const out = new TextRecorder();
  await dos.print(disk, out);
  const lines = out.take().split("\n");
  assert.equal(lines.at(-2), NESTED.trim());
  assert.match(lines.at(-3)!, new RegExp(`^${MAX_EXT_PARTS}\\t`));
  assert.equal(await dos.getInfo(disk, 1000, out), undefined);
  assert.equal(out.take(), NESTED);
  assert.equal((await dos.getInfo(disk, 201, out))?.start, 110n); // odd numbers: EBR 100, even: EBR 150
  assert.equal((await dos.getInfo(disk, 200, out))?.start, 155n);
});

Deno.test("an EBR linking to itself without partitions is bounded (U-Boot never returns)", async () => {
  const disk = new MemoryBlockDevice({ lba: 64 });
  putBlock(disk, 0, mbrBlock([{ sys: 0x05, start: 8, size: 32 }]));
  putBlock(disk, 8, mbrBlock([{ sys: 0x05, start: 0, size: 32 }]));
  const out = new TextRecorder();
  assert.equal(await dos.getInfo(disk, 5, out), undefined);
  assert.equal(out.take(), NESTED);
  await dos.print(disk, out);
  assert.equal(out.take().split(NESTED).length - 1, 1);
});

Deno.test("a tree of EBR links is walked a bounded number of times", async () => {
  const disk = new MemoryBlockDevice({ lba: 64 });
  putBlock(disk, 0, mbrBlock([{ sys: 0x05, start: 8, size: 32 }]));
  const fourLinks = Array.from({ length: 4 }, () => ({ sys: 0x05, start: 0, size: 32 }));
  putBlock(disk, 8, mbrBlock(fourLinks));
  let reads = 0;
  const counting = Object.assign(Object.create(disk) as MemoryBlockDevice, {
    read: (lba: number, count: number, into: Uint8Array) => {
      reads++;
      return disk.read(lba, count, into);
    },
  });
  const out = new TextRecorder();
  await dos.print(counting, out);
  assert.ok(reads <= MAX_EBR_READS + 1, `${reads} reads`);
  assert.equal(out.text.split(NESTED).length - 1, 1);
});

Deno.test("table detection: FAT boot sectors are not tables, an empty table is, bad boot flags are not", async () => {
  const fat = mbrBlock([]);
  fat.set(new TextEncoder().encode("FAT16   "), 0x36);
  assert.equal(await dos.test(MemoryBlockDevice.fromBytes(fat)), false);
  assert.equal(await dos.test(MemoryBlockDevice.fromBytes(mbrBlock([]))), true);
  const badBoot = mbrBlock([{ boot: 0x01, sys: 0x83, start: 1, size: 1 }]);
  assert.equal(await dos.test(MemoryBlockDevice.fromBytes(badBoot)), false);
  assert.equal(
    await dos.test(MemoryBlockDevice.fromBytes(mbrBlock([{ sys: 0x83, start: 1, size: 1 }], 0, 0))),
    false,
  );
  // A FAT32 boot sector whose boot code happens to pass the entry checks is taken for a table.
  const fat32 = mbrBlock([{ sys: 0x83, start: 1, size: 1 }]);
  fat32.set(new TextEncoder().encode("FAT32   "), 0x52);
  assert.equal(await dos.test(MemoryBlockDevice.fromBytes(fat32)), true);
});

Deno.test("a FAT boot sector where an EBR should be describes the whole disk", async () => {
  const disk = new MemoryBlockDevice({ lba: 64 });
  putBlock(disk, 0, mbrBlock([{ sys: 0x05, start: 8, size: 32 }]));
  const pbr = mbrBlock([]);
  pbr.set(new TextEncoder().encode("FAT12   "), 0x36);
  putBlock(disk, 8, pbr);
  const info = await dos.getInfo(disk, 7, new TextRecorder());
  assert.deepEqual([info?.start, info?.size, info?.uuid, info?.bootable], [0n, 64n, "", 0]);
});

Deno.test("with 4096-byte blocks starts and sizes count device blocks", async () => {
  const disk = new MemoryBlockDevice({ lba: 64, blksz: 4096 });
  putBlock(disk, 0, mbrBlock([{ sys: 0x83, start: 8, size: 16 }, { sys: 0x05, start: 24, size: 32 }]));
  putBlock(disk, 24, mbrBlock([{ sys: 0x83, start: 2, size: 4 }]));
  const out = new TextRecorder();
  const p1 = await dos.getInfo(disk, 1, out);
  assert.deepEqual([p1?.start, p1?.size, p1?.blksz], [8n, 16n, 4096]);
  assert.equal((await dos.getInfo(disk, 5, out))?.start, 26n);
});
