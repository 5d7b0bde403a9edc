/**
 * Event channels as U-Boot's drivers/xen/events.c and hypervisor.c handle them: all ports start
 * masked with no handler; a driver binds a handler to a port it allocated (`EVTCHNOP_alloc_unbound`,
 * `bind_interdomain`) or to a port the toolstack gave it; events are found by polling the shared_info
 * bits (`do_hypervisor_callback`), not by interrupts; `SCHEDOP_poll` sleeps until a port is pending.
 *
 * Differences from the real board, on purpose:
 * - Ports this module allocated are *owned*: {@linkcode EventChannels.fini} closes every owned port
 *   still bound, so nothing the loader made stays bound at handoff. Ports only *attached* (the
 *   console's, the store's: the toolstack's) are never closed, only detached (xen-spec §9 item 3).
 * - Dispatch is bounded per call (XSA-391: an event storm cannot keep the guest in the loop).
 *
 * Xen and the backends run only inside a hypercall, so the read-modify-write of shared_info bits
 * here cannot race with them.
 *
 * @example
 * ```ts
 * import { EVENT_DISPATCH_ROUNDS } from "./events.ts";
 * console.log(EVENT_DISPATCH_ROUNDS); // 16
 * ```
 *
 * @module
 */

import type { Hypercalls } from "./hypercall.ts";
import { EVTCHN_2L_NR_CHANNELS, EVTCHN_WORD_BITS, EVTCHN_WORDS, type SharedInfo } from "./hypervisor.ts";
import { boundedWait, NS_PER_MS, PollClock, type XenClock } from "./clock.ts";
import { xenErrnoName } from "./abi.ts";

/** A port's handler, called after its pending bit was cleared. */
export type EventHandler = (port: number) => void;

/** Rounds of `do_hypervisor_callback` one {@linkcode EventChannels.poll} runs at most. */
export const EVENT_DISPATCH_ROUNDS = 16;

/** Options of {@linkcode EventChannels}. */
export interface EventChannelsOptions {
  /** Where U-Boot's warnings go (the console). */
  log?: (text: string) => void;
  /** The clock for poll deadlines. */
  clock?: XenClock;
}

/** A port's binding. */
interface _Binding {
  handler: EventHandler;
  /** True when this module allocated the port (and must close it). */
  owned: boolean;
  /** Events delivered. */
  count: number;
}

/** A failed event-channel hypercall: the negative Xen errno. */
export class EventChannelError extends Error {
  /** The hypercall's return value. */
  readonly rc: number;
  /** Creates the error for `action`. */
  constructor(action: string, rc: number) {
    super(`Cannot ${action}: ${xenErrnoName(rc)} (${rc})`);
    this.name = "EventChannelError";
    this.rc = rc;
  }
}

/** The guest's event channels. */
export class EventChannels {
  /** The hypercall entry. */
  readonly hc: Hypercalls;
  /** The shared_info page. */
  readonly shared: SharedInfo;
  readonly #log: (text: string) => void;
  readonly #clock: XenClock;
  readonly #bound = new Map<number, _Binding>();

  /** Event channels over `shared`; call {@linkcode EventChannels.init} before use. */
  constructor(hc: Hypercalls, shared: SharedInfo, options: EventChannelsOptions = {}) {
    this.hc = hc;
    this.shared = shared;
    this.#log = options.log ?? (() => {});
    this.#clock = options.clock ?? new PollClock();
  }

  /** The clock poll deadlines use. */
  get clock(): XenClock {
    return this.#clock;
  }

  /** `init_events`: every port masked and without a handler. */
  init(): void {
    this.#bound.clear();
    this.shared.maskAll();
  }

  /**
   * `bind_evtchn`: `handler` runs for events on `port`. Prints U-Boot's warning when a handler was
   * already there. The port stays masked (the caller unmasks). An attached port is never closed.
   */
  bind(port: number, handler: EventHandler, owned = false): number {
    this.#check(port);
    const old = this.#bound.get(port);
    if (old) this.#log(`WARN: Handler for port ${port} already registered, replacing\n`);
    this.#bound.set(port, { handler, owned: owned || (old?.owned ?? false), count: 0 });
    return port;
  }

