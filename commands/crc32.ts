/**
 * U-Boot's `crc32 address count [addr]` (cmd/mem.c `do_mem_crc` → common/hash.c `hash_command`,
 * without `CRC32_VERIFY`): prints `crc32 for <start> ... <end> ==> <crc>` and, given a third
 * argument, stores the four CRC bytes there most significant first. That argument is always a hex
 * address (`crc32` passes no `HASH_FLAG_ENV`): `crc32 a n crcvar` writes at 0xc, as the real U-Boot
 * does (nothing is put in the environment). Addresses are not offset by `base`.
 *
 * @module
 */

import { simpleStrtoul } from "../lib/strto.ts";
import { crc32 } from "../lib/crc32.ts";
import { hex, hexAddress } from "../lib/display_options.ts";
import { CMD_RET_SUCCESS, CMD_RET_USAGE, type Command, type CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { accessFault } from "./mem.ts";

const ULONG_MASK = (1n << 64n) - 1n;
/** Bytes read from guest memory per CRC step: large reads are fast, 1 MiB keeps the copy small. */
const CRC_CHUNK_BYTES = 1 << 20;
/** CRC-32 digest length in bytes. */
const CRC32_DIGEST_BYTES = 4;

function _crcOfMemory(ctx: CommandContext, address: bigint, length: bigint): number {
  const fault = accessFault(ctx.memory, address, length, false);
  if (fault) throw fault;
  let crc = 0;
  for (let done = 0n; done < length;) {
    const step = length - done < BigInt(CRC_CHUNK_BYTES) ? Number(length - done) : CRC_CHUNK_BYTES;
    crc = crc32(ctx.memory.read(Number(address + done), step), crc);
    done += BigInt(step);
  }
  return crc;
}

function _run(ctx: CommandContext, argv: string[]): number {
  if (argv.length < 3) return CMD_RET_USAGE;
  const address = simpleStrtoul(argv[1]!, 16).value;
  const length = simpleStrtoul(argv[2]!, 16).value;
  const crc = _crcOfMemory(ctx, address, length);
  const end = (address + length - 1n) & ULONG_MASK;
  ctx.console.puts(`crc32 for ${hexAddress(address)} ... ${hexAddress(end)} ==> ${hex(crc, 8)}\n`);
  if (argv.length > 3) {
    const store = simpleStrtoul(argv[3]!, 16).value;
    const digest = new Uint8Array(CRC32_DIGEST_BYTES);
    new DataView(digest.buffer).setUint32(0, crc, false);
    const fault = accessFault(ctx.memory, store, BigInt(CRC32_DIGEST_BYTES), true);
    if (fault) throw fault;
    ctx.memory.write(Number(store), digest);
  }
  return CMD_RET_SUCCESS;
}

/**
 * The `crc32` command.
 *
 * @example
 * ```ts
 * import { crc32Command } from "./crc32.ts";
 * console.log(crc32Command().maxArgs); // 4
 * ```
 */
export function crc32Command(): Command {
  return defineCommand({ name: "crc32", maxArgs: 4, repeatable: true, run: _run });
}
