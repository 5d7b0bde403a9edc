import assert from "node:assert/strict";
import { fdtCommand } from "./fdt.ts";
import { CMD_RET_USAGE, type Command } from "./command.ts";
import { fakeContext } from "../tests/fake_context.ts";
import { DataAbort } from "../machine/platform.ts";
import { Fdt, FdtError, fdtString, fdtU32 } from "../lib/fdt/mod.ts";
import { WorkingFdtState } from "../boot/working_fdt.ts";

/** Where the test blobs go (inside the fake context's RAM at 0x40000000). */
const BLOB = 0x40100000;

function must<T>(value: T | FdtError): T {
  if (value instanceof FdtError) throw value;
  return value;
}

/** A blob of `size` bytes with a root holding `#address-cells`/`#size-cells` and `/node`. */
function testBlob(size: number, build?: (fdt: Fdt) => void): Uint8Array {
  const fdt = must(Fdt.createEmptyTree(size));
  const node = must(fdt.addSubnode(0, "node"));
  must(fdt.setProp(node, "str", fdtString("hello")) ?? 0);
  must(fdt.setProp(0, "#size-cells", fdtU32(2)) ?? 0);
  must(fdt.setProp(0, "#address-cells", fdtU32(2)) ?? 0);
  build?.(fdt);
  return fdt.bytes;
}

/** A context with the blob at {@linkcode BLOB} made the working FDT. */
function setup(
  options: { size?: number; build?: (fdt: Fdt) => void; profile?: "default" | "xenguest" } = {},
) {
  const ctx = fakeContext();
  const state = new WorkingFdtState();
  const cmd = fdtCommand(options.profile ?? "default", state);
  ctx.memory.write(BLOB, testBlob(options.size ?? 4096, options.build));
  const run = (...argv: string[]) => cmd.run(ctx, ["fdt", ...argv]) as number;
  assert.equal(run("addr", BLOB.toString(16)), 0);
  ctx.console.take();
  return { ctx, cmd, state, run, out: () => ctx.console.take() };
}

function runOn(cmd: Command, ctx: ReturnType<typeof fakeContext>, ...argv: string[]): number {
  return cmd.run(ctx, ["fdt", ...argv]) as number;
}

Deno.test("fdt: without a working FDT every subcommand but addr refuses, even an unknown one", () => {
  const ctx = fakeContext();
  const cmd = fdtCommand();
  for (const sub of ["print", "bogus", "header", "resize"]) {
    assert.equal(runOn(cmd, ctx, sub), 1);
    assert.equal(
      ctx.console.take(),
      'No FDT memory address configured. Please configure\nthe FDT address via "fdt addr <address>" command.\nAborting!\n',
    );
  }
  assert.equal(cmd.run(ctx, ["fdt"]), CMD_RET_USAGE);
  assert.equal(runOn(cmd, ctx, "addr"), 1, "no working FDT: silent failure");
  assert.equal(ctx.console.take(), "");
});

Deno.test("fdt addr: NULL, bad magic, old version and an unmapped address", () => {
  const ctx = fakeContext();
  const cmd = fdtCommand();
  assert.equal(runOn(cmd, ctx, "addr", "0"), 1);
  assert.equal(ctx.console.take(), "The address of the fdt is invalid (NULL).\n");
  assert.equal(runOn(cmd, ctx, "addr", "40000000"), 1);
  assert.equal(ctx.console.take(), "libfdt fdt_check_header(): FDT_ERR_BADMAGIC\n");
  assert.equal(runOn(cmd, ctx, "addr", "-q", "40000000"), 1);
  assert.equal(ctx.console.take(), "");
  const old = testBlob(1024);
  new DataView(old.buffer).setUint32(20, 1, false); // version 1
  ctx.memory.write(BLOB, old);
  assert.equal(runOn(cmd, ctx, "addr", BLOB.toString(16)), 1);
  assert.equal(ctx.console.take(), "libfdt fdt_check_header(): FDT_ERR_BADVERSION - too old, fdt 1 < 2\n");
  assert.throws(() => runOn(cmd, ctx, "addr", "1000"), DataAbort);
  assert.equal(runOn(cmd, ctx, "addr", "-x", "1000"), CMD_RET_USAGE);
});

