import assert from "node:assert/strict";
import {
  CaseFileSyntaxError,
  casesOf,
  DEFAULT_DISKS,
  DEFAULT_TIMEOUT_MS,
  filterCases,
  globToRegExp,
  parseCaseFile,
} from "./case_file.ts";

const assertThrowsSyntax = (fn: () => unknown, fragment: string) =>
  assert.throws(fn, (e: unknown) => e instanceof CaseFileSyntaxError && e.message.includes(fragment));

Deno.test("a case line gives id, name, command and default flags", () => {
  const file = parseCaseFile("fat", "ls-root\tfatls pvblock 0:1\n");
  assert.deepEqual(casesOf(file), [{
    id: "fat/ls-root",
    area: "fat",
    name: "ls-root",
    command: "fatls pvblock 0:1",
    flags: { addresses: false, timeoutMs: DEFAULT_TIMEOUT_MS, needs: [] },
    line: 1,
  }]);
});

Deno.test("comments and blank lines are skipped and line numbers still count them", () => {
  const file = parseCaseFile("hush", "# title\n\n  \none\techo 1\n");
  assert.deepEqual(casesOf(file).map((c) => [c.name, c.line]), [["one", 4]]);
});

Deno.test("the third column sets flags: addresses and timeout in seconds", () => {
  const file = parseCaseFile("images", "boot\tbooti\taddresses, timeout=30\n");
  assert.deepEqual(casesOf(file)[0]!.flags, { addresses: true, timeoutMs: 30_000, needs: [] });
});

Deno.test("a command keeps its inner spaces, quotes and dollars as written", () => {
  const file = parseCaseFile("hush", "q\techo \"a  b\" '${x}' $? ;; x\n");
  assert.deepEqual(casesOf(file)[0]!.command, "echo \"a  b\" '${x}' $? ;; x");
});

Deno.test("without @disks the default disks attach; @disks none attaches nothing", () => {
  assert.deepEqual(parseCaseFile("a", "x\ttrue\n").disks, DEFAULT_DISKS);
  assert.deepEqual(parseCaseFile("a", "@disks none\nx\ttrue\n").disks, []);
  assert.deepEqual(parseCaseFile("a", "@disks floppy gpt\nx\ttrue\n").disks, ["floppy", "gpt"]);
});

Deno.test("@fresh splits the cases into sessions and ignores a leading or repeated @fresh", () => {
  const file = parseCaseFile("a", "@fresh\nx\ttrue\n@fresh\n@fresh\ny\tfalse\nz\ttrue\n");
  assert.deepEqual(file.sessions.map((s) => s.map((c) => c.name)), [["x"], ["y", "z"]]);
});

Deno.test("malformed case files are rejected with the line number", () => {
  assertThrowsSyntax(() => parseCaseFile("a", "x\ttrue\nx\tfalse\n"), 'line 2: case "x" defined twice');
  assertThrowsSyntax(() => parseCaseFile("a", "no-tab-here\n"), "expected name<TAB>command");
  assertThrowsSyntax(() => parseCaseFile("a", "Upper\ttrue\n"), "bad case name");
  assertThrowsSyntax(() => parseCaseFile("a", "x\t  \n"), "empty command");
  assertThrowsSyntax(() => parseCaseFile("a", "x\ttrue\tloud\n"), 'unknown flag "loud"');
  assertThrowsSyntax(() => parseCaseFile("a", "x\ttrue\ttimeout=0\n"), "timeout must be");
  assertThrowsSyntax(() => parseCaseFile("a", "x\ttrue\n@disks gpt\n"), "@disks must come before");
  assertThrowsSyntax(() => parseCaseFile("a", "@disks\n"), "@disks needs");
  assertThrowsSyntax(() => parseCaseFile("a", "@reboot\n"), "unknown directive");
  assertThrowsSyntax(() => parseCaseFile("a", "x\ta\tb\tc\n"), "expected name<TAB>command");
});

Deno.test("filtering by glob keeps matching cases and drops emptied sessions", () => {
  const file = parseCaseFile("fat", "ls-a\tfatls\n@fresh\nload-a\tfatload\nls-b\tfatls\n");
  const kept = filterCases(file, "fat/ls-*");
  assert.deepEqual(kept.sessions.map((s) => s.map((c) => c.name)), [["ls-a"], ["ls-b"]]);
  assert.deepEqual(filterCases(file, "ext4/*").sessions, []);
});

Deno.test("glob stars match any run of characters and other characters match literally", () => {
  const re = globToRegExp("fat/*.txt");
  assert.deepEqual(re.test("fat/a.txt"), true);
  assert.deepEqual(re.test("fat/aXtxt"), false);
  assert.deepEqual(re.test("xfat/a.txt"), false);
});
