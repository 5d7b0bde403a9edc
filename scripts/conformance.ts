/**
 * Conformance run: every case of tests/conformance/cases/ on the real U-Boot (under QEMU, results
 * cached) and on pvboot, compared after normalisation; prints a diff per differing case and a
 * summary. Host I/O (files, QEMU, pvboot), so it uses `Deno.*`.
 *
 * Usage: deno task conformance [--refresh] [--only GLOB] [--oracle-only] [--verbose] [--strict]
 *                              [--pvboot CMD]
 *   --refresh       run the real U-Boot again even where cached results exist
 *   --only GLOB     only report cases whose id matches (`fat/*`, `*ls*`); their files still run
 *                   whole on both sides, so each case sees the state earlier cases left
 *   --oracle-only   print the real U-Boot's transcript of the selected cases and stop
 *   --verbose       also list passing and pending cases and show the diffs of allowed differences
 *   --strict        a difference after a pending case of the same session fails too (by default
 *                   it is pending: the missing command left pvboot in another state)
 *   --pvboot CMD    how to start pvboot (default `deno run -A main.ts`), split on spaces
 *
 * Exit status: 0 when no case failed (pending cases do not fail), 1 when some did, 2 on a setup
 * error (missing tools, a malformed case file or allow-list).
 *
 * @module
 */

import { casesOf, filterCases, parseCaseFile } from "../tests/conformance/case_file.ts";
import type { CaseFile, ConformanceCase } from "../tests/conformance/case_file.ts";
import { parseAllowList } from "../tests/conformance/allow_list.ts";
import { runOracle } from "../tests/conformance/oracle_runner.ts";
import {
  DEFAULT_PVBOOT_OPTIONS,
  probeMissingInterfaces,
  probePvboot,
  runPvboot,
} from "../tests/conformance/pvboot_runner.ts";
import type { PvbootOptions } from "../tests/conformance/pvboot_runner.ts";
import { DEFAULT_UBOOT_BIOS, QEMU_BINARY } from "../tests/conformance/qemu_uboot.ts";
import { judgeSession, pendingReason, summaryLines, tally } from "../tests/conformance/verdict.ts";
import type { Verdict } from "../tests/conformance/verdict.ts";
import type { CaseOutcome } from "../tests/conformance/outcome.ts";
import { normaliseOutput } from "../tests/conformance/normalise.ts";
import { ensureFixture } from "../tests/fixtures.ts";

const CONFORMANCE_DIR = new URL("../tests/conformance", import.meta.url).pathname;
const CASES_DIR = `${CONFORMANCE_DIR}/cases`;
const ALLOW_LIST = `${CONFORMANCE_DIR}/allow-list.tsv`;
const CASE_SUFFIX = ".cases";
const INSTALL_HINT = "apt-get install -y qemu-system-arm u-boot-qemu u-boot-tools device-tree-compiler " +
  "dosfstools mtools e2fsprogs gdisk fdisk";

interface _Args {
  refresh: boolean;
  only: string | null;
  oracleOnly: boolean;
  verbose: boolean;
  strict: boolean;
  pvboot: PvbootOptions;
}

class _UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function _parseArgs(argv: readonly string[]): _Args {
  const args: _Args = {
    refresh: false,
    only: null,
    oracleOnly: false,
    verbose: false,
    strict: false,
    pvboot: DEFAULT_PVBOOT_OPTIONS,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new _UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "--refresh") args.refresh = true;
    else if (a === "--only") args.only = value();
    else if (a === "--oracle-only") args.oracleOnly = true;
    else if (a === "--verbose" || a === "-v") args.verbose = true;
    else if (a === "--strict") args.strict = true;
    else if (a === "--pvboot") {
      args.pvboot = { ...DEFAULT_PVBOOT_OPTIONS, argv: value().split(" ").filter((s) => s !== "") };
    } else throw new _UsageError(`unknown argument ${a}`);
  }
  return args;
}

/** A case file as written, and the part of it selected by `--only`. */
interface _Selected {
  readonly full: CaseFile;
  readonly file: CaseFile;
}

