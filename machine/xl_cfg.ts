/**
 * Xen's `xl.cfg` domain configuration files (xl.cfg(5)) read into a {@linkcode GuestConfig}, with the
 * `disk` entries parsed as xl-disk-configuration(5) describes them.
 *
 * The syntax is libxlutil's: `KEY = VALUE` or `KEY += VALUE`, separated by newlines or `;`; keys are
 * lower-case identifiers; a value is a number (decimal, `0` octal or `0x` hex), a single- or
 * double-quoted string with C escapes, or a list `[ v, v, … ]` that may span lines, nest and end with a
 * comma; `#` starts a comment. A later setting of a key replaces an earlier one; `+=` appends to it.
 *
 * Keys pvboot uses: `name`, `memory`, `vcpus`, `disk`, and the kernel command line from `cmdline`, or
 * `root` and `extra` as xl combines them. Other keys of xl.cfg(5) are accepted: those that change
 * nothing pvboot emulates silently (`kernel`, which names the U-Boot binary in a real set-up, `type`,
 * `on_crash`, …), the devices and features pvboot does not emulate (`vif`, `pci`, `ramdisk`, …) with a
 * warning. Unknown keys are warnings too. Malformed syntax throws {@linkcode XlConfigError} carrying the
 * line; messages are shaped like xl's own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseXlConfig } from "./xl_cfg.ts";
 *
 * const { config, warnings } = parseXlConfig(`
 * name = "uboot"
 * memory = 1536
 * disk = [ 'disk.img,raw,xvda,rw',
 *          'format=raw, vdev=xvdb, access=ro, target=data,1.img', ]
 * `);
 * assert.ok(config.memoryMiB === 1536 && config.disks?.[1]?.target === "data,1.img");
 * assert.ok(warnings.length === 0);
 * ```
 *
 * @module
 */

import type { DiskAccess, DiskSpec, GuestConfig } from "./guest_config.ts";
import { MAX_DISKS, MAX_MEMORY_MIB, MAX_VCPUS, MIN_MEMORY_MIB } from "./guest_config.ts";

/** Largest configuration text accepted (real ones are a few hundred bytes). */
export const MAX_XL_CONFIG_CHARS = 1024 * 1024;
/** Deepest list nesting accepted. */
export const MAX_XL_LIST_DEPTH = 16;
/** Name used in messages when the caller gives none (xl prints the file name). */
const DEFAULT_SOURCE = "config";

/** Malformed configuration text or a value pvboot cannot use; `line` is 1-based. */
export class XlConfigError extends SyntaxError {
  /** The file name (or "config") the message names. */
  readonly source: string;
  /** The line the problem is on. */
  readonly line: number;
  /** Creates the error; the message reads `<source>:<line>: <detail>`. */
  constructor(source: string, line: number, detail: string) {
    super(`${source}:${line}: ${detail}`);
    this.name = "XlConfigError";
    this.source = source;
    this.line = line;
  }
}

/** A `disk` entry that xl-disk-configuration(5) rejects; the message is xl's. */
export class XlDiskSpecError extends SyntaxError {
  /** The whole specification string. */
  readonly spec: string;
  /** Creates the error for `spec`, naming `near` (the offending part) when given. */
  constructor(spec: string, detail: string, near?: string) {
    super(
      `config parsing error in disk specification: ${detail}${
        near === undefined ? "" : `: near \`${near}'`
      }` +
        ` in \`${spec}'`,
    );
    this.name = "XlDiskSpecError";
    this.spec = spec;
  }
}

/** Options for {@linkcode parseXlConfig}. */
export interface XlParseOptions {
  /** The name messages use for the text, normally its file name. */
  source?: string;
}

/** What {@linkcode parseXlConfig} found. */
export interface XlConfigResult {
  /** The settings present in the file (absent keys stay absent, for the caller's defaults). */
  config: Partial<GuestConfig>;
  /** One line per ignored or doubtful setting. */
  warnings: string[];
}

