/**
 * `random <addr> <len> [<seed>]` (cmd/mem.c `do_random`): fills memory with U-Boot's own pseudo-random
 * sequence (lib/rand.c: a 32-bit xorshift), words first, then the odd bytes, so a seed gives the same
 * bytes as on the board.
 *
 * @module
 */

import { CMD_RET_USAGE, type Command } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { hextoul } from "../lib/strto.ts";

/** The seed U-Boot substitutes for 0. */
const ZERO_SEED_REPLACEMENT = 0xdeadbeef;
/** Bytes written per guest-memory call (the fill is done in chunks, not word by word). */
const CHUNK_BYTES = 64 * 1024;

/** lib/rand.c's generator: `srand(seed)`, then `rand()` steps a 32-bit xorshift. */
export class URandom {
  #y: number;
  /** `srand(seed)` (the seed is kept as an `unsigned int`). */
  constructor(seed: number) {
    this.#y = seed >>> 0;
  }
  /** `rand()`. */
  next(): number {
    let y = this.#y;
    y = (y ^ (y << 13)) >>> 0;
    y = (y ^ (y >>> 17)) >>> 0;
    y = (y ^ (y << 5)) >>> 0;
    this.#y = y;
    return y;
  }
}

/** `random`. Without a seed it uses the clock, as U-Boot does (`get_timer(0) ^ rand()`). */
export function randomCommand(): Command {
  return defineCommand({
    name: "random",
    maxArgs: 4,
    repeatable: false,
    run(ctx, argv) {
      if (argv.length < 3 || argv.length > 4) return CMD_RET_USAGE;
      const len = Number(hextoul(argv[2]!));
      const addr = Number(hextoul(argv[1]!));
      let seed: number;
      if (argv.length === 4) {
        seed = Number(hextoul(argv[3]!) & 0xffffffffn);
        if (seed === 0) {
          ctx.console.puts("The seed cannot be 0. Using 0xDEADBEEF.\n");
          seed = ZERO_SEED_REPLACEMENT;
        }
      } else {
        seed = (Math.floor(performance.now()) ^ 0x8c4e3b79) >>> 0;
      }
      const rng = new URandom(seed);
      const words = Math.floor(len / 4);
      let at = addr;
      for (let done = 0; done < words;) {
        const n = Math.min(words - done, CHUNK_BYTES / 4);
        const chunk = new Uint8Array(n * 4);
        const view = new DataView(chunk.buffer);
        for (let i = 0; i < n; i++) view.setUint32(i * 4, rng.next(), true);
        ctx.memory.write(at, chunk);
        at += chunk.length;
        done += n;
      }
      const tail = new Uint8Array(len % 4);
      for (let i = 0; i < tail.length; i++) tail[i] = rng.next() & 0xff;
      if (tail.length > 0) ctx.memory.write(at, tail);
      ctx.console.puts(`${len} bytes filled with random data\n`);
      return 0;
    },
  });
}
