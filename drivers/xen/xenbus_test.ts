import assert from "node:assert/strict";
import { bytes, FakeXen, FakeXenstored, HEAP_SIZE, HEAP_START, STORE_PFN, STORE_PORT } from "./_fake_xen.ts";
import { Malloc } from "../../board/malloc.ts";
import { Hypercalls } from "./hypercall.ts";
import { SharedInfo } from "./hypervisor.ts";
import { EventChannels } from "./events.ts";
import { XenBus } from "./xenbus.ts";
import { XenbusError, XenbusProtocolError, XenbusTimeoutError, XenStoreError } from "./xenbus_errors.ts";
import {
  XenbusState,
  XENSTORE_PAYLOAD_MAX,
  XS_DIRECTORY,
  XS_ERROR,
  XS_READ,
  XS_RING_RSP_CONS,
  XS_RING_RSP_PROD,
  XS_TRANSACTION_END,
  XS_WATCH_EVENT,
  XS_WRITE,
} from "./xs_wire.ts";
import { __HYPERVISOR_sched_op, SCHEDOP_poll } from "./abi.ts";

const TIMEOUT_MS = 50;

async function setup(options: { timeoutMs?: number } = {}) {
  const xen = new FakeXen();
  const heap = new Malloc(HEAP_START, HEAP_SIZE);
  const hc = Hypercalls.create(xen, heap);
  const shared = await SharedInfo.map(hc, heap);
  const events = new EventChannels(hc, shared, { clock: xen.clock });
  events.init();
  const store = new FakeXenstored(xen).attach();
  const log: string[] = [];
  const bus = await XenBus.init(hc, events, {
    replyTimeoutMs: options.timeoutMs ?? TIMEOUT_MS,
    log: (t) => log.push(t),
  });
  return { xen, heap, hc, events, store, bus, log };
}

function polls(xen: FakeXen): number {
  return xen.count(__HYPERVISOR_sched_op, SCHEDOP_poll);
}

Deno.test("init takes the ring and port from the HVM params", async () => {
  const { bus } = await setup();
  assert.equal(bus.ring, STORE_PFN * 0x1000);
  assert.equal(bus.port, STORE_PORT);
});

Deno.test("read, write, directory and rm round-trip through the rings", async () => {
  const { bus, store } = await setup();
  assert.equal(await bus.write("device/vbd/51712/state", "1"), undefined);
  assert.equal(store.store.get("device/vbd/51712/state"), "1");
  assert.equal(await bus.read("device/vbd/51712/state"), "1");
  assert.deepEqual(await bus.directory("device/vbd"), ["51712"]);
  assert.equal(await bus.rm("device/vbd/51712"), undefined);
  const gone = await bus.read("device/vbd/51712/state");
  assert.ok(gone instanceof XenStoreError);
  assert.equal(gone.xsError, "ENOENT");
});

Deno.test("requests carry distinct ids and the write value goes without a NUL", async () => {
  const { bus, store } = await setup();
  await bus.write("a", "xyz");
  await bus.read("a");
  const [write, read] = store.requests;
  assert.ok(write && read);
  assert.notEqual(write.header.reqId, read.header.reqId);
  assert.deepEqual([...write.payload], [...bytes("a\0xyz")]);
  assert.deepEqual([...read.payload], [...bytes("a\0")]);
});

Deno.test("a reply already in the ring is taken without waiting (no U-Boot timeout)", async () => {
  const { xen, bus } = await setup();
  // The fake server answers inside the send hypercall: the reply is there before the wait begins.
  const before = polls(xen);
  assert.equal(await bus.read("domid"), "1");
  assert.equal(polls(xen), before);
});

Deno.test("a reply that arrives while the client polls is found", async () => {
  const { xen, bus, store } = await setup();
  store.stuck = true;
  let polled = 0;
  xen.onPoll = () => {
    if (++polled === 2) {
      store.stuck = false;
      store.service();
    }
  };
  assert.equal(await bus.read("domid"), "1");
  assert.ok(polled >= 2);
});

