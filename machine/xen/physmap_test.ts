import assert from "node:assert/strict";
import { GuestMemory } from "../guest_memory.ts";
import { Physmap } from "./physmap.ts";
import { XenPage } from "./xen_page.ts";

const BASE_GFN = 0x40000;

function setup(maxPages = 20) {
  const memory = new GuestMemory();
  memory.addRegion({ base: BASE_GFN * 0x1000, size: 16 * 0x1000 });
  return { memory, physmap: new Physmap(memory, { totPages: 16, maxPages, ipaBits: 40 }) };
}

Deno.test("a Xen page mapped over RAM replaces the RAM page; removing it leaves a hole", () => {
  const { memory, physmap } = setup();
  memory.fill(BASE_GFN * 0x1000 + 0x1000, 0x1000, 0x55);
  const page = new XenPage(memory, "shared_info");
  page.writeU8(0, 7);
  assert.equal(physmap.mapXenPage(page, BASE_GFN + 1), "ok");
  assert.equal(physmap.kind(BASE_GFN + 1), "xen");
  assert.equal(physmap.totPages, 15);
  assert.equal(memory.readU8((BASE_GFN + 1) * 0x1000), 7);
  assert.equal(memory.readU8((BASE_GFN + 1) * 0x1000 + 1), 0);
  memory.writeU8((BASE_GFN + 1) * 0x1000 + 2, 9); // the guest writes the page
  assert.equal(physmap.remove(BASE_GFN + 1), "ok");
  assert.equal(physmap.kind(BASE_GFN + 1), "hole");
  assert.equal(page.readU8(2), 9);
  assert.deepEqual(physmap.xenMappings(), []);
});

Deno.test("mapping a Xen page over another unmaps the first; a page is mapped at one frame only", () => {
  const { memory, physmap } = setup();
  const a = new XenPage(memory, "grant frame 0");
  const b = new XenPage(memory, "grant frame 1");
  assert.equal(physmap.mapXenPage(a, 0x38000), "ok");
  assert.equal(memory.isMapped(0x3800_0000, 0x1000), true);
  assert.equal(physmap.mapXenPage(b, 0x38000), "ok");
  assert.equal(a.gfn, undefined);
  assert.equal(physmap.mapXenPage(b, 0x38001), "EBUSY");
  assert.equal(physmap.mapXenPage(a, 2 ** 28), "EINVAL");
});

Deno.test("populate fills holes with zeroed RAM within max_pages, aligned extents only", () => {
  const { memory, physmap } = setup(18);
  assert.equal(physmap.populate(0x50000, 1), true);
  assert.equal(physmap.totPages, 18);
  assert.ok(memory.isMapped(0x5000_0000, 0x2000));
  assert.equal(physmap.populate(0x50004, 0), false); // budget spent
  assert.equal(physmap.remove(0x50000), "ok");
  assert.equal(physmap.populate(0x50001, 1), false); // misaligned
  assert.equal(physmap.populate(0x50000, 10), false); // above DOMU_MAX_ORDER
  assert.equal(physmap.populate(0x50000, 0), true);
  assert.equal(physmap.remove(0x60000), "ENOENT");
});
