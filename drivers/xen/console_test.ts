import assert from "node:assert/strict";
import {
  CONSOLE_PFN,
  CONSOLE_PORT,
  FakeConsoleBackend,
  FakeXen,
  HEAP_SIZE,
  HEAP_START,
} from "./_fake_xen.ts";
import { Malloc } from "../../board/malloc.ts";
import { Hypercalls } from "./hypercall.ts";
import {
  XENCONS_IN_CONS,
  XENCONS_IN_PROD,
  XENCONS_OUT_CONS,
  XENCONS_OUT_PROD,
  XenConsole,
} from "./console.ts";
import {
  __HYPERVISOR_event_channel_op,
  __HYPERVISOR_sched_op,
  EVTCHNOP_send,
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  SCHEDOP_yield,
} from "./abi.ts";
import { XenError } from "./errors.ts";
import type { Console } from "../../commands/command.ts";

const RING = CONSOLE_PFN * 0x1000;

class InnerConsole implements Console {
  ctrl = false;
  readonly printed: string[] = [];
  puts(text: string): void {
    this.printed.push(text);
  }
  ctrlc(): boolean {
    const was = this.ctrl;
    this.ctrl = false;
    return was;
  }
  hadCtrlc(): boolean {
    return this.ctrl;
  }
  clearCtrlc(): void {
    this.ctrl = false;
  }
  delay(): Promise<boolean> {
    return Promise.resolve(false);
  }
}

async function setup(start?: { outProd: number; inProd: number }) {
  const xen = new FakeXen();
  if (start) {
    xen.memory.writeU32(RING + XENCONS_OUT_PROD, start.outProd);
    xen.memory.writeU32(RING + XENCONS_OUT_CONS, start.outProd);
    xen.memory.writeU32(RING + XENCONS_IN_PROD, start.inProd);
    xen.memory.writeU32(RING + XENCONS_IN_CONS, start.inProd);
  }
  const backend = new FakeConsoleBackend(xen).attach();
  const hc = Hypercalls.create(xen, new Malloc(HEAP_START, HEAP_SIZE));
  const inner = new InnerConsole();
  const console = await XenConsole.probe(hc, inner, { maxStalledYields: 8 });
  assert.ok(console);
  return { xen, backend, console, inner };
}

Deno.test("probe finds the ring and port in the HVM params", async () => {
  const { console } = await setup();
  assert.equal(console.ring, RING);
  assert.equal(console.port, CONSOLE_PORT);
});

Deno.test("no console event channel means no console; no page is an error", async () => {
  const xen = new FakeXen();
  const hc = Hypercalls.create(xen, new Malloc(HEAP_START, HEAP_SIZE));
  xen.params.set(HVM_PARAM_CONSOLE_EVTCHN, 0n);
  assert.equal(await XenConsole.probe(hc, new InnerConsole()), undefined);
  xen.params.set(HVM_PARAM_CONSOLE_EVTCHN, 2n);
  xen.params.set(HVM_PARAM_CONSOLE_PFN, 0n);
  await assert.rejects(XenConsole.probe(hc, new InnerConsole()), XenError);
});

Deno.test("puts copies into the ring, publishes out_prod and notifies the backend", async () => {
  const { xen, backend, console, inner } = await setup();
  console.puts("hello\n");
  assert.equal(xen.memory.readU32(RING + XENCONS_OUT_PROD), 6, "in the ring before any await");
  assert.ok(await console.flush());
  assert.equal(backend.output, "hello\n");
  assert.ok(xen.count(__HYPERVISOR_event_channel_op, EVTCHNOP_send) >= 1);
  assert.deepEqual(inner.printed, [], "nothing bypasses the ring");
});

Deno.test("output wraps around the end of the ring and the 32-bit index", async () => {
  const { backend, console } = await setup({ outProd: 0xffff_ffff - 100, inProd: 0 });
  const text = Array.from({ length: 300 }, (_, i) => String.fromCharCode(0x20 + (i % 90))).join("");
  console.puts(text);
  assert.ok(await console.flush());
  assert.equal(backend.output, text);
});

Deno.test("a full ring makes the writer yield and retry until everything is out, in order", async () => {
  const { xen, backend, console } = await setup();
  // A slow backend that only runs when the guest yields, taking 100 bytes each time.
  backend.drainLimit = 100;
  xen.onSend = () => {};
  xen.onYield = () => backend.service();
  const text = "0123456789".repeat(700); // 7000 bytes > 2048-byte ring
  console.puts(text);
  console.puts("END");
  assert.ok(await console.flush());
  assert.equal(backend.output, text + "END");
  assert.equal(console.droppedBytes, 0);
  assert.ok(xen.count(__HYPERVISOR_sched_op, SCHEDOP_yield) >= 7000 / 100);
});

Deno.test("a backend that never drains pauses the pump without hanging, and output resumes later", async () => {
  const { xen, backend, console } = await setup();
  backend.stuck = true;
  const text = "x".repeat(3000);
  console.puts(text);
  assert.equal(await console.flush(), false);
  assert.ok(xen.count(__HYPERVISOR_sched_op, SCHEDOP_yield) > 0);
  assert.equal(console.queuedBytes, 3000 - 2048);
  backend.stuck = false;
  assert.ok(await console.flush());
  assert.equal(backend.output, text);
});

Deno.test("bad output indexes stop output with an error instead of a crash", async () => {
  const { xen, console } = await setup();
  xen.memory.writeU32(RING + XENCONS_OUT_CONS, 5000); // consumer ahead of the producer
  console.puts("lost");
  assert.match(console.error ?? "", /out of range/);
  assert.equal(console.droppedBytes, 4);
  assert.equal(await console.flush(), false);
});

Deno.test("getc and tstc read the input ring and advance in_cons", async () => {
  const { xen, backend, console } = await setup({ outProd: 0, inProd: 1022 });
  assert.equal(console.tstc(), false);
  assert.equal(console.getc(), -1);
  backend.type("abcd"); // wraps at 1024
  assert.equal(console.tstc(), true);
  let read = "";
  for (let c = console.getc(); c >= 0; c = console.getc()) read += String.fromCharCode(c);
  assert.equal(read, "abcd");
  assert.equal(xen.memory.readU32(RING + XENCONS_IN_CONS), 1026);
});

Deno.test("a Ctrl-C in the input ring counts as Ctrl-C; other input is left for getc", async () => {
  const { backend, console, inner } = await setup();
  backend.type("a");
  assert.equal(console.ctrlc(), false);
  assert.equal(console.getc(), 0x61);
  backend.type("\x03");
  assert.equal(console.hadCtrlc(), true);
  assert.equal(console.ctrlc(), true);
  assert.equal(console.ctrlc(), false);
  inner.ctrl = true;
  assert.equal(console.ctrlc(), true);
});

Deno.test("bad input indexes read as no input", async () => {
  const { xen, console } = await setup();
  xen.memory.writeU32(RING + XENCONS_IN_PROD, 5000);
  assert.equal(console.tstc(), false);
  assert.match(console.error ?? "", /input ring/);
});
