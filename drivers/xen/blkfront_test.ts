import assert from "node:assert/strict";
import { type FakeDiskOptions, type FakeXenWithDisks, patternImage, startFakeXen } from "./_fake_blkback.ts";
import { BlkFront, type BlkfrontOptions } from "./blkfront.ts";
import { BlkfrontConnectError, BlkfrontIoError } from "./blkfront_errors.ts";
import { XS_ERROR, XS_TRANSACTION_END, XS_WRITE } from "./xs_wire.ts";
import { bytes } from "./_fake_xen.ts";
import { BLKIF_OP_INDIRECT, BLKIF_OP_WRITE, VDISK_READONLY } from "./blkif.ts";

const PAGE = 4096;
const SECTOR = 512;
const DEVID = 51712;
/** Short waits: the clock is virtual, but every poll is a XenStore read. */
const FAST: BlkfrontOptions = { stateTimeoutMs: 50, ioTimeoutMs: 50 };

async function setUp(
  disk: Partial<FakeDiskOptions> = {},
  options: BlkfrontOptions = {},
): Promise<FakeXenWithDisks & { front: BlkFront; log: string[] }> {
  const env = await startFakeXen([{ image: patternImage(4096), ...disk }]);
  const log: string[] = [];
  const front = await BlkFront.connect(env.drivers, DEVID, { ...FAST, log: (t) => log.push(t), ...options });
  return { ...env, front, log };
}

/** Grant refs the drivers still hold besides the ring's. */
function dataGrants(env: FakeXenWithDisks, front: BlkFront): number[] {
  return env.drivers.gnttab.activeRefs().filter((ref) => ref !== front.ringRef);
}

function image(env: FakeXenWithDisks): Uint8Array {
  return env.disks[0]!.image;
}

Deno.test("connect waits for InitWait, publishes the ring in one transaction, then goes Initialised and Connected", async () => {
  const env = await setUp({ flush: true, indirect: 64, info: 0 });
  const fe = env.disks[0]!.frontend;
  const writes = env.xs.requests.filter((r) => r.header.type === XS_WRITE);
  const transport = writes.filter((r) =>
    /\/(ring-ref|event-channel|protocol)\0/.test(new TextDecoder().decode(r.payload))
  );
  assert.equal(transport.length, 3);
  assert.ok(transport.every((r) => r.header.txId !== 0 && r.header.txId === transport[0]!.header.txId));
  assert.equal(env.xs.store.get(`${fe}/protocol`), "arm-abi");
  assert.equal(env.xs.store.get(`${fe}/ring-ref`), String(env.front.ringRef));
  assert.equal(env.xs.store.get(`${fe}/event-channel`), String(env.front.port));
  const states = writes
    .map((r) => new TextDecoder().decode(r.payload))
    .filter((t) => t.startsWith(`${fe}/state\0`))
    .map((t) => t.slice(t.indexOf("\0") + 1));
  assert.deepEqual(states, ["3", "4"]);
  assert.deepEqual(env.disks[0]!.states, [2, 4]);
  const info = env.front.info;
  assert.equal(info.sectors, 4096);
  assert.equal(info.sectorSize, 512);
  assert.equal(info.flush, true);
  assert.equal(info.maxIndirectSegments, 32);
  assert.equal(info.readOnly, false);
  assert.equal(env.front.blocks, 4096);
});

Deno.test("the transport transaction is redone when XenStore answers EAGAIN", async () => {
  const env = await startFakeXen([{ image: patternImage(64) }]);
  let conflicts = 1;
  env.xs.respond = (header, payload) => {
    if (header.type === XS_TRANSACTION_END && conflicts > 0 && header.txId !== 0) {
      conflicts--;
      return [{ type: XS_ERROR, reqId: header.reqId, txId: header.txId, payload: bytes("EAGAIN\0") }];
    }
    return env.xs.answer(header, payload);
  };
  const front = await BlkFront.connect(env.drivers, DEVID, FAST);
  const ends = env.xs.requests.filter((r) => r.header.type === XS_TRANSACTION_END);
  assert.equal(conflicts, 0);
  assert.ok(ends.length >= 2);
  assert.equal(front.info.sectors, 64);
});

