import assert from "node:assert/strict";
import { AllowListSyntaxError, parseAllowList } from "./allow_list.ts";

const assertThrowsSyntax = (text: string, fragment: string) =>
  assert.throws(
    () => parseAllowList(text),
    (e: unknown) => e instanceof AllowListSyntaxError && e.message.includes(fragment),
  );

Deno.test("entries map case ids to reasons and comments are skipped", () => {
  const list = parseAllowList("# header\n\nhelp/list\tthe command set differs\n");
  assert.deepEqual(list.lookup("help/list")?.reason, "the command set differs");
  assert.deepEqual(list.lookup("help/list")?.line, 3);
  assert.deepEqual(list.lookup("help/other"), undefined);
});

Deno.test("a glob entry covers every matching case and the first match wins", () => {
  const list = parseAllowList("help/help-*\tfirst\nhelp/help-env\tsecond\n");
  assert.deepEqual(list.lookup("help/help-env")?.reason, "first");
  assert.deepEqual(list.lookup("help/list"), undefined);
});

Deno.test("malformed allow-lists are rejected with the line number", () => {
  assertThrowsSyntax("help/list the reason\n", "line 1: expected case-id<TAB>reason");
  assertThrowsSyntax("help/list\t \n", "no reason given");
  assertThrowsSyntax("list\treason\n", "bad case id");
  assertThrowsSyntax("a/b\tone\na/b\ttwo\n", 'line 2: "a/b" listed twice');
});

Deno.test("stale entries: matching no case, or matching only cases that passed", () => {
  const list = parseAllowList("a/x\tr\na/y*\tr\nb/gone\tr\n");
  const stale = list.stale(["a/x", "a/y1", "a/y2"], new Set(["a/x"]));
  assert.deepEqual(stale.unknown.map((e) => e.pattern), ["b/gone"]);
  assert.deepEqual(stale.unneeded.map((e) => e.pattern), ["a/y*"]);
});
