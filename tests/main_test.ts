/**
 * The command line as a user runs it: `main.ts` in a child process, scripted (-c, a script file,
 * standard input), with its exit status.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ensureFixture } from "./fixtures.ts";

const root = new URL("..", import.meta.url).pathname;

async function pvboot(args: string[], stdin?: string): Promise<{ out: string; err: string; code: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", "main.ts", ...args],
    cwd: root,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const r = await child.output();
  return { out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr), code: r.code };
}

Deno.test("the README's smoke test script prints U-Boot's lines and exits 0", async () => {
  const r = await pvboot(["scripts/examples/smoke.txt"]);
  assert.equal(r.out, "crc32 for 40400000 ... 40400fff ==> 4a9d36c6\nchecksum-ok\n");
  assert.equal(r.code, 0);
});

Deno.test("-c runs the line and exits with its $?, printing no banner or prompt", async () => {
  assert.deepEqual(await pvboot(["-c", "echo one; false"]), { out: "one\n", err: "", code: 1 });
  assert.equal((await pvboot(["-c", "true"])).code, 0);
});

Deno.test("standard input runs line by line; an open construct continues on the next line", async () => {
  const r = await pvboot([], "setenv a 1\nif test $a = 1; then\necho yes\nfi\nprintenv a\n");
  assert.deepEqual(r, { out: "yes\na=1\n", err: "", code: 0 });
});

Deno.test("an input that ends inside an if is hush's syntax error", async () => {
  const r = await pvboot([], "if true; then\necho never\n");
  assert.equal(r.out, "syntax error\n");
  assert.equal(r.code, 1);
});

Deno.test("--board xenguest uses the simple parser and the real board's command set", async () => {
  const r = await pvboot(["--board", "xenguest", "-c", "echo hi; printenv loadaddr"]);
  assert.equal(r.out, "Unknown command 'echo' - try 'help'\nloadaddr=0x40000000\n");
});

Deno.test("reset ends the session: later lines do not run", async () => {
  const r = await pvboot([], "echo before\nreset\necho after\n");
  assert.equal(r.out, "before\nresetting ...\n");
});

Deno.test("a bad flag is reported on stderr with status 2", async () => {
  const r = await pvboot(["--memory", "lots"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /^pvboot: /);
});

Deno.test("--conformance marks $? after every line for the conformance harness", async () => {
  const r = await pvboot(["--conformance"], "true\nfalse\n");
  assert.equal(r.out, "\x00PVBOOT-RC 0\x00\n\x00PVBOOT-RC 1\x00\n");
});

Deno.test("xenstore reads and writes the guest's XenStore through its XenBus client", async () => {
  const r = await pvboot([
    "-c",
    "xenstore read domid; xenstore write data/x 42; xenstore read data/x; xenstore read nothere",
  ]);
  assert.equal(r.out, "1\n42\nxenstore: read nothere: ENOENT\n");
  assert.equal(r.code, 1);
});

Deno.test("--trace xen prints every hypercall and XenStore message on stderr, the same on every run", async () => {
  const a = await pvboot(["--trace", "xen", "-c", "xenstore read domid"]);
  const b = await pvboot(["--trace", "xen", "-c", "xenstore read domid"]);
  assert.equal(a.out, "1\n");
  assert.match(a.err, /^hypercall memory_op XENMEM_add_to_physmap/m);
  assert.match(a.err, /^xenstore-msg guest→xenstored READ/m);
  assert.equal(a.err, b.err);
  const json = await pvboot(["--trace", "xen,json", "-c", "true"]);
  for (const line of json.err.trim().split("\n")) JSON.parse(line);
});

Deno.test("disks from --disk: partition tables through the ring, a write reaching the file, ro refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gpt = `${dir}/gpt.img`;
    const mbr = `${dir}/mbr.img`;
    await Deno.copyFile(await ensureFixture("gpt"), gpt);
    await Deno.copyFile(await ensureFixture("mbr-logical"), mbr);
    const r = await pvboot([
      "--disk",
      gpt,
      "--disk",
      `${mbr},ro`,
      "-c",
      "part list pvblock 1; mw.b 0x50000000 0x5a 0x200; pvblock write 0x50000000 0x22 1; " +
      "pvblock dev 1; pvblock write 0x50000000 0 1",
    ]);
    assert.ok(r.out.startsWith("\nPartition Map for PV BLOCK device 1  --   Partition Type: DOS\n"));
    assert.match(r.out, /^ {2}5\t/m);
    assert.match(r.out, /pvblock write: device 0 block # 34, count 1 \.\.\. 1 blocks written: OK/);
    assert.match(r.out, /pvblock write: device 1 block # 0, count 1 \.\.\. -5 blocks written: ERROR/);
    assert.equal(r.code, 1);
    const written = new Uint8Array(512);
    const file = await Deno.open(gpt);
    await file.seek(0x22 * 512, Deno.SeekMode.Start);
    await file.read(written);
    file.close();
    assert.ok(written.every((b) => b === 0x5a));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("after reset nothing more runs, not even the rest of the same line or loop", async () => {
  const r = await pvboot(["-c", "for i in 1 2; do echo $i; reset; echo after; done; echo end"]);
  assert.equal(r.out, "1\nresetting ...\n");
});

Deno.test("the boot smoke test loads from the ESP, boots, and the platform finds the hand-over clean", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gpt = `${dir}/gpt.img`;
    await Deno.copyFile(await ensureFixture("gpt"), gpt);
    const r = await pvboot(["--disk", gpt, "scripts/examples/boot-smoke.txt"]);
    assert.match(r.out, /\nStarting kernel \.\.\.\n\n$/);
    assert.match(r.err, /^handoff: bootargs "console=hvc0 root=\/dev\/xvda2"$/m);
    assert.match(r.err, /^backend vbd xvda: InitWait /m);
    assert.match(r.err, /\nhandoff: clean\n$/);
    assert.equal(r.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("coninfo on the xenguest profile prints what the real board printed", async () => {
  const r = await pvboot(["--board", "xenguest", "-c", "coninfo"]);
  assert.equal(
    r.out,
    "List of available devices:\nhypervisor 00000007 IO stdin stdout stderr \nserial   00000003 IO \n",
  );
});
