/**
 * The SLRE compiler: U-Boot 2023.01's regular expressions (lib/slre.c, the 2011 "Super Light Regular
 * Expression" library) turned from text into SLRE's own byte code. The byte code is kept exactly as
 * U-Boot builds it, in buffers of U-Boot's sizes, so its limits and oddities carry over:
 *
 * - Syntax: `^ $ . ( ) | * + ? *? +? [set] [^set]`, escapes `\s \S \d \n \r \t \0`; any other escaped
 *   byte stands for itself. There are **no ranges**: `[0-9]` is the set of the three bytes `0`, `-`, `9`.
 *   No `{m,n}`, no `??`, no `\xDD` (it is the byte `x` followed by `DD`).
 * - Inside a set, `\s`, `\S`, `\d` and `\0` store a 0 byte and the opcode number, and sets compare bytes
 *   literally, so `[\d]` matches the bytes 0x00 and 0x11, not digits.
 * - A quantifier after a multi-byte literal applies to its last byte only (`ab+` is `a` then `b+`);
 *   a quantifier with nothing before it quantifies an empty program (which never ends when matched).
 * - A pattern starting with `^` is anchored as a whole, even with `|` later (`^a|b` never finds `b`
 *   after the start).
 * - Programs hold at most 256 code bytes and 256 literal bytes; jumps are one byte.
 *
 * Where U-Boot reads past the end of the pattern or spins forever while compiling (a stray `)`, a
 * trailing `\`), pvboot stops with the error U-Boot had set by then.
 *
 * @module
 */

/** Size of SLRE's code buffer (`struct slre.code`). */
export const SLRE_CODE_SIZE = 256;
/** Size of SLRE's literal-data buffer (`struct slre.data`). */
export const SLRE_DATA_SIZE = 256;
/** Jumps are stored in one byte. */
const MAX_JUMP = 0xff;
/**
 * Room past the code buffer for what `relocate` shifts beyond it (U-Boot spills into the next field;
 * the compile fails with a code overflow in that case anyway).
 */
const CODE_SPILL = 16;
/** Nesting of `(` beyond which pvboot stops parsing (U-Boot has long overflowed its code by then). */
const MAX_GROUP_NESTING = 1024;

/** SLRE's opcodes, numbered as in lib/slre.c. */
export const SlreOp = {
  END: 0,
  BRANCH: 1,
  ANY: 2,
  EXACT: 3,
  ANYOF: 4,
  ANYBUT: 5,
  OPEN: 6,
  CLOSE: 7,
  BOL: 8,
  EOL: 9,
  STAR: 10,
  PLUS: 11,
  STARQ: 12,
  PLUSQ: 13,
  QUEST: 14,
  SPACE: 15,
  NONSPACE: 16,
  DIGIT: 17,
} as const;

/** The bytes that end a literal run (`meta_chars`). */
const META_CHARS = "|.^$*+?()[\\";

const CH_NUL = 0;
const CH_CARET = 0x5e;
const CH_DOLLAR = 0x24;
const CH_DOT = 0x2e;
const CH_LBRACKET = 0x5b;
const CH_RBRACKET = 0x5d;
const CH_BACKSLASH = 0x5c;
const CH_LPAREN = 0x28;
const CH_RPAREN = 0x29;
const CH_PLUS = 0x2b;
const CH_STAR = 0x2a;
const CH_QUESTION = 0x3f;
const CH_BAR = 0x7c;

/** A compiled pattern (`struct slre` after a successful `slre_compile`). */
export interface SlreProgram {
  /** The byte code; bytes past the program read as END. */
  readonly code: Uint8Array;
  /** Number of code bytes. */
  readonly codeSize: number;
  /** Literal bytes (EXACT strings and sets). */
  readonly data: Uint8Array;
  /** Number of `(` groups; capture 0 is the whole match. */
  readonly numCaps: number;
  /** True when the pattern starts with `^`: only offset 0 is tried. */
  readonly anchored: boolean;
}

/** The pattern does not compile; `reason` is SLRE's own message (`slre.err_str`). */
export class SlreCompileError extends SyntaxError {
  /** SLRE's message, as U-Boot prints it after "Error compiling regex: ". */
  readonly reason: string;
  /** Creates the error for SLRE's message `reason`. */
  constructor(reason: string) {
    super(`Cannot compile regex: ${reason}`);
    this.name = "SlreCompileError";
    this.reason = reason;
  }
}

/**
 * `slre_compile`: compiles `pattern` (a byte string; it ends at its first NUL as a C string does).
 * Throws {@linkcode SlreCompileError} with SLRE's message when it does not compile.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slreCompile } from "./compile.ts";
 * const program = slreCompile("^(.)(.)");
 * assert.ok(program.numCaps === 2 && program.anchored);
 * ```
 */