Deno.test("a stuck server gives a timeout, and a late reply is then dropped quietly", async () => {
  const { xen, bus, store, log } = await setup();
  store.stuck = true;
  const result = await bus.read("domid");
  assert.ok(result instanceof XenbusTimeoutError);
  assert.equal(result.xsError, "No reply");
  assert.ok(log.includes("xenbus_get_reply: wait_event timeout\n"));
  // The server wakes up and answers the old request first, then the new one.
  store.stuck = false;
  store.store.set("x", "42");
  assert.equal(await bus.read("x"), "42");
  assert.ok(xen.now > 0n);
});

Deno.test("a payload length over 4096 fails the request with a protocol error", async () => {
  const { bus, store } = await setup();
  store.respond = (
    h,
  ) => [{ type: XS_READ, reqId: h.reqId, payload: bytes("x"), len: XENSTORE_PAYLOAD_MAX + 1 }];
  const result = await bus.read("domid");
  assert.ok(result instanceof XenbusProtocolError);
  assert.equal(result.xsError, "EIO");
  // The stream was resynchronised: the next request works.
  store.respond = undefined;
  assert.equal(await bus.read("domid"), "1");
});

Deno.test("an unterminated directory reply is a protocol error", async () => {
  const { bus, store } = await setup();
  store.respond = (h) => [{ type: XS_DIRECTORY, reqId: h.reqId, payload: bytes("51712\u000051728") }];
  assert.ok(await bus.directory("device/vbd") instanceof XenbusProtocolError);
});

Deno.test("an OK reply without its NUL is a protocol error", async () => {
  const { bus, store } = await setup();
  store.respond = (h) => [{ type: XS_WRITE, reqId: h.reqId, payload: bytes("OK") }];
  assert.ok(await bus.write("a", "b") instanceof XenbusProtocolError);
});

Deno.test("a reply to a request id that was never sent is a protocol error", async () => {
  const { bus, store } = await setup();
  store.respond = (h) => [{ type: XS_READ, reqId: h.reqId + 1000, payload: bytes("1") }];
  const result = await bus.read("domid");
  assert.ok(result instanceof XenbusProtocolError);
  assert.match(result.message, /not outstanding/);
});

Deno.test("a reply of the wrong type, or of an unknown type, is a protocol error", async () => {
  const { bus, store } = await setup();
  store.respond = (h) => [{ type: XS_WRITE, reqId: h.reqId, payload: bytes("OK\0") }];
  assert.ok(await bus.read("domid") instanceof XenbusProtocolError);
  store.respond = (h) => [{ type: 99, reqId: h.reqId, payload: bytes("") }];
  assert.ok(await bus.read("domid") instanceof XenbusProtocolError);
});

Deno.test("response ring indexes more than a ring apart fail the request, without a hang", async () => {
  const { xen, bus, store } = await setup();
  store.respond = () => {
    xen.memory.writeU32(bus.ring + XS_RING_RSP_PROD, xen.memory.readU32(bus.ring + XS_RING_RSP_CONS) + 5000);
    xen.raise(STORE_PORT);
    return undefined;
  };
  const result = await bus.read("domid");
  assert.ok(result instanceof XenbusProtocolError);
  assert.match(result.message, /indexes out of range/);
  // Every later request fails the same way, promptly.
  assert.ok(await bus.read("domid") instanceof XenbusError);
});

Deno.test("unknown error names read as EINVAL", async () => {
  const { bus, store } = await setup();
  store.respond = (h) => [{ type: XS_ERROR, reqId: h.reqId, payload: bytes("EWHATEVER\0") }];
  const result = await bus.read("domid");
  assert.ok(result instanceof XenStoreError);
  assert.equal(result.xsError, "EINVAL");
});

