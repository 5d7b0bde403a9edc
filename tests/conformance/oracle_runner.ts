/**
 * The oracle: runs a case file's sessions on the real U-Boot and records each case's output and
 * `$?`, caching the results in `.cache/conformance/` under a hash of everything they depend on (the
 * commands, the disk images' bytes, u-boot.bin, the QEMU arguments, this runner's version).
 * Host I/O, so it uses `Deno.*`.
 *
 * `$?` is read by typing `echo $?` after each command. That would leave `$?` at 0 for the next case,
 * so after a failing command the runner types `false` to put it back to 1 (U-Boot's commands return
 * 0 or 1 as `$?`): a case whose line starts with `echo $?` sees the previous case's status on both
 * sides.
 *
 * @module
 */

import type { CaseFile, ConformanceCase } from "./case_file.ts";
import { COMMAND_NAMES } from "./normalise.ts";
import type { CaseOutcome } from "./outcome.ts";
import { DEFAULT_QEMU_OPTIONS, qemuArgv, QemuUBoot } from "./qemu_uboot.ts";
import type { QemuOptions } from "./qemu_uboot.ts";
import { binaryToUtf8 } from "./stream_buffer.ts";
import { parseStatus } from "./uboot_console.ts";
import { sha256Hex } from "./hashing.ts";

/** Bump when a change here changes what the oracle records (invalidates every cached result). */
export const ORACLE_RUNNER_VERSION = 1;
/** Timeout of the `echo $?` and `false` lines the runner types itself. */
const STATUS_TIMEOUT_MS = 5_000;

/** Converts a UTF-8 string to a binary string (one char per byte) for typing on the console. */
function _utf8ToBinary(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => String.fromCharCode(b)).join("");
}

/** Runs one session (a fresh VM) and returns one outcome per case. */
export async function runOracleSession(
  cases: readonly ConformanceCase[],
  options: QemuOptions,
  log: (line: string) => void = () => {},
): Promise<CaseOutcome[]> {
  const outcomes: CaseOutcome[] = [];
  let vm: QemuUBoot | null = null;
  try {
    for (const c of cases) {
      vm ??= await QemuUBoot.boot(options);
      const line = await vm.sendLine(_utf8ToBinary(COMMAND_NAMES.apply(c.command)), c.flags.timeoutMs);
      if (!line.echoed) log(`warning: ${c.id}: the console did not echo the line as typed`);
      let rc: number | null = null;
      if (line.end === "prompt") {
        const status = await vm.sendLine("echo $?", STATUS_TIMEOUT_MS, 0);
        rc = status.end === "prompt" ? parseStatus(status.output) : null;
        if (rc !== 0) await vm.sendLine("false", STATUS_TIMEOUT_MS, 0);
      }
      outcomes.push({ output: binaryToUtf8(line.output), rc, end: line.end });
      if (!line.alive) {
        await vm.close();
        vm = null;
      }
    }
  } finally {
    await vm?.close();
  }
  return outcomes;
}

/** Where cached oracle results live. */
export const ORACLE_CACHE_DIR = new URL("../../.cache/conformance", import.meta.url).pathname;

/** A cached run of one case file. */
interface _CacheDoc {
  readonly key: string;
  readonly version: number;
  readonly outcomes: Record<string, CaseOutcome>;
}

const _fileHashes = new Map<string, Promise<string>>();

/** SHA-256 of a file's bytes, memoised per path for this process. */
export function fileHash(path: string): Promise<string> {
  let h = _fileHashes.get(path);
  if (h === undefined) {
    h = Deno.readFile(path).then(sha256Hex);
    _fileHashes.set(path, h);
  }
  return h;
}

/**
 * The cache key of a case file's oracle run: the runner version, the QEMU argument template, the
 * hash of u-boot.bin and of each disk image, and every session's commands and timeouts.
 */
export async function oracleCacheKey(file: CaseFile, options: QemuOptions): Promise<string> {
  const material = {
    version: ORACLE_RUNNER_VERSION,
    argv: qemuArgv({ ...options, disks: options.disks.map((_, i) => `disk${i}`) }),
    bios: await fileHash(options.bios),
    disks: await Promise.all(options.disks.map(fileHash)),
    sessions: file.sessions.map((s) => s.map((c) => [c.id, c.command, c.flags.timeoutMs])),
  };
  return await sha256Hex(new TextEncoder().encode(JSON.stringify(material)));
}

/** Removes the area's cached results other than `keep` (earlier versions of its case file). */
async function _pruneOldResults(area: string, keep: string): Promise<void> {
  const pattern = new RegExp(`^${area}-[0-9a-f]{16}\\.json$`);
  for await (const entry of Deno.readDir(ORACLE_CACHE_DIR)) {
    const path = `${ORACLE_CACHE_DIR}/${entry.name}`;
    if (entry.isFile && pattern.test(entry.name) && path !== keep) await Deno.remove(path).catch(() => {});
  }
}

/** Result of {@link runOracle}: outcomes by case id, and whether they came from the cache. */
export interface OracleRun {
  /** Outcome of every case of the file, by id. */
  readonly outcomes: ReadonlyMap<string, CaseOutcome>;
  /** True when nothing had to be run. */
  readonly cached: boolean;
}

/**
 * The real U-Boot's outcomes for every case of `file`, from the cache unless `refresh` or the key
 * changed. `diskPaths` are the fixture images in the file's `@disks` order.
 */
export async function runOracle(
  file: CaseFile,
  diskPaths: readonly string[],
  refresh: boolean,
  log: (line: string) => void = () => {},
  qemu: Omit<QemuOptions, "disks"> = DEFAULT_QEMU_OPTIONS,
): Promise<OracleRun> {
  const options: QemuOptions = { ...qemu, disks: diskPaths };
  const key = await oracleCacheKey(file, options);
  const path = `${ORACLE_CACHE_DIR}/${file.area}-${key.slice(0, 16)}.json`;
  if (!refresh) {
    try {
      const doc = JSON.parse(await Deno.readTextFile(path)) as _CacheDoc;
      if (doc.key === key && doc.version === ORACLE_RUNNER_VERSION) {
        return { outcomes: new Map(Object.entries(doc.outcomes)), cached: true };
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && !(e instanceof SyntaxError)) throw e;
    }
  }
  const outcomes = new Map<string, CaseOutcome>();
  for (const session of file.sessions) {
    const results = await runOracleSession(session, options, log);
    session.forEach((c, i) => outcomes.set(c.id, results[i]!));
  }
  await Deno.mkdir(ORACLE_CACHE_DIR, { recursive: true });
  const doc: _CacheDoc = { key, version: ORACLE_RUNNER_VERSION, outcomes: Object.fromEntries(outcomes) };
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(doc, null, 1) + "\n");
  await Deno.rename(tmp, path);
  await _pruneOldResults(file.area, path);
  return { outcomes, cached: false };
}