Deno.test("a backend that never reaches InitWait fails the connection and leaves nothing behind", async () => {
  const env = await startFakeXen([{ image: patternImage(64), initialState: 1 }]);
  const used = env.heap.usedBytes();
  const log: string[] = [];
  await assert.rejects(
    BlkFront.connect(env.drivers, DEVID, { ...FAST, log: (t) => log.push(t) }),
    BlkfrontConnectError,
  );
  assert.deepEqual(log, ["backend not available, state=1\n"]);
  assert.deepEqual(env.drivers.gnttab.activeRefs(), []);
  assert.deepEqual(env.drivers.events.boundPorts(), []);
  assert.equal(env.heap.usedBytes(), used);
});

Deno.test("a backend that takes the ring but never connects is closed again and nothing stays granted or bound", async () => {
  const env = await startFakeXen([{ image: patternImage(64) }]);
  const back = env.disks[0]!;
  back.step = () => {}; // never reacts
  const log: string[] = [];
  await assert.rejects(
    BlkFront.connect(env.drivers, DEVID, { ...FAST, log: (t) => log.push(t) }),
    /did not connect/,
  );
  assert.match(log[0]!, /^backend not available, state=2\n$/);
  assert.deepEqual(env.drivers.gnttab.activeRefs(), []);
  assert.deepEqual(env.drivers.events.boundPorts(), []);
  assert.equal(env.xs.store.get(`${back.frontend}/ring-ref`), undefined);
});

Deno.test("values the backend publishes are checked: bad ones fail the connection cleanly", async () => {
  const cases: Array<[string, (env: FakeXenWithDisks) => void]> = [
    ["backend path", (env) => env.xs.store.set(`device/vbd/${DEVID}/backend`, "../../etc\0x")],
    ["backend id", (env) => env.xs.store.set(`device/vbd/${DEVID}/backend-id`, "32752")],
    ["sector-size", (env) => {
      const connect = env.disks[0]!.step.bind(env.disks[0]!);
      env.disks[0]!.step = () => {
        connect();
        env.xs.store.set(`${env.disks[0]!.backend}/sector-size`, "1536");
      };
    }],
    ["sectors", (env) => {
      const connect = env.disks[0]!.step.bind(env.disks[0]!);
      env.disks[0]!.step = () => {
        connect();
        env.xs.store.set(`${env.disks[0]!.backend}/sectors`, "-1");
      };
    }],
  ];
  for (const [what, spoil] of cases) {
    const env = await startFakeXen([{ image: patternImage(64) }]);
    spoil(env);
    await assert.rejects(
      BlkFront.connect(env.drivers, DEVID, FAST),
      (e: unknown) => e instanceof BlkfrontConnectError && e.message.includes(what),
      what,
    );
    assert.deepEqual(env.drivers.gnttab.activeRefs(), [], what);
    assert.deepEqual(env.drivers.events.boundPorts(), [], what);
  }
});

Deno.test("reads return the disk's bytes through the ring and end every data grant", async () => {
  const env = await setUp();
  const buf = new Uint8Array(100 * SECTOR);
  assert.equal(await env.front.readBytes(8, buf), undefined);
  assert.deepEqual(buf, image(env).subarray(8 * SECTOR, 108 * SECTOR));
  assert.deepEqual(dataGrants(env, env.front), []);
  assert.ok(env.disks[0]!.seen.every((r) => r.nrSegments <= 11));
});

Deno.test("a large read fills the ring before reaping, into guest memory and into bounce pages", async () => {
  const env = await setUp();
  const back = env.disks[0]!;
  back.deferService = true;
  const length = 3000 * SECTOR; // more than 32 requests of 11 pages
  assert.equal(await env.front.readGuest(0, env.ram, length), undefined);
  assert.equal(back.maxPending, 32);
  assert.deepEqual(env.xen.memory.read(env.ram, length), image(env).subarray(0, length));
  back.maxPending = 0;
  const big = new Uint8Array(length);
  assert.equal(await env.front.readBytes(0, big), undefined);
  assert.equal(back.maxPending, 32);
  assert.deepEqual(big, image(env).subarray(0, length));
});

