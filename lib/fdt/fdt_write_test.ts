import assert from "node:assert/strict";
import { compileDts, cString, decompileDtb, openLibfdt } from "../../tests/fixtures_dtc.ts";
import { FEATURES_DTS, XEN_GUEST_DTS } from "./_testdata.ts";
import { FDT_END, FDT_HEADER, FDT_NOP } from "./constants.ts";
import {
  FDT_ERR_BADLAYOUT,
  FDT_ERR_EXISTS,
  FDT_ERR_NOSPACE,
  FDT_ERR_NOTFOUND,
  FdtError,
  type FdtResult,
} from "./errors.ts";
import { Fdt } from "./fdt.ts";
import { fdtString, fdtStringList, fdtU32, fdtU64 } from "./value.ts";
import { seededRandom as prng } from "../../tests/seeded_random.ts";

function ok<T>(value: FdtResult<T>): T {
  if (value instanceof FdtError) throw value;
  return value;
}

function done(error: FdtError | undefined): void {
  if (error) throw error;
}

const libfdt = openLibfdt();

/** Guest address of the blob in the transcript (`fdt addr 0x48000000`). */
const BLOB_ADDRESS = 0x48000000;

/** The corpus blob at the start of 64 KiB of "guest memory". */
async function corpusInMemory(): Promise<Fdt> {
  const memory = new Uint8Array(0x10000);
  memory.set(await compileDts(XEN_GUEST_DTS, ["-@"]));
  return new Fdt(memory);
}

Deno.test("edits on a dtc blob with no free space fail with FDT_ERR_NOSPACE until it is resized", async () => {
  const fdt = await corpusInMemory();
  const before = fdt.bytes.slice();
  const chosen = ok(fdt.pathOffset("/chosen"));
  assert.equal(
    fdt.setProp(chosen, "bootargs", fdtString("console=hvc0 root=/dev/xvda1 rw"))?.code,
    FDT_ERR_NOSPACE,
  );
  assert.equal((fdt.addSubnode(0, "pvboot") as FdtError).code, FDT_ERR_NOSPACE);
  assert.deepEqual(fdt.bytes, before, "a failed edit leaves the blob as it was");
  // A same-size or shorter value needs no room.
  assert.equal(fdt.setProp(chosen, "bootargs", fdtString("console=hvc1")), undefined);
  assert.equal(ok(fdt.shrinkToMinimum(0, BLOB_ADDRESS)), 0x1000);
  assert.equal(fdt.header("totalsize"), 0x1000);
  assert.equal(fdt.setProp(chosen, "bootargs", fdtString("console=hvc0 root=/dev/xvda1 rw")), undefined);
});

