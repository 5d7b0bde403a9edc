/**
 * U-Boot's memory commands (cmd/mem.c): `md`, `mw`, `cp`, `cmp` and `base`, with the size suffixes
 * `.b`, `.w`, `.l`, `.q`. They share one state per session, as U-Boot's statics: the last `md`
 * address, size and length (an empty line continues the dump) and the `base` offset added to every
 * address. Addresses and counts are hex (`hextoul`), arithmetic wraps at 64 bits like `ulong`.
 *
 * Touching memory that is not there raises the platform's {@linkcode DataAbort} at the first byte
 * U-Boot's own loop would have faulted on, after the work it would have done before it; the shell
 * reports it. `mm` and `nm` (interactive) are not here.
 *
 * @module
 */

import { DataAbort, type PhysicalMemory } from "../machine/platform.ts";
import { simpleStrtoul } from "../lib/strto.ts";
import { type DumpWidth, hex, hexAddress, hexdumpLine } from "../lib/display_options.ts";
import {
  CMD_FLAG_REPEAT,
  CMD_RET_FAILURE,
  CMD_RET_SUCCESS,
  CMD_RET_USAGE,
  cmdGetDataSize,
  type Command,
  type CommandContext,
} from "./command.ts";
import { defineCommand } from "./define_command.ts";

const ULONG_MASK = (1n << 64n) - 1n;
/** `DISP_LINE_LEN`: `md` shows 16 bytes per line. */
const DISP_LINE_LEN = 16;
/** `md`'s object count before the first explicit one. */
const DEFAULT_MD_LENGTH = 0x40n;
/**
 * Bytes handled per step by `mw`, `cp` and `cmp`: large enough that a fill or compare of hundreds of
 * MiB costs few calls into guest memory, small enough to keep the scratch buffer cheap.
 */
const CHUNK_BYTES = 1 << 20;
/** Largest length probed for the mapped prefix (beyond it nothing can be mapped in a JS number). */
const MAX_PROBE = BigInt(Number.MAX_SAFE_INTEGER);

/** The names `cmp` gives objects of 1, 2, 4 and 8 bytes. */
const TYPE_NAMES: Readonly<Record<DumpWidth, string>> = {
  1: "byte",
  2: "halfword",
  4: "word",
  8: "double word",
};

/** The memory commands' shared state (U-Boot's `dp_last_*` and `base_address`). */
export interface MemState {
  /** Address the next repeated `md` starts at. */
  lastAddr: bigint;
  /** Object size of the last `md`. */
  lastSize: DumpWidth;
  /** Object count of the last `md`. */
  lastLength: bigint;
  /** Offset added to every address (`base`). */
  base: bigint;
}

function _wrap(value: bigint): bigint {
  return value & ULONG_MASK;
}

/** `hextoul(arg, NULL)` as a 64-bit value. */
function _hex(arg: string): bigint {
  return simpleStrtoul(arg, 16).value;
}

/** A guest address as the memory interface takes it (addresses past 2^53 are unmapped anyway). */
function _num(address: bigint): number {
  return address > MAX_PROBE ? Number.MAX_SAFE_INTEGER : Number(address);
}

/**
 * How many bytes from `address` on are mapped, up to `length`: the offset of the first byte an
 * access of `length` bytes would fault on, or `length` when none would.
 *
 * @example
 * ```ts
 * import { mappedPrefix } from "./mem.ts";
 * import { FlatMemory } from "../tests/fake_context.ts";
 * console.log(mappedPrefix(new FlatMemory(0x1000, 0x100), 0x10f0n, 0x40n)); // 16n
 * ```
 */
export function mappedPrefix(memory: PhysicalMemory, address: bigint, length: bigint): bigint {
  const limit = length < MAX_PROBE ? length : MAX_PROBE;
  if (address > MAX_PROBE || !memory.isMapped(_num(address), 1)) return 0n;
  if (address + limit <= MAX_PROBE && memory.isMapped(_num(address), Number(limit))) return length;
  let good = 1n;
  let bad = limit;
  while (bad - good > 1n) {
    const mid = (good + bad) / 2n;
    if (address + mid <= MAX_PROBE && memory.isMapped(_num(address), Number(mid))) good = mid;
    else bad = mid;
  }
  return good;
}

/**
 * The abort an access of `length` bytes at `address` raises at its first unmapped byte, or
 * `undefined` when all of it is mapped.
 */
export function accessFault(
  memory: PhysicalMemory,
  address: bigint,
  length: bigint,
  write: boolean,
): DataAbort | undefined {
  const prefix = mappedPrefix(memory, address, length);
  return prefix >= length ? undefined : new DataAbort(_num(_wrap(address + prefix)), write);
}

