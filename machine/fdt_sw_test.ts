import assert from "node:assert/strict";
import { cString, decompileDtb, openLibfdt } from "../tests/fixtures_dtc.ts";
import {
  FDT_HEADER,
  fdtCells,
  fdtNopRegion,
  FdtSequentialWriter,
  fdtSetPropertyInplace,
  fdtShrinkProperty,
  fdtStrings,
} from "./fdt_sw.ts";
import { seededRandom as prng } from "../tests/seeded_random.ts";

const libfdt = openLibfdt();

/** One step of a sequential write, replayed on both writers. */
type Step =
  | { kind: "reserve"; address: bigint; size: bigint }
  | { kind: "begin"; name: string }
  | { kind: "prop"; name: string; value: Uint8Array }
  | { kind: "end" };

function writeOurs(steps: Step[]): Uint8Array {
  const w = new FdtSequentialWriter();
  let reserving = true;
  for (const step of steps) {
    if (step.kind !== "reserve" && reserving) {
      w.finishReservemap();
      reserving = false;
    }
    if (step.kind === "reserve") w.addReservation(step.address, step.size);
    else if (step.kind === "begin") w.beginNode(step.name);
    else if (step.kind === "prop") w.property(step.name, step.value);
    else w.endNode();
  }
  return w.finish();
}

function writeTheirs(steps: Step[]): Uint8Array {
  assert.ok(libfdt);
  const s = libfdt.symbols;
  const buf = new Uint8Array(65536);
  assert.equal(s.fdt_create(buf, buf.length), 0);
  let reserving = true;
  for (const step of steps) {
    if (step.kind !== "reserve" && reserving) {
      assert.equal(s.fdt_finish_reservemap(buf), 0);
      reserving = false;
    }
    let err = 0;
    if (step.kind === "reserve") err = s.fdt_add_reservemap_entry(buf, step.address, step.size);
    else if (step.kind === "begin") err = s.fdt_begin_node(buf, cString(step.name));
    else if (step.kind === "prop") {
      err = s.fdt_property(buf, cString(step.name), step.value, step.value.length);
    } else err = s.fdt_end_node(buf);
    assert.equal(err, 0);
  }
  assert.equal(s.fdt_finish(buf), 0);
  const totalsize = new DataView(buf.buffer).getUint32(FDT_HEADER.totalsize);
  return buf.slice(0, totalsize);
}

