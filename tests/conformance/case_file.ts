/**
 * Parses conformance case files (tests/conformance/cases/*.cases; the format is described in
 * cases/README.md). Pure: takes the text, returns the cases.
 *
 * @module
 */

/** Per-case options written in the third column. */
export interface CaseFlags {
  /** Apply the `addresses` normalisation: RAM-layout-dependent addresses are masked on both sides. */
  readonly addresses: boolean;
  /** Per-command timeout in milliseconds. */
  readonly timeoutMs: number;
  /**
   * Commands the case depends on without naming them (`test -e` needs the filesystems that `ls`
   * stands for): while pvboot lacks one, the case is pending.
   */
  readonly needs: readonly string[];
}

/** One case: one command line run in its file's session, compared on output and `$?`. */
export interface ConformanceCase {
  /** `<area>/<name>`, unique across all files; what the allow-list names. */
  readonly id: string;
  /** The file's area (its base name without `.cases`). */
  readonly area: string;
  /** The case's own name within the area. */
  readonly name: string;
  /** The command line as pvboot receives it (pvboot's spelling: `pvblock`). */
  readonly command: string;
  /** Options. */
  readonly flags: CaseFlags;
  /** 1-based line number in the file, for messages. */
  readonly line: number;
}

/** A case file: the disks its sessions attach, and its cases split into sessions. */
export interface CaseFile {
  /** The area (file base name). */
  readonly area: string;
  /** Fixture names attached in this order (device 0 first). */
  readonly disks: readonly string[];
  /** Each inner list runs in one fresh U-Boot / pvboot; `@fresh` starts the next. */
  readonly sessions: readonly (readonly ConformanceCase[])[];
}

/** A case file does not follow the format; carries the file area and line. */
export class CaseFileSyntaxError extends SyntaxError {
  /**
   * @param area the file's area
   * @param line 1-based line number
   * @param problem what is wrong
   */
  constructor(readonly area: string, readonly line: number, problem: string) {
    super(`Cannot parse case file ${area}.cases line ${line}: ${problem}`);
    this.name = "CaseFileSyntaxError";
  }
}

/** Disks attached when a file has no `@disks` line. */
export const DEFAULT_DISKS: readonly string[] = ["gpt", "mbr", "floppy"];
/** Per-command timeout when a case does not set one. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Upper bound of `timeout=`, in seconds. */
const MAX_TIMEOUT_S = 300;
/** Upper bound on cases per file (a bound on untrusted input, far above any real file). */
const MAX_CASES_PER_FILE = 5000;

const NAME_RE = /^[a-z0-9][a-z0-9._+-]*$/;
const AREA_RE = /^[a-z0-9][a-z0-9_-]*$/;
const FIELD_SEPARATOR = "\t";

function _parseFlags(area: string, line: number, text: string | undefined): CaseFlags {
  let addresses = false;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const needs: string[] = [];
  for (const flag of (text ?? "").split(/[\s,]+/).filter((f) => f !== "")) {
    const timeout = /^timeout=(\d+)$/.exec(flag);
    const need = /^needs=([a-z0-9]+)$/.exec(flag);
    if (flag === "addresses") addresses = true;
    else if (need !== null) needs.push(need[1]!);
    else if (timeout !== null) {
      const seconds = Number(timeout[1]);
      if (seconds < 1 || seconds > MAX_TIMEOUT_S) {
        throw new CaseFileSyntaxError(area, line, `timeout must be 1..${MAX_TIMEOUT_S} seconds`);
      }
      timeoutMs = seconds * 1000;
    } else throw new CaseFileSyntaxError(area, line, `unknown flag "${flag}"`);
  }
  return { addresses, timeoutMs, needs };
}

/**
 * Parses one case file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const file = parseCaseFile("hush", "true-and\ttrue && echo yes\n");
 * assert.ok(file.sessions[0]?.[0]?.id === "hush/true-and");
 * ```
 */
export function parseCaseFile(area: string, text: string): CaseFile {
  if (!AREA_RE.test(area)) throw new CaseFileSyntaxError(area, 0, `bad area name "${area}"`);
  let disks: readonly string[] | undefined;
  const sessions: ConformanceCase[][] = [[]];
  const seen = new Set<string>();
  let count = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.replace(/\r$/, "");
    if (raw.trim() === "" || raw.startsWith("#")) continue;
    if (raw.startsWith("@")) {
      const [directive, ...args] = raw.trim().split(/\s+/);
      if (directive === "@disks") {
        if (disks !== undefined) throw new CaseFileSyntaxError(area, lineNo, "@disks given twice");
        if (count > 0) throw new CaseFileSyntaxError(area, lineNo, "@disks must come before the cases");
        disks = args.length === 1 && args[0] === "none" ? [] : args;
        if (disks.length === 0 && args[0] !== "none") {
          throw new CaseFileSyntaxError(area, lineNo, "@disks needs fixture names or none");
        }
      } else if (directive === "@fresh") {
        if (args.length > 0) throw new CaseFileSyntaxError(area, lineNo, "@fresh takes no arguments");
        if (sessions[sessions.length - 1]!.length > 0) sessions.push([]);
      } else throw new CaseFileSyntaxError(area, lineNo, `unknown directive "${directive}"`);
      continue;
    }
    const fields = raw.split(FIELD_SEPARATOR);
    if (fields.length < 2 || fields.length > 3) {
      throw new CaseFileSyntaxError(area, lineNo, "expected name<TAB>command[<TAB>flags]");
    }
    const [name, command, flagText] = fields as [string, string, string | undefined];
    if (!NAME_RE.test(name)) throw new CaseFileSyntaxError(area, lineNo, `bad case name "${name}"`);
    if (seen.has(name)) throw new CaseFileSyntaxError(area, lineNo, `case "${name}" defined twice`);
    if (command.trim() === "") throw new CaseFileSyntaxError(area, lineNo, "empty command");
    if (++count > MAX_CASES_PER_FILE) throw new CaseFileSyntaxError(area, lineNo, "too many cases");
    seen.add(name);
    sessions[sessions.length - 1]!.push({
      id: `${area}/${name}`,
      area,
      name,
      command,
      flags: _parseFlags(area, lineNo, flagText),
      line: lineNo,
    });
  }
  return { area, disks: disks ?? DEFAULT_DISKS, sessions: sessions.filter((s) => s.length > 0) };
}

/** Every case of a file in order. */
export function casesOf(file: CaseFile): ConformanceCase[] {
  return file.sessions.flat();
}

/**
 * Keeps only the cases whose id matches `pattern` (`*` matches any run of characters), dropping
 * sessions left empty. The state a kept case relies on may come from a dropped one: filter by area
 * (`fat/*`) to keep sessions whole.
 */
export function filterCases(file: CaseFile, pattern: string): CaseFile {
  const re = globToRegExp(pattern);
  const sessions = file.sessions.map((s) => s.filter((c) => re.test(c.id))).filter((s) => s.length > 0);
  return { ...file, sessions };
}

/** A glob with `*` wildcards as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}
