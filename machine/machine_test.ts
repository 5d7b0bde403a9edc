import assert from "node:assert/strict";
import {
  createMachine,
  MachineError,
  type MachineIo,
  MODULE_OFFSET,
  placeBootModules,
  UBOOT_TEXT_OFFSET,
} from "./machine.ts";
import { completeGuestConfig } from "./guest_config.ts";
import { buildGuestDeviceTree } from "./guest_device_tree.ts";
import { GUEST_MAGIC_BASE, NR_MAGIC_PAGES } from "./xen/toolstack.ts";

const RAM0_BASE = 0x4000_0000;
const RAM1_BASE = 0x2_0000_0000;
const MIB = 1024 * 1024;
const FDT_MAGIC = 0xd00d_feed;

function filesWith(contents: Record<string, Uint8Array>): MachineIo & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readFile(path: string): Promise<Uint8Array> {
      reads.push(path);
      const data = contents[path];
      return data === undefined ? Promise.reject(new Error(`Cannot read ${path}`)) : Promise.resolve(data);
    },
  };
}

const NO_FILES = filesWith({});

function fdtMagicAt(memory: { read(a: number, n: number): Uint8Array }, address: number): number {
  return new DataView(memory.read(address, 4).buffer).getUint32(0, false);
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("a default guest enters U-Boot at 0x40080000 with the DTB at RAM base + 128 MiB", async () => {
  const config = completeGuestConfig({});
  const machine = await createMachine(config, NO_FILES);
  assert.equal(machine.entry.pc, RAM0_BASE + UBOOT_TEXT_OFFSET);
  assert.equal(machine.entry.pc, 0x4008_0000);
  assert.equal(machine.entry.x0, RAM0_BASE + MODULE_OFFSET);
  assert.equal(machine.dtbAddress, machine.entry.x0);
  assert.deepEqual(machine.banks, [{ base: RAM0_BASE, size: 512 * MIB }]);
  assert.equal(fdtMagicAt(machine.memory, machine.dtbAddress), FDT_MAGIC);
  const expected = buildGuestDeviceTree({ memoryMiB: 512, vcpus: 1 });
  assert.deepEqual(machine.memory.read(machine.dtbAddress, machine.dtbSize), expected);
  assert.equal(machine.config, config);
});

Deno.test("a 4 GiB guest gets both banks and still allocates almost nothing", async () => {
  const machine = await createMachine(completeGuestConfig({ memoryMiB: 4096 }), NO_FILES);
  assert.deepEqual(machine.memory.regions(), [
    { base: GUEST_MAGIC_BASE, size: NR_MAGIC_PAGES * 0x1000 },
    { base: RAM0_BASE, size: 3072 * MIB },
    { base: RAM1_BASE, size: 1024 * MIB },
  ]);
  assert.equal(machine.memory.isMapped(RAM1_BASE + 1024 * MIB - 8, 8), true);
  // The DTB's chunk, the magic pages' chunk (console page initialised): nothing else.
  assert.ok(machine.memory.allocatedBytes() <= 2 * machine.memory.chunkSize);
});

Deno.test("a guest too small for 128 MiB gets the DTB at the top of bank 0", async () => {
  const machine = await createMachine(completeGuestConfig({ memoryMiB: 64 }), NO_FILES);
  const rounded = Math.ceil(machine.dtbSize / 0x1000) * 0x1000;
  assert.equal(machine.dtbAddress, RAM0_BASE + 64 * MIB - rounded);
  assert.equal(fdtMagicAt(machine.memory, machine.dtbAddress), FDT_MAGIC);
});

Deno.test("the kernel command line reaches the generated device tree", async () => {
  const machine = await createMachine(completeGuestConfig({ extra: "console=hvc0 earlycon" }), NO_FILES);
  const blob = machine.memory.read(machine.dtbAddress, machine.dtbSize);
  assert.ok(contains(blob, new TextEncoder().encode("console=hvc0 earlycon\0")));
});

Deno.test("a given DTB is placed unchanged and its memory nodes define RAM", async () => {
  const dtb = buildGuestDeviceTree({ memoryMiB: 1536, vcpus: 1 });
  const files = filesWith({ "/tmp/guest.dtb": dtb });
  const machine = await createMachine(
    completeGuestConfig({ memoryMiB: 64, dtbPath: "/tmp/guest.dtb" }),
    files,
  );
  assert.deepEqual(files.reads, ["/tmp/guest.dtb"]);
  assert.deepEqual(machine.banks, [{ base: RAM0_BASE, size: 1536 * MIB }]);
  assert.equal(machine.config.memoryMiB, 1536);
  assert.equal(machine.entry.x0, RAM0_BASE + MODULE_OFFSET);
  assert.deepEqual(machine.memory.read(machine.entry.x0, dtb.length), dtb);
});

Deno.test("a DTB file that is not a device tree is refused", async () => {
  const files = filesWith({ "junk.dtb": new Uint8Array(64).fill(0x41) });
  await assert.rejects(
    createMachine(completeGuestConfig({ dtbPath: "junk.dtb" }), files),
    (e) => e instanceof MachineError && e.message.startsWith("Cannot use device tree junk.dtb: "),
  );
});

Deno.test("the hypercall entry is Xen 4.17's: known calls answer, unknown ones get -ENOSYS", async () => {
  const machine = await createMachine(completeGuestConfig({}), NO_FILES);
  const regs = { x16: 17, x0: 0n, x1: 0n, x2: 0n, x3: 0n, x4: 0n };
  assert.equal(await machine.hypercall(regs), (4n << 16n) | 17n);
  for (const x16 of [0, 99, 1000]) assert.equal(await machine.hypercall({ ...regs, x16 }), -38n);
});

Deno.test("boot modules go below the kernel when nothing above it fits, or nowhere", () => {
  const bank = { base: RAM0_BASE, size: 2 * MIB };
  const kernel = RAM0_BASE + UBOOT_TEXT_OFFSET;
  assert.equal(placeBootModules(bank, kernel, kernel + 0x1000, 0x800), kernel - 0x1000);
  assert.equal(placeBootModules({ base: RAM0_BASE, size: MIB }, kernel, kernel + 0x1000, 0x800), undefined);
  assert.equal(placeBootModules(bank, kernel, kernel + 0x1000, 0x8_0000), undefined);
  const big = { base: RAM0_BASE, size: 1024 * MIB };
  assert.equal(placeBootModules(big, kernel, kernel + 0x1000, 0x1_0000), RAM0_BASE + MODULE_OFFSET);
  // A kernel reaching past 128 MiB pushes the modules to the top of bank 0.
  assert.equal(
    placeBootModules(big, kernel, RAM0_BASE + 200 * MIB, 0x1_0001),
    RAM0_BASE + 1024 * MIB - 0x1_1000,
  );
});
