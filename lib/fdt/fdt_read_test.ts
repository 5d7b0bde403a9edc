import assert from "node:assert/strict";
import { compileDts, openLibfdt } from "../../tests/fixtures_dtc.ts";
import { FEATURES_DTS, XEN_GUEST_DTS } from "./_testdata.ts";
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_HEADER, FDT_PROP } from "./constants.ts";
import {
  FDT_ERR_BADMAGIC,
  FDT_ERR_BADOFFSET,
  FDT_ERR_BADPATH,
  FDT_ERR_BADPHANDLE,
  FDT_ERR_BADVALUE,
  FDT_ERR_BADVERSION,
  FDT_ERR_NOTFOUND,
  FDT_ERR_TRUNCATED,
  FdtError,
  type FdtResult,
} from "./errors.ts";
import { Fdt } from "./fdt.ts";
import { readFdtStringList, readFdtU32Cells } from "./value.ts";

function ok<T>(value: FdtResult<T>): T {
  if (value instanceof FdtError) throw value;
  return value;
}

function code<T>(value: FdtResult<T>): number {
  assert.ok(value instanceof FdtError, `expected an FdtError, got ${String(value)}`);
  return value.code;
}

const libfdt = openLibfdt();

Deno.test("header fields read as fdt header prints them for the corpus blob", async () => {
  const fdt = new Fdt(await compileDts(XEN_GUEST_DTS, ["-@"]));
  assert.equal(fdt.checkHeader(), undefined);
  // Values of `fdt header` in reference/uboot/goldens/09-fdt.txt.
  assert.equal(fdt.header("totalsize"), 0x518);
  assert.equal(fdt.header("off_dt_struct"), 0x38);
  assert.equal(fdt.header("off_dt_strings"), 0x458);
  assert.equal(fdt.header("off_mem_rsvmap"), 0x28);
  assert.equal(fdt.header("version"), 17);
  assert.equal(fdt.header("last_comp_version"), 16);
  assert.equal(fdt.header("size_dt_strings"), 0xc0);
  assert.equal(fdt.header("size_dt_struct"), 0x420);
  assert.equal(ok(fdt.numMemRsv()), 0);
});

Deno.test("paths resolve with and without unit addresses, and missing ones are FDT_ERR_NOTFOUND", async () => {
  const fdt = new Fdt(await compileDts(XEN_GUEST_DTS, ["-@"]));
  assert.equal(ok(fdt.pathOffset("/")), 0);
  const memory = ok(fdt.pathOffset("/memory"));
  assert.equal(ok(fdt.getName(memory)), "memory@40000000");
  assert.equal(ok(fdt.pathOffset("/memory@40000000")), memory);
  assert.equal(ok(fdt.pathOffset("//memory@40000000/")), memory);
  assert.equal(ok(fdt.getPath(ok(fdt.pathOffset("/cpus/cpu@1")))), "/cpus/cpu@1");
  assert.equal(code(fdt.pathOffset("/nonexistent")), FDT_ERR_NOTFOUND);
  assert.equal(code(fdt.pathOffset("/memory@50000000")), FDT_ERR_NOTFOUND);
  // No /aliases: a relative path is a bad path.
  assert.equal(code(fdt.pathOffset("serial0")), FDT_ERR_BADPATH);
});

Deno.test("a path not starting with / begins with an alias", async () => {
  const fdt = new Fdt(await compileDts(FEATURES_DTS));
  const uart = ok(fdt.pathOffset("/soc/serial@9000000"));
  assert.equal(ok(fdt.pathOffset("serial0")), uart);
  assert.equal(fdt.getAlias("serial0"), "/soc/serial@9000000");
  assert.equal(ok(fdt.getPath(ok(fdt.pathOffset("deep")))), "/soc/bus@1000/leaf");
  assert.equal(code(fdt.pathOffset("serial0/nothing")), FDT_ERR_NOTFOUND);
  assert.equal(code(fdt.pathOffset("nosuchalias")), FDT_ERR_BADPATH);
  // An alias naming itself ends instead of recursing forever.
  assert.equal(code(fdt.pathOffset("loop")), FDT_ERR_BADPATH);
});

