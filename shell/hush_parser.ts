/**
 * The parser of U-Boot's old hush (common/cli_hush.c), as a behavioural model: the same character
 * classes, the same word, command and pipe construction, the same reserved-word state machine, so
 * that scripts parse — and fail to parse — exactly as on the board.
 *
 * Variable references are not expanded here: a word keeps `\x03name\x03` markers that the executor
 * substitutes just before the command runs (and then re-parses the command, as U-Boot does).
 *
 * @module
 */

/** Marks a variable reference inside a stored word: `\x03name\x03`. */
export const SPECIAL_VAR_SYMBOL = "\x03";
/** Marks substituted text that must be taken as it is (`HUSH_NO_EVAL`). */
export const SUBSTED_VAR_SYMBOL = "\x04";

/** `;` is a separator (the normal parse). */
export const FLAG_EXIT_FROM_LOOP = 1;
/** `;` is special and reserved words are recognised. */
export const FLAG_PARSE_SEMICOLON = 1 << 1;
/** Second pass over a command whose variables were substituted: `;$&|` are literal. */
export const FLAG_REPARSING = 1 << 2;
/** Newlines separate commands inside one parse (`run`). */
export const FLAG_CONT_ON_NEWLINE = 1 << 3;

/** Reserved-word states (`reserved_style`). */
export const enum Res {
  NONE = 0,
  IF = 1,
  THEN = 2,
  ELIF = 3,
  ELSE = 4,
  FI = 5,
  FOR = 6,
  WHILE = 7,
  UNTIL = 8,
  DO = 9,
  DONE = 10,
  XXXX = 11,
  IN = 12,
  SNTX = 13,
}

/** How a pipe connects to the next (`pipe_style`). */
export const enum PipeStyle {
  SEQ = 1,
  AND = 2,
  OR = 3,
}

/** One command: its words, or a group (an if/for/while construct). */
export interface Child {
  /** Words as stored (backslashes removed, variable markers kept); null before the first word. */
  argv: string[] | null;
  /** Per word: it was quoted (hush's `argv_nonnull`). */
  nonnull: boolean[];
  /** The body of a compound command. */
  group: Pipe | null;
  /** Number of variable references in the words. */
  sp: number;
}

/** A pipe: in U-Boot's hush always at most one command, plus its connector and reserved state. */
export interface Pipe {
  /** Committed commands (`num_progs` of them) followed by the one being built. */
  progs: Child[];
  /** Committed commands. */
  numProgs: number;
  /** Connector to the next pipe. */
  followup: PipeStyle;
  /** Reserved-word state the pipe was closed in. */
  rMode: Res;
  /** Next pipe in the list. */
  next: Pipe | null;
}

const FLAG_END = 1 << Res.NONE;
const FLAG_START = 1 << Res.XXXX;

interface Reserved {
  code: Res;
  flag: number;
}

const RESERVED: ReadonlyMap<string, Reserved> = new Map([
  ["if", { code: Res.IF, flag: (1 << Res.THEN) | FLAG_START }],
  ["then", { code: Res.THEN, flag: (1 << Res.ELIF) | (1 << Res.ELSE) | (1 << Res.FI) }],
  ["elif", { code: Res.ELIF, flag: 1 << Res.THEN }],
  ["else", { code: Res.ELSE, flag: 1 << Res.FI }],
  ["fi", { code: Res.FI, flag: FLAG_END }],
  ["for", { code: Res.FOR, flag: (1 << Res.IN) | FLAG_START }],
  ["while", { code: Res.WHILE, flag: (1 << Res.DO) | FLAG_START }],
  ["until", { code: Res.UNTIL, flag: (1 << Res.DO) | FLAG_START }],
  ["in", { code: Res.IN, flag: 1 << Res.DO }],
  ["do", { code: Res.DO, flag: 1 << Res.DONE }],
  ["done", { code: Res.DONE, flag: FLAG_END }],
]);

interface Context {
  listHead: Pipe;
  pipe: Pipe;
  child: Child | null;
  w: Res;
  oldFlag: number;
  stack: Context | null;
  type: number;
}

interface Word {
  data: string;
  quote: boolean;
  nonnull: boolean;
}

/** Character classes of `map[]`: 0 ordinary, 1 special unless quoted, 2 IFS, 3 always special. */
type CharClass = 0 | 1 | 2 | 3;

const EOF = -1;

/** The input of one parse: a byte string and a position in it. */
export class ParseInput {
  pos = 0;
  constructor(readonly text: string) {}
  getch(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos++) : EOF;
  }
  peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : EOF;
  }
  /** True when nothing is left. */
  get atEnd(): boolean {
    return this.pos >= this.text.length;
  }
}

/** Parse outcome: `0` a complete list, `1` a syntax error, `-1` end of input before the end trigger. */
export type ParseStatus = 0 | 1 | -1;

