import assert from "node:assert/strict";
import { crc32, CRC32_POLYNOMIAL } from "./crc32.ts";

/** Bit-by-bit reference CRC-32 (the definition, no tables). */
function referenceCrc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ CRC32_POLYNOMIAL : c >>> 1;
  }
  return ~c >>> 0;
}

Deno.test("crc32 gives the standard check value of '123456789'", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("crc32 of nothing is 0 and keeps a running value unchanged", () => {
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(new Uint8Array(0), 0x12345678), 0x12345678);
});

Deno.test("crc32 matches the bit-by-bit definition for every length up to 40", () => {
  const data = new Uint8Array(40).map((_, i) => (i * 37 + 11) & 0xff);
  for (let length = 0; length <= data.length; length++) {
    assert.equal(
      crc32(data.subarray(0, length)),
      referenceCrc32(data.subarray(0, length)),
      `length ${length}`,
    );
  }
});

Deno.test("crc32 of U-Boot's golden memory pattern is 160db659", () => {
  // 05-mem golden: 0x49000000..0x4900001f after the mw commands.
  const bytes = new Uint8Array(32);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 16; i += 4) view.setUint32(i, 0xdeadbeef, true);
  view.setBigUint64(16, 0x0123456789abcdefn, true);
  view.setBigUint64(24, 0x0123456789abcdefn, true);
  assert.equal(crc32(bytes), 0x160db659);
});

Deno.test("crc32 fed in uneven pieces equals crc32 of the whole", () => {
  const data = new Uint8Array(10_000).map((_, i) => (i * 7919) & 0xff);
  let running = 0;
  for (let start = 0; start < data.length;) {
    const end = Math.min(data.length, start + 1 + (start % 13));
    running = crc32(data.subarray(start, end), running);
    start = end;
  }
  assert.equal(running, crc32(data));
  assert.equal(running, referenceCrc32(data));
});
