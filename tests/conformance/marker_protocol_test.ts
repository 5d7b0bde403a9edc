import assert from "node:assert/strict";
import { findMarked, marker } from "./marker_protocol.ts";

Deno.test("the marker line carries the status between NUL bytes", () => {
  assert.deepEqual(marker(1), "\x00PVBOOT-RC 1\x00\n");
});

Deno.test("no complete marker yet means no result", () => {
  assert.deepEqual(findMarked("output so far\n"), null);
  assert.deepEqual(findMarked("out\n\x00PVBOOT-RC 1"), null);
  assert.deepEqual(findMarked("out\n\x00PVBOOT-RC 1\x00"), null);
});

Deno.test("the output before the first marker is split off with its status", () => {
  const text = `a\n${marker(0)}b${marker(1)}`;
  const first = findMarked(text)!;
  assert.deepEqual([first.output, first.rc], ["a\n", 0]);
  const second = findMarked(text.slice(first.consumed))!;
  assert.deepEqual([second.output, second.rc], ["b", 1]);
});

Deno.test("a negative status and empty output are read", () => {
  assert.deepEqual(findMarked(marker(-1)), { output: "", rc: -1, consumed: marker(-1).length });
});
