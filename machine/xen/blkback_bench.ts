/**
 * Benchmarks for blkback: raw reads of a 64 MiB image file through the backend, driven by the test
 * frontend across the guest boundary (ring, grants, event channel hypercalls), against reading the same
 * bytes straight from the file (the baseline). Through the backend: 1 MiB indirect requests
 * (256 segments, {@linkcode DEFAULT_MAX_INDIRECT_SEGMENTS}) eight at a time, and 44 KiB direct requests
 * (11 segments) a ring at a time. Run with `deno bench --allow-all machine/xen/blkback_bench.ts`.
 *
 * @module
 */

import { DEFAULT_MAX_INDIRECT_SEGMENTS } from "./blkback.ts";
import { openHostDiskImage } from "./host_disk_image.ts";
import {
  BLK,
  DATA_REF,
  directRequest,
  diskMachine,
  indirectRequest,
  type Segment,
  TestBlkfront,
} from "./_blkif_test_frontend.ts";

const MIB = 1024 * 1024;
const IMAGE_BYTES = 64 * MIB;
const SECTOR = 512;
const PAGE = 4096;
const SECTORS_PER_PAGE = PAGE / SECTOR;
/** Indirect requests in flight at once (each has its own indirect page). */
const INDIRECT_BATCH = 8;
const DIRECT_SEGMENTS = 11;
const RING_SIZE = 32;

const path = await Deno.makeTempFile({ suffix: ".img" });
globalThis.addEventListener("unload", () => Deno.removeSync(path));
{
  const file = await Deno.open(path, { write: true });
  const chunk = new Uint8Array(MIB);
  for (let i = 0; i < IMAGE_BYTES / MIB; i++) {
    chunk.fill(i + 1);
    await file.write(chunk);
  }
  file.close();
}

const image = await openHostDiskImage(path, { readOnly: true });
const { guest } = await diskMachine([{ image }]);
const frontend = new TestBlkfront(guest);
await frontend.connect();
const pages = DEFAULT_MAX_INDIRECT_SEGMENTS;
frontend.grantData(0, pages);
const whole = (i: number): Segment => ({ gref: DATA_REF + i, first: 0, last: SECTORS_PER_PAGE - 1 });
const indirectRefs = Array.from(
  { length: INDIRECT_BATCH },
  (_, i) => frontend.indirectPage(i, Array.from({ length: pages }, (_, j) => whole(j))),
);

function check(responses: { status: number }[], expected: number): void {
  if (responses.length !== expected || responses.some((r) => r.status !== BLK.RSP_OKAY)) {
    throw new Error(`Cannot bench: ${responses.length} of ${expected} requests answered OKAY`);
  }
}

Deno.bench({
  name: "read the image file directly, 1 MiB at a time",
  group: "read 64 MiB",
  baseline: true,
  async fn() {
    const file = await Deno.open(path);
    const buffer = new Uint8Array(MIB);
    for (let done = 0; done < IMAGE_BYTES;) {
      const n = await file.read(buffer);
      if (n === null) throw new Error("Cannot bench: the image ends early");
      done += n;
    }
    file.close();
  },
});

Deno.bench({
  name: "blkback, 1 MiB indirect requests, 8 in flight",
  group: "read 64 MiB",
  async fn() {
    const bytes = pages * PAGE;
    for (let offset = 0; offset < IMAGE_BYTES; offset += bytes * INDIRECT_BATCH) {
      const batch = indirectRefs.map((ref, i) =>
        indirectRequest(BLK.OP_READ, BigInt(i), BigInt((offset + i * bytes) / SECTOR), pages, [ref])
      );
      check(await frontend.submit(...batch), batch.length);
    }
  },
});

Deno.bench({
  name: "blkback, 44 KiB direct requests, a ring in flight",
  group: "read 64 MiB",
  async fn() {
    const bytes = DIRECT_SEGMENTS * PAGE;
    const segments = Array.from({ length: DIRECT_SEGMENTS }, (_, i) => whole(i));
    let id = 0n;
    for (let offset = 0; offset < IMAGE_BYTES;) {
      const batch: Uint8Array[] = [];
      for (; batch.length < RING_SIZE && offset < IMAGE_BYTES; offset += bytes) {
        const length = Math.min(bytes, IMAGE_BYTES - offset);
        batch.push(
          directRequest(BLK.OP_READ, id++, BigInt(offset / SECTOR), segments.slice(0, length / PAGE)),
        );
      }
      check(await frontend.submit(...batch), batch.length);
    }
  },
});
