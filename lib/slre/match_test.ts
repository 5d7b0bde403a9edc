import assert from "node:assert/strict";
import { slreCompile } from "./compile.ts";
import {
  byteStringToBytes,
  slreCaptures,
  slreMatch,
  slreMatchString,
  slreStepBudget,
  SlreStepLimitError,
} from "./match.ts";

function matches(text: string, pattern: string): boolean {
  return slreMatchString(slreCompile(pattern), text);
}

/** Captures as [offset, length] pairs after a match that must succeed. */
function capturesOf(text: string, pattern: string): [number, number][] {
  const program = slreCompile(pattern);
  const caps = slreCaptures(program.numCaps + 1);
  assert.ok(slreMatch(program, byteStringToBytes(text), caps), `"${text}" =~ ${pattern}`);
  return caps.map((c) => [c.ptr, c.len]);
}

Deno.test("U-Boot's own SLRE checks hold (test/lib/slre.c, the cases 2023.01 passes)", () => {
  assert.equal(matches("123", "^\\d+$"), true);
  assert.equal(matches("x23", "^\\d+$"), false);
  assert.equal(matches("banana", "^([bn]a)*$"), true);
  assert.equal(matches("panama", "^([bn]a)*$"), false);
  assert.equal(matches("xby", "b|^a"), true);
  assert.equal(matches("xby", "b|c$"), true);
  assert.equal(matches("xby", "c$|b"), true);
  assert.equal(matches("Gadsby", "^[^eE]*$"), true);
  assert.equal(matches("Ernest", "^[^eE]*$"), false);
  assert.equal(matches("6d41f0a39d6", "^[0123456789abcdef]*$"), true);
});

Deno.test("a leading caret anchors every alternative (fixed only after 2023.01)", () => {
  assert.equal(matches("xby", "^a|b"), false);
});

Deno.test("an unanchored pattern never matches an empty text, nor at the very end", () => {
  assert.equal(matches("", "x*$"), false);
  assert.equal(matches("yy", "x*$"), false);
  assert.equal(matches("yy", "y$"), true);
});

Deno.test("a set has no ranges: [0-9] is the bytes 0, - and 9", () => {
  assert.equal(matches("abc123def45", "[0-9]+"), false);
  assert.equal(matches("a-b", "[0-9]"), true);
  assert.equal(matches("x9", "[0-9]"), true);
  assert.equal(matches("5", "[^0-9]"), true);
});

Deno.test("\\s, \\S and \\d match whitespace, non-whitespace and digits outside sets", () => {
  assert.equal(matches("a b", "a\\sb"), true);
  assert.equal(matches("a\tb", "a\\sb"), true);
  assert.equal(matches("a\xa0b", "a\\sb"), true);
  assert.equal(matches("ab", "a\\Sb"), false);
  assert.equal(matches("7", "\\d"), true);
  assert.equal(matches("x", "\\d"), false);
});

Deno.test("\\d inside a set matches the bytes 0x00 and 0x11, not digits", () => {
  assert.equal(matches("7", "[\\d]"), false);
  assert.equal(matches("\x11", "[\\d]"), true);
});

Deno.test("escaped meta characters and \\n \\r \\t match themselves", () => {
  assert.equal(matches("a.b", "a\\.b"), true);
  assert.equal(matches("axb", "a\\.b"), false);
  assert.equal(matches("1+1", "1\\+1"), true);
  assert.equal(matches("a\nb", "a\\nb"), true);
});

Deno.test("greedy quantifiers take the longest run after which the rest matches", () => {
  assert.deepEqual(capturesOf("<a><b>", "<(.*)>")[1], [1, 4]);
  assert.deepEqual(capturesOf("color colour", "colou?r")[0], [0, 5]);
});

Deno.test("non-greedy quantifiers take one round more than needed before trying the rest", () => {
  assert.deepEqual(capturesOf("<a><b>", "<(.*?)>")[1], [1, 1]);
  // SLRE's loop_non_greedy runs the body before its first look at the rest.
  assert.deepEqual(capturesOf("aaa", "a+?")[0], [0, 2]);
  assert.equal(matches("<>", "<.*?>"), false);
});

Deno.test("capture 0 is the whole match and groups record their first round", () => {
  assert.deepEqual(capturesOf("hello", "^(.)(.)"), [[0, 2], [0, 1], [1, 1]]);
  // A group inside `+` keeps the first round only; inside `*` it stays unset.
  assert.deepEqual(capturesOf("ababx", "(ab)+x")[1], [0, 2]);
  assert.deepEqual(capturesOf("ababx", "(ab)*x")[1], [-1, 0]);
});

Deno.test("alternatives are tried left to right inside a group", () => {
  assert.deepEqual(capturesOf("dog", "(cat|dog)")[1], [0, 3]);
  assert.deepEqual(capturesOf("xcat", "(ca|c)t")[0], [1, 3]);
});

Deno.test("an alternative that matched is not revisited when the rest fails", () => {
  assert.equal(matches("xcat", "(c|ca)t"), false);
});

Deno.test("a quantified empty sub-pattern stops at the step limit where U-Boot hangs", () => {
  assert.throws(() => matches("ab", "(a*)*"), SlreStepLimitError);
  assert.throws(() => matches("ab", "x**"), SlreStepLimitError);
});

Deno.test("a shared step budget runs out across matches", () => {
  const program = slreCompile("a");
  const budget = slreStepBudget(3);
  assert.throws(
    () => slreMatch(program, byteStringToBytes("bbbbbbbb"), undefined, budget),
    SlreStepLimitError,
  );
  assert.equal(slreMatch(program, byteStringToBytes("a"), undefined, slreStepBudget(3)), true);
});

Deno.test("matching reads bytes, not UTF-16 text", () => {
  assert.deepEqual([...byteStringToBytes("\xff\x00A")], [0xff, 0x00, 0x41]);
  assert.equal(matches("\xe9t\xe9", "t\xe9$"), true);
});
