/**
 * A stand-in for pvboot's `--conformance` mode, for testing the runner without pvboot: reads lines
 * on standard input and answers with the marker protocol. It knows `echo [-n] ARGS`, `true`,
 * `false`, `sleep SECONDS`, `disks` (prints how many `--disk`s it got and the text of each),
 * `write-disk0 TEXT` (overwrites the first disk), and `handoff` (prints a line and exits, as pvboot
 * does after a successful boot). Anything else is an unknown command. With `--read-all` it reads
 * all of standard input before running anything (as main.ts does with piped input); otherwise it
 * runs each line as it arrives.
 * Host I/O (standard input and output, disk files), so it uses `Deno.*`.
 *
 * Usage: deno run -A tests/conformance/fake_pvboot.ts --conformance [--read-all] [--disk PATH]...
 *
 * @module
 */

import { CONFORMANCE_FLAG, marker } from "./marker_protocol.ts";

const enc = new TextEncoder();
const write = (text: string) => Deno.stdout.writeSync(enc.encode(text));

const disks: string[] = [];
for (let i = 0; i < Deno.args.length; i++) {
  if (Deno.args[i] === "--disk") disks.push(Deno.args[++i] ?? "");
}
if (!Deno.args.includes(CONFORMANCE_FLAG)) {
  console.error("fake_pvboot: needs --conformance");
  Deno.exit(2);
}

function run(line: string): number {
  const [cmd, ...args] = line.trim().split(/\s+/);
  switch (cmd) {
    case "echo": {
      const newline = args[0] !== "-n";
      write(args.slice(newline ? 0 : 1).join(" ") + (newline ? "\n" : ""));
      return 0;
    }
    case "true":
      return 0;
    case "false":
      return 1;
    case "sleep": {
      const until = Date.now() + Number(args[0]) * 1000;
      while (Date.now() < until) {
        // busy wait: a stand-in for a command that does not return in time
      }
      return 0;
    }
    case "disks":
      write(`${disks.length} disks: ${disks.map((d) => Deno.readTextFileSync(d)).join(" ")}\n`);
      return 0;
    case "write-disk0":
      Deno.writeTextFileSync(disks[0]!, args.join(" "), { create: false });
      return 0;
    case "handoff":
      write("\nStarting kernel ...\n\n");
      Deno.exit(0);
      break;
    default:
      write(`Unknown command '${cmd}' - try 'help'\n`);
      return 1;
  }
  return 0;
}

const decoder = new TextDecoder();
let pending = "";
const runComplete = () => {
  let nl: number;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    write(marker(run(line)));
  }
};
const readAll = Deno.args.includes("--read-all");
for await (const chunk of Deno.stdin.readable) {
  pending += decoder.decode(chunk, { stream: true });
  if (!readAll) runComplete();
}
runComplete();