/** One `disk` entry as xl parses it, before pvboot decides whether it can attach it. */
export interface XlDiskEntry {
  /** The image path (`target`), possibly empty for a removable device. */
  target: string;
  /** `raw`, `qcow`, `qcow2`, `vhd`, `qed` or `empty`. */
  format: string;
  /** The virtual device. */
  vdev: string;
  /** Read-write or read-only. */
  access: DiskAccess;
  /** A CD-ROM (`devtype=cdrom`, `cdrom`, or the `:cdrom` suffix on the vdev). */
  cdrom: boolean;
  /** A hotplug script (`script=`, or a deprecated `iscsi:`/`nbd:`/`drbd:` prefix): the target is no file. */
  script?: string;
  /** `xen` or `virtio`, when given. */
  specification?: string;
  /** The backend domain, when given. */
  backend?: string;
}

// ----- lexer ----------------------------------------------------------------------------------------

type _TokenKind = "ident" | "number" | "string" | "=" | "+=" | "," | "[" | "]" | ";" | "newline" | "end";

interface _Token {
  kind: _TokenKind;
  /** Identifier or atom value (strings unquoted and unescaped). */
  value: string;
  /** The source text, for messages. */
  text: string;
  line: number;
}

const _TOKEN_NAMES: Record<_TokenKind, string> = {
  ident: "IDENT",
  number: "NUMBER",
  string: "STRING",
  "=": "'='",
  "+=": '"+="',
  ",": "','",
  "[": "'['",
  "]": "']'",
  ";": "';'",
  newline: "NEWLINE",
  end: "end of file",
};

const _SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  "\\": "\\",
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

function _lexError(source: string, line: number, near: string, detail: string): XlConfigError {
  const where = near.length === 0 ? "<newline>" : `\`${near}'`;
  return new XlConfigError(source, line, `config parsing error near ${where}: ${detail}`);
}

function _tokenize(text: string, source: string): _Token[] {
  const tokens: _Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? "";
    if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "\n") {
      tokens.push({ kind: "newline", value: "", text: "", line });
      line++;
      i++;
    } else if (c === "#") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
    } else if (c >= "a" && c <= "z") {
      const m = /[a-z][_0-9a-z]*/y;
      m.lastIndex = i;
      const word = m.exec(text)?.[0] ?? c;
      tokens.push({ kind: "ident", value: word, text: word, line });
      i += word.length;
    } else if (c >= "0" && c <= "9") {
      const m = /[0-9][0-9a-fx]*/y;
      m.lastIndex = i;
      const word = m.exec(text)?.[0] ?? c;
      tokens.push({ kind: "number", value: word, text: word, line });
      i += word.length;
    } else if (c === "'" || c === '"') {
      const start = i;
      let value = "";
      i++;
      for (;;) {
        const d = text[i];
        if (d === undefined || d === "\n") {
          throw _lexError(source, line, text.slice(start, i), "lexical error");
        }
        if (d === c) break;
        if (d === "\\") {
          const [decoded, used] = _unescape(text, i + 1, source, line, text.slice(start, i + 2));
          value += decoded;
          i += 1 + used;
        } else {
          value += d;
          i++;
        }
      }
      i++;
      tokens.push({ kind: "string", value, text: text.slice(start, i), line });
    } else if (c === "+" && text[i + 1] === "=") {
      tokens.push({ kind: "+=", value: "+=", text: "+=", line });
      i += 2;
    } else if (c === "=" || c === "," || c === "[" || c === "]" || c === ";") {
      tokens.push({ kind: c, value: c, text: c, line });
      i++;
    } else {
      const m = /[^ \t\r\n]*/y;
      m.lastIndex = i;
      throw _lexError(source, line, m.exec(text)?.[0] ?? c, "lexical error");
    }
  }
  tokens.push({ kind: "end", value: "", text: "", line });
  return tokens;
}

/**
 * Decodes the escape after a backslash at `text[at]` (libxlutil's dequoting). Returns the character and
 * the count of characters used; throws {@linkcode XlConfigError} for a bad escape.
 */
