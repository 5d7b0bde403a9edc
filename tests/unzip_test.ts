/**
 * `unzip` on data compressed by the real `gzip`, placed in guest memory.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createSession } from "../session.ts";
import { completeGuestConfig } from "../machine/guest_config.ts";
import { crc32 } from "../lib/crc32.ts";

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("gzip", { args: ["-9", "-n", "-c"], stdin: "piped", stdout: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(data);
  await w.close();
  const out = await child.output();
  assert.ok(out.success);
  return out.stdout;
}

Deno.test("unzip inflates real gzip data, prints the size and sets filesize; errors in U-Boot's words", async () => {
  let text = "";
  const s = await createSession(completeGuestConfig({}), {
    readFile: () => Promise.reject(new Error("no files")),
    sink: (t) => {
      text += t;
    },
  });
  const take = () => {
    const t = text;
    text = "";
    return t;
  };
  const data = new Uint8Array(300_000).map((_, i) => (i * 31 + (i >> 9)) & 0xff);
  s.machine.memory.write(0x44000000, await gzip(data));
  assert.equal(await s.typeLine("unzip 0x44000000 0x40400000; printenv filesize"), 0);
  assert.equal(take(), `Uncompressed size: 300000 = 0x493E0\nfilesize=493e0\n`);
  assert.equal(crc32(s.machine.memory.read(0x40400000, data.length)), crc32(data));
  assert.equal(await s.typeLine("unzip 0x44000000 0x40400000 0x1000"), 1);
  assert.equal(take(), "Error: inflate() returned -5\n");
  s.machine.memory.write(0x44000000, new TextEncoder().encode("plain text, not gzip"));
  assert.equal(await s.typeLine("unzip 0x44000000 0x40400000"), 1);
  assert.equal(take(), "Error: Bad gzipped data\n");
});