  /**
   * `evtchn_alloc_unbound(remote)`: a new port that domain `remoteDom` may bind, bound to `handler`
   * and owned by this module (closed by {@linkcode EventChannels.unbind} or `fini`). Masked.
   */
  async allocUnbound(remoteDom: number, handler: EventHandler = () => {}): Promise<number> {
    const { rc, value } = await this.hc.evtchnAllocUnbound(remoteDom);
    if (rc !== 0) {
      this.#log(`ERROR: alloc_unbound failed with rc=${rc}`);
      throw new EventChannelError("allocate an unbound event channel", rc);
    }
    return this.bind(value, handler, true);
  }

  /** `EVTCHNOP_bind_interdomain` to `remoteDom`'s `remotePort`: an owned local port. Masked. */
  async bindInterdomain(
    remoteDom: number,
    remotePort: number,
    handler: EventHandler = () => {},
  ): Promise<number> {
    const { rc, value } = await this.hc.evtchnBindInterdomain(remoteDom, remotePort);
    if (rc !== 0) throw new EventChannelError("bind an interdomain event channel", rc);
    return this.bind(value, handler, true);
  }

  /**
   * `unbind_evtchn`: masks and clears the port and drops its handler; an owned port is closed
   * (`EVTCHNOP_close`; a failure prints U-Boot's warning). An attached port is only detached.
   */
  async unbind(port: number): Promise<void> {
    this.#check(port);
    const binding = this.#bound.get(port);
    this.shared.mask(port);
    this.shared.clearPending(port);
    this.#bound.delete(port);
    if (binding && !binding.owned) return;
    const rc = await this.hc.evtchnClose(port);
    if (rc !== 0) this.#log(`WARN: close_port ${port} failed rc=${rc}. ignored\n`);
  }

  /** `notify_remote_via_evtchn`: `EVTCHNOP_send`; resolves to the hypercall's result. */
  send(port: number): Promise<number> {
    return this.hc.evtchnSend(port);
  }

  /** `mask_evtchn`. */
  mask(port: number): void {
    this.shared.mask(port);
  }

  /**
   * `unmask_evtchn`: clears the mask; a port that became pending while masked lost its edge, so the
   * selector bit and upcall flag are raised again and the handlers run now.
   */
  unmask(port: number): void {
    this.shared.clearMask(port);
    if (this.shared.isPending(port) && !this.shared.setPendingSelBit(Math.floor(port / EVTCHN_WORD_BITS))) {
      this.shared.setUpcallPending(true);
      this.poll();
    }
  }

  /** `clear_evtchn`: test-and-clear of the pending bit. */
  clear(port: number): boolean {
    return this.shared.clearPending(port);
  }

  /** Whether `port` is pending (masked or not). */
  isPending(port: number): boolean {
    return this.shared.isPending(port);
  }

  /** Whether a handler is bound to `port`. */
  isBound(port: number): boolean {
    return this.#bound.has(port);
  }