function _unescape(text: string, at: number, source: string, line: number, near: string): [string, number] {
  const c = text[at];
  if (c === undefined || c === "\n") throw _lexError(source, line, near, "lexical error");
  const simple = _SIMPLE_ESCAPES[c];
  if (simple !== undefined) return [simple, 1];
  if (c === "x") {
    const hex = /[0-9a-fA-F]{2}/y;
    hex.lastIndex = at + 1;
    const digits = hex.exec(text)?.[0];
    if (digits === undefined) {
      throw _lexError(
        source,
        line,
        near,
        "invalid digit after backslash hex numerical character escape in quoted string",
      );
    }
    return [String.fromCharCode(Number.parseInt(digits, 16)), 1 + digits.length];
  }
  if (c >= "0" && c <= "7") {
    const octal = /[0-7]{1,3}/y;
    octal.lastIndex = at;
    const digits = octal.exec(text)?.[0] ?? c;
    return [String.fromCharCode(Number.parseInt(digits, 8) & 0xff), digits.length];
  }
  throw _lexError(source, line, near, "invalid character after backslash in quoted string");
}

// ----- parser ---------------------------------------------------------------------------------------

interface _Atom {
  kind: "atom";
  value: string;
  line: number;
}

interface _List {
  kind: "list";
  items: _Value[];
  line: number;
}

type _Value = _Atom | _List;

interface _Setting {
  value: _Value;
  line: number;
}

class _Parser {
  #at = 0;
  constructor(readonly tokens: _Token[], readonly source: string) {}

  parse(): Map<string, _Setting> {
    const settings = new Map<string, _Setting>();
    for (;;) {
      const token = this.#peek();
      if (token.kind === "end") return settings;
      if (token.kind === "newline" || token.kind === ";") {
        this.#at++;
        continue;
      }
      if (token.kind !== "ident") throw this.#unexpected(token, ["IDENT"]);
      this.#assignment(settings);
      const after = this.#peek();
      if (after.kind === "newline" || after.kind === ";") this.#at++;
      else if (after.kind !== "end") throw this.#unexpected(after, ["NEWLINE", "';'"]);
    }
  }

  #assignment(settings: Map<string, _Setting>): void {
    const key = this.#next();
    const op = this.#next();
    if (op.kind !== "=" && op.kind !== "+=") throw this.#unexpected(op, ["'='", '"+="']);
    const value = this.#value(0);
    const previous = settings.get(key.value);
    if (op.kind === "+=" && previous !== undefined) {
      settings.set(key.value, { value: this.#concat(previous.value, value), line: value.line });
    } else {
      settings.set(key.value, { value, line: value.line });
    }
  }

  #value(depth: number): _Value {
    const token = this.#next();
    if (token.kind === "string" || token.kind === "number") {
      return { kind: "atom", value: token.value, line: token.line };
    }
    if (token.kind !== "[") throw this.#unexpected(token, ["STRING", "NUMBER", "'['"]);
    if (depth >= MAX_XL_LIST_DEPTH) {
      throw new XlConfigError(this.source, token.line, `lists nest deeper than ${MAX_XL_LIST_DEPTH} levels`);
    }
    const list: _List = { kind: "list", items: [], line: token.line };
    this.#skipNewlines();
    if (this.#peek().kind === "]") {
      this.#at++;
      return list;
    }
    for (;;) {
      list.items.push(this.#value(depth + 1));
      this.#skipNewlines();
      const separator = this.#next();
      if (separator.kind === "]") return list;
      if (separator.kind !== ",") throw this.#unexpected(separator, ["','", "']'"]);
      this.#skipNewlines();
      if (this.#peek().kind === "]") {
        this.#at++;
        return list;
      }
    }
  }

  #concat(previous: _Value, added: _Value): _Value {
    if (previous.kind === "atom" && added.kind === "atom") {
      return { kind: "atom", value: previous.value + added.value, line: added.line };
    }
    if (previous.kind === "list" && added.kind === "list") {
      return { kind: "list", items: [...previous.items, ...added.items], line: added.line };
    }
    throw new XlConfigError(this.source, added.line, `can't add [list] to "string" or vice versa`);
  }

  #skipNewlines(): void {
    while (this.#peek().kind === "newline") this.#at++;
  }

  #peek(): _Token {
    return this.tokens[this.#at] ?? this.tokens[this.tokens.length - 1] ?? _END;
  }