Deno.test("properties are listed in blob order with their values", async () => {
  const fdt = new Fdt(await compileDts(XEN_GUEST_DTS, ["-@"]));
  const hypervisor = ok(fdt.pathOffset("/hypervisor"));
  const props = ok(fdt.properties(hypervisor));
  assert.deepEqual(props.map((prop) => prop.name), ["compatible", "reg", "interrupts"]);
  const [compatible, reg] = props;
  assert.ok(compatible && reg);
  assert.deepEqual(readFdtStringList(compatible.value), ["xen,xen-4.17", "xen,xen"]);
  assert.deepEqual(readFdtU32Cells(reg.value), [0, 0x38000000, 0, 0x1000000]);
  assert.deepEqual(fdt.bytes.subarray(reg.valueOffset, reg.valueOffset + reg.value.length), reg.value);
  assert.equal(code(fdt.getProperty(hypervisor, "nonexistent")), FDT_ERR_NOTFOUND);
  assert.equal(ok(fdt.getProperty(hypervisor, "interrupts")).value.length, 12);
});

Deno.test("children are listed in blob order and counted as fdt get size does", async () => {
  const fdt = new Fdt(await compileDts(XEN_GUEST_DTS, ["-@"]));
  const names = ok(fdt.subnodes(0)).map((node) => ok(fdt.getName(node)));
  assert.deepEqual(names, [
    "chosen",
    "cpus",
    "psci",
    "memory@40000000",
    "interrupt-controller@3001000",
    "timer",
    "hypervisor",
    "__symbols__",
  ]);
  assert.equal(ok(fdt.subnodes(ok(fdt.pathOffset("/cpus")))).length, 2);
  assert.deepEqual(ok(fdt.subnodes(ok(fdt.pathOffset("/chosen")))), []);
});

Deno.test("phandles, compatibles, parents and cells are found as libfdt finds them", async () => {
  const fdt = new Fdt(await compileDts(FEATURES_DTS));
  const uart = ok(fdt.pathOffset("/soc/serial@9000000"));
  const phandle = fdt.getPhandle(uart);
  assert.notEqual(phandle, 0);
  assert.equal(ok(fdt.nodeOffsetByPhandle(phandle)), uart);
  assert.equal(code(fdt.nodeOffsetByPhandle(0)), FDT_ERR_BADPHANDLE);
  assert.equal(code(fdt.nodeOffsetByPhandle(0xffffffff)), FDT_ERR_BADPHANDLE);
  assert.equal(code(fdt.nodeOffsetByPhandle(phandle + 1)), FDT_ERR_NOTFOUND);
  assert.equal(ok(fdt.nodeOffsetByCompatible(-1, "arm,primecell")), uart);
  assert.equal(code(fdt.nodeOffsetByCompatible(uart, "arm,primecell")), FDT_ERR_NOTFOUND);
  assert.equal(ok(fdt.nodeCheckCompatible(uart, "arm,pl011")), true);
  assert.equal(ok(fdt.nodeCheckCompatible(uart, "arm,pl01")), false);
  const soc = ok(fdt.pathOffset("/soc"));
  assert.equal(ok(fdt.parentOffset(uart)), soc);
  assert.equal(ok(fdt.nodeDepth(uart)), 2);
  assert.equal(code(fdt.parentOffset(0)), FDT_ERR_NOTFOUND);
  assert.equal(ok(fdt.addressCells(soc)), 1);
  assert.equal(ok(fdt.sizeCells(soc)), 0);
  assert.equal(ok(fdt.addressCells(uart)), 2);
  assert.equal(ok(fdt.sizeCells(uart)), 1);
  assert.equal(ok(fdt.stringlistCount(uart, "compatible")), 2);
  assert.equal(ok(fdt.stringlistGet(uart, "compatible", 1)), "arm,primecell");
  assert.equal(code(fdt.stringlistGet(uart, "compatible", 2)), FDT_ERR_NOTFOUND);
  assert.equal(ok(fdt.stringlistSearch(uart, "compatible", "arm,primecell")), 1);
  assert.equal(code(fdt.stringlistCount(uart, "size-cells")), FDT_ERR_BADVALUE);
  assert.deepEqual(ok(fdt.memReservations()), [
    { address: 0x10000000n, size: 0x1000n },
    { address: 0x20000000n, size: 0x200000n },
  ]);
});

