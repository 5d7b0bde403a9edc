/**
 * Start-up benchmarks, each against a baseline measured in the same run:
 * - start to prompt: `main.ts -c true` (the guest machine is built, its device tree generated, U-Boot
 *   started, one command run) against `deno run` of an empty file;
 * - a guest with 4 GiB of RAM declared: the session's resident-memory growth and guest RAM actually
 *   allocated, printed once before the timings.
 *
 * Run with `deno task bench`.
 *
 * @module
 */

import { createSession } from "../session.ts";
import { completeGuestConfig } from "../machine/guest_config.ts";

const deno = Deno.execPath();
const root = new URL("..", import.meta.url).pathname;

async function run(args: string[]): Promise<void> {
  const out = await new Deno.Command(deno, { args, cwd: root, stdout: "null", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`Cannot run ${args.join(" ")}: exit ${out.code}`);
}

Deno.bench({
  name: "deno run empty.ts (baseline)",
  group: "start-to-prompt",
  baseline: true,
  n: 10,
  async fn() {
    await run(["run", "--quiet", "scripts/bench/empty.ts"]);
  },
});

Deno.bench({
  name: "pvboot: boot guest, run `true`",
  group: "start-to-prompt",
  n: 10,
  async fn() {
    await run(["run", "--quiet", "-A", "main.ts", "-c", "true"]);
  },
});

Deno.bench({
  name: "session with 512 MiB RAM (baseline)",
  group: "in-process start",
  baseline: true,
  async fn() {
    await createSession(completeGuestConfig({ memoryMiB: 512 }), {
      readFile: () => Promise.reject(new Error("no files")),
      sink: () => {},
    });
  },
});

Deno.bench({
  name: "session with 4 GiB RAM",
  group: "in-process start",
  async fn() {
    await createSession(completeGuestConfig({ memoryMiB: 4096 }), {
      readFile: () => Promise.reject(new Error("no files")),
      sink: () => {},
    });
  },
});

// Memory use of a guest with 4 GiB declared (printed once; RSS is the process's, so it is a bound).
{
  const before = Deno.memoryUsage().rss;
  const session = await createSession(completeGuestConfig({ memoryMiB: 4096 }), {
    readFile: () => Promise.reject(new Error("no files")),
    sink: () => {},
  });
  const after = Deno.memoryUsage().rss;
  const mib = (n: number) => (n / (1 << 20)).toFixed(1);
  console.log(
    `4 GiB guest: ${session.machine.banks.length} RAM banks, guest RAM allocated ` +
      `${mib(session.machine.memory.allocatedBytes())} MiB, process RSS grew ${mib(after - before)} MiB ` +
      `(declared ${mib(session.machine.banks.reduce((s, b) => s + b.size, 0))} MiB)`,
  );
}
