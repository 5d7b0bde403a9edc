import assert from "node:assert/strict";
import { BlockRegistry, DuplicateBlockDeviceError } from "./block_registry.ts";
import { MemoryBlockDevice } from "./memory_block_device.ts";

Deno.test("devices are found by interface and number, and listed in number order", () => {
  const blk = new BlockRegistry();
  const b = new MemoryBlockDevice({ ifType: "pvblock", devnum: 1, lba: 1 });
  const a = new MemoryBlockDevice({ ifType: "pvblock", devnum: 0, lba: 1 });
  const v = new MemoryBlockDevice({ ifType: "virtio", devnum: 0, lba: 1 });
  blk.register(b);
  blk.register(a);
  blk.register(v);
  assert.equal(blk.get("pvblock", 1), b);
  assert.equal(blk.get("virtio", 0), v);
  assert.equal(blk.get("pvblock", 2), undefined);
  assert.equal(blk.get("mmc", 0), undefined);
  assert.deepEqual(blk.list("pvblock"), [a, b]);
  assert.deepEqual(blk.list("mmc"), []);
  assert.deepEqual(blk.interfaces(), ["pvblock", "virtio"]);
});

Deno.test("a number is given once; the next free number follows the highest", () => {
  const blk = new BlockRegistry();
  assert.equal(blk.nextDevnum("pvblock"), 0);
  blk.register(new MemoryBlockDevice({ devnum: 0, lba: 1 }));
  blk.register(new MemoryBlockDevice({ devnum: 3, lba: 1 }));
  assert.equal(blk.nextDevnum("pvblock"), 4);
  assert.throws(() => blk.register(new MemoryBlockDevice({ devnum: 3, lba: 1 })), DuplicateBlockDeviceError);
});

Deno.test("an unregistered device is gone; another device under its number is not removed", () => {
  const blk = new BlockRegistry();
  const dev = new MemoryBlockDevice({ devnum: 0, lba: 1 });
  blk.register(dev);
  assert.equal(blk.unregister(new MemoryBlockDevice({ devnum: 0, lba: 1 })), false);
  assert.equal(blk.unregister(dev), true);
  assert.equal(blk.get("pvblock", 0), undefined);
  assert.deepEqual(blk.interfaces(), []);
});
