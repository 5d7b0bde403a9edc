import assert from "node:assert/strict";
import { formatGuid, isZeroGuid, sameGuid } from "./guid.ts";
import { guidBytes } from "./_test_disks.ts";

Deno.test("GUIDs print their first three fields little-endian and the rest as stored", () => {
  const bytes = Uint8Array.from({ length: 16 }, (_, i) => i);
  assert.equal(formatGuid(bytes), "03020100-0504-0706-0809-0a0b0c0d0e0f");
  const text = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
  assert.equal(formatGuid(guidBytes(text)), text);
  const padded = new Uint8Array(20);
  padded.set(guidBytes(text), 4);
  assert.equal(formatGuid(padded, 4), text);
});

Deno.test("zero and equal GUIDs are recognised at any offset", () => {
  const a = new Uint8Array(32);
  assert.ok(isZeroGuid(a, 16));
  a[20] = 1;
  assert.equal(isZeroGuid(a, 16), false);
  assert.ok(isZeroGuid(a, 0));
  const b = a.slice(16);
  assert.ok(sameGuid(a, 16, b));
  b[15] = 9;
  assert.equal(sameGuid(a, 16, b), false);
});
