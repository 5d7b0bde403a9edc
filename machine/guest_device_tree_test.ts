import assert from "node:assert/strict";
import { compileDts, decompileDtb } from "../tests/fixtures_dtc.ts";
import { FDT_BEGIN_NODE, FDT_END, FDT_HEADER, FDT_NOP, FDT_PROP } from "./fdt_sw.ts";
import {
  buildGuestDeviceTree,
  defaultRngSeed,
  DtbFormatError,
  guestExtendedRegions,
  guestRamBanks,
  readMemoryBanks,
} from "./guest_device_tree.ts";

/** `fdt print /hypervisor` and `fdt print /memory` on the real board (reference/xenguest/board-session.txt). */
const BOARD_HYPERVISOR_REG =
  "reg = <0x00000000 0x38000000 0x00000000 0x01000000 0x00000000 0xa0000000 0x00000000 0x60000000 0x00000002 0x00000000 0x000000fe 0x00000000>";
const BOARD_MEMORY_REG = "reg = <0x00000000 0x40000000 0x00000000 0x60000000>";

/** The node paths of dtc's decompiled text, in order. */
function nodePaths(dts: string): string[] {
  const paths: string[] = [];
  const stack: string[] = [];
  for (const line of dts.split("\n")) {
    const open = /^\s*([^\s]+) \{$/.exec(line);
    if (open?.[1]) {
      stack.push(open[1] === "/" ? "" : open[1]);
      paths.push(stack.length === 1 ? "/" : stack.join("/"));
    } else if (/^\s*\};$/.test(line)) {
      stack.pop();
    }
  }
  return paths;
}

/** The properties of the node at `path` in dtc's decompiled text, as `name = value` lines. */
function propertiesOf(dts: string, path: string): string[] {
  const lines = dts.split("\n");
  const depth = path === "/" ? 0 : path.split("/").length - 1;
  const name = path === "/" ? "/" : path.split("/").pop();
  const start = lines.findIndex((line) => line === `${"\t".repeat(depth)}${name} {`);
  assert.ok(start >= 0, `node ${path} in the text`);
  const props: string[] = [];
  const indent = "\t".repeat(depth + 1);
  for (const line of lines.slice(start + 1)) {
    if (line === `${"\t".repeat(depth)}};`) break;
    const own = line.startsWith(indent) && !line.startsWith(`${indent}\t`);
    if (own && line.endsWith(";") && line.trim() !== "};") props.push(line.trim().replace(/;$/, ""));
  }
  return props;
}

/** The cells of a decompiled `<...>` value, printed as `fdt print` prints them. */
function asFdtPrint(property: string | undefined): string {
  const match = /^([^ ]+) = <([^>]*)>$/.exec(property ?? "");
  assert.ok(match, `a cell property: ${property}`);
  const cells = (match[2] ?? "").split(" ").map((cell) => `0x${Number(cell).toString(16).padStart(8, "0")}`);
  return `${match[1]} = <${cells.join(" ")}>`;
}

/** Structure tags of a blob (a small walker for the tests). */
function tags(dtb: Uint8Array): number[] {
  const view = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength);
  const out: number[] = [];
  let at = view.getUint32(FDT_HEADER.off_dt_struct);
  for (;;) {
    const tag = view.getUint32(at);
    out.push(tag);
    if (tag === FDT_END) return out;
    if (tag === FDT_BEGIN_NODE) at = Math.ceil((dtb.indexOf(0, at + 4) + 1) / 4) * 4;
    else if (tag === FDT_PROP) at += Math.ceil((12 + view.getUint32(at + 4)) / 4) * 4;
    else at += 4;
  }
}

