import assert from "node:assert/strict";
import { unifiedDiff } from "./unified_diff.ts";

Deno.test("equal inputs give no diff", () => {
  assert.deepEqual(unifiedDiff(["a", "b"], ["a", "b"], "x", "y"), []);
  assert.deepEqual(unifiedDiff([], [], "x", "y"), []);
});

Deno.test("one changed line gives one hunk with its context", () => {
  assert.deepEqual(unifiedDiff(["a", "b", "c"], ["a", "B", "c"], "u-boot", "pvboot"), [
    "--- u-boot",
    "+++ pvboot",
    "@@ -1,3 +1,3 @@",
    " a",
    "-b",
    "+B",
    " c",
  ]);
});

Deno.test("context is limited to three lines around a change", () => {
  const a = ["1", "2", "3", "4", "5", "6", "7", "8"];
  const b = ["1", "2", "3", "4", "5", "6", "7", "X"];
  assert.deepEqual(unifiedDiff(a, b, "a", "b").slice(2), ["@@ -5,4 +5,4 @@", " 5", " 6", " 7", "-8", "+X"]);
});

Deno.test("changes far apart give separate hunks", () => {
  const a = Array.from({ length: 20 }, (_, i) => `l${i}`);
  const b = [...a];
  b[1] = "first";
  b[18] = "second";
  const hunks = unifiedDiff(a, b, "a", "b").filter((l) => l.startsWith("@@"));
  assert.deepEqual(hunks, ["@@ -1,5 +1,5 @@", "@@ -16,5 +16,5 @@"]);
});

Deno.test("an insertion into nothing and a deletion of everything use empty ranges", () => {
  assert.deepEqual(unifiedDiff([], ["new"], "a", "b").slice(2), ["@@ -0,0 +1 @@", "+new"]);
  assert.deepEqual(unifiedDiff(["old"], [], "a", "b").slice(2), ["@@ -1 +0,0 @@", "-old"]);
});

Deno.test("lines only added keep the common lines as context", () => {
  assert.deepEqual(unifiedDiff(["a", "c"], ["a", "b", "c"], "x", "y").slice(2), [
    "@@ -1,2 +1,3 @@",
    " a",
    "+b",
    " c",
  ]);
});
