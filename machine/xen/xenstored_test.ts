import assert from "node:assert/strict";
import { bytes, SPEC, TestGuest, testMachine, text, XS } from "./_test_frontend.ts";

async function guest(): Promise<TestGuest> {
  const g = new TestGuest(await testMachine());
  await g.xsConnect();
  return g;
}

Deno.test("xenstored answers READ, relative paths and GET_DOMAIN_PATH through the ring", async () => {
  const g = await guest();
  assert.equal(await g.xs(XS.READ, ["domid"]), "1");
  assert.equal(await g.xs(XS.READ, ["/local/domain/1/name"]), "pvboot");
  assert.equal(await g.xs(XS.GET_DOMAIN_PATH, ["1"]), "/local/domain/1\0");
  assert.equal(await g.xs(XS.READ, ["store/ring-ref"]), String(0x39001));
  assert.equal(await g.xs(XS.READ, ["console/port"]), "2");
  assert.equal(await g.xs(XS.READ, ["no/such/key"]), "ENOENT");
});

Deno.test("a DIRECTORY reply lists the children, each NUL-terminated", async () => {
  const g = await guest();
  const children = (await g.xs(XS.DIRECTORY, ["control"])).split("\0");
  assert.equal(children.pop(), "");
  assert.deepEqual(children.slice(0, 2), ["shutdown", "feature-poweroff"]);
  assert.ok(children.includes("platform-feature-xs_reset_watches"));
  assert.equal(await g.xs(XS.DIRECTORY, ["data"]), "");
});

Deno.test("the guest may write its own subtree but not Dom0's or the read-only console directory", async () => {
  const g = await guest();
  assert.equal(await g.xs(XS.WRITE, ["data/greeting"], "hello"), "OK\0");
  assert.equal(await g.xs(XS.READ, ["data/greeting"]), "hello");
  assert.equal(await g.xs(XS.WRITE, ["/local/domain/0/evil"], "1"), "EACCES");
  assert.equal(await g.xs(XS.READ, ["/local/domain/0/name"]), "EACCES");
  assert.equal(await g.xs(XS.READ, ["/local/domain/0/nothing"]), "EACCES");
  assert.equal(await g.xs(XS.WRITE, ["console/ring-ref"], "7"), "EACCES");
  assert.equal(await g.xs(XS.WRITE, ["console/new"], "7"), "EACCES");
  assert.equal(await g.xs(XS.READ, ["console/type"]), "xenconsoled");
  // The backend's console directory is readable by the guest.
  assert.equal(await g.xs(XS.READ, ["/local/domain/0/backend/console/1/0/state"]), "1");
});

Deno.test("nodes the guest creates are its own; it may not give them away", async () => {
  const g = await guest();
  assert.equal(await g.xs(XS.MKDIR, ["data/dir"]), "OK\0");
  assert.equal(await g.xs(XS.GET_PERMS, ["data/dir"]), "n1\0");
  assert.equal(await g.xs(XS.SET_PERMS, ["data/dir", "n1", "r0"]), "OK\0");
  assert.equal(await g.xs(XS.GET_PERMS, ["data/dir"]), "n1\0r0\0");
  assert.equal(await g.xs(XS.SET_PERMS, ["data/dir", "n0"]), "EPERM");
  assert.equal(await g.xs(XS.SET_PERMS, ["data/dir", "x1"]), "EINVAL");
  assert.equal(await g.xs(XS.SET_PERMS, ["console", "n1"]), "EACCES");
});

Deno.test("RM removes a subtree, is fine for a missing node, and ENOENT when its parent is missing", async () => {
  const g = await guest();
  await g.xs(XS.WRITE, ["data/a/b/c"], "1");
  assert.equal(await g.xs(XS.RM, ["data/a"]), "OK\0");
  assert.equal(await g.xs(XS.READ, ["data/a/b/c"]), "ENOENT");
  assert.equal(await g.xs(XS.RM, ["data/a"]), "OK\0");
  assert.equal(await g.xs(XS.RM, ["data/a/b"]), "ENOENT");
});

Deno.test("a WATCH answers OK, then fires once up front and for changes below the path", async () => {
  const g = await guest();
  assert.equal(await g.xs(XS.WATCH, ["data", "tok"]), "OK\0");
  await g.xsDrain();
  assert.deepEqual(g.takeEvents(), ["data|tok"]);
  await g.xs(XS.WRITE, ["data/x"], "1");
  await g.xs(XS.WRITE, ["attr/y"], "2");
  await g.xsDrain();
  assert.deepEqual(g.takeEvents(), ["data/x|tok"]);
  // Dom0 changes fire the guest's watch too.
  g.machine.dom0.xenstore.write("/local/domain/1/data/from-dom0", "3");
  await g.xsDrain();
  assert.deepEqual(g.takeEvents(), ["data/from-dom0|tok"]);
  assert.equal(await g.xs(XS.WATCH, ["data", "tok"]), "EEXIST");
  assert.equal(await g.xs(XS.UNWATCH, ["data", "tok"]), "OK\0");
  assert.equal(await g.xs(XS.UNWATCH, ["data", "tok"]), "ENOENT");
  await g.xs(XS.WRITE, ["data/x"], "2");
  await g.xsDrain();
  assert.deepEqual(g.takeEvents(), []);
});

