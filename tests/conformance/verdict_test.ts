import assert from "node:assert/strict";
import { parseCaseFile } from "./case_file.ts";
import type { ConformanceCase } from "./case_file.ts";
import { parseAllowList } from "./allow_list.ts";
import { outcome } from "./outcome.ts";
import { judgeCase, judgeSession, pendingReason, renderOutcome, summaryLines, tally } from "./verdict.ts";
import type { Verdict } from "./verdict.ts";

function caseOf(line: string): ConformanceCase {
  return parseCaseFile("area", `${line}\n`).sessions[0]![0]!;
}
const plain = caseOf("c\tfatls pvblock 0:1");
const noAllow = parseAllowList("");

Deno.test("equal output and status after normalisation pass", () => {
  const v = judgeCase(
    plain,
    outcome("** Bad device specification virtio 9 **\r\n32 bytes read in 2 ms (15.6 KiB/s)\r\n", 1),
    outcome("** Bad device specification pvblock 9 **\n32 bytes read in 0 ms\n", 1),
    noAllow,
  );
  assert.deepEqual(v, { kind: "pass" });
});

Deno.test("a different status alone fails, with the status line in the diff", () => {
  const v = judgeCase(plain, outcome("x\n", 1), outcome("x\n", 0), noAllow);
  assert.deepEqual(v.kind, "fail");
  assert.deepEqual(v.kind === "fail" ? v.diff.filter((l) => /^[-+]\$/.test(l)) : [], ["-$? = 1", "+$? = 0"]);
});

Deno.test("a missing final newline is a difference", () => {
  const v = judgeCase(plain, outcome("abc\n", 0), outcome("abc", 0), noAllow);
  assert.deepEqual(v.kind === "fail" ? v.diff.slice(2) : v, [
    "@@ -1,2 +1,3 @@",
    " abc",
    "+\\ No newline at end of output",
    " $? = 0",
  ]);
});

Deno.test("a listed difference is allowed with the list's reason", () => {
  const allow = parseAllowList("area/c\tdeliberate\n");
  const v = judgeCase(plain, outcome("a\n", 0), outcome("b\n", 0), allow);
  assert.deepEqual(v.kind === "allowed" ? v.reason : v.kind, "deliberate");
});

Deno.test("pvboot's Unknown command where U-Boot has the command is pending", () => {
  const v = judgeCase(
    plain,
    outcome("listing\n", 0),
    outcome("Unknown command 'fatls' - try 'help'\n", 1),
    noAllow,
  );
  assert.deepEqual(v, { kind: "pending", cause: "lacks", detail: "fatls" });
});

Deno.test("Unknown command on both sides is compared, not pending", () => {
  const out = "Unknown command 'frob' - try 'help'\n";
  assert.deepEqual(judgeCase(plain, outcome(out, 1), outcome(out, 1), noAllow), { kind: "pass" });
});

Deno.test("an unavailable pvboot makes the case pending with the reason", () => {
  const v = judgeCase(plain, outcome("", 0), { unavailable: "main.ts does not exist" }, noAllow);
  assert.deepEqual(v, { kind: "pending", cause: "unavailable", detail: "main.ts does not exist" });
});

Deno.test("both sessions ending (a boot) compare equal without a status", () => {
  const boot = "\nStarting kernel ...\n\n";
  assert.deepEqual(renderOutcome("pvboot", plain, outcome(boot, null, "session-ended")), [
    "",
    "Starting kernel ...",
    "",
    "[session ended]",
  ]);
  assert.deepEqual(
    judgeCase(plain, outcome(boot, null, "session-ended"), outcome(boot, null, "session-ended"), noAllow),
    { kind: "pass" },
  );
  assert.deepEqual(
    judgeCase(plain, outcome(boot, null, "session-ended"), outcome(boot, 0), noAllow).kind,
    "fail",
  );
});