Deno.test("a 1536 MiB guest's tree has libxl's nodes, and the board's /hypervisor and /memory reg", async () => {
  const dts = await decompileDtb(
    buildGuestDeviceTree({ memoryMiB: 1536, vcpus: 1, cmdline: "console=hvc0" }),
  );
  assert.deepEqual(nodePaths(dts), [
    "/",
    "/chosen",
    "/cpus",
    "/cpus/cpu@0",
    "/psci",
    "/memory@40000000",
    "/interrupt-controller@3001000",
    "/timer",
    "/hypervisor",
  ]);
  assert.deepEqual(propertiesOf(dts, "/"), [
    'model = "XENVM-4.17"',
    'compatible = "xen,xenvm-4.17\\0xen,xenvm"',
    "interrupt-parent = <0xfde8>",
    "#address-cells = <0x02>",
    "#size-cells = <0x02>",
  ]);
  const chosen = propertiesOf(dts, "/chosen");
  assert.equal(chosen[0], 'bootargs = "console=hvc0"');
  assert.match(chosen[1] ?? "", /^rng-seed = <(0x[0-9a-f]+ ){31}0x[0-9a-f]+>$/);
  assert.deepEqual(propertiesOf(dts, "/cpus/cpu@0"), [
    'device_type = "cpu"',
    'compatible = "arm,armv8"',
    'enable-method = "psci"',
    "reg = <0x00>",
  ]);
  assert.deepEqual(propertiesOf(dts, "/psci"), [
    'compatible = "arm,psci-1.0\\0arm,psci-0.2\\0arm,psci"',
    'method = "hvc"',
    "cpu_off = <0x01>",
    "cpu_on = <0x02>",
  ]);
  const memory = propertiesOf(dts, "/memory@40000000");
  assert.equal(memory[0], 'device_type = "memory"');
  assert.equal(asFdtPrint(memory[1]), BOARD_MEMORY_REG);
  assert.deepEqual(propertiesOf(dts, "/interrupt-controller@3001000"), [
    'compatible = "arm,cortex-a15-gic\\0arm,cortex-a9-gic"',
    "#interrupt-cells = <0x03>",
    "#address-cells = <0x00>",
    "interrupt-controller",
    "reg = <0x00 0x3001000 0x00 0x1000 0x00 0x3002000 0x00 0x2000>",
    "linux,phandle = <0xfde8>",
    "phandle = <0xfde8>",
  ]);
  assert.deepEqual(propertiesOf(dts, "/timer"), [
    'compatible = "arm,armv8-timer"',
    "interrupts = <0x01 0x0d 0xf08 0x01 0x0e 0xf08 0x01 0x0b 0xf08>",
    "interrupt-parent = <0xfde8>",
  ]);
  const hypervisor = propertiesOf(dts, "/hypervisor");
  assert.equal(hypervisor[0], 'compatible = "xen,xen-4.17\\0xen,xen"');
  assert.equal(asFdtPrint(hypervisor[1]), BOARD_HYPERVISOR_REG);
  assert.equal(asFdtPrint(hypervisor[2]), "interrupts = <0x00000001 0x0000000f 0x00000f08>");
  assert.equal(asFdtPrint(hypervisor[3]), "interrupt-parent = <0x0000fde8>");
});

Deno.test("an unused second bank is left as NOP tags where its placeholder was", () => {
  const small = tags(buildGuestDeviceTree({ memoryMiB: 1536, vcpus: 1 }));
  const large = tags(buildGuestDeviceTree({ memoryMiB: 4096, vcpus: 1 }));
  // memory@200000000 is BEGIN_NODE, 4 words of name, two properties (5 and 7 words), END_NODE.
  const nops = small.filter((tag) => tag === FDT_NOP).length;
  assert.equal(nops, 19);
  assert.equal(large.filter((tag) => tag === FDT_NOP).length, 0);
  assert.equal(small.length, large.length - 4 + 19);
});

Deno.test("memory beyond 3 GiB goes to a second bank at 0x200000000", async () => {
  assert.deepEqual(guestRamBanks(4096), [
    { base: 0x40000000, size: 0xc0000000 },
    { base: 0x200000000, size: 0x40000000 },
  ]);
  assert.deepEqual(guestRamBanks(3072), [{ base: 0x40000000, size: 0xc0000000 }]);
  assert.deepEqual(guestRamBanks(1536), [{ base: 0x40000000, size: 0x60000000 }]);
  const dts = await decompileDtb(buildGuestDeviceTree({ memoryMiB: 4096, vcpus: 2 }));
  assert.deepEqual(nodePaths(dts).filter((path) => path.startsWith("/memory")), [
    "/memory@40000000",
    "/memory@200000000",
  ]);
  assert.equal(propertiesOf(dts, "/memory@40000000")[1], "reg = <0x00 0x40000000 0x00 0xc0000000>");
  assert.equal(propertiesOf(dts, "/memory@200000000")[1], "reg = <0x02 0x00 0x00 0x40000000>");
  // Bank 0 is full: the only extended region is what bank 1 leaves (up to the 40-bit IPA space).
  assert.equal(
    propertiesOf(dts, "/hypervisor")[1],
    "reg = <0x00 0x38000000 0x00 0x1000000 0x02 0x40000000 0xfd 0xc0000000>",
  );
});

