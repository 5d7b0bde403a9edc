/**
 * Path lookup as U-Boot 2023.01's `fat_itr_resolve` does it:
 *
 * - `/` and `\` both separate components; leading and repeated separators are skipped.
 * - In the root, `.` and `..` are the root itself (it has no such entries); elsewhere they are the
 *   directory's own `.`/`..` entries, and a `..` whose cluster is 0 leads to the root.
 * - A component matches an entry when `strncasecmp` over the longer of the two lengths says equal,
 *   against the long name and also against the short (8.3) name: `THISIS~1.TXT`, `hello.txt` and
 *   `HELLO.TXT` all find a file stored as `hello.txt`.
 * - A file followed by more path is "not found"; a file where only a directory is wanted is "not a
 *   directory"; a directory where only a file is wanted is "not found".
 *
 * The walk is bounded by the path's length: each step consumes a component.
 *
 * @example
 * ```ts ignore
 * const found = await resolvePath(ctx, "/dir1/dir2", TYPE_DIR);
 * if (found.kind === "dir") console.log(found.dir.cluster);
 * ```
 *
 * @module
 */

import { childDir, type DirItem, DirIterator, type DirRef, isDirItem, rootDir } from "./dir_iterator.ts";
import type { FatContext } from "./dir_iterator.ts";
import { strncasecmp } from "./fat_names.ts";

/** `TYPE_FILE`: a regular file is acceptable. */
export const TYPE_FILE = 0x1;
/** `TYPE_DIR`: a directory is acceptable. */
export const TYPE_DIR = 0x2;
/** `TYPE_ANY`. */
export const TYPE_ANY = TYPE_FILE | TYPE_DIR;

/** The outcome of a lookup. */
export type Resolved =
  | {
    /** A directory. */
    readonly kind: "dir";
    /** The directory. */
    readonly dir: DirRef;
    /** Its entry in its parent (absent for the root). */
    readonly item?: DirItem;
    /** The directory that holds that entry (absent for the root). */
    readonly parent?: DirRef;
  }
  | {
    /** A file. */
    readonly kind: "file";
    /** Its entry. */
    readonly item: DirItem;
    /** The directory holding it. */
    readonly parent: DirRef;
  }
  | {
    /** Nothing acceptable (`-ENOENT`, `-ENOTDIR`). */
    readonly kind: "missing" | "not-dir";
  };

/** True for U-Boot's `ISDIRDELIM`. */
export function isDirDelimiter(c: string | undefined): boolean {
  return c === "/" || c === "\\";
}

/** `fat_itr_resolve(itr at root, path, type)`. */
export async function resolvePath(ctx: FatContext, path: string, type: number): Promise<Resolved> {
  let dir = rootDir(ctx.geo);
  let item: DirItem | undefined;
  let parent: DirRef | undefined;
  let p = 0;
  for (;;) {
    while (p < path.length && isDirDelimiter(path[p])) p++;
    if (p >= path.length) {
      if (!(type & TYPE_DIR)) return { kind: "missing" };
      return item === undefined || parent === undefined
        ? { kind: "dir", dir }
        : { kind: "dir", dir, item, parent };
    }
    let end = p;
    while (end < path.length && !isDirDelimiter(path[end])) end++;
    const component = path.slice(p, end);
    if (dir.root && (component === "." || component === "..")) {
      dir = rootDir(ctx.geo);
      item = undefined;
      parent = undefined;
      if (end >= path.length) return type & TYPE_DIR ? { kind: "dir", dir } : { kind: "missing" };
      p = end;
      continue;
    }
    const rest = path.slice(p);
    const it = new DirIterator(ctx, dir);
    let found: DirItem | undefined;
    for (let entry = await it.next(); entry !== undefined; entry = await it.next()) {
      const n = Math.max(entry.name.length, component.length);
      if (
        strncasecmp(rest, entry.name, n) === 0 ||
        (entry.hasLongName && strncasecmp(rest, entry.shortName, n) === 0)
      ) {
        found = entry;
        break;
      }
    }
    if (found === undefined) return { kind: "missing" };
    if (isDirItem(found)) {
      parent = dir;
      item = found;
      dir = childDir(ctx.geo, found);
      p = end;
      continue;
    }
    if (end < path.length) return { kind: "missing" };
    if (!(type & TYPE_FILE)) return { kind: "not-dir" };
    return { kind: "file", item: found, parent: dir };
  }
}
