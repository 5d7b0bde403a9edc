import assert from "node:assert/strict";
import {
  blkGetDeviceByStr,
  blkGetDevicePartStr,
  partGetInfoByDevAndNameOrNum,
  type PartLookup,
} from "./device_part_str.ts";
import { PartitionLayer } from "./part.ts";
import { ESP_TYPE, gptDisk, LINUX_TYPE, mbrBlock, putBlock, TextRecorder } from "./_test_disks.ts";
import { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";
import { DEV_TYPE_UNKNOWN } from "../drivers/blk/block_device.ts";

/**
 * pvblock 0: GPT with p1 rootfs (Linux), p2 ESP (bootable by type); pvblock 1: DOS with p1 and a
 * bootable p2; pvblock 2: no table; pvblock 3: empty (0 blocks); pvblock 4: absent (unknown type).
 */
function setup(env: Record<string, string> = {}): PartLookup & { out: TextRecorder } {
  const blk = new BlockRegistry();
  const gpt = gptDisk({
    lba: 300,
    entries: [
      {
        type: LINUX_TYPE,
        guid: "5a1e0001-0000-4000-8000-000000000001",
        start: 40n,
        end: 49n,
        name: "rootfs",
      },
      { type: ESP_TYPE, guid: "5a1e0002-0000-4000-8000-000000000002", start: 50n, end: 59n, name: "ESP" },
    ],
  }).disk;
  blk.register(new MemoryBlockDevice({ devnum: 0, lba: gpt.lba }, gpt.bytes));
  const dos = new MemoryBlockDevice({ devnum: 1, lba: 100 });
  putBlock(
    dos,
    0,
    mbrBlock([{ sys: 0x83, start: 10, size: 20 }, { boot: 0x80, sys: 0x83, start: 30, size: 20 }], 0xfeed),
  );
  blk.register(dos);
  blk.register(new MemoryBlockDevice({ devnum: 2, lba: 2880 }));
  blk.register(new MemoryBlockDevice({ devnum: 3, lba: 0 }));
  blk.register(new MemoryBlockDevice({ devnum: 4, lba: 8, type: DEV_TYPE_UNKNOWN }));
  return { blk, parts: new PartitionLayer(), out: new TextRecorder(), getenv: (name) => env[name] };
}

/** Resolves `spec` and returns [part number or "fail", printed text]. */
async function resolve(spec: string | undefined, allowWhole = true, env: Record<string, string> = {}) {
  const lookup = setup(env);
  const r = await blkGetDevicePartStr(lookup, "pvblock", spec, allowWhole);
  return [r === undefined ? "fail" : r.part, lookup.out.text] as const;
}

Deno.test("dev:part picks the partition; no part means 1; the number is hex", async () => {
  assert.deepEqual(await resolve("0:2"), [2, ""]);
  assert.deepEqual(await resolve("0"), [1, ""]);
  assert.deepEqual(await resolve("0:"), [1, ""]);
  assert.deepEqual(await resolve("0:0x2"), [2, ""]);
  assert.deepEqual(await resolve(":2"), [2, ""]); // an empty device number is 0
  assert.deepEqual(await resolve("0.1:2"), [2, ""]); // hardware partitions are accepted and ignored
});

Deno.test("auto picks the first bootable partition, else the first one", async () => {
  assert.deepEqual(await resolve("0:auto"), [2, ""]); // the ESP type counts as bootable
  assert.deepEqual(await resolve("1:auto"), [2, ""]);
  assert.deepEqual(await resolve("0:ffffffff"), [2, ""]); // (int)-1 is PART_AUTO
  assert.deepEqual(await resolve("0:fffffffe"), [1, ""]); // (int)-2 is PART_UNSPECIFIED
});

Deno.test("bad device strings print U-Boot's messages", async () => {
  assert.deepEqual(await resolve("x:1"), [
    "fail",
    "** Bad device specification pvblock x **\n** Bad device specification pvblock x **\n",
  ]);
  assert.deepEqual(await resolve("9:1"), ["fail", "** Bad device specification pvblock 9 **\n"]);
  assert.deepEqual(await resolve("4"), ["fail", "** Bad device specification pvblock 4 **\n"]);
  assert.deepEqual(await resolve("0.x:1"), [
    "fail",
    "** Bad HW partition specification pvblock x **\n** Bad device specification pvblock 0.x **\n",
  ]);
});

Deno.test("bad and missing partitions print U-Boot's messages", async () => {
  assert.deepEqual(await resolve("0:x"), ["fail", "** Bad partition specification pvblock 0:x **\n"]);
  assert.deepEqual(await resolve("0:1x"), ["fail", "** Bad partition specification pvblock 0:1x **\n"]);
  assert.deepEqual(await resolve("0:0", false), ["fail", "** Bad partition specification pvblock 0:0 **\n"]);
  assert.deepEqual(await resolve("0:9"), ["fail", "** Invalid partition 9 **\n"]);
  assert.deepEqual(await resolve("1:ffffff00"), ["fail", "** Invalid partition -256 **\n"]);
});

Deno.test("without a table the whole disk is used when allowed", async () => {
  assert.deepEqual(await resolve("2"), [0, ""]);
  assert.deepEqual(await resolve("2:auto"), [0, ""]);
  assert.deepEqual(await resolve("2:0"), [0, ""]);
  assert.deepEqual(await resolve("0:0"), [0, ""]); // part 0 is the whole disk even with a table
  assert.deepEqual(await resolve("2:1"), ["fail", "** No partition table - pvblock 2 **\n"]);
  assert.deepEqual(await resolve("2", false), ["fail", "** No partition table - pvblock 2 **\n"]);
  assert.deepEqual(await resolve("3"), ["fail", "** Bad device size - pvblock 3 **\n"]);
  const lookup = setup();
  const whole = await blkGetDevicePartStr(lookup, "pvblock", "2", true);
  assert.equal(whole?.info.name, "Whole Disk");
  assert.equal(whole?.info.size, 2880n);
});

Deno.test("an empty or '-' string means env bootdevice", async () => {
  assert.deepEqual(await resolve("", true, { bootdevice: "0:2" }), [2, ""]);
  assert.deepEqual(await resolve("-", true, { bootdevice: "1" }), [1, ""]);
  assert.deepEqual(await resolve(undefined), ["fail", "** No device specified **\n"]);
});

Deno.test("dev#name finds a partition by name, falling back to dev:part", async () => {
  const lookup = setup();
  const found = await partGetInfoByDevAndNameOrNum(lookup, "pvblock", "0#ESP", true);
  assert.equal(found?.part, 2);
  assert.equal((await partGetInfoByDevAndNameOrNum(lookup, "pvblock", "1#xxb2", true))?.info.start, 30n);
  assert.equal((await partGetInfoByDevAndNameOrNum(lookup, "pvblock", "0:1", true))?.info.name, "rootfs");
  assert.equal(lookup.out.take(), "");
  assert.equal(await partGetInfoByDevAndNameOrNum(lookup, "pvblock", "0#nothere", true), undefined);
  assert.equal(
    lookup.out.take(),
    'Could not find "nothere" partition\n' +
      "** Bad device specification pvblock 0#nothere **\n".repeat(2) +
      "Couldn't find partition pvblock 0#nothere\n",
  );
  await partGetInfoByDevAndNameOrNum(lookup, "pvblock", "x#a", true);
  assert.equal(
    lookup.out.take(),
    "** Bad device specification pvblock x **\n" + "** Bad device specification pvblock x#a **\n".repeat(2) +
      "Couldn't find partition pvblock x#a\n",
  );
  await partGetInfoByDevAndNameOrNum(lookup, "pvblock", "5", true);
  assert.equal(
    lookup.out.take(),
    "** Bad device specification pvblock 5 **\nCouldn't find partition pvblock 5\n",
  );
  await partGetInfoByDevAndNameOrNum(lookup, "pvblock", undefined, true);
  assert.equal(lookup.out.take(), "** No device specified **\nCouldn't find partition pvblock <NULL>\n");
});

Deno.test("looking a device up probes it once, as U-Boot does on first use", async () => {
  const lookup = setup();
  const dev = await blkGetDeviceByStr(lookup, "pvblock", "1");
  assert.ok(dev);
  assert.equal((await lookup.parts.driverFor(dev))?.name, "DOS");
  assert.equal(await blkGetDeviceByStr(lookup, "mmc", "0"), undefined);
  assert.equal(lookup.out.text, "");
});
