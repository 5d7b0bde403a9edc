import assert from "node:assert/strict";
import { aliasChecksum, shortName, slotChars, strncasecmp, toLower } from "./fat_names.ts";
import {
  ATTR_VFAT,
  CASE_LOWER_BASE,
  CASE_LOWER_EXT,
  DIR_ATTR,
  DIR_ENTRY_SIZE,
  DIR_LCASE,
} from "./fat_layout.ts";
import { fatFixture, memoryVolume } from "./_test_oracle.ts";

function entry(name11: string, lcase = 0): Uint8Array {
  const raw = new Uint8Array(DIR_ENTRY_SIZE);
  for (let i = 0; i < 11; i++) raw[i] = name11.charCodeAt(i);
  raw[DIR_LCASE] = lcase;
  return raw;
}

Deno.test("short names drop padding, add a dot only with an extension, and follow the NT case flags", () => {
  assert.equal(shortName(entry("HELLO   TXT")), "HELLO.TXT");
  assert.equal(shortName(entry("HELLO   TXT", CASE_LOWER_BASE | CASE_LOWER_EXT)), "hello.txt");
  assert.equal(shortName(entry("README  TXT", CASE_LOWER_BASE)), "readme.TXT");
  assert.equal(shortName(entry("DIR1       ", CASE_LOWER_BASE)), "dir1");
  assert.equal(shortName(entry(".          ")), ".");
  assert.equal(shortName(entry("..         ")), "..");
  assert.equal(shortName(entry("\x05BC     TXT")), "\xe5BC.TXT");
});

Deno.test("case folding covers ASCII and Latin-1 capitals but not the multiplication sign", () => {
  assert.equal(toLower("ABC\xc0\xde\xd7z"), "abc\xe0\xfe\xd7z");
  assert.equal(strncasecmp("Hello.TXT", "hello.txt", 9), 0);
  assert.notEqual(strncasecmp("dir1/x", "dir10", 5), 0);
  assert.equal(strncasecmp("dir1/x", "DIR1", 4), 0);
  assert.notEqual(strncasecmp("abc", "abcd", 4), 0);
});

Deno.test("slot characters are the low bytes up to the first NUL", () => {
  const slot = new Uint8Array(DIR_ENTRY_SIZE);
  slot[DIR_ATTR] = ATTR_VFAT;
  const units = [0x41, 0x00e9, 0x4e2d, 0x42, 0, 0xffff];
  const offsets = [1, 3, 5, 7, 9, 14];
  units.forEach((u, i) => new DataView(slot.buffer).setUint16(offsets[i]!, u, true));
  assert.equal(slotChars(slot), "A\xe9\x2dB");
});

Deno.test("the alias checksum matches the one mtools wrote into every long-name slot", async () => {
  const { dev, info } = await memoryVolume(await fatFixture("floppy", 0));
  const view = new DataView(dev.bytes.buffer);
  const base = Number(info.start) * 512;
  const rootAt = base +
    (view.getUint16(base + 0x0e, true) + dev.bytes[base + 0x10]! * view.getUint16(base + 0x16, true)) * 512;
  let checked = 0;
  for (let at = rootAt; dev.bytes[at] !== 0; at += DIR_ENTRY_SIZE) {
    if (dev.bytes[at] === 0xe5 || dev.bytes[at + DIR_ATTR] !== ATTR_VFAT || !(dev.bytes[at]! & 0x40)) {
      continue;
    }
    const slots = dev.bytes[at]! & 0x3f;
    const sfn = at + slots * DIR_ENTRY_SIZE;
    assert.equal(aliasChecksum(dev.bytes, sfn), dev.bytes[at + 13]);
    checked++;
  }
  assert.ok(checked >= 3, `${checked} long names checked`);
});
