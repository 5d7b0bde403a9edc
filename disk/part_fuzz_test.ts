import assert from "node:assert/strict";
import { PartitionLayer } from "./part.ts";
import { blkGetDevicePartStr } from "./device_part_str.ts";
import {
  ESP_TYPE,
  gptDisk,
  LINUX_TYPE,
  mbrBlock,
  putBlock,
  resealEntries,
  TextRecorder,
} from "./_test_disks.ts";
import { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";

/** Iterations per table format: enough to hit loops, wraps and huge counts, quick enough (< 1 s). */
const ITERATIONS = 150;
/** Printed text allowed per iteration: a full 256-entry DOS map with messages is far below this. */
const MAX_OUTPUT = 1 << 20;
const U64_MAX = (1n << 64n) - 1n;

/** xorshift32: the same sequence on every run. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** Probes, prints and resolves every kind of lookup on `disk`; fails on any exception. */
async function exercise(disk: MemoryBlockDevice): Promise<string> {
  const blk = new BlockRegistry();
  blk.register(disk);
  const parts = new PartitionLayer();
  const out = new TextRecorder();
  await parts.probe(disk, out);
  await parts.print(disk, out);
  for (let p = 1; p <= 9; p++) {
    const info = await parts.getInfo(disk, p, out);
    if (info !== undefined) {
      assert.ok(info.start >= 0n && info.start <= U64_MAX && info.size >= 0n && info.size <= U64_MAX);
      assert.ok(info.name.length < 32);
    }
  }
  await parts.getInfoByName(disk, "rootfs", out);
  const lookup = { blk, parts, out };
  await blkGetDevicePartStr(lookup, disk.ifType, "0:auto", true);
  await blkGetDevicePartStr(lookup, disk.ifType, "0", false);
  assert.ok(out.text.length < MAX_OUTPUT, `${out.text.length} bytes printed`);
  return out.text;
}

const DOS_TYPES = [0x00, 0x05, 0x0f, 0x85, 0x83, 0x06, 0xee, 0xef];
const BOOT_FLAGS = [0x00, 0x80, 0x01];

Deno.test("fuzzed DOS tables and EBR chains never throw and stay bounded", async () => {
  const next = rng(0x5eed);
  const lba = 64;
  const tables = [0, 8, 16, 24, 32];
  let dosTables = 0;
  let nested = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const disk = new MemoryBlockDevice({ lba });
    for (const t of tables) {
      const entries = Array.from({ length: 4 }, () => ({
        boot: next(16) === 0 ? BOOT_FLAGS[2]! : BOOT_FLAGS[next(2)]!,
        sys: next(4) === 0 ? next(256) : DOS_TYPES[next(DOS_TYPES.length)]!,
        start: next(8) === 0 ? next(0x100000000) : next(2) ? tables[next(tables.length)]! : next(lba),
        size: next(8) === 0 ? next(0x100000000) : next(lba),
      }));
      putBlock(disk, t, mbrBlock(entries, next(0x100000000), next(6) === 0 ? next(0x10000) : 0xaa55));
    }
    const text = await exercise(disk);
    if (text.includes("Partition Type: DOS")) dosTables++;
    if (text.includes("Nested")) nested++;
  }
  // The generator must reach the interesting cases, or the test proves little.
  assert.ok(dosTables > ITERATIONS / 2, `${dosTables} DOS tables`);
  assert.ok(nested > 0, "no EBR loop was generated");
});

Deno.test("fuzzed GPT headers and entries never throw and stay bounded", async () => {
  const next = rng(0x6e7);
  let listed = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const g = gptDisk({
      lba: 128,
      entries: [
        { type: ESP_TYPE, guid: "5a1e0001-0000-4000-8000-000000000001", start: 40n, end: 49n, name: "ESP" },
        {
          type: LINUX_TYPE,
          guid: "5a1e0002-0000-4000-8000-000000000002",
          start: 50n,
          end: 59n,
          name: "rootfs",
        },
      ],
      numEntries: 16,
    });
    const bytes = g.disk.bytes;
    const view = new DataView(bytes.buffer);
    for (const header of [g.primaryHeader, g.backupHeader]) {
      const field = [12, 24, 40, 48, 72, 80, 84][next(7)]!;
      if (field === 80 || field === 84 || field === 12) {
        view.setUint32(header + field, next(4) ? next(300) : next(0x100000000), true);
      } else {view.setBigUint64(
          header + field,
          BigInt(next(4) ? next(200) : next(0x100000000)) << BigInt(next(2) * 32),
          true,
        );}
      for (let k = next(4); k > 0; k--) bytes[g.primaryEntries + next(16 * 128)] = next(256);
      if (next(3)) {
        resealEntries(bytes, header, header === g.primaryHeader ? g.primaryEntries : g.backupEntries);
      }
    }
    const text = await exercise(g.disk);
    if (/^ {2}1\t/m.test(text)) listed++;
  }
  assert.ok(listed > 0 && listed < ITERATIONS, `${listed} of ${ITERATIONS} tables still readable`);
});