export function slreCompile(pattern: string): SlreProgram {
  return new _Compiler(pattern).run();
}

class _Compiler {
  readonly #re: string;
  readonly #end: number;
  readonly #code = new Uint8Array(SLRE_CODE_SIZE + CODE_SPILL);
  readonly #data = new Uint8Array(SLRE_DATA_SIZE);
  #codeSize = 0;
  #dataSize = 0;
  #numCaps = 0;
  #pos = 0;
  #depth = 0;
  /** Set when U-Boot would go on reading past the pattern's terminating NUL. */
  #halted = false;
  #error: string | undefined;

  constructor(re: string) {
    this.#re = re;
    const nul = re.indexOf("\0");
    this.#end = nul >= 0 ? nul : re.length;
  }

  run(): SlreProgram {
    const anchored = this.#peek() === CH_CARET;
    this.#emit(SlreOp.OPEN); // capture 0: the whole match
    this.#emit(0);
    while (!this.#halted && this.#peek() !== CH_NUL) {
      const before = this.#pos;
      this.#compile();
      if (this.#pos === before) {
        // A `)` with no group open: U-Boot's loop re-reads it forever; its error is already set.
        this.#error ??= "Unbalanced brackets";
        break;
      }
    }
    if (this.#code[2] === SlreOp.BRANCH) this.#fixupBranch(4);
    this.#emit(SlreOp.CLOSE);
    this.#emit(0);
    this.#emit(SlreOp.END);
    if (this.#error !== undefined) throw new SlreCompileError(this.#error);
    return {
      code: this.#code,
      codeSize: this.#codeSize,
      data: this.#data,
      numCaps: this.#numCaps,
      anchored,
    };
  }

  /** The byte at the cursor; 0 at (and past) the end. */
  #peek(): number {
    return this.#pos < this.#end ? this.#re.charCodeAt(this.#pos) & 0xff : CH_NUL;
  }

  /** `*(*re)++`: the byte at the cursor, stepping past it (even past the terminating NUL). */
  #next(): number {
    const ch = this.#peek();
    this.#pos++;
    if (this.#pos > this.#end) this.#halted = true;
    return ch;
  }

  #fail(message: string): void {
    this.#error = message;
  }

  #emit(byte: number): void {
    if (this.#codeSize >= SLRE_CODE_SIZE) this.#fail("RE is too long (code overflow)");
    else this.#code[this.#codeSize++] = byte & 0xff;
  }

  #storeData(byte: number): void {
    if (this.#dataSize >= SLRE_DATA_SIZE) this.#fail("RE is too long (data overflow)");
    else this.#data[this.#dataSize++] = byte & 0xff;
  }

  #setJumpOffset(pc: number, offset: number): void {
    if (this.#codeSize - offset > MAX_JUMP) this.#fail("Jump offset is too big");
    else this.#code[pc] = this.#codeSize - offset;
  }