/** The value of one object of `size` bytes at `offset` of `data`, little-endian. */
function _objectAt(data: Uint8Array, offset: number, size: DumpWidth): bigint {
  const view = new DataView(data.buffer, data.byteOffset + offset, size);
  switch (size) {
    case 8:
      return view.getBigUint64(0, true);
    case 4:
      return BigInt(view.getUint32(0, true));
    case 2:
      return BigInt(view.getUint16(0, true));
    default:
      return BigInt(view.getUint8(0));
  }
}

/** `%#0*lx` with width `size`, as U-Boot's printf does it: `0x` always, digits padded to `size - 2`. */
function _alternateHex(value: bigint, size: number): string {
  return "0x" + hex(value, Math.max(size - 2, 0));
}

/** The size suffix of `argv[0]` as an object width, or `undefined` for `.s` and unknown suffixes. */
function _width(command: string): DumpWidth | undefined {
  const size = cmdGetDataSize(command, 4);
  return size === 1 || size === 2 || size === 4 || size === 8 ? size : undefined;
}

function _md(state: MemState, ctx: CommandContext, argv: string[]): number {
  if (argv.length < 2) return CMD_RET_USAGE;
  let addr = state.lastAddr;
  let size = state.lastSize;
  let length = state.lastLength;
  if ((ctx.flag & CMD_FLAG_REPEAT) === 0) {
    const width = _width(argv[0]!);
    if (width === undefined) return CMD_RET_FAILURE;
    size = width;
    addr = _wrap(_hex(argv[1]!) + state.base);
    if (argv.length > 2) length = _hex(argv[2]!);
  }
  const perLine = DISP_LINE_LEN / size;
  let lineAddr = addr;
  for (let left = length; left > 0n;) {
    const objects = left < BigInt(perLine) ? Number(left) : perLine;
    const bytes = objects * size;
    const fault = accessFault(ctx.memory, lineAddr, BigInt(bytes), false);
    if (fault) throw fault;
    const data = ctx.memory.read(_num(lineAddr), bytes);
    ctx.console.puts(hexdumpLine(lineAddr, data, size, objects, perLine).text + "\n");
    lineAddr = _wrap(lineAddr + BigInt(bytes));
    left -= BigInt(objects);
    if (ctx.console.ctrlc()) break;
  }
  state.lastAddr = _wrap(addr + BigInt(size) * length);
  state.lastLength = length;
  state.lastSize = size;
  return CMD_RET_SUCCESS;
}

/** Writes `bytes` bytes of `pattern` repeated, from `address`, faulting where U-Boot would. */
function _fillPattern(memory: PhysicalMemory, address: bigint, pattern: Uint8Array, bytes: bigint): void {
  const size = pattern.length;
  const uniform = pattern.every((b) => b === pattern[0]);
  const needed = bytes < BigInt(CHUNK_BYTES) ? Number(bytes) : CHUNK_BYTES;
  const chunk = new Uint8Array(uniform ? 0 : needed);
  for (let i = 0; i + size <= chunk.length; i += size) chunk.set(pattern, i);
  for (let done = 0n; done < bytes;) {
    const step = bytes - done < BigInt(CHUNK_BYTES) ? Number(bytes - done) : CHUNK_BYTES;
    const at = _wrap(address + done);
    const prefix = mappedPrefix(memory, at, BigInt(step));
    // U-Boot stores whole objects: the object holding the first unmapped byte faults unwritten.
    const writable = Number(prefix) - (Number(prefix) % size);
    if (writable > 0) {
      if (uniform) memory.fill(_num(at), writable, pattern[0]!);
      else memory.write(_num(at), chunk.subarray(0, writable));
    }
    if (writable < step) throw new DataAbort(_num(_wrap(at + BigInt(writable))), true);
    done += BigInt(step);
  }
}

function _mw(state: MemState, ctx: CommandContext, argv: string[]): number {
  if (argv.length < 3 || argv.length > 4) return CMD_RET_USAGE;
  const size = _width(argv[0]!);
  if (size === undefined) return CMD_RET_FAILURE;
  const addr = _wrap(_hex(argv[1]!) + state.base);
  const value = _hex(argv[2]!);
  const count = argv.length === 4 ? _hex(argv[3]!) : 1n;
  // The value truncated to the object size, in memory order (little-endian).
  const scratch = new Uint8Array(8);
  new DataView(scratch.buffer).setBigUint64(0, value, true);
  _fillPattern(ctx.memory, addr, scratch.subarray(0, size), BigInt(size) * count);
  return CMD_RET_SUCCESS;
}

