/**
 * What running one case on one side produced. Shared by the real-U-Boot runner, the pvboot runner
 * and the comparison. Pure.
 *
 * @module
 */

/**
 * How a command ended: back at the prompt (with a `$?`), past its timeout, with the session gone
 * (the VM powered off or pvboot exited, as after a successful `booti`), or at hush's continuation
 * prompt (an incomplete line).
 */
export type EndKind = "prompt" | "timeout" | "session-ended" | "continuation";

/** One side's result for one case. */
export interface CaseOutcome {
  /** Everything the command printed, decoded as UTF-8, line endings as they came. */
  readonly output: string;
  /** `$?` after the command, or null when it could not be read. */
  readonly rc: number | null;
  /** How the command ended. */
  readonly end: EndKind;
}

/** Builds an outcome (a helper for tests and runners). */
export function outcome(output: string, rc: number | null, end: EndKind = "prompt"): CaseOutcome {
  return { output, rc, end };
}
