/**
 * Format tests on images made by the real tools (scripts/fixtures/: sgdisk, sfdisk, fdisk), read
 * through a host-file block device. The expectations come from util-linux's partx, run on the same
 * image: every partition it lists (start, size, type, UUID, name, flags) must be what the partition
 * layer describes and prints, and no other number may describe a partition.
 */

import assert from "node:assert/strict";
import { PartitionLayer } from "./part.ts";
import { MAX_SEARCH_PARTITIONS, PART_BOOTABLE, PART_EFI_SYSTEM_PARTITION } from "./part_driver.ts";
import { isExtendedType } from "./part_dos.ts";
import { TextRecorder } from "./_test_disks.ts";
import { ensureFixture } from "../tests/fixtures.ts";
import { HostFileBlockDevice } from "../tests/host_file_block_device.ts";
import { partx, type PartxRow } from "./_partx.ts";

const ESP_TYPE = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
const GPT_LEGACY_BIOS_BOOTABLE = 0x4n;
const DOS_ACTIVE = 0x80;

function expectedBootable(row: PartxRow): number {
  if (row.scheme === "gpt") {
    return (row.type === ESP_TYPE ? PART_EFI_SYSTEM_PARTITION : 0) |
      (row.flags & GPT_LEGACY_BIOS_BOOTABLE ? PART_BOOTABLE : 0);
  }
  return (Number(row.type) === 0xef ? PART_EFI_SYSTEM_PARTITION : 0) |
    (Number(row.flags) === DOS_ACTIVE ? PART_BOOTABLE : 0);
}

/** U-Boot's map rows for what partx lists. */
function expectedMapRows(rows: PartxRow[]): string {
  return rows.map((r) => {
    if (r.scheme === "gpt") {
      const hex = (v: bigint, n: number) => v.toString(16).padStart(n, "0");
      return `${String(r.nr).padStart(3)}\t0x${hex(r.start, 8)}\t0x${hex(r.end, 8)}\t"${r.name}"\n` +
        `\tattrs:\t0x${hex(r.flags, 16)}\n\ttype:\t${r.type}\n\tguid:\t${r.uuid}\n`;
    }
    const type = Number(r.type);
    return `${String(r.nr).padStart(3)}\t${String(r.start).padEnd(10)}\t${String(r.sectors).padEnd(10)}\t` +
      `${r.uuid}\t${type.toString(16).padStart(2, "0")}${isExtendedType(type) ? " Extd" : ""}` +
      `${expectedBootable(r) ? " Boot" : ""}\n`;
  }).join("");
}

/** Checks fixture `name` (read with `blksz`-byte blocks as pvblock `devnum`) against partx. */
async function checkAgainstPartx(name: string, blksz: number, table: "EFI" | "DOS", devnum = 0) {
  const image = await ensureFixture(name);
  const rows = await partx(image, blksz);
  assert.ok(rows.length > 0, `partx lists ${name}`);
  const dev = await HostFileBlockDevice.open(image, { ifType: "pvblock", devnum, blksz });
  try {
    const layer = new PartitionLayer();
    const out = new TextRecorder();
    await layer.probe(dev, out);
    assert.equal((await layer.driverFor(dev))?.name, table);
    const byNumber = new Map(rows.map((r) => [r.nr, r]));
    for (let part = 1; part <= MAX_SEARCH_PARTITIONS; part++) {
      const info = await layer.getInfo(dev, part, out);
      const row = byNumber.get(part);
      if (row === undefined) {
        assert.equal(info, undefined, `${name}: partition ${part} should not exist`);
        continue;
      }
      assert.ok(info, `${name}: partition ${part}`);
      assert.equal(info.start, row.start, `${name} p${part} start`);
      assert.equal(info.size, row.sectors, `${name} p${part} size`);
      assert.equal(info.blksz, blksz);
      assert.equal(info.uuid, row.uuid, `${name} p${part} uuid`);
      assert.equal(info.name, table === "EFI" ? row.name : `xx${String.fromCharCode(0x61 + devnum)}${part}`);
      assert.equal(info.bootable, expectedBootable(row), `${name} p${part} bootable`);
    }
    assert.equal(out.take(), "", `${name}: nothing printed while probing`);
    await layer.print(dev, out);
    const header = `\nPartition Map for PV BLOCK device ${devnum}  --   Partition Type: ${table}\n\n` +
      (table === "EFI"
        ? "Part\tStart LBA\tEnd LBA\t\tName\n\tAttributes\n\tType GUID\n\tPartition GUID\n"
        : "Part\tStart Sector\tNum Sectors\tUUID\t\tType\n");
    assert.equal(out.text, header + expectedMapRows(rows));
  } finally {
    dev.close();
  }
}

Deno.test("the sgdisk GPT fixture reads as partx reads it", async () => {
  await checkAgainstPartx("gpt", 512, "EFI");
});

Deno.test("the sfdisk MBR fixture reads as partx reads it, logical p5 included", async () => {
  await checkAgainstPartx("mbr", 512, "DOS", 1);
});

Deno.test("a GPT with a damaged primary header reads from its backup as partx does", async () => {
  await checkAgainstPartx("gpt-backup", 512, "EFI");
});

Deno.test("a DOS table with an empty slot, an 0xEF primary and four logical partitions", async () => {
  await checkAgainstPartx("mbr-logical", 512, "DOS", 2);
});

Deno.test("a GPT on 4096-byte sectors (fdisk -b 4096)", async () => {
  await checkAgainstPartx("gpt-4k", 4096, "EFI");
});

Deno.test("a DOS table on 4096-byte sectors (fdisk -b 4096)", async () => {
  await checkAgainstPartx("mbr-4k", 4096, "DOS", 3);
});

Deno.test("the superfloppy has no partition table", async () => {
  const image = await ensureFixture("floppy");
  assert.deepEqual(await partx(image, 512), []);
  const dev = await HostFileBlockDevice.open(image, { devnum: 2 });
  try {
    const out = new TextRecorder();
    const layer = new PartitionLayer();
    assert.deepEqual(await layer.probe(dev, out), []);
    await layer.print(dev, out);
    assert.equal(out.text, "## Unknown partition table type 0\n");
  } finally {
    dev.close();
  }
});
