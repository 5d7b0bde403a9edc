/**
 * The allow-list of deliberate differences (tests/conformance/allow-list.tsv): one line per entry,
 * `case-id<TAB>reason`; `#` starts a comment line. A case id may use `*` wildcards (`help/*`). A
 * listed case that differs is "allowed"; an entry that matches no case, or only cases that pass, is
 * reported as stale. Pure.
 *
 * @module
 */

import { globToRegExp } from "./case_file.ts";

/** One allow-list entry. */
export interface AllowEntry {
  /** Case id or glob. */
  readonly pattern: string;
  /** Why the difference is deliberate. */
  readonly reason: string;
  /** 1-based line in the file. */
  readonly line: number;
}

/** The allow-list file does not follow the format. */
export class AllowListSyntaxError extends SyntaxError {
  /**
   * @param line 1-based line number
   * @param problem what is wrong
   */
  constructor(readonly line: number, problem: string) {
    super(`Cannot parse allow-list line ${line}: ${problem}`);
    this.name = "AllowListSyntaxError";
  }
}

const PATTERN_RE = /^[a-z0-9*][a-z0-9._+*/-]*$/;

/**
 * Parses allow-list text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const list = parseAllowList("env/printenv-all\tthe Xen board's default environment differs\n");
 * assert.ok(list.lookup("env/printenv-all") !== undefined);
 * ```
 */
export function parseAllowList(text: string): AllowList {
  const entries: AllowEntry[] = [];
  const seen = new Set<string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) return;
    const tab = line.indexOf("\t");
    if (tab < 0) throw new AllowListSyntaxError(i + 1, "expected case-id<TAB>reason");
    const pattern = line.slice(0, tab).trim();
    const reason = line.slice(tab + 1).trim();
    if (!PATTERN_RE.test(pattern) || !pattern.includes("/")) {
      throw new AllowListSyntaxError(i + 1, `bad case id "${pattern}"`);
    }
    if (reason === "") throw new AllowListSyntaxError(i + 1, `no reason given for "${pattern}"`);
    if (seen.has(pattern)) throw new AllowListSyntaxError(i + 1, `"${pattern}" listed twice`);
    seen.add(pattern);
    entries.push({ pattern, reason, line: i + 1 });
  });
  return new AllowList(entries);
}

/** Parsed allow-list: lookups by case id, and which entries were never needed. */
export class AllowList {
  readonly #matchers: { entry: AllowEntry; re: RegExp }[];

  /** @param entries the entries, in file order (the first match wins) */
  constructor(readonly entries: readonly AllowEntry[]) {
    this.#matchers = entries.map((entry) => ({ entry, re: globToRegExp(entry.pattern) }));
  }

  /** The first entry that covers `caseId`, if any. */
  lookup(caseId: string): AllowEntry | undefined {
    return this.#matchers.find((m) => m.re.test(caseId))?.entry;
  }

  /**
   * Entries that excused no difference: given every case id of the run and the ids that did not
   * pass (differing or pending, before the allow-list was applied), returns the entries matching no
   * case at all (`unknown`) and those whose cases all passed (`unneeded`).
   */
  stale(allIds: readonly string[], notPassingIds: ReadonlySet<string>): {
    unknown: AllowEntry[];
    unneeded: AllowEntry[];
  } {
    const unknown: AllowEntry[] = [];
    const unneeded: AllowEntry[] = [];
    for (const { entry, re } of this.#matchers) {
      const covered = allIds.filter((id) => re.test(id));
      if (covered.length === 0) unknown.push(entry);
      else if (!covered.some((id) => notPassingIds.has(id))) unneeded.push(entry);
    }
    return { unknown, unneeded };
  }
}