  #next(): _Token {
    const token = this.#peek();
    if (token.kind !== "end") this.#at++;
    return token;
  }

  #unexpected(token: _Token, expected: string[]): XlConfigError {
    return _lexError(
      this.source,
      token.line,
      token.text,
      `syntax error, unexpected ${_TOKEN_NAMES[token.kind]}, expecting ${expected.join(" or ")}`,
    );
  }
}

const _END: _Token = { kind: "end", value: "", text: "", line: 1 };

// ----- disk specifications --------------------------------------------------------------------------

const _DISK_FORMATS = new Set(["raw", "qcow", "qcow2", "vhd", "empty", "qed"]);
const _DISK_BACKEND_TYPES = new Set(["phy", "tap", "qdisk", "standalone"]);
const _DISK_SPECIFICATIONS = new Set(["xen", "virtio"]);
/** Flags that take no value and change nothing pvboot emulates. */
const _DISK_FLAGS = new Set([
  "direct-io-safe",
  "discard",
  "no-discard",
  "colo",
  "no-colo",
  "trusted",
  "untrusted",
]);
/** `key=value` parameters accepted and ignored. */
const _DISK_IGNORED_KEYS = new Set(["colo-host", "colo-port", "colo-export", "active-disk", "hidden-disk"]);
/** Deprecated prefixes that only name the backend (`phy:/dev/sdb`, `file:/img`, `tap:aio:/img`). */
const _DISK_PLAIN_PREFIXES = /^(?:tapdisk|tap2?|aio|ioemu|file|phy):/;
const _DISK_FORMAT_PREFIX = /^(raw|qcow2?|vhd):/;
const _DISK_SCRIPT_PREFIX = /^(iscsi|e?nbd|drbd):/;
const _DISK_UNKNOWN_PREFIX = /^[a-z][a-z0-9]*:(?:[^a-z0-9]|$)/;
const _DISK_KEY_VALUE = /^([a-z][-a-z0-9_]*)=([^,]*),?/;
/** Longest disk specification accepted. */
const MAX_DISK_SPEC_CHARS = 4096;

interface _DiskState {
  target?: string;
  format?: string;
  vdev?: string;
  access: DiskAccess;
  accessSet: boolean;
  cdrom: boolean;
  deprecatedPrefix: boolean;
  script?: string;
  specification?: string;
  backend?: string;
}

/**
 * Parses one `disk` entry as xl does (xl-disk-configuration(5)): positional
 * `[target[, format[, vdev[, access]]]]`, `key=value` parameters (`target=` last, since it takes the
 * rest of the string, commas included), flags such as `cdrom`, and the deprecated `phy:`/`file:`/`raw:`
 * prefixes. Throws {@linkcode XlDiskSpecError}.
 */
export function parseXlDiskSpec(spec: string): XlDiskEntry {
  if (spec.length > MAX_DISK_SPEC_CHARS) {
    throw new XlDiskSpecError(spec.slice(0, 64) + "…", `longer than ${MAX_DISK_SPEC_CHARS} characters`);
  }
  const state: _DiskState = { access: "rw", accessSet: false, cdrom: false, deprecatedPrefix: false };
  let rest = spec;
  while (rest.length > 0) {
    const trimmed = rest.replace(/^[ \t\n]+/, "");
    if (trimmed.length === 0) break;
    rest = trimmed;
    if (rest.startsWith("target=")) {
      _saveString(state, "target", _stripComma(rest.slice("target=".length)), spec, rest);
      break;
    }
    const prefix = _diskPrefix(state, rest, spec);
    if (prefix > 0) {
      rest = rest.slice(prefix);
      continue;
    }
    const flag = /^([a-z][-a-z0-9]*)(?:,|$)/.exec(rest);
    if (flag !== null && (flag[1] === "cdrom" || _DISK_FLAGS.has(flag[1] ?? ""))) {
      if (flag[1] === "cdrom") state.cdrom = true;
      rest = rest.slice(flag[0].length);
      continue;
    }
    const pair = _DISK_KEY_VALUE.exec(rest);
    if (pair !== null) {
      _diskParameter(state, pair[1] ?? "", pair[2] ?? "", spec, pair[0]);
      rest = rest.slice(pair[0].length);
      continue;
    }
    const positional = /^[^=,]*,|^[^=,]+/.exec(rest);
    if (positional === null) {
      throw new XlDiskSpecError(spec, "bad disk syntax", rest);
    }
    _diskPositional(state, _stripComma(positional[0]), spec);
    rest = rest.slice(positional[0].length);
  }
  let format = state.format ?? "raw";
  let access = state.access;
  if (state.cdrom) {
    access = "ro";
    if (state.target === undefined || state.target === "") format = "empty";
  }
  if (state.vdev === undefined) throw new XlDiskSpecError(spec, "no vdev specified");
  if (state.target === undefined && !state.cdrom) {
    throw new XlDiskSpecError(spec, "no target specified (and device not removable)");
  }
  const entry: XlDiskEntry = {
    target: state.target ?? "",
    format,
    vdev: state.vdev,
    access,
    cdrom: state.cdrom,
  };
  if (state.script !== undefined) entry.script = state.script;
  if (state.specification !== undefined) entry.specification = state.specification;
  if (state.backend !== undefined) entry.backend = state.backend;
  return entry;
}

