import assert from "node:assert/strict";
import { ADDRESSES, COMMAND_NAMES, DEVICE_NAMES, normaliseOutput, TIMING } from "./normalise.ts";

Deno.test("timing hides the time and rate of loads and writes but keeps the byte count", () => {
  assert.deepEqual(TIMING.apply("32 bytes read in 2 ms (15.6 KiB/s)"), "32 bytes read in <time>");
  assert.deepEqual(TIMING.apply("0 bytes read in 0 ms"), "0 bytes read in <time>");
  assert.deepEqual(TIMING.apply("512 bytes written in 3 ms (166 KiB/s)"), "512 bytes written in <time>");
  assert.deepEqual(TIMING.apply("read in 2 ms"), "read in 2 ms");
});

Deno.test("device names read virtio as pvblock, VirtIO as PV BLOCK, and the disk description as Xen's", () => {
  assert.deepEqual(
    DEVICE_NAMES.apply("Partition Map for VirtIO device 0\n** Bad device specification virtio 9 **"),
    "Partition Map for PV BLOCK device 0\n** Bad device specification pvblock 9 **",
  );
  assert.deepEqual(
    DEVICE_NAMES.apply("Device 0: QEMU VirtIO Block Device"),
    "Device 0: Vendor: Xen Rev: 1 Prod: Virtual disk",
  );
});

Deno.test("command names turn the word pvblock into virtio and leave other words alone", () => {
  assert.deepEqual(
    COMMAND_NAMES.apply("fatls pvblock 0:1; echo mypvblock"),
    "fatls virtio 0:1; echo mypvblock",
  );
});

Deno.test("addresses masks 8- and 16-digit hex numbers with or without 0x, not shorter ones", () => {
  assert.deepEqual(
    ADDRESSES.apply("Loading Device Tree to 000000005dda6000, end 000000005dda9517 ... OK"),
    "Loading Device Tree to <addr>, end <addr> ... OK",
  );
  assert.deepEqual(
    ADDRESSES.apply("Moving Image from 0x40480000 to 0x40600000"),
    "Moving Image from <addr> to <addr>",
  );
  assert.deepEqual(ADDRESSES.apply("size 0x1000 and 1234567"), "size 0x1000 and 1234567");
});

Deno.test("the u-boot side gets device names; pvboot's side does not", () => {
  const out = "virtio read: device 0\r\n";
  assert.deepEqual(normaliseOutput("u-boot", out, { addresses: false }), "pvblock read: device 0\n");
  assert.deepEqual(normaliseOutput("pvboot", out, { addresses: false }), "virtio read: device 0\n");
});

Deno.test("addresses apply only when the case asks for them", () => {
  const out = "Working FDT set to 5dda6000\n";
  assert.deepEqual(normaliseOutput("pvboot", out, { addresses: false }), out);
  assert.deepEqual(normaliseOutput("pvboot", out, { addresses: true }), "Working FDT set to <addr>\n");
});
