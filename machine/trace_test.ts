import assert from "node:assert/strict";
import {
  type Events,
  formatTraceJson,
  formatTraceLine,
  MAX_LISTENERS,
  printableBytes,
  TRACE_KINDS,
  TraceBus,
  TraceError,
  type TraceKind,
  type TraceRecord,
} from "./trace.ts";

const SAMPLES: { [K in TraceKind]: Events[K] } = {
  hypercall: {
    nr: 29,
    name: "sched_op",
    op: "SCHEDOP_poll",
    args: [3n, 0x4010_0000n],
    result: 0n,
    error: "",
  },
  "evtchn-send": { fromDomain: 1, fromPort: 3, toDomain: 0, toPort: 7 },
  "evtchn-deliver": { domain: 1, port: 2, masked: true, upcall: false },
  "xenstore-msg": {
    direction: "xenstored→guest",
    type: "WATCH_EVENT",
    reqId: 0,
    txId: 0,
    payload: "data\\0t\\0",
  },
  "console-output": { bytes: Uint8Array.of(0x6f, 0x6b, 0x0a) },
  "grant-refused": { domain: 1, ref: 12, by: 0, why: "entry grants d5, not d0" },
  "xen-console": { domain: 1, line: "hello" },
  "domain-shutdown": { domain: 1, reason: 0, name: "poweroff" },
  "blkif-request": {
    domain: 1,
    device: 51712,
    id: 3n,
    op: "READ",
    sector: 2048n,
    sectors: 8,
    segments: 1,
    status: -1,
    why: "injected I/O error at sector 2050",
  },
};

Deno.test("listeners get the events of their kind in order, and stop after removal", () => {
  const bus = new TraceBus();
  const seen: string[] = [];
  const off = bus.on("evtchn-send", (e) => seen.push(`a${e.fromPort}`));
  bus.on("evtchn-send", (e) => seen.push(`b${e.fromPort}`));
  bus.on("evtchn-deliver", () => seen.push("other"));
  bus.emit("evtchn-send", { fromDomain: 1, fromPort: 1, toDomain: 0, toPort: 2 });
  off();
  bus.emit("evtchn-send", { fromDomain: 1, fromPort: 2, toDomain: 0, toPort: 2 });
  assert.deepEqual(seen, ["a1", "b1", "b2"]);
});

Deno.test("an every-kind listener gets records and makes every kind wanted", () => {
  const bus = new TraceBus();
  const records: TraceRecord[] = [];
  assert.equal(bus.wants("xenstore-msg"), false);
  const off = bus.onAny((r) => records.push(r));
  assert.equal(bus.wants("xenstore-msg"), true);
  bus.emit("xen-console", SAMPLES["xen-console"]);
  off();
  bus.emit("xen-console", SAMPLES["xen-console"]);
  assert.deepEqual(records, [{ kind: "xen-console", event: SAMPLES["xen-console"] }]);
});

Deno.test("a bus refuses more than MAX_LISTENERS listeners of one kind", () => {
  const bus = new TraceBus();
  for (let i = 0; i < MAX_LISTENERS; i++) bus.on("hypercall", () => {});
  assert.throws(() => bus.on("hypercall", () => {}), TraceError);
});

Deno.test("every kind has one readable line", () => {
  const lines = TRACE_KINDS.map((kind) => formatTraceLine(kind, SAMPLES[kind] as never));
  assert.deepEqual(lines, [
    "hypercall sched_op SCHEDOP_poll(0x3, 0x40100000) = 0",
    "evtchn-send d1:3 -> d0:7",
    "evtchn-deliver d1:2 (masked)",
    'xenstore-msg xenstored→guest WATCH_EVENT req=0 tx=0 "data\\0t\\0"',
    'console-output "ok\\n"',
    "grant-refused d1 ref 12 by d0: entry grants d5, not d0",
    "xen-console (d1) hello",
    "domain-shutdown d1 poweroff",
    "blkif-request d1 vbd 51712 id=3 READ sector 2048+8 segs 1 = -1 (injected I/O error at sector 2050)",
  ]);
  assert.equal(
    formatTraceLine("evtchn-send", { fromDomain: 0, fromPort: 4, toDomain: null, toPort: null }),
    "evtchn-send d0:4 -> (unbound)",
  );
});

Deno.test("every kind has one JSON line that parses back to its fields", () => {
  for (const kind of TRACE_KINDS) {
    const json = formatTraceJson(kind, SAMPLES[kind] as never);
    assert.ok(!json.includes("\n"));
    assert.equal(JSON.parse(json).kind, kind);
  }
  assert.deepEqual(JSON.parse(formatTraceJson("hypercall", SAMPLES.hypercall)), {
    kind: "hypercall",
    nr: 29,
    name: "sched_op",
    op: "SCHEDOP_poll",
    args: [3, 0x4010_0000],
    result: 0,
    error: "",
  });
  assert.equal(JSON.parse(formatTraceJson("console-output", SAMPLES["console-output"])).bytes, "ok\\n");
  const big = formatTraceJson("hypercall", { ...SAMPLES.hypercall, args: [1n << 60n] });
  assert.deepEqual(JSON.parse(big).args, [String(1n << 60n)]);
});

Deno.test("printable text escapes NUL, quotes, backslashes and bytes outside ASCII", () => {
  assert.equal(
    printableBytes(Uint8Array.of(0x61, 0, 0x22, 0x5c, 0x0d, 0x7f, 0x80)),
    'a\\0\\"\\\\\\r\\x7f\\x80',
  );
});