Deno.test({
  name: "random trees are written byte for byte as libfdt's sequential writer writes them",
  ignore: libfdt === undefined,
  fn: () => {
    const names = [
      "reg",
      "compatible",
      "patible",
      "interrupts",
      "interrupt-parent",
      "#size-cells",
      "size-cells",
      "a",
    ];
    for (let seed = 1; seed <= 20; seed++) {
      const random = prng(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
      const steps: Step[] = [];
      const reservations = Math.floor(random() * 3);
      for (let i = 0; i < reservations; i++) {
        steps.push({ kind: "reserve", address: BigInt(i + 1) << 32n, size: BigInt(i + 1) * 0x1000n });
      }
      steps.push({ kind: "begin", name: "" });
      let depth = 1;
      for (let i = 0; i < 60; i++) {
        const r = random();
        if (r < 0.5) {
          const value = Uint8Array.from(
            { length: Math.floor(random() * 20) },
            () => Math.floor(random() * 256),
          );
          steps.push({ kind: "prop", name: pick(names), value });
        } else if (r < 0.75 && depth < 6) {
          steps.push({ kind: "begin", name: `node@${i.toString(16)}` });
          depth++;
        } else if (depth > 1) {
          steps.push({ kind: "end" });
          depth--;
        }
      }
      for (; depth > 0; depth--) steps.push({ kind: "end" });
      assert.deepEqual(writeOurs(steps), writeTheirs(steps), `seed ${seed}`);
    }
  },
});

Deno.test("the strings block lists names in reverse order of first use, sharing tails", () => {
  const w = new FdtSequentialWriter();
  w.finishReservemap();
  w.beginNode("");
  w.property("model", fdtStrings("m"));
  w.property("compatible", fdtStrings("c"));
  w.property("patible", fdtStrings("p"));
  w.property("model", fdtStrings("again"));
  w.endNode();
  const blob = w.finish();
  const view = new DataView(blob.buffer);
  const strings = new TextDecoder().decode(
    blob.subarray(view.getUint32(FDT_HEADER.off_dt_strings), view.getUint32(FDT_HEADER.totalsize)),
  );
  assert.equal(strings, "compatible\0model\0");
  assert.equal(view.getUint32(FDT_HEADER.off_mem_rsvmap), 0x30, "off_mem_rsvmap");
  assert.equal(view.getUint32(FDT_HEADER.off_dt_struct), 0x40, "off_dt_struct");
  assert.equal(view.getUint32(FDT_HEADER.last_comp_version), 16, "last_comp_version");
});

Deno.test("a written tree decompiles with dtc to what was written", async () => {
  const w = new FdtSequentialWriter();
  w.addReservation(0x48000000n, 0x1000n);
  w.finishReservemap();
  w.beginNode("");
  w.propertyString("model", "test");
  w.property("#address-cells", fdtCells(2));
  w.beginNode("chosen");
  w.propertyString("bootargs", "console=hvc0");
  w.property("empty", new Uint8Array());
  w.endNode();
  w.endNode();
  const text = await decompileDtb(w.finish());
  assert.match(text, /\/memreserve\/\s+0x0000000048000000 0x0000000000001000;/);
  assert.match(
    text,
    /model = "test";\s+#address-cells = <0x02>;\s+chosen \{\s+bootargs = "console=hvc0";\s+empty;/,
  );
});

Deno.test({
  name: "finalising in place matches libfdt's fdt_setprop, fdt_setprop_inplace and fdt_nop_node",
  ignore: libfdt === undefined,
  fn: () => {
    assert.ok(libfdt);
    const s = libfdt.symbols;
    const w = new FdtSequentialWriter();
    w.finishReservemap();
    w.beginNode("");
    const bank = w.beginNode("memory@200000000");
    w.propertyString("device_type", "memory");
    const bankReg = w.property("reg", fdtCells(0, 0, 0, 0));
    const bankEnd = w.endNode();
    w.beginNode("hypervisor");
    const reg = w.property("reg", new Uint8Array(48));
    w.property("interrupts", fdtCells(1, 15, 0xf08));
    w.endNode();
    w.endNode();
    const ours = w.finish();
    const theirs = ours.slice();

    const shorter = fdtCells(0, 0x38000000, 0, 0x1000000, 2, 0, 0xfe, 0);
    fdtShrinkProperty(ours, reg, shorter);
    const hypervisor = s.fdt_path_offset(theirs, cString("/hypervisor"));
    assert.equal(s.fdt_setprop(theirs, hypervisor, cString("reg"), shorter, shorter.length), 0);
    assert.deepEqual(ours, theirs);

    const value = fdtCells(2, 0, 0, 0x40000000);
    fdtSetPropertyInplace(ours, bankReg, value);
    const memory = s.fdt_path_offset(theirs, cString("/memory@200000000"));
    assert.equal(s.fdt_setprop_inplace(theirs, memory, cString("reg"), value, value.length), 0);
    assert.deepEqual(ours, theirs);

    fdtNopRegion(ours, bank, bankEnd);
    assert.equal(s.fdt_nop_node(theirs, memory), 0);
    assert.deepEqual(ours, theirs);
  },
});

Deno.test("misuse of the writer is refused", () => {
  const w = new FdtSequentialWriter();
  assert.throws(() => w.beginNode(""), RangeError);
  w.finishReservemap();
  assert.throws(() => w.addReservation(0n, 1n), RangeError);
  assert.throws(() => w.property("x", new Uint8Array()), RangeError);
  w.beginNode("");
  assert.throws(() => w.finish(), RangeError);
  assert.throws(() => w.beginNode("a\0b"), TypeError);
  w.endNode();
  assert.throws(() => w.endNode(), RangeError);
  w.finish();
  assert.throws(() => w.finish(), RangeError);
});
