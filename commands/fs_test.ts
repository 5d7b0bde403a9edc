import assert from "node:assert/strict";
import { fileExistsHook, fsCommands } from "./fs.ts";
import { CMD_RET_USAGE, type Command, printUsage } from "./command.ts";
import { testCommand } from "./test.ts";
import { FS_RET_USAGE, FsLayer } from "../fs/fs.ts";
import { DIR, testDisks, tinyDriver } from "../fs/_test_fs.ts";
import { fakeContext } from "../tests/fake_context.ts";

const HELLO = new TextEncoder().encode("hello\n");
const FILES = { "hello.txt": HELLO, dir1: DIR } as const;

function layer(): FsLayer {
  return new FsLayer({
    ...testDisks(),
    drivers: [tinyDriver("fat", "AAFS", FILES), tinyDriver("ext4", "BBFS", FILES)],
    clock: () => 0,
  });
}

function command(name: string, commands = fsCommands(layer())): Command {
  const found = commands.find((c) => c.name === name);
  assert.ok(found, name);
  return found;
}

Deno.test("the commands have U-Boot's limits and repeat flags", () => {
  const table = fsCommands(layer()).map((c) => [c.name, c.maxArgs, c.repeatable]);
  assert.deepEqual(table, [
    ["ls", 4, true],
    ["load", 7, false],
    ["size", 4, false],
    ["fstype", 4, true],
    ["fstypes", 1, true],
  ]);
});

Deno.test("usage texts are U-Boot's", () => {
  // goldens/00-help: `help size` and `help fstypes`.
  const ctx = fakeContext();
  printUsage(ctx.console, command("size"));
  printUsage(ctx.console, command("fstypes"));
  assert.equal(
    ctx.console.take(),
    "size - determine a file's size\n\nUsage:\nsize <interface> <dev[:part]> <filename>\n" +
      "    - Find file 'filename' from 'dev' on 'interface'\n      and determine its size.\n" +
      "fstypes - List supported filesystem types\n\nUsage:\nfstypes \n",
  );
});

Deno.test("the layer's usage result is the shell's CMD_RET_USAGE", async () => {
  assert.equal(FS_RET_USAGE, CMD_RET_USAGE);
  assert.equal(await command("load").run(fakeContext(), ["load"]), CMD_RET_USAGE);
});

Deno.test("ls lists the partition's root through the mounted filesystem", async () => {
  const ctx = fakeContext();
  assert.equal(await command("ls").run(ctx, ["ls", "pvblock", "0:1"]), 0);
  assert.equal(ctx.console.take(), "        6   hello.txt\n            dir1/\n");
});

Deno.test("load puts the file in guest memory", async () => {
  const ctx = fakeContext();
  assert.equal(await command("load").run(ctx, ["load", "pvblock", "0:2", "0x40400000", "hello.txt"]), 0);
  assert.equal(ctx.console.take(), "6 bytes read in 0 ms\n");
  assert.deepEqual(ctx.memory.read(0x40400000, HELLO.length), HELLO);
  assert.equal(ctx.env.get("filesize"), "6");
});

Deno.test("size stores filesize and prints nothing", async () => {
  const ctx = fakeContext();
  assert.equal(await command("size").run(ctx, ["size", "pvblock", "0:1", "hello.txt"]), 0);
  assert.equal(ctx.env.get("filesize"), "6");
  assert.equal(ctx.console.take(), "");
});

Deno.test("fstype prints the name or sets the variable", async () => {
  const ctx = fakeContext();
  assert.equal(await command("fstype").run(ctx, ["fstype", "pvblock", "0:2"]), 0);
  assert.equal(await command("fstype").run(ctx, ["fstype", "pvblock", "0:1", "v"]), 0);
  assert.equal(ctx.console.take(), "ext4\n");
  assert.equal(ctx.env.get("v"), "fat");
});

Deno.test("fstypes lists the filesystems as the real U-Boot does", async () => {
  const ctx = fakeContext();
  assert.equal(await command("fstypes").run(ctx, ["fstypes"]), 0);
  assert.equal(ctx.console.take(), "Supported filesystems: fat, ext4\n");
});

Deno.test("the test -e hook finds files and prints device errors as the real test -e does", async () => {
  const out = {
    text: "",
    puts(t: string) {
      this.text += t;
    },
  };
  const hooks = fileExistsHook(layer(), { out });
  const exists = hooks.fileExists!;
  assert.equal(await exists("pvblock", "0:1", "/hello.txt"), true);
  assert.equal(await exists("pvblock", "0:1", "/dir1"), true);
  assert.equal(await exists("pvblock", "0:1", "/nothere"), false);
  assert.equal(await exists("pvblock", "0:3", "/hello.txt"), false);
  assert.equal(out.text, "");
  assert.equal(await exists("pvblock", "9", "/x"), false);
  assert.equal(out.text, "** Bad device specification pvblock 9 **\nCouldn't find partition pvblock 9\n");
});

Deno.test("test -e runs through the hook", async () => {
  const test = testCommand(fileExistsHook(layer(), { out: { puts: () => {} } }));
  assert.equal(await test.run(fakeContext(), ["test", "-e", "pvblock", "0:2", "hello.txt"]), 0);
  assert.equal(await test.run(fakeContext(), ["test", "-e", "pvblock", "0:2", "nothere"]), 1);
});
