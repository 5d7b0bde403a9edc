/**
 * `fdt` as U-Boot 2023.01 has it (cmd/fdt.c): the working FDT in guest memory, printed and edited
 * through lib/fdt with libfdt's semantics and U-Boot's exact output.
 *
 * The subcommands are a table in U-Boot's order, each recognised as U-Boot does: by the first
 * characters of `argv[1]` (`ad`dr, `mo`ve, `mk`node, `s`et, `g`et, `p`rint, `l`ist, `rm`, `h`eader,
 * `boo`tcpu, `me`mory, `rs`vmem, `cho`sen, `re`size; `sys`temsetup only in the xenguest build, which
 * sets `OF_SYSTEM_SETUP`). Neither build has `apply` (`OF_LIBFDT_OVERLAY`) or `boardsetup`;
 * `checksign` (qemu_arm64's `FIT_SIGNATURE`) is not here: pvboot has no FIT support, so it prints the
 * usage as the xenguest build does.
 *
 * Every subcommand but `addr` needs a working FDT. The blob is read from guest memory for each
 * command (so `mw` over it is seen), edited in a buffer and written back: `totalsize` is the space
 * limit, so `fdt set` on a blob fresh from dtc fails with FDT_ERR_NOSPACE until `fdt resize`.
 *
 * Where U-Boot returns a libfdt error code as the command status (`rm`, `memory`, `rsvmem`), -1
 * (FDT_ERR_NOTFOUND) is `CMD_RET_USAGE`, so the usage follows the message, as on the real board; any
 * other code is a plain failure. Where U-Boot reads an argument that is not there (`argv[argc]` is
 * NULL), pvboot reads guest address 0 as the board does: on a Xen guest that is a data abort.
 *
 * @module
 */

import {
  CMD_RET_FAILURE,
  CMD_RET_SUCCESS,
  CMD_RET_USAGE,
  type Command,
  type CommandContext,
} from "./command.ts";
import { defineCommand } from "./define_command.ts";
import { HELP_TEXT } from "./help_text.ts";
import { versionString } from "./version.ts";
import type { BoardProfileName } from "../board/board_info.ts";
import { EnvError } from "../env/environment.ts";
import { DataAbort } from "../machine/platform.ts";
import { hex } from "../lib/display_options.ts";
import { hexToNumber, simpleStrtoul } from "../lib/strto.ts";
import {
  Fdt,
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_ERR_BADVERSION,
  FDT_ERR_NOSPACE,
  FDT_HEADER,
  FDT_HEADER_FIELDS,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_NOP,
  FDT_PROP,
  FdtError,
  type FdtHeaderField,
  type FdtProperty,
} from "../lib/fdt/mod.ts";
import { FDT_FIRST_SUPPORTED_VERSION } from "../lib/fdt/constants.ts";
import {
  FDT_MAX_BLOB_BYTES,
  mappedLength,
  readFdtBlob,
  setWorkingFdtAddr,
  WorkingFdtState,
  writeFdtBlob,
} from "../boot/working_fdt.ts";
import { fdtChosen, fdtFixupMemory, fdtInitrd } from "../boot/fdt_support.ts";

/** `fdt`'s maxargs (U_BOOT_CMD(fdt, 255, 0, ...)). */
const FDT_MAXARGS = 255;
/** `MAX_LEVEL`: how deeply `fdt print` nests before "Nested too deep". */
const MAX_LEVEL = 32;
/** `SCRATCHPAD`: bytes of `fdt set`'s static value buffer; a longer existing value is refused. */
const SCRATCHPAD = 1024;
/** Bytes read from address 0 when U-Boot dereferences a missing argument (`CONFIG_SYS_CBSIZE`). */
const NULL_STRING_LIMIT = 1024;
/** `%p` on arm64: 16 zero-padded hex digits. */
const POINTER_DIGITS = 16;
/** `get value`: values up to this many bytes (and a multiple of 4) are stored as hex words. */
const MAX_HEX_VALUE = 20;
/** Bytes in a cell. */
const CELL_BYTES = 4;
const U32_MASK = 0xffffffffn;
const ULONG_MAX = (1n << 64n) - 1n;

const CHAR_NUL = 0x00;
const CHAR_NEWLINE = 0x0a;
const CHAR_SPACE = 0x20;
const CHAR_QUESTION = 0x3f;
const CHAR_LT = 0x3c;
const CHAR_GT = 0x3e;
const CHAR_LBRACKET = 0x5b;
const CHAR_RBRACKET = 0x5d;

/** The help line the xenguest build adds for `OF_SYSTEM_SETUP`. */
const SYSTEMSETUP_HELP = "fdt systemsetup                     - Do system-specific set up\n";
/** The help lines only a `FIT_SIGNATURE` build (qemu_arm64) has. */
const CHECKSIGN_HELP = "fdt checksign [<addr>]              - check FIT signature\n" +
  "                                        <start> - addr of key blob\n" +
  "                                                  default gd->fdt_blob\n";

/** `fdt set`'s static scratchpad: it keeps its bytes between commands (`?` cells reuse them). */
class _Scratchpad {
  data = new Uint8Array(SCRATCHPAD);

  /** Makes room for `length` bytes (U-Boot would overflow its static buffer; pvboot grows it). */
  reserve(length: number): void {
    if (length <= this.data.length) return;
    const grown = new Uint8Array(Math.max(length, this.data.length * 2));
    grown.set(this.data);
    this.data = grown;
  }
}

