/**
 * pvboot's command-line flags: the guest configuration (from flags and an optional xl.cfg file, where
 * flags given explicitly win), commands to run (`-c`) or a script file, and what to trace.
 *
 * The file named by `--config` is read through the {@linkcode ConfigFileReader} the caller passes, so
 * this module stays free of `Deno.*`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configFromArgs } from "./cli_args.ts";
 *
 * const files = { readFile: () => Promise.resolve(new TextEncoder().encode("memory = 1536\n")) };
 * const args = await configFromArgs(["--config", "/etc/xen/domu.cfg", "--disk", "a.img,ro", "-c", "version"], files);
 * assert.ok(args.config.memoryMiB === 1536 && args.config.disks[0]?.vdev === "xvda");
 * assert.ok(args.command === "version" && !args.help);
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { dirname } from "node:path";
import {
  BOARD_NAMES,
  type BoardName,
  completeGuestConfig,
  defaultGuestConfig,
  type DiskSpec,
  type GuestConfig,
  GuestConfigError,
  MAX_DISKS,
  MAX_MEMORY_MIB,
  MAX_VCPUS,
  MIN_MEMORY_MIB,
  resolveDiskPaths,
  vdevName,
} from "./machine/guest_config.ts";
import { parseXlConfig } from "./machine/xl_cfg.ts";

/** Reads the `--config` file (the host's file system, or anything else in tests and browsers). */
export interface ConfigFileReader {
  /** The whole file. */
  readFile(path: string): Promise<Uint8Array>;
}

/** What the command line asks for. */
export interface CliArgs {
  /** The guest, complete and validated. */
  config: GuestConfig;
  /** `-c CMDS`: commands to run instead of an interactive session. */
  command?: string;
  /** The positional script file. */
  script?: string;
  /** `--trace KIND` (repeatable, or comma-separated): which events to trace. */
  trace?: string[];
  /** `--help` / `-h` was given. */
  help: boolean;
  /** Warnings from the config file (ignored keys and the like). */
  warnings: string[];
}

/** A bad flag or flag value (the message is for the user). */
export class CliArgsError extends TypeError {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "CliArgsError";
  }
}

/** The usage text `--help` prints. */
export const CLI_USAGE = `Usage: pvboot [OPTIONS] [SCRIPT]

Runs U-Boot's command line on an emulated ARM64 Xen guest.

Guest:
  --config FILE     read an xl.cfg(5) domain configuration (flags below override it)
  --memory MIB      guest RAM in MiB (default 512)
  --vcpus N         number of vCPUs (default 1)
  --name NAME       domain name
  --disk FILE[,ro]  attach a raw disk image (repeatable: xvda, xvdb, ...; replaces the config's disks)
  --dtb FILE        hand the guest this device tree blob instead of generating one
  --board NAME      behave as the ${BOARD_NAMES.join(" or ")} U-Boot build (default default)
  --extra STR       kernel command line (/chosen/bootargs)

Session:
  -c CMDS           run CMDS, then exit
  SCRIPT            run the commands in this file, then exit
  --trace KIND      trace events of KIND (repeatable or comma-separated)
  -h, --help        print this help
`;