/** The result of parsing one list. */
export interface ParseResult {
  /** 0 complete, 1 syntax error (already reported), -1 input ended first. */
  status: ParseStatus;
  /** The list, when complete. */
  list: Pipe;
  /** A reserved construct was left open (`if` without `fi`). */
  open: boolean;
}

function _newPipe(): Pipe {
  return { progs: [], numProgs: 0, followup: PipeStyle.SEQ, rMode: Res.NONE, next: null };
}

function _newChild(): Child {
  return { argv: null, nonnull: [], group: null, sp: 0 };
}

/** One parse (`parse_stream`), reporting syntax errors through `syntaxError`. */
class Parser {
  readonly #map = new Uint8Array(256) as Uint8Array & { [i: number]: CharClass };
  constructor(readonly input: ParseInput, flag: number, ifs: string, readonly syntaxError: () => void) {
    // update_ifs_map()
    for (const c of `${SUBSTED_VAR_SYMBOL}\\$'"`) this.#map[c.charCodeAt(0)] = 3;
    for (const c of ";&|#") this.#map[c.charCodeAt(0)] = 1;
    for (const c of ifs) this.#map[c.charCodeAt(0) & 0xff] = 2;
    if (!(flag & FLAG_PARSE_SEMICOLON) || flag & FLAG_REPARSING) {
      for (const c of ";$&|") this.#map[c.charCodeAt(0)] = 0;
    }
  }

  static initContext(ctx: Context): void {
    ctx.listHead = _newPipe();
    ctx.pipe = ctx.listHead;
    ctx.child = null;
    ctx.w = Res.NONE;
    ctx.stack = null;
    ctx.oldFlag = 0;
    Parser.doneCommand(ctx);
  }

  static doneCommand(ctx: Context): void {
    const pi = ctx.pipe;
    const prog = ctx.child;
    if (prog && prog.group === null && prog.argv === null) return;
    if (prog) pi.numProgs++;
    const child = _newChild();
    pi.progs[pi.numProgs] = child;
    ctx.child = child;
  }

  static donePipe(ctx: Context, type: PipeStyle): void {
    Parser.doneCommand(ctx);
    ctx.pipe.followup = type;
    ctx.pipe.rMode = ctx.w;
    const p = _newPipe();
    ctx.pipe.next = p;
    ctx.pipe = p;
    ctx.child = null;
    Parser.doneCommand(ctx);
  }

  /** `reserved_word`: returns true when the word was a reserved word (handled or a syntax error). */
  reservedWord(dest: Word, ctx: Context): boolean {
    const r = RESERVED.get(dest.data);
    if (!r) return false;
    if (r.flag & FLAG_START) {
      if (ctx.w === Res.IN || ctx.w === Res.FOR) {
        this.syntaxError();
        ctx.w = Res.SNTX;
        _reset(dest);
        return true;
      }
      const saved: Context = { ...ctx };
      Parser.initContext(ctx);
      ctx.stack = saved;
    } else if (ctx.w === Res.NONE || !(ctx.oldFlag & (1 << r.code))) {
      this.syntaxError();
      ctx.w = Res.SNTX;
      _reset(dest);
      return true;
    }
    ctx.w = r.code;
    ctx.oldFlag = r.flag;
    if (ctx.oldFlag & FLAG_END) {
      Parser.donePipe(ctx, PipeStyle.SEQ);
      const old = ctx.stack!;
      old.child!.group = ctx.listHead;
      Object.assign(ctx, old);
    }
    _reset(dest);
    return true;
  }

  /** `done_word`: returns true on a syntax error. */
  doneWord(dest: Word, ctx: Context): boolean {
    const child = ctx.child!;
    if (dest.data.length === 0 && !dest.nonnull) return false;
    if (child.group) {
      this.syntaxError();
      return true;
    }
    if (!child.argv && ctx.type & FLAG_PARSE_SEMICOLON) {
      if (this.reservedWord(dest, ctx)) return ctx.w === Res.SNTX;
    }
    let stored = "";
    const data = dest.data;
    for (let i = 0; i < data.length; i++) {
      if (data[i] === "\\") i++;
      if (i < data.length) stored += data[i];
    }
    child.argv ??= [];
    child.argv.push(stored);
    child.nonnull.push(dest.nonnull);
    _reset(dest);
    if (ctx.w === Res.FOR) {
      this.doneWord(dest, ctx);
      Parser.donePipe(ctx, PipeStyle.SEQ);
    }
    return false;
  }