/** One run of the command. */
interface _Invocation {
  readonly ctx: CommandContext;
  readonly argv: string[];
  readonly state: WorkingFdtState;
  readonly scratch: _Scratchpad;
  /** `PLAIN_VERSION` for `u-boot,version`. */
  readonly version: string;
}

/** A subcommand: recognised when `argv[1]` starts with `prefix` (U-Boot's `strncmp`). */
interface _Subcommand {
  readonly prefix: string;
  /** Runs without a working FDT (only `addr`). */
  readonly anytime?: boolean;
  run(inv: _Invocation): number;
}

/** The working blob of a run and where it lies. */
interface _Working {
  readonly fdt: Fdt;
  readonly address: number;
}

// ----- text ----------------------------------------------------------------------------------------

/** A byte string (one character per byte) as bytes. */
function _bytesOf(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** Bytes as a byte string. */
function _latin1(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/** A byte string as lib/fdt takes names and paths (it encodes them as UTF-8 again). */
function _libText(text: string): string {
  return new TextDecoder().decode(_bytesOf(text));
}

/** A name from lib/fdt as a byte string. */
function _byteText(text: string): string {
  return _latin1(new TextEncoder().encode(text));
}

/** The C string at `at` of `bytes` (up to its NUL or the end of the buffer), as a byte string. */
function _cStringAt(bytes: Uint8Array, at: number): string {
  const nul = bytes.indexOf(CHAR_NUL, at);
  return _latin1(bytes.subarray(at, nul < 0 ? bytes.length : nul));
}

/** `%X` of a 32-bit value. */
function _hexUpper(value: number, digits = 0): string {
  return (value >>> 0).toString(16).toUpperCase().padStart(digits, "0");
}

/** `(int)` of a 64-bit value: its low 32 bits, signed. */
function _cInt(value: bigint): number {
  return Number(BigInt.asIntN(32, value));
}

/**
 * `isprint(c) || isspace(c)` for U-Boot's ctype table with an unsigned `char` (arm64): ASCII
 * graphics and space, TAB to CR, and the Latin-1 range 0xa0..0xff.
 */
function _isPrintOrSpace(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || (c >= 0x09 && c <= 0x0d) || c >= 0xa0;
}

function _isXdigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

// ----- the C side: NULL arguments, env helpers, libfdt status -----------------------------------

/** Reads byte `offset` of a NULL string: guest address `offset` (a data abort on a Xen guest). */
function _nullByte(ctx: CommandContext, offset: number): number {
  return ctx.memory.readU8(offset);
}

/** `argv[i]`, or the C string at address 0 when U-Boot would read a NULL `argv[i]`. */
function _cArg(inv: _Invocation, i: number): string {
  const arg = inv.argv[i];
  if (arg !== undefined) return arg;
  let text = "";
  for (let at = 0; at < NULL_STRING_LIMIT; at++) {
    const c = _nullByte(inv.ctx, at);
    if (c === CHAR_NUL) break;
    text += String.fromCharCode(c);
  }
  return text;
}

/** `env_set`: an empty value deletes; a refusal prints U-Boot's message and is otherwise ignored. */
function _envSet(ctx: CommandContext, name: string, value: string): void {
  try {
    ctx.env.envSet(name, value);
  } catch (e: unknown) {
    if (!(e instanceof EnvError)) throw e;
    ctx.console.puts(e.lines);
  }
}

/** `env_get_hex(name, fallback)`. */
function _envGetHex(ctx: CommandContext, name: string, fallback: bigint): bigint {
  const text = ctx.env.get(name);
  if (text === undefined) return fallback;
  const parsed = simpleStrtoul(text, 16);
  return parsed.end === 0 ? fallback : parsed.value;
}

/**
 * The status of `return err;` for a libfdt error: -1 is CMD_RET_USAGE (the shell prints the usage),
 * any other negative value fails.
 */
function _errStatus(err: FdtError): number {
  return err.errval === CMD_RET_USAGE ? CMD_RET_USAGE : CMD_RET_FAILURE;
}

// ----- the working blob ------------------------------------------------------------------------------

function _load(inv: _Invocation): _Working {
  const address = inv.state.working ?? 0;
  return { fdt: readFdtBlob(inv.ctx.memory, address), address };
}

function _store(inv: _Invocation, working: _Working): void {
  writeFdtBlob(inv.ctx.memory, working.address, working.fdt);
}

/**
 * `fdt_valid`: prints why the blob at `address` is unusable (NULL, or `fdt_check_header`'s error with
 * the version notes) and returns false; true when its header is sane.
 */
function _fdtValid(inv: _Invocation, address: number | undefined): boolean {
  const { ctx } = inv;
  if (!address) {
    ctx.console.puts("The address of the fdt is invalid (NULL).\n");
    return false;
  }
  const blob = readFdtBlob(ctx.memory, address);
  const err = blob.checkHeader();
  if (!err) return true;
  let text = `libfdt fdt_check_header(): ${err.errName}`;
  if (err.code === FDT_ERR_BADVERSION) {
    const version = blob.header("version") | 0;
    if (blob.header("version") < FDT_FIRST_SUPPORTED_VERSION) {
      text += ` - too old, fdt ${version} < ${FDT_FIRST_SUPPORTED_VERSION}`;
    }
    if (blob.header("last_comp_version") > FDT_LAST_SUPPORTED_VERSION) {
      text += ` - too new, fdt ${version} > ${FDT_LAST_SUPPORTED_VERSION}`;
    }
  }
  ctx.console.puts(`${text}\n`);
  return false;
}

/** `fdt_path_offset`, printing U-Boot's message when it fails. */
function _pathOffset(inv: _Invocation, fdt: Fdt, path: string): number | undefined {
  const node = fdt.pathOffset(_libText(path));
  if (!(node instanceof FdtError)) return node;
  inv.ctx.console.puts(`libfdt fdt_path_offset() returned ${node.errName}\n`);
  return undefined;
}

/**
 * `fdt_open_into(blob, dest, len)`: the blob, ready for editing with `totalsize = len`, at `dest`.
 * A length past {@linkcode FDT_MAX_BLOB_BYTES} (or negative as a C `int`) is FDT_ERR_NOSPACE.
 */
function _openInto(ctx: CommandContext, blob: Fdt, dest: number, len: number): FdtError | undefined {
  if (len < 0 || len > FDT_MAX_BLOB_BYTES) return new FdtError(FDT_ERR_NOSPACE, "open blob");
  const mapped = mappedLength(ctx.memory, dest, len);
  if (mapped < len) throw new DataAbort(dest + mapped, true);
  const target = ctx.memory.read(dest, len);
  const opened = blob.openInto(target);
  if (opened instanceof FdtError) return opened;
  ctx.memory.write(dest, target);
  return undefined;
}

// ----- values: printing, storing, parsing ----------------------------------------------------------

/**
 * `is_printable_string`: one or more NUL-separated printable strings, the last byte NUL (or a
 * newline). As in U-Boot, the check may look at the byte after the value.
 */
function _isPrintableString(bytes: Uint8Array, start: number, len: number): boolean {
  if (len === 0) return false;
  const at = (i: number) => bytes[i] ?? CHAR_NUL;
  const last = at(start + len - 1);
  if (last !== CHAR_NUL && last !== CHAR_NEWLINE) return false;
  let i = start;
  let left = len;
  while (left > 0 && (at(i) === CHAR_NUL || _isPrintOrSpace(at(i)))) {
    if (at(i) === CHAR_NUL) {
      if (left === 1) return true;
      if (at(i + 1) === CHAR_NUL) return false;
    }
    i++;
    left--;
  }
  return at(i) === CHAR_NUL && left === 0;
}

/** The strings of a printable value, as `print_data` and `fdt get value` walk them. */
function _strings(bytes: Uint8Array, start: number, len: number): string[] {
  const list: string[] = [];
  for (let j = 0; j < len;) {
    const text = _cStringAt(bytes, start + j);
    list.push(text);
    j += text.length + 1;
  }
  return list;
}

/** `print_data`: a value as strings, `<cells>`, `[bytes]`, or `* 0x<addr> [0x<len>]` past `fdt_max_dump`. */
function _formatData(inv: _Invocation, working: _Working, prop: FdtProperty): string {
  const { bytes } = working.fdt;
  const start = prop.valueOffset;
  const len = prop.value.length;
  if (len === 0) return "";
  const maxText = inv.ctx.env.get("fdt_max_dump");
  const maxDump = maxText === undefined ? ULONG_MAX : simpleStrtoul(maxText, 16).value;
  if (_isPrintableString(bytes, start, len)) return `"${_strings(bytes, start, len).join('", "')}"`;
  if (BigInt(len) > maxDump) {
    return `* 0x${hex(working.address + start, POINTER_DIGITS)} [0x${hex(len, 8)}]`;
  }
  const view = new DataView(prop.value.buffer, prop.value.byteOffset, len);
  const items: string[] = [];
  if (len % CELL_BYTES === 0) {
    for (let j = 0; j < len; j += CELL_BYTES) items.push(`0x${hex(view.getUint32(j, false), 8)}`);
    return `<${items.join(" ")}>`;
  }
  for (const byte of prop.value) items.push(hex(byte, 2));
  return `[${items.join(" ")}]`;
}

/** `fdt_value_env_set`: string `index` of a string list, `0x%08X` of one cell, hex words up to 20 bytes. */
function _valueEnvSet(
  inv: _Invocation,
  working: _Working,
  prop: FdtProperty,
  name: string,
  index: number,
): number {
  const { bytes } = working.fdt;
  const len = prop.value.length;
  if (_isPrintableString(bytes, prop.valueOffset, len)) {
    const list = _strings(bytes, prop.valueOffset, len);
    const chosen = list[Math.max(index, 0)];
    if (chosen === undefined) return CMD_RET_FAILURE;
    _envSet(inv.ctx, name, chosen);
    return CMD_RET_SUCCESS;
  }
  const view = new DataView(prop.value.buffer, prop.value.byteOffset, len);
  if (len === CELL_BYTES) {
    _envSet(inv.ctx, name, `0x${_hexUpper(view.getUint32(0, false), 8)}`);
  } else if (len % CELL_BYTES === 0 && len <= MAX_HEX_VALUE) {
    // U-Boot prints each word as the CPU loads it: little-endian.
    let text = "";
    for (let i = 0; i < len; i += CELL_BYTES) text += hex(view.getUint32(i, true), 8);
    _envSet(inv.ctx, name, text);
  } else {
    inv.ctx.console.puts("error: unprintable value\n");
    return CMD_RET_FAILURE;
  }
  return CMD_RET_SUCCESS;
}

/** A cursor over `fdt set`'s value arguments; past the last one it reads U-Boot's NULL `argv[argc]`. */
class _ArgCursor {
  index = 0;
  pos = 0;
  constructor(readonly ctx: CommandContext, readonly args: readonly string[]) {}

  /** The current argument, or undefined at `argv[argc]`. */
  get arg(): string | undefined {
    return this.args[this.index];
  }

  /** The byte at the cursor (0 at the end of an argument). */
  char(): number {
    const arg = this.arg;
    if (arg === undefined) return _nullByte(this.ctx, this.pos);
    return this.pos < arg.length ? arg.charCodeAt(this.pos) : CHAR_NUL;
  }

  nextArg(): void {
    this.index++;
    this.pos = 0;
  }

  skipSpaces(): void {
    while (this.char() === CHAR_SPACE) this.pos++;
  }
}

/** `printf("Unexpected character '%c'\n", c)`: a NUL ends U-Boot's printf output there. */
function _unexpected(inv: _Invocation, c: number): number {
  inv.ctx.console.puts(
    c === CHAR_NUL ? "Unexpected character '" : `Unexpected character '${String.fromCharCode(c)}'\n`,
  );
  return CMD_RET_FAILURE;
}

/** `<a b ?>`: 32-bit cells parsed base 0; `?` keeps the scratchpad's cell. Returns the length or a status. */
function _parseCells(inv: _Invocation, cur: _ArgCursor): { len: number } | number {
  const pad = inv.scratch;
  let len = 0;
  cur.pos = 1;
  while (cur.char() !== CHAR_GT && cur.index < cur.args.length) {
    const arg = cur.arg ?? "";
    if (cur.char() === CHAR_NUL) {
      cur.nextArg();
      continue;
    }
    const cp = cur.pos;
    const parsed = simpleStrtoul(arg, 0, cp);
    let end = parsed.end;
    pad.reserve(len + CELL_BYTES);
    if (arg.charCodeAt(cp) !== CHAR_QUESTION) {
      new DataView(pad.data.buffer).setUint32(len, Number(parsed.value & U32_MASK), false);
    } else {
      end++;
    }
    len += CELL_BYTES;
    if (end - cp <= 0) {
      inv.ctx.console.puts(`Sorry, I could not convert "${arg.slice(cp)}"\n`);
      return CMD_RET_FAILURE;
    }
    cur.pos = end;
    cur.skipSpaces();
  }
  const c = cur.char();
  return c === CHAR_GT ? { len } : _unexpected(inv, c);
}

/** `[aa bb]`: hex bytes. Returns the length or a status. */
function _parseBytes(inv: _Invocation, cur: _ArgCursor): { len: number } | number {
  const pad = inv.scratch;
  let len = 0;
  cur.pos = 1;
  while (cur.index < cur.args.length && cur.char() !== CHAR_RBRACKET) {
    cur.skipSpaces();
    if (cur.char() === CHAR_NUL) {
      cur.nextArg();
      continue;
    }
    if (!_isXdigit(cur.char())) break;
    const parsed = simpleStrtoul(cur.arg ?? "", 16, cur.pos);
    pad.reserve(len + 1);
    pad.data[len++] = Number(parsed.value & 0xffn);
    cur.pos = parsed.end;
  }
  const c = cur.char();
  return c === CHAR_RBRACKET ? { len } : _unexpected(inv, c);
}

/** Anything else: each argument as a NUL-terminated string. */
function _parseStrings(inv: _Invocation, args: readonly string[]): { len: number } {
  const pad = inv.scratch;
  let len = 0;
  for (const arg of args) {
    pad.reserve(len + arg.length + 1);
    pad.data.set(_bytesOf(arg), len);
    pad.data[len + arg.length] = CHAR_NUL;
    len += arg.length + 1;
  }
  return { len };
}

/** `fdt_parse_prop`: the value `fdt set` writes, or the status of a parse error. */
function _parseProp(inv: _Invocation, args: readonly string[]): Uint8Array | number {
  const cur = new _ArgCursor(inv.ctx, args);
  const first = cur.char();
  const parser = first === CHAR_LT ? _parseCells : first === CHAR_LBRACKET ? _parseBytes : undefined;
  const result = parser ? parser(inv, cur) : _parseStrings(inv, args);
  return typeof result === "number" ? result : inv.scratch.data.slice(0, result.len);
}

// ----- subcommands ---------------------------------------------------------------------------------

/** `fdt addr [-c] [-q] [addr [len]]`. */
function _addr(inv: _Invocation): number {
  const { ctx, state } = inv;
  let args = inv.argv.slice(2);
  let control = false;
  let quiet = false;
  while (args[0]?.startsWith("-")) {
    for (const flag of args[0].slice(1)) {
      if (flag === "c") control = true;
      else if (flag === "q") quiet = true;
      else return CMD_RET_USAGE;
    }
    args = args.slice(1);
  }
  if (args[0] === undefined) {
    const blob = control ? (state.control ?? ctx.board.fdtBlob) : state.working;
    if (!blob || !_fdtValid(inv, blob)) return CMD_RET_FAILURE;
    const shown = control ? BigInt(blob) : _envGetHex(ctx, "fdtaddr", 0n);
    ctx.console.puts(`${control ? "Control" : "Working"} fdt: ${hex(shown, 8)}\n`);
    return CMD_RET_SUCCESS;
  }
  const address = hexToNumber(args[0]);
  const valid = quiet ? !readFdtBlob(ctx.memory, address).checkHeader() : _fdtValid(inv, address);
  if (!valid) return CMD_RET_FAILURE;
  if (control) state.control = address;
  else setWorkingFdtAddr(ctx, state, address);
  if (args[1] !== undefined) {
    const len = _cInt(simpleStrtoul(args[1], 16).value);
    const blob = readFdtBlob(ctx.memory, address);
    const totalsize = blob.header("totalsize");
    if (len >>> 0 < totalsize) {
      if (!quiet) ctx.console.puts(`New length ${len} < existing length ${totalsize | 0}, ignoring\n`);
    } else {
      const err = _openInto(ctx, blob, address, len);
      if (err && !quiet) ctx.console.puts(`libfdt fdt_open_into(): ${err.errName}\n`);
    }
  }
  return CMD_RET_SUCCESS;
}

/** `fdt move <fdt> <newaddr> [<length>]`: `working_fdt` becomes `<fdt>` first (NULL when invalid). */
function _move(inv: _Invocation): number {
  const { ctx, state, argv } = inv;
  if (argv.length < 4) return CMD_RET_USAGE;
  const source = hexToNumber(argv[2]!);
  state.working = source === 0 ? undefined : source;
  if (!_fdtValid(inv, state.working)) {
    state.working = undefined;
    return CMD_RET_FAILURE;
  }
  const dest = hexToNumber(argv[3]!);
  const blob = readFdtBlob(ctx.memory, source);
  const totalsize = blob.header("totalsize");
  let len = totalsize;
  if (argv[4] !== undefined) {
    len = _cInt(simpleStrtoul(argv[4], 16).value);
    if (len >>> 0 < totalsize) {
      ctx.console.puts(
        `New length 0x${_hexUpper(len)} < existing length 0x${_hexUpper(totalsize)}, aborting.\n`,
      );
      return CMD_RET_FAILURE;
    }
  }
  const err = _openInto(ctx, blob, dest, len);
  if (err) {
    ctx.console.puts(`libfdt fdt_open_into(): ${err.errName}\n`);
    return CMD_RET_FAILURE;
  }
  setWorkingFdtAddr(ctx, state, dest);
  return CMD_RET_SUCCESS;
}

/** `fdt systemsetup`: `ft_system_setup`, which the xenguest board leaves empty. */
function _systemSetup(_inv: _Invocation): number {
  return CMD_RET_SUCCESS;
}

/** `fdt mknode <path> <node>`. */
function _mknode(inv: _Invocation): number {
  const { argv, ctx } = inv;
  if (argv.length < 4) return CMD_RET_USAGE;
  const working = _load(inv);
  const node = _pathOffset(inv, working.fdt, argv[2]!);
  if (node === undefined) return CMD_RET_FAILURE;
  const added = working.fdt.addSubnode(node, _libText(argv[3]!));
  if (added instanceof FdtError) {
    ctx.console.puts(`libfdt fdt_add_subnode(): ${added.errName}\n`);
    return CMD_RET_FAILURE;
  }
  _store(inv, working);
  return CMD_RET_SUCCESS;
}

/** `fdt set <path> <prop> [<val>...]`. */
function _set(inv: _Invocation): number {
  const { argv, ctx } = inv;
  if (argv.length < 4) return CMD_RET_USAGE;
  const working = _load(inv);
  const node = _pathOffset(inv, working.fdt, argv[2]!);
  if (node === undefined) return CMD_RET_FAILURE;
  const name = _libText(argv[3]!);
  let value: Uint8Array = new Uint8Array(0);
  if (argv.length > 4) {
    const existing = working.fdt.getProperty(node, name);
    if (!(existing instanceof FdtError)) {
      if (existing.value.length > SCRATCHPAD) {
        ctx.console.puts(`prop (${existing.value.length}) doesn't fit in scratchpad!\n`);
        return CMD_RET_FAILURE;
      }
      inv.scratch.data.set(existing.value);
    }
    const parsed = _parseProp(inv, argv.slice(4));
    if (typeof parsed === "number") return parsed;
    value = parsed;
  }
  const err = working.fdt.setProp(node, name, value);
  if (err) {
    ctx.console.puts(`libfdt fdt_setprop(): ${err.errName}\n`);
    return CMD_RET_FAILURE;
  }
  _store(inv, working);
  return CMD_RET_SUCCESS;
}

/** `fdt get name|size` without a property: walks the node's children. */
function _getChildren(inv: _Invocation, working: _Working, node: number, byName: boolean): number {
  const { ctx, argv } = inv;
  const { fdt } = working;
  const variable = argv[3]!;
  const requested = byName ? _cInt(simpleStrtoul(argv[5]!, 16).value) : -1;
  const depth = fdt.nodeDepth(node);
  const startDepth = depth instanceof FdtError ? 0 : depth;
  let curIndex = -1;
  let step = depth instanceof FdtError ? depth : fdt.nextNode(node, startDepth);
  while (!(step instanceof FdtError) && step.depth > startDepth) {
    if (step.depth === startDepth + 1) curIndex++;
    if (byName && curIndex === requested) {
      const name = fdt.getName(step.offset);
      _envSet(ctx, variable, name instanceof FdtError ? "" : _byteText(name));
      return CMD_RET_SUCCESS;
    }
    step = fdt.nextNode(step.offset, step.depth);
  }
  if (byName) {
    ctx.console.puts("libfdt node not found\n");
    return CMD_RET_FAILURE;
  }
  _envSet(ctx, variable, String(curIndex + 1));
  return CMD_RET_SUCCESS;
}

/** What `fdt get value|addr|size <var> <path> <prop>` stores, by the first letter of the subcommand. */
const GET_PROPERTY: Readonly<
  Record<string, (inv: _Invocation, working: _Working, prop: FdtProperty, name: string) => number>
> = {
  v: (inv, working, prop, name) => {
    const index = inv.argv.length === 7 ? _cInt(simpleStrtoul(inv.argv[6]!, 10).value) : 0;
    return _valueEnvSet(inv, working, prop, name, index);
  },
  a: (inv, working, prop, name) => {
    _envSet(inv.ctx, name, `0x${hex(working.address + prop.valueOffset, POINTER_DIGITS)}`);
    return CMD_RET_SUCCESS;
  },
  s: (inv, _working, prop, name) => {
    _envSet(inv.ctx, name, `0x${_hexUpper(prop.value.length, 8)}`);
    return CMD_RET_SUCCESS;
  },
};

/** `fdt get value|name|addr|size <var> <path> ...`. */
function _get(inv: _Invocation): number {
  const { argv, ctx } = inv;
  if (argv.length < 5) return CMD_RET_USAGE;
  const sub = argv[2]!.charAt(0);
  if (argv.length < 6 && sub !== "s") return CMD_RET_USAGE;
  const working = _load(inv);
  const node = _pathOffset(inv, working.fdt, argv[4]!);
  if (node === undefined) return CMD_RET_FAILURE;
  if (sub === "n" || (sub === "s" && argv.length === 5)) return _getChildren(inv, working, node, sub === "n");
  const prop = working.fdt.getProperty(node, _libText(argv[5]!));
  if (prop instanceof FdtError) {
    ctx.console.puts(`libfdt fdt_getprop(): ${prop.errName}\n`);
    return CMD_RET_FAILURE;
  }
  if (prop.value.length === 0) {
    _envSet(ctx, argv[3]!, "");
    return CMD_RET_SUCCESS;
  }
  const store = GET_PROPERTY[sub];
  return store ? store(inv, working, prop, argv[3]!) : CMD_RET_USAGE;
}

/** `fdt_print` of one property: `name = value` without a semicolon, or `path prop` when empty. */
function _printProperty(
  inv: _Invocation,
  working: _Working,
  node: number,
  path: string,
  name: string,
): number {
  const { console } = inv.ctx;
  const prop = working.fdt.getProperty(node, _libText(name));
  if (prop instanceof FdtError) {
    console.puts(`libfdt fdt_getprop(): ${prop.errName}\n`);
    return CMD_RET_FAILURE;
  }
  if (prop.value.length === 0) console.puts(`${path} ${name}\n`);
  else console.puts(`${name} = ${_formatData(inv, working, prop)}\n`);
  return CMD_RET_SUCCESS;
}

/**
 * `fdt_print`'s walk from `node`: nodes up to `depth` levels below it, tab-indented; NOP tags always.
 * Returns 1 when the structure ends early or nests 32 deep.
 */
function _printTree(inv: _Invocation, working: _Working, node: number, depth: number): number {
  const { console } = inv.ctx;
  const { fdt } = working;
  let level = 0;
  let offset = node;
  while (level >= 0) {
    const step = fdt.nextTag(offset);
    if (step instanceof FdtError) return CMD_RET_FAILURE;
    const tabs = "\t".repeat(level);
    switch (step.tag) {
      case FDT_BEGIN_NODE: {
        if (level <= depth) {
          const name = fdt.getName(offset);
          const text = name instanceof FdtError ? "/* NULL pointer error */" : _byteText(name) || "/";
          console.puts(`${tabs}${text} {\n`);
        }
        level++;
        if (level >= MAX_LEVEL) {
          console.puts("Nested too deep, aborting.\n");
          return CMD_RET_FAILURE;
        }
        break;
      }
      case FDT_END_NODE:
        level--;
        if (level <= depth) console.puts(`${"\t".repeat(level)}};\n`);
        if (level === 0) level = -1;
        break;
      case FDT_PROP: {
        const prop = fdt.getPropertyByOffset(offset);
        if (prop instanceof FdtError) return CMD_RET_FAILURE;
        if (level <= depth) {
          const name = _byteText(prop.name);
          const shown = prop.value.length === 0
            ? `${name};`
            : `${name} = ${_formatData(inv, working, prop)};`;
          console.puts(`${tabs}${shown}\n`);
        }
        break;
      }
      case FDT_NOP:
        console.puts(`${tabs}/* NOP */\n`);
        break;
      case FDT_END:
        return CMD_RET_FAILURE;
      default:
        if (level <= depth) console.puts(`Unknown tag 0x${_hexUpper(step.tag, 8)}\n`);
        return CMD_RET_FAILURE;
    }
    offset = step.nextOffset;
  }
  return CMD_RET_SUCCESS;
}

/** `fdt print|list [<path> [<prop>]]` (`list` shows one level). */
function _print(inv: _Invocation, depth: number): number {
  const { argv } = inv;
  const path = argv[2] ?? "/";
  const working = _load(inv);
  const node = _pathOffset(inv, working.fdt, path);
  if (node === undefined) return CMD_RET_FAILURE;
  const prop = argv[3];
  return prop === undefined
    ? _printTree(inv, working, node, depth)
    : _printProperty(inv, working, node, path, prop);
}

/** `fdt rm <path> [<prop>]`. */
function _rm(inv: _Invocation): number {
  const { argv, ctx } = inv;
  const path = _cArg(inv, 2);
  const working = _load(inv);
  const node = _pathOffset(inv, working.fdt, path);
  if (node === undefined) return CMD_RET_FAILURE;
  const prop = argv[3];
  const err = prop === undefined ? working.fdt.delNode(node) : working.fdt.delProp(node, _libText(prop));
  if (err) {
    ctx.console.puts(`libfdt ${prop === undefined ? "fdt_del_node" : "fdt_delprop"}():  ${err.errName}\n`);
    return _errStatus(err);
  }
  _store(inv, working);
  return CMD_RET_SUCCESS;
}

/** `fdt header get <var> <member>`: the header word as hex; an unknown member fails silently. */
function _headerGet(inv: _Invocation): number {
  const { argv, ctx } = inv;
  if (argv[2]!.charAt(0) !== "g") return CMD_RET_FAILURE;
  const member = FDT_HEADER_FIELDS.find((field) => field === argv[4]);
  if (member === undefined) return CMD_RET_FAILURE;
  const value = _load(inv).fdt.header(member);
  try {
    ctx.env.setHex(argv[3]!, value);
  } catch (e: unknown) {
    if (!(e instanceof EnvError)) throw e;
    ctx.console.puts(e.lines);
  }
  return CMD_RET_SUCCESS;
}

/** `fdt header`'s lines after `version`, each shown from the blob version given. */
const HEADER_VERSIONED: readonly { field: FdtHeaderField; since: number; label: string }[] = [
  { field: "boot_cpuid_phys", since: 2, label: "boot_cpuid_phys:\t" },
  { field: "size_dt_strings", since: 3, label: "size_dt_strings:\t" },
  { field: "size_dt_struct", since: 17, label: "size_dt_struct:\t\t" },
];

/** `fdt header [get <var> <member>]`. */
function _header(inv: _Invocation): number {
  if (inv.argv.length === 5) return _headerGet(inv);
  const { fdt } = _load(inv);
  const h = (field: FdtHeaderField) => fdt.header(field);
  const version = h("version");
  const rsv = fdt.numMemRsv();
  let text = `magic:\t\t\t0x${hex(h("magic"))}\n` +
    `totalsize:\t\t0x${hex(h("totalsize"))} (${h("totalsize") | 0})\n` +
    `off_dt_struct:\t\t0x${hex(h("off_dt_struct"))}\n` +
    `off_dt_strings:\t\t0x${hex(h("off_dt_strings"))}\n` +
    `off_mem_rsvmap:\t\t0x${hex(h("off_mem_rsvmap"))}\n` +
    `version:\t\t${version | 0}\n` +
    `last_comp_version:\t${h("last_comp_version") | 0}\n`;
  for (const line of HEADER_VERSIONED) {
    if (version >= line.since) text += `${line.label}0x${hex(h(line.field))}\n`;
  }
  text += `number mem_rsv:\t\t0x${hex((rsv instanceof FdtError ? rsv.errval : rsv) >>> 0)}\n\n`;
  inv.ctx.console.puts(text);
  return CMD_RET_SUCCESS;
}

/** `fdt bootcpu <id>`: a plain header write. */
function _bootcpu(inv: _Invocation): number {
  const id = simpleStrtoul(_cArg(inv, 2), 16).value;
  const working = _load(inv);
  working.fdt.setBootCpuidPhys(Number(id & U32_MASK));
  _store(inv, working);
  return CMD_RET_SUCCESS;
}

/** `fdt memory <addr> <size>`: `fdt_fixup_memory`. */
function _memory(inv: _Invocation): number {
  const start = simpleStrtoul(_cArg(inv, 2), 16).value;
  const size = simpleStrtoul(_cArg(inv, 3), 16).value;
  const working = _load(inv);
  const err = fdtFixupMemory(working.fdt, inv.ctx.console, start, size);
  _store(inv, working);
  return err ? _errStatus(err) : CMD_RET_SUCCESS;
}

/** `fdt rsvmem print|add|delete`, by the first letter of the sub-subcommand. */
const RSVMEM: Readonly<Record<string, (inv: _Invocation) => number>> = {
  p: (inv) => {
    const { fdt } = _load(inv);
    const { console } = inv.ctx;
    console.puts(`index\t\t   start\t\t    size\n${"-".repeat(48)}\n`);
    const total = fdt.numMemRsv();
    for (let j = 0; j < (total instanceof FdtError ? 0 : total); j++) {
      const entry = fdt.getMemRsv(j);
      if (entry instanceof FdtError) {
        console.puts(`libfdt fdt_get_mem_rsv():  ${entry.errName}\n`);
        return _errStatus(entry);
      }
      console.puts(`    ${hex(j)}\t${hex(entry.address, 16)}\t${hex(entry.size, 16)}\n`);
    }
    return CMD_RET_SUCCESS;
  },
  a: (inv) => {
    const address = simpleStrtoul(_cArg(inv, 3), 16).value;
    const size = simpleStrtoul(_cArg(inv, 4), 16).value;
    const working = _load(inv);
    const err = working.fdt.addMemRsv(address, size);
    if (err) {
      inv.ctx.console.puts(`libfdt fdt_add_mem_rsv():  ${err.errName}\n`);
      return _errStatus(err);
    }
    _store(inv, working);
    return CMD_RET_SUCCESS;
  },
  d: (inv) => {
    const index = _cInt(simpleStrtoul(_cArg(inv, 3), 16).value);
    const working = _load(inv);
    const err = working.fdt.delMemRsv(index);
    if (err) {
      inv.ctx.console.puts(`libfdt fdt_del_mem_rsv():  ${err.errName}\n`);
      return _errStatus(err);
    }
    _store(inv, working);
    return CMD_RET_SUCCESS;
  },
};

/** `fdt rsvmem ...`. */
function _rsvmem(inv: _Invocation): number {
  const run = RSVMEM[_cArg(inv, 2).charAt(0)];
  return run ? run(inv) : CMD_RET_USAGE;
}

/** `fdt chosen [<start> <size>]`: `fdt_chosen` then `fdt_initrd(start, start + size - 1)`; never fails. */
function _chosen(inv: _Invocation): number {
  const { argv, ctx } = inv;
  if (argv.length !== 2 && argv.length !== 4) return CMD_RET_USAGE;
  let start = 0n;
  let end = 0n;
  if (argv.length === 4) {
    start = simpleStrtoul(argv[2]!, 16).value;
    end = (start + simpleStrtoul(argv[3]!, 16).value - 1n) & ULONG_MAX;
  }
  const working = _load(inv);
  fdtChosen(working.fdt, ctx.console, { bootargs: ctx.env.get("bootargs"), version: inv.version });
  fdtInitrd(working.fdt, ctx.console, start, end);
  _store(inv, working);
  return CMD_RET_SUCCESS;
}

/**
 * `fdt resize [<extrasize>]`: `fdt_shrink_to_minimum`; the result is ignored, as in U-Boot. A size
 * past {@linkcode FDT_MAX_BLOB_BYTES} only changes `totalsize` (pvboot does not copy that much).
 */
function _resize(inv: _Invocation): number {
  const { argv, ctx } = inv;
  const extra = argv[2] === undefined ? 0 : Number(simpleStrtoul(argv[2], 16).value & U32_MASK);
  const { fdt, address } = _load(inv);
  const size = fdt.shrinkToMinimumSize(extra, address);
  if (size instanceof FdtError) return CMD_RET_SUCCESS;
  if (size > FDT_MAX_BLOB_BYTES) {
    const word = new Uint8Array(CELL_BYTES);
    new DataView(word.buffer).setUint32(0, size >>> 0, false);
    ctx.memory.write(address + FDT_HEADER.totalsize, word);
    return CMD_RET_SUCCESS;
  }
  const grown = new Fdt(ctx.memory.read(address, Math.max(size, fdt.bytes.length)));
  grown.shrinkToMinimum(extra, address);
  writeFdtBlob(ctx.memory, address, grown);
  return CMD_RET_SUCCESS;
}

/** The subcommands of a build, in cmd/fdt.c's order (the first match wins). */
function _subcommands(profile: BoardProfileName): _Subcommand[] {
  const systemSetup: _Subcommand[] = profile === "xenguest" ? [{ prefix: "sys", run: _systemSetup }] : [];
  return [
    { prefix: "ad", anytime: true, run: _addr },
    { prefix: "mo", run: _move },
    ...systemSetup,
    { prefix: "mk", run: _mknode },
    { prefix: "s", run: _set },
    { prefix: "g", run: _get },
    { prefix: "p", run: (inv) => _print(inv, MAX_LEVEL) },
    { prefix: "l", run: (inv) => _print(inv, 1) },
    { prefix: "rm", run: _rm },
    { prefix: "h", run: _header },
    { prefix: "boo", run: _bootcpu },
    { prefix: "me", run: _memory },
    { prefix: "rs", run: _rsvmem },
    { prefix: "cho", run: _chosen },
    { prefix: "re", run: _resize },
  ];
}

/** `fdt`'s long help for a build: qemu_arm64's lists `checksign`, xenguest's `systemsetup`. */
function _help(profile: BoardProfileName): string {
  const help = HELP_TEXT["fdt"]?.help ?? "";
  if (profile === "default") return help;
  const firstLineEnd = help.indexOf("\n") + 1;
  if (firstLineEnd === 0 || !help.includes(CHECKSIGN_HELP)) {
    throw new Error("Cannot build the xenguest fdt help: the help text has changed");
  }
  return help.slice(0, firstLineEnd) + SYSTEMSETUP_HELP +
    help.slice(firstLineEnd).replace(CHECKSIGN_HELP, "");
}

/** `PLAIN_VERSION` of a build: the version in its banner (`U-Boot <version> (...)`). */
function _plainVersion(profile: BoardProfileName): string {
  return /^U-Boot (\S+)/.exec(versionString(profile))?.[1] ?? "";
}

/**
 * The `fdt` command of a build. `state` is the session's working/control FDT pointers, shared with
 * the boot commands (a fresh one when not given).
 *
 * @example
 * ```ts
 * import { fdtCommand } from "./fdt.ts";
 * import { fakeContext } from "../tests/fake_context.ts";
 * const ctx = fakeContext();
 * console.log(fdtCommand().run(ctx, ["fdt", "print", "/"]), ctx.console.output.split("\n")[0]);
 * // 1 "No FDT memory address configured. Please configure"
 * ```
 */
export function fdtCommand(profile: BoardProfileName = "default", state = new WorkingFdtState()): Command {
  const table = _subcommands(profile);
  const scratch = new _Scratchpad();
  const version = _plainVersion(profile);
  return defineCommand({
    name: "fdt",
    maxArgs: FDT_MAXARGS,
    repeatable: false,
    help: _help(profile),
    run(ctx, argv) {
      if (argv.length < 2) return CMD_RET_USAGE;
      const entry = table.find((sub) => argv[1]!.startsWith(sub.prefix));
      if (!entry?.anytime && state.working === undefined) {
        ctx.console.puts(
          'No FDT memory address configured. Please configure\nthe FDT address via "fdt addr <address>" command.\nAborting!\n',
        );
        return CMD_RET_FAILURE;
      }
      return entry ? entry.run({ ctx, argv, state, scratch, version }) : CMD_RET_USAGE;
    },
  });
}