  /** Inserts `shift` bytes at `begin`, closing the moved block with END. */
  #relocate(begin: number, shift: number): void {
    this.#emit(SlreOp.END);
    this.#code.copyWithin(begin + shift, begin, this.#codeSize);
    this.#codeSize += shift;
  }

  #fixupBranch(fixup: number): void {
    if (fixup > 0) {
      this.#emit(SlreOp.END);
      this.#setJumpOffset(fixup, fixup - 2);
    }
  }

  #quantifier(prev: number, op: number): void {
    const code = this.#code;
    if (code[prev] === SlreOp.EXACT && (code[prev + 2] ?? 0) > 1) {
      // Split off the literal's last byte: only it is quantified.
      code[prev + 2] = (code[prev + 2] ?? 0) - 1;
      this.#emit(SlreOp.EXACT);
      this.#emit((code[prev + 1] ?? 0) + (code[prev + 2] ?? 0));
      this.#emit(1);
      prev = this.#codeSize - 3;
    }
    this.#relocate(prev, 2);
    code[prev] = op;
    this.#setJumpOffset(prev + 1, prev);
  }

  #exactOneChar(ch: number): void {
    this.#emit(SlreOp.EXACT);
    this.#emit(this.#dataSize);
    this.#emit(1);
    this.#storeData(ch);
  }

  /** A literal run up to the next meta character. */
  #exact(): void {
    const oldDataSize = this.#dataSize;
    while (this.#peek() !== CH_NUL && !META_CHARS.includes(String.fromCharCode(this.#peek()))) {
      this.#storeData(this.#next());
    }
    this.#emit(SlreOp.EXACT);
    this.#emit(oldDataSize);
    this.#emit(this.#dataSize - oldDataSize);
  }

  /** `get_escape_char`: a byte, or an opcode shifted left by 8 for `\s \S \d`. */
  #escapeChar(): number {
    const ch = this.#next();
    switch (String.fromCharCode(ch)) {
      case "n":
        return 0x0a;
      case "r":
        return 0x0d;
      case "t":
        return 0x09;
      case "0":
        return 0;
      case "S":
        return SlreOp.NONSPACE << 8;
      case "s":
        return SlreOp.SPACE << 8;
      case "d":
        return SlreOp.DIGIT << 8;
      default:
        return ch;
    }
  }

  /** `[set]` or `[^set]`, the cursor just past `[`. */
  #anyOf(): void {
    const oldDataSize = this.#dataSize;
    let op: number = SlreOp.ANYOF;
    if (this.#peek() === CH_CARET) {
      op = SlreOp.ANYBUT;
      this.#pos++;
    }
    while (this.#peek() !== CH_NUL) {
      const ch = this.#next();
      if (ch === CH_RBRACKET) {
        this.#emit(op);
        this.#emit(oldDataSize);
        this.#emit(this.#dataSize - oldDataSize);
        return;
      }
      if (ch === CH_BACKSLASH) {
        const esc = this.#escapeChar();
        if (this.#halted) break;
        if ((esc & 0xff) === 0) {
          this.#storeData(0);
          this.#storeData(esc >> 8);
        } else {
          this.#storeData(esc);
        }
      } else {
        this.#storeData(ch);
      }
    }
    this.#fail("No closing ']' bracket");
  }

  /** `compile`: one sequence of alternatives, up to `)` or the end. */
  #compile(): void {
    let fixup = 0;
    const level = this.#numCaps;
    const branchStart = this.#codeSize;
    let lastOp = this.#codeSize;
    for (;;) {
      if (this.#halted) return;
      const ch = this.#next();
      switch (ch) {
        case CH_NUL:
          this.#pos--;
          this.#halted = false;
          return;
        case CH_CARET:
          this.#emit(SlreOp.BOL);
          break;
        case CH_DOLLAR:
          this.#emit(SlreOp.EOL);
          break;
        case CH_DOT:
          lastOp = this.#codeSize;
          this.#emit(SlreOp.ANY);
          break;
        case CH_LBRACKET:
          lastOp = this.#codeSize;
          this.#anyOf();
          break;
        case CH_BACKSLASH: {
          lastOp = this.#codeSize;
          const esc = this.#escapeChar();
          if (esc & 0xff00) this.#emit(esc >> 8);
          else this.#exactOneChar(esc);
          // A trailing `\` consumed the terminator: U-Boot reads on into memory; pvboot stops here.
          if (this.#halted) return;
          break;
        }
        case CH_LPAREN: {
          lastOp = this.#codeSize;
          const capNo = ++this.#numCaps;
          this.#emit(SlreOp.OPEN);
          this.#emit(capNo);
          if (++this.#depth > MAX_GROUP_NESTING) {
            this.#fail("RE is too long (code overflow)");
            this.#halted = true;
            return;
          }
          this.#compile();
          this.#depth--;
          if (this.#halted) return;
          if (this.#next() !== CH_RPAREN) {
            this.#fail("No closing bracket");
            this.#halted = true;
            return;
          }
          this.#emit(SlreOp.CLOSE);
          this.#emit(capNo);
          break;
        }
        case CH_RPAREN:
          this.#pos--;
          this.#fixupBranch(fixup);
          if (level === 0) this.#fail("Unbalanced brackets");
          return;
        case CH_PLUS:
        case CH_STAR: {
          let op: number = ch === CH_STAR ? SlreOp.STAR : SlreOp.PLUS;
          if (this.#peek() === CH_QUESTION) {
            this.#pos++;
            op = op === SlreOp.STAR ? SlreOp.STARQ : SlreOp.PLUSQ;
          }
          this.#quantifier(lastOp, op);
          break;
        }
        case CH_QUESTION:
          this.#quantifier(lastOp, SlreOp.QUEST);
          break;
        case CH_BAR:
          this.#fixupBranch(fixup);
          this.#relocate(branchStart, 3);
          this.#code[branchStart] = SlreOp.BRANCH;
          this.#setJumpOffset(branchStart + 1, branchStart);
          fixup = branchStart + 2;
          this.#code[fixup] = 0xff;
          break;
        default:
          this.#pos--;
          lastOp = this.#codeSize;
          this.#exact();
          break;
      }
    }
  }
}
