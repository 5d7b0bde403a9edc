import assert from "node:assert/strict";
import { gzipSync } from "fflate";
import { booti, type BootiOutcome, type BootmHost, SYS_FDT_PAD } from "./booti.ts";
import { WorkingFdtState } from "./working_fdt.ts";
import type { HandoffRecord } from "./handoff.ts";
import { GuestMemory } from "../machine/guest_memory.ts";
import { computeBoardInfo } from "../board/board_setup.ts";
import type { BoardProfileName } from "../board/board_info.ts";
import { Environment } from "../env/environment.ts";
import { crc32 } from "../lib/crc32.ts";
import { Fdt, FdtError, fdtRegs, fdtString, fdtU32, readFdtRegs, readFdtStringList } from "../lib/fdt/mod.ts";
import { ARM64_IMAGE_MAGIC, arm64Image } from "../scripts/fixtures/payloads.ts";
import { RecordingConsole } from "../tests/fake_context.ts";

const RAM_BASE = 0x40000000;
const RAM_SIZE = 0x20000000;
const KERNEL = 0x40400000;
const DTB = 0x48000000;
const RAMDISK = 0x44000000;
const PAGE = 0x1000;
/** The kernel's `image_size` and where it ends when it stays at {@linkcode KERNEL}. */
const KERNEL_SIZE = 0x380000;
const OS_TEXT = "(OS=0x40400000..0x40780000)";

function alignDown(value: number, align: number): number {
  return value - (value % align);
}

interface Setup {
  host: BootmHost & { console: RecordingConsole; memory: GuestMemory };
  fdtState: WorkingFdtState;
  /** Where U-Boot's reserved area starts: the top of what booti may use. */
  top: number;
}

function setup(profile: BoardProfileName = "default"): Setup {
  const memory = new GuestMemory();
  memory.addRegion({ base: RAM_BASE, size: RAM_SIZE });
  const board = computeBoardInfo({
    banks: [{ start: RAM_BASE, size: RAM_SIZE }],
    fdtSize: 0x600,
    model: "XENVM-4.17",
    profile,
  });
  const top = Math.min(...board.reserved.map((r) => r.start));
  const host = { env: new Environment([], 0x1f000), console: new RecordingConsole(), memory, board };
  return { host, fdtState: new WorkingFdtState(), top };
}

function kernelImage(): Uint8Array {
  return arm64Image({
    length: 0x4000,
    textOffset: 0,
    imageSize: KERNEL_SIZE,
    flags: 0xa,
    magic: ARM64_IMAGE_MAGIC,
    tag: "unit",
  });
}

interface DtbOptions {
  memory?: { address: bigint; size: bigint };
  memreserve?: { address: bigint; size: bigint }[];
  reservedMemory?: { name: string; address: bigint; size: bigint; noMap?: boolean; status?: string }[];
}

/** A small Xen-like device tree, packed (no free space, as dtc makes it). */
function makeDtb(options: DtbOptions = {}): Uint8Array {
  const fdt = Fdt.createEmptyTree(8192) as Fdt;
  fdt.setProp(0, "#address-cells", fdtU32(2));
  fdt.setProp(0, "#size-cells", fdtU32(2));
  fdt.setProp(0, "model", fdtString("XENVM-4.17"));
  const chosen = fdt.addSubnode(0, "chosen") as number;
  fdt.setProp(chosen, "bootargs", fdtString("console=hvc0"));
  const mem = fdt.addSubnode(0, "memory@40000000") as number;
  fdt.setProp(mem, "device_type", fdtString("memory"));
  const bank = options.memory ?? { address: BigInt(RAM_BASE), size: BigInt(RAM_SIZE) };
  fdt.setProp(mem, "reg", fdtRegs(2, 2, [bank]));
  if (options.reservedMemory) {
    const parent = fdt.addSubnode(0, "reserved-memory") as number;
    fdt.setProp(parent, "#address-cells", fdtU32(2));
    fdt.setProp(parent, "#size-cells", fdtU32(2));
    for (const r of options.reservedMemory) {
      const node = fdt.addSubnode(parent, r.name) as number;
      fdt.setProp(node, "reg", fdtRegs(2, 2, [r]));
      if (r.noMap) fdt.setProp(node, "no-map", new Uint8Array(0));
      if (r.status) fdt.setProp(node, "status", fdtString(r.status));
    }
  }
  for (const r of options.memreserve ?? []) fdt.addMemRsv(r.address, r.size);
  fdt.pack();
  return fdt.bytes.slice(0, fdt.header("totalsize"));
}

