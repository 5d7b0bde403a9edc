import assert from "node:assert/strict";
import { slreCompile } from "./compile.ts";
import { SlreStepLimitError } from "./match.ts";
import { regexSubstitute, SLRE_BUFSZ, SLRE_PATSZ, type SubstituteOutcome } from "./substitute.ts";

function sub(pattern: string, replacement: string, text: string, global = false): SubstituteOutcome {
  return regexSubstitute(slreCompile(pattern), text, replacement, global);
}

function textOf(outcome: SubstituteOutcome): string {
  assert.ok(outcome.ok, outcome.ok ? "" : outcome.message);
  return outcome.text;
}

Deno.test("sub replaces the first match and gsub every match (U-Boot's setexpr examples)", () => {
  assert.equal(textOf(sub("is", "us", "this is a test")), "thus is a test");
  assert.equal(textOf(sub("is", "us", "this is a test", true)), "thus us a test");
  assert.equal(textOf(sub("a", "b", "banana", true)), "bbnbnb");
  assert.equal(textOf(sub("an", "AN", "banana")), "bANana");
});

Deno.test("\\0 to \\9 in the replacement insert the whole match and the groups", () => {
  assert.equal(textOf(sub("^(.)(.)", "\\2\\1", "hello")), "ehllo");
  assert.equal(textOf(sub("l+", "[\\0]", "hello")), "he[ll]o");
  assert.equal(textOf(sub("(b)(a)", "\\2\\1\\2", "ba ba", true)), "aba aba");
});

Deno.test("a backreference to an empty group stops the expansion of later ones", () => {
  // Group 1 is empty, so neither \1 nor \2 is expanded.
  assert.equal(textOf(sub("(x*)(b)", "<\\1\\2>", "ab")), "a<\\1\\2>");
});

Deno.test("the replacement goes where the matched text first occurs from the resume point", () => {
  // "b$" matches the last b, but memstr finds the first one.
  assert.equal(textOf(sub("b$", "X", "abab", true)), "aXaX");
  assert.equal(textOf(sub("b$", "X", "abab")), "aXab");
});

Deno.test("gsub matches the rest as a new text, so ^ matches again at each resume point", () => {
  assert.equal(textOf(sub("^a", "b", "aaa", true)), "bbb");
});

Deno.test("no match at all prints the text and 'No match'", () => {
  assert.deepEqual(sub("[0-9]+", "N", "abc123def45", true), {
    ok: false,
    message: "abc123def45: No match\n",
  });
});

Deno.test("a text that does not fit the 16 KiB buffer is a subst buffer overflow", () => {
  const outcome = sub("a", "b", "a".repeat(SLRE_BUFSZ));
  assert.deepEqual(outcome, {
    ok: false,
    message: `## error: subst buffer overflow: have ${SLRE_BUFSZ}, need ${SLRE_BUFSZ + 1}\n`,
  });
  assert.ok(sub("a", "b", "a".repeat(SLRE_BUFSZ - 1)).ok);
});

Deno.test("a replacement that does not fit the 4 KiB buffer is a pattern buffer overflow", () => {
  assert.deepEqual(sub("a", "r".repeat(SLRE_PATSZ - 1), "a"), {
    ok: false,
    message: `## error: pattern buffer overflow: have ${SLRE_PATSZ}, need ${SLRE_PATSZ}\n`,
  });
  assert.ok(sub("a", "r".repeat(SLRE_PATSZ - 2), "a").ok);
});

Deno.test("growing past the buffer is a substitution buffer overflow", () => {
  // An empty match with a non-empty replacement inserts at every resume point until full.
  assert.deepEqual(sub("x*", "-", "ab", true), {
    ok: false,
    message: "## error: substitution buffer overflow\n",
  });
  assert.deepEqual(sub("a", "aa", "a".repeat(SLRE_BUFSZ - 1), true), {
    ok: false,
    message: "## error: substitution buffer overflow\n",
  });
});

Deno.test("an empty match with an empty replacement stops where U-Boot loops forever", () => {
  assert.throws(() => sub("x*", "", "ab", true), SlreStepLimitError);
  assert.equal(textOf(sub("x*", "", "ab")), "ab");
});

Deno.test("an empty result is an empty text", () => {
  assert.equal(textOf(sub("abc", "", "abc")), "");
});
