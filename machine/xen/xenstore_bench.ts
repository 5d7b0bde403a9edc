/**
 * Benchmark: XenStore round trips through the guest's ring (a READ written into the request ring, the
 * event channel send that hands the CPU to xenstored, the reply read back from the response ring) against
 * a baseline of the same lookup in a plain in-process `Map`. Run with
 * `deno bench machine/xen/xenstore_bench.ts`.
 *
 * @module
 */

import { TestGuest, testMachine, XS } from "./_test_frontend.ts";

const machine = await testMachine();
const guest = new TestGuest(machine);
await guest.xsConnect();
const plain = new Map<string, string>([["/local/domain/1/domid", "1"], ["/local/domain/1/name", "pvboot"]]);

Deno.bench({
  name: "Map.get of a XenStore path",
  group: "xenstore read",
  baseline: true,
  fn() {
    if (plain.get("/local/domain/1/domid") !== "1") throw new Error("Cannot bench: wrong value");
  },
});

Deno.bench({
  name: "XS_READ round trip through the ring",
  group: "xenstore read",
  async fn() {
    if (await guest.xs(XS.READ, ["domid"]) !== "1") throw new Error("Cannot bench: wrong reply");
  },
});

Deno.bench({
  name: "XS_WRITE round trip through the ring",
  group: "xenstore read",
  async fn() {
    if (await guest.xs(XS.WRITE, ["data/bench"], "value") !== "OK\0") {
      throw new Error("Cannot bench: write refused");
    }
  },
});