Deno.test("a sector-aligned guest buffer that is not page-aligned spanning 11+ pages is split by page", async () => {
  const env = await setUp();
  const address = env.ram + 0x200; // one sector into a page: 12 pages hold 11 pages of data
  const length = 11 * PAGE;
  assert.equal(await env.front.readGuest(16, address, length), undefined);
  assert.deepEqual(
    env.xen.memory.read(address, length),
    image(env).subarray(16 * SECTOR, 16 * SECTOR + length),
  );
  const seen = env.disks[0]!.seen;
  assert.ok(seen.every((r) => r.nrSegments <= 11 && !r.indirect));
  assert.equal(seen.reduce((n, r) => n + r.nrSegments, 0), 12);
  // Granted in place: the frames are the buffer's own pages.
  const frames = seen.flatMap((r) => r.frames);
  assert.equal(frames[0], Math.floor(address / PAGE));
  assert.deepEqual(dataGrants(env, env.front), []);
});

Deno.test("a guest buffer that is not sector-aligned goes through bounce pages", async () => {
  const env = await setUp();
  const address = env.ram + 0x1001;
  const length = 13 * PAGE;
  env.xen.memory.fill(address - 1, length + 2, 0xee);
  assert.equal(await env.front.readGuest(0, address, length), undefined);
  assert.deepEqual(env.xen.memory.read(address, length), image(env).subarray(0, length));
  assert.equal(env.xen.memory.readU8(address - 1), 0xee);
  assert.equal(env.xen.memory.readU8(address + length), 0xee);
  const frames = env.disks[0]!.seen.flatMap((r) => r.frames);
  assert.ok(frames.every((f) => f * PAGE < env.ram || f * PAGE >= env.ram + 0x100_0000));
});

Deno.test("a misaligned write of 11+ pages reaches the image", async () => {
  const env = await setUp();
  const address = env.ram + 0x600;
  const data = new Uint8Array(12 * PAGE).map((_, i) => (i * 31) & 0xff);
  env.xen.memory.write(address, data);
  assert.equal(await env.front.writeGuest(64, address, data.length), undefined);
  assert.deepEqual(image(env).subarray(64 * SECTOR, 64 * SECTOR + data.length), data);
});

Deno.test("a nearly full heap gets smaller bounce requests instead of a failure", async () => {
  const env = await setUp();
  // Leave only three free pages.
  const room = env.heap.memalign(PAGE, 3 * PAGE);
  const hogs: number[] = [];
  while (env.heap.largestFree() >= 16) hogs.push(env.heap.malloc(env.heap.largestFree()));
  env.heap.free(room);
  const buf = new Uint8Array(16 * PAGE);
  assert.equal(await env.front.readBytes(0, buf), undefined);
  assert.deepEqual(buf, image(env).subarray(0, buf.length));
  assert.ok(env.disks[0]!.seen.every((r) => r.nrSegments <= 3));
  hogs.push(env.heap.memalign(PAGE, 3 * PAGE));
  const error = await env.front.readBytes(0, new Uint8Array(PAGE));
  assert.ok(error instanceof BlkfrontIoError && error.kind === "resources");
  for (const hog of hogs) env.heap.free(hog);
  assert.equal(await env.front.readBytes(0, new Uint8Array(PAGE)), undefined);
});

Deno.test("with indirect segments offered, long requests carry their segments in indirect pages", async () => {
  const env = await setUp({ indirect: 64 });
  const buf = new Uint8Array(300 * SECTOR);
  assert.equal(await env.front.readBytes(40, buf), undefined);
  assert.deepEqual(buf, image(env).subarray(40 * SECTOR, 340 * SECTOR));
  const seen = env.disks[0]!.seen;
  assert.ok(seen.some((r) => r.operation === BLKIF_OP_INDIRECT && r.nrSegments > 11));
  assert.ok(seen.every((r) => r.nrSegments <= 32));
  assert.deepEqual(dataGrants(env, env.front), []);
});

Deno.test("writes are granted read-only, reach the image and are followed by one flush", async () => {
  const env = await setUp({ flush: true });
  const data = new Uint8Array(20 * SECTOR).fill(0x5a);
  assert.equal(await env.front.writeBytes(100, data), undefined);
  assert.deepEqual(image(env).subarray(100 * SECTOR, 120 * SECTOR), data);
  const ops = env.disks[0]!.seen.map((r) => r.operation);
  assert.equal(ops.at(-1), 3);
  assert.equal(ops.filter((op) => op === 3).length, 1);
  assert.ok(ops.slice(0, -1).every((op) => op === BLKIF_OP_WRITE));
});