/** A legacy (mkimage) image around `data`. */
function legacyImage(
  data: Uint8Array,
  fields: { type: number; name: string; load?: number; os?: number; arch?: number; comp?: number },
): Uint8Array {
  const out = new Uint8Array(64 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x27051956, false);
  view.setUint32(12, data.length, false);
  view.setUint32(16, fields.load ?? 0, false);
  view.setUint32(24, crc32(data), false);
  out[28] = fields.os ?? 5;
  out[29] = fields.arch ?? 22;
  out[30] = fields.type;
  out[31] = fields.comp ?? 0;
  out.set(new TextEncoder().encode(fields.name), 32);
  out.set(data, 64);
  view.setUint32(4, crc32(out.subarray(0, 64)), false);
  return out;
}

async function run(s: Setup, args: string, profile: BoardProfileName = "default"): Promise<BootiOutcome> {
  return await booti(s.host, args === "" ? [] : args.split(" "), { profile, fdtState: s.fdtState });
}

function handoff(outcome: BootiOutcome): HandoffRecord {
  assert.equal(outcome.kind, "handoff");
  return (outcome as { record: HandoffRecord }).record;
}

function readBlob(memory: GuestMemory, address: number): Fdt {
  const size = new DataView(memory.read(address, 8).buffer).getUint32(4, false);
  return new Fdt(memory.read(address, size));
}

function prop(fdt: Fdt, path: string, name: string): Uint8Array | undefined {
  const node = fdt.pathOffset(path);
  if (node instanceof FdtError) return undefined;
  const p = fdt.getProperty(node, name);
  return p instanceof FdtError ? undefined : p.value;
}

/** The lines from `Working FDT set to <dtb>` to the end of a plain successful boot. */
function tail(fdtAt: number, dtbSize: number): string {
  const ofLen = dtbSize + SYS_FDT_PAD;
  const p = (n: number) => n.toString(16).padStart(16, "0");
  return `   Loading Device Tree to ${p(fdtAt)}, end ${p(fdtAt + ofLen - 1)} ... OK\n` +
    `Working FDT set to ${fdtAt.toString(16)}\n\nStarting kernel ...\n\n`;
}

function blobHead(address: number): string {
  const hex = address.toString(16);
  return `## Flattened Device Tree blob at ${hex}\n   Booting using the fdt blob at 0x${hex}\n` +
    `Working FDT set to ${hex}\n`;
}

Deno.test("a legacy ramdisk is checked, listed and copied below U-Boot; the kernel finds it in /chosen", async () => {
  const s = setup("xenguest");
  const dtb = makeDtb();
  const rd = new Uint8Array(0x2000).fill(0x5a);
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, dtb);
  s.host.memory.write(RAMDISK, legacyImage(rd, { type: 3, name: "test ramdisk" }));
  const record = handoff(await run(s, "40400000 44000000 48000000", "xenguest"));
  const rdStart = s.top - rd.length;
  const fdtAt = alignDown(rdStart - dtb.length - SYS_FDT_PAD, PAGE);
  assert.equal(
    s.host.console.output,
    "## Loading init Ramdisk from Legacy Image at 44000000 ...\n" +
      "   Image Name:   test ramdisk\n" +
      "   Image Type:   AArch64 Linux RAMDisk Image (uncompressed)\n" +
      "   Data Size:    8192 Bytes = 8 KiB\n" +
      "   Load Address: 00000000\n" +
      "   Entry Point:  00000000\n" +
      "   Verifying Checksum ... OK\n" +
      blobHead(DTB) +
      `   Loading Ramdisk to ${rdStart.toString(16)}, end ${s.top.toString(16)} ... OK\n` +
      tail(fdtAt, dtb.length),
  );
  assert.deepEqual(record.ramdisk, { start: rdStart, end: s.top });
  assert.deepEqual(s.host.memory.read(rdStart, rd.length), rd);
  assert.equal(s.host.env.get("initrd_start"), rdStart.toString(16));
  assert.equal(s.host.env.get("initrd_end"), s.top.toString(16));
  const fdt = readBlob(s.host.memory, record.cpu.x0);
  const start = prop(fdt, "/chosen", "linux,initrd-start")!;
  assert.equal(new DataView(start.buffer, start.byteOffset).getBigUint64(0, false), BigInt(rdStart));
  assert.deepEqual(fdt.memReservations(), [{ address: BigInt(rdStart), size: BigInt(rd.length) }]);
});

