import assert from "node:assert/strict";
import { parseCaseFile } from "./case_file.ts";
import type { ConformanceCase } from "./case_file.ts";
import { probePvboot, REPO_ROOT, runPvbootSession } from "./pvboot_runner.ts";
import type { PvbootOptions } from "./pvboot_runner.ts";

/** The runner driving fake_pvboot.ts, a stand-in that speaks the same protocol. */
const FAKE: PvbootOptions = {
  argv: [Deno.execPath(), "run", "-A", "tests/conformance/fake_pvboot.ts"],
  cwd: REPO_ROOT,
  startupMs: 30_000,
  copyDisks: true,
};

function cases(text: string): ConformanceCase[] {
  return parseCaseFile("t", text).sessions.flat();
}

for (const mode of ["line by line", "after reading all input"]) {
  const options = mode === "line by line" ? FAKE : { ...FAKE, argv: [...FAKE.argv, "--read-all"] };
  Deno.test(`outputs and statuses come back for a pvboot reading ${mode}; a handoff restarts it on fresh disks`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const disk = `${dir}/disk.img`;
      await Deno.writeTextFile(disk, "ORIGINAL");
      const outcomes = await runPvbootSession(
        cases("a\techo hello\nb\tfalse\nc\twrite-disk0 CHANGED\nc2\tdisks\nd\thandoff\ne\tdisks\nf\tfrob\n"),
        [disk],
        options,
      );
      assert.deepEqual(outcomes, [
        { output: "hello\n", rc: 0, end: "prompt" },
        { output: "", rc: 1, end: "prompt" },
        { output: "", rc: 0, end: "prompt" },
        { output: "1 disks: CHANGED\n", rc: 0, end: "prompt" },
        { output: "\nStarting kernel ...\n\n", rc: null, end: "session-ended" },
        { output: "1 disks: ORIGINAL\n", rc: 0, end: "prompt" },
        { output: "Unknown command 'frob' - try 'help'\n", rc: 1, end: "prompt" },
      ]);
      assert.equal(await Deno.readTextFile(disk), "ORIGINAL");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a line past its timeout is recorded as such and the session goes on in a new process", async () => {
  const [slow, next] = cases("slow\tsleep 5\nnext\techo after\n");
  const quick = { ...slow!, flags: { ...slow!.flags, timeoutMs: 200 } };
  const outcomes = await runPvbootSession([quick, next!], [], { ...FAKE, startupMs: 0 });
  assert.deepEqual(outcomes.map((o) => o.end), ["timeout", "prompt"]);
  assert.equal(outcomes[1]!.output, "after\n");
});

Deno.test("the probe accepts a program that speaks the protocol", async () => {
  assert.equal(await probePvboot(FAKE), null);
});

Deno.test("the probe reports a missing entry point without starting anything", async () => {
  const reason = await probePvboot({ ...FAKE, argv: [Deno.execPath(), "run", "-A", "no_such_main.ts"] });
  assert.equal(reason, "no_such_main.ts does not exist");
});
