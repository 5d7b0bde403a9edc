/**
 * Judges one case from both sides' outcomes, and counts the verdicts. Pure.
 *
 * @module
 */

import type { ConformanceCase } from "./case_file.ts";
import type { AllowList } from "./allow_list.ts";
import type { CaseOutcome } from "./outcome.ts";
import { normaliseOutput } from "./normalise.ts";
import { unifiedDiff } from "./unified_diff.ts";

/** The verdict on one case. */
export type Verdict =
  | { readonly kind: "pass" }
  | { readonly kind: "fail"; readonly diff: readonly string[] }
  | { readonly kind: "allowed"; readonly diff: readonly string[]; readonly reason: string }
  | {
    readonly kind: "pending";
    /** Why: pvboot lacks a command, cannot run at all, or an earlier case of the session was pending. */
    readonly cause: PendingCause;
    /** The command pvboot lacks, why it cannot run, or the id of the earlier pending case. */
    readonly detail: string;
  };

/** Why a case is pending. */
export type PendingCause = "lacks" | "unavailable" | "follows";

/** A pending verdict as a sentence. */
export function pendingReason(cause: PendingCause, detail: string): string {
  switch (cause) {
    case "lacks":
      return `pvboot lacks '${detail}'`;
    case "unavailable":
      return `pvboot unavailable: ${detail}`;
    case "follows":
      return `differs after the pending case ${detail} in its session`;
  }
}

/** pvboot's side when it could not run at all. */
export interface Unavailable {
  /** Why pvboot could not run. */
  readonly unavailable: string;
}

const NO_NEWLINE = "\\ No newline at end of output";
/** U-Boot's answer to an unknown command, and to `help` of one. */
const UNKNOWN_COMMAND_RE =
  /^Unknown command '(.*)' - try 'help'(?: without arguments for list of all known commands)?$/m;

/**
 * The lines compared for one side: the normalised output, a marker when it lacks a final newline,
 * and a last line for how it ended (`$? = N`, `[timed out]`, `[session ended]`,
 * `[continuation prompt]`).
 */
export function renderOutcome(side: "u-boot" | "pvboot", c: ConformanceCase, o: CaseOutcome): string[] {
  const text = normaliseOutput(side, o.output, { addresses: c.flags.addresses });
  const lines = text === "" ? [] : text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  else if (text !== "") lines.push(NO_NEWLINE);
  switch (o.end) {
    case "prompt":
      lines.push(`$? = ${o.rc ?? "?"}`);
      break;
    case "timeout":
      lines.push("[timed out]");
      break;
    case "session-ended":
      lines.push("[session ended]");
      break;
    case "continuation":
      lines.push("[continuation prompt]");
      break;
  }
  return lines;
}

/**
 * Judges a case: pending when pvboot is unavailable, lacks a block interface the case uses, or
 * answers `Unknown command` where U-Boot does not; otherwise pass when the rendered sides are equal, else allowed (listed) or fail.
 *
 * @example
 * ```ts ignore
 * const v = judgeCase(c, outcome("hi\n", 0), outcome("hi\n", 0), parseAllowList(""));
 * ```
 */
export function judgeCase(
  c: ConformanceCase,
  uboot: CaseOutcome,
  pvboot: CaseOutcome | Unavailable,
  allow: AllowList,
  missingInterfaces: ReadonlySet<string> = new Set(),
): Verdict {
  if ("unavailable" in pvboot) return { kind: "pending", cause: "unavailable", detail: pvboot.unavailable };
  for (const iface of missingInterfaces) {
    if (new RegExp(`\\b${iface}\\b`).test(c.command)) {
      return { kind: "pending", cause: "lacks", detail: iface };
    }
  }
  const lacking = c.flags.needs.find((cmd) => missingInterfaces.has(cmd));
  if (lacking !== undefined) return { kind: "pending", cause: "lacks", detail: lacking };
  const ours = renderOutcome("pvboot", c, pvboot);
  const theirs = renderOutcome("u-boot", c, uboot);
  const unknown = UNKNOWN_COMMAND_RE.exec(ours.join("\n"));
  if (unknown !== null && !theirs.includes(unknown[0])) {
    return { kind: "pending", cause: "lacks", detail: unknown[1]! };
  }
  const diff = unifiedDiff(theirs, ours, "u-boot", "pvboot");
  if (diff.length === 0) return { kind: "pass" };
  const entry = allow.lookup(c.id);
  return entry === undefined ? { kind: "fail", diff } : { kind: "allowed", diff, reason: entry.reason };
}

/**
 * Judges the cases of one session in order. Unless `strict`, a case that fails after an earlier
 * case of the same session was pending is itself pending (cause `follows`): the missing command
 * left pvboot in another state (a `load` that did not happen, a `booti` that did not end the
 * session), so the difference says nothing yet. Allowed differences stay allowed.
 */
export function judgeSession(
  cases: readonly ConformanceCase[],
  uboot: ReadonlyMap<string, CaseOutcome>,
  pvboot: ReadonlyMap<string, CaseOutcome> | Unavailable,
  allow: AllowList,
  strict: boolean,
  missingInterfaces: ReadonlySet<string> = new Set(),
): Map<string, Verdict> {
  const verdicts = new Map<string, Verdict>();
  let firstPending: string | null = null;
  for (const c of cases) {
    const theirs = uboot.get(c.id);
    const ours = "unavailable" in pvboot ? pvboot : pvboot.get(c.id);
    if (theirs === undefined || ours === undefined) throw new RangeError(`Cannot judge ${c.id}: no outcome`);
    let v = judgeCase(c, theirs, ours, allow, missingInterfaces);
    if (v.kind === "fail" && firstPending !== null && !strict) {
      v = { kind: "pending", cause: "follows", detail: firstPending };
    }
    if (v.kind === "pending") firstPending ??= c.id;
    verdicts.set(c.id, v);
  }
  return verdicts;
}

/** Counts of each verdict kind. */
export interface Tally {
  /** Equal after normalisation. */
  readonly passed: number;
  /** Different, and listed in the allow-list. */
  readonly allowed: number;
  /** Different and not listed. */
  readonly failed: number;
  /** pvboot lacks the command, or could not run. */
  readonly pending: number;
}

/** Counts verdicts. */
export function tally(verdicts: Iterable<Verdict>): Tally {
  const t = { passed: 0, allowed: 0, failed: 0, pending: 0 };
  for (const v of verdicts) {
    if (v.kind === "pass") t.passed++;
    else if (v.kind === "allowed") t.allowed++;
    else if (v.kind === "fail") t.failed++;
    else t.pending++;
  }
  return t;
}

/**
 * The closing lines: `conformance: P passed, F failed, N pending` (plus allowed differences when
 * there are any), then `N passed, N failed` alone, where allowed differences count as passed and
 * pending cases are not counted.
 */
export function summaryLines(t: Tally): string[] {
  const allowed = t.allowed > 0 ? ` (${t.allowed} allowed differences among them)` : "";
  return [
    `conformance: ${t.passed + t.allowed} passed, ${t.failed} failed, ${t.pending} pending${allowed}`,
    `${t.passed + t.allowed} passed, ${t.failed} failed`,
  ];
}