function _stripComma(text: string): string {
  return text.endsWith(",") ? text.slice(0, -1) : text;
}

/** Handles a deprecated `prefix:` at the start of `rest`; returns the characters used (0 for none). */
function _diskPrefix(state: _DiskState, rest: string, spec: string): number {
  const format = _DISK_FORMAT_PREFIX.exec(rest);
  if (format !== null) {
    state.deprecatedPrefix = true;
    _setFormat(state, format[1] ?? "", spec);
    return format[0].length;
  }
  const script = _DISK_SCRIPT_PREFIX.exec(rest);
  if (script !== null) {
    state.deprecatedPrefix = true;
    _saveString(state, "script", `block-${script[1] ?? ""}`, spec, script[1] ?? "");
    return script[0].length;
  }
  const plain = _DISK_PLAIN_PREFIXES.exec(rest);
  if (plain !== null) {
    state.deprecatedPrefix = true;
    return plain[0].length;
  }
  if (_DISK_UNKNOWN_PREFIX.test(rest)) {
    throw new XlDiskSpecError(spec, "unknown deprecated disk prefix", rest);
  }
  return 0;
}

function _diskParameter(state: _DiskState, key: string, value: string, spec: string, text: string): void {
  switch (key) {
    case "format":
      _setFormat(state, value, spec);
      return;
    case "devtype":
      if (value === "cdrom") state.cdrom = true;
      else if (value === "disk") state.cdrom = false;
      else throw new XlDiskSpecError(spec, "unknown value for type", text);
      return;
    case "access":
      state.access = _access(value, spec);
      return;
    case "backend":
      _saveString(state, "backend", value, spec, value);
      return;
    case "backendtype":
      if (!_DISK_BACKEND_TYPES.has(value)) {
        throw new XlDiskSpecError(spec, "unknown value for backendtype", value);
      }
      return;
    case "specification":
      if (!_DISK_SPECIFICATIONS.has(value)) {
        throw new XlDiskSpecError(spec, "unknown value for specification", value);
      }
      state.specification = value;
      return;
    case "vdev":
      _saveString(state, "vdev", value, spec, value);
      return;
    case "script":
      _saveString(state, "script", value, spec, value);
      return;
    case "grant_usage":
      if (value !== "0" && value !== "1") throw new XlDiskSpecError(spec, "unknown parameter", text);
      return;
    default:
      if (_DISK_IGNORED_KEYS.has(key)) return;
      throw new XlDiskSpecError(spec, "unknown parameter", text);
  }
}

function _diskPositional(state: _DiskState, text: string, spec: string): void {
  if (state.target === undefined) {
    state.target = text;
  } else if (!state.deprecatedPrefix && state.format === undefined) {
    if (state.target === "" && _vdevAndDevtype(state, text, spec)) state.format = "empty";
    else _setFormat(state, text, spec);
  } else if (state.vdev === undefined) {
    if (!_vdevAndDevtype(state, text, spec)) state.vdev = text;
  } else if (!state.accessSet) {
    state.accessSet = true;
    state.access = _access(text, spec);
  } else {
    throw new XlDiskSpecError(spec, "too many positional parameters", text);
  }
}

