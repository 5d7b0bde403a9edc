import assert from "node:assert/strict";
import { compileDts, cString, openLibfdt } from "../../tests/fixtures_dtc.ts";
import { FEATURES_DTS, XEN_GUEST_DTS } from "./_testdata.ts";
import { FDT_END, FDT_HEADER, FDT_TAGSIZE } from "./constants.ts";
import { FDT_ERR_BADSTRUCTURE, FdtError } from "./errors.ts";
import { Fdt } from "./fdt.ts";
import { parseFdtTree } from "./tree.ts";
import { fdtU32 } from "./value.ts";
import { seededRandom as prng } from "../../tests/seeded_random.ts";

type Mutation = (blob: Uint8Array, random: () => number) => Uint8Array;

const HEADER_FIELDS = Object.values(FDT_HEADER);
const INTERESTING_WORDS = [0, 1, 2, 3, 4, 9, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffc, 0x28, 0x38];

const mutations: Record<string, Mutation> = {
  truncate: (blob, random) => blob.slice(0, Math.floor(random() * blob.length)),
  "flip bytes": (blob, random) => {
    const out = blob.slice();
    const flips = 1 + Math.floor(random() * 8);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(random() * out.length);
      out[at] = (out[at] ?? 0) ^ (1 << Math.floor(random() * 8));
    }
    return out;
  },
  "header field": (blob, random) => {
    const out = blob.slice();
    const field = HEADER_FIELDS[Math.floor(random() * HEADER_FIELDS.length)] ?? 0;
    const word = random() < 0.5
      ? INTERESTING_WORDS[Math.floor(random() * INTERESTING_WORDS.length)] ?? 0
      : Math.floor(random() * 0x100000000);
    new DataView(out.buffer).setUint32(field, word);
    return out;
  },
  "structure word": (blob, random) => {
    const out = blob.slice();
    const view = new DataView(out.buffer);
    const structOff = view.getUint32(FDT_HEADER.off_dt_struct);
    const words = Math.floor(view.getUint32(FDT_HEADER.size_dt_struct) / FDT_TAGSIZE);
    const at = structOff + FDT_TAGSIZE * Math.floor(random() * words);
    view.setUint32(at, INTERESTING_WORDS[Math.floor(random() * INTERESTING_WORDS.length)] ?? 0);
    return out;
  },
};

/** Calls every function on the (possibly corrupt) blob; any exception fails the test. */
function exercise(bytes: Uint8Array, random: () => number): void {
  const fdt = new Fdt(bytes);
  fdt.checkHeader();
  // A tag walk ends within one step per structure word.
  let steps = 0;
  for (let offset = 0; steps <= bytes.length / FDT_TAGSIZE + 1; steps++) {
    const step = fdt.nextTag(offset);
    if (step instanceof FdtError || step.tag === FDT_END) break;
    assert.ok(step.nextOffset > offset, "tags advance");
    offset = step.nextOffset;
  }
  assert.ok(steps <= bytes.length / FDT_TAGSIZE + 1, "the tag walk ends");
  const nodes = fdt.nodes();
  const list = nodes instanceof FdtError ? [0, 4, 8] : nodes;
  for (const node of list.slice(0, 64)) {
    fdt.getName(node);
    fdt.getPath(node);
    fdt.properties(node);
    fdt.subnodes(node);
    fdt.parentOffset(node);
    fdt.nodeDepth(node);
    fdt.getPhandle(node);
    fdt.addressCells(node);
    fdt.sizeCells(node);
    fdt.stringlistCount(node, "compatible");
    fdt.stringlistGet(node, "compatible", 1);
    fdt.nodeCheckCompatible(node, "xen,xen");
    fdt.nextNode(node, 0);
  }
  for (const path of ["/", "/chosen", "/cpus/cpu@0", "serial0", "deep/x", "", "//"]) fdt.pathOffset(path);
  fdt.getAlias("serial0");
  fdt.nodeOffsetByCompatible(-1, "arm,armv8");
  fdt.nodeOffsetByPhandle(1);
  fdt.nodeOffsetByPropValue(-1, "device_type", new TextEncoder().encode("memory\0"));
  fdt.memReservations();
  parseFdtTree(bytes);
  // Edits, on a copy with room to grow.
  const room = new Uint8Array(bytes.length + 256);
  room.set(bytes);
  const target = list[Math.floor(random() * list.length)] ?? 0;
  const editable = new Fdt(room);
  editable.setProp(target, "fuzz", fdtU32(1, 2));
  editable.appendProp(target, "compatible", fdtU32(3));
  editable.addSubnode(target, "fuzz@1");
  editable.delProp(target, "reg");
  editable.setName(target, "renamed");
  editable.addMemRsv(0x1000n, 0x1000n);
  editable.delMemRsv(0);
  editable.nopProperty(target, "model");
  editable.delNode(target);
  editable.shrinkToMinimum(0, 0x48000000);
  editable.openInto(new Uint8Array(bytes.length + 512));
  editable.pack();
  new Fdt(room).nopNode(target);
}

for (const [name, mutate] of Object.entries(mutations)) {
  Deno.test(`corrupt blobs (${name}) give errors, never exceptions or endless loops`, async () => {
    const sources = [await compileDts(XEN_GUEST_DTS, ["-@"]), await compileDts(FEATURES_DTS)];
    const random = prng(0x5eed + name.length);
    for (let round = 0; round < 300; round++) {
      const source = sources[round % sources.length];
      assert.ok(source);
      exercise(mutate(source, random), random);
    }
  });
}

