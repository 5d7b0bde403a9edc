import assert from "node:assert/strict";
import { completeGuestConfig } from "../guest_config.ts";
import { createMachine, MachineError } from "../machine.ts";
import { formatTraceLine } from "../trace.ts";
import { MemoryDiskImage } from "./disk_image.ts";
import { openHostDiskImage } from "./host_disk_image.ts";
import { SPEC, XS } from "./_test_frontend.ts";
import {
  BLK,
  DATA_GFN,
  DATA_REF,
  dataPage,
  directRequest,
  diskMachine,
  indirectRequest,
  RING_REF,
  type Segment,
  STATE,
  TestBlkfront,
  type TestDisk,
} from "./_blkif_test_frontend.ts";

const MIB = 1024 * 1024;
const PAGE = 4096;
const SECTOR = 512;
const GTF_in_use = 0x18;
const BACKEND = "/local/domain/0/backend/vbd/1/51712";
const FRONTEND = "/local/domain/1/device/vbd/51712";

/** An image whose byte at `i` is `(i / 512 + i) & 0xff`: every sector differs. */
function patterned(size: number, readOnly = false): MemoryDiskImage {
  const contents = new Uint8Array(size);
  for (let i = 0; i < size; i++) contents[i] = (Math.floor(i / SECTOR) + i) & 0xff;
  return new MemoryDiskImage({ size, contents, readOnly });
}

async function connected(disk: TestDisk, state: number = STATE.Initialised) {
  const { machine, guest } = await diskMachine([disk]);
  const fe = new TestBlkfront(guest);
  await fe.connect({ state });
  assert.equal(await fe.backendState(), STATE.Connected);
  const blkback = machine.blkbacks[0];
  assert.ok(blkback !== undefined);
  return { machine, guest, fe, blkback };
}

function whole(gref: number): Segment {
  return { gref, first: 0, last: 7 };
}

Deno.test("the toolstack nodes are in place and the backend waits in InitWait with its features", async () => {
  const { guest } = await diskMachine([{ image: new MemoryDiskImage({ size: 3 * MIB + 100 }) }]);
  const fe = new TestBlkfront(guest);
  await guest.xsConnect();
  const read = (path: string) => fe.read(path);
  assert.equal(await read(`${FRONTEND}/backend`), BACKEND);
  assert.equal(await read(`${FRONTEND}/backend-id`), "0");
  assert.equal(await read(`${FRONTEND}/state`), "1");
  assert.equal(await read(`${FRONTEND}/virtual-device`), "51712");
  assert.equal(await read(`${BACKEND}/frontend`), FRONTEND);
  assert.equal(await read(`${BACKEND}/frontend-id`), "1");
  assert.equal(await read(`${BACKEND}/mode`), "w");
  assert.equal(await read(`${BACKEND}/online`), "1");
  assert.equal(await read(`${BACKEND}/type`), "phy");
  assert.equal(await read(`${BACKEND}/device-type`), "disk");
  assert.equal(await read(`${BACKEND}/state`), "2");
  assert.equal(await read(`${BACKEND}/sectors`), String(Math.floor((3 * MIB + 100) / SECTOR)));
  assert.equal(await read(`${BACKEND}/sector-size`), "512");
  assert.equal(await read(`${BACKEND}/physical-sector-size`), "512");
  assert.equal(await read(`${BACKEND}/info`), "0");
  assert.equal(await read(`${BACKEND}/feature-flush-cache`), "1");
  assert.equal(await read(`${BACKEND}/feature-barrier`), "1");
  assert.equal(await read(`${BACKEND}/feature-max-indirect-segments`), "256");
  // The guest owns its directory and only reads the backend's.
  assert.equal(await guest.xs(XS.WRITE, [`${FRONTEND}/scratch`], "x"), "OK\0");
  assert.equal(await guest.xs(XS.WRITE, [`${BACKEND}/state`], "6"), "EACCES");
  assert.deepEqual(await guest.xs(XS.DIRECTORY, ["device/vbd"]), "51712\0");
});

