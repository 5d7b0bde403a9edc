/**
 * Path lookup with symlinks (U-Boot's `ext4fs_find_file` / `ext4fs_find_file1`), including its
 * corners:
 *
 * - Leading and repeated slashes are skipped; every path is taken from the root. Names are matched
 *   case-sensitively against the records of each directory (`.` and `..` are records too).
 * - A trailing slash is ignored, so `hello.txt/` names the file.
 * - A symlink is followed when it is met: an absolute target from the root, a relative one from the
 *   directory holding the link. Targets shorter than 60 bytes are in the inode (fast symlinks), longer
 *   ones in the file's data. The 8th symlink of one lookup fails it (at most 7 are followed).
 * - A target that is empty or only slashes (`/`) leaves the link's type in place, so it resolves to
 *   neither a file nor a directory (U-Boot's quirk, kept).
 * - The result has the type of the last step; the caller checks it (U-Boot asks for a regular file
 *   for `size`/`load`/`exists`, a directory for `ls`).
 *
 * @example
 * ```ts ignore
 * const found = await findPath(fs, "/boot/Image", { puts() {} });
 * if (found?.type === "file") console.log(found.inode.sizeLo);
 * ```
 *
 * @module
 */

import { FsCorruptError, type FsEntryType, type FsTextSink } from "../fs_driver.ts";
import { scanDirectory } from "./directory.ts";
import { readFileData } from "./file_data.ts";
import { EXT2_ROOT_INO, type Ext4Fs } from "./filesystem.ts";
import { type Ext4Inode, I_BLOCK_BYTES } from "./inode.ts";
import { checkBound, MAX_PATH_COMPONENTS, MAX_SYMLINK_BYTES, MAX_SYMLINK_NEST } from "./limits.ts";

/** What a lookup found. */
export interface FoundPath {
  /** The inode. */
  readonly inode: Ext4Inode;
  /** Its type as the lookup decided it. */
  readonly type: FsEntryType;
}

/** One lookup's state. */
interface _Lookup {
  readonly fs: Ext4Fs;
  readonly root: Ext4Inode;
  /** Where U-Boot's own messages go (`Failed to iterate over directory %s`). */
  readonly out: FsTextSink;
  /** Symlinks met (`symlinknest`). */
  nest: number;
  /** Path components walked, symlink targets included. */
  steps: number;
}

/** `ext4fs_read_symlink`: the target as a byte string, cut at its first NUL. */
async function _readSymlink(fs: Ext4Fs, link: Ext4Inode): Promise<string> {
  const size = link.sizeLo;
  let bytes: Uint8Array;
  if (size < I_BLOCK_BYTES) {
    bytes = link.block.subarray(0, size);
  } else {
    checkBound("symlink length", size, MAX_SYMLINK_BYTES);
    bytes = new Uint8Array(size);
    await readFileData(fs, link, 0, size, (chunk, at) => bytes.set(chunk, at));
  }
  const nul = bytes.indexOf(0);
  let text = "";
  for (const b of nul >= 0 ? bytes.subarray(0, nul) : bytes) text += String.fromCharCode(b);
  return text;
}

/** `ext4fs_find_file1`: resolves `path` from the directory `base`; `type` is in/out as in U-Boot. */
async function _find(
  lk: _Lookup,
  path: string,
  base: Ext4Inode,
  type: { value: FsEntryType },
): Promise<Ext4Inode | undefined> {
  let at = 0;
  while (path[at] === "/") at++;
  if (at === path.length) return base;
  let current = base;
  let currentType: FsEntryType = "dir";
  for (;;) {
    if (++lk.steps > MAX_PATH_COMPONENTS) {
      throw new FsCorruptError(`Cannot look up a path of more than ${MAX_PATH_COMPONENTS} steps`);
    }
    const slash = path.indexOf("/", at);
    const name = slash < 0 ? path.slice(at) : path.slice(at, slash);
    let next = slash;
    if (next >= 0) { while (path[next] === "/") next++; }
    if (currentType !== "dir") return undefined;
    const parent = current;
    const scan = await scanDirectory(lk.fs, current, (entry) => entry.name === name);
    if (scan.kind === "failed") lk.out.puts(`Failed to iterate over directory ${name}\n`);
    if (scan.kind !== "found") return undefined;
    current = scan.entry.inode ?? await lk.fs.readInode(scan.entry.ino);
    currentType = scan.entry.type;
    if (currentType === "symlink") {
      if (++lk.nest === MAX_SYMLINK_NEST) return undefined;
      const target = await _readSymlink(lk.fs, current);
      const targetType = { value: currentType };
      const resolved = await _find(lk, target, target.startsWith("/") ? lk.root : parent, targetType);
      if (resolved === undefined) return undefined;
      current = resolved;
      currentType = targetType.value;
    }
    if (next < 0 || next === path.length) {
      type.value = currentType;
      return current;
    }
    at = next;
  }
}

/**
 * Looks `path` up from the root. `undefined` when a step is missing, a step before the last is not
 * a directory, or the symlinks nest too deep. Corrupt data throws {@linkcode FsCorruptError}.
 */
export async function findPath(fs: Ext4Fs, path: string, out: FsTextSink): Promise<FoundPath | undefined> {
  const root = await fs.readInode(EXT2_ROOT_INO);
  const type = { value: "dir" as FsEntryType };
  const lk: _Lookup = { fs, root, out, nest: 0, steps: 0 };
  const inode = await _find(lk, path, root, type);
  return inode === undefined ? undefined : { inode, type: type.value };
}
