import assert from "node:assert/strict";
import { formatSize, hexdumpLine, printBuffer, printSize } from "./display_options.ts";

/** A recording sink; `stopAfter` lines makes `ctrlc()` report Ctrl-C after that many lines. */
function sink(stopAfter = Infinity): { out: string; puts(t: string): void; ctrlc(): boolean } {
  let lines = 0;
  return {
    out: "",
    puts(t: string) {
      this.out += t;
    },
    ctrlc() {
      return ++lines >= stopAfter;
    },
  };
}

Deno.test("formatSize reproduces the sizes U-Boot printed in the goldens", () => {
  // (bytes / ms) * 1000 as `load` computes it, and the DRAM banner.
  const cases: [number, string][] = [
    [1000, "1000 Bytes"],
    [Math.floor(40 / 2) * 1000, "19.5 KiB"],
    [Math.floor(67108864 / 7) * 1000, "8.9 GiB"],
    [Math.floor(3153920 / 3) * 1000, "1002.6 MiB"],
    [Math.floor(3153920 / 2) * 1000, "1.5 GiB"],
    [Math.floor(1304 / 2) * 1000, "636.7 KiB"],
    [Math.floor(415 / 10) * 1000, "40 KiB"],
    [Math.floor(34 / 4) * 1000, "7.8 KiB"],
    [Math.floor(1048576 / 3) * 1000, "333.3 MiB"],
    [0x20000000, "512 MiB"],
    [0x40000000, "1 GiB"],
  ];
  for (const [bytes, text] of cases) assert.equal(formatSize(bytes, ""), text, `${bytes}`);
});

Deno.test("formatSize carries a tenth that rounds to 10 into the whole part", () => {
  assert.equal(formatSize(1048535, ""), "1024 KiB");
  assert.equal(formatSize(1023, "/s"), "1023 Bytes/s");
  assert.equal(formatSize(1024, "\n"), "1 KiB\n");
  assert.equal(formatSize(1n << 62n, ""), "4 EiB");
});

Deno.test("printSize prints the text with its suffix", () => {
  const s = sink();
  printSize(s, 0x60000000, "\n");
  assert.equal(s.out, "1.5 GiB\n");
});

Deno.test("hexdumpLine pads a short byte line so the ASCII column stays aligned", () => {
  const line = hexdumpLine(0x49000013, new Uint8Array([0x89, 0x67, 0x45, 0x23, 0x01]), 1, 5, 16);
  assert.equal(line.text, "49000013: 89 67 45 23 01" + " ".repeat(33) + "  .gE#.");
  assert.equal(line.objects, 5);
});

Deno.test("hexdumpLine reads halfwords little-endian and pads by five columns per missing one", () => {
  const data = new Uint8Array([0xad, 0xde, 0xef, 0xbe, 0xad, 0xde]);
  const line = hexdumpLine(0x49000002, data, 2, 3, 8);
  assert.equal(line.text, "49000002: dead beef dead" + " ".repeat(25) + "  ......");
});

Deno.test("hexdumpLine prints 64-bit objects with 16 digits", () => {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigUint64(0, 0x0123456789abcdefn, true);
  assert.equal(hexdumpLine(0x49000010, data, 8, 1, 1).text, "49000010: 0123456789abcdef  ....gE#.");
});

Deno.test("hexdumpLine limits lines to 64 bytes and defaults to 16", () => {
  const data = new Uint8Array(128);
  assert.equal(hexdumpLine(0, data, 4, 100, 100).objects, 16);
  assert.equal(hexdumpLine(0, data, 1, 100, 0).objects, 16);
});

Deno.test("hexdumpLine refuses data shorter than the objects it shows", () => {
  assert.throws(() => hexdumpLine(0, new Uint8Array(3), 4, 1, 4), RangeError);
});

Deno.test("printBuffer splits into lines of linelen objects with advancing addresses", () => {
  const s = sink();
  const data = new Uint8Array(0x15).map((_, i) => 0x41 + i);
  assert.equal(printBuffer(s, 0x1000, data, 1, 0x15, 16), true);
  assert.deepEqual(s.out.split("\n"), [
    "00001000: 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP",
    "00001010: 51 52 53 54 55" + " ".repeat(33) + "  QRSTU",
    "",
  ]);
});

Deno.test("printBuffer stops after the line during which Ctrl-C was pressed", () => {
  const s = sink(1);
  assert.equal(printBuffer(s, 0, new Uint8Array(64), 4, 16, 4), false);
  assert.equal(s.out.split("\n").length, 2);
});

Deno.test("printBuffer prints nothing for a count of 0", () => {
  const s = sink();
  assert.equal(printBuffer(s, 0, new Uint8Array(0), 1, 0), true);
  assert.equal(s.out, "");
});
