import assert from "node:assert/strict";
import { partCommand } from "./part.ts";
import { CMD_RET_USAGE, type Command, printUsage } from "./command.ts";
import { fakeContext } from "../tests/fake_context.ts";
import { ensureFixture } from "../tests/fixtures.ts";
import { HostFileBlockDevice } from "../tests/host_file_block_device.ts";
import { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";
import { PartitionLayer } from "../disk/part.ts";
import { partx } from "../disk/_partx.ts";
import { gptDisk, LINUX_TYPE } from "../disk/_test_disks.ts";
import partGolden from "../tests/reference/01-part.json" with { type: "json" };

const CORPUS_LAYOUT = new URL("../disk/testdata/corpus_layout_partitions.txt", import.meta.url);

/** A partition's place: what the golden's numbers are made of. */
interface Extent {
  readonly start: bigint;
  readonly end: bigint;
  readonly size: bigint;
  readonly name: string;
}
type Layout = Map<number, Extent>;

/** The corpus disks the golden was recorded on, from their `sgdisk -p` and `sfdisk -d` listings. */
async function corpusLayouts(): Promise<[Layout, Layout]> {
  const text = await Deno.readTextFile(CORPUS_LAYOUT);
  const gptSection = text.slice(text.indexOf("### sgdisk -p gpt.img"), text.indexOf("### sgdisk -i 1"));
  const gpt: Layout = new Map();
  for (const m of gptSection.matchAll(/^ +(\d+) +(\d+) +(\d+) +\S+ \S+ +\S+ +(\S*)$/gm)) {
    const [start, end] = [BigInt(m[2]!), BigInt(m[3]!)];
    gpt.set(Number(m[1]), { start, end, size: end - start + 1n, name: m[4]! });
  }
  const mbr: Layout = new Map();
  for (const m of text.matchAll(/mbr\.img(\d+) : start= *(\d+), size= *(\d+)/g)) {
    const [start, size] = [BigInt(m[2]!), BigInt(m[3]!)];
    mbr.set(Number(m[1]), { start, end: start + size - 1n, size, name: "" });
  }
  assert.equal(gpt.size, 3, "corpus GPT layout parsed");
  assert.equal(mbr.size, 4, "corpus MBR layout parsed");
  return [gpt, mbr];
}

/** A fixture's layout as partx reads it. */
async function fixtureLayout(image: string): Promise<Layout> {
  return new Map((await partx(image, 512)).map((r) => [r.nr, { ...r, size: r.sectors }]));
}

/** The guest of the golden: pvblock 0-2 are the gpt, mbr and floppy fixtures. */
async function goldenGuest() {
  const images = await Promise.all(["gpt", "mbr", "floppy"].map((n) => ensureFixture(n)));
  const blk = new BlockRegistry();
  const devices = await Promise.all(images.map((path, devnum) => HostFileBlockDevice.open(path, { devnum })));
  for (const d of devices) blk.register(d);
  const command = partCommand(blk, new PartitionLayer());
  const ctx = fakeContext([command]);
  return { images, devices, command, ctx };
}

/** Runs `argv` as the shell does (usage printed for CMD_RET_USAGE) and returns [rc, output]. */
async function run(
  command: Command,
  ctx: ReturnType<typeof fakeContext>,
  argv: string[],
): Promise<[number, string]> {
  let rc = await command.run(ctx, argv);
  if (rc === CMD_RET_USAGE) rc = printUsage(ctx.console, command);
  return [rc, ctx.console.take()];
}

const hex = (v: bigint, digits = 0) => v.toString(16).padStart(digits, "0");

Deno.test("part reproduces the 01-part golden on the fixtures, numbers mapped from the corpus layout", async () => {
  const corpus = await corpusLayouts();
  const { images, devices, command, ctx } = await goldenGuest();
  try {
    const fixture = [await fixtureLayout(images[0]!), await fixtureLayout(images[1]!)];
    /** The partition a `<dev> <part>` pair of the golden names, in corpus and fixture terms. */
    const extents = (dev: number, part: string): [Extent, Extent] => {
      const byName = [...corpus[dev]!].find(([, e]) => e.name === part)?.[0];
      const n = byName ?? Number(part);
      const c = corpus[dev]!.get(n);
      const f = fixture[dev]!.get(n);
      assert.ok(c && f, `partition ${part} of device ${dev} in both layouts`);
      return [c, f];
    };
    /** Variables set from the layout: their value in the corpus and in the fixture. */
    const layoutVars = new Map<string, [string, string]>();
    let checked = 0;
    for (const result of partGolden.results) {
      const argv = result.cmd.replaceAll("virtio", "pvblock").split(/\s+/);
      if (argv[0] === "echo") {
        // `echo ${a} ${b}` / `echo "[${a}]"`: read each variable's value off the golden's output.
        const template = result.cmd.slice("echo ".length).replaceAll('"', "");
        const names = [...template.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!);
        const pattern = template.split(/\$\{\w+\}/).map((s) => s.replace(/[[\]]/g, "\\$&")).join("(.*?)");
        const values = new RegExp(`^${pattern}\n$`).exec(result.out);
        assert.ok(values, result.cmd);
        names.forEach((name, i) => {
          const golden = values[i + 1]!;
          const mapped = layoutVars.get(name);
          if (mapped) assert.equal(golden, mapped[0], `${name} in the golden is the corpus value`);
          assert.equal(ctx.env.get(name) ?? "", mapped ? mapped[1] : golden, `${result.cmd}: ${name}`);
        });
        checked++;
        continue;
      }
      if (argv[3]?.split(":")[0] === "3") continue; // the htree disk: no partition fixture
      if (argv[1] === "types") continue; // the qemu build also has ISO (checked below)
      let expected = result.out.replaceAll("virtio", "pvblock").replaceAll("VirtIO", "PV BLOCK");
      const sub = argv[1];
      const dev = Number(argv[3]);
      if (sub === "list" && argv.length === 4 && result.rc === 0 && dev <= 1) {
        expected = expected.split("\n").map((line) => {
          const gpt = /^( *(\d+)\t)0x([0-9a-f]+)\t0x([0-9a-f]+)(\t.*)$/.exec(line);
          if (gpt && dev === 0) {
            const [c, f] = extents(0, gpt[2]!);
            assert.deepEqual([BigInt(`0x${gpt[3]}`), BigInt(`0x${gpt[4]}`)], [c.start, c.end]);
            return `${gpt[1]}0x${hex(f.start, 8)}\t0x${hex(f.end, 8)}${gpt[5]}`;
          }
          const dos = /^( *(\d+))\t(\d+) *\t(\d+) *(\t.*)$/.exec(line);
          if (dos && dev === 1) {
            const [c, f] = extents(1, dos[2]!);
            assert.deepEqual([BigInt(dos[3]!), BigInt(dos[4]!)], [c.start, c.size]);
            return `${dos[1]}\t${String(f.start).padEnd(10)}\t${String(f.size).padEnd(10)}${dos[5]}`;
          }
          return line;
        }).join("\n");
      }
      if ((sub === "start" || sub === "size") && result.rc === 0) {
        const [c, f] = extents(dev, argv[4]!);
        const [cv, fv] = sub === "start" ? [hex(c.start), hex(f.start)] : [hex(c.size), hex(f.size)];
        if (argv.length === 6) layoutVars.set(argv[5]!, [cv, fv]);
        else {
          assert.equal(expected, `${cv}\n`);
          expected = `${fv}\n`;
        }
      }
      const [rc, out] = await run(command, ctx, argv);
      assert.equal(out, expected, result.cmd);
      assert.equal(rc, result.rc, `${result.cmd}: status`);
      checked++;
    }
    // Everything but `part types` and the htree disk's line.
    assert.equal(checked, partGolden.results.length - 2);
  } finally {
    for (const d of devices) d.close();
  }
});

Deno.test("part types lists the drivers tried, EFI first (the qemu build adds ISO)", async () => {
  const { command, ctx, devices } = await goldenGuest();
  devices.forEach((d) => d.close());
  assert.deepEqual(await run(command, ctx, ["part", "types"]), [0, "Supported partition tables: EFI, DOS\n"]);
  const none = partCommand(new BlockRegistry(), new PartitionLayer([]));
  assert.deepEqual(await run(none, ctx, ["part", "types"]), [0, "Supported partition tables: <none>\n"]);
  const golden = partGolden.results.find((r) => r.cmd === "part types");
  assert.equal(golden?.out, "Supported partition tables: EFI, DOS, ISO\n");
});

/** A guest with one GPT disk: p1 "a" (legacy-bootable), p2 "b". */
function smallGuest() {
  const { disk } = gptDisk({
    lba: 200,
    entries: [
      {
        type: LINUX_TYPE,
        guid: "5a1e0001-0000-4000-8000-000000000001",
        start: 40n,
        end: 49n,
        name: "a",
        attrs: 4n,
      },
      { type: LINUX_TYPE, guid: "5a1e0002-0000-4000-8000-000000000002", start: 50n, end: 99n, name: "b" },
    ],
  });
  const blk = new BlockRegistry();
  blk.register(new MemoryBlockDevice({ devnum: 0, lba: 200 }, disk.bytes));
  const command = partCommand(blk);
  return { command, ctx: fakeContext([command]) };
}

Deno.test("part list takes -bootable before the variable only; other options are usage errors", async () => {
  const { command, ctx } = smallGuest();
  assert.deepEqual(await run(command, ctx, ["part", "list", "pvblock", "0", "-bootable", "v"]), [0, ""]);
  assert.equal(ctx.env.get("v"), "1");
  assert.deepEqual(await run(command, ctx, ["part", "list", "pvblock", "0", "v"]), [0, ""]);
  assert.equal(ctx.env.get("v"), "1 2");
  const [rc, out] = await run(command, ctx, ["part", "list", "pvblock", "0", "-foo", "v"]);
  assert.equal(rc, 1);
  assert.ok(out.startsWith("Unknown option -foo\npart - disk partition related commands\n"));
  assert.equal((await run(command, ctx, ["part", "list", "pvblock", "0", "-bootable"]))[0], 1);
  assert.equal((await run(command, ctx, ["part", "list", "pvblock", "0", "v", "w"]))[0], 1);
  assert.deepEqual(await run(command, ctx, ["part", "list", "pvblock", "x"]), [
    1,
    "** Bad device specification pvblock x **\n",
  ]);
});

Deno.test("an empty list deletes the variable, as env_set does with an empty value", async () => {
  const { command, ctx } = smallGuest();
  ctx.env.set("v", "old");
  await run(command, ctx, ["part", "list", "pvblock", "0", "-bootable", "-bootable", "v"]);
  assert.equal(ctx.env.get("v"), "1");
  const blk = new BlockRegistry();
  blk.register(new MemoryBlockDevice({ devnum: 0, lba: 8 }));
  await run(partCommand(blk), ctx, ["part", "list", "pvblock", "0", "v"]);
  assert.equal(ctx.env.has("v"), false);
});

Deno.test("part start/size/number take a base-0 number or a name", async () => {
  const { command, ctx } = smallGuest();
  assert.deepEqual(await run(command, ctx, ["part", "start", "pvblock", "0", "0x2"]), [0, "32\n"]);
  assert.deepEqual(await run(command, ctx, ["part", "size", "pvblock", "0", "b"]), [0, "32\n"]);
  assert.deepEqual(await run(command, ctx, ["part", "start", "pvblock", "0", "010"]), [1, ""]); // octal 8
  assert.deepEqual(await run(command, ctx, ["part", "number", "pvblock", "0", "2"]), [0, "0x2\n"]);
  assert.deepEqual(await run(command, ctx, ["part", "number", "pvblock", "0", "a", "n"]), [0, ""]);
  assert.equal(ctx.env.get("n"), "0x1");
  // A UUID is a name to 2023.01 (later versions look UUIDs up).
  assert.deepEqual(
    await run(command, ctx, ["part", "start", "pvblock", "0", "5a1e0001-0000-4000-8000-000000000001"]),
    [
      1,
      "",
    ],
  );
  assert.deepEqual(await run(command, ctx, ["part", "start", "pvblock", "9", "1"]), [1, ""]);
  assert.equal((await run(command, ctx, ["part", "start", "pvblock", "0"]))[0], 1);
  assert.equal((await run(command, ctx, ["part", "start", "pvblock", "0", "1", "v", "w"]))[0], 1);
});

Deno.test("subcommands match exactly; 2023.01 has no part name", async () => {
  const { command, ctx } = smallGuest();
  for (const sub of ["li", "name", "LIST", "set"]) {
    const [rc, out] = await run(command, ctx, ["part", sub, "pvblock", "0", "1"]);
    assert.equal(rc, 1, sub);
    assert.ok(out.startsWith("part - disk partition related commands\n\nUsage:\npart uuid"), sub);
  }
  assert.equal(command.maxArgs, 64);
  assert.equal(command.repeatable, true);
});
