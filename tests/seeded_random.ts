/**
 * A small seeded generator (mulberry32) for fuzz and random-edit tests: the same seed gives the same
 * sequence on every machine, so a failing case can be replayed.
 *
 * @module
 */

/** Returns a generator of floats in [0, 1) seeded with `seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  };
}