Deno.test("a flush the backend does not support is dropped and the write still succeeds", async () => {
  const env = await setUp({ flush: true });
  env.disks[0]!.flushStatus = -2;
  const data = new Uint8Array(SECTOR).fill(1);
  assert.equal(await env.front.writeBytes(0, data), undefined);
  assert.equal(await env.front.writeBytes(1, data), undefined);
  assert.equal(env.disks[0]!.seen.filter((r) => r.operation === 3).length, 1);
});

Deno.test("4096-byte sectors: sizes in blocks, request sectors in 512-byte units", async () => {
  const env = await setUp({ sectorSize: 4096 });
  assert.equal(env.front.sectorSize, 4096);
  assert.equal(env.front.blocks, 512);
  const buf = new Uint8Array(3 * 4096);
  assert.equal(await env.front.readBytes(8, buf), undefined);
  assert.equal(env.disks[0]!.seen[0]!.sector, 8);
  assert.deepEqual(buf, image(env).subarray(8 * SECTOR, 8 * SECTOR + buf.length));
  const odd = await env.front.readBytes(1, new Uint8Array(4096));
  assert.ok(odd instanceof BlkfrontIoError && odd.kind === "argument");
  // A buffer only 512-aligned cannot be granted for 4 KiB sectors: it bounces.
  assert.equal(await env.front.readGuest(0, env.ram + 0x200, 4096), undefined);
  assert.deepEqual(env.xen.memory.read(env.ram + 0x200, 4096), image(env).subarray(0, 4096));
});

Deno.test("a read-only disk refuses writes without touching the ring", async () => {
  const env = await setUp({ mode: "r" });
  const error = await env.front.writeBytes(0, new Uint8Array(SECTOR));
  assert.ok(error instanceof BlkfrontIoError && error.kind === "argument");
  assert.equal(env.disks[0]!.seen.length, 0);
  const env2 = await setUp({ info: VDISK_READONLY });
  assert.equal(env2.front.info.readOnly, true);
});

Deno.test("an untrusted backend gets bounce pages even for aligned guest buffers", async () => {
  const env = await setUp({ trusted: "0" });
  const address = env.ram + 0x10000;
  assert.equal(await env.front.readGuest(0, address, 4 * PAGE), undefined);
  assert.deepEqual(env.xen.memory.read(address, 4 * PAGE), image(env).subarray(0, 4 * PAGE));
  const frames = env.disks[0]!.seen.flatMap((r) => r.frames);
  assert.ok(!frames.some((f) => f * PAGE >= address && f * PAGE < address + 4 * PAGE));
});

Deno.test("an error status fails the transfer with U-Boot's message and leaves the device usable", async () => {
  const env = await setUp();
  env.disks[0]!.forceStatus = -1;
  const error = await env.front.readBytes(2, new Uint8Array(SECTOR));
  assert.ok(error instanceof BlkfrontIoError && error.kind === "status" && error.status === -1);
  assert.deepEqual(env.log, [`read error -1 on device/vbd/${DEVID} at offset 1024, num bytes 512\n`]);
  env.disks[0]!.forceStatus = undefined;
  assert.equal(await env.front.readBytes(2, new Uint8Array(SECTOR)), undefined);
  assert.equal(env.front.broken, undefined);
});

Deno.test("reads past the end or of partial sectors are refused before the ring", async () => {
  const env = await setUp();
  for (const [sector, length] of [[4095, 2 * SECTOR], [0, 100], [-1, SECTOR]] as const) {
    const error = await env.front.readBytes(sector, new Uint8Array(length));
    assert.ok(error instanceof BlkfrontIoError && error.kind === "argument", `${sector} ${length}`);
  }
  assert.equal(env.disks[0]!.seen.length, 0);
});

// ---------------------------------------------------------------------------------------------
// Hostile backends: every violation is an error, never a crash or a hang.

async function hostile(
  harm: (env: FakeXenWithDisks & { front: BlkFront }) => void,
  pattern: RegExp,
): Promise<FakeXenWithDisks & { front: BlkFront; log: string[] }> {
  const env = await setUp();
  harm(env);
  const buf = new Uint8Array(30 * PAGE);
  const error = await env.front.readBytes(0, buf);
  assert.ok(error instanceof BlkfrontIoError, "the read fails");
  assert.match(error.message, pattern);
  assert.ok(env.front.broken !== undefined, "the device is broken");
  const next = await env.front.readBytes(0, new Uint8Array(SECTOR));
  assert.ok(next instanceof BlkfrontIoError && next.kind === "broken");
  return env;
}