Deno.test("a legacy image that is not a Linux ramdisk, or has a bad data CRC, is refused", async () => {
  const s = setup("xenguest");
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, makeDtb());
  s.host.memory.write(RAMDISK, legacyImage(new Uint8Array(16), { type: 2, name: "kernel" }));
  assert.deepEqual(await run(s, "40400000 44000000 48000000", "xenguest"), { kind: "failed", rc: 1 });
  assert.match(
    s.host.console.output,
    /Verifying Checksum \.\.\. OK\nNo Linux AArch64 Ramdisk Image\nRamdisk image is corrupt or invalid\n$/,
  );

  const bad = legacyImage(new Uint8Array(16), { type: 3, name: "rd" });
  bad[70] = 1; // a data byte: the header CRC still matches
  s.host.memory.write(RAMDISK, bad);
  s.host.console.take();
  assert.deepEqual(await run(s, "40400000 44000000 48000000", "xenguest"), { kind: "failed", rc: 1 });
  assert.match(
    s.host.console.output,
    /Verifying Checksum \.\.\. Bad Data CRC\nRamdisk image is corrupt or invalid\n$/,
  );

  s.host.env.set("verify", "n");
  s.host.console.take();
  assert.equal((await run(s, "40400000 44000000 48000000", "xenguest")).kind, "handoff");
  assert.doesNotMatch(s.host.console.output, /Verifying/);
});

Deno.test("addr:size is a raw ramdisk on the default build and a wrong format on xenguest", async () => {
  for (const profile of ["default", "xenguest"] as const) {
    const s = setup(profile);
    s.host.memory.write(KERNEL, kernelImage());
    s.host.memory.write(DTB, makeDtb());
    const outcome = await run(s, "40400000 44000000:1000 48000000", profile);
    if (profile === "default") {
      assert.deepEqual(handoff(outcome).ramdisk, { start: s.top - PAGE, end: s.top });
    } else {
      assert.deepEqual(outcome, { kind: "failed", rc: 1 });
      assert.equal(
        s.host.console.output,
        "Wrong Ramdisk Image Format\nRamdisk image is corrupt or invalid\n",
      );
    }
  }
});

Deno.test("a ramdisk or device tree inside the kernel's range is an overlap error", async () => {
  const s = setup();
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, makeDtb());
  assert.deepEqual(await run(s, "40400000 40500000:1000 48000000"), { kind: "failed", rc: 1 });
  assert.equal(s.host.console.output, `ERROR: RD image overlaps OS image ${OS_TEXT}\n`);

  s.host.console.take();
  s.host.memory.write(0x40500000, makeDtb());
  assert.deepEqual(await run(s, "40400000 - 40500000"), { kind: "failed", rc: 1 });
  assert.equal(
    s.host.console.output,
    "## Flattened Device Tree blob at 40500000\n   Booting using the fdt blob at 0x40500000\n" +
      `ERROR: FDT image overlaps OS image ${OS_TEXT}\n`,
  );
});

Deno.test("fdt_high and initrd_high of all ones use the blob and the ramdisk where they are", async () => {
  const s = setup();
  const dtb = makeDtb();
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, dtb);
  s.host.env.set("fdt_high", "ffffffffffffffff");
  s.host.env.set("initrd_high", "ffffffffffffffff");
  const record = handoff(await run(s, "40400000 44000000:2000 48000000"));
  const end = (DTB + dtb.length + SYS_FDT_PAD - 1).toString(16).padStart(16, "0");
  assert.equal(
    s.host.console.output,
    blobHead(DTB) + `   Using Device Tree in place at 0000000048000000, end ${end}\n` +
      "Working FDT set to 48000000\n\nStarting kernel ...\n\n",
  );
  assert.equal(record.cpu.x0, DTB);
  assert.deepEqual(record.ramdisk, { start: RAMDISK, end: RAMDISK + 0x2000 });
  assert.equal(readBlob(s.host.memory, DTB).checkHeader(), undefined);
});