Deno.test("messages longer than the ring are streamed both ways", async () => {
  const { bus, store } = await setup();
  const big = "v".repeat(3000);
  assert.equal(await bus.write("big", big), undefined);
  assert.equal(store.store.get("big"), big);
  // The fake server writes at most what fits; serve the rest as the client consumes.
  store.respond = (h, payload) => {
    const reply = store.answer(h, payload)[0]!;
    const header = new Uint8Array(16);
    new DataView(header.buffer).setUint32(0, reply.type, true);
    new DataView(header.buffer).setUint32(4, reply.reqId, true);
    new DataView(header.buffer).setUint32(12, reply.payload.length, true);
    const message = new Uint8Array(16 + reply.payload.length);
    message.set(header);
    message.set(reply.payload, 16);
    let sent = 0;
    const pushSome = () => {
      const room = 1024 - ((store.xen.memory.readU32(bus.ring + XS_RING_RSP_PROD) -
        store.xen.memory.readU32(bus.ring + XS_RING_RSP_CONS)) >>> 0);
      const n = Math.min(room, message.length - sent);
      if (n > 0) store.writeRaw(message.subarray(sent, sent + n));
      sent += n;
    };
    pushSome();
    const previous = store.xen.onSend;
    store.xen.onSend = (port) => {
      previous(port);
      if (sent < message.length) pushSome();
    };
    return undefined;
  };
  assert.equal(await bus.read("big"), big);
});

Deno.test("a request over 4096 bytes is refused before anything is sent", async () => {
  const { bus, store } = await setup();
  const result = await bus.write("big", "v".repeat(XENSTORE_PAYLOAD_MAX));
  assert.ok(result instanceof XenbusError);
  assert.equal(result.xsError, "E2BIG");
  assert.equal(store.requests.length, 0);
});

Deno.test("watch events, even between a request and its reply, reach the callback", async () => {
  const { bus, store } = await setup();
  const seen: string[] = [];
  assert.equal(
    await bus.watch("backend/vbd", "tok", (path, token) => seen.push(`${path}|${token}`)),
    undefined,
  );
  assert.deepEqual(seen, ["backend/vbd|tok"]); // the immediate event
  store.respond = (h, payload) => [
    { type: XS_WATCH_EVENT, reqId: 0, payload: bytes("backend/vbd/1/state\0tok\0") },
    ...store.answer(h, payload),
  ];
  assert.equal(await bus.read("domid"), "1");
  assert.deepEqual(seen, ["backend/vbd|tok", "backend/vbd/1/state|tok"]);
  store.respond = undefined;
  assert.equal(await bus.unwatch("tok"), undefined);
  assert.deepEqual(bus.watchTokens(), []);
});

Deno.test("malformed watch events are dropped without failing the request", async () => {
  const { bus, store } = await setup();
  const seen: string[] = [];
  await bus.watch("a", "t", (path) => seen.push(path));
  store.respond = (h, payload) => [
    { type: XS_WATCH_EVENT, reqId: 0, payload: bytes("only-one-string\0") },
    ...store.answer(h, payload),
  ];
  assert.equal(await bus.read("domid"), "1");
  assert.deepEqual(seen, ["a"]);
});

Deno.test("transactions: start parses the id, EAGAIN at the end asks for a retry", async () => {
  const { bus, store } = await setup();
  const tx = await bus.transactionStart();
  assert.equal(tx, 1);
  assert.deepEqual(bus.openTransactions(), [1]);
  store.respond = (h) => [{ type: XS_ERROR, reqId: h.reqId, payload: bytes("EAGAIN\0") }];
  assert.deepEqual(await bus.transactionEnd(tx as number), { retry: true });
  assert.deepEqual(bus.openTransactions(), []);
});

Deno.test("switchState writes only a changed state, inside a transaction retried on EAGAIN", async () => {
  const { bus, store } = await setup();
  store.store.set("device/vbd/51712/state", "1");
  let conflicts = 1;
  store.respond = (h, payload) => {
    if (h.type === XS_TRANSACTION_END && conflicts-- > 0) {
      store.store.set("device/vbd/51712/state", "1"); // the conflicting transaction is dropped
      return [{ type: XS_ERROR, reqId: h.reqId, payload: bytes("EAGAIN\0") }];
    }
    return store.answer(h, payload);
  };
  assert.equal(await bus.switchState("device/vbd/51712/state", XenbusState.Connected), undefined);
  assert.equal(store.store.get("device/vbd/51712/state"), "4");
  const writes = store.requests.filter((r) => r.header.type === XS_WRITE);
  assert.equal(writes.length, 2); // once per attempt
  assert.ok(writes.every((w) => w.header.txId !== 0));
  const before = store.requests.length;
  assert.equal(await bus.switchState("device/vbd/51712/state", XenbusState.Connected), undefined);
  assert.equal(store.requests.slice(before).filter((r) => r.header.type === XS_WRITE).length, 0);
});

