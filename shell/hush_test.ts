import assert from "node:assert/strict";
import { Shell } from "./shell.ts";
import { Environment } from "../env/environment.ts";
import { envCommands } from "../commands/env.ts";
import { helpCommands } from "../commands/help.ts";
import { showvarCommand } from "../commands/showvar.ts";
import type { Command } from "../commands/command.ts";
import { FlatMemory, RecordingConsole, TEST_BOARD } from "../tests/fake_context.ts";

/** Minimal stand-ins so that these tests exercise the shell alone. */
const stubs: Command[] = [
  {
    name: "echo",
    maxArgs: 64,
    repeatable: false,
    usage: "echo args to console",
    help: "",
    run(ctx, argv) {
      const args = argv.slice(1);
      const newline = args[0] !== "-n";
      if (!newline) args.shift();
      ctx.console.puts(args.join(" ") + (newline ? "\n" : ""));
      return 0;
    },
  },
  { name: "true", maxArgs: 64, repeatable: false, usage: "", help: "", run: () => 0 },
  { name: "false", maxArgs: 64, repeatable: false, usage: "", help: "", run: () => 1 },
  {
    name: "exit",
    maxArgs: 2,
    repeatable: false,
    usage: "",
    help: "",
    run: (_c, a) => (Number(a[1] ?? 0) ? 1 : 0),
  },
  { name: "usage", maxArgs: 1, repeatable: false, usage: "a usage", help: "long help", run: () => -1 },
];

function shell(parser: "hush" | "simple" = "hush"): { sh: Shell; con: RecordingConsole } {
  const con = new RecordingConsole();
  const sh = new Shell({
    commands: [...envCommands(), ...helpCommands(), showvarCommand(), ...stubs],
    env: new Environment([["loadaddr", "0x40200000"]], 262140),
    console: con,
    memory: new FlatMemory(0x40000000, 1 << 20),
    board: TEST_BOARD,
    parser,
  });
  return { sh, con };
}

async function run(sh: Shell, con: RecordingConsole, line: string): Promise<{ out: string; rc: number }> {
  const rc = await sh.inputLine(line, "", { repeat: false });
  assert.notEqual(rc, "more");
  return { out: con.take(), rc: rc as number };
}

Deno.test("hush skips every && and || element after a short-circuit until the next ;", async () => {
  const { sh, con } = shell();
  assert.deepEqual(await run(sh, con, "false && echo a || echo b"), { out: "", rc: 1 });
  assert.deepEqual(await run(sh, con, "true && false || echo and-or"), { out: "and-or\n", rc: 0 });
  assert.deepEqual(await run(sh, con, "false || echo c && echo d"), { out: "c\nd\n", rc: 0 });
  assert.deepEqual(await run(sh, con, "true || echo or-not"), { out: "", rc: 0 });
  assert.deepEqual(await run(sh, con, "false && false || true"), { out: "", rc: 1 });
  assert.deepEqual(await run(sh, con, "true || false && false"), { out: "", rc: 0 });
});

Deno.test("hush if/elif/else picks the branch by the condition's status", async () => {
  const { sh, con } = shell();
  await run(sh, con, "setenv a 1");
  const line = "if false; then echo two; elif true; then echo one; else echo other; fi";
  assert.deepEqual(await run(sh, con, line), { out: "one\n", rc: 0 });
  assert.deepEqual(await run(sh, con, "if false; then echo f; fi"), { out: "", rc: 1 });
  assert.deepEqual(await run(sh, con, "if false; then echo f; fi; echo $?"), { out: "1\n", rc: 0 });
  assert.deepEqual(
    await run(sh, con, "if true; then if false; then echo both; else echo inner-else; fi; fi"),
    { out: "inner-else\n", rc: 0 },
  );
});