/** The deprecated `vdev:devtype` positional form; false when `text` has no colon. */
function _vdevAndDevtype(state: _DiskState, text: string, spec: string): boolean {
  const colon = text.lastIndexOf(":");
  if (colon < 0) return false;
  _saveString(state, "vdev", text.slice(0, colon), spec, text.slice(0, colon));
  const type = text.slice(colon + 1);
  if (type === "cdrom") state.cdrom = true;
  else if (type === "disk") state.cdrom = false;
  else throw new XlDiskSpecError(spec, "unknown deprecated type", type);
  return true;
}

function _setFormat(state: _DiskState, value: string, spec: string): void {
  const format = value === "" ? "raw" : value;
  if (!_DISK_FORMATS.has(format)) throw new XlDiskSpecError(spec, "unknown value for format", value);
  if (state.format !== undefined && state.format !== format) {
    throw new XlDiskSpecError(spec, "format respecified", value);
  }
  state.format = format;
}

function _access(value: string, spec: string): DiskAccess {
  if (value === "r" || value === "ro") return "ro";
  if (value === "rw" || value === "w" || value === "") return "rw";
  throw new XlDiskSpecError(spec, "unknown value for access", value);
}

/** Sets a string parameter; a non-empty one may not be given twice (xl's `savestring`). */
function _saveString(
  state: _DiskState,
  what: "target" | "vdev" | "script" | "backend",
  value: string,
  spec: string,
  near: string,
): void {
  const current = state[what];
  if (current !== undefined && current !== "") throw new XlDiskSpecError(spec, `${what} respecified`, near);
  state[what] = value;
}

// ----- keys -----------------------------------------------------------------------------------------

/** Keys of xl.cfg(5) that change nothing pvboot emulates: accepted silently. */
const _SILENT_KEYS = new Set([
  "kernel",
  "type",
  "builder",
  "uuid",
  "pool",
  "maxvcpus",
  "cpus",
  "cpus_soft",
  "cpu_weight",
  "cap",
  "maxmem",
  "on_poweroff",
  "on_reboot",
  "on_watchdog",
  "on_crash",
  "on_soft_reset",
  "seclabel",
  "init_seclabel",
  "max_grant_frames",
  "max_maptrack_frames",
  "max_grant_version",
  "max_event_channels",
  "nomigrate",
  "driver_domain",
  "passthrough",
  "xend_suspend_evtchn_compat",
  "vmtrace_buf_kb",
  "vpmu",
  "gic_version",
  "sve",
  "tee",
  "shadow_memory",
  "acpi",
  "localtime",
  "rtc_timeoffset",
  "timer_mode",
  "nestedhvm",
]);

/** Keys of xl.cfg(5) for devices or features pvboot does not emulate: accepted with a warning. */
const _UNSUPPORTED_KEYS = new Set([
  "ramdisk",
  "device_tree",
  "bootloader",
  "bootloader_args",
  "bootloader_restrict",
  "bootloader_user",
  "firmware",
  "pvshim",
  "pvshim_path",
  "pvshim_cmdline",
  "pvshim_extra",
  "vnuma",
  "vif",
  "vtpm",
  "p9",
  "pvcalls",
  "vfb",
  "channel",
  "rdm",
  "usbctrl",
  "usbdev",
  "pci",
  "pci_permissive",
  "pci_msitranslate",
  "pci_seize",
  "pci_power_mgmt",
  "dtdev",
  "ioports",
  "iomem",
  "irqs",
  "vdispl",
  "dm_restrict",
  "device_model_user",
  "vsnd",
  "vkb",
  "virtio",
  "vuart",
  "serial",
  "device_model_version",
  "device_model_override",
  "device_model_args",
  "vnc",
  "vnclisten",
  "vncdisplay",
  "vncunused",
  "vncpasswd",
  "sdl",
  "opengl",
  "keymap",
  "nographic",
  "boot",
  "hdtype",
  "hap",
  "bios",
  "pae",
  "apic",
  "nx",
  "hpet",
  "viridian",
  "xen_platform_pci",
  "videoram",
  "stdvga",
  "vga",
  "usb",
  "usbdevice",
  "soundhw",
  "cpuid",
  "tsc_mode",
  "e820_host",
]);