Deno.test("fdt_high below RAM's top places the device tree under that limit", async () => {
  const s = setup();
  const dtb = makeDtb();
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, dtb);
  s.host.env.set("fdt_high", "50000000");
  const record = handoff(await run(s, "40400000 - 48000000"));
  assert.equal(record.cpu.x0, alignDown(0x50000000 - dtb.length - SYS_FDT_PAD, PAGE));
});

Deno.test("/memreserve/ entries and enabled /reserved-memory regions keep the device tree out", async () => {
  const s = setup();
  const below = s.top - 0x100000;
  const dtb = makeDtb({
    memreserve: [{ address: BigInt(below), size: 0x100000n }],
    reservedMemory: [
      { name: "shm@5dc00000", address: BigInt(below - 0x100000), size: 0x100000n, noMap: true },
      { name: "off@5d000000", address: BigInt(below - 0x300000), size: 0x100000n, status: "disabled" },
    ],
  });
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, dtb);
  const record = handoff(await run(s, "40400000 - 48000000"));
  assert.equal(record.cpu.x0, alignDown(below - 0x100000 - dtb.length - SYS_FDT_PAD, PAGE));
});

Deno.test("the device tree gets U-Boot's memory bank, serial number, bootargs and version", async () => {
  const s = setup("xenguest");
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, makeDtb({ memory: { address: BigInt(RAM_BASE), size: 0x10000000n } }));
  s.host.env.set("bootargs", "console=hvc0 root=/dev/xvda2");
  s.host.env.set("serial#", "pv-0001");
  const record = handoff(await run(s, "40400000 - 48000000", "xenguest"));
  const fdt = readBlob(s.host.memory, record.cpu.x0);
  assert.deepEqual(readFdtRegs(prop(fdt, "/memory@40000000", "reg")!, 2, 2), [
    { address: BigInt(RAM_BASE), size: BigInt(RAM_SIZE) },
  ]);
  assert.deepEqual(readFdtStringList(prop(fdt, "/", "serial-number")!), ["pv-0001"]);
  assert.equal(record.bootargs, "console=hvc0 root=/dev/xvda2");
  assert.match(readFdtStringList(prop(fdt, "/chosen", "u-boot,version")!)![0]!, /^2023\.01-pvboot/);
  // The shrunk blob ends on a page boundary and stays reserved for the kernel to find.
  assert.equal((record.cpu.x0 + record.fdt.size) % PAGE, 0);
  assert.equal(fdt.header("totalsize"), record.fdt.size);
});

Deno.test("the working FDT shared with `fdt` ends up at the relocated blob", async () => {
  const s = setup();
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, makeDtb());
  const record = handoff(await run(s, "40400000 - 48000000"));
  assert.equal(s.fdtState.working, record.cpu.x0);
  assert.equal(s.host.env.get("fdtaddr"), record.cpu.x0.toString(16));
});

Deno.test("no room for the device tree is a panic: FDT creation failed", async () => {
  const s = setup();
  const dtb = makeDtb();
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, dtb);
  s.host.env.set("bootm_size", "1000");
  const outcome = await run(s, "40400000 - 48000000");
  assert.deepEqual(outcome, { kind: "panic", message: "FDT creation failed!" });
  const ofLen = (dtb.length + SYS_FDT_PAD).toString(16);
  assert.equal(
    s.host.console.output,
    blobHead(DTB) + `ERROR: Failed to allocate 0x${ofLen} bytes below 0x40001000.\n` +
      "device tree - allocation error\nFDT creation failed!\n",
  );
});

Deno.test("no room for the ramdisk returns -1, which the shell turns into the usage", async () => {
  const s = setup();
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(DTB, makeDtb());
  s.host.env.set("initrd_high", "40001000");
  assert.deepEqual(await run(s, "40400000 44000000:2000 48000000"), { kind: "failed", rc: -1 });
  assert.equal(
    s.host.console.output,
    blobHead(DTB) + "ERROR: Failed to allocate 0x2000 bytes below 0x40001000.\nramdisk - allocation error\n",
  );
});