Deno.test("a watch does not report nodes the guest may not read", async () => {
  const g = await guest();
  assert.equal(await g.xs(XS.WATCH, ["/local/domain/0", "t"]), "OK\0");
  await g.xsDrain();
  g.takeEvents();
  g.machine.dom0.xenstore.write("/local/domain/0/secret", "1");
  await g.xsDrain();
  assert.deepEqual(g.takeEvents(), []);
});

Deno.test("a transaction's writes appear only on commit, and abort drops them", async () => {
  const g = await guest();
  const tx = Number((await g.xs(XS.TRANSACTION_START, [""])).replace("\0", ""));
  assert.ok(tx > 0);
  assert.equal(await g.xs(XS.WRITE, ["data/t"], "in-tx", tx), "OK\0");
  assert.equal(await g.xs(XS.READ, ["data/t"], undefined, tx), "in-tx");
  assert.equal(await g.xs(XS.READ, ["data/t"]), "ENOENT");
  assert.equal(await g.xs(XS.TRANSACTION_END, ["T"], undefined, tx), "OK\0");
  assert.equal(await g.xs(XS.READ, ["data/t"]), "in-tx");
  const aborted = Number((await g.xs(XS.TRANSACTION_START, [""])).replace("\0", ""));
  await g.xs(XS.WRITE, ["data/t"], "dropped", aborted);
  assert.equal(await g.xs(XS.TRANSACTION_END, ["F"], undefined, aborted), "OK\0");
  assert.equal(await g.xs(XS.READ, ["data/t"]), "in-tx");
  assert.equal(await g.xs(XS.READ, ["data/t"], undefined, aborted), "ENOENT");
});

Deno.test("a transaction whose read node changed meanwhile ends with EAGAIN and changes nothing", async () => {
  const g = await guest();
  await g.xs(XS.WRITE, ["data/counter"], "1");
  const tx = Number((await g.xs(XS.TRANSACTION_START, [""])).replace("\0", ""));
  assert.equal(await g.xs(XS.READ, ["data/counter"], undefined, tx), "1");
  await g.xs(XS.WRITE, ["data/counter"], "5");
  await g.xs(XS.WRITE, ["data/other"], "2", tx);
  assert.equal(await g.xs(XS.TRANSACTION_END, ["T"], undefined, tx), "EAGAIN");
  assert.equal(await g.xs(XS.READ, ["data/other"]), "ENOENT");
  assert.equal(await g.xs(XS.READ, ["data/counter"]), "5");
  // The transaction is gone after its END.
  assert.equal(await g.xs(XS.TRANSACTION_END, ["T"], undefined, tx), "ENOENT");
});

Deno.test("watch events from a transaction fire at commit, not before", async () => {
  const g = await guest();
  await g.xs(XS.WATCH, ["data", "w"]);
  await g.xsDrain();
  g.takeEvents();
  const tx = Number((await g.xs(XS.TRANSACTION_START, [""])).replace("\0", ""));
  await g.xs(XS.WRITE, ["data/q"], "1", tx);
  await g.xsDrain();
  assert.deepEqual(g.takeEvents(), []);
  await g.xs(XS.TRANSACTION_END, ["T"], undefined, tx);
  await g.xsDrain();
  assert.deepEqual(g.takeEvents(), ["data/q|w"]);
});

Deno.test("malformed requests get Xen's error names", async () => {
  const g = await guest();
  assert.equal(await g.xs(XS.READ, ["bad//path"]), "EINVAL");
  assert.equal(await g.xs(XS.READ, ["trailing/"]), "EINVAL");
  assert.equal(await g.xs(XS.READ, ["sp ace"]), "EINVAL");
  assert.equal(text((await g.xsRaw(XS.READ, bytes("no-nul"))).payload), "EINVAL\0");
  assert.equal(text((await g.xsRaw(XS.TRANSACTION_START, new Uint8Array(0))).payload), "EINVAL\0");
  assert.equal(text((await g.xsRaw(99, bytes("x\0"))).payload), "ENOSYS\0");
  assert.equal(text((await g.xsRaw(XS.WATCH_EVENT, bytes("x\0y\0"))).payload), "ENOSYS\0");
  assert.equal(text((await g.xsRaw(XS.INTRODUCE, bytes("x\0"))).payload), "EACCES\0");
  assert.equal(text((await g.xsRaw(XS.READ, bytes("domid\0"), 77)).payload), "ENOENT\0");
  assert.equal(await g.xs(XS.WATCH, ["only-path"]), "EINVAL");
  assert.equal(await g.xs(XS.TRANSACTION_END, ["X"]), "EINVAL");
  assert.equal(await g.xs(XS.TRANSACTION_END, ["T"]), "ENOENT");
});