async function _loadCaseFiles(only: string | null): Promise<_Selected[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(CASES_DIR)) {
    if (entry.isFile && entry.name.endsWith(CASE_SUFFIX)) names.push(entry.name);
  }
  names.sort();
  const selected: _Selected[] = [];
  for (const name of names) {
    const area = name.slice(0, -CASE_SUFFIX.length);
    const full = parseCaseFile(area, await Deno.readTextFile(`${CASES_DIR}/${name}`));
    const file = only === null ? full : filterCases(full, only);
    if (file.sessions.length > 0) selected.push({ full, file });
  }
  return selected;
}

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function _haveProgram(name: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** One line for the pending cases: how many, and why (the commands pvboot lacks, most cases first). */
function _printPending(verdicts: ReadonlyMap<string, Verdict>) {
  const lacking = new Map<string, number>();
  const other = new Map<string, number>();
  let count = 0;
  for (const v of verdicts.values()) {
    if (v.kind !== "pending") continue;
    count++;
    if (v.cause === "lacks") lacking.set(v.detail, (lacking.get(v.detail) ?? 0) + 1);
    else {
      const why = v.cause === "follows"
        ? "after a pending case in their session"
        : pendingReason(v.cause, v.detail);
      other.set(why, (other.get(why) ?? 0) + 1);
    }
  }
  if (count === 0) return;
  const byCount = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const parts = byCount(other).map(([why, n]) => `${n} ${why}`);
  if (lacking.size > 0) {
    parts.push(`pvboot lacks ${byCount(lacking).map(([c, n]) => `${c} ${n}`).join(", ")}`);
  }
  console.log(`pending: ${count} (${parts.join("; ")})`);
}

const _seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function _printTranscript(cases: readonly ConformanceCase[], outcomes: ReadonlyMap<string, CaseOutcome>) {
  for (const c of cases) {
    const o = outcomes.get(c.id)!;
    const status = o.end === "prompt" ? `rc=${o.rc ?? "?"}` : o.end;
    console.log(`=> ${c.command}    ## ${c.id} ${status}`);
    const text = normaliseOutput("u-boot", o.output, { addresses: false });
    if (text !== "") console.log(text.endsWith("\n") ? text.slice(0, -1) : `${text}\\ (no newline)`);
  }
}

function _printDiff(c: ConformanceCase, label: string, diff: readonly string[]) {
  console.log(`${label} ${c.id}  (cases/${c.area}${CASE_SUFFIX}:${c.line})`);
  console.log(`    => ${c.command}`);
  for (const line of diff) console.log(`    ${line}`);
}

async function main(argv: readonly string[]): Promise<number> {
  const args = _parseArgs(argv);
  const selected = await _loadCaseFiles(args.only);
  const files = selected.map((s) => s.file);
  const allow = parseAllowList(await Deno.readTextFile(ALLOW_LIST));
  const allCases = files.flatMap(casesOf);
  if (allCases.length === 0) {
    console.log(`conformance: no case matches ${args.only ?? "(all)"}`);
    return 2;
  }

  if (!(await _exists(DEFAULT_UBOOT_BIOS)) || !(await _haveProgram(QEMU_BINARY))) {
    console.error(`conformance: need ${QEMU_BINARY} and ${DEFAULT_UBOOT_BIOS}; on Debian: ${INSTALL_HINT}`);
    return 2;
  }

  let t0 = performance.now();
  const fixtureNames = [...new Set(files.flatMap((f) => f.disks))];
  const fixturePaths = new Map<string, string>();
  for (const name of fixtureNames) fixturePaths.set(name, await ensureFixture(name));
  const disksOf = (f: CaseFile) => f.disks.map((d) => fixturePaths.get(d)!);
  const fixtureList = fixtureNames.length > 0 ? fixtureNames.join(", ") : "(none)";
  console.log(`conformance: fixtures ${fixtureList} ready in ${_seconds(performance.now() - t0)}`);

  t0 = performance.now();
  const oracle = new Map<string, CaseOutcome>();
  let ran = 0;
  // The real U-Boot always runs whole files (one cache entry per file, whatever --only selects).
  for (const { full } of selected) {
    const run = await runOracle(full, disksOf(full), args.refresh, (l) => console.log(`u-boot: ${l}`));
    if (!run.cached) ran++;
    for (const [id, o] of run.outcomes) oracle.set(id, o);
  }
  console.log(
    `conformance: u-boot: ${files.length} case files, ${ran} run, ${files.length - ran} cached, ` +
      `${_seconds(performance.now() - t0)}`,
  );
  if (args.oracleOnly) {
    _printTranscript(allCases, oracle);
    return 0;
  }

  t0 = performance.now();
  const unavailable = await probePvboot(args.pvboot);
  const pvboot = new Map<string, CaseOutcome>();
  const missingInterfaces = unavailable === null
    ? await probeMissingInterfaces(args.pvboot, allCases.flatMap((c) => c.flags.needs))
    : new Set<string>();
  if (unavailable === null) {
    // pvboot runs whole files too, so that a selected case sees the state earlier cases left.
    for (const { full } of selected) {
      const outcomes = await runPvboot(full, disksOf(full), args.pvboot, (l) => console.log(`pvboot: ${l}`));
      for (const [id, o] of outcomes) pvboot.set(id, o);
    }
    console.log(`conformance: pvboot: ${files.length} case files in ${_seconds(performance.now() - t0)}`);
  } else {
    console.log(`conformance: pvboot unavailable: ${unavailable}`);
  }

  const verdicts = new Map<string, Verdict>();
  const ours = unavailable === null ? pvboot : { unavailable };
  const wanted = new Set(allCases.map((c) => c.id));
  for (const { full } of selected) {
    for (const session of full.sessions) {
      for (const [id, v] of judgeSession(session, oracle, ours, allow, args.strict, missingInterfaces)) {
        if (wanted.has(id)) verdicts.set(id, v);
      }
    }
  }
  for (const c of allCases) {
    const v = verdicts.get(c.id)!;
    if (v.kind === "fail") _printDiff(c, "FAIL", v.diff);
    else if (v.kind === "allowed" && args.verbose) _printDiff(c, `ALLOWED (${v.reason})`, v.diff);
    else if (v.kind === "pass" && args.verbose) console.log(`pass ${c.id}`);
    else if (v.kind === "pending" && args.verbose) {
      console.log(`pending ${c.id}: ${pendingReason(v.cause, v.detail)}`);
    }
  }
  _printPending(verdicts);

  if (args.only === null && unavailable === null) {
    const notPassing = new Set([...verdicts].filter(([, v]) => v.kind !== "pass").map(([id]) => id));
    const stale = allow.stale(allCases.map((c) => c.id), notPassing);
    for (const e of stale.unknown) console.log(`allow-list line ${e.line}: ${e.pattern} matches no case`);
    for (const e of stale.unneeded) console.log(`allow-list line ${e.line}: ${e.pattern} passes now`);
  }

  const t = tally(verdicts.values());
  for (const line of summaryLines(t)) console.log(line);
  return t.failed > 0 ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    if (e instanceof Error && (e.name === "UsageError" || e instanceof SyntaxError)) {
      console.error(`conformance: ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
}
