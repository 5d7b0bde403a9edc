/**
 * Replays the `booti` lines of the real U-Boot transcript tests/reference/10-booti.json
 * (qemu_arm64, 512 MiB) against pvboot's `booti`: the Images, the ramdisk blob and the device tree are
 * built from the corpus recipe (reference/uboot/mkcorpus.sh's header figures, scripts/fixtures/payloads.ts
 * generators, dtc) and written into guest memory where the transcript's `load` lines put them. Every
 * booti's output is compared byte for byte and its status or hand-over checked; the `Loading Device Tree
 * to` and `Loading Ramdisk to` addresses come from the board figures (board/board_setup.ts) of the same
 * RAM size.
 */

import assert from "node:assert/strict";
import { gzipSync } from "fflate";
import { GuestMemory } from "../machine/guest_memory.ts";
import { computeBoardInfo } from "../board/board_setup.ts";
import { DEFAULT_ENV, DEFAULT_ENV_SIZE } from "../board/default_env.ts";
import { Environment } from "../env/environment.ts";
import { type CommandContext, CommandTable } from "../commands/command.ts";
import { bootiCommand } from "../commands/booti.ts";
import { WorkingFdtState } from "../boot/working_fdt.ts";
import type { HandoffRecord } from "../boot/handoff.ts";
import { Fdt, FdtError, readFdtRegs, readFdtStringList } from "../lib/fdt/mod.ts";
import { ARM64_IMAGE_MAGIC, arm64Image, GUEST_DTS, pseudoRandomBytes } from "../scripts/fixtures/payloads.ts";
import { compileDts, hasDtc } from "./fixtures_dtc.ts";
import { RecordingConsole } from "./fake_context.ts";

const GOLDEN = new URL("./reference/10-booti.json", import.meta.url);
const RAM_BASE = 0x40000000;
const RAM_SIZE = 512 * 1024 * 1024;
/** QEMU's control DTB for virt is 1 MiB (board_setup.ts calibration). */
const QEMU_CONTROL_DTB = 0x100000;
const MIB = 1024 * 1024;
const BAD_MAGIC = 0x12345678;

interface GoldenResult {
  cmd: string;
  out: string;
  /** `$?`; null when the command did not return (booti handed over or the board reset). */
  rc: number | null;
}

/** The corpus files (reference/uboot/mkcorpus.sh: sizes and header fields of each Image). */
async function corpusFiles(): Promise<Map<string, Uint8Array>> {
  const image = arm64Image({
    length: 0x302000,
    textOffset: 0,
    imageSize: 0x380000,
    flags: 0xa,
    magic: ARM64_IMAGE_MAGIC,
    tag: "Image",
  });
  return new Map([
    ["Image", image],
    ["Image.gz", gzipSync(image, { level: 9, mtime: 0 })],
    [
      "Image-old",
      arm64Image({
        length: MIB,
        textOffset: 0x80000,
        imageSize: 0,
        flags: 0,
        magic: ARM64_IMAGE_MAGIC,
        tag: "Image-old",
      }),
    ],
    [
      "Image-fixed",
      arm64Image({
        length: MIB,
        textOffset: 0x80000,
        imageSize: 0x180000,
        flags: 0x2,
        magic: ARM64_IMAGE_MAGIC,
        tag: "Image-fixed",
      }),
    ],
    [
      "Image-badmagic",
      arm64Image({
        length: 0x10000,
        textOffset: 0,
        imageSize: 0x20000,
        flags: 0xa,
        magic: BAD_MAGIC,
        tag: "Image-bad",
      }),
    ],
    ["blob-1M.bin", pseudoRandomBytes("blob-1M", MIB)],
    ["xen-guest.dtb", await compileDts(GUEST_DTS, ["-@"])],
  ]);
}

/** A fresh U-Boot: RAM, the default environment, no working FDT. */
function freshBoard() {
  const memory = new GuestMemory();
  memory.addRegion({ base: RAM_BASE, size: RAM_SIZE });
  const board = computeBoardInfo({
    banks: [{ start: RAM_BASE, size: RAM_SIZE }],
    fdtSize: QEMU_CONTROL_DTB,
    model: "linux,dummy-virt",
    profile: "default",
  });
  return {
    memory,
    board,
    env: new Environment(DEFAULT_ENV, DEFAULT_ENV_SIZE),
    fdtState: new WorkingFdtState(),
  };
}

function expand(env: Environment, text: string): string {
  return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => env.get(name) ?? "");
}

function readBlob(memory: GuestMemory, address: number): Fdt {
  const size = new DataView(memory.read(address, 8).buffer).getUint32(4, false);
  return new Fdt(memory.read(address, size));
}

function chosenString(fdt: Fdt, name: string): string | undefined {
  const chosen = fdt.subnodeOffset(0, "chosen");
  if (chosen instanceof FdtError) return undefined;
  const prop = fdt.getProperty(chosen, name);
  return prop instanceof FdtError ? undefined : readFdtStringList(prop.value)?.[0];
}