const _OPTIONS = {
  memory: { type: "string" },
  vcpus: { type: "string" },
  name: { type: "string" },
  disk: { type: "string", multiple: true },
  config: { type: "string" },
  dtb: { type: "string" },
  board: { type: "string" },
  extra: { type: "string" },
  command: { type: "string", short: "c" },
  trace: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

const READ_ONLY_SUFFIX = ",ro";
const READ_WRITE_SUFFIX = ",rw";

/**
 * Parses `argv` (without the program name) into the guest configuration and the session's options.
 * With `--config FILE`, reads FILE through `files`, resolves its relative disk paths against FILE's
 * directory, then applies the flags given explicitly on top. With `--help`, nothing else is read or
 * checked (the defaults are returned). Throws {@linkcode CliArgsError} for a bad flag or value; a
 * malformed config file throws the parser's `XlConfigError` (it carries the line).
 */
export async function configFromArgs(argv: string[], files: ConfigFileReader): Promise<CliArgs> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: _OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    if (error instanceof TypeError) throw new CliArgsError(error.message.split(/[.\n]/)[0] ?? error.message);
    throw error;
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new CliArgsError(
      `only one script file may be given, not ${positionals.length}: ${positionals.join(" ")}`,
    );
  }

  if (values.help === true) return { config: defaultGuestConfig(), help: true, warnings: [] };

  let partial: Partial<GuestConfig> = {};
  const warnings: string[] = [];
  if (values.config !== undefined) {
    const path = values.config;
    const text = new TextDecoder().decode(await files.readFile(path));
    const file = parseXlConfig(text, { source: path });
    partial = resolveDiskPaths(file.config, dirname(path));
    warnings.push(...file.warnings);
  }

  if (values.memory !== undefined) {
    partial.memoryMiB = _integerFlag("--memory", values.memory, MIN_MEMORY_MIB, MAX_MEMORY_MIB, "MiB");
  }
  if (values.vcpus !== undefined) {
    partial.vcpus = _integerFlag("--vcpus", values.vcpus, 1, MAX_VCPUS, "vCPUs");
  }
  if (values.name !== undefined) partial.name = values.name;
  if (values.disk !== undefined) partial.disks = _diskFlags(values.disk);
  if (values.dtb !== undefined) {
    if (values.dtb.length === 0) throw new CliArgsError("--dtb needs a file name");
    partial.dtbPath = values.dtb;
  }
  if (values.board !== undefined) partial.board = _boardFlag(values.board);
  if (values.extra !== undefined) partial.extra = values.extra;

  let config: GuestConfig;
  try {
    config = completeGuestConfig(partial);
  } catch (error) {
    if (error instanceof GuestConfigError) throw new CliArgsError(error.message);
    throw error;
  }
  const result: CliArgs = { config, help: false, warnings };
  if (values.command !== undefined) result.command = values.command;
  const script = positionals[0];
  if (script !== undefined) result.script = script;
  if (values.trace !== undefined) result.trace = _traceFlags(values.trace);
  return result;
}

function _integerFlag(flag: string, text: string, min: number, max: number, unit: string): number {
  const value = /^[0-9]+$/.test(text) ? Number.parseInt(text, 10) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliArgsError(
      `invalid ${flag} '${text}': expected a whole number of ${unit} from ${min} to ${max}`,
    );
  }
  return value;
}

function _diskFlags(texts: string[]): DiskSpec[] {
  if (texts.length > MAX_DISKS) {
    throw new CliArgsError(`too many --disk flags (${texts.length}): at most ${MAX_DISKS}`);
  }
  return texts.map((text, index) => {
    let target = text;
    let access: DiskSpec["access"] = "rw";
    if (text.endsWith(READ_ONLY_SUFFIX)) {
      target = text.slice(0, -READ_ONLY_SUFFIX.length);
      access = "ro";
    } else if (text.endsWith(READ_WRITE_SUFFIX)) {
      target = text.slice(0, -READ_WRITE_SUFFIX.length);
    }
    if (target.length === 0) throw new CliArgsError(`invalid --disk '${text}': expected FILE or FILE,ro`);
    return { target, vdev: vdevName(index), access, format: "raw" };
  });
}

function _boardFlag(text: string): BoardName {
  const board = BOARD_NAMES.find((name) => name === text);
  if (board === undefined) {
    throw new CliArgsError(`invalid --board '${text}': expected ${BOARD_NAMES.join(" or ")}`);
  }
  return board;
}

function _traceFlags(texts: string[]): string[] {
  const kinds = texts.flatMap((text) => text.split(",")).map((kind) => kind.trim());
  if (kinds.some((kind) => kind.length === 0)) {
    throw new CliArgsError(`invalid --trace '${texts.join(",")}': empty event kind`);
  }
  return kinds;
}