  /** Ports with a handler, ascending. */
  boundPorts(): number[] {
    return [...this.#bound.keys()].sort((a, b) => a - b);
  }

  /** Events delivered to `port` since it was bound. */
  eventCount(port: number): number {
    return this.#bound.get(port)?.count ?? 0;
  }

  /**
   * `eventchn_poll` / `do_hypervisor_callback`: clears `evtchn_upcall_pending`, takes the selector,
   * and for each selected word handles `pending & ~mask` lowest port first, clearing each port's
   * pending bit before calling its handler. Repeats while the upcall flag is set again, at most
   * {@linkcode EVENT_DISPATCH_ROUNDS} rounds. Returns the number of events handled.
   */
  poll(): number {
    let handled = 0;
    for (let round = 0; round < EVENT_DISPATCH_ROUNDS; round++) {
      if (round > 0 && !this.shared.upcallPending()) break;
      this.shared.setUpcallPending(false);
      const sel = this.shared.takePendingSel();
      for (let word = 0; word < EVTCHN_WORDS; word++) {
        if (((sel >> BigInt(word)) & 1n) === 0n) continue;
        // Each pass clears one bit of the word, so a word needs at most 64 passes.
        for (let pass = 0; pass < EVTCHN_WORD_BITS; pass++) {
          const active = this.shared.activeWord(word);
          if (active === 0n) break;
          const bit = _lowestBit(active);
          this.#doEvent(word * EVTCHN_WORD_BITS + bit);
          handled++;
        }
      }
    }
    return handled;
  }

  #doEvent(port: number): void {
    this.shared.clearPending(port);
    const binding = this.#bound.get(port);
    if (!binding) return; // default_handler: nothing to do
    binding.count++;
    binding.handler(port);
  }

  /**
   * Sleeps with `SCHEDOP_poll` until one of `ports` is pending or `ms` have passed, then dispatches
   * handlers ({@linkcode EventChannels.poll}). Resolves true when one of `ports` was pending.
   */
  async pollWithTimeout(ports: readonly number[], ms: number): Promise<boolean> {
    for (const port of ports) this.#check(port);
    const already = ports.some((port) => this.shared.isPending(port));
    if (!already) {
      await this.sleep(ports, this.#clock.nowNs() + BigInt(Math.max(0, Math.ceil(ms))) * NS_PER_MS);
    }
    const hit = ports.some((port) => this.shared.isPending(port));
    this.poll();
    return hit;
  }

  /**
   * Waits until `ready()` holds, clearing `port`'s pending bit before each check and sleeping on it
   * with `SCHEDOP_poll` in slices of `sliceMs`, for at most `timeoutMs`. The check comes first, so
   * something that is already there is found without waiting. Resolves false on timeout.
   */
  waitOn(
    port: number,
    ready: () => boolean | Promise<boolean>,
    timeoutMs: number,
    sliceMs = 1,
  ): Promise<boolean> {
    this.#check(port);
    return boundedWait({
      clock: this.#clock,
      timeoutMs,
      sliceMs,
      ready: () => {
        this.shared.clearPending(port);
        return ready();
      },
      sleep: (until) => this.sleep([port], until),
    });
  }

  /**
   * `SCHEDOP_poll` on `ports` until `untilNs` (absolute Xen system time). When it comes back with
   * none of them pending it timed out, and the clock is told so ({@linkcode XenClock.advanceTo}).
   */
  async sleep(ports: readonly number[], untilNs: bigint): Promise<void> {
    await this.hc.schedPoll(ports, untilNs);
    if (!ports.some((port) => this.shared.isPending(port))) this.#clock.advanceTo?.(untilNs);
  }

  /**
   * `fini_events`: every owned port still bound is reported (U-Boot's `port %d still bound!`) and
   * closed; attached ports are detached without closing. The upcall flag and selector are cleared.
   * Returns the owned ports that had to be closed here.
   */
  async fini(): Promise<number[]> {
    const leftovers: number[] = [];
    for (const port of this.boundPorts()) {
      const binding = this.#bound.get(port);
      if (binding?.owned) {
        this.#log(`port ${port} still bound!\n`);
        leftovers.push(port);
      }
      await this.unbind(port);
    }
    this.shared.setUpcallPending(false);
    this.shared.takePendingSel();
    return leftovers;
  }

  #check(port: number): void {
    if (!Number.isInteger(port) || port <= 0 || port >= EVTCHN_2L_NR_CHANNELS) {
      throw new RangeError(`Cannot use event channel ${port}: outside 1..${EVTCHN_2L_NR_CHANNELS - 1}`);
    }
  }
}

function _lowestBit(word: bigint): number {
  let bit = 0;
  let w = word & -word;
  while (w > 1n) {
    w >>= 1n;
    bit++;
  }
  return bit;
}
