import assert from "node:assert/strict";
import { FakeXen, HEAP_SIZE, HEAP_START } from "./_fake_xen.ts";
import { Malloc } from "../../board/malloc.ts";
import { Hypercalls } from "./hypercall.ts";
import { SharedInfo } from "./hypervisor.ts";
import { EVENT_DISPATCH_ROUNDS, EventChannelError, EventChannels } from "./events.ts";
import {
  __HYPERVISOR_event_channel_op,
  __HYPERVISOR_sched_op,
  EVTCHNOP_close,
  EVTCHNOP_send,
  SCHEDOP_poll,
} from "./abi.ts";

async function setup() {
  const xen = new FakeXen();
  const heap = new Malloc(HEAP_START, HEAP_SIZE);
  const hc = Hypercalls.create(xen, heap);
  const shared = await SharedInfo.map(hc, heap);
  const log: string[] = [];
  const events = new EventChannels(hc, shared, { clock: xen.clock, log: (t) => log.push(t) });
  events.init();
  return { xen, heap, hc, shared, events, log };
}

Deno.test("init masks every port of the 2-level ABI", async () => {
  const { shared } = await setup();
  for (const port of [1, 2, 63, 64, 1023, 1024, 4095]) assert.ok(shared.isMasked(port), `port ${port}`);
});

Deno.test("a masked port is never dispatched, but stays pending", async () => {
  const { xen, events } = await setup();
  const hits: number[] = [];
  events.bind(5, (p) => hits.push(p));
  xen.raise(5);
  assert.equal(events.poll(), 0);
  assert.deepEqual(hits, []);
  assert.ok(events.isPending(5));
});

Deno.test("unmask re-raises a port that became pending while masked and runs its handler", async () => {
  const { xen, events } = await setup();
  const hits: number[] = [];
  events.bind(5, (p) => hits.push(p));
  xen.raise(5);
  events.unmask(5);
  assert.deepEqual(hits, [5]);
  assert.ok(!events.isPending(5), "the pending bit is cleared before the handler");
  assert.equal(events.eventCount(5), 1);
});

Deno.test("dispatch handles unmasked pending ports lowest first, across selector words", async () => {
  const { xen, events } = await setup();
  const hits: number[] = [];
  for (const port of [3, 70, 4]) {
    events.bind(port, (p) => hits.push(p));
    events.unmask(port);
  }
  for (const port of [70, 4, 3]) xen.raise(port);
  assert.equal(events.poll(), 3);
  assert.deepEqual(hits, [3, 4, 70]);
});

Deno.test("an event storm is cut off after a bounded number of rounds", async () => {
  const { xen, events } = await setup();
  let calls = 0;
  events.bind(9, (p) => {
    calls++;
    xen.raise(p); // the backend raises it again at once
  });
  events.unmask(9);
  xen.raise(9);
  events.poll();
  assert.ok(calls > 1 && calls <= EVENT_DISPATCH_ROUNDS * 64 + 1, `calls ${calls}`);
});

Deno.test("a second handler on a port prints U-Boot's warning", async () => {
  const { events, log } = await setup();
  events.bind(7, () => {});
  events.bind(7, () => {});
  assert.deepEqual(log, ["WARN: Handler for port 7 already registered, replacing\n"]);
});

Deno.test("allocUnbound binds an owned port; unbind closes it", async () => {
  const { xen, events } = await setup();
  const port = await events.allocUnbound(0);
  assert.ok(xen.openPorts.has(port));
  assert.ok(events.isBound(port));
  assert.ok(events.shared.isMasked(port), "left masked for the caller");
  await events.unbind(port);
  assert.ok(!xen.openPorts.has(port));
  assert.ok(!events.isBound(port));
});

Deno.test("a refused alloc_unbound prints U-Boot's error and throws", async () => {
  const { xen, events, log } = await setup();
  xen.override = (nr) => (nr === __HYPERVISOR_event_channel_op ? -12n : undefined);
  await assert.rejects(events.allocUnbound(0), EventChannelError);
  assert.deepEqual(log, ["ERROR: alloc_unbound failed with rc=-12"]);
});

Deno.test("fini closes owned ports still bound and only detaches the toolstack's ports", async () => {
  const { xen, events, log, shared } = await setup();
  const owned = await events.allocUnbound(0);
  events.bind(2, () => {}); // the console's port: attached, not owned
  xen.raise(2);
  shared.setUpcallPending(true);
  assert.deepEqual(await events.fini(), [owned]);
  assert.deepEqual(log, [`port ${owned} still bound!\n`]);
  assert.ok(xen.openPorts.has(2), "the console port stays open");
  assert.ok(!xen.openPorts.has(owned));
  const closes = xen.calls.filter((c) => c.nr === __HYPERVISOR_event_channel_op && c.cmd === EVTCHNOP_close);
  assert.deepEqual(closes.map((c) => c.detail.port), [owned]);
  assert.ok(!shared.upcallPending());
  assert.deepEqual(events.boundPorts(), []);
});

Deno.test("send issues EVTCHNOP_send on the port", async () => {
  const { xen, events } = await setup();
  const sent: number[] = [];
  xen.onSend = (p) => sent.push(p);
  await events.send(2);
  assert.deepEqual(sent, [2]);
  assert.equal(xen.count(__HYPERVISOR_event_channel_op, EVTCHNOP_send), 1);
});

Deno.test("pollWithTimeout returns at once for a pending port and sleeps otherwise", async () => {
  const { xen, events } = await setup();
  xen.raise(1);
  assert.equal(await events.pollWithTimeout([1], 10), true);
  assert.equal(xen.count(__HYPERVISOR_sched_op, SCHEDOP_poll), 0);
  events.clear(1);
  assert.equal(await events.pollWithTimeout([1], 10), false);
  assert.equal(xen.count(__HYPERVISOR_sched_op, SCHEDOP_poll), 1);
  assert.equal(xen.now, 10_000_000n);
});

Deno.test("waitOn checks before sleeping and gives up after the timeout", async () => {
  const { xen, events } = await setup();
  assert.equal(await events.waitOn(1, () => true, 100), true);
  assert.equal(xen.count(__HYPERVISOR_sched_op, SCHEDOP_poll), 0);
  assert.equal(await events.waitOn(1, () => false, 5), false);
  assert.ok(xen.count(__HYPERVISOR_sched_op, SCHEDOP_poll) <= 6);
});

Deno.test("ports outside 1..4095 are refused", async () => {
  const { events } = await setup();
  assert.throws(() => events.bind(0, () => {}), RangeError);
  assert.throws(() => events.bind(4096, () => {}), RangeError);
});

Deno.test("the default clock is virtual: it moves to a poll's timeout only when the poll timed out", async () => {
  const xen = new FakeXen();
  const heap = new Malloc(HEAP_START, HEAP_SIZE);
  const hc = Hypercalls.create(xen, heap);
  const events = new EventChannels(hc, await SharedInfo.map(hc, heap));
  events.init();
  assert.equal(events.clock.nowNs(), 0n);
  await events.sleep([1], 5_000_000n);
  assert.equal(events.clock.nowNs(), 5_000_000n);
  xen.onPoll = () => xen.raise(1); // an event arrives during the next poll
  await events.sleep([1], 9_000_000n);
  assert.equal(events.clock.nowNs(), 5_000_000n);
});
