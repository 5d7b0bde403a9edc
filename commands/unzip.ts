/**
 * `unzip srcaddr dstaddr [dstsize]` (cmd/unzip.c): gunzip a memory region, print the size and set
 * `filesize`.
 *
 * @module
 */

import { CMD_RET_USAGE, type Command } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { hextoul } from "../lib/strto.ts";
import { gunzip, GunzipError } from "../lib/gunzip.ts";

/** `unzip`. */
export function unzipCommand(): Command {
  return defineCommand({
    name: "unzip",
    maxArgs: 4,
    repeatable: true,
    run(ctx, argv) {
      if (argv.length < 3) return CMD_RET_USAGE;
      const src = Number(hextoul(argv[1]!));
      const dst = Number(hextoul(argv[2]!));
      const dstMax = argv.length === 4 ? Number(hextoul(argv[3]!)) : Number.MAX_SAFE_INTEGER;
      const size = gunzip(ctx.memory, src, dst, dstMax);
      if (size instanceof GunzipError) {
        ctx.console.puts(size.message);
        return 1;
      }
      ctx.console.puts(`Uncompressed size: ${size} = 0x${size.toString(16).toUpperCase()}\n`);
      ctx.env.setHex("filesize", size);
      return 0;
    },
  });
}