function _cp(state: MemState, ctx: CommandContext, argv: string[]): number {
  if (argv.length !== 4) return CMD_RET_USAGE;
  const size = _width(argv[0]!);
  if (size === undefined) return CMD_RET_FAILURE;
  const src = _wrap(_hex(argv[1]!) + state.base);
  const dst = _wrap(_hex(argv[2]!) + state.base);
  const count = _hex(argv[3]!);
  if (count === 0n) {
    ctx.console.puts("Zero length ???\n");
    return CMD_RET_FAILURE;
  }
  const bytes = _wrap(count * BigInt(size));
  const readable = mappedPrefix(ctx.memory, src, bytes);
  const writable = mappedPrefix(ctx.memory, dst, bytes);
  const done = readable < writable ? readable : writable;
  if (done > 0n) ctx.memory.copy(_num(dst), _num(src), Number(done));
  if (done < bytes) {
    throw readable <= writable
      ? new DataAbort(_num(_wrap(src + done)), false)
      : new DataAbort(_num(_wrap(dst + done)), true);
  }
  return CMD_RET_SUCCESS;
}

function _cmp(state: MemState, ctx: CommandContext, argv: string[]): number {
  if (argv.length !== 4) return CMD_RET_USAGE;
  const size = _width(argv[0]!);
  if (size === undefined) return CMD_RET_FAILURE;
  const type = TYPE_NAMES[size];
  const addr1 = _wrap(_hex(argv[1]!) + state.base);
  const addr2 = _wrap(_hex(argv[2]!) + state.base);
  const count = _hex(argv[3]!);
  const bytes = count * BigInt(size);
  let ngood = 0n;
  let fault: DataAbort | undefined;
  let mismatch: string | undefined;
  for (let done = 0n; done < bytes && !mismatch && !fault;) {
    const step = bytes - done < BigInt(CHUNK_BYTES) ? Number(bytes - done) : CHUNK_BYTES;
    const a = _wrap(addr1 + done);
    const b = _wrap(addr2 + done);
    const prefix1 = mappedPrefix(ctx.memory, a, BigInt(step));
    const prefix2 = mappedPrefix(ctx.memory, b, BigInt(step));
    const readable = Number(prefix1 < prefix2 ? prefix1 : prefix2);
    const whole = readable - (readable % size);
    const data1 = ctx.memory.read(_num(a), whole);
    const data2 = ctx.memory.read(_num(b), whole);
    let i = 0;
    while (i < whole && data1[i] === data2[i]) i++;
    if (i < whole) {
      const offset = i - (i % size);
      ngood += BigInt(offset / size);
      const word1 = _objectAt(data1, offset, size);
      const word2 = _objectAt(data2, offset, size);
      mismatch = `${type} at 0x${hexAddress(a + BigInt(offset))} (${_alternateHex(word1, size)}) != ` +
        `${type} at 0x${hexAddress(b + BigInt(offset))} (${_alternateHex(word2, size)})\n`;
    } else {
      ngood += BigInt(whole / size);
      if (whole < step) {
        fault = prefix1 < BigInt(whole + size)
          ? new DataAbort(_num(_wrap(a + prefix1)), false)
          : new DataAbort(_num(_wrap(b + prefix2)), false);
      }
      done += BigInt(step);
    }
  }
  if (fault) throw fault;
  if (mismatch) ctx.console.puts(mismatch);
  ctx.console.puts(`Total of ${BigInt.asIntN(64, ngood)} ${type}(s) were the same\n`);
  return mismatch ? CMD_RET_FAILURE : CMD_RET_SUCCESS;
}

function _base(state: MemState, ctx: CommandContext, argv: string[]): number {
  if (argv.length > 1) state.base = _hex(argv[1]!);
  ctx.console.puts(`Base Address: 0x${hexAddress(state.base)}\n`);
  return CMD_RET_SUCCESS;
}

/** A fresh state: nothing dumped yet (64 objects of 4 bytes from 0), no offset. */
export function newMemState(): MemState {
  return { lastAddr: 0n, lastSize: 4, lastLength: DEFAULT_MD_LENGTH, base: 0n };
}

/**
 * The memory commands `md`, `mw`, `cp`, `cmp` and `base` of one session, sharing `state`.
 *
 * @example
 * ```ts
 * import { memCommands } from "./mem.ts";
 * console.log(memCommands().map((c) => c.name).join(" ")); // "md mw cp cmp base"
 * ```
 */
export function memCommands(state: MemState = newMemState()): Command[] {
  return [
    defineCommand({ name: "md", maxArgs: 3, repeatable: true, run: (ctx, argv) => _md(state, ctx, argv) }),
    defineCommand({ name: "mw", maxArgs: 4, repeatable: true, run: (ctx, argv) => _mw(state, ctx, argv) }),
    defineCommand({ name: "cp", maxArgs: 4, repeatable: true, run: (ctx, argv) => _cp(state, ctx, argv) }),
    defineCommand({ name: "cmp", maxArgs: 4, repeatable: true, run: (ctx, argv) => _cmp(state, ctx, argv) }),
    defineCommand({
      name: "base",
      maxArgs: 2,
      repeatable: true,
      run: (ctx, argv) => _base(state, ctx, argv),
    }),
  ];
}
