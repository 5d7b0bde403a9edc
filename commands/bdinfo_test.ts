import assert from "node:assert/strict";
import { computeBoardInfo } from "../board/board_setup.ts";
import { fakeContext, TEST_BOARD } from "../tests/fake_context.ts";
import { bdinfoCommand, bdinfoText } from "./bdinfo.ts";

/** The board of the example in U-Boot's doc/usage/cmd/bdinfo.rst (qemu_arm64, 4 GiB). */
const DOC_BOARD = computeBoardInfo({
  banks: [{ start: 0x40000000, size: 0x100000000 }],
  fdtSize: 0x100000,
  model: "linux,dummy-virt",
  profile: "default",
  ubootSize: 0xf5000,
  efiEarlyPages: 7,
});

Deno.test("bdinfo prints the documented qemu_arm64 example, without network and flash", () => {
  assert.equal(
    bdinfoText(DOC_BOARD),
    [
      "boot_params = 0x0000000000000000",
      "DRAM bank   = 0x0000000000000000",
      "-> start    = 0x0000000040000000",
      "-> size     = 0x0000000100000000",
      "flashstart  = 0x0000000000000000",
      "flashsize   = 0x0000000000000000",
      "flashoffset = 0x0000000000000000",
      "baudrate    = 115200 bps",
      "relocaddr   = 0x000000013fefb000",
      "reloc off   = 0x000000013fefb000",
      "Build       = 64-bit",
      "fdt_blob    = 0x000000013edbadb0",
      "new_fdt     = 0x000000013edbadb0",
      "fdt_size    = 0x0000000000100000",
      "lmb_dump_all:",
      " memory.cnt  = 0x1",
      " memory[0]\t[0x40000000-0x13fffffff], 0x100000000 bytes flags: 0",
      " reserved.cnt  = 0x2",
      " reserved[0]\t[0x13ddb3000-0x13fffffff], 0x0224d000 bytes flags: 0",
      " reserved[1]\t[0x13edb6930-0x13fffffff], 0x012496d0 bytes flags: 0",
      "devicetree  = board",
      "arch_number = 0x0000000000000000",
      "TLB addr    = 0x000000013fff0000",
      "irq_sp      = 0x000000013edbada0",
      "sp start    = 0x000000013edbada0",
      "Early malloc usage: 3a8 / 2000",
      "",
    ].join("\n"),
  );
});

Deno.test("bdinfo lists every RAM bank but gives the lmb only the first", () => {
  const board = computeBoardInfo({
    banks: [{ start: 0x40000000, size: 0x20000000 }, { start: 0x200000000, size: 0x40000000 }],
    fdtSize: 0x578,
    model: "XENVM-4.17",
    profile: "xenguest",
  });
  const lines = bdinfoText(board).split("\n");
  assert.deepEqual(lines.slice(1, 7), [
    "DRAM bank   = 0x0000000000000000",
    "-> start    = 0x0000000040000000",
    "-> size     = 0x0000000020000000",
    "DRAM bank   = 0x0000000000000001",
    "-> start    = 0x0000000200000000",
    "-> size     = 0x0000000040000000",
  ]);
  assert.ok(lines.includes(" memory.cnt  = 0x1"));
  assert.ok(lines.includes(" memory[0]\t[0x40000000-0x5fffffff], 0x20000000 bytes flags: 0"));
  assert.ok(
    lines.includes(`reloc off   = 0x${(board.relocAddr - 0x40080000).toString(16).padStart(16, "0")}`),
  );
  assert.ok(lines.includes("Early malloc usage: 1c8 / 400"));
});

Deno.test("the bdinfo command prints the session's board and succeeds", async () => {
  const ctx = fakeContext([bdinfoCommand()]);
  assert.equal(await bdinfoCommand().run(ctx, ["bdinfo"]), 0);
  assert.equal(ctx.console.take(), bdinfoText(TEST_BOARD));
  assert.ok(bdinfoText(TEST_BOARD).split("\n").includes("fdt_blob    = 0x000000005edb6db0"));
  assert.equal(bdinfoCommand().maxArgs, 1);
});
