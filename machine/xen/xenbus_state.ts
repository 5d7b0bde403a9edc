/**
 * XenBus device states (io/xenbus.h, xen-spec §9): the single decimal digit a frontend and a backend
 * write to their `state` nodes, with a strict parser for values read back from XenStore.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseXenbusState, XenbusState, xenbusStateName } from "./xenbus_state.ts";
 *
 * assert.equal(parseXenbusState("4"), XenbusState.Connected);
 * assert.equal(parseXenbusState("04"), XenbusState.Unknown); // not one digit
 * assert.equal(xenbusStateName(XenbusState.InitWait), "InitWait");
 * ```
 *
 * @module
 */

/** `enum xenbus_state`. */
export const XenbusState = {
  Unknown: 0,
  Initialising: 1,
  InitWait: 2,
  Initialised: 3,
  Connected: 4,
  Closing: 5,
  Closed: 6,
  Reconfiguring: 7,
  Reconfigured: 8,
} as const;

/** One of the {@linkcode XenbusState} values. */
export type XenbusStateValue = typeof XenbusState[keyof typeof XenbusState];

const NAMES: readonly string[] = Object.keys(XenbusState);

/**
 * The state's name (`Connected`), or the number for a value outside the enum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { xenbusStateName } from "./xenbus_state.ts";
 *
 * assert.equal(xenbusStateName(6), "Closed");
 * assert.equal(xenbusStateName(9), "9");
 * ```
 */
export function xenbusStateName(state: number): string {
  return NAMES[state] ?? String(state);
}

/**
 * A `state` node's value as the state it names: exactly one decimal digit from 0 to 8. Anything else
 * (a missing node, junk, `"4 "`) is `Unknown`, as xenbus reads an unreadable state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseXenbusState } from "./xenbus_state.ts";
 *
 * assert.equal(parseXenbusState("3"), 3);
 * assert.equal(parseXenbusState("9"), 0);
 * assert.equal(parseXenbusState(undefined), 0);
 * ```
 */
export function parseXenbusState(value: string | undefined): XenbusStateValue {
  if (value === undefined || !/^[0-8]$/.test(value)) return XenbusState.Unknown;
  return Number(value) as XenbusStateValue;
}
