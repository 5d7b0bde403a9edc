import assert from "node:assert/strict";
import { EFI_PARTITION_DRIVER, efiName, MAX_GPT_ENTRY_ARRAY_BYTES } from "./part_efi.ts";
import { PART_BOOTABLE, PART_EFI_SYSTEM_PARTITION } from "./part_driver.ts";
import {
  ESP_TYPE,
  flip,
  gptDisk,
  type GptEntry,
  LINUX_TYPE,
  mbrBlock,
  putBlock,
  resealEntries,
  resealHeader,
  TextRecorder,
} from "./_test_disks.ts";
import type { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";

const efi = EFI_PARTITION_DRIVER;

const ENTRIES: readonly GptEntry[] = [
  { type: ESP_TYPE, guid: "5a1e0001-0000-4000-8000-000000000001", start: 40n, end: 79n, name: "ESP" },
  {
    type: LINUX_TYPE,
    guid: "5a1e0002-0000-4000-8000-000000000002",
    start: 80n,
    end: 119n,
    name: "rootfs",
    attrs: 0x8000000000000004n,
  },
  { slot: 3, type: LINUX_TYPE, guid: "5a1e0004-0000-4000-8000-000000000004", start: 120n, end: 127n },
];

function sample(blksz = 512) {
  return gptDisk({ lba: 200, blksz, entries: ENTRIES });
}

/** What get_info says of partitions 1..n as [start, size, name] (undefined for none). */
async function infos(disk: MemoryBlockDevice, n: number) {
  const out = new TextRecorder();
  const rows = [];
  for (let p = 1; p <= n; p++) {
    const i = await efi.getInfo(disk, p, out);
    rows.push(i === undefined ? undefined : [i.start, i.size, i.name]);
  }
  assert.equal(out.text, "");
  return rows;
}

const EXPECTED_ROWS = [[40n, 40n, "ESP"], [80n, 40n, "rootfs"], undefined, [120n, 8n, ""], undefined];

Deno.test("a GPT gives starts, inclusive-end sizes, names, UUIDs and bootable flags", async () => {
  const { disk } = sample();
  assert.ok(await efi.test(disk));
  assert.deepEqual(await infos(disk, 5), EXPECTED_ROWS);
  const out = new TextRecorder();
  const esp = await efi.getInfo(disk, 1, out);
  assert.equal(esp?.uuid, "5a1e0001-0000-4000-8000-000000000001");
  assert.equal(esp?.bootable, PART_EFI_SYSTEM_PARTITION);
  assert.equal(esp?.blksz, 512);
  assert.equal((await efi.getInfo(disk, 2, out))?.bootable, PART_BOOTABLE);
  assert.equal(await efi.getInfo(disk, 0, out), undefined);
  assert.equal(await efi.getInfo(disk, 129, out), undefined);
});

Deno.test("the map skips unused entries and prints attributes and GUIDs", async () => {
  const out = new TextRecorder();
  await efi.print(sample().disk, out);
  assert.equal(
    out.text,
    "Part\tStart LBA\tEnd LBA\t\tName\n\tAttributes\n\tType GUID\n\tPartition GUID\n" +
      '  1\t0x00000028\t0x0000004f\t"ESP"\n\tattrs:\t0x0000000000000000\n' +
      `\ttype:\t${ESP_TYPE}\n\tguid:\t5a1e0001-0000-4000-8000-000000000001\n` +
      '  2\t0x00000050\t0x00000077\t"rootfs"\n\tattrs:\t0x8000000000000004\n' +
      `\ttype:\t${LINUX_TYPE}\n\tguid:\t5a1e0002-0000-4000-8000-000000000002\n` +
      '  4\t0x00000078\t0x0000007f\t""\n\tattrs:\t0x0000000000000000\n' +
      `\ttype:\t${LINUX_TYPE}\n\tguid:\t5a1e0004-0000-4000-8000-000000000004\n`,
  );
});

Deno.test("a damaged primary header or entry array falls back to the backup, silently", async () => {
  for (const damage of ["header", "entries"] as const) {
    const g = sample();
    flip(g.disk.bytes, damage === "header" ? g.primaryHeader + 56 : g.primaryEntries + 60);
    assert.deepEqual(await infos(g.disk, 5), EXPECTED_ROWS, damage);
    const out = new TextRecorder();
    await efi.print(g.disk, out);
    assert.match(out.text, /^Part\tStart LBA/);
  }
});

Deno.test("with both headers damaged the disk is still EFI but has no partitions", async () => {
  const g = sample();
  flip(g.disk.bytes, g.primaryHeader + 56);
  flip(g.disk.bytes, g.backupHeader + 56);
  assert.ok(await efi.test(g.disk));
  assert.deepEqual(await infos(g.disk, 2), [undefined, undefined]);
  const out = new TextRecorder();
  await efi.print(g.disk, out);
  assert.equal(out.text, "");
});

Deno.test("a ChromeOS IGNOREME primary header sends readers to the backup", async () => {
  const g = sample();
  g.disk.bytes.set(new TextEncoder().encode("IGNOREME"), g.primaryHeader);
  assert.deepEqual(await infos(g.disk, 5), EXPECTED_ROWS);
});

Deno.test("only a 0xEE entry starting at block 1 makes the protective MBR", async () => {
  const { disk } = sample();
  putBlock(disk, 0, mbrBlock([{ sys: 0x83, start: 1, size: 100 }]));
  assert.equal(await efi.test(disk), false);
  putBlock(disk, 0, mbrBlock([{ sys: 0x83, start: 1, size: 100 }, { sys: 0xee, start: 2, size: 100 }]));
  assert.equal(await efi.test(disk), false);
  putBlock(disk, 0, mbrBlock([{ sys: 0x83, start: 1, size: 100 }, { sys: 0xee, start: 1, size: 100 }]));
  assert.equal(await efi.test(disk), true);
  putBlock(disk, 0, mbrBlock([{ sys: 0xee, start: 1, size: 100 }], 0, 0));
  assert.equal(await efi.test(disk), false);
});

/** The sample with its primary header edited (and resealed) and its backup destroyed. */
function editedPrimary(edit: (view: DataView, at: number) => void, resealArray = false) {
  const g = sample();
  const view = new DataView(g.disk.bytes.buffer);
  edit(view, g.primaryHeader);
  if (resealArray) resealEntries(g.disk.bytes, g.primaryHeader, g.primaryEntries);
  else resealHeader(g.disk.bytes, g.primaryHeader);
  g.disk.bytes.fill(0, g.backupHeader, g.backupHeader + 8);
  return g;
}

Deno.test("header checks: my_lba, usable bounds, header size", async () => {
  const cases: [string, (v: DataView, at: number) => void, boolean][] = [
    ["my_lba elsewhere", (v, at) => v.setBigUint64(at + 24, 5n, true), false],
    ["first usable past the disk", (v, at) => v.setBigUint64(at + 40, 201n, true), false],
    ["last usable past the disk", (v, at) => v.setBigUint64(at + 48, 201n, true), false],
    ["last usable at the block count", (v, at) => v.setBigUint64(at + 48, 200n, true), true],
    ["header larger than a block", (v, at) => v.setUint32(at + 12, 513, true), false],
    ["header of a whole block", (v, at) => v.setUint32(at + 12, 512, true), true],
  ];
  for (const [what, edit, valid] of cases) {
    const g = editedPrimary(edit);
    assert.equal((await infos(g.disk, 1))[0] !== undefined, valid, what);
  }
});

Deno.test("entry counts and sizes from the header are bounded", async () => {
  const cases: [string, (v: DataView, at: number) => void, boolean][] = [
    ["no entries", (v, at) => v.setUint32(at + 80, 0, true), false],
    ["a product that wraps to zero", (v, at) => {
      v.setUint32(at + 80, 0x01000000, true);
      v.setUint32(at + 84, 0x100, true);
    }, false],
    [
      "an array over the limit",
      (v, at) => v.setUint32(at + 80, MAX_GPT_ENTRY_ARRAY_BYTES / 128 + 1, true),
      false,
    ],
    ["an array past the disk", (v, at) => v.setBigUint64(at + 72, 0x7fffffffn, true), false],
    ["256-byte entries, read at U-Boot's 128-byte stride", (v, at) => {
      v.setUint32(at + 80, 64, true);
      v.setUint32(at + 84, 256, true);
    }, true],
  ];
  for (const [what, edit, valid] of cases) {
    const g = editedPrimary(edit, true);
    assert.equal((await infos(g.disk, 1))[0] !== undefined, valid, what);
  }
});

Deno.test("entries beyond the array read are absent", async () => {
  const entries: GptEntry[] = [
    { type: LINUX_TYPE, guid: "5a1e0001-0000-4000-8000-000000000001", start: 40n, end: 41n },
    { slot: 5, type: LINUX_TYPE, guid: "5a1e0006-0000-4000-8000-000000000006", start: 42n, end: 43n },
  ];
  // 8 entries of 64 bytes fill one block: U-Boot indexes 128-byte entries 0..7, of which 4..7 lie
  // past what it read (it would print whatever memory follows); pvboot treats them as unused.
  const g = gptDisk({ lba: 100, numEntries: 8, entrySize: 64, entries });
  const out = new TextRecorder();
  await efi.print(g.disk, out);
  assert.equal(out.text.match(/^ +\d+\t/gm)?.length, 1);
  assert.equal(await efi.getInfo(g.disk, 5, out), undefined);
});

Deno.test("names print low bytes, dots for control bytes, Latin-1 as is; lookups cut them to 31", async () => {
  const units = [0x41, 0x01, 0x7f, 0x80, 0x9f, 0xa0, 0xe9, 0xff, 0x141, 0x20, 0x7e, 0x09, 0x100, 0x42];
  const g = gptDisk({
    lba: 200,
    entries: [
      { type: LINUX_TYPE, guid: "5a1e0001-0000-4000-8000-000000000001", start: 40n, end: 41n, name: units },
      {
        type: LINUX_TYPE,
        guid: "5a1e0002-0000-4000-8000-000000000002",
        start: 42n,
        end: 43n,
        name: "x".repeat(36),
      },
    ],
  });
  const out = new TextRecorder();
  const first = await efi.getInfo(g.disk, 1, out);
  assert.equal(first?.name, "A....\xa0\xe9\xffA ~.");
  const second = await efi.getInfo(g.disk, 2, out);
  assert.equal(second?.name, "x".repeat(31));
  await efi.print(g.disk, out);
  assert.match(out.text, new RegExp(`"${"x".repeat(36)}"`));
  assert.equal(efiName(new Uint8Array(128)), "");
});

Deno.test("sizes are u64 arithmetic: an end before the start wraps", async () => {
  const g = gptDisk({
    lba: 200,
    entries: [{ type: LINUX_TYPE, guid: "5a1e0001-0000-4000-8000-000000000001", start: 50n, end: 40n }],
  });
  const info = await efi.getInfo(g.disk, 1, new TextRecorder());
  assert.equal(info?.size, (1n << 64n) - 9n);
});

Deno.test("a GPT on 4096-byte blocks is read at block 1 and its entries at block 2", async () => {
  const g = sample(4096);
  assert.equal(g.primaryHeader, 4096);
  assert.deepEqual(await infos(g.disk, 5), EXPECTED_ROWS);
  assert.equal((await efi.getInfo(g.disk, 1, new TextRecorder()))?.blksz, 4096);
});
