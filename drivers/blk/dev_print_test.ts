import assert from "node:assert/strict";
import { devPrint, formatCapacity, formatDevice } from "./dev_print.ts";
import { MemoryBlockDevice } from "./memory_block_device.ts";
import { DEV_TYPE_CDROM, DEV_TYPE_UNKNOWN } from "./block_device.ts";
import blockdevGolden from "../../tests/reference/15-blockdev.json" with { type: "json" };

const BOARD_SESSION = new URL("../../tests/reference/xenguest-board-session.txt", import.meta.url);

/** Splits `Device N: ...` descriptions (three lines each) out of a transcript. */
function descriptions(text: string): { devnum: number; text: string; lba: number; blksz: number }[] {
  const re = /Device (\d+): (.*\n {12}Type: .*\n {12}Capacity: .*\((\d+) x (\d+)\)\n)/g;
  return [...text.matchAll(re)].map((m) => ({
    devnum: Number(m[1]),
    text: m[2]!,
    lba: Number(m[3]),
    blksz: Number(m[4]),
  }));
}

Deno.test("dev_print reproduces the virtio device lines of the 15-blockdev golden", () => {
  const info = blockdevGolden.results.find((r) => r.cmd === "virtio info");
  assert.ok(info);
  const devices = descriptions(info.out);
  assert.equal(devices.length, 4);
  for (const d of devices) {
    const dev = new MemoryBlockDevice({
      ifType: "virtio",
      devnum: d.devnum,
      lba: d.lba,
      blksz: d.blksz,
      vendor: "QEMU",
    });
    assert.equal(formatDevice(dev), d.text);
  }
});

Deno.test("dev_print reproduces the pvblock lines of the xenguest board session", async () => {
  const devices = descriptions(await Deno.readTextFile(BOARD_SESSION));
  assert.ok(devices.length >= 2);
  for (const d of devices) {
    const dev = new MemoryBlockDevice({ ifType: "pvblock", devnum: d.devnum, lba: d.lba, blksz: d.blksz });
    const out = {
      text: "",
      puts(t: string) {
        this.text += t;
      },
    };
    devPrint(out, dev);
    assert.equal(out.text, d.text);
  }
});

Deno.test("capacity counts 512-byte units and truncates tenths", () => {
  // 1 GiB = 2097152 units of 512: 1024.0 MB = 1.0 GB; the same bytes with 4 KiB blocks print alike.
  assert.equal(formatCapacity(2097152, 512), "Capacity: 1024.0 MB = 1.0 GB (2097152 x 512)\n");
  assert.equal(formatCapacity(262144, 4096), "Capacity: 1024.0 MB = 1.0 GB (262144 x 4096)\n");
  // 2880 units: 28800 >> 11 = 14 tenths (1.40625 MB truncated).
  assert.equal(formatCapacity(2880, 512), "Capacity: 1.4 MB = 0.0 GB (2880 x 512)\n");
  assert.equal(formatCapacity(0, 512), "Capacity: not available\n");
});

Deno.test("dev_print shows removable media, other types and absent devices", () => {
  const cd = new MemoryBlockDevice({ lba: 8, type: DEV_TYPE_CDROM, removable: true });
  assert.match(formatDevice(cd), /\n {12}Type: Removable CD ROM\n/);
  assert.match(formatDevice(new MemoryBlockDevice({ lba: 8, type: 0x0e })), /Type: # 0E #\n/);
  assert.equal(formatDevice(new MemoryBlockDevice({ lba: 8, type: DEV_TYPE_UNKNOWN })), "not available\n");
  assert.match(formatDevice(new MemoryBlockDevice({ lba: 0 })), /Capacity: not available\n$/);
});
