/**
 * Scheduling of the Dom0 backends (DESIGN.md "Scheduling"): one thread; the backends (xenstored, the
 * console backend, later blkback) run when the guest hands the CPU to the hypervisor (event channel send,
 * `SCHEDOP_poll`, `SCHEDOP_yield`), always in the order they were added, round after round until none
 * makes progress, so a run with the same inputs is the same run. Time is a virtual clock (Xen system time
 * in ns) that only moves when a poll times out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Scheduler } from "./scheduler.ts";
 *
 * const scheduler = new Scheduler();
 * let work = 3;
 * scheduler.add({
 *   name: "counter",
 *   run: () => work-- > 0,
 *   report: () => ({ name: "counter", state: "idle", details: {}, problems: [] }),
 * });
 * assert.equal(scheduler.runBackends(), 3);
 * scheduler.clock.advanceTo(1_000_000n);
 * assert.equal(scheduler.clock.nowNs(), 1_000_000n);
 * ```
 *
 * @module
 */

/** What a backend says about itself for the handoff report. */
export interface BackendReport {
  /** The backend's name (`xenstored`, `console`). */
  readonly name: string;
  /** Its connection state in a word (`connected`, `error`, …). */
  readonly state: string;
  /** Facts worth showing (indexes, counts). */
  readonly details: Readonly<Record<string, string | number | boolean>>;
  /** What a kernel taking over would trip on (empty when the backend is quiescent). */
  readonly problems: readonly string[];
}

/** A Dom0 backend the scheduler runs. */
export interface Backend {
  /** Its name. */
  readonly name: string;
  /** Does whatever work is waiting; true when it made progress (so another round is worth running). */
  run(): boolean;
  /** Its state for the handoff report. */
  report(): BackendReport;
}

/** Rounds of backend runs per hand-over: bounds a ping-pong between backends (spurious progress). */
export const MAX_BACKEND_ROUNDS = 64;
/** Most backends one machine runs. */
export const MAX_BACKENDS = 64;

/** Xen system time, virtual: starts at 0 and moves only when told. */
export class VirtualClock {
  #now = 0n;

  /** The current time in nanoseconds. */
  nowNs(): bigint {
    return this.#now;
  }

  /** Moves the clock forward to `ns` (never backward). */
  advanceTo(ns: bigint): void {
    if (ns > this.#now) this.#now = ns;
  }

  /** Moves the clock forward by `ns`. */
  advanceBy(ns: bigint): void {
    if (ns > 0n) this.#now += ns;
  }
}

/** The backends in their fixed order, and the clock. */
export class Scheduler {
  /** Xen system time. */
  readonly clock = new VirtualClock();
  readonly #backends: Backend[] = [];

  /** Adds a backend after the ones already there. */
  add(backend: Backend): void {
    if (this.#backends.length >= MAX_BACKENDS) {
      throw new RangeError(`Cannot add backend ${backend.name}: already ${MAX_BACKENDS}`);
    }
    this.#backends.push(backend);
  }

  /** The backends, in run order. */
  backends(): readonly Backend[] {
    return this.#backends;
  }

  /** Runs every backend in order, round after round while one made progress; returns the busy rounds. */
  runBackends(): number {
    let busy = 0;
    for (let round = 0; round < MAX_BACKEND_ROUNDS; round++) {
      let progress = false;
      for (const backend of this.#backends) progress = backend.run() || progress;
      if (!progress) break;
      busy++;
    }
    return busy;
  }
}
