/**
 * Time for the Xen drivers' waits. `SCHEDOP_poll` takes an absolute Xen system time in nanoseconds;
 * on Arm a guest derives it from the architected counter. The guest boundary (`Platform` in
 * machine/platform.ts) has no counter, so the drivers keep their own {@linkcode XenClock}. The default,
 * {@linkcode PollClock}, is virtual like the platform's Xen system time: it starts at 0 and moves to a
 * poll's timeout when that poll came back without an event, exactly when Xen's clock moves there. Runs
 * stay deterministic (no wall clock in any hypercall argument). {@linkcode PERFORMANCE_CLOCK} is the
 * wall-clock alternative.
 *
 * Every wait is bounded twice (xen-spec §10.2 item 21): by the clock and by a number of poll rounds
 * (`timeout / slice`), so a wait ends even when the clock does not move or the platform's poll
 * returns at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boundedWait, PollClock } from "./clock.ts";
 *
 * const clock = new PollClock();
 * let tries = 0;
 * const ok = await boundedWait({
 *   clock,
 *   timeoutMs: 10,
 *   sliceMs: 1,
 *   ready: () => ++tries === 3,
 *   sleep: (until) => {
 *     clock.advanceTo(until); // the poll timed out
 *     return Promise.resolve();
 *   },
 * });
 * assert.ok(ok && tries === 3 && clock.nowNs() === 2_000_000n);
 * ```
 *
 * @module
 */

/** Nanoseconds per millisecond. */
export const NS_PER_MS = 1_000_000n;

/** A monotonic clock in Xen system-time units (nanoseconds). */
export interface XenClock {
  /** The current time in nanoseconds. */
  nowNs(): bigint;
  /** Told that a poll ran until `ns` without an event (virtual clocks move there). */
  advanceTo?(ns: bigint): void;
}

/** The default clock: virtual Xen system time, moved by polls that time out. */
export class PollClock implements XenClock {
  #now = 0n;

  /** The current time in nanoseconds. */
  nowNs(): bigint {
    return this.#now;
  }

  /** Moves forward to `ns` (never back). */
  advanceTo(ns: bigint): void {
    if (ns > this.#now) this.#now = ns;
  }
}

/** A wall clock: `performance.now()` (monotonic, available in Deno and browsers). */
export const PERFORMANCE_CLOCK: XenClock = {
  nowNs: () => BigInt(Math.round(performance.now() * 1e6)),
};

/** What {@linkcode boundedWait} needs. */
export interface BoundedWait {
  /** The clock the deadline is measured on. */
  clock: XenClock;
  /** How long to wait at most. */
  timeoutMs: number;
  /** How long one sleep asks for at most (U-Boot polls every 1 ms). */
  sliceMs: number;
  /** True when the wait is over; checked before the first sleep and after every sleep. */
  ready: () => boolean | Promise<boolean>;
  /** Sleeps until about `untilNs` (absolute); may return early (an event arrived). */
  sleep: (untilNs: bigint) => Promise<unknown>;
}

/**
 * Checks `ready` until it holds, sleeping between checks, for at most `timeoutMs` on the clock and at
 * most `timeoutMs / sliceMs + 1` sleeps. Resolves true when `ready` held, false on timeout.
 */
export async function boundedWait(wait: BoundedWait): Promise<boolean> {
  const slice = Math.max(1, wait.sliceMs);
  const maxSleeps = Math.ceil(Math.max(0, wait.timeoutMs) / slice) + 1;
  const deadline = wait.clock.nowNs() + BigInt(Math.ceil(Math.max(0, wait.timeoutMs))) * NS_PER_MS;
  for (let sleeps = 0;; sleeps++) {
    if (await wait.ready()) return true;
    const now = wait.clock.nowNs();
    if (sleeps >= maxSleeps || now >= deadline) return false;
    const until = now + BigInt(slice) * NS_PER_MS;
    await wait.sleep(until < deadline ? until : deadline);
  }
}
