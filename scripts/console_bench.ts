/**
 * Console throughput through the PV console ring (the guest's XenConsole → Xen's console backend →
 * the session's sink) against the same bytes handed straight to a sink, measured in the same run.
 * Run with `deno task bench`.
 *
 * @module
 */

import { createSession } from "../session.ts";
import { completeGuestConfig } from "../machine/guest_config.ts";

/** Bytes printed per iteration: 256 KiB in 64-byte lines (md-like output). */
const TOTAL_BYTES = 256 * 1024;
const LINE = `${"0123456789abcdef".repeat(3)}0123456789abcde\n`;
const LINES = TOTAL_BYTES / LINE.length;

let received = 0;
const session = await createSession(completeGuestConfig({}), {
  readFile: () => Promise.reject(new Error("no files")),
  sink: (text) => {
    received += text.length;
  },
});

Deno.bench({
  name: "direct sink (baseline)",
  group: "console 256 KiB",
  baseline: true,
  fn() {
    let n = 0;
    const sink = (t: string) => {
      n += t.length;
    };
    for (let i = 0; i < LINES; i++) sink(LINE);
    if (n !== TOTAL_BYTES) throw new Error("Cannot count the bytes");
  },
});

Deno.bench({
  name: "through the PV console ring",
  group: "console 256 KiB",
  async fn() {
    received = 0;
    for (let i = 0; i < LINES; i++) session.guest.console.puts(LINE);
    await session.guest.flush();
    if (received !== TOTAL_BYTES) throw new Error(`Cannot push the bytes through: ${received}`);
  },
});