Deno.test("the transcript's fdt session edits give the header values the real board printed", async () => {
  // reference/uboot/goldens/09-fdt.txt: fdt resize; fdt set ...; fdt mknode ...; fdt rm ...; fdt header
  const fdt = await corpusInMemory();
  assert.equal(ok(fdt.shrinkToMinimum(0, BLOB_ADDRESS)), 0x1000);
  const path = (p: string) => ok(fdt.pathOffset(p));
  done(fdt.setProp(path("/chosen"), "bootargs", fdtString("console=hvc0 root=/dev/xvda1 rw")));
  done(fdt.setProp(path("/chosen"), "u32s", fdtU32(1, 2, 3)));
  done(fdt.setProp(path("/chosen"), "bytes", new Uint8Array([1, 2, 3, 4])));
  done(fdt.setProp(path("/chosen"), "emptyprop", new Uint8Array()));
  done(fdt.setProp(path("/chosen"), "strlist", fdtStringList(["one", "two"])));
  done(fdt.setProp(path("/chosen"), "mixed", fdtU32(1, 2)));
  assert.deepEqual(
    ok(fdt.properties(path("/chosen"))).map((prop) => prop.name),
    ["mixed", "strlist", "emptyprop", "bytes", "u32s", "bootargs"],
  );
  ok(fdt.addSubnode(0, "pvboot"));
  ok(fdt.addSubnode(path("/pvboot"), "child"));
  done(fdt.setProp(path("/pvboot/child"), "value", fdtU32(0xdeadbeef)));
  done(fdt.setProp(path("/pvboot/child"), "name", fdtString("child-name")));
  assert.equal((fdt.addSubnode(path("/pvboot"), "child") as FdtError).code, FDT_ERR_EXISTS);
  done(fdt.delProp(path("/pvboot/child"), "value"));
  done(fdt.delNode(path("/pvboot")));
  assert.equal(fdt.delProp(path("/chosen"), "nonexistent")?.code, FDT_ERR_NOTFOUND);
  assert.equal(fdt.header("off_dt_strings"), 0x4c4);
  assert.equal(fdt.header("size_dt_strings"), 0xee);
  assert.equal(fdt.header("size_dt_struct"), 0x48c);
  // fdt resize 8192 (the argument is hex)
  assert.equal(ok(fdt.shrinkToMinimum(0x8192, BLOB_ADDRESS)), 0x9000);

  // fdt chosen; fdt chosen 0x44000000 0x100000; fdt rsvmem add/delete; fdt memory; fdt bootcpu 1 — done
  // with the libfdt calls U-Boot's fdt_chosen, fdt_initrd and fdt_fixup_memory_banks make.
  done(fdt.setProp(path("/chosen"), "u-boot,version", fdtString("2023.01+dfsg-2+deb12u3")));
  done(fdt.addMemRsv(0x44000000n, 0xfffffn));
  done(fdt.setProp(path("/chosen"), "linux,initrd-start", fdtU64(0x44000000)));
  done(fdt.setProp(path("/chosen"), "linux,initrd-end", fdtU64(0x440fffff)));
  done(fdt.addMemRsv(0x50000000n, 0x1000n));
  done(fdt.addMemRsv(0x51000000n, 0x2000n));
  done(fdt.delMemRsv(0));
  assert.equal(fdt.delMemRsv(5)?.code, FDT_ERR_NOTFOUND);
  done(fdt.setProp(path("/memory"), "device_type", fdtString("memory")));
  done(fdt.setProp(path("/memory"), "reg", fdtU64(0x40000000, 0x10000000)));
  fdt.setBootCpuidPhys(1);
  assert.deepEqual(
    [
      "totalsize",
      "off_dt_struct",
      "off_dt_strings",
      "boot_cpuid_phys",
      "size_dt_strings",
      "size_dt_struct",
    ].map((field) => fdt.header(field as Parameters<Fdt["header"]>[0])),
    [0x9000, 0x58, 0x530, 1, 0x121, 0x4d8],
  );
  assert.deepEqual(ok(fdt.memReservations()), [
    { address: 0x50000000n, size: 0x1000n },
    { address: 0x51000000n, size: 0x2000n },
  ]);
});

