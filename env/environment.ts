/**
 * U-Boot's environment: a table of name=value byte strings with the access flags of env/flags.c
 * (write-once `ethaddr`/`serial#`, MAC-typed `eth*addr`) and change callbacks (`loadaddr`).
 *
 * @module
 */

/** An environment operation refused; `lines` is what U-Boot prints for it. */
export class EnvError extends Error {
  /** The text U-Boot prints (already newline-terminated). */
  readonly lines: string;
  /** Creates the refusal. */
  constructor(lines: string) {
    super(`Cannot change the environment: ${lines.trim()}`);
    this.name = "EnvError";
    this.lines = lines;
  }
}

/** Options of a set or delete, as the `-f` flag of `setenv`/`env delete` gives them. */
export interface EnvSetOptions {
  /** H_FORCE: overrides write-once flags. */
  force?: boolean;
}

/** Called after a variable changed; `value` is `undefined` when it was deleted. */
export type EnvCallback = (name: string, value: string | undefined) => void;

const MAC_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

/** Access and type flags of one variable (env/flags.c `.flags` defaults of a networked build). */
interface VarFlags {
  writeOnce: boolean;
  mac: boolean;
}

function _flagsFor(name: string): VarFlags {
  if (/^eth\d*addr$/.test(name)) return { writeOnce: true, mac: true };
  if (name === "serial#") return { writeOnce: true, mac: false };
  return { writeOnce: false, mac: false };
}

/** The environment. */
export class Environment {
  readonly #vars = new Map<string, string>();
  readonly #callbacks = new Map<string, EnvCallback>();
  readonly #defaults: ReadonlyMap<string, string>;
  /** `ENV_SIZE`: the size printed by `printenv` (the environment area less its CRC). */
  readonly envSize: number;

  /** Creates an environment holding `defaults` (the board's default environment). */
  constructor(defaults: Iterable<readonly [string, string]>, envSize: number) {
    this.#defaults = new Map(defaults);
    this.envSize = envSize;
    for (const [name, value] of this.#defaults) this.#vars.set(name, value);
  }

  /** Registers the callback run when `name` changes (U-Boot's `.callbacks`). */
  onChange(name: string, callback: EnvCallback): void {
    this.#callbacks.set(name, callback);
  }

  /** `env_get`: the value, or `undefined` when unset. */
  get(name: string): string | undefined {
    return this.#vars.get(name);
  }

  /** True when `name` is set. */
  has(name: string): boolean {
    return this.#vars.has(name);
  }

  /** The compiled-in default of `name`. */
  getDefault(name: string): string | undefined {
    return this.#defaults.get(name);
  }

  /** Names of the default environment. */
  defaultNames(): string[] {
    return [...this.#defaults.keys()];
  }

  /**
   * `env_set`: sets `name` to `value`; an empty value deletes, as U-Boot's `env_set` does.
   * Throws {@linkcode EnvError} when the flags refuse it.
   */
  envSet(name: string, value: string): void {
    if (value === "") this.delete(name);
    else this.set(name, value);
  }

  /**
   * Enters `name=value` into the table (`hsearch_r(ENV_ENTER)`); an empty value is stored as it is,
   * as `setenv name ''` does. Throws {@linkcode EnvError} when the flags refuse it.
   */
  set(name: string, value: string, options: EnvSetOptions = {}): void {
    const flags = _flagsFor(name);
    if (flags.mac && !MAC_RE.test(value)) {
      throw new EnvError(`## Error: flags type check failure for "${name}" <= "${value}" (type: m)\n`);
    }
    const old = this.#vars.get(name);
    if (old !== undefined && flags.writeOnce && !options.force) {
      throw new EnvError(`## Error: Can't overwrite "${name}"\n`);
    }
    this.#vars.set(name, value);
    this.#callbacks.get(name)?.(name, value);
  }

  /** Deletes `name`; returns false when it did not exist. Throws {@linkcode EnvError} when refused. */
  delete(name: string, options: EnvSetOptions = {}): boolean {
    if (!this.#vars.has(name)) return false;
    if (_flagsFor(name).writeOnce && !options.force) {
      throw new EnvError(`## Error: Can't delete "${name}"\n`);
    }
    this.#vars.delete(name);
    this.#callbacks.get(name)?.(name, undefined);
    return true;
  }

  /** `env_set_hex`: `%lx`, no `0x`. */
  setHex(name: string, value: number | bigint): void {
    this.set(name, BigInt(value).toString(16));
  }

  /** All variables sorted by name (strcmp order). */
  entries(): [string, string][] {
    return [...this.#vars.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Drops everything and re-imports the defaults (`env default -a`); keeps names in `keep`. */
  resetToDefault(keep: ReadonlySet<string> = new Set()): void {
    const kept = new Map<string, string>();
    for (const name of keep) {
      const value = this.#vars.get(name);
      if (value !== undefined) kept.set(name, value);
    }
    const before = [...this.#vars.keys()];
    this.#vars.clear();
    for (const [name, value] of this.#defaults) this.#vars.set(name, value);
    for (const [name, value] of kept) this.#vars.set(name, value);
    for (const name of new Set([...before, ...this.#vars.keys()])) {
      this.#callbacks.get(name)?.(name, this.#vars.get(name));
    }
  }

  /**
   * Restores one variable's default (`env default var`); a variable the default environment does not
   * have is left as it is, as U-Boot's import of the default environment leaves it.
   */
  resetVarToDefault(name: string, options: EnvSetOptions = {}): void {
    const value = this.#defaults.get(name);
    if (value !== undefined) this.set(name, value, { force: true, ...options });
  }

  /**
   * The `printenv` listing: `name=value\n` per variable, `\` and newline in values escaped with `\`
   * (hexport with '\n' as separator); names starting with `.` only with `all`. Returns the text and
   * the "Environment size" figure.
   */
  export(all: boolean): { text: string; size: number } {
    let text = "";
    for (const [name, value] of this.entries()) {
      if (!all && name.startsWith(".")) continue;
      text += `${name}=${value.replace(/[\\\n]/g, (c) => `\\${c}`)}\n`;
    }
    return { text, size: text.length + 1 };
  }
}