Deno.test("tiny and empty arrays give errors", () => {
  for (let length = 0; length <= 48; length += 4) exercise(new Uint8Array(length), prng(length));
});

const libfdt = openLibfdt();

Deno.test({
  name: "on blobs with corrupt structure or strings, lookups agree with libfdt",
  ignore: libfdt === undefined,
  fn: async () => {
    assert.ok(libfdt);
    const blob = await compileDts(FEATURES_DTS);
    const view = new DataView(blob.buffer, blob.byteOffset);
    const dataStart = view.getUint32(FDT_HEADER.off_dt_struct);
    const random = prng(0xfd7);
    const paths = ["/", "/soc", "/soc/serial@9000000", "/soc/bus", "serial0", "/memory", "deep"];
    for (let round = 0; round < 400; round++) {
      // Flip bytes after the header and reservation map only: libfdt trusts what fdt_check_header accepts.
      const bytes = blob.slice();
      for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
        const at = dataStart + Math.floor(random() * (blob.length - dataStart));
        bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(random() * 8));
      }
      const fdt = new Fdt(bytes);
      for (const path of paths) {
        const mine = fdt.pathOffset(path);
        const theirs = libfdt.symbols.fdt_path_offset(bytes, new TextEncoder().encode(`${path}\0`));
        assert.equal(mine instanceof FdtError ? mine.errval : mine, theirs, `round ${round} path ${path}`);
      }
      let depth = 0;
      for (let offset = -1, guard = 0; guard < bytes.length; guard++) {
        const mine = fdt.nextNode(offset, depth);
        const theirs = libfdt.nextNode(bytes, offset, depth);
        if (mine instanceof FdtError) {
          assert.equal(mine.errval, theirs.offset, `round ${round} next node after ${offset}`);
          break;
        }
        assert.deepEqual(mine, theirs, `round ${round} next node after ${offset}`);
        if (mine.depth < 0) break;
        const path = fdt.getPath(mine.offset);
        // A stray END_NODE makes libfdt's fdt_get_path read before its buffer: only compare the others.
        if (!(path instanceof FdtError && path.code === FDT_ERR_BADSTRUCTURE)) {
          const theirPath = libfdt.getPath(bytes, mine.offset);
          assert.equal(
            path instanceof FdtError ? path.errval : path,
            theirPath,
            `round ${round} path of ${offset}`,
          );
        }
        offset = mine.offset;
        depth = mine.depth;
      }
    }
  },
});

Deno.test({
  name: "on blobs with corrupt structure or strings, edits agree with libfdt byte for byte",
  ignore: libfdt === undefined,
  fn: async () => {
    assert.ok(libfdt);
    const s = libfdt.symbols;
    const base = await compileDts(FEATURES_DTS);
    const opened = new Uint8Array(base.length + 256);
    assert.ok(!(new Fdt(base).openInto(opened) instanceof FdtError));
    const dataStart = new DataView(opened.buffer).getUint32(FDT_HEADER.off_dt_struct);
    const random = prng(0xed17);
    const status = (error: FdtError | undefined) => error?.errval ?? 0;
    for (let round = 0; round < 600; round++) {
      const mine = opened.slice();
      for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
        const at = dataStart + Math.floor(random() * (base.length - dataStart));
        mine[at] = (mine[at] ?? 0) ^ (1 << Math.floor(random() * 8));
      }
      const theirs = mine.slice();
      const fdt = new Fdt(mine);
      const node = [0, 8, 0x20, 0x50, 0x80, 0xc0, 0x100][Math.floor(random() * 7)] ?? 0;
      const name = ["compatible", "reg", "x", "model", "status"][Math.floor(random() * 5)] ?? "x";
      const value = new Uint8Array(Math.floor(random() * 10)).fill(7);
      const c = cString(name);
      const op = Math.floor(random() * 9);
      const [ours, real] = ((): [number, number] => {
        switch (op) {
          case 0:
            return [
              status(fdt.setProp(node, name, value)),
              s.fdt_setprop(theirs, node, c, value, value.length),
            ];
          case 1:
            return [
              status(fdt.appendProp(node, name, value)),
              s.fdt_appendprop(theirs, node, c, value, value.length),
            ];
          case 2:
            return [status(fdt.delProp(node, name)), s.fdt_delprop(theirs, node, c)];
          case 3: {
            const added = fdt.addSubnode(node, name);
            return [added instanceof FdtError ? added.errval : added, s.fdt_add_subnode(theirs, node, c)];
          }
          case 4:
            return [status(fdt.delNode(node)), s.fdt_del_node(theirs, node)];
          case 5:
            return [status(fdt.setName(node, name)), s.fdt_set_name(theirs, node, c)];
          case 6:
            return [status(fdt.nopNode(node)), s.fdt_nop_node(theirs, node)];
          case 7:
            return [status(fdt.nopProperty(node, name)), s.fdt_nop_property(theirs, node, c)];
          default:
            return [
              status(fdt.setPropInplace(node, name, value)),
              s.fdt_setprop_inplace(theirs, node, c, value, value.length),
            ];
        }
      })();
      assert.equal(ours, real, `round ${round} op ${op}`);
      assert.deepEqual(mine, theirs, `round ${round} op ${op}`);
    }
  },
});