Deno.test("tags and node steps walk the structure with depths", async () => {
  const fdt = new Fdt(await compileDts("/dts-v1/;\n/ { p = <1>; a { b { }; }; c { }; };\n"));
  const tags: number[] = [];
  for (let offset = 0;;) {
    const step = ok(fdt.nextTag(offset));
    tags.push(step.tag);
    if (step.tag === FDT_END) break;
    offset = step.nextOffset;
  }
  assert.deepEqual(tags, [
    FDT_BEGIN_NODE,
    FDT_PROP,
    FDT_BEGIN_NODE,
    FDT_BEGIN_NODE,
    FDT_END_NODE,
    FDT_END_NODE,
    FDT_BEGIN_NODE,
    FDT_END_NODE,
    FDT_END_NODE,
    FDT_END,
  ]);
  const walk: Array<[string, number]> = [];
  let step = fdt.nextNode(-1, 0);
  for (; !(step instanceof FdtError); step = fdt.nextNode(step.offset, step.depth)) {
    walk.push([ok(fdt.getName(step.offset)), step.depth]);
  }
  assert.equal(step.code, FDT_ERR_NOTFOUND);
  assert.deepEqual(walk, [["", 1], ["a", 2], ["b", 3], ["c", 2]]);
  // Leaving the starting node's parent: depth below 0 and the offset after the END_NODE.
  const a = ok(fdt.pathOffset("/a"));
  const b = ok(fdt.nextNode(a, 0));
  const left = ok(fdt.nextNode(b.offset, b.depth));
  assert.equal(left.depth, -1);
  assert.equal(ok(fdt.nextTag(left.offset)).tag, FDT_BEGIN_NODE);
  assert.equal(code(fdt.getName(4)), FDT_ERR_BADOFFSET);
  assert.equal(code(fdt.firstPropertyOffset(2)), FDT_ERR_BADOFFSET);
});

Deno.test("header checks report BADMAGIC, BADVERSION and TRUNCATED", async () => {
  const blob = await compileDts(XEN_GUEST_DTS, ["-@"]);
  assert.equal(new Fdt(new Uint8Array(0x100)).checkHeader()?.code, FDT_ERR_BADMAGIC);
  const old = blob.slice();
  new DataView(old.buffer).setUint32(FDT_HEADER.version, 1);
  assert.equal(new Fdt(old).checkHeader()?.code, FDT_ERR_BADVERSION);
  assert.equal(new Fdt(blob.subarray(0, blob.length - 1)).checkHeader()?.code, FDT_ERR_TRUNCATED);
  assert.equal(code(new Fdt(blob.subarray(0, blob.length - 1)).pathOffset("/")), FDT_ERR_TRUNCATED);
});

Deno.test({
  name: "every node's path, parent, properties and cells match libfdt's",
  ignore: libfdt === undefined,
  fn: async () => {
    assert.ok(libfdt);
    const sources = [XEN_GUEST_DTS, FEATURES_DTS];
    for (const source of sources) {
      const blob = await compileDts(source, ["-@"]);
      const fdt = new Fdt(blob);
      let theirs = libfdt.nextNode(blob, -1, 0);
      let mine = ok(fdt.nextNode(-1, 0));
      for (;;) {
        assert.deepEqual(mine, theirs);
        const node = mine.offset;
        const path = ok(fdt.getPath(node));
        assert.equal(path, libfdt.getPath(blob, node));
        assert.equal(
          ok(fdt.pathOffset(path)),
          libfdt.symbols.fdt_path_offset(blob, new TextEncoder().encode(`${path}\0`)),
        );
        const parent = fdt.parentOffset(node);
        assert.equal(
          parent instanceof FdtError ? parent.errval : parent,
          libfdt.symbols.fdt_parent_offset(blob, node),
        );
        const cells = fdt.addressCells(node);
        assert.equal(
          cells instanceof FdtError ? cells.errval : cells,
          libfdt.symbols.fdt_address_cells(blob, node),
        );
        const sizes = fdt.sizeCells(node);
        assert.equal(
          sizes instanceof FdtError ? sizes.errval : sizes,
          libfdt.symbols.fdt_size_cells(blob, node),
        );
        for (const prop of ok(fdt.properties(node))) {
          assert.deepEqual(prop.value, libfdt.getprop(blob, node, prop.name));
        }
        const next = fdt.nextNode(node, mine.depth);
        theirs = libfdt.nextNode(blob, node, mine.depth);
        if (next instanceof FdtError) {
          assert.equal(next.errval, theirs.offset);
          break;
        }
        mine = next;
      }
    }
  },
});