/** The values `type` may have; pvboot's guest is PVH, the only type Arm has. */
const _GUEST_TYPES = new Set(["pv", "pvh", "hvm"]);

class _Interpreter {
  readonly config: Partial<GuestConfig> = {};
  readonly warnings: string[] = [];
  constructor(readonly settings: Map<string, _Setting>, readonly source: string) {}

  run(): XlConfigResult {
    const used = new Set(["name", "memory", "vcpus", "disk", "extra", "root", "cmdline"]);
    const name = this.#string("name");
    if (name !== undefined) this.config.name = name;
    const memory = this.#number("memory", MIN_MEMORY_MIB, MAX_MEMORY_MIB);
    if (memory !== undefined) this.config.memoryMiB = memory;
    const vcpus = this.#number("vcpus", 1, MAX_VCPUS);
    if (vcpus !== undefined) this.config.vcpus = vcpus;
    const disks = this.#disks();
    if (disks !== undefined) this.config.disks = disks;
    const cmdline = this.#cmdline();
    if (cmdline !== undefined) this.config.extra = cmdline;
    this.#checkType();
    for (const [key, setting] of this.settings) {
      if (used.has(key) || _SILENT_KEYS.has(key)) continue;
      if (_UNSUPPORTED_KEYS.has(key)) {
        this.#warn(setting.line, `parameter \`${key}' is not supported by pvboot (ignored)`);
      } else {
        this.#warn(setting.line, `unknown parameter \`${key}' (ignored)`);
      }
    }
    return { config: this.config, warnings: this.warnings };
  }