Deno.test("edits read back through dtc as the expected source", async () => {
  const memory = new Uint8Array(4096);
  const fdt = ok(new Fdt(await compileDts(FEATURES_DTS)).openInto(memory));
  // Offsets move with every edit: look the node up each time.
  const uart = () => ok(fdt.pathOffset("serial0"));
  done(fdt.setProp(uart(), "status", fdtString("okay")));
  done(fdt.appendProp(uart(), "compatible", fdtString("extra")));
  done(fdt.setPropInplace(uart(), "reg", fdtU32(0x9001000)));
  assert.equal(fdt.setPropInplace(uart(), "reg", fdtU32(1, 2))?.code, FDT_ERR_NOSPACE);
  done(fdt.delProp(uart(), "patible"));
  done(fdt.setName(ok(fdt.pathOffset("/soc/bus@2000")), "bus@3000"));
  done(fdt.delNode(ok(fdt.pathOffset("/soc/bus@1000"))));
  const added = ok(fdt.addSubnode(ok(fdt.pathOffset("/soc")), "added@1"));
  done(fdt.setProp(added, "reg", fdtU32(1)));
  done(fdt.nopProperty(uart(), "empty"));
  done(fdt.nopNode(ok(fdt.pathOffset("/memory"))));
  done(fdt.addMemRsv(0x30000000n, 0x4000n));
  const text = await decompileDtb(fdt.bytes);
  const uartText = /serial@9000000 \{([^}]*)\};/.exec(text)?.[1] ?? "";
  assert.deepEqual(uartText.trim().split(/;\s*/).filter(Boolean), [
    'status = "okay"',
    'compatible = "arm,pl011\\0arm,primecell\\0extra"',
    "reg = <0x9001000>",
    "size-cells = [01 02 03]",
    "phandle = <0x01>",
  ]);
  // The new node comes after the properties of /soc, before its other children.
  assert.match(text, /soc \{[^{]*added@1 \{\s+reg = <0x01>;\s+\};\s+serial@9000000/);
  assert.match(text, /bus@3000 \{\s+reg = <0x2000>;/);
  assert.doesNotMatch(text, /bus@1000 \{|memory@80000000 \{|empty;/);
  assert.match(text, /\/memreserve\/\s+0x0000000030000000 0x0000000000004000;/);
  let nops = 0;
  for (let step = ok(fdt.nextTag(0)); step.tag !== FDT_END; step = ok(fdt.nextTag(step.nextOffset))) {
    if (step.tag === FDT_NOP) nops++;
  }
  // "empty;" is 3 words; memory@80000000 is 16 (BEGIN_NODE, 4 of name, 5 + 5 of properties, END_NODE).
  assert.equal(nops, 3 + 16);
});

Deno.test("pack removes free space and keeps the tree", async () => {
  const blob = await compileDts(FEATURES_DTS);
  const fdt = ok(new Fdt(blob).openInto(new Uint8Array(8192)));
  done(fdt.setProp(0, "x", fdtU32(7)));
  done(fdt.pack());
  const size = fdt.header("totalsize");
  assert.equal(size, fdt.header("off_dt_strings") + fdt.header("size_dt_strings"));
  // A 4-byte property (12 + 4 bytes of structure) and its name "x" (2 bytes of strings).
  assert.equal(size, blob.length + 16 + 2);
  assert.equal(await decompileDtb(fdt.bytes.subarray(0, size)), await decompileDtb(fdt.bytes));
});

Deno.test("opening into a buffer shorter than totalsize fails with FDT_ERR_NOSPACE", async () => {
  const blob = await compileDts(FEATURES_DTS);
  const result = new Fdt(blob).openInto(new Uint8Array(blob.length - 4));
  assert.ok(result instanceof FdtError);
  assert.equal(result.code, FDT_ERR_NOSPACE);
});

Deno.test("edits of a blob whose blocks are out of order fail with FDT_ERR_BADLAYOUT", async () => {
  const blob = (await compileDts(FEATURES_DTS)).slice();
  // Point the strings block before the end of the structure block.
  new DataView(blob.buffer).setUint32(FDT_HEADER.off_dt_strings, 0x40);
  const error = new Fdt(blob).delProp(0, "model");
  assert.ok(error instanceof FdtError);
  assert.equal(error.code, FDT_ERR_BADLAYOUT);
});

Deno.test({
  name: "empty trees are created as libfdt creates them",
  ignore: libfdt === undefined,
  fn: () => {
    assert.ok(libfdt);
    for (const size of [64, 80, 81, 256]) {
      const theirs = new Uint8Array(size).fill(0xaa);
      const err = libfdt.symbols.fdt_create_empty_tree(theirs, size);
      const mine = new Uint8Array(size).fill(0xaa);
      const fdt = Fdt.createEmptyTree(mine);
      assert.equal(fdt instanceof FdtError ? fdt.errval : 0, err, `size ${size}`);
      if (err === 0) assert.deepEqual(mine, theirs, `size ${size}`);
    }
  },
});

Deno.test({
  name: "opening a misordered blob into its own buffer repacks it as libfdt does",
  ignore: libfdt === undefined,
  fn: async () => {
    assert.ok(libfdt);
    const blob = await compileDts(FEATURES_DTS);
    const view = new DataView(blob.buffer, blob.byteOffset);
    const structOff = view.getUint32(FDT_HEADER.off_dt_struct);
    const stringsOff = view.getUint32(FDT_HEADER.off_dt_strings);
    const structSize = view.getUint32(FDT_HEADER.size_dt_struct);
    const stringsSize = view.getUint32(FDT_HEADER.size_dt_strings);
    // Swap the structure and strings blocks.
    const swapped = new Uint8Array(blob.length);
    swapped.set(blob.subarray(0, structOff));
    swapped.set(blob.subarray(stringsOff, stringsOff + stringsSize), structOff);
    swapped.set(blob.subarray(structOff, structOff + structSize), structOff + stringsSize);
    const sv = new DataView(swapped.buffer);
    sv.setUint32(FDT_HEADER.off_dt_strings, structOff);
    sv.setUint32(FDT_HEADER.off_dt_struct, structOff + stringsSize);
    for (const size of [blob.length + 64, blob.length * 2 + 64, blob.length * 3]) {
      const mine = new Uint8Array(size).fill(0x55);
      mine.set(swapped);
      const theirs = mine.slice();
      const result = new Fdt(mine.subarray(0, swapped.length)).openInto(mine);
      const err = libfdt.symbols.fdt_open_into(theirs, theirs, size);
      assert.equal(result instanceof FdtError ? result.errval : 0, err, `size ${size}`);
      assert.deepEqual(mine, theirs, `size ${size}`);
    }
  },
});

Deno.test({
  name: "random edit sequences change the blob byte for byte as libfdt does",
  ignore: libfdt === undefined,
  fn: async () => {
    assert.ok(libfdt);
    const s = libfdt.symbols;
    const propNames = [
      "a",
      "b",
      "compatible",
      "reg",
      "status",
      "a-much-longer-property-name",
      "atible",
      "name",
    ];
    const nodeNames = ["n", "n@1", "child", "memory@0", "x", "soc"];
    const base = await compileDts(FEATURES_DTS);
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = prng(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
      const size = base.length + 768;
      const mine = new Uint8Array(size);
      const theirs = new Uint8Array(size);
      ok(new Fdt(base).openInto(mine));
      assert.equal(s.fdt_open_into(base, theirs, size), 0);
      for (let step = 0; step < 150; step++) {
        const fdt = new Fdt(mine);
        const listed = fdt.nodes();
        const nodes = listed instanceof FdtError ? [] : listed;
        const node = nodes.length > 0 && random() >= 0.05 ? pick(nodes) : pick([0, 2, 1000]);
        const children = nodes.filter((offset) => offset !== 0);
        const nonRoot = children.length > 0 && random() < 0.95 ? pick(children) : pick([2, 1000]);
        const name = pick(propNames);
        const value = Uint8Array.from(
          { length: Math.floor(random() * 24) },
          () => Math.floor(random() * 256),
        );
        const status = (error: FdtError | undefined | number) =>
          typeof error === "number" ? error : error?.errval ?? 0;
        const op = Math.floor(random() * 12);
        let mineResult: number;
        let theirResult: number;
        switch (op) {
          case 0:
          case 1:
            mineResult = status(fdt.setProp(node, name, value));
            theirResult = s.fdt_setprop(theirs, node, cString(name), value, value.length);
            break;
          case 2:
            mineResult = status(fdt.appendProp(node, name, value));
            theirResult = s.fdt_appendprop(theirs, node, cString(name), value, value.length);
            break;
          case 3:
            mineResult = status(fdt.delProp(node, name));
            theirResult = s.fdt_delprop(theirs, node, cString(name));
            break;
          case 4: {
            const child = pick(nodeNames);
            const added = fdt.addSubnode(node, child);
            mineResult = added instanceof FdtError ? added.errval : added;
            theirResult = s.fdt_add_subnode(theirs, node, cString(child));
            break;
          }
          case 5:
            mineResult = status(fdt.delNode(nonRoot));
            theirResult = s.fdt_del_node(theirs, nonRoot);
            break;
          case 6: {
            const newName = pick(nodeNames);
            mineResult = status(fdt.setName(nonRoot, newName));
            theirResult = s.fdt_set_name(theirs, nonRoot, cString(newName));
            break;
          }
          case 7: {
            const address = BigInt(Math.floor(random() * 0x100000)) << 12n;
            const length = BigInt(Math.floor(random() * 16) + 1) << 12n;
            mineResult = status(fdt.addMemRsv(address, length));
            theirResult = s.fdt_add_mem_rsv(theirs, address, length);
            break;
          }
          case 8: {
            const index = Math.floor(random() * 4);
            mineResult = status(fdt.delMemRsv(index));
            theirResult = s.fdt_del_mem_rsv(theirs, index);
            break;
          }
          case 9:
            mineResult = status(fdt.nopProperty(node, name));
            theirResult = s.fdt_nop_property(theirs, node, cString(name));
            break;
          case 10: {
            // Mostly a value of the existing length, which is what succeeds.
            const existing = fdt.getProperty(node, name);
            const sized = existing instanceof FdtError || random() < 0.3
              ? value
              : new Uint8Array(existing.value.length).fill(0xa5);
            mineResult = status(fdt.setPropInplace(node, name, sized));
            theirResult = s.fdt_setprop_inplace(theirs, node, cString(name), sized, sized.length);
            break;
          }
          default:
            if (random() < 0.5) {
              mineResult = status(fdt.pack());
              theirResult = s.fdt_pack(theirs);
            } else {
              const reopened = fdt.openInto(mine);
              mineResult = reopened instanceof FdtError ? reopened.errval : 0;
              theirResult = s.fdt_open_into(theirs, theirs, size);
            }
        }
        assert.equal(mineResult, theirResult, `seed ${seed} step ${step} op ${op}`);
        assert.deepEqual(mine, theirs, `seed ${seed} step ${step} op ${op}`);
      }
    }
  },
});