Deno.test("readState accepts a digit 0..8 only", async () => {
  const { bus, store } = await setup();
  store.store.set("s", "4");
  assert.equal(await bus.readState("s"), XenbusState.Connected);
  store.store.set("s", "9");
  assert.ok(await bus.readState("s") instanceof XenbusError);
  store.store.set("s", "4x");
  assert.ok(await bus.readState("s") instanceof XenbusError);
});

Deno.test("waitForState returns once the backend reaches a wanted state", async () => {
  const { xen, bus, store } = await setup();
  store.store.set("backend/state", "2");
  let polled = 0;
  xen.onPoll = () => {
    if (++polled === 3) store.store.set("backend/state", "4");
  };
  assert.equal(await bus.waitForState("backend/state", [XenbusState.Connected], 1000), XenbusState.Connected);
});

Deno.test("waitForState times out with the last state seen", async () => {
  const { bus, store } = await setup();
  store.store.set("backend/state", "2");
  const result = await bus.waitForState("backend/state", [XenbusState.Connected], 20);
  assert.ok(result instanceof XenbusTimeoutError);
  assert.equal(result.lastState, XenbusState.InitWait);
});

Deno.test("readInteger follows U-Boot: sscanf %d, -1 and a message when unreadable", async () => {
  const { bus, store, log } = await setup();
  store.store.set("backend-id", "0");
  store.store.set("ring-ref", "511 ");
  assert.equal(await bus.readInteger("backend-id"), 0);
  assert.equal(await bus.readInteger("ring-ref"), 511);
  assert.equal(await bus.readInteger("nope"), -1);
  assert.ok(log.includes("Failed to read nope.\n"));
});

Deno.test("readNumber is strict decimal with a range", async () => {
  const { bus, store } = await setup();
  store.store.set("n", "51712");
  assert.equal(await bus.readNumber("n", 0, 0xffff), 51712);
  assert.ok(await bus.readNumber("n", 0, 100) instanceof XenbusError);
  store.store.set("n", "-1");
  assert.ok(await bus.readNumber("n") instanceof XenbusError);
  assert.equal(await bus.getSelfId(), 1);
});

Deno.test("concurrent requests are serialised and each gets its own reply", async () => {
  const { bus, store } = await setup();
  store.store.set("a", "1");
  store.store.set("b", "2");
  const [a, b] = await Promise.all([bus.read("a"), bus.read("b")]);
  assert.deepEqual([a, b], ["1", "2"]);
});

Deno.test("fini removes watches and aborts open transactions", async () => {
  const { bus } = await setup();
  await bus.watch("a", "t1", () => {});
  await bus.transactionStart();
  assert.deepEqual(await bus.fini(), { watchesRemoved: 1, transactionsAborted: 1 });
  assert.deepEqual(bus.watchTokens(), []);
  assert.deepEqual(bus.openTransactions(), []);
});

Deno.test("stale bytes in the response ring at start-up are dropped", async () => {
  const xen = new FakeXen();
  const ring = STORE_PFN * 0x1000;
  xen.memory.writeU32(ring + XS_RING_RSP_PROD, 20);
  const heap = new Malloc(HEAP_START, HEAP_SIZE);
  const hc = Hypercalls.create(xen, heap);
  const events = new EventChannels(hc, await SharedInfo.map(hc, heap), { clock: xen.clock });
  events.init();
  new FakeXenstored(xen).attach();
  const bus = await XenBus.init(hc, events, { replyTimeoutMs: TIMEOUT_MS });
  assert.equal(xen.memory.readU32(ring + XS_RING_RSP_CONS), 20);
  assert.equal(await bus.read("domid"), "1");
});