Deno.test("hush for splits expanded words on spaces and skips the body with no words", async () => {
  const { sh, con } = shell();
  await run(sh, con, 'setenv list "x y z"');
  assert.equal((await run(sh, con, "for i in ${list}; do echo [${i}]; done")).out, "[x]\n[y]\n[z]\n");
  assert.equal((await run(sh, con, "for i in one two; do echo -n ${i}; done; echo")).out, "onetwo\n");
  assert.deepEqual(await run(sh, con, "for i in; do echo never; done"), { out: "", rc: 0 });
});

Deno.test("hush while returns the last condition status", async () => {
  const { sh, con } = shell();
  await run(sh, con, "x=1");
  const r = await run(sh, con, "while false; do echo never; done");
  assert.deepEqual(r, { out: "", rc: 1 });
  assert.deepEqual(await run(sh, con, "until true; do echo never; done"), { out: "", rc: 0 });
});

Deno.test("hush quoting: single quotes literal, double quotes expand, backslash escapes", async () => {
  const { sh, con } = shell();
  await run(sh, con, "setenv a 1");
  assert.equal((await run(sh, con, `echo "quoted \${a}" 'single \${a}'`)).out, "quoted 1 single ${a}\n");
  assert.equal((await run(sh, con, 'echo a\\ b "c  d"   e')).out, "a b c  d e\n");
  assert.equal((await run(sh, con, "echo \\$a \\${a}")).out, "$a ${a}\n");
  assert.equal((await run(sh, con, "echo ${a}${a}text")).out, "11text\n");
  await run(sh, con, 'setenv foo "  spaced  "');
  assert.equal((await run(sh, con, "echo [${foo}]")).out, "[ spaced ]\n");
});

Deno.test("hush variables: environment before locals, $? after every pipe", async () => {
  const { sh, con } = shell();
  assert.deepEqual(await run(sh, con, "x=local1"), { out: "", rc: 0 });
  assert.equal((await run(sh, con, "echo $x")).out, "local1\n");
  assert.equal((await run(sh, con, "showvar x")).out, "x=local1\n");
  await run(sh, con, "y=2");
  await run(sh, con, "y=");
  assert.equal((await run(sh, con, "showvar")).out, "HUSH_VERSION=0.01\nx=local1\n");
  assert.deepEqual(await run(sh, con, "printenv x"), { out: '## Error: "x" not defined\n', rc: 1 });
  await run(sh, con, "setenv x global1");
  assert.equal((await run(sh, con, "echo ${x}")).out, "global1\n");
  assert.equal(
    (await run(sh, con, "nosuchcmd; echo $?")).out,
    "Unknown command 'nosuchcmd' - try 'help'\n1\n",
  );
  assert.equal((await run(sh, con, "echo ${unset:-dflt}")).out, "dflt\n");
});

Deno.test("hush syntax errors: lone & or |, missing fi, unclosed ${", async () => {
  const { sh, con } = shell();
  assert.equal((await run(sh, con, "echo a & echo b")).out, "syntax error\n");
  assert.equal((await run(sh, con, "echo a | echo b")).out, "syntax error\n");
  assert.equal(await sh.inputLine("if true; then echo x", "", { repeat: false }), "more");
  con.take();
  assert.equal(await sh.finishPending("if true; then echo x\n"), 1);
  assert.equal(con.take(), "syntax error\n");
  assert.equal((await run(sh, con, "echo ${a")).out, "syntax error\n");
});

Deno.test("hush re-parses substituted commands: a variable can hold a command", async () => {
  const { sh, con } = shell();
  await run(sh, con, "setenv cmd1 'echo run-one; echo run-two'");
  assert.equal((await run(sh, con, "run cmd1")).out, "run-one\nrun-two\n");
  await run(sh, con, "setenv foo inner");
  await run(sh, con, "setenv nested '${foo}'");
  assert.deepEqual(await run(sh, con, "run nested"), {
    out: "Unknown command 'inner' - try 'help'\n",
    rc: 1,
  });
  await run(sh, con, "dollar_bar='echo bar'");
  assert.equal((await run(sh, con, "$dollar_bar")).out, "bar\n");
});