Deno.test("extended regions follow libxl's rule", () => {
  assert.deepEqual(guestExtendedRegions(1536), [
    { base: 0xa0000000, size: 0x60000000 },
    { base: 0x200000000, size: 0xfe00000000 },
  ]);
  assert.deepEqual(guestExtendedRegions(3072), [{ base: 0x200000000, size: 0xfe00000000 }]);
  // RAM ending off a 2 MiB boundary: the region starts at the next boundary.
  assert.deepEqual(guestExtendedRegions(1025)[0], { base: 0x80200000, size: 0x7fe00000 });
  // Less than 64 MiB left in bank 0: no region there.
  assert.deepEqual(guestExtendedRegions(3072 - 63).map((r) => r.base), [0x200000000]);
  // A 36-bit IPA space ends inside bank 1.
  assert.deepEqual(guestExtendedRegions(4096, 36), [{ base: 0x240000000, size: 0xdc0000000 }]);
  assert.deepEqual(guestExtendedRegions(1043456), []);
});

Deno.test("the bytes freed by the shorter hypervisor reg stay at the end of the blob", () => {
  for (const [memoryMiB, freed] of [[1536, 0], [4096, 16], [1043456, 32]] as const) {
    const dtb = buildGuestDeviceTree({ memoryMiB, vcpus: 1 });
    const view = new DataView(dtb.buffer);
    const dataEnd = view.getUint32(FDT_HEADER.off_dt_strings) + view.getUint32(FDT_HEADER.size_dt_strings);
    assert.equal(view.getUint32(FDT_HEADER.totalsize) - dataEnd, freed, `${memoryMiB} MiB`);
    assert.equal(dtb.length, view.getUint32(FDT_HEADER.totalsize));
    // What is left there is the end of the strings block as it was before it moved down.
    assert.deepEqual(dtb.subarray(dataEnd), dtb.subarray(dataEnd - freed, dataEnd));
  }
});

Deno.test("vCPUs are named by MPIDR affinity", async () => {
  const dts = await decompileDtb(buildGuestDeviceTree({ memoryMiB: 256, vcpus: 17 }));
  const cpus = nodePaths(dts).filter((path) => path.startsWith("/cpus/"));
  assert.equal(cpus.length, 17);
  assert.equal(cpus[15], "/cpus/cpu@f");
  assert.equal(cpus[16], "/cpus/cpu@100");
  assert.equal(propertiesOf(dts, "/cpus/cpu@100")[3], "reg = <0x100>");
});

Deno.test("GICv3, another Xen version, no cmdline and a given rng-seed change what libxl changes", async () => {
  const seed = new Uint8Array(128).map((_, i) => i);
  const dts = await decompileDtb(
    buildGuestDeviceTree({ memoryMiB: 512, vcpus: 1, gicVersion: 3, xenVersion: [4, 18], rngSeed: seed }),
  );
  assert.deepEqual(propertiesOf(dts, "/interrupt-controller@3001000").slice(0, 1), [
    'compatible = "arm,gic-v3"',
  ]);
  assert.equal(
    propertiesOf(dts, "/interrupt-controller@3001000")[4],
    "reg = <0x00 0x3001000 0x00 0x10000 0x00 0x3020000 0x00 0x1000000>",
  );
  assert.equal(propertiesOf(dts, "/")[0], 'model = "XENVM-4.18"');
  assert.equal(propertiesOf(dts, "/hypervisor")[0], 'compatible = "xen,xen-4.18\\0xen,xen"');
  const chosen = propertiesOf(dts, "/chosen");
  assert.equal(chosen.length, 1);
  assert.equal(
    chosen[0],
    "rng-seed = <0x10203 0x4050607 0x8090a0b 0xc0d0e0f 0x10111213 0x14151617 0x18191a1b 0x1c1d1e1f 0x20212223 0x24252627 0x28292a2b 0x2c2d2e2f 0x30313233 0x34353637 0x38393a3b 0x3c3d3e3f 0x40414243 0x44454647 0x48494a4b 0x4c4d4e4f 0x50515253 0x54555657 0x58595a5b 0x5c5d5e5f 0x60616263 0x64656667 0x68696a6b 0x6c6d6e6f 0x70717273 0x74757677 0x78797a7b 0x7c7d7e7f>",
  );
});

