/**
 * The pvboot side: runs a case file's sessions through `main.ts --conformance --disk A --disk B ...`
 * (the protocol is in marker_protocol.ts) and records each case's output and `$?`. Each process
 * gets all its lines on standard input at once. A line that gets no marker before its timeout kills
 * that pvboot process (this child only); a process that exits (as after a successful `booti`) ends
 * the session: the remaining cases run in a fresh process, as the real U-Boot's do in a fresh VM.
 * Host I/O, so it uses `Deno.*`.
 *
 * @module
 */

import type { CaseFile, ConformanceCase } from "./case_file.ts";
import { CONFORMANCE_FLAG, findMarked } from "./marker_protocol.ts";
import type { CaseOutcome } from "./outcome.ts";
import { binaryToUtf8, StreamBuffer } from "./stream_buffer.ts";

/** How to start pvboot. */
export interface PvbootOptions {
  /** The program and its leading arguments; the protocol flag and `--disk`s are appended. */
  readonly argv: readonly string[];
  /** Working directory (the repository root). */
  readonly cwd: string;
  /** Extra time allowed for the first line of each process (start-up and module loading). */
  readonly startupMs: number;
  /**
   * Give each process fresh copies of the disk images (in a temporary folder), so that writes
   * (`fatwrite`, `pvblock write`) never reach the fixtures and each session starts from pristine
   * disks, as the real U-Boot's VM does with snapshot=on.
   */
  readonly copyDisks: boolean;
}

/** The repository root. */
export const REPO_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** `deno run -A main.ts` from the repository root. */
export const DEFAULT_PVBOOT_OPTIONS: PvbootOptions = {
  argv: [Deno.execPath(), "run", "-A", "main.ts"],
  cwd: REPO_ROOT,
  startupMs: 60_000,
  copyDisks: true,
};

/** Copies `disks` into `dir` keeping holes (`cp --sparse=always`); returns the copies' paths. */
async function _copyDisks(disks: readonly string[], dir: string): Promise<string[]> {
  const copies = disks.map((_, i) => `${dir}/disk${i}.img`);
  for (const [i, disk] of disks.entries()) {
    const out = await new Deno.Command("cp", { args: ["--sparse=always", disk, copies[i]!] }).output();
    if (!out.success) {
      throw new Error(`Cannot copy disk image: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
  }
  return copies;
}

/** Most standard error text kept per process (for messages). */
const STDERR_TAIL = 2000;
// deno-lint-ignore no-control-regex
const ANSI_ESCAPE_RE = /\x1b\[[0-9;]*m/g;

/** One running pvboot, given all its input lines at start. */
export class PvbootProcess {
  readonly #child: Deno.ChildProcess;
  readonly #out: StreamBuffer;
  readonly #err: StreamBuffer;
  readonly #fed: Promise<void>;
  #firstLine = true;
  readonly #startupMs: number;

  private constructor(child: Deno.ChildProcess, startupMs: number, lines: readonly string[]) {
    this.#child = child;
    this.#out = new StreamBuffer(child.stdout);
    this.#err = new StreamBuffer(child.stderr);
    this.#startupMs = startupMs;
    this.#fed = PvbootProcess.#feed(child.stdin, lines);
  }

  /**
   * Writes every line, then closes standard input: pvboot may read all its input before running
   * (as main.ts does for piped input) or line by line; either way the markers pace the reading.
   */
  static async #feed(stdin: WritableStream<Uint8Array>, lines: readonly string[]): Promise<void> {
    const writer = stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(lines.map((l) => `${l}\n`).join("")));
      await writer.close();
    } catch {
      // The process exited before reading everything (a boot, a crash, or killed): nothing to do.
    }
  }

  /** Starts pvboot with `disks` attached in order (device 0 first) and `lines` as its input. */
  static start(options: PvbootOptions, disks: readonly string[], lines: readonly string[]): PvbootProcess {
    const [program, ...rest] = options.argv;
    const args = [...rest, CONFORMANCE_FLAG, ...disks.flatMap((d) => ["--disk", d])];
    const child = new Deno.Command(program!, {
      args,
      cwd: options.cwd,
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new PvbootProcess(child, options.startupMs, lines);
  }

  /** The end of what the process wrote to standard error. */
  get stderrTail(): string {
    return binaryToUtf8(this.#err.text.slice(-STDERR_TAIL)).replace(ANSI_ESCAPE_RE, "");
  }

  /**
   * Waits for the next line's marker, the process's exit, or the timeout (the first line also gets
   * the start-up allowance). A timeout kills the process.
   */
  async next(timeoutMs: number): Promise<CaseOutcome> {
    const budget = timeoutMs + (this.#firstLine ? this.#startupMs : 0);
    this.#firstLine = false;
    const marked = await this.#out.waitFor((t) => findMarked(t) !== null, budget);
    if (marked) {
      const m = findMarked(this.#out.text)!;
      this.#out.take(m.consumed);
      return { output: binaryToUtf8(m.output), rc: m.rc, end: "prompt" };
    }
    if (this.#out.closed) {
      await this.#out.done;
      return { output: binaryToUtf8(this.#out.take()), rc: null, end: "session-ended" };
    }
    await this.close();
    return { output: binaryToUtf8(this.#out.take()), rc: null, end: "timeout" };
  }

  /** Stops the process (this child only) and waits for its streams to end. */
  async close(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.#child.status;
    await Promise.all([this.#out.done, this.#err.done, this.#fed]);
  }
}

/**
 * Runs one session's cases. A process that ends (a boot, a crash) or times out while running a
 * case ends the session there; the cases after it run in a fresh process with fresh disk copies.
 */
export async function runPvbootSession(
  cases: readonly ConformanceCase[],
  disks: readonly string[],
  options: PvbootOptions = DEFAULT_PVBOOT_OPTIONS,
  log: (line: string) => void = () => {},
): Promise<CaseOutcome[]> {
  const outcomes: CaseOutcome[] = [];
  const scratch = options.copyDisks ? await Deno.makeTempDir({ prefix: "pvboot-conformance-" }) : null;
  try {
    while (outcomes.length < cases.length) {
      const rest = cases.slice(outcomes.length);
      const attached = scratch === null ? disks : await _copyDisks(disks, scratch);
      const proc = PvbootProcess.start(options, attached, rest.map((c) => c.command));
      try {
        for (const c of rest) {
          const result = await proc.next(c.flags.timeoutMs);
          outcomes.push(result);
          // A process that ran ahead and exited still has later markers buffered: only a line
          // without its marker ends the session.
          if (result.end !== "prompt") {
            const tail = proc.stderrTail.trim();
            if (tail !== "") log(`${c.id}: pvboot's standard error:\n${tail}`);
            break;
          }
        }
      } finally {
        await proc.close();
      }
    }
  } finally {
    if (scratch !== null) await Deno.remove(scratch, { recursive: true });
  }
  return outcomes;
}