Deno.test("fdt addr: sets fdtaddr, reports it, and grows the blob to a given length", () => {
  const { ctx, run, out } = setup({ size: 1024 });
  assert.equal(ctx.env.get("fdtaddr"), "40100000");
  assert.equal(run("addr"), 0);
  assert.equal(out(), "Working fdt: 40100000\n");
  assert.equal(run("addr", "40100000", "100"), 0);
  assert.equal(out(), "Working FDT set to 40100000\nNew length 256 < existing length 1024, ignoring\n");
  assert.equal(run("addr", "-q", "40100000", "100"), 0);
  assert.equal(out(), "Working FDT set to 40100000\n");
  assert.equal(run("addr", "40100000", "2000"), 0);
  out();
  assert.equal(run("header", "get", "t", "totalsize"), 0);
  assert.equal(ctx.env.get("t"), "2000");
});

Deno.test("fdt addr -c: shows and moves the control FDT without touching fdtaddr", () => {
  const { ctx, run, out, state } = setup();
  assert.throws(() => run("addr", "-c"), DataAbort, "the board's control FDT lies outside this RAM");
  assert.equal(run("addr", "-c", BLOB.toString(16)), 0);
  assert.equal(out(), "");
  assert.equal(state.control, BLOB);
  assert.equal(run("addr", "-cq"), 0);
  assert.equal(out(), "Control fdt: 40100000\n");
  assert.equal(ctx.env.get("fdtaddr"), "40100000");
});

Deno.test("fdt set: cells, bytes, string lists and empty values print as U-Boot prints them", () => {
  const { run, out } = setup();
  assert.equal(run("set", "/node", "cells", "<1", "0x10", "010>"), 0);
  assert.equal(run("set", "/node", "bytes", "[0a", "0B", "c]"), 0);
  assert.equal(run("set", "/node", "list", "a b", "c"), 0);
  assert.equal(run("set", "/node", "empty"), 0);
  assert.equal(run("print", "/node"), 0);
  assert.equal(
    out(),
    'node {\n\tempty;\n\tlist = "a b", "c";\n\tbytes = [0a 0b 0c];\n' +
      '\tcells = <0x00000001 0x00000010 0x00000008>;\n\tstr = "hello";\n};\n',
  );
  assert.equal(run("print", "/node", "empty"), 0);
  assert.equal(out(), "/node empty\n");
  assert.equal(run("list", "/", "#size-cells"), 0);
  assert.equal(out(), "#size-cells = <0x00000002>\n");
});

Deno.test("fdt set: '?' keeps a cell of the old value, and of the scratchpad for a new property", () => {
  const { run, out } = setup();
  assert.equal(run("set", "/node", "p", "<1", "2>"), 0);
  assert.equal(run("set", "/node", "p", "<?", "7>"), 0);
  assert.equal(run("set", "/node", "q", "<?", "?>"), 0);
  run("print", "/node", "p");
  run("print", "/node", "q");
  assert.equal(out(), "p = <0x00000001 0x00000007>\nq = <0x00000001 0x00000007>\n");
});

Deno.test("fdt set: parse errors print U-Boot's messages; a missing '>' reads address 0", () => {
  const { run, out } = setup();
  assert.equal(run("set", "/node", "p", "<1", "abc>"), 1);
  assert.equal(out(), 'Sorry, I could not convert "abc>"\n');
  assert.equal(run("set", "/node", "p", "[01", "zz]"), 1);
  assert.equal(out(), "Unexpected character 'z'\n");
  assert.throws(() => run("set", "/node", "p", "<1", "2"), DataAbort);
  assert.throws(() => run("set", "/node", "p", "[01"), DataAbort);
  assert.equal(run("set", "/nowhere", "p", "<1>"), 1);
  assert.equal(out(), "libfdt fdt_path_offset() returned FDT_ERR_NOTFOUND\n");
  assert.equal(run("set", "/node"), CMD_RET_USAGE);
});

Deno.test("fdt set: a blob without free space reports FDT_ERR_NOSPACE until resized", () => {
  const { ctx, run, out } = setup({ size: 4096 });
  const packed = testBlob(4096);
  const fdt = new Fdt(packed);
  assert.equal(fdt.pack(), undefined);
  ctx.memory.write(BLOB, packed);
  assert.equal(run("set", "/node", "new", "value"), 1);
  assert.equal(out(), "libfdt fdt_setprop(): FDT_ERR_NOSPACE\n");
  assert.equal(run("resize"), 0);
  assert.equal(run("set", "/node", "new", "value"), 0);
  run("print", "/node", "new");
  assert.equal(out(), 'new = "value"\n');
});

Deno.test("fdt resize: the blob ends on a 4 KiB boundary of memory, plus the extra size", () => {
  const { ctx, run } = setup({ size: 512 });
  ctx.memory.copy(BLOB + 0x100, BLOB, 512);
  assert.equal(run("addr", (BLOB + 0x100).toString(16)), 0);
  assert.equal(run("resize", "1000"), 0);
  run("header", "get", "t", "totalsize");
  assert.equal((BLOB + 0x100 + parseInt(ctx.env.get("t")!, 16)) % 0x1000, 0);
  assert.ok(parseInt(ctx.env.get("t")!, 16) >= 0x1000);
});