Deno.test("an error reply echoes the request's req_id and tx_id", async () => {
  const g = await guest();
  const reply = await g.xsRaw(XS.READ, bytes("domid\0"), 77);
  assert.equal(reply.type, XS.ERROR);
  assert.equal(reply.txId, 77);
});

Deno.test("messages longer than the ring stream through it both ways", async () => {
  const g = await guest();
  const value = "v".repeat(1900);
  assert.equal(await g.xs(XS.WRITE, ["data/big"], value), "OK\0");
  assert.equal(await g.xs(XS.READ, ["data/big"]), value);
});

Deno.test("a header announcing more than 4096 bytes stops the connection with error PROTO", async () => {
  const g = await guest();
  const header = new Uint8Array(16);
  const view = new DataView(header.buffer);
  view.setUint32(0, XS.READ, true);
  view.setUint32(12, 5000, true);
  await g.xsWriteBytes(header);
  const m = g.memory;
  assert.equal(m.readU32(g.xsRing + SPEC.xs_error), 3);
  assert.equal(g.xsPending(), false);
  const report = g.machine.handoffReport().backends.find((b) => b.name === "xenstored");
  assert.equal(report?.state, "error");
  // Nothing more is answered until the guest asks for a reconnect.
  await g.xsWriteBytes(bytes("anything"));
  assert.equal(g.xsPending(), false);
});

Deno.test("ring indexes more than a ring apart stop the connection (RINGIDX) without crashing", async () => {
  const g = await guest();
  const m = g.memory;
  m.writeU32(g.xsRing + SPEC.xs_req_prod, 5000);
  await g.portOp(SPEC.EVTCHNOP_send, g.xsPort);
  assert.equal(m.readU32(g.xsRing + SPEC.xs_error), 2);
  assert.equal(m.readU32(g.xsRing + SPEC.xs_req_cons), 0);
});

Deno.test("a reconnect (connection = 1) resets the rings and serves the guest again", async () => {
  const g = await guest();
  const m = g.memory;
  await g.xs(XS.WATCH, ["data", "w"]);
  m.writeU32(g.xsRing + SPEC.xs_req_prod, 5000);
  await g.portOp(SPEC.EVTCHNOP_send, g.xsPort);
  assert.equal(m.readU32(g.xsRing + SPEC.xs_error), 2);
  m.writeU32(g.xsRing + SPEC.xs_connection, 1);
  await g.portOp(SPEC.EVTCHNOP_send, g.xsPort);
  assert.equal(m.readU32(g.xsRing + SPEC.xs_connection), 0);
  assert.equal(m.readU32(g.xsRing + SPEC.xs_error), 0);
  assert.equal(m.readU32(g.xsRing + SPEC.xs_req_prod), 0);
  assert.equal(await g.xs(XS.READ, ["domid"]), "1");
  const report = g.machine.handoffReport().backends.find((b) => b.name === "xenstored");
  assert.equal(report?.details["watches"], 0);
});

Deno.test("xenstored announces the reconnection and error features in the ring page", async () => {
  const g = await guest();
  assert.equal(g.memory.readU32(g.xsRing + SPEC.xs_server_features), 3);
});

Deno.test("the Dom0 API reads, writes and watches as Dom0, delivering watch events when xenstored runs", async () => {
  const g = await guest();
  const xs = g.machine.dom0.xenstore;
  const seen: string[] = [];
  assert.equal(
    xs.watch("/local/domain/1/device", "fe", (path, token) => seen.push(`${path}|${token}`)),
    undefined,
  );
  assert.deepEqual(seen, []);
  await g.yield();
  assert.deepEqual(seen, ["/local/domain/1/device|fe"]);
  assert.equal(await g.xs(XS.WRITE, ["device/vbd"], ""), "EACCES");
  xs.write("/local/domain/1/device/vbd/51712/state", "1");
  await g.yield();
  assert.deepEqual(seen.slice(1), ["/local/domain/1/device/vbd/51712/state|fe"]);
  assert.equal(xs.readString("/local/domain/0/name"), "Domain-0");
  assert.equal(xs.unwatch("/local/domain/1/device", "fe"), undefined);
});

Deno.test("handoff lists the watches and transactions a guest left behind", async () => {
  const g = await guest();
  await g.xs(XS.WATCH, ["data", "left"]);
  await g.xs(XS.TRANSACTION_START, [""]);
  await g.xsDrain();
  const problems = g.machine.handoffReport().problems;
  assert.ok(problems.includes("xenstore: 1 watch(es) still registered"));
  assert.ok(problems.includes("xenstore: 1 transaction(s) open"));
  assert.equal(await g.xs(XS.RESET_WATCHES, [""]), "OK\0");
  assert.deepEqual(g.machine.handoffReport().problems.filter((p) => p.startsWith("xenstore")), []);
});