  #warn(line: number, text: string): void {
    this.warnings.push(`${this.source}:${line}: warning: ${text}`);
  }

  #error(line: number, text: string): XlConfigError {
    return new XlConfigError(this.source, line, text);
  }

  #string(key: string): string | undefined {
    const setting = this.settings.get(key);
    if (setting === undefined) return undefined;
    if (setting.value.kind !== "atom") {
      throw this.#error(setting.line, `parameter \`${key}' is a list but should be a single value`);
    }
    return setting.value.value;
  }

  /** xl's `xlu_cfg_get_bounded_long`: strtol with base 0, the whole string, within bounds. */
  #number(key: string, min: number, max: number): number | undefined {
    const text = this.#string(key);
    if (text === undefined) return undefined;
    const line = this.settings.get(key)?.line ?? 0;
    const match = /^[ \t\n]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
    if (match === null) throw this.#error(line, `parameter \`${key}' is not a valid number`);
    const digits = match[2] ?? "";
    const magnitude = /^0[xX]/.test(digits)
      ? Number.parseInt(digits.slice(2), 16)
      : digits.length > 1 && digits.startsWith("0")
      ? Number.parseInt(digits, 8)
      : Number.parseInt(digits, 10);
    if (!Number.isSafeInteger(magnitude)) {
      throw this.#error(
        line,
        `parameter \`${key}' could not be parsed as a number: Numerical result out of range`,
      );
    }
    const value = match[1] === "-" ? -magnitude : magnitude;
    if (value < min) throw this.#error(line, `value \`${value}' is smaller than minimum bound '${min}'`);
    if (value > max) throw this.#error(line, `value \`${value}' is greater than maximum bound '${max}'`);
    return value;
  }

  #disks(): DiskSpec[] | undefined {
    const setting = this.settings.get("disk");
    if (setting === undefined) return undefined;
    if (setting.value.kind !== "list") {
      throw this.#error(setting.line, "parameter `disk' is a single value but should be a list");
    }
    if (setting.value.items.length > MAX_DISKS) {
      throw this.#error(setting.line, `too many disks (${setting.value.items.length}): at most ${MAX_DISKS}`);
    }
    const disks: DiskSpec[] = [];
    for (const item of setting.value.items) {
      if (item.kind !== "atom") throw this.#error(item.line, "disk entry is a list but should be a string");
      let entry: XlDiskEntry;
      try {
        entry = parseXlDiskSpec(item.value);
      } catch (error) {
        if (error instanceof XlDiskSpecError) throw this.#error(item.line, error.message);
        throw error;
      }
      const disk = this.#diskSpec(entry, item.line);
      if (disk !== undefined) disks.push(disk);
    }
    return disks;
  }

  /** What pvboot can attach of an xl disk entry: CD-ROMs are skipped, other formats refused. */
  #diskSpec(entry: XlDiskEntry, line: number): DiskSpec | undefined {
    if (entry.cdrom) {
      this.#warn(line, `disk ${entry.vdev}: CD-ROM devices are not supported by pvboot (ignored)`);
      return undefined;
    }
    if (entry.script !== undefined) {
      throw this.#error(
        line,
        `disk ${entry.vdev}: script ${entry.script} is not supported (image files only)`,
      );
    }
    if (entry.specification === "virtio") {
      throw this.#error(line, `disk ${entry.vdev}: virtio disks are not supported (Xen PV only)`);
    }
    if (entry.format !== "raw") {
      throw this.#error(line, `disk ${entry.vdev}: format ${entry.format} is not supported (raw only)`);
    }
    if (entry.target === "") throw this.#error(line, `disk ${entry.vdev}: no target specified`);
    if (entry.backend !== undefined) {
      this.#warn(line, `disk ${entry.vdev}: backend ${entry.backend} ignored, Dom0 serves every disk`);
    }
    return { target: entry.target, vdev: entry.vdev, access: entry.access, format: "raw" };
  }

  /** xl's rule: `cmdline` if given, else `root=<root> <extra>`, `root=<root>` or `<extra>`. */
  #cmdline(): string | undefined {
    const cmdline = this.#string("cmdline");
    const root = this.#string("root");
    const extra = this.#string("extra");
    if (cmdline !== undefined) {
      if (root !== undefined || extra !== undefined) {
        const line = this.settings.get(root !== undefined ? "root" : "extra")?.line ?? 0;
        this.#warn(line, "ignoring root= and extra= in favour of cmdline=");
      }
      return cmdline;
    }
    if (root !== undefined && extra !== undefined) return `root=${root} ${extra}`;
    if (root !== undefined) return `root=${root}`;
    return extra;
  }

  #checkType(): void {
    const type = this.#string("type");
    if (type === undefined) return;
    const line = this.settings.get("type")?.line ?? 0;
    if (!_GUEST_TYPES.has(type)) throw this.#error(line, `Invalid domain type ${type}.`);
    if (type !== "pvh") this.#warn(line, `type "${type}" does not exist on Arm; the guest is PVH`);
  }
}

/**
 * Parses the text of an xl.cfg(5) file. Returns the settings pvboot uses (absent keys stay absent) and
 * warnings for ignored keys; throws {@linkcode XlConfigError} (with the line) for malformed syntax or a
 * value pvboot cannot use. Relative disk targets are returned as written: the caller resolves them
 * (see `resolveDiskPaths` in guest_config.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseXlConfig } from "./xl_cfg.ts";
 *
 * const { config, warnings } = parseXlConfig("memory = 0x400; vif = [ 'bridge=xenbr0' ]\n", {
 *   source: "domu.cfg",
 * });
 * assert.ok(config.memoryMiB === 1024);
 * assert.ok(warnings[0] === "domu.cfg:1: warning: parameter `vif' is not supported by pvboot (ignored)");
 * ```
 */
export function parseXlConfig(text: string, options: XlParseOptions = {}): XlConfigResult {
  const source = options.source ?? DEFAULT_SOURCE;
  if (text.length > MAX_XL_CONFIG_CHARS) {
    throw new XlConfigError(source, 1, `config is larger than ${MAX_XL_CONFIG_CHARS} characters`);
  }
  const tokens = _tokenize(text, source);
  const settings = new _Parser(tokens, source).parse();
  return new _Interpreter(settings, source).run();
}