Deno.test("a gzip Image is inflated through kernel_comp_addr_r; bad data and unknown formats fail", async () => {
  const s = setup();
  const image = kernelImage();
  s.host.memory.write(DTB, makeDtb());
  s.host.memory.write(RAMDISK, gzipSync(image, { mtime: 0 }));
  s.host.env.set("kernel_comp_addr_r", "50000000");
  s.host.env.set("kernel_comp_size", "100000");
  const record = handoff(await run(s, "44000000 - 48000000"));
  assert.match(s.host.console.output, /^ {3}Uncompressing Kernel Image\n## Flattened/);
  assert.deepEqual(s.host.memory.read(RAMDISK, image.length), image);
  assert.equal(record.cpu.pc, RAMDISK);

  const broken = gzipSync(image, { mtime: 0 });
  broken.fill(0xff, 10, 40);
  s.host.memory.write(RAMDISK, broken);
  s.host.console.take();
  assert.deepEqual(await run(s, "44000000 - 48000000"), { kind: "failed", rc: 1 });
  assert.match(s.host.console.output, /^ {3}Uncompressing Kernel Image\nError: inflate\(\) returned -3\n$/);

  s.host.memory.write(RAMDISK, new Uint8Array([0x04, 0x22, 0x4d, 0x18]));
  s.host.console.take();
  assert.deepEqual(await run(s, "44000000 - 48000000"), { kind: "failed", rc: 1 });
  assert.equal(s.host.console.output, "   Uncompressing Kernel Image\nUnimplemented compression type 5\n");

  s.host.env.set("kernel_comp_addr_r", "70000000");
  s.host.console.take();
  assert.deepEqual(await run(s, "44000000 - 48000000"), { kind: "failed", rc: 1 });
  assert.equal(s.host.console.output, "kernel_comp_addr_r is outside of DRAM range!\n");
});

Deno.test("a device tree in a legacy image is checked and moved to its load address", async () => {
  const s = setup("xenguest");
  const dtb = makeDtb();
  s.host.memory.write(KERNEL, kernelImage());
  s.host.memory.write(0x47000000, legacyImage(dtb, { type: 8, name: "dtb", load: DTB }));
  const record = handoff(await run(s, "40400000 - 47000000", "xenguest"));
  assert.match(
    s.host.console.output,
    /^## Flattened Device Tree from Legacy Image at 47000000\n {3}Image Name: {3}dtb\n(?:.*\n){4} {3}Verifying Checksum \.\.\. OK\n {3}Booting using the fdt blob at 0x48000000\nWorking FDT set to 48000000\n/,
  );
  assert.deepEqual(s.host.memory.read(DTB, 4), new Uint8Array([0xd0, 0x0d, 0xfe, 0xed]));
  assert.notEqual(record.cpu.x0, DTB);

  // Not a device tree inside: booting goes on without one, and arm64 cannot do that.
  s.host.memory.write(0x47000000, legacyImage(dtb, { type: 3, name: "rd", load: DTB }));
  s.host.console.take();
  assert.deepEqual(await run(s, "40400000 - 47000000", "xenguest"), {
    kind: "panic",
    message: "FDT and ATAGS support not compiled in\n",
  });
  assert.match(
    s.host.console.output,
    /OK\nERROR: uImage is not a fdt - must RESET the board to recover\.\nWorking FDT set to 0\nFDT and ATAGS support not compiled in\n\n$/,
  );
});

Deno.test("the Image moves to RAM base + text_offset when its flags do not allow other places", async () => {
  const s = setup();
  s.host.memory.write(
    KERNEL,
    arm64Image({
      length: 0x4000,
      textOffset: 0x80000,
      imageSize: 0x100000,
      flags: 0x2,
      magic: ARM64_IMAGE_MAGIC,
      tag: "f",
    }),
  );
  s.host.memory.write(DTB, makeDtb());
  const record = handoff(await run(s, "40400000 - 48000000"));
  assert.match(s.host.console.output, /^Moving Image from 0x40400000 to 0x40080000, end=40180000\n/);
  assert.deepEqual(record.kernel, { start: 0x40080000, end: 0x40180000 });
  assert.equal(s.host.memory.readU32(0x40080000 + 56), ARM64_IMAGE_MAGIC);
});

Deno.test("booti without arguments boots the Image at loadaddr", async () => {
  const s = setup();
  s.host.env.set("loadaddr", "0x40400000");
  s.host.memory.write(KERNEL, kernelImage());
  assert.deepEqual(await run(s, ""), { kind: "panic", message: "FDT and ATAGS support not compiled in\n" });
  assert.equal(s.host.console.output, "Working FDT set to 0\nFDT and ATAGS support not compiled in\n\n");
});
