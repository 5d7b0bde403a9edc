/**
 * `source` and `iminfo` on script images made by the real `mkimage`, placed in guest memory.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createSession, type Session } from "../session.ts";
import { completeGuestConfig } from "../machine/guest_config.ts";

const SCRIPT = "echo in-script\nsetenv from_script yes\nif true; then echo branch; fi\n";

async function mkimage(text: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/s.cmd`, text);
    const out = await new Deno.Command("mkimage", {
      args: [
        "-A",
        "arm64",
        "-O",
        "linux",
        "-T",
        "script",
        "-C",
        "none",
        "-n",
        "pvboot test",
        "-d",
        `${dir}/s.cmd`,
        `${dir}/s.scr`,
      ],
      env: { SOURCE_DATE_EPOCH: "1700000000" },
      stdout: "null",
    }).output();
    assert.ok(out.success, "mkimage failed");
    return await Deno.readFile(`${dir}/s.scr`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function session(): Promise<{ s: Session; out: () => string }> {
  let text = "";
  const s = await createSession(completeGuestConfig({}), {
    readFile: () => Promise.reject(new Error("no files")),
    sink: (t) => {
      text += t;
    },
  });
  return {
    s,
    out: () => {
      const t = text;
      text = "";
      return t;
    },
  };
}

Deno.test("source runs a mkimage script image with hush and leaves its variables", async () => {
  const { s, out } = await session();
  s.machine.memory.write(0x40200000, await mkimage(SCRIPT));
  assert.equal(await s.typeLine("source 0x40200000"), 0);
  assert.equal(out(), "## Executing script at 40200000\nin-script\nbranch\n");
  await s.typeLine("source; printenv from_script");
  assert.equal(out(), "## Executing script at 40200000\nin-script\nbranch\nfrom_script=yes\n");
});

Deno.test("iminfo prints the header and verifies the checksums", async () => {
  const { s, out } = await session();
  const image = await mkimage(SCRIPT);
  s.machine.memory.write(0x40200000, image);
  assert.equal(await s.typeLine("iminfo 0x40200000"), 0);
  const size = image.length - 64;
  assert.equal(
    out(),
    "\n## Checking Image at 40200000 ...\n   Legacy image found\n   Image Name:   pvboot test\n" +
      "   Created:      2023-11-14  22:13:20 UTC\n   Image Type:   AArch64 Linux Script (uncompressed)\n" +
      `   Data Size:    ${size} Bytes = ${size} Bytes\n   Load Address: 00000000\n   Entry Point:  00000000\n` +
      `   Contents:\n      Image 0: ${SCRIPT.length} Bytes = ${SCRIPT.length} Bytes\n   Verifying Checksum ... OK\n`,
  );
});

Deno.test("a corrupted script is refused with U-Boot's messages, whatever is wrong", async () => {
  const { s, out } = await session();
  const image = await mkimage(SCRIPT);
  const badData = image.slice();
  badData[image.length - 2]! ^= 0xff;
  s.machine.memory.write(0x40200000, badData);
  assert.equal(await s.typeLine("source 0x40200000"), 1);
  assert.equal(out(), "## Executing script at 40200000\nBad data crc\n");
  assert.equal(await s.typeLine("iminfo 0x40200000"), 1);
  assert.match(out(), /Verifying Checksum \.\.\. {4}Bad Data CRC\n$/);
  await s.typeLine("setenv verify n; source 0x40200000; setenv verify");
  assert.match(out(), /^## Executing script at 40200000\nin-script\n/);
  const badHeader = image.slice();
  badHeader[40]! ^= 0xff;
  s.machine.memory.write(0x40200000, badHeader);
  await s.typeLine("source 0x40200000");
  assert.equal(out(), "## Executing script at 40200000\nBad header crc\n");
  s.machine.memory.write(0x40200000, new TextEncoder().encode("not an image"));
  await s.typeLine("source 0x40200000; iminfo 0x40200000");
  assert.equal(
    out(),
    '## Executing script at 40200000\nWrong image format for "source" command\n' +
      "\n## Checking Image at 40200000 ...\nUnknown image format!\n",
  );
});
