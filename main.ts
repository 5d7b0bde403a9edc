/**
 * pvboot's command line: `deno task shell [flags] [SCRIPT]`.
 *
 * Interactive at a terminal (prompt `=> `, line editing, history, tab completion, Ctrl-C);
 * otherwise it runs `-c 'cmd; cmd'`, a plain-text script file, or standard input line by line,
 * printing exactly what the commands print, and exits with the last command's status.
 *
 * @module
 */

import { CLI_USAGE, configFromArgs } from "./cli_args.ts";
import { createSession, runLines, type Session } from "./session.ts";
import { formatHandoffRecord } from "./boot/handoff.ts";
import { formatHandoffReport } from "./machine/xen/handoff.ts";
import { fromByteString, toByteString } from "./shell/session_console.ts";
import { runRepl } from "./host/repl.ts";
import { openHostDiskImage } from "./machine/xen/host_disk_image.ts";

const CONFORMANCE_FLAG = "--conformance";
const CONFORMANCE_MARK = (rc: number) => `\x00PVBOOT-RC ${rc}\x00\n`;

function _writeOut(text: string): void {
  const bytes = fromByteString(text);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

async function _readLines(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  let total = 0;
  for (const c of chunks) total += c.length;
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  let text = "";
  for (const b of all) text += String.fromCharCode(b);
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}

async function main(): Promise<number> {
  // `--conformance`: after each input line, a marker with `$?` (for the conformance harness).
  const args = Deno.args.filter((a) => a !== CONFORMANCE_FLAG);
  const conformance = args.length !== Deno.args.length;
  let parsed;
  try {
    parsed = await configFromArgs(args, { readFile: (path) => Deno.readFile(path) });
  } catch (e: unknown) {
    console.error(`pvboot: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  if (parsed.help) {
    console.log(CLI_USAGE);
    return 0;
  }
  for (const w of parsed.warnings) console.error(`pvboot: ${w}`);
  const interactive = parsed.command === undefined && parsed.script === undefined && Deno.stdin.isTerminal();
  let session;
  try {
    session = await createSession(parsed.config, {
      readFile: (path) => Deno.readFile(path),
      openDisk: (disk) =>
        openHostDiskImage(disk.target, {
          readOnly: disk.access === "ro",
          ...(disk.sectorSize ? { sectorSize: disk.sectorSize } : {}),
        }),
      sink: _writeOut,
      trace: parsed.trace ?? [],
      traceSink: (line) => Deno.stderr.writeSync(new TextEncoder().encode(line)),
      banner: interactive,
    });
  } catch (e: unknown) {
    console.error(`pvboot: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const mark = conformance ? (rc: number) => _writeOut(CONFORMANCE_MARK(rc)) : undefined;
  let status: number;
  if (parsed.command !== undefined) {
    status = await runLines(session, toByteString(parsed.command).split("\n"), mark);
  } else if (parsed.script !== undefined) {
    const file = await Deno.open(parsed.script);
    status = await runLines(session, await _readLines(file.readable), mark);
  } else if (!interactive) {
    status = await runLines(session, await _readLines(Deno.stdin.readable), mark);
  } else {
    status = await runRepl(session, _writeOut);
  }
  return _reportHandoff(session) ?? status;
}

/** Exit status of a hand-over the platform found unclean (grants, ports or backends left). */
const HANDOFF_UNCLEAN = 3;

/**
 * After a `booti` hand-over: prints what U-Boot handed Linux and the platform's check on stderr, and
 * gives the exit status (0 clean, {@linkcode HANDOFF_UNCLEAN} otherwise); `undefined` without one.
 */
function _reportHandoff(session: Session): number | undefined {
  const handoff = session.handoff;
  if (!handoff) return undefined;
  const lines = [...formatHandoffRecord(handoff.record), ...formatHandoffReport(handoff.report)];
  console.error(lines.join("\n"));
  return handoff.report.problems.length === 0 ? 0 : HANDOFF_UNCLEAN;
}

if (import.meta.main) {
  Deno.exit(await main());
}