Deno.test("a frontend in Initialised gets the ring mapped, the channel bound and the backend Connected", async () => {
  const { fe, blkback, machine } = await connected({ image: new MemoryDiskImage({ size: MIB }) });
  assert.equal(fe.flags(RING_REF) & GTF_in_use, GTF_in_use);
  const channel = machine.xen.domain.events.channel(1, fe.port);
  assert.ok(channel.state === "interdomain" && channel.remoteDomid === 0);
  assert.equal(blkback.report().state, "Connected");
  assert.equal(blkback.frontendState, STATE.Initialised);
});

Deno.test("the U-Boot handshake (keys and state 4 at once, no protocol) connects too", async () => {
  const { machine, guest } = await diskMachine([{ image: new MemoryDiskImage({ size: MIB }) }]);
  const fe = new TestBlkfront(guest);
  await fe.connect({ state: STATE.Connected, keys: { protocol: null } });
  assert.equal(await fe.backendState(), STATE.Connected);
  assert.equal(machine.blkbacks[0]?.connected, true);
});

Deno.test("writes reach the image sector by sector and reads bring them back into granted pages", async () => {
  const image = new MemoryDiskImage({ size: MIB });
  const { fe, machine } = await connected({ image });
  fe.grantData(0, 4);
  machine.memory.fill(dataPage(0), PAGE, 0x11);
  machine.memory.fill(dataPage(1), PAGE, 0x22);
  // Sectors 2..7 of page 0 then 0..1 of page 1: 8 sectors at disk sector 100.
  const write = directRequest(BLK.OP_WRITE, 1n, 100n, [
    { gref: DATA_REF, first: 2, last: 7 },
    { gref: DATA_REF + 1, first: 0, last: 1 },
  ]);
  const [done] = await fe.submit(write);
  assert.deepEqual([done?.id, done?.operation, done?.status], [1n, BLK.OP_WRITE, BLK.RSP_OKAY]);
  const onDisk = await image.readAt(100 * SECTOR, 8 * SECTOR);
  assert.ok(onDisk.subarray(0, 6 * SECTOR).every((b) => b === 0x11));
  assert.ok(onDisk.subarray(6 * SECTOR).every((b) => b === 0x22));
  assert.deepEqual(await image.readAt(99 * SECTOR, SECTOR), new Uint8Array(SECTOR)); // neighbours untouched

  machine.memory.fill(dataPage(2), PAGE, 0xee);
  const [read] = await fe.submit(
    directRequest(BLK.OP_READ, 2n, 104n, [{ gref: DATA_REF + 2, first: 1, last: 4 }]),
  );
  assert.equal(read?.status, BLK.RSP_OKAY);
  const page = machine.memory.read(dataPage(2), PAGE);
  assert.ok(page.subarray(0, SECTOR).every((b) => b === 0xee)); // sector 0 of the page is not part of it
  assert.ok(page.subarray(SECTOR, 3 * SECTOR).every((b) => b === 0x11)); // disk sectors 104, 105
  assert.ok(page.subarray(3 * SECTOR, 5 * SECTOR).every((b) => b === 0x22)); // 106, 107
  assert.ok(page.subarray(5 * SECTOR).every((b) => b === 0xee));
  assert.equal(fe.flags(DATA_REF + 2) & GTF_in_use, 0); // unmapped after the response
});

