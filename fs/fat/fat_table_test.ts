import assert from "node:assert/strict";
import { FatTable } from "./fat_table.ts";
import { fatFixture, memoryVolume } from "./_test_oracle.ts";

Deno.test("FAT12 entries of odd and even clusters change without touching their neighbours", async () => {
  const { volume } = await memoryVolume(await fatFixture("floppy", 0));
  const ctx = volume!.context()!;
  const fat = new FatTable(ctx.io, ctx.geo);
  const before = await Promise.all([10, 11, 12, 13].map((c) => fat.get(c)));
  assert.ok(await fat.set(11, 0xabc));
  assert.ok(await fat.set(12, 0x123));
  assert.deepEqual(await Promise.all([10, 11, 12, 13].map((c) => fat.get(c))), [
    before[0],
    0xabc,
    0x123,
    before[3],
  ]);
});

Deno.test("flush writes changed FAT sectors to every copy, and a fresh table reads them back", async () => {
  for (const [name, part] of [["floppy", 0], ["mbr", 5]] as const) {
    const { dev, volume, info } = await memoryVolume(await fatFixture(name, part));
    const ctx = volume!.context()!;
    const fat = new FatTable(ctx.io, ctx.geo);
    const last = ctx.geo.clusterCount + 1;
    assert.ok(await fat.isFree(last));
    assert.ok(await fat.set(last, 0xff8));
    assert.equal(await fat.flush(), true);
    const again = new FatTable(ctx.io, ctx.geo);
    assert.equal(await again.get(last), 0xff8);
    const fatBytes = ctx.geo.fatLength * ctx.geo.sectSize;
    const first = Number(info.start) * dev.blksz + ctx.geo.fatSect * ctx.geo.sectSize;
    assert.deepEqual(
      dev.bytes.subarray(first, first + fatBytes),
      dev.bytes.subarray(first + fatBytes, first + 2 * fatBytes),
    );
    assert.equal(await fat.get(last + 1), undefined, "no entry past the last cluster");
    assert.equal(await fat.set(1, 5), false, "reserved entries are not data clusters");
  }
});

Deno.test("FAT32 writes keep the reserved high nibble and reads return it", async () => {
  const { volume } = await memoryVolume(await fatFixture("gpt", 1));
  const ctx = volume!.context()!;
  const fat = new FatTable(ctx.io, ctx.geo);
  const last = ctx.geo.clusterCount + 1;
  assert.ok(await fat.set(last, 0xf0000007));
  assert.equal(await fat.get(last), 7);
  assert.ok(fat.isChainEnd(0x0ffffff8) && fat.isChainEnd(0) && fat.isChainEnd(1) && !fat.isChainEnd(2));
});
