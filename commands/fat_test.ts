import assert from "node:assert/strict";
import { fatCommands } from "./fat.ts";
import { CMD_RET_USAGE, type Command } from "./command.ts";
import { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { formatDevice } from "../drivers/blk/dev_print.ts";
import { PartitionLayer } from "../disk/part.ts";
import { HostFileBlockDevice } from "../tests/host_file_block_device.ts";
import { ensureFixture } from "../tests/fixtures.ts";
import { fakeContext } from "../tests/fake_context.ts";
import { LONG_NAME } from "../scripts/fixtures/payloads.ts";
import {
  expectedListing,
  extractAll,
  type FatFixture,
  fatFixture,
  mdir,
  minfo,
  type OracleEntry,
  shownName,
} from "../fs/fat/_test_oracle.ts";

const GOLDEN = new URL("../tests/reference/02-fat.json", import.meta.url);
/** The golden's disks in device order: 0 gpt, 1 mbr, 2 floppy (whole-disk FAT12). */
const DISKS = ["gpt", "mbr", "floppy"] as const;
/** Names of the reference corpus and the files of our fixtures that stand for them. */
const GOLDEN_LONG_NAME = "This is a long file name for testing VFAT and ext4.txt";
const GOLDEN_ALIAS = "THISIS~1.TXT";
/** Files the reference corpus has and our fixtures do not. */
const ABSENT = ["big.bin"];

interface GoldenResult {
  readonly cmd: string;
  readonly out: string;
  readonly rc: number;
}

/** Splits a command line into words, honouring double quotes (all the golden uses). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

/** `.`/`..` resolved and separators normalised, for mtools (which does not resolve them). */
function normalise(path: string): string {
  const parts: string[] = [];
  for (const p of path.split(/[\\/]+/)) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return `/${parts.join("/")}`;
}

const blk = new BlockRegistry();
const opened: HostFileBlockDevice[] = [];
for (const [devnum, name] of DISKS.entries()) {
  const dev = await HostFileBlockDevice.open(await ensureFixture(name), { ifType: "pvblock", devnum });
  opened.push(dev);
  blk.register(dev);
}

/** The FAT partition a golden `dev[:part]` names on our disks. */
const partitions = new Map<string, FatFixture>();
async function fixtureFor(spec: string): Promise<FatFixture> {
  const [dev, part] = spec.split(":");
  const disk = DISKS[Number(dev)]!;
  const number = part !== undefined ? Number(part) : disk === "floppy" ? 0 : 1;
  const key = `${disk}:${number}`;
  let f = partitions.get(key);
  if (f === undefined) {
    f = await fatFixture(disk, number);
    partitions.set(key, f);
  }
  return f;
}

/** The oracle entry of `path` (a file or directory), or `undefined`. */
async function entryOf(f: FatFixture, path: string): Promise<OracleEntry | undefined> {
  const norm = normalise(path);
  const slash = norm.lastIndexOf("/");
  const dir = norm.slice(0, slash) || "/";
  const name = norm.slice(slash + 1).toLowerCase();
  return (await mdir(f, dir)).find((e) =>
    shownName(e).toLowerCase() === name || e.shortName.toLowerCase() === name
  );
}

Deno.test("the 02-fat golden's fat commands replay on our fixtures", async () => {
  const golden: GoldenResult[] = JSON.parse(await Deno.readTextFile(GOLDEN)).results;
  const gptRoot = await mdir(await fixtureFor("0:1"), "/");
  const alias = gptRoot.find((e) => e.longName === LONG_NAME)!.shortName;
  const rename = (line: string) =>
    line.replaceAll("virtio", "pvblock").replaceAll(GOLDEN_LONG_NAME, LONG_NAME).replaceAll(
      GOLDEN_ALIAS,
      alias,
    );

  const ctx = fakeContext(fatCommands({ blk, parts: new PartitionLayer() }, { clock: () => 0 }));
  const extracted = new Map<string, string>();
  let replayed = 0;
  try {
    for (const result of golden) {
      const line = rename(result.cmd);
      const argv = words(line);
      const name = argv[0]!;
      if (ABSENT.some((a) => line.includes(a))) continue;
      if (name === "setenv") {
        ctx.env.set(argv[1]!, argv[2]!);
        continue;
      }
      const command: Command | undefined = ctx.commands.get(name);
      if (command === undefined) continue;
      const rc = await command.run(ctx, argv);
      const out = ctx.console.take();
      replayed++;
      if (result.rc !== 0) {
        assert.equal(out, rename(result.out), line);
        assert.equal(rc, result.rc, line);
        continue;
      }
      assert.equal(rc, 0, `${line}: ${out}`);
      const f = await fixtureFor(argv[2]!);
      if (name === "fatls") {
        assert.equal(out, expectedListing(await mdir(f, normalise(argv[3] ?? "/"))), line);
      } else if (name === "fatinfo") {
        const dev = blk.get("pvblock", Number(argv[2]!.split(":")[0]))!;
        const info = await minfo(f);
        const want = `Interface:  pvblock\n  Device ${dev.devnum}: ${formatDevice(dev)}` +
          `Filesystem: ${info.type.slice(0, 5)} "${info.label}"\n`;
        assert.equal(out, want, line);
      } else if (name === "fatsize") {
        assert.equal(out, "");
        const e = await entryOf(f, argv[3]!);
        assert.equal(ctx.env.get("filesize"), (e?.size ?? 0).toString(16), line);
      } else if (name === "fatload") {
        const path = argv[4] ?? ctx.env.get("bootfile")!;
        const addr = Number.parseInt(argv[3] ?? ctx.env.get("loadaddr")!, 16);
        const length = argv[5] === undefined ? 0 : Number.parseInt(argv[5], 16);
        const pos = argv[6] === undefined ? 0 : Number.parseInt(argv[6], 16);
        let host = extracted.get(f.label);
        if (host === undefined) {
          host = await extractAll(f);
          extracted.set(f.label, host);
        }
        const entry = await entryOf(f, path);
        assert.ok(entry, line);
        const parent = normalise(path).replace(/\/[^/]*$/, "");
        const bytes = await Deno.readFile(`${host}${parent}/${shownName(entry)}`);
        const n = pos >= bytes.length
          ? 0
          : length > 0
          ? Math.min(length, bytes.length - pos)
          : bytes.length - pos;
        assert.equal(out, `${n} bytes read in 0 ms\n`, line);
        assert.deepEqual(ctx.memory.read(addr, n), bytes.subarray(pos, pos + n), line);
        assert.equal(ctx.env.get("filesize"), n.toString(16));
        assert.equal(ctx.env.get("fileaddr"), addr.toString(16));
      } else {
        assert.fail(`unexpected command ${line}`);
      }
    }
  } finally {
    for (const dir of extracted.values()) await Deno.remove(dir, { recursive: true });
  }
  assert.ok(replayed > 60, `${replayed} commands replayed`);
});

Deno.test("usage errors and fatinfo without arguments behave as cmd/fat.c", async () => {
  const ctx = fakeContext(fatCommands({ blk, parts: new PartitionLayer() }));
  const run = (argv: string[]) => ctx.commands.get(argv[0]!)!.run(ctx, argv);
  assert.equal(await run(["fatls"]), CMD_RET_USAGE);
  assert.equal(await run(["fatload"]), CMD_RET_USAGE);
  assert.equal(await run(["fatsize", "pvblock", "0:1"]), CMD_RET_USAGE);
  assert.equal(await run(["fatload", "pvblock", "0:1", "xyz", "hello.txt"]), CMD_RET_USAGE);
  assert.equal(ctx.console.take(), "");
  assert.equal(await run(["fatinfo"]), 0);
  assert.equal(ctx.console.take(), "usage: fatinfo <interface> [<dev[:part]>]\n");
  assert.equal(await run(["fatinfo", "pvblock", "9"]), 1);
  assert.equal(ctx.console.take(), "** Bad device specification pvblock 9 **\n");
});

Deno.test("fatload refuses to overwrite reserved memory", async () => {
  const ctx = fakeContext(fatCommands({ blk, parts: new PartitionLayer() }));
  const top = ctx.board.reserved[0]!.start;
  const rc = await ctx.commands.get("fatload")!.run(ctx, [
    "fatload",
    "pvblock",
    "2",
    top.toString(16),
    "hello.txt",
  ]);
  assert.equal(rc, 1);
  assert.equal(
    ctx.console.take(),
    "** Reading file would overwrite reserved memory **\nFailed to load 'hello.txt'\n",
  );
});

globalThis.addEventListener("unload", () => {
  for (const dev of opened) dev.close();
});