Deno.test("a response notifies the frontend, zeroes the padding and is traced", async () => {
  const { fe, machine, guest } = await connected({ image: patterned(MIB) });
  const lines: string[] = [];
  machine.trace.on("blkif-request", (e) => lines.push(formatTraceLine("blkif-request", e)));
  fe.grantData(0, 1);
  fe.queue(directRequest(BLK.OP_READ, 0xffff_ffff_ffff_fffen, 8n, [whole(DATA_REF)]));
  assert.equal(await fe.push(), true);
  assert.ok(machine.xen.domain.events.isPending(1, fe.port));
  const [response] = fe.responses();
  assert.equal(response?.id, 0xffff_ffff_ffff_fffen);
  assert.deepEqual([response?.raw[9], ...(response?.raw.subarray(12) ?? [])], [0, 0, 0, 0, 0]);
  assert.deepEqual(lines, ["blkif-request d1 vbd 51712 id=18446744073709551614 READ sector 8+8 segs 1 = 0"]);
  assert.deepEqual(machine.memory.read(dataPage(0), 2), new Uint8Array([8, 9]));
  assert.equal(await guest.yield(), 0n);
});

Deno.test("a write reaches a real image file and a flush syncs it", async () => {
  const path = await Deno.makeTempFile({ suffix: ".img" });
  try {
    await Deno.truncate(path, 64 * MIB);
    const image = await openHostDiskImage(path, { readOnly: false });
    const flushes: number[] = [];
    const flush = image.flush.bind(image);
    image.flush = () => {
      flushes.push(flushes.length);
      return flush();
    };
    const { fe, machine } = await connected({ image });
    assert.equal(image.opened, false); // nothing read before the guest asks
    fe.grantData(0, 2);
    machine.memory.fill(dataPage(0), PAGE, 0x42);
    machine.memory.fill(dataPage(1), PAGE, 0x43);
    const last = BigInt(64 * MIB / SECTOR - 16);
    const responses = await fe.submit(
      directRequest(BLK.OP_WRITE, 1n, last, [whole(DATA_REF), whole(DATA_REF + 1)]),
      directRequest(BLK.OP_FLUSH_DISKCACHE, 2n, 0n, []),
    );
    assert.deepEqual(responses.map((r) => [r.id, r.status]), [[1n, 0], [2n, 0]]);
    assert.equal(flushes.length, 1);
    await image.close();
    const file = await Deno.open(path);
    try {
      const tail = new Uint8Array(2 * PAGE);
      await file.seek(64 * MIB - 2 * PAGE, Deno.SeekMode.Start);
      assert.equal(await file.read(tail), tail.length);
      assert.ok(
        tail.subarray(0, PAGE).every((b) => b === 0x42) && tail.subarray(PAGE).every((b) => b === 0x43),
      );
    } finally {
      file.close();
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("a read-only disk announces VDISK_READONLY and refuses writes and flushes, but reads", async () => {
  const image = patterned(MIB, true);
  const { fe, machine } = await connected({ image });
  assert.equal(await fe.read(`${BACKEND}/info`), String(BLK.VDISK_READONLY));
  assert.equal(await fe.read(`${BACKEND}/mode`), "r");
  fe.grantData(0, 1, true);
  fe.grantData(1, 1);
  machine.memory.fill(dataPage(0), PAGE, 0x77);
  const responses = await fe.submit(
    directRequest(BLK.OP_WRITE, 1n, 0n, [whole(DATA_REF)]),
    directRequest(BLK.OP_FLUSH_DISKCACHE, 2n, 0n, []),
    directRequest(BLK.OP_READ, 3n, 0n, [whole(DATA_REF + 1)]),
  );
  assert.deepEqual(responses.map((r) => r.status), [BLK.RSP_ERROR, BLK.RSP_ERROR, BLK.RSP_OKAY]);
  assert.deepEqual(await image.readAt(0, PAGE), await patterned(PAGE).readAt(0, PAGE));
  assert.equal(image.writes, 0);
  assert.equal(image.flushes, 0);
});

Deno.test("indirect requests move data through up to eight granted indirect pages", async () => {
  const image = new MemoryDiskImage({ size: 16 * MIB });
  const { fe, machine, blkback } = await connected({ image, maxIndirectSegments: 1024 });
  assert.equal(await fe.read(`${BACKEND}/feature-max-indirect-segments`), "1024");
  const pages = 20;
  fe.grantData(0, pages);
  for (let i = 0; i < pages; i++) machine.memory.fill(dataPage(i), PAGE, i + 1);
  // 600 whole-page segments over two indirect pages; segment j carries data page j % 20.
  const segments = Array.from({ length: 600 }, (_, j) => whole(DATA_REF + (j % pages)));
  const first = fe.indirectPage(0, segments.slice(0, 512));
  const second = fe.indirectPage(1, segments.slice(512));
  const [written] = await fe.submit(indirectRequest(BLK.OP_WRITE, 9n, 64n, 600, [first, second]));
  assert.deepEqual([written?.operation, written?.status], [BLK.OP_WRITE, BLK.RSP_OKAY]);
  for (const j of [0, 19, 20, 511, 512, 599]) {
    const bytes = await image.readAt(64 * SECTOR + j * PAGE, PAGE);
    assert.ok(bytes.every((b) => b === (j % pages) + 1), `segment ${j}`);
  }
  // Read back segments 40..59 (pages 0..19 again) into the pages, half a page each.
  for (let i = 0; i < pages; i++) machine.memory.fill(dataPage(i), PAGE, 0);
  const halves = Array.from({ length: pages }, (_, i) => ({ gref: DATA_REF + i, first: 4, last: 7 }));
  const ref = fe.indirectPage(2, halves);
  const [read] = await fe.submit(indirectRequest(BLK.OP_READ, 10n, 64n + 8n * 40n, pages, [ref]));
  assert.deepEqual([read?.operation, read?.status], [BLK.OP_READ, BLK.RSP_OKAY]);
  for (let i = 0; i < pages; i++) {
    // Segment i holds disk bytes 40 * 4096 + i * 2048 onwards: half of disk page 40 + i / 2.
    const expected = ((40 + Math.floor(i / 2)) % pages) + 1;
    const page = machine.memory.read(dataPage(i), PAGE);
    assert.ok(page.subarray(0, 2048).every((b) => b === 0), `page ${i} lower half`);
    assert.ok(page.subarray(2048).every((b) => b === expected), `page ${i} upper half`);
  }
  assert.equal(blkback.stats.errors, 0);
});

Deno.test("indirect requests beyond the limit, with a bad operation or an ungranted page fail", async () => {
  const { fe, machine } = await connected({ image: new MemoryDiskImage({ size: MIB }) });
  fe.grantData(0, 1);
  machine.memory.fill(dataPage(0), PAGE, 0x99);
  const ref = fe.indirectPage(0, Array.from({ length: 300 }, () => whole(DATA_REF)));
  const responses = await fe.submit(
    indirectRequest(BLK.OP_READ, 1n, 0n, 257, [ref]), // more than the 256 announced
    indirectRequest(BLK.OP_READ, 2n, 0n, 0, [ref]),
    indirectRequest(BLK.OP_FLUSH_DISKCACHE, 3n, 0n, 1, [ref]),
    indirectRequest(BLK.OP_READ, 4n, 0n, 1, [300]), // ref 300 grants nothing
  );
  assert.deepEqual(responses.map((r) => [r.id, r.operation, r.status]), [
    [1n, BLK.OP_READ, BLK.RSP_ERROR],
    [2n, BLK.OP_READ, BLK.RSP_ERROR],
    [3n, BLK.OP_FLUSH_DISKCACHE, BLK.RSP_ERROR],
    [4n, BLK.OP_READ, BLK.RSP_ERROR],
  ]);
  assert.ok(machine.memory.read(dataPage(0), PAGE).every((b) => b === 0x99));
});

Deno.test("a backend without indirect segments answers INDIRECT with EOPNOTSUPP", async () => {
  const { fe, guest } = await connected({
    image: new MemoryDiskImage({ size: MIB }),
    maxIndirectSegments: 0,
  });
  assert.equal(await guest.xs(XS.READ, [`${BACKEND}/feature-max-indirect-segments`]), "ENOENT");
  fe.grantData(0, 1);
  const ref = fe.indirectPage(0, [whole(DATA_REF)]);
  const [response] = await fe.submit(indirectRequest(BLK.OP_READ, 1n, 0n, 1, [ref]));
  assert.deepEqual([response?.operation, response?.status], [BLK.OP_INDIRECT, BLK.RSP_EOPNOTSUPP]);
});

Deno.test("each invalid request is answered with an error and leaves guest memory and the image alone", async () => {
  const size = MIB;
  const sectors = BigInt(size / SECTOR);
  const image = patterned(size);
  const { fe, machine } = await connected({ image });
  fe.grantData(0, 2); // pages 0 and 1 writable
  fe.grantData(2, 1, true); // page 2 read-only
  fe.grant(DATA_REF + 3, DATA_GFN + 3, false, 5); // page 3 granted to another domain
  const cases: [string, Uint8Array, number][] = [
    ["no segments", directRequest(BLK.OP_READ, 1n, 0n, [], 0), BLK.RSP_ERROR],
    ["12 segments", directRequest(BLK.OP_READ, 2n, 0n, Array(11).fill(whole(DATA_REF)), 12), BLK.RSP_ERROR],
    [
      "first after last",
      directRequest(BLK.OP_READ, 3n, 0n, [{ gref: DATA_REF, first: 5, last: 4 }]),
      BLK.RSP_ERROR,
    ],
    [
      "last past the page",
      directRequest(BLK.OP_READ, 4n, 0n, [{ gref: DATA_REF, first: 0, last: 8 }]),
      BLK.RSP_ERROR,
    ],
    ["past the end", directRequest(BLK.OP_READ, 5n, sectors - 7n, [whole(DATA_REF)]), BLK.RSP_ERROR],
    ["wrapping sector", directRequest(BLK.OP_READ, 6n, (1n << 64n) - 4n, [whole(DATA_REF)]), BLK.RSP_ERROR],
    ["ungranted page", directRequest(BLK.OP_READ, 7n, 0n, [whole(DATA_REF), whole(400)]), BLK.RSP_ERROR],
    [
      "read into a read-only grant",
      directRequest(BLK.OP_READ, 8n, 0n, [whole(DATA_REF + 1), whole(DATA_REF + 2)]),
      BLK.RSP_ERROR,
    ],
    ["grant for another domain", directRequest(BLK.OP_READ, 9n, 0n, [whole(DATA_REF + 3)]), BLK.RSP_ERROR],
    [
      "write from an ungranted page",
      directRequest(BLK.OP_WRITE, 10n, 0n, [whole(DATA_REF), whole(401)]),
      BLK.RSP_ERROR,
    ],
    ["write past the end", directRequest(BLK.OP_WRITE, 11n, sectors, [whole(DATA_REF)]), BLK.RSP_ERROR],
    ["unknown operation", directRequest(9, 12n, 0n, [whole(DATA_REF)]), BLK.RSP_EOPNOTSUPP],
    ["discard", directRequest(BLK.OP_DISCARD, 13n, 0n, []), BLK.RSP_EOPNOTSUPP],
    ["reserved", directRequest(BLK.OP_RESERVED_1, 14n, 0n, []), BLK.RSP_EOPNOTSUPP],
  ];
  for (const page of [0, 1, 2, 3]) machine.memory.fill(dataPage(page), PAGE, 0xa5);
  const flagsBefore = [0, 1, 2, 3].map((i) => fe.flags(DATA_REF + i));
  const imageBefore = await image.readAt(0, size);
  for (const [name, request, status] of cases) {
    const [response] = await fe.submit(request);
    assert.equal(response?.status, status, name);
    assert.equal(response?.id, new DataView(request.buffer).getBigUint64(BLK.id, true), name);
    for (const page of [0, 1, 2, 3]) {
      assert.ok(machine.memory.read(dataPage(page), PAGE).every((b) => b === 0xa5), `${name}: page ${page}`);
    }
    assert.deepEqual([0, 1, 2, 3].map((i) => fe.flags(DATA_REF + i)), flagsBefore, name);
  }
  assert.deepEqual(await image.readAt(0, size), imageBefore);
  assert.equal(image.writes, 0);
});

Deno.test("a 4096-byte-sector disk refuses requests not aligned to its sectors", async () => {
  const { fe, machine } = await connected({ image: patterned(MIB), sectorSize: 4096 });
  assert.equal(await fe.read(`${BACKEND}/sector-size`), "4096");
  assert.equal(await fe.read(`${BACKEND}/sectors`), String(MIB / SECTOR)); // still 512-byte units
  fe.grantData(0, 1);
  machine.memory.fill(dataPage(0), PAGE, 0);
  const responses = await fe.submit(
    directRequest(BLK.OP_READ, 1n, 4n, [whole(DATA_REF)]),
    directRequest(BLK.OP_READ, 2n, 8n, [{ gref: DATA_REF, first: 0, last: 3 }]),
    directRequest(BLK.OP_READ, 3n, 8n, [whole(DATA_REF)]),
  );
  assert.deepEqual(responses.map((r) => r.status), [BLK.RSP_ERROR, BLK.RSP_ERROR, BLK.RSP_OKAY]);
  assert.equal(machine.memory.readU8(dataPage(0)), 8); // sector 8's first byte in the pattern
});

Deno.test("an injected I/O error fails the requests that cover its sector and only those", async () => {
  const { fe, machine, blkback } = await connected({
    image: patterned(MIB),
    faults: { ioErrorSectors: [20] },
  });
  fe.grantData(0, 2);
  machine.memory.fill(dataPage(0), PAGE, 0xcc);
  const responses = await fe.submit(
    directRequest(BLK.OP_READ, 1n, 16n, [whole(DATA_REF)]),
    directRequest(BLK.OP_READ, 2n, 24n, [whole(DATA_REF + 1)]),
  );
  assert.deepEqual(responses.map((r) => r.status), [BLK.RSP_ERROR, BLK.RSP_OKAY]);
  assert.ok(machine.memory.read(dataPage(0), PAGE).every((b) => b === 0xcc));
  blkback.faults.ioErrorSectors = [];
  const [again] = await fe.submit(directRequest(BLK.OP_READ, 3n, 16n, [whole(DATA_REF)]));
  assert.equal(again?.status, BLK.RSP_OKAY);
});

Deno.test("a slow backend holds responses until the virtual clock has moved on", async () => {
  const { fe, guest, machine } = await connected({ image: patterned(MIB), faults: { delayMs: 5 } });
  fe.grantData(0, 1);
  const start = machine.clock.nowNs();
  fe.queue(directRequest(BLK.OP_READ, 1n, 0n, [whole(DATA_REF)]));
  await fe.push();
  assert.deepEqual(fe.responses(), []);
  let polls = 0;
  let responses = fe.responses();
  while (responses.length === 0 && polls < 20) {
    assert.equal(await guest.poll([fe.port], machine.clock.nowNs() + 1_000_000n), 0n);
    polls++;
    responses = fe.responses();
  }
  assert.equal(responses[0]?.status, BLK.RSP_OKAY);
  assert.ok(machine.clock.nowNs() - start >= 5_000_000n);
  assert.ok(polls > 1 && polls < 20);
});

Deno.test("a backend slowed by rounds answers after further hand-overs", async () => {
  const { fe, guest, blkback } = await connected({ image: patterned(MIB), faults: { delayRounds: 4 } });
  fe.grantData(0, 1);
  fe.queue(directRequest(BLK.OP_READ, 1n, 0n, [whole(DATA_REF)]));
  await fe.push();
  assert.deepEqual(fe.responses(), []);
  let yields = 0;
  let responses = fe.responses();
  while (responses.length === 0 && yields < 10) {
    await guest.yield();
    yields++;
    responses = fe.responses();
  }
  assert.equal(responses[0]?.status, BLK.RSP_OKAY);
  assert.ok(yields >= 1 && yields <= 4);
  blkback.faults.delayRounds = 0;
  assert.equal((await fe.submit(directRequest(BLK.OP_READ, 2n, 0n, [whole(DATA_REF)])))[0]?.status, 0);
});

Deno.test("a backend that goes away mid-transfer closes, answers nothing more, and can be reconnected", async () => {
  const { fe, machine, blkback } = await connected({
    image: patterned(MIB),
    faults: { goAwayAfterRequests: 1 },
  });
  const traced: (number | null)[] = [];
  machine.trace.on("blkif-request", (e) => traced.push(e.status));
  fe.grantData(0, 3);
  assert.equal((await fe.submit(directRequest(BLK.OP_READ, 1n, 0n, [whole(DATA_REF)])))[0]?.status, 0);
  fe.queue(directRequest(BLK.OP_READ, 2n, 8n, [whole(DATA_REF + 1)]));
  fe.queue(directRequest(BLK.OP_READ, 3n, 16n, [whole(DATA_REF + 2)]));
  await fe.push();
  assert.deepEqual(fe.responses(), []);
  assert.equal(await fe.backendState(), STATE.Closing);
  assert.deepEqual(traced, [0, null, null]);
  assert.equal(fe.flags(DATA_REF + 1) & GTF_in_use, 0);

  await fe.setState(STATE.Closed);
  assert.equal(await fe.backendState(), STATE.Closed);
  assert.equal(fe.flags(RING_REF) & GTF_in_use, 0); // the ring is unmapped
  await fe.setState(STATE.Initialising);
  assert.equal(await fe.backendState(), STATE.InitWait);
  fe.endGrant(RING_REF);
  await fe.connect();
  assert.equal(await fe.backendState(), STATE.Connected);
  const responses = await fe.submit(
    directRequest(BLK.OP_READ, 4n, 0n, [whole(DATA_REF)]),
    directRequest(BLK.OP_READ, 5n, 8n, [whole(DATA_REF + 1)]),
  );
  assert.deepEqual(responses.map((r) => r.status), [0, 0]);
  assert.equal(blkback.faults.goAwayAfterRequests, undefined);
});

Deno.test("a req_prod far ahead of the responses stops the ring without an answer", async () => {
  const { fe, machine, blkback } = await connected({ image: patterned(MIB) });
  fe.grantData(0, 1);
  machine.memory.fill(dataPage(0), PAGE, 0x5c);
  const ring = 0x40300 * PAGE;
  machine.memory.writeU32(ring + BLK.req_prod, 1000);
  assert.equal(await fe.guest.portOp(SPEC.EVTCHNOP_send, fe.port), 0n);
  assert.equal(machine.memory.readU32(ring + BLK.rsp_prod), 0);
  assert.match(blkback.ringError, /more than 32 ahead/);
  assert.equal(blkback.report().state, "Connected (ring stopped)");
  // A sane request afterwards is not served either.
  machine.memory.writeU32(ring + BLK.req_prod, 0);
  const [late] = await fe.submit(directRequest(BLK.OP_READ, 1n, 0n, [whole(DATA_REF)]));
  assert.equal(late, undefined);
  assert.ok(machine.memory.read(dataPage(0), PAGE).every((b) => b === 0x5c));
  // Closing and reconnecting gives a fresh ring.
  await fe.close();
  fe.endGrant(RING_REF);
  await fe.connect();
  assert.equal((await fe.submit(directRequest(BLK.OP_READ, 2n, 0n, [whole(DATA_REF)])))[0]?.status, 0);
});

Deno.test("a full ring of 32 requests is taken in one go and answered in full", async () => {
  const { fe } = await connected({ image: patterned(MIB) });
  fe.grantData(0, 32);
  const requests = Array.from(
    { length: 32 },
    (_, i) => directRequest(BLK.OP_READ, BigInt(i), BigInt(i * 8), [whole(DATA_REF + i)]),
  );
  const responses = await fe.submit(...requests);
  assert.deepEqual(responses.map((r) => r.id), requests.map((_, i) => BigInt(i)));
  assert.ok(responses.every((r) => r.status === BLK.RSP_OKAY));
});

Deno.test("an unknown protocol or a multi-page ring is fatal: error node, Closing, nothing mapped", async () => {
  for (
    const [keys, error] of [
      [{ protocol: "x86_64-abi" }, "38 unknown fe protocol x86_64-abi"],
      [{ "ring-page-order": "1" }, "22 requested ring page order 1 exceed max:0"],
      [{ "event-channel": "junk" }, `22 reading ${FRONTEND}/event-channel`],
    ] as const
  ) {
    const { guest, machine } = await diskMachine([{ image: new MemoryDiskImage({ size: MIB }) }]);
    const fe = new TestBlkfront(guest);
    await fe.connect({ keys });
    assert.equal(await fe.backendState(), STATE.Closing);
    assert.equal(machine.dom0.xenstore.readString("/local/domain/0/error/backend/vbd/1/51712/error"), error);
    assert.equal(fe.flags(RING_REF) & GTF_in_use, 0);
  }
});

Deno.test("the U-Boot close sequence leaves the backend in InitWait with nothing mapped or bound", async () => {
  const { fe, machine, blkback } = await connected({ image: patterned(MIB) });
  fe.grantData(0, 1);
  assert.equal((await fe.submit(directRequest(BLK.OP_READ, 1n, 0n, [whole(DATA_REF)])))[0]?.status, 0);
  assert.ok(blkback.report().problems.length > 0);
  await fe.close();
  assert.equal(fe.flags(RING_REF) & GTF_in_use, 0);
  assert.equal(machine.xen.domain.events.channel(1, fe.port).state, "unbound");
  const report = blkback.report();
  assert.deepEqual([report.state, report.problems], ["InitWait", []]);
  const handoff = machine.handoffReport();
  assert.ok(handoff.backends.some((b) => b.name === "vbd xvda" && b.state === "InitWait"));
});

Deno.test("a frontend that goes away for good unregisters the backend when it is not online", async () => {
  const { fe, machine, blkback } = await connected({ image: patterned(MIB) });
  machine.dom0.xenstore.write(`${BACKEND}/online`, "0");
  await fe.setState(STATE.Closing);
  await fe.setState(STATE.Closed);
  assert.equal(blkback.report().state, "removed");
  await fe.setState(STATE.Initialising);
  assert.equal(await fe.backendState(), STATE.Closed);
});

Deno.test("a machine with disks needs a way to open them", async () => {
  const config = completeGuestConfig({
    disks: [{ target: "a.img", vdev: "xvda", access: "rw", format: "raw" }],
  });
  await assert.rejects(
    createMachine(config, { readFile: () => Promise.reject(new Error("no")) }),
    MachineError,
  );
  await assert.rejects(
    createMachine(config, {
      readFile: () => Promise.reject(new Error("no")),
      openDisk: () => Promise.reject(new Error("gone")),
    }),
    /Cannot open disk image a\.img: gone/,
  );
});

Deno.test("two disks get two backends under their own device numbers", async () => {
  const { machine, guest } = await diskMachine([
    { image: new MemoryDiskImage({ size: MIB }) },
    { image: new MemoryDiskImage({ size: 2 * MIB, readOnly: true }) },
  ]);
  assert.deepEqual(machine.blkbacks.map((b) => [b.vdev, b.devid, b.readOnly]), [["xvda", 51712, false], [
    "xvdb",
    51728,
    true,
  ]]);
  await guest.xsConnect();
  assert.equal(await guest.xs(XS.DIRECTORY, ["device/vbd"]), "51712\0" + "51728\0");
  const second = new TestBlkfront(guest, 51728);
  await second.connect();
  assert.equal(await second.backendState(), STATE.Connected);
  assert.equal(machine.blkbacks[0]?.state, STATE.InitWait);
});
