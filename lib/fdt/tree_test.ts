import assert from "node:assert/strict";
import { compileDts, decompileDtb } from "../../tests/fixtures_dtc.ts";
import { FEATURES_DTS, nestedDts, XEN_GUEST_DTB_SHA256, XEN_GUEST_DTS } from "./_testdata.ts";
import { FDT_MAX_DEPTH } from "./constants.ts";
import { FDT_ERR_BADMAGIC, FDT_ERR_BADSTRUCTURE, FdtError } from "./errors.ts";
import { fdtTreeNode, findFdtTreeNode, parseFdtTree, serializeFdtTree } from "./tree.ts";
import { fdtRegs, fdtString, fdtStringList, fdtU32, readFdtStringList, readFdtU32Cells } from "./value.ts";

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function parsed(blob: Uint8Array) {
  const tree = parseFdtTree(blob);
  if (tree instanceof FdtError) throw tree;
  return tree;
}

const ROUND_TRIP_SOURCES: Record<string, string> = {
  "empty root": "/dts-v1/;\n/ { };\n",
  "features": FEATURES_DTS,
  "31 levels of nesting": nestedDts(FDT_MAX_DEPTH - 1),
  "odd value lengths": `/dts-v1/;
/ {
	a = [01]; b = [01 02]; c = [01 02 03]; d = [01 02 03 04 05];
	s1 = "x"; s2 = "xy"; s3 = "xyz"; s4 = "wxyz";
	node-with-a-rather-long-name-to-pad@123456 { x = "y"; };
	x { };
};
`,
};

Deno.test("the fixture compiled from the corpus source is the corpus xen-guest.dtb", async () => {
  const blob = await compileDts(XEN_GUEST_DTS, ["-@"]);
  assert.equal(await sha256Hex(blob), XEN_GUEST_DTB_SHA256);
});

Deno.test("parsing then serialising the corpus xen-guest.dtb gives dtc's bytes", async () => {
  const blob = await compileDts(XEN_GUEST_DTS, ["-@"]);
  assert.deepEqual(serializeFdtTree(parsed(blob)), blob);
});

for (const [name, source] of Object.entries(ROUND_TRIP_SOURCES)) {
  Deno.test(`parsing then serialising a dtc blob gives dtc's bytes: ${name}`, async () => {
    const blob = await compileDts(source);
    assert.deepEqual(serializeFdtTree(parsed(blob)), blob);
  });
}

Deno.test("a parsed tree holds the nodes, properties and reservations of the source", async () => {
  const tree = parsed(await compileDts(FEATURES_DTS));
  assert.deepEqual(tree.reservations, [
    { address: 0x10000000n, size: 0x1000n },
    { address: 0x20000000n, size: 0x200000n },
  ]);
  assert.deepEqual(tree.root.children.map((node) => node.name), ["aliases", "soc", "memory@80000000"]);
  const uart = findFdtTreeNode(tree.root, "/soc/serial@9000000");
  assert.ok(uart);
  assert.deepEqual(uart.properties.map((prop) => prop.name), [
    "compatible",
    "reg",
    "patible",
    "size-cells",
    "empty",
    "phandle",
  ]);
  const compatible = uart.properties[0]?.value;
  assert.ok(compatible);
  assert.deepEqual(readFdtStringList(compatible), ["arm,pl011", "arm,primecell"]);
  assert.equal(uart.properties[4]?.value.length, 0);
  const leaf = findFdtTreeNode(tree.root, "/soc/bus@1000/leaf");
  const phandle = uart.properties[5]?.value;
  assert.ok(leaf && phandle);
  assert.deepEqual(leaf.properties[0]?.value, phandle);
  assert.equal(findFdtTreeNode(tree.root, "/memory")?.name, "memory@80000000");
  assert.equal(findFdtTreeNode(tree.root, "/soc/bus"), tree.root.children[1]?.children[1]);
});

Deno.test("a tree built in code serialises to a blob dtc decompiles to the same tree", async () => {
  const root = fdtTreeNode("", {
    model: fdtString("pvboot test"),
    compatible: fdtStringList(["pvboot,test", "pvboot"]),
    "#address-cells": fdtU32(2),
    "#size-cells": fdtU32(2),
  }, [
    fdtTreeNode("chosen", { bootargs: fdtString("console=hvc0") }),
    fdtTreeNode("memory@40000000", {
      device_type: fdtString("memory"),
      reg: fdtRegs(2, 2, [{ address: 0x40000000n, size: 0x20000000n }]),
    }),
  ]);
  const blob = serializeFdtTree({
    root,
    reservations: [{ address: 0x48000000n, size: 0x1000n }],
    bootCpuidPhys: 0,
  });
  const text = await decompileDtb(blob);
  assert.match(text, /\/memreserve\/\s+0x0000000048000000 0x0000000000001000;/);
  assert.match(text, /model = "pvboot test";/);
  assert.match(text, /compatible = "pvboot,test\\0pvboot";/);
  assert.match(text, /chosen \{\s+bootargs = "console=hvc0";\s+\};/);
  assert.match(
    text,
    /memory@40000000 \{\s+device_type = "memory";\s+reg = <0x00 0x40000000 0x00 0x20000000>;/,
  );
  // And dtc, given that text back, makes exactly our blob.
  assert.deepEqual(await compileDts(text), blob);
});

Deno.test("parsing refuses nesting deeper than 32 levels with FDT_ERR_BADSTRUCTURE", async () => {
  const deepest = parseFdtTree(await compileDts(nestedDts(FDT_MAX_DEPTH - 1)));
  assert.ok(!(deepest instanceof FdtError));
  const tooDeep = parseFdtTree(await compileDts(nestedDts(FDT_MAX_DEPTH)));
  assert.ok(tooDeep instanceof FdtError);
  assert.equal(tooDeep.code, FDT_ERR_BADSTRUCTURE);
});

Deno.test("parsing a blob with a bad magic gives FDT_ERR_BADMAGIC", () => {
  const result = parseFdtTree(new Uint8Array(64));
  assert.ok(result instanceof FdtError);
  assert.equal(result.code, FDT_ERR_BADMAGIC);
});

Deno.test("serialising refuses names containing NUL", () => {
  const tree = { root: fdtTreeNode("", { "a\0b": new Uint8Array() }), reservations: [], bootCpuidPhys: 0 };
  assert.throws(() => serializeFdtTree(tree), TypeError);
});

Deno.test("u32 cells decode back to the numbers encoded", () => {
  assert.deepEqual(readFdtU32Cells(fdtU32(0, 1, 0xffffffff, -1)), [0, 1, 0xffffffff, 0xffffffff]);
  assert.equal(readFdtU32Cells(new Uint8Array(3)), undefined);
});