Deno.test({
  name: "every booti of the 10-booti transcript prints U-Boot's bytes and hands over where U-Boot did",
  ignore: !hasDtc(),
  async fn() {
    const golden = JSON.parse(await Deno.readTextFile(GOLDEN)) as { results: GoldenResult[] };
    const files = await corpusFiles();
    let state = freshBoard();
    let checked = 0;
    const handoffs: { cmd: string; record: HandoffRecord; fdt: Fdt; bootargs: string | undefined }[] = [];
    for (const result of golden.results) {
      const argv = expand(state.env, result.cmd).split(" ");
      if (argv[0] === "load") {
        const bytes = files.get(argv[4]!);
        assert.ok(bytes, `no corpus file ${argv[4]}`);
        state.memory.write(Number(argv[3]), bytes);
        state.env.setHex("filesize", bytes.length);
      } else if (argv[0] === "setenv") {
        state.env.set(argv[1]!, argv.slice(2).join(" ").replace(/^"(.*)"$/, "$1"));
      } else {
        assert.equal(argv[0], "booti");
        const console = new RecordingConsole();
        let exit: string | undefined;
        let record: HandoffRecord | undefined;
        const ctx: CommandContext = {
          env: state.env,
          console,
          memory: state.memory,
          board: state.board,
          shell: { runCommand: () => Promise.resolve(0), runCommandList: () => Promise.resolve(0) },
          commands: new CommandTable(),
          flag: 0,
          requestExit: (kind) => (exit = kind),
        };
        const command = bootiCommand({
          profile: "default",
          fdtState: state.fdtState,
          onHandoff: (r) => (record = r),
        });
        const rc = await command.run(ctx, argv);
        assert.equal(console.output, result.out, result.cmd);
        if (result.rc === null) {
          // The real machine went away (VM-EXITED REBOOTED): RAM and environment start over.
          assert.ok(exit !== undefined, `${result.cmd}: the session ends`);
          if (record) {
            const fdt = readBlob(state.memory, record.cpu.x0);
            handoffs.push({ cmd: result.cmd, record, fdt, bootargs: state.env.get("bootargs") });
          }
          state = freshBoard();
        } else {
          assert.equal(rc, result.rc, result.cmd);
          assert.equal(exit, undefined, result.cmd);
        }
        checked++;
      }
    }
    assert.equal(checked, 14);
    assert.equal(handoffs.length, 7);
    for (const { cmd, record, fdt, bootargs } of handoffs) {
      assert.deepEqual([record.cpu.x1, record.cpu.x2, record.cpu.x3], [0, 0, 0], cmd);
      assert.equal(record.cpu.pc, record.kernel.start, cmd);
      assert.equal(fdt.checkHeader(), undefined, cmd);
      assert.equal(record.fdt.size, fdt.header("totalsize"), cmd);
      assert.equal(chosenString(fdt, "u-boot,version")?.startsWith("2023.01"), true, cmd);
      assert.equal(chosenString(fdt, "bootargs"), bootargs ?? "console=hvc0", cmd);
      const memory = fdt.getProperty(fdt.pathOffset("/memory@40000000") as number, "reg");
      assert.ok(!(memory instanceof FdtError));
      assert.deepEqual(readFdtRegs(memory.value, 2, 2), [{
        address: BigInt(RAM_BASE),
        size: BigInt(RAM_SIZE),
      }]);
    }
    // The first boot: the Image stays at 0x40400000, the FDT goes below U-Boot's area.
    const first = handoffs[0]!.record;
    assert.deepEqual(first.kernel, { start: 0x40400000, end: 0x40780000 });
    assert.equal(first.cpu.x0, 0x5dda6000);
    assert.equal(first.ramdisk, undefined);
    // The ramdisk boot: the initrd copied high, described in /chosen and reserved.
    const withRd = handoffs.find((h) => h.record.ramdisk !== undefined)!;
    assert.deepEqual(withRd.record.ramdisk, { start: 0x5dcaa000, end: 0x5ddaa000 });
    assert.equal(withRd.record.cpu.x0, 0x5dca6000);
    const chosen = withRd.fdt.subnodeOffset(0, "chosen") as number;
    const start = withRd.fdt.getProperty(chosen, "linux,initrd-start");
    const end = withRd.fdt.getProperty(chosen, "linux,initrd-end");
    assert.ok(!(start instanceof FdtError) && !(end instanceof FdtError));
    assert.equal(
      new DataView(start.value.buffer, start.value.byteOffset).getBigUint64(0, false),
      0x5dcaa000n,
    );
    assert.equal(new DataView(end.value.buffer, end.value.byteOffset).getBigUint64(0, false), 0x5ddaa000n);
    assert.deepEqual(withRd.fdt.memReservations(), [{ address: 0x5dcaa000n, size: 0x100000n }]);
  },
});