Deno.test("fdt get value: string list index, one cell, words, long values and empty ones", () => {
  const { ctx, run, out } = setup();
  run("set", "/node", "list", "zero", "one");
  run("set", "/node", "cell", "<0xabcdef01>");
  run("set", "/node", "pair", "<1", "2>");
  run("set", "/node", "long", "<1 2 3 4 5 6>");
  run("set", "/node", "empty");
  assert.equal(run("get", "value", "v", "/node", "list", "1"), 0);
  assert.equal(ctx.env.get("v"), "one");
  assert.equal(run("get", "value", "v", "/node", "list", "2"), 1);
  assert.equal(run("get", "value", "v", "/node", "cell"), 0);
  assert.equal(ctx.env.get("v"), "0xABCDEF01");
  assert.equal(run("get", "value", "v", "/node", "pair"), 0);
  assert.equal(ctx.env.get("v"), "0100000002000000");
  assert.equal(run("get", "value", "v", "/node", "long"), 1);
  assert.equal(out(), "error: unprintable value\n");
  assert.equal(run("get", "value", "v", "/node", "empty"), 0);
  assert.equal(ctx.env.get("v"), undefined);
  assert.equal(run("get", "value", "v", "/node", "none"), 1);
  assert.equal(out(), "libfdt fdt_getprop(): FDT_ERR_NOTFOUND\n");
  assert.equal(run("get", "value", "v", "/node"), CMD_RET_USAGE);
});

Deno.test("fdt get addr|size|name: the value's address, sizes and child names", () => {
  const { ctx, run, out } = setup({ build: (fdt) => must(fdt.addSubnode(0, "second")) });
  assert.equal(run("get", "addr", "a", "/node", "str"), 0);
  const address = parseInt(ctx.env.get("a")!, 16);
  assert.equal(ctx.env.get("a")!.length, 2 + 16);
  assert.equal(new TextDecoder().decode(ctx.memory.read(address, 5)), "hello");
  assert.equal(run("get", "size", "s", "/node", "str"), 0);
  assert.equal(ctx.env.get("s"), "0x00000006");
  assert.equal(run("get", "size", "n", "/"), 0);
  assert.equal(ctx.env.get("n"), "2");
  assert.equal(run("get", "name", "m", "/", "1"), 0);
  assert.equal(ctx.env.get("m"), "node");
  assert.equal(run("get", "name", "m", "/", "2"), 1);
  assert.equal(out(), "libfdt node not found\n");
});

