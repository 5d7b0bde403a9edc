import assert from "node:assert/strict";
import { fatGeometry, hasFatSignature, parseBootSector, volumeSerial } from "./boot_sector.ts";
import { fatFixture, hostVolume } from "./_test_oracle.ts";

/** `fsck.vfat -n` of the partition's bytes: its "used/total clusters" summary's total. */
async function fsckClusterTotal(image: string, offset: number, bytes: number): Promise<number> {
  const file = await Deno.open(image);
  const copy = await Deno.makeTempFile({ suffix: ".fat" });
  try {
    const data = new Uint8Array(bytes);
    await file.seek(offset, Deno.SeekMode.Start);
    for (let at = 0; at < bytes;) at += (await file.read(data.subarray(at))) ?? bytes;
    await Deno.writeFile(copy, data);
    const result = await new Deno.Command("fsck.vfat", { args: ["-n", copy], stdout: "piped" }).output();
    const m = /(\d+)\/(\d+) clusters/.exec(new TextDecoder().decode(result.stdout));
    assert.ok(m, "fsck.vfat printed a cluster summary");
    return Number(m[2]);
  } finally {
    file.close();
    await Deno.remove(copy);
  }
}

Deno.test("the cluster count matches fsck.vfat's for FAT12, FAT16 and a FAT32 with 1 KiB clusters", async () => {
  for (const [name, part] of [["floppy", 0], ["fat-edge", 1], ["fat-edge", 2], ["fat-edge", 3]] as const) {
    const f = await fatFixture(name, part);
    const { dev, volume } = await hostVolume(f);
    try {
      const ctx = volume!.context()!;
      const bytes = ctx.geo.totalSect * ctx.geo.sectSize;
      assert.equal(ctx.geo.clusterCount, await fsckClusterTotal(f.image, f.offset, bytes), f.label);
    } finally {
      dev.close();
    }
  }
});

Deno.test("a boot sector is FAT by 55 AA and its fs_type, whatever the cluster count says", () => {
  const sector = new Uint8Array(512);
  assert.equal(hasFatSignature(sector), false);
  sector.set([0x55, 0xaa], 0x1fe);
  sector.set(new TextEncoder().encode("FAT32   "), 0x52);
  assert.equal(hasFatSignature(sector), true);
  assert.equal(parseBootSector(sector)?.fatBits, 32);
  sector[0x16] = 1; // a FAT12/16 fat_length: the volume info moves to 0x24, whose fs_type is blank
  assert.equal(parseBootSector(sector), undefined);
  sector.set(new TextEncoder().encode("FAT16   "), 0x36);
  assert.equal(parseBootSector(sector)?.fatBits, 16);
  sector.set([0xcd, 0xab, 0x34, 0x12], 0x27);
  assert.equal(volumeSerial(parseBootSector(sector)!), "1234-ABCD");
});

Deno.test("geometry: clusters are bounded by the partition, the FAT's length and the width", () => {
  const sector = new Uint8Array(512);
  const view = new DataView(sector.buffer);
  sector.set([0x55, 0xaa], 0x1fe);
  sector.set(new TextEncoder().encode("FAT12   "), 0x36);
  view.setUint16(0x0b, 512, true);
  sector[0x0d] = 1;
  view.setUint16(0x0e, 1, true);
  sector[0x10] = 2;
  view.setUint16(0x11, 16, true);
  view.setUint16(0x16, 1, true); // one FAT sector: 341 entries
  view.setUint32(0x20, 100000, true);
  const bs = parseBootSector(sector)!;
  const geo = fatGeometry(bs, 512, 100000n);
  assert.ok(!("message" in geo));
  assert.equal(geo.clusterCount, 341 - 2);
  const small = fatGeometry(bs, 512, 10n); // 4 sectors before the data area, 6 after
  assert.ok(!("message" in small));
  assert.equal(small.clusterCount, 6);
});