/** Runs every session of a case file through pvboot; outcomes by case id. */
export async function runPvboot(
  file: CaseFile,
  diskPaths: readonly string[],
  options: PvbootOptions = DEFAULT_PVBOOT_OPTIONS,
  log: (line: string) => void = () => {},
): Promise<Map<string, CaseOutcome>> {
  const outcomes = new Map<string, CaseOutcome>();
  for (const session of file.sessions) {
    const results = await runPvbootSession(session, diskPaths, options, log);
    session.forEach((c, i) => outcomes.set(c.id, results[i]!));
  }
  return outcomes;
}

const PROBE_TEXT = "pvboot-conformance-probe";
/** Time for the probe's line, on top of the start-up allowance. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Whether pvboot speaks the protocol: runs `echo pvboot-conformance-probe` and expects that line
 * and a marker with status 0. Returns null when it does, else why not.
 */
export async function probePvboot(options: PvbootOptions = DEFAULT_PVBOOT_OPTIONS): Promise<string | null> {
  const entry = options.argv.find((a) => a.endsWith(".ts"));
  if (entry !== undefined) {
    try {
      await Deno.stat(`${options.cwd}/${entry}`);
    } catch {
      return `${entry} does not exist`;
    }
  }
  let proc: PvbootProcess;
  try {
    proc = PvbootProcess.start(options, [], [`echo ${PROBE_TEXT}`]);
  } catch (e) {
    return `cannot start ${options.argv[0]}: ${e instanceof Error ? e.message : String(e)}`;
  }
  try {
    const r = await proc.next(PROBE_TIMEOUT_MS);
    if (r.end === "prompt" && r.output.replace(/\r\n/g, "\n") === `${PROBE_TEXT}\n` && r.rc === 0) {
      return null;
    }
    const why = r.end === "prompt"
      ? `unexpected answer ${JSON.stringify(r.output)} (status ${r.rc})`
      : `no ${CONFORMANCE_FLAG} marker (${r.end})`;
    const tail = proc.stderrTail.split("\n").map((l) => l.trim()).filter((l) => l !== "").slice(0, 3).join(
      " | ",
    );
    return tail === "" ? why : `${why}; stderr: ${tail}`;
  } finally {
    await proc.close();
  }
}

/** Block interfaces cases may name; a pvboot without the command of that name lacks the interface. */
export const BLOCK_INTERFACES: readonly string[] = ["pvblock"];

/**
 * Which of {@linkcode BLOCK_INTERFACES} and the commands cases say they need (`needs=`) pvboot lacks
 * (it answers `help <name>` with `Unknown command`): such cases are pending, not failures.
 */
export async function probeMissingInterfaces(
  options: PvbootOptions = DEFAULT_PVBOOT_OPTIONS,
  needed: Iterable<string> = [],
): Promise<Set<string>> {
  const missing = new Set<string>();
  for (const iface of new Set([...BLOCK_INTERFACES, ...needed])) {
    const proc = PvbootProcess.start(options, [], [`help ${iface}`]);
    try {
      const r = await proc.next(PROBE_TIMEOUT_MS);
      if (r.output.includes("Unknown command")) missing.add(iface);
    } finally {
      await proc.close();
    }
  }
  return missing;
}