Deno.test("fdt print: fdt_max_dump abbreviates long values; NOP tags are shown", () => {
  const { ctx, run, out } = setup({
    build: (fdt) => {
      const node = must(fdt.pathOffset("/node"));
      must(fdt.setProp(node, "gone", fdtU32(1)) ?? 0);
      must(fdt.nopProperty(node, "gone") ?? 0);
    },
  });
  run("set", "/node", "cells", "<1 2 3>");
  ctx.env.set("fdt_max_dump", "8");
  assert.equal(run("print", "/node"), 0);
  const text = out();
  assert.match(text, /^node \{\n\tcells = \* 0x[0-9a-f]{16} \[0x0000000c\];\n/);
  // The 16-byte property record became four NOP tags.
  assert.equal(text.split("\n").filter((line) => line === "\t/* NOP */").length, 4);
});

Deno.test("fdt print: nesting 32 levels deep aborts", () => {
  const { run, out } = setup({
    size: 8192,
    build: (fdt) => {
      let node = 0;
      for (let i = 0; i < 33; i++) node = must(fdt.addSubnode(node, "n"));
    },
  });
  assert.equal(run("print", "/"), 1);
  const lines = out().split("\n");
  assert.equal(lines.at(-2), "Nested too deep, aborting.");
  assert.equal(lines.at(-3), `${"\t".repeat(31)}n {`);
});

Deno.test("fdt: a blob overwritten in memory gives libfdt's errors, not exceptions", () => {
  const { ctx, run, out } = setup();
  ctx.memory.writeU32(BLOB, 0);
  assert.equal(run("print", "/"), 1);
  assert.equal(out(), "libfdt fdt_path_offset() returned FDT_ERR_BADMAGIC\n");
  assert.equal(run("header"), 0);
  assert.match(out(), /^magic:\t\t\t0x0\n/);
  assert.equal(run("addr"), 1);
  assert.equal(out(), "libfdt fdt_check_header(): FDT_ERR_BADMAGIC\n");
  ctx.memory.writeU32(BLOB, 0xedfe0dd0);
  ctx.memory.write(BLOB + 4, new Uint8Array([0xff, 0xff, 0xff, 0xf0])); // totalsize ~4 GiB
  assert.equal(run("list", "/"), 1);
  assert.equal(out(), "libfdt fdt_path_offset() returned FDT_ERR_TRUNCATED\n");
});

Deno.test("fdt rm, rsvmem: errors return libfdt's code, so NOTFOUND shows the usage", () => {
  const { run, out } = setup();
  assert.equal(run("rm", "/node", "none"), CMD_RET_USAGE);
  assert.equal(out(), "libfdt fdt_delprop():  FDT_ERR_NOTFOUND\n");
  assert.equal(run("rsvmem", "add", "50000000", "1000"), 0);
  assert.equal(run("rsvmem", "print"), 0);
  assert.equal(
    out(),
    "index\t\t   start\t\t    size\n------------------------------------------------\n" +
      "    0\t0000000050000000\t0000000000001000\n",
  );
  assert.equal(run("rsvmem", "delete", "1"), CMD_RET_USAGE);
  assert.equal(out(), "libfdt fdt_del_mem_rsv():  FDT_ERR_NOTFOUND\n");
  assert.equal(run("rsvmem", "x"), CMD_RET_USAGE);
  assert.throws(() => run("rm"), DataAbort, "fdt_path_offset(NULL) reads address 0");
  assert.equal(run("rm", "/node"), 0);
  assert.equal(run("print", "/node"), 1);
});

Deno.test("fdt move: copies into a larger buffer; an invalid source leaves no working FDT", () => {
  const { ctx, run, out } = setup({ size: 1024 });
  assert.equal(run("move", BLOB.toString(16), "40200000", "200"), 1);
  assert.equal(out(), "New length 0x200 < existing length 0x400, aborting.\n");
  assert.equal(run("move", BLOB.toString(16), "40200000", "800"), 0);
  assert.equal(out(), "Working FDT set to 40200000\n");
  run("header", "get", "t", "totalsize");
  assert.equal(ctx.env.get("t"), "800");
  assert.equal(run("move", "40300000", "40400000"), 1);
  assert.equal(out(), "libfdt fdt_check_header(): FDT_ERR_BADMAGIC\n");
  assert.equal(run("print"), 1);
  assert.match(out(), /^No FDT memory address configured/);
});

Deno.test("fdt chosen: bootargs, version and a 32-bit initrd when #address-cells is 1", () => {
  const { ctx, run, out } = setup();
  run("set", "/", "#address-cells", "<1>");
  ctx.env.set("bootargs", "console=hvc0");
  assert.equal(run("chosen", "44000000", "1000"), 0);
  run("print", "/chosen");
  const text = out();
  assert.match(text, /\tlinux,initrd-end = <0x44000fff>;\n\tlinux,initrd-start = <0x44000000>;\n/);
  assert.match(text, /\tu-boot,version = "2023\.01[^"]*";\n\tbootargs = "console=hvc0";\n/);
  assert.equal(run("chosen", "1"), CMD_RET_USAGE);
});

Deno.test("fdt memory, bootcpu: reg follows the root's cell sizes; the header field is written", () => {
  const { ctx, run, out } = setup();
  run("set", "/", "#address-cells", "<1>");
  run("set", "/", "#size-cells", "<1>");
  assert.equal(run("memory", "40000000", "20000000"), 0);
  run("print", "/memory");
  assert.equal(out(), 'memory {\n\treg = <0x40000000 0x20000000>;\n\tdevice_type = "memory";\n};\n');
  assert.equal(run("bootcpu", "3"), 0);
  assert.equal(run("header", "get", "c", "boot_cpuid_phys"), 0);
  assert.equal(ctx.env.get("c"), "3");
  assert.equal(run("header", "get", "c", "nosuch"), 1);
  assert.equal(run("header", "set", "c", "magic"), 1);
});

Deno.test("fdt systemsetup: a no-op in the xenguest build; in the default build 'sys' is 'set'", () => {
  const xen = setup({ profile: "xenguest" });
  assert.equal(xen.run("systemsetup"), 0);
  assert.ok(xen.cmd.help.includes("fdt systemsetup                     - Do system-specific set up\n"));
  assert.ok(!xen.cmd.help.includes("checksign"));
  const qemu = setup();
  assert.equal(qemu.run("systemsetup"), CMD_RET_USAGE);
  assert.ok(qemu.cmd.help.includes("checksign"));
});