Deno.test("a response id out of range breaks the device", async () => {
  const env = await hostile((e) => {
    e.disks[0]!.tamper = (rsps) => rsps.map((r, i) => (i === 1 ? { ...r, id: 99n } : r));
  }, /response id 99 is out of range/);
  assert.deepEqual(dataGrants(env, env.front), []);
});

Deno.test("a response naming a request that is not outstanding breaks the device", async () => {
  await hostile((e) => {
    e.disks[0]!.tamper = (rsps) => rsps.map((r) => ({ ...r, id: (r.id + 20n) % 32n }));
  }, /names no outstanding request/);
});

Deno.test("a duplicate response breaks the device", async () => {
  await hostile((e) => {
    e.disks[0]!.tamper = (rsps) => rsps.map(() => rsps[0]!);
  }, /names no outstanding request/);
});

Deno.test("extra responses beyond the requests issued break the device", async () => {
  await hostile((e) => {
    e.disks[0]!.tamper = (rsps) => rsps.flatMap((r) => [r, r]);
  }, /response producer/);
});

Deno.test("a response producer beyond the requests issued breaks the device", async () => {
  await hostile((e) => {
    e.disks[0]!.extraProduced = 3;
  }, /response producer/);
});

Deno.test("a response producer beyond the ring size breaks the device", async () => {
  await hostile((e) => {
    e.disks[0]!.extraProduced = 1000;
  }, /response producer/);
});

Deno.test("an unknown status breaks the device", async () => {
  await hostile((e) => {
    e.disks[0]!.tamper = (rsps) => rsps.map((r) => ({ ...r, status: 7 }));
  }, /unknown status 7/);
});

Deno.test("a response with the wrong operation breaks the device", async () => {
  await hostile((e) => {
    e.disks[0]!.tamper = (rsps) => rsps.map((r) => ({ ...r, operation: 1 }));
  }, /operation 1, not 0/);
});

Deno.test("a backend that never answers times out instead of hanging", async () => {
  const env = await hostile((e) => {
    e.disks[0]!.silent = true;
  }, /no response within 50 ms/);
  assert.match(env.log.at(-1)!, /device disabled/);
});

Deno.test("a backend that keeps data grants mapped: the pages are never reused and the device breaks", async () => {
  const env = await hostile((e) => {
    e.disks[0]!.holdGrants = true;
  }, /has not unmapped the grants/);
  assert.ok(dataGrants(env, env.front).length > 0);
  assert.ok(env.front.leakedPages > 0);
});

// ---------------------------------------------------------------------------------------------
// Closing.

Deno.test("close walks Closing, Closed, Initialising and gives back the ring, the grant and the port", async () => {
  const env = await setUp();
  const used = env.heap.usedBytes();
  const port = env.front.port!;
  await env.front.readBytes(0, new Uint8Array(SECTOR));
  const report = await env.front.close();
  assert.deepEqual(report, { backendClosed: true, backendState: 2, ringGrantEnded: true, leakedPages: 0 });
  assert.deepEqual(env.disks[0]!.states, [2, 4, 5, 6, 2]);
  assert.equal(env.disks[0]!.frontendState, 1);
  assert.equal(env.xs.store.get(`device/vbd/${DEVID}/ring-ref`), undefined);
  assert.equal(env.xs.store.get(`device/vbd/${DEVID}/event-channel`), undefined);
  assert.deepEqual(env.drivers.gnttab.activeRefs(), []);
  assert.deepEqual(env.drivers.events.boundPorts(), []);
  assert.ok(!env.xen.openPorts.has(port));
  assert.ok(env.heap.usedBytes() < used);
  const again = await env.front.readBytes(0, new Uint8Array(SECTOR));
  assert.ok(again instanceof BlkfrontIoError && again.kind === "broken");
});

Deno.test("a backend that will not close keeps its ring page: the grant is not ended, the page leaked", async () => {
  const env = await setUp();
  env.disks[0]!.stuckConnected = true;
  const report = await env.front.close();
  assert.equal(report.backendClosed, false);
  assert.equal(report.ringGrantEnded, false);
  assert.equal(report.leakedPages, 1);
  assert.deepEqual(env.drivers.events.boundPorts(), []);
  assert.equal(env.drivers.gnttab.activeRefs().length, 1);
});
