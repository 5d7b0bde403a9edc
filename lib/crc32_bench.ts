/**
 * Benchmark for {@linkcode crc32}: the slicing-by-8 implementation against a one-table, byte-at-a-time
 * loop over 16 MiB. Run with `deno bench lib/crc32_bench.ts`.
 *
 * @module
 */

import { crc32, CRC32_POLYNOMIAL } from "./crc32.ts";

const DATA = new Uint8Array(16 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24);

const ONE_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ CRC32_POLYNOMIAL : c >>> 1;
  return c;
});

function byteAtATime(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = (c >>> 8) ^ ONE_TABLE[(c ^ data[i]!) & 0xff]!;
  return ~c >>> 0;
}

Deno.bench("crc32 slicing-by-8, 16 MiB", { baseline: true }, () => {
  crc32(DATA);
});

Deno.bench("crc32 one table byte at a time, 16 MiB", () => {
  byteAtATime(DATA);
});
