/**
 * libfdt's error codes, their names as `fdt_strerror` prints them, and the typed error value the
 * pvboot FDT functions return instead of a negative integer.
 *
 * @module
 */

/** The requested node or property does not exist. */
export const FDT_ERR_NOTFOUND = 1;
/** A node or property of that name already exists. */
export const FDT_ERR_EXISTS = 2;
/** The blob has no room left (its `totalsize` is the limit). */
export const FDT_ERR_NOSPACE = 3;
/** An offset does not point at the right kind of structure record. */
export const FDT_ERR_BADOFFSET = 4;
/** A path is badly formed (or names an alias that does not exist). */
export const FDT_ERR_BADPATH = 5;
/** A phandle is 0 or 0xffffffff. */
export const FDT_ERR_BADPHANDLE = 6;
/** A sequential-write blob is in the wrong state for the call. */
export const FDT_ERR_BADSTATE = 7;
/** The structure or strings run past the end of the blob. */
export const FDT_ERR_TRUNCATED = 8;
/** The header magic is wrong. */
export const FDT_ERR_BADMAGIC = 9;
/** The blob's version is not supported. */
export const FDT_ERR_BADVERSION = 10;
/** The structure block is corrupt. */
export const FDT_ERR_BADSTRUCTURE = 11;
/** The blocks are not in the order the read-write functions need. */
export const FDT_ERR_BADLAYOUT = 12;
/** libfdt failed an internal check. */
export const FDT_ERR_INTERNAL = 13;
/** A `#address-cells` / `#size-cells` value is malformed. */
export const FDT_ERR_BADNCELLS = 14;
/** A property value has the wrong form. */
export const FDT_ERR_BADVALUE = 15;
/** An overlay cannot be applied. */
export const FDT_ERR_BADOVERLAY = 16;
/** No phandle values are left. */
export const FDT_ERR_NOPHANDLES = 17;
/** Invalid flags were passed. */
export const FDT_ERR_BADFLAGS = 18;
/** The blob is not 8-byte aligned. */
export const FDT_ERR_ALIGNMENT = 19;
/** The largest error code. */
export const FDT_ERR_MAX = 19;

/** One of the `FDT_ERR_*` codes (positive, as libfdt defines them). */
export type FdtErrorCode =
  | typeof FDT_ERR_NOTFOUND
  | typeof FDT_ERR_EXISTS
  | typeof FDT_ERR_NOSPACE
  | typeof FDT_ERR_BADOFFSET
  | typeof FDT_ERR_BADPATH
  | typeof FDT_ERR_BADPHANDLE
  | typeof FDT_ERR_BADSTATE
  | typeof FDT_ERR_TRUNCATED
  | typeof FDT_ERR_BADMAGIC
  | typeof FDT_ERR_BADVERSION
  | typeof FDT_ERR_BADSTRUCTURE
  | typeof FDT_ERR_BADLAYOUT
  | typeof FDT_ERR_INTERNAL
  | typeof FDT_ERR_BADNCELLS
  | typeof FDT_ERR_BADVALUE
  | typeof FDT_ERR_BADOVERLAY
  | typeof FDT_ERR_NOPHANDLES
  | typeof FDT_ERR_BADFLAGS
  | typeof FDT_ERR_ALIGNMENT;

const ERROR_NAMES: readonly string[] = [
  "",
  "FDT_ERR_NOTFOUND",
  "FDT_ERR_EXISTS",
  "FDT_ERR_NOSPACE",
  "FDT_ERR_BADOFFSET",
  "FDT_ERR_BADPATH",
  "FDT_ERR_BADPHANDLE",
  "FDT_ERR_BADSTATE",
  "FDT_ERR_TRUNCATED",
  "FDT_ERR_BADMAGIC",
  "FDT_ERR_BADVERSION",
  "FDT_ERR_BADSTRUCTURE",
  "FDT_ERR_BADLAYOUT",
  "FDT_ERR_INTERNAL",
  "FDT_ERR_BADNCELLS",
  "FDT_ERR_BADVALUE",
  "FDT_ERR_BADOVERLAY",
  "FDT_ERR_NOPHANDLES",
  "FDT_ERR_BADFLAGS",
  "FDT_ERR_ALIGNMENT",
];

/**
 * The text `fdt_strerror` gives for a libfdt return value: `<valid offset/length>` for a positive value,
 * `<no error>` for 0, the symbolic name for `-FDT_ERR_*`, `<unknown error>` otherwise.
 *
 * @example
 * ```ts
 * import { FDT_ERR_NOSPACE, fdtStrerror } from "./errors.ts";
 * console.log(fdtStrerror(-FDT_ERR_NOSPACE)); // "FDT_ERR_NOSPACE"
 * ```
 */
export function fdtStrerror(errval: number): string {
  if (errval > 0) return "<valid offset/length>";
  if (errval === 0) return "<no error>";
  return ERROR_NAMES[-errval] ?? "<unknown error>";
}

/** True when `code` is one of the `FDT_ERR_*` codes. */
export function isFdtErrorCode(code: number): code is FdtErrorCode {
  return Number.isInteger(code) && code >= FDT_ERR_NOTFOUND && code <= FDT_ERR_MAX;
}

/**
 * A libfdt error as a value: what a libfdt function reports with a negative return. It is returned,
 * not thrown, by the FDT functions; `code` is the positive `FDT_ERR_*` number.
 *
 * @example
 * ```ts
 * import { FDT_ERR_NOTFOUND, FdtError } from "./errors.ts";
 * const error = new FdtError(FDT_ERR_NOTFOUND, "find node");
 * console.log(error.errName, error.errval); // "FDT_ERR_NOTFOUND" -1
 * ```
 */
export class FdtError extends Error {
  /** The `FDT_ERR_*` code (positive). */
  readonly code: FdtErrorCode;

  /** Creates the error for `code`; `action` completes the message "Cannot <action>: <name>". */
  constructor(code: FdtErrorCode, action: string) {
    super(`Cannot ${action}: ${fdtStrerror(-code)}`);
    this.name = "FdtError";
    this.code = code;
  }

  /** The symbolic name, as U-Boot prints it (`FDT_ERR_NOTFOUND`, ...). */
  get errName(): string {
    return fdtStrerror(-this.code);
  }

  /** The value a libfdt function would have returned (`-code`). */
  get errval(): number {
    return -this.code;
  }
}

/** A value, or the libfdt error that prevented it. */
export type FdtResult<T> = T | FdtError;

/** Turns a libfdt-style negative return (`-FDT_ERR_*`) into an {@linkcode FdtError} (unknown codes: INTERNAL). */
export function fdtErrorFrom(errval: number, action: string): FdtError {
  const code = -errval;
  return new FdtError(isFdtErrorCode(code) ? code : FDT_ERR_INTERNAL, action);
}
