/**
 * Directories (U-Boot's `ext4fs_iterate_dir`): a linear scan of `struct ext2_dirent` records
 * (inode u32, rec_len u16, name_len u8, file_type u8, name) over the directory's `i_size_lo` bytes,
 * in on-disk order. Hashed (htree) directories read the same way: their index blocks look like one
 * empty record, and the checksum tail of a leaf is a record without a name.
 *
 * - A record with rec_len 0 ends the scan the way U-Boot's does: it reports
 *   `Failed to iterate over directory %s` and the directory counts as not searched further.
 * - Records without a name are skipped; so are records with inode 0 (deleted first entries of a
 *   block, which U-Boot would misread as inode "0").
 * - The type is the record's `file_type` when it is not 0 (1 file, 2 directory, 7 symlink, any
 *   other value "other"), else the inode's mode, as in U-Boot.
 * - Names are byte strings cut at their first NUL (C strings).
 * - pvboot checks what U-Boot does not: rec_len a multiple of 4 and at least 12, the name inside the
 *   record, the record inside its block, the directory at most {@link MAX_DIRECTORY_BYTES}.
 *   A bad record is an {@linkcode FsCorruptError}.
 *
 * @example
 * ```ts ignore
 * const scan = await scanDirectory(fs, dirInode, (entry) => entry.name === "boot");
 * ```
 *
 * @module
 */

import { FsCorruptError, type FsEntryType } from "../fs_driver.ts";
import { readFileData } from "./file_data.ts";
import type { Ext4Fs } from "./filesystem.ts";
import { type Ext4Inode, inodeType, S_IFDIR, S_IFLNK, S_IFREG } from "./inode.ts";
import { checkBound, MAX_DIRECTORY_BYTES } from "./limits.ts";

/** `inode`. */
export const DIRENT_INODE = 0x00;
/** `rec_len`. */
export const DIRENT_REC_LEN = 0x04;
/** `name_len`. */
export const DIRENT_NAME_LEN = 0x06;
/** `file_type`. */
export const DIRENT_FILE_TYPE = 0x07;
/** Bytes before the name (`sizeof(struct ext2_dirent)`). */
export const DIRENT_HEADER_BYTES = 8;
/** The smallest record (`EXT4_DIR_REC_LEN(1)`). */
export const DIRENT_MIN_REC_LEN = 12;
/** Records are 4-byte aligned (`EXT4_DIR_ROUND + 1`). */
export const DIRENT_ALIGN = 4;
/** `EXT4_MAX_REC_LEN`: how a 65536-byte record is stored with 64 KiB blocks. */
export const EXT4_MAX_REC_LEN = 0xffff;

/** `FILETYPE_UNKNOWN`: read the type from the inode. */
export const FT_UNKNOWN = 0;
/** `FILETYPE_REG`. */
export const FT_REG_FILE = 1;
/** `FILETYPE_DIRECTORY`. */
export const FT_DIR = 2;
/** `FILETYPE_SYMLINK`. */
export const FT_SYMLINK = 7;

/** Bytes of directory read at a time (whole blocks). */
const SCAN_WINDOW_BYTES = 64 * 1024;

/** One directory record. */
export interface Ext4DirEntry {
  /** The name (a byte string). */
  readonly name: string;
  /** Its inode number. */
  readonly ino: number;
  /** Its type as U-Boot decides it. */
  readonly type: FsEntryType;
  /** The inode, when deciding the type needed it. */
  readonly inode: Ext4Inode | undefined;
}

/** How a scan ended. */
export type ScanResult =
  /** The visitor accepted an entry. */
  | { readonly kind: "found"; readonly entry: Ext4DirEntry }
  /** Every record was seen. */
  | { readonly kind: "end" }
  /** A record with rec_len 0 stopped the scan (U-Boot: `Failed to iterate over directory`). */
  | { readonly kind: "failed" };

function _typeOfMode(inode: Ext4Inode): FsEntryType {
  switch (inodeType(inode)) {
    case S_IFREG:
      return "file";
    case S_IFDIR:
      return "dir";
    case S_IFLNK:
      return "symlink";
    default:
      return "other";
  }
}

function _typeOfRecord(fileType: number): FsEntryType {
  return fileType === FT_REG_FILE
    ? "file"
    : fileType === FT_DIR
    ? "dir"
    : fileType === FT_SYMLINK
    ? "symlink"
    : "other";
}

/** The bytes of a name up to its first NUL, as a byte string. */
function _cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  const used = nul >= 0 ? bytes.subarray(0, nul) : bytes;
  let text = "";
  for (const b of used) text += String.fromCharCode(b);
  return text;
}

/**
 * Scans `dir`'s records in order, calling `visit` for each named one until it returns true.
 * Throws {@linkcode FsCorruptError} on a bad record.
 */
export async function scanDirectory(
  fs: Ext4Fs,
  dir: Ext4Inode,
  visit: (entry: Ext4DirEntry) => boolean | Promise<boolean>,
): Promise<ScanResult> {
  const size = dir.sizeLo;
  checkBound("directory size", size, MAX_DIRECTORY_BYTES);
  const bs = fs.blockSize;
  const window = Math.max(bs, SCAN_WINDOW_BYTES);
  for (let base = 0; base < size; base += window) {
    const length = Math.min(window, size - base);
    const data = new Uint8Array(length);
    await readFileData(fs, dir, base, length, (chunk, at) => data.set(chunk, at));
    const view = new DataView(data.buffer);
    for (let pos = 0; pos < length;) {
      const where = `directory inode ${dir.ino} at byte ${base + pos}`;
      if (pos + DIRENT_HEADER_BYTES > length) {
        throw new FsCorruptError(`Cannot read ${where}: truncated record`);
      }
      let recLen = view.getUint16(pos + DIRENT_REC_LEN, true);
      if (recLen === 0) return { kind: "failed" };
      if (recLen === EXT4_MAX_REC_LEN && bs > EXT4_MAX_REC_LEN) recLen = bs;
      const nameLen = view.getUint8(pos + DIRENT_NAME_LEN);
      const blockEnd = (Math.floor((base + pos) / bs) + 1) * bs - base;
      if (
        recLen < DIRENT_MIN_REC_LEN || recLen % DIRENT_ALIGN !== 0 ||
        DIRENT_HEADER_BYTES + nameLen > recLen ||
        pos + recLen > blockEnd || pos + recLen > length
      ) {
        throw new FsCorruptError(`Cannot read ${where}: rec_len ${recLen}, name_len ${nameLen}`);
      }
      const ino = view.getUint32(pos + DIRENT_INODE, true);
      if (nameLen !== 0 && ino !== 0) {
        const name = _cString(data.subarray(pos + DIRENT_HEADER_BYTES, pos + DIRENT_HEADER_BYTES + nameLen));
        const fileType = view.getUint8(pos + DIRENT_FILE_TYPE);
        let inode: Ext4Inode | undefined;
        let type: FsEntryType;
        if (fileType === FT_UNKNOWN) {
          inode = await fs.readInode(ino);
          type = _typeOfMode(inode);
        } else {
          type = _typeOfRecord(fileType);
        }
        const entry: Ext4DirEntry = { name, ino, type, inode };
        if (await visit(entry)) return { kind: "found", entry };
      }
      pos += recLen;
    }
  }
  return { kind: "end" };
}