  /** `handle_dollar`: returns true on a syntax error. */
  handleDollar(dest: Word, ctx: Context): boolean {
    const input = this.input;
    let ch = input.peek();
    if (_isAlpha(ch)) {
      dest.data += SPECIAL_VAR_SYMBOL;
      ctx.child!.sp++;
      while ((ch = input.peek()), _isAlnum(ch) || ch === 0x5f) {
        input.getch();
        dest.data += String.fromCharCode(ch);
      }
      dest.data += SPECIAL_VAR_SYMBOL;
    } else if (ch === 0x3f /* ? */) {
      ctx.child!.sp++;
      dest.data += `${SPECIAL_VAR_SYMBOL}$?${SPECIAL_VAR_SYMBOL}`;
      input.getch();
    } else if (ch === 0x7b /* { */) {
      dest.data += SPECIAL_VAR_SYMBOL;
      ctx.child!.sp++;
      input.getch();
      while ((ch = input.getch()), ch !== EOF && ch !== 0x7d) dest.data += String.fromCharCode(ch);
      if (ch !== 0x7d) {
        this.syntaxError();
        return true;
      }
      dest.data += SPECIAL_VAR_SYMBOL;
    } else {
      _addq(dest, "$");
    }
    return false;
  }

  /** `parse_stream`. */
  parse(dest: Word, ctx: Context, endTrigger: number): ParseStatus {
    const input = this.input;
    let ch: number;
    while ((ch = input.getch()) !== EOF) {
      const m = this.#map[ch & 0xff]!;
      const next = ch === 0x0a ? 0 : input.peek();
      const c = String.fromCharCode(ch);
      if (m === 0 || ((m === 1 || m === 2) && dest.quote)) {
        _addq(dest, c);
        continue;
      }
      if (m === 2) {
        if (this.doneWord(dest, ctx)) return 1;
        if (endTrigger !== 0 && ch === 0x0a) Parser.donePipe(ctx, PipeStyle.SEQ);
      }
      if (ch === endTrigger && !dest.quote && ctx.w === Res.NONE) return 0;
      if (m === 2) continue;
      switch (c) {
        case "#":
          if (dest.data.length === 0 && !dest.quote) {
            while ((ch = input.peek()), ch !== EOF && ch !== 0x0a) input.getch();
          } else {
            _addq(dest, c);
          }
          break;
        case "\\":
          if (next === EOF) {
            this.syntaxError();
            return 1;
          }
          _addq(dest, "\\");
          _addq(dest, String.fromCharCode(input.getch()));
          break;
        case "$":
          if (this.handleDollar(dest, ctx)) return 1;
          break;
        case "'":
          dest.nonnull = true;
          while ((ch = input.getch()), ch !== EOF && ch !== 0x27) dest.data += String.fromCharCode(ch);
          if (ch === EOF) {
            this.syntaxError();
            return 1;
          }
          break;
        case '"':
          dest.nonnull = true;
          dest.quote = !dest.quote;
          break;
        case ";":
          this.doneWord(dest, ctx);
          Parser.donePipe(ctx, PipeStyle.SEQ);
          break;
        case "&":
          this.doneWord(dest, ctx);
          if (next === 0x26) {
            input.getch();
            Parser.donePipe(ctx, PipeStyle.AND);
          } else {
            this.syntaxError();
            return 1;
          }
          break;
        case "|":
          this.doneWord(dest, ctx);
          if (next === 0x7c) {
            input.getch();
            Parser.donePipe(ctx, PipeStyle.OR);
          } else {
            this.syntaxError();
            return 1;
          }
          break;
        case SUBSTED_VAR_SYMBOL:
          dest.nonnull = true;
          while ((ch = input.getch()), ch !== EOF && ch !== SUBSTED_VAR_SYMBOL.charCodeAt(0)) {
            dest.data += String.fromCharCode(ch);
          }
          if (ch === EOF) {
            this.syntaxError();
            return 1;
          }
          break;
        default:
          this.syntaxError();
          return 1;
      }
    }
    return endTrigger !== 0 ? -1 : 0;
  }
}

function _reset(w: Word): void {
  w.data = "";
  w.nonnull = false;
}

/** `b_addqchr`: inside double quotes, `*?[\` are protected with a backslash (removed when stored). */
function _addq(w: Word, c: string): void {
  if (w.quote && "*?[\\".includes(c)) w.data += "\\";
  w.data += c;
}

function _isAlpha(ch: number): boolean {
  const l = ch | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

function _isAlnum(ch: number): boolean {
  return _isAlpha(ch) || (ch >= 0x30 && ch <= 0x39);
}

/**
 * Parses one list from `input` (the body of `parse_stream_outer`'s loop): up to the end of the line
 * (or of the input with {@linkcode FLAG_CONT_ON_NEWLINE}), finishing the last word and pipe.
 */
export function parseList(
  input: ParseInput,
  flag: number,
  ifs: string,
  syntaxError: () => void,
): ParseResult {
  const parser = new Parser(input, flag, ifs, syntaxError);
  const ctx = { type: flag } as Context;
  Parser.initContext(ctx);
  const dest: Word = { data: "", quote: false, nonnull: false };
  const endTrigger = flag & FLAG_CONT_ON_NEWLINE ? EOF : 0x0a;
  const status = parser.parse(dest, ctx, endTrigger);
  const open = ctx.oldFlag !== 0;
  if (status !== 1 && !open) {
    parser.doneWord(dest, ctx);
    Parser.donePipe(ctx, PipeStyle.SEQ);
  }
  return { status, list: ctx.listHead, open };
}