Deno.test("the same configuration gives the same blob", () => {
  const config = { memoryMiB: 2048, vcpus: 2, cmdline: "console=hvc0 root=/dev/xvda1" };
  assert.deepEqual(buildGuestDeviceTree(config), buildGuestDeviceTree(config));
  assert.deepEqual(defaultRngSeed(), defaultRngSeed());
  assert.notDeepEqual(defaultRngSeed(), new Uint8Array(128));
});

Deno.test("configurations libxl would refuse are refused", () => {
  assert.throws(() => buildGuestDeviceTree({ memoryMiB: 0, vcpus: 1 }), RangeError);
  assert.throws(() => buildGuestDeviceTree({ memoryMiB: 1043457, vcpus: 1 }), RangeError);
  assert.throws(() => buildGuestDeviceTree({ memoryMiB: 1.5, vcpus: 1 }), RangeError);
  assert.throws(() => buildGuestDeviceTree({ memoryMiB: 512, vcpus: 0 }), RangeError);
  assert.throws(() => buildGuestDeviceTree({ memoryMiB: 512, vcpus: 129 }), RangeError);
  assert.throws(
    () => buildGuestDeviceTree({ memoryMiB: 512, vcpus: 1, rngSeed: new Uint8Array(64) }),
    RangeError,
  );
});

Deno.test("memory banks read back from generated trees are the guest's RAM banks", () => {
  for (const memoryMiB of [128, 1536, 3072, 4096, 1043456]) {
    assert.deepEqual(
      readMemoryBanks(buildGuestDeviceTree({ memoryMiB, vcpus: 1 })),
      guestRamBanks(memoryMiB),
    );
  }
});

Deno.test("memory banks are read with the parent's cells, skipping disabled nodes", async () => {
  const dtb = await compileDts(`/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	memory@80000000 { device_type = "memory"; reg = <0x80000000 0x10000000 0x90000000 0x1000>; };
	memory@a0000000 { device_type = "memory"; reg = <0xa0000000 0x1000>; status = "disabled"; };
	memory@b0000000 { device_type = "memory"; status = "okay"; reg = <0xb0000000 0x2000>; };
	not-memory { device_type = "cpu"; reg = <0x1 0x2>; };
	soc {
		#address-cells = <2>;
		#size-cells = <2>;
		memory@100000000 { device_type = "memory"; reg = <0x1 0x0 0x0 0x4000>; };
	};
};
`);
  assert.deepEqual(readMemoryBanks(dtb), [
    { base: 0x80000000, size: 0x10000000 },
    { base: 0x90000000, size: 0x1000 },
    { base: 0xb0000000, size: 0x2000 },
    { base: 0x100000000, size: 0x4000 },
  ]);
});

Deno.test("bad blobs give a DtbFormatError, never an exception", async () => {
  const good = buildGuestDeviceTree({ memoryMiB: 4096, vcpus: 2 });
  assert.ok(readMemoryBanks(new Uint8Array(10)) instanceof DtbFormatError);
  assert.ok(readMemoryBanks(good.subarray(0, good.length - 1)) instanceof DtbFormatError);
  const badReg = await compileDts('/dts-v1/;\n/ { memory { device_type = "memory"; reg = <1 2 3 4>; }; };\n');
  const error = readMemoryBanks(badReg);
  assert.ok(error instanceof DtbFormatError);
  assert.match(error.message, /^Cannot read memory banks: memory: reg is not a whole number/);
  let state = 7;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 0x100000000;
  let errors = 0;
  for (let round = 0; round < 500; round++) {
    const bytes = good.slice(0, round % 5 === 0 ? Math.floor(random() * good.length) : good.length);
    for (let i = 0; i < 4; i++) {
      const at = Math.floor(random() * bytes.length);
      bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(random() * 8));
    }
    const result = readMemoryBanks(bytes);
    if (result instanceof DtbFormatError) errors++;
    else assert.ok(Array.isArray(result));
  }
  assert.ok(errors > 0);
});