Deno.test("run stops at the first failing variable and reports a missing one", async () => {
  const { sh, con } = shell();
  await run(sh, con, "setenv cmd1 'echo one'");
  await run(sh, con, "setenv cmd2 'echo second; false'");
  assert.equal((await run(sh, con, "run cmd1 cmd2; echo $?")).out, "one\nsecond\n1\n");
  assert.deepEqual(await run(sh, con, "run cmd2 cmd1"), { out: "second\n", rc: 1 });
  assert.deepEqual(await run(sh, con, "run nonexistent cmd1"), {
    out: '## Error: "nonexistent" not defined\n',
    rc: 1,
  });
});

Deno.test("exit leaves nothing, in a run script or at the prompt: it only sets the status", async () => {
  const { sh, con } = shell();
  await run(sh, con, "setenv foo 'echo bar ; exit 3 ; echo baz'");
  assert.equal((await run(sh, con, "run foo; echo $?")).out, "bar\nbaz\n0\n");
  assert.equal(
    (await run(sh, con, "setenv q 'echo a; exit 5'; run q && echo and-ok; echo st=$?")).out,
    "a\nst=1\n",
  );
  assert.deepEqual(await run(sh, con, "exit"), { out: "", rc: 0 });
  assert.equal((await run(sh, con, "echo after-exit")).out, "after-exit\n");
});

Deno.test("usage errors print U-Boot's usage block and give status 1", async () => {
  const { sh, con } = shell();
  assert.deepEqual(await run(sh, con, "usage"), {
    out: "usage - a usage\n\nUsage:\nusage long help\n",
    rc: 1,
  });
  assert.deepEqual(await run(sh, con, "usage extra"), {
    out: "usage - a usage\n\nUsage:\nusage long help\n",
    rc: 1,
  });
});

Deno.test("commands are found by unique prefix and up to the first dot", async () => {
  const { sh, con } = shell();
  assert.equal((await run(sh, con, "printe loadaddr")).out, "loadaddr=0x40200000\n");
  assert.equal((await run(sh, con, "printenv.x loadaddr")).out, "loadaddr=0x40200000\n");
  assert.equal((await run(sh, con, "e")).out, "Unknown command 'e' - try 'help'\n");
});

Deno.test("an empty line repeats the last line only when its commands are repeatable", async () => {
  const { sh, con } = shell();
  await sh.inputLine("printenv loadaddr");
  assert.equal(con.take(), "loadaddr=0x40200000\n");
  await sh.inputLine("");
  assert.equal(con.take(), "loadaddr=0x40200000\n");
  await sh.inputLine("echo once");
  con.take();
  await sh.inputLine("");
  assert.equal(con.take(), "");
});

Deno.test("simple parser: ; splits, quotes don't group, ${x} expands just before each command", async () => {
  const { sh, con } = shell("simple");
  assert.equal((await run(sh, con, "setenv a 1; echo ${a} $(a) $a")).out, "1 1 $a\n");
  assert.equal((await run(sh, con, "setenv x 'a  b'; printenv x")).out, "x=a b\n");
  assert.equal((await run(sh, con, 'echo "q"')).out, '"q"\n');
  assert.equal((await run(sh, con, "echo a\\;b")).out, "a;b\n");
  assert.equal((await run(sh, con, "if true")).out, "Unknown command 'if' - try 'help'\n");
});

Deno.test("env default -f on a variable the default environment lacks leaves it alone", async () => {
  const { sh, con } = shell();
  await run(sh, con, "setenv made_up 1; env default -f made_up");
  assert.deepEqual(await run(sh, con, "printenv made_up"), { out: "made_up=1\n", rc: 0 });
  await run(sh, con, "setenv loadaddr 0x1; env default -f loadaddr");
  assert.equal((await run(sh, con, "printenv loadaddr")).out, "loadaddr=0x40200000\n");
});