Deno.test("addresses are masked only for cases flagged so", () => {
  const flagged = caseOf("b\tbooti\taddresses");
  const theirs = outcome("Working FDT set to 5dda6000\n", 0);
  const ours = outcome("Working FDT set to 7fe00000\n", 0);
  assert.deepEqual(judgeCase(flagged, theirs, ours, noAllow), { kind: "pass" });
  assert.deepEqual(judgeCase(plain, theirs, ours, noAllow).kind, "fail");
});

Deno.test("the summary counts allowed as passed, leaves pending out of the last line", () => {
  const verdicts: Verdict[] = [
    { kind: "pass" },
    { kind: "pass" },
    { kind: "allowed", diff: [], reason: "r" },
    { kind: "fail", diff: [] },
    { kind: "pending", cause: "lacks", detail: "x" },
  ];
  const t = tally(verdicts);
  assert.deepEqual(t, { passed: 2, allowed: 1, failed: 1, pending: 1 });
  assert.deepEqual(summaryLines(t), [
    "conformance: 3 passed, 1 failed, 1 pending (1 allowed differences among them)",
    "3 passed, 1 failed",
  ]);
});

Deno.test("help for a command pvboot lacks is pending", () => {
  const v = judgeCase(
    plain,
    outcome("fatls - list files\n", 1),
    outcome("Unknown command 'fatls' - try 'help' without arguments for list of all known commands\n\n", 1),
    noAllow,
  );
  assert.deepEqual(v, { kind: "pending", cause: "lacks", detail: "fatls" });
});

Deno.test("in a session, a failure after a pending case is pending unless strict", () => {
  const session = parseCaseFile("s", "load\tload x\nshow\tprintenv filesize\nok\ttrue\n").sessions[0]!;
  const uboot = new Map([
    ["s/load", outcome("32 bytes read in 1 ms\n", 0)],
    ["s/show", outcome("filesize=20\n", 0)],
    ["s/ok", outcome("", 0)],
  ]);
  const pvboot = new Map([
    ["s/load", outcome("Unknown command 'load' - try 'help'\n", 1)],
    ["s/show", outcome('## Error: "filesize" not defined\n', 1)],
    ["s/ok", outcome("", 0)],
  ]);
  const lenient = judgeSession(session, uboot, pvboot, noAllow, false);
  assert.deepEqual([...lenient.values()].map((v) => v.kind), ["pending", "pending", "pass"]);
  assert.deepEqual(lenient.get("s/show"), { kind: "pending", cause: "follows", detail: "s/load" });
  assert.equal(judgeSession(session, uboot, pvboot, noAllow, true).get("s/show")?.kind, "fail");
});

Deno.test("pending reasons read as sentences", () => {
  assert.equal(pendingReason("lacks", "fdt"), "pvboot lacks 'fdt'");
  assert.equal(pendingReason("follows", "a/b"), "differs after the pending case a/b in its session");
});

Deno.test("a case on a block interface pvboot lacks is pending, whatever pvboot printed", () => {
  const c = parseCaseFile("hush", "t\ttest -e pvblock 0:1 /x && echo yes\n").sessions[0]![0]!;
  const v = judgeCase(c, outcome("yes\n", 0), outcome("", 1), parseAllowList(""), new Set(["pvblock"]));
  assert.deepEqual(v, { kind: "pending", cause: "lacks", detail: "pvblock" });
  const w = judgeCase(c, outcome("yes\n", 0), outcome("", 1), parseAllowList(""));
  assert.equal(w.kind, "fail");
});

Deno.test("a case that needs a command pvboot lacks is pending (test -e before the filesystems)", () => {
  const c = parseCaseFile("hush", "t\ttest -e pvblock 0:1 /x && echo yes\tneeds=ls\n").sessions[0]![0]!;
  assert.deepEqual(c.flags.needs, ["ls"]);
  const v = judgeCase(c, outcome("yes\n", 0), outcome("", 1), parseAllowList(""), new Set(["ls"]));
  assert.deepEqual(v, { kind: "pending", cause: "lacks", detail: "ls" });
  assert.equal(judgeCase(c, outcome("yes\n", 0), outcome("", 1), parseAllowList(""), new Set()).kind, "fail");
});
