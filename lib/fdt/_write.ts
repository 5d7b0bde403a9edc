/**
 * Internal: libfdt's read-write and write-in-place functions (`fdt_rw.c`, `fdt_wip.c`) with libfdt's
 * integer conventions. The blob is edited where it lies; its `totalsize` is the space limit, and data
 * is kept in libfdt's order: header, memory reservation map, structure, strings, free space.
 *
 * @module
 */

import { type Blob, blobOf, hdr, move, setHdr, writeU32, writeU64 } from "./_access.ts";
import {
  checkNodeOffset,
  findProperty,
  getNameSpan,
  getProperty,
  memRsvAt,
  nextTag,
  nodeEndOffset,
  numMemRsv,
  realignShift,
  roProbe,
  subnodeOffset,
} from "./_read.ts";
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_LAST_COMPATIBLE_VERSION,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_NODE_HEADER_SIZE,
  FDT_NOP,
  FDT_PROP,
  FDT_PROP_HEADER_SIZE,
  FDT_PROP_LEN,
  FDT_PROP_NAMEOFF,
  FDT_RESERVE_ENTRY_ADDRESS,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_RESERVE_ENTRY_SIZE_FIELD,
  FDT_TAGSIZE,
  FDT_V17_SIZE,
  fdtTagAlign,
} from "./constants.ts";
import {
  FDT_ERR_BADLAYOUT,
  FDT_ERR_BADOFFSET,
  FDT_ERR_BADVERSION,
  FDT_ERR_EXISTS,
  FDT_ERR_INTERNAL,
  FDT_ERR_NOSPACE,
  FDT_ERR_NOTFOUND,
} from "./errors.ts";

/** Where libfdt puts the reservation map when it lays a blob out: the header size rounded to 8. */
export const FDT_MEM_RSV_OFFSET = Math.ceil(FDT_V17_SIZE / 8) * 8;
/** Where `fdt_create` puts the reservation map: the header size rounded to a reservation entry. */
const SW_MEM_RSV_OFFSET = Math.ceil(FDT_V17_SIZE / FDT_RESERVE_ENTRY_SIZE) * FDT_RESERVE_ENTRY_SIZE;
/** The version the read-write functions need and produce. */
const RW_VERSION = 17;

function blocksMisordered(b: Blob, memRsvSize: number, structSize: number): boolean {
  const rsv = hdr(b, "off_mem_rsvmap");
  const struct = hdr(b, "off_dt_struct");
  const strings = hdr(b, "off_dt_strings");
  return rsv < FDT_MEM_RSV_OFFSET || struct < rsv + memRsvSize || strings < struct + structSize ||
    hdr(b, "totalsize") < strings + hdr(b, "size_dt_strings");
}

/** `fdt_rw_probe_`: 0 when the blob can be edited in place, else a negative error. */
export function rwProbe(b: Blob): number {
  const probe = roProbe(b);
  if (probe < 0) return probe;
  if (hdr(b, "version") < RW_VERSION) return -FDT_ERR_BADVERSION;
  if (blocksMisordered(b, FDT_RESERVE_ENTRY_SIZE, hdr(b, "size_dt_struct"))) return -FDT_ERR_BADLAYOUT;
  if (hdr(b, "version") > FDT_LAST_SUPPORTED_VERSION) setHdr(b, "version", FDT_LAST_SUPPORTED_VERSION);
  return 0;
}

function dataSize(b: Blob): number {
  return hdr(b, "off_dt_strings") + hdr(b, "size_dt_strings");
}

/** `fdt_splice_`: replaces `oldlen` bytes at absolute offset `at` by `newlen` bytes (contents undefined). */
function splice(b: Blob, at: number, oldlen: number, newlen: number): number {
  const dsize = dataSize(b);
  if (oldlen < 0 || at + oldlen > dsize) return -FDT_ERR_BADOFFSET;
  if (at < 0 || dsize + newlen < oldlen) return -FDT_ERR_BADOFFSET;
  if (dsize - oldlen + newlen > hdr(b, "totalsize")) return -FDT_ERR_NOSPACE;
  move(b, at + newlen, at + oldlen, dsize - at - oldlen);
  return 0;
}

function spliceMemRsv(b: Blob, at: number, oldn: number, newn: number): number {
  const delta = (newn - oldn) * FDT_RESERVE_ENTRY_SIZE;
  const err = splice(b, at, oldn * FDT_RESERVE_ENTRY_SIZE, newn * FDT_RESERVE_ENTRY_SIZE);
  if (err) return err;
  setHdr(b, "off_dt_struct", hdr(b, "off_dt_struct") + delta);
  setHdr(b, "off_dt_strings", hdr(b, "off_dt_strings") + delta);
  return 0;
}

function spliceStruct(b: Blob, at: number, oldlen: number, newlen: number): number {
  const err = splice(b, at, oldlen, newlen);
  if (err) return err;
  const delta = newlen - oldlen;
  setHdr(b, "size_dt_struct", hdr(b, "size_dt_struct") + delta);
  setHdr(b, "off_dt_strings", hdr(b, "off_dt_strings") + delta);
  return 0;
}

function spliceString(b: Blob, newlen: number): number {
  const err = splice(b, dataSize(b), 0, newlen);
  if (err) return err;
  setHdr(b, "size_dt_strings", hdr(b, "size_dt_strings") + newlen);
  return 0;
}

/** Offset of `s` + NUL anywhere in the strings block (a suffix of a longer string matches), or -1. */
export function findString(table: Uint8Array, s: Uint8Array): number {
  const last = table.length - s.length - 1;
  for (let p = 0; p <= last; p++) {
    let i = 0;
    while (i < s.length && table[p + i] === s[i]) i++;
    if (i === s.length && table[p + i] === 0) return p;
  }
  return -1;
}

interface StringSlot {
  offset: number;
  allocated: boolean;
}

/** `fdt_find_add_string_`. */
function findAddString(b: Blob, s: Uint8Array): StringSlot | number {
  const start = hdr(b, "off_dt_strings");
  const size = hdr(b, "size_dt_strings");
  const found = findString(b.bytes.subarray(start, start + size), s);
  if (found >= 0) return { offset: found, allocated: false };
  const at = start + size;
  const err = spliceString(b, s.length + 1);
  if (err) return err;
  b.bytes.set(s, at);
  b.bytes[at + s.length] = 0;
  return { offset: at - start, allocated: true };
}

/** `fdt_add_mem_rsv`. */
export function addMemRsv(b: Blob, address: bigint, size: bigint): number {
  const probe = rwProbe(b);
  if (probe) return probe;
  const n = numMemRsv(b);
  if (n < 0) return n;
  const at = hdr(b, "off_mem_rsvmap") + n * FDT_RESERVE_ENTRY_SIZE;
  const err = spliceMemRsv(b, at, 0, 1);
  if (err) return err;
  writeU64(b, at + FDT_RESERVE_ENTRY_ADDRESS, address);
  writeU64(b, at + FDT_RESERVE_ENTRY_SIZE_FIELD, size);
  return 0;
}

/** `fdt_del_mem_rsv` (a negative index is NOTFOUND here; libfdt would splice before the map). */
export function delMemRsv(b: Blob, n: number): number {
  const probe = rwProbe(b);
  if (probe) return probe;
  const num = numMemRsv(b);
  if (num < 0) return num;
  if (n < 0 || n >= num) return -FDT_ERR_NOTFOUND;
  const at = memRsvAt(b, n);
  if (at < 0) return -FDT_ERR_BADOFFSET;
  return spliceMemRsv(b, at, 1, 0);
}

/** Absolute offset of a property's FDT_PROP tag. */
function propAbs(b: Blob, structOffset: number): number {
  return hdr(b, "off_dt_struct") + structOffset;
}

/** `fdt_setprop_placeholder_namelen`: makes room for a `len`-byte value; returns its absolute offset. */
export function setpropPlaceholder(b: Blob, nodeoffset: number, name: Uint8Array, len: number): number {
  const probe = rwProbe(b);
  if (probe) return probe;
  const existing = getProperty(b, nodeoffset, name);
  if (typeof existing !== "number") {
    // fdt_resize_property_
    const err = spliceStruct(b, existing.dataAt, fdtTagAlign(existing.len), fdtTagAlign(len));
    if (err) return err;
    writeU32(b, propAbs(b, existing.offset) + FDT_PROP_LEN, len);
    return existing.dataAt;
  }
  if (existing !== -FDT_ERR_NOTFOUND) return existing;
  return addProperty(b, nodeoffset, name, len);
}

/** `fdt_add_property_`: a new property right after the node's name; returns the value's absolute offset. */
function addProperty(b: Blob, nodeoffset: number, name: Uint8Array, len: number): number {
  const next = checkNodeOffset(b, nodeoffset);
  if (next < 0) return next;
  const slot = findAddString(b, name);
  if (typeof slot === "number") return slot;
  const at = propAbs(b, next);
  const err = spliceStruct(b, at, 0, FDT_PROP_HEADER_SIZE + fdtTagAlign(len));
  if (err) {
    if (slot.allocated) setHdr(b, "size_dt_strings", hdr(b, "size_dt_strings") - (name.length + 1));
    return err;
  }
  writeU32(b, at, FDT_PROP);
  writeU32(b, at + FDT_PROP_NAMEOFF, slot.offset);
  writeU32(b, at + FDT_PROP_LEN, len);
  return at + FDT_PROP_HEADER_SIZE;
}

/** `fdt_setprop`. The value is copied first, so it may be a view of the blob itself. */
export function setprop(b: Blob, nodeoffset: number, name: Uint8Array, value: Uint8Array): number {
  const data = value.slice();
  const at = setpropPlaceholder(b, nodeoffset, name, data.length);
  if (at < 0) return at;
  b.bytes.set(data, at);
  return 0;
}

/** `fdt_appendprop`. */
export function appendprop(b: Blob, nodeoffset: number, name: Uint8Array, value: Uint8Array): number {
  const data = value.slice();
  const probe = rwProbe(b);
  if (probe) return probe;
  const existing = getProperty(b, nodeoffset, name);
  if (typeof existing !== "number") {
    const newlen = existing.len + data.length;
    const err = spliceStruct(b, existing.dataAt, fdtTagAlign(existing.len), fdtTagAlign(newlen));
    if (err) return err;
    writeU32(b, propAbs(b, existing.offset) + FDT_PROP_LEN, newlen);
    b.bytes.set(data, existing.dataAt + existing.len);
    return 0;
  }
  // libfdt adds the property whatever made the lookup fail; adding checks the node offset itself.
  const at = addProperty(b, nodeoffset, name, data.length);
  if (at < 0) return at;
  b.bytes.set(data, at);
  return 0;
}

/** `fdt_delprop`. */
export function delprop(b: Blob, nodeoffset: number, name: Uint8Array): number {
  const probe = rwProbe(b);
  if (probe) return probe;
  const prop = getProperty(b, nodeoffset, name);
  if (typeof prop === "number") return prop;
  return spliceStruct(b, propAbs(b, prop.offset), FDT_PROP_HEADER_SIZE + fdtTagAlign(prop.len), 0);
}

/** `fdt_set_name`. */
export function setName(b: Blob, nodeoffset: number, name: Uint8Array): number {
  const probe = rwProbe(b);
  if (probe) return probe;
  const span = getNameSpan(b, nodeoffset);
  if (span.length < 0) return span.length;
  const err = spliceStruct(b, span.at, fdtTagAlign(span.length + 1), fdtTagAlign(name.length + 1));
  if (err) return err;
  b.bytes.set(name, span.at);
  b.bytes[span.at + name.length] = 0;
  return 0;
}

/** `fdt_add_subnode_namelen`: the new node goes after the parent's properties, before its first child. */
export function addSubnode(b: Blob, parentoffset: number, name: Uint8Array): number {
  const probe = rwProbe(b);
  if (probe) return probe;
  const existing = subnodeOffset(b, parentoffset, name);
  if (existing >= 0) return -FDT_ERR_EXISTS;
  if (existing !== -FDT_ERR_NOTFOUND) return existing;
  let step = nextTag(b, parentoffset);
  if (step.tag !== FDT_BEGIN_NODE) return -FDT_ERR_INTERNAL;
  let offset: number;
  do {
    offset = step.next;
    step = nextTag(b, offset);
  } while (step.tag === FDT_PROP || step.tag === FDT_NOP);
  const at = propAbs(b, offset);
  const nameLen = fdtTagAlign(name.length + 1);
  const nodelen = FDT_NODE_HEADER_SIZE + nameLen + FDT_TAGSIZE;
  const err = spliceStruct(b, at, 0, nodelen);
  if (err) return err;
  writeU32(b, at, FDT_BEGIN_NODE);
  b.bytes.fill(0, at + FDT_NODE_HEADER_SIZE, at + FDT_NODE_HEADER_SIZE + nameLen);
  b.bytes.set(name, at + FDT_NODE_HEADER_SIZE);
  writeU32(b, at + nodelen - FDT_TAGSIZE, FDT_END_NODE);
  return offset;
}

/** `fdt_del_node`. */
export function delNode(b: Blob, nodeoffset: number): number {
  const probe = rwProbe(b);
  if (probe) return probe;
  const end = nodeEndOffset(b, nodeoffset);
  if (end < 0) return end;
  return spliceStruct(b, propAbs(b, nodeoffset), end - nodeoffset, 0);
}

/** `fdt_setprop_inplace_namelen_partial`: overwrites `value.length` bytes at `index` of the value. */
export function setpropInplacePartial(
  b: Blob,
  nodeoffset: number,
  name: Uint8Array,
  index: number,
  value: Uint8Array,
): number {
  const prop = findProperty(b, nodeoffset, name);
  if (typeof prop === "number") return prop;
  if (index < 0 || prop.len < value.length + index) return -FDT_ERR_NOSPACE;
  b.bytes.set(value.slice(), prop.dataAt + realignShift(b, prop) + index);
  return 0;
}

/** `fdt_setprop_inplace`: the new value must have the old length. */
export function setpropInplace(b: Blob, nodeoffset: number, name: Uint8Array, value: Uint8Array): number {
  const prop = findProperty(b, nodeoffset, name);
  if (typeof prop === "number") return prop;
  if (prop.len !== value.length) return -FDT_ERR_NOSPACE;
  return setpropInplacePartial(b, nodeoffset, name, 0, value);
}

function nopRegion(b: Blob, at: number, length: number): void {
  for (let p = at; p < at + length; p += FDT_TAGSIZE) writeU32(b, p, FDT_NOP);
}

/** `fdt_nop_property`. */
export function nopProperty(b: Blob, nodeoffset: number, name: Uint8Array): number {
  const prop = getProperty(b, nodeoffset, name);
  if (typeof prop === "number") return prop;
  nopRegion(b, propAbs(b, prop.offset), prop.len + FDT_PROP_HEADER_SIZE);
  return 0;
}

/** `fdt_nop_node`. */
export function nopNode(b: Blob, nodeoffset: number): number {
  const end = nodeEndOffset(b, nodeoffset);
  if (end < 0) return end;
  nopRegion(b, propAbs(b, nodeoffset), end - nodeoffset);
  return 0;
}

/**
 * Copies the three blocks of `src` into `dst` in libfdt's order (`fdt_packblocks_`). Returns 0, or
 * -BADLAYOUT when the packed blocks would not fit `dst` (a corrupt header libfdt would overrun with).
 */
function packBlocks(
  srcBytes: Uint8Array,
  src: Blob,
  dst: Blob,
  memRsvSize: number,
  structSize: number,
  stringsSize: number,
): number {
  if (FDT_MEM_RSV_OFFSET + memRsvSize + structSize + stringsSize > dst.bytes.length) {
    return -FDT_ERR_BADLAYOUT;
  }
  // Snapshot first: source and destination may overlap.
  const rsv = srcBytes.slice(hdr(src, "off_mem_rsvmap"), hdr(src, "off_mem_rsvmap") + memRsvSize);
  const struct = srcBytes.slice(hdr(src, "off_dt_struct"), hdr(src, "off_dt_struct") + structSize);
  const strings = srcBytes.slice(hdr(src, "off_dt_strings"), hdr(src, "off_dt_strings") + stringsSize);
  const structOff = FDT_MEM_RSV_OFFSET + memRsvSize;
  const stringsOff = structOff + structSize;
  dst.bytes.set(rsv, FDT_MEM_RSV_OFFSET);
  setHdr(dst, "off_mem_rsvmap", FDT_MEM_RSV_OFFSET);
  dst.bytes.set(struct, structOff);
  setHdr(dst, "off_dt_struct", structOff);
  setHdr(dst, "size_dt_struct", structSize);
  dst.bytes.set(strings, stringsOff);
  setHdr(dst, "off_dt_strings", stringsOff);
  setHdr(dst, "size_dt_strings", stringsSize);
  return 0;
}

/** Struct block size: from the header (v17) or by walking to FDT_END (v16); negative on error. */
function structSizeOf(b: Blob): number {
  const version = hdr(b, "version");
  if (version >= RW_VERSION) return hdr(b, "size_dt_struct");
  if (version !== RW_VERSION - 1) return -FDT_ERR_BADVERSION;
  let offset = 0;
  for (;;) {
    const step = nextTag(b, offset);
    if (step.next < 0) return step.next;
    offset = step.next;
    if (step.tag === FDT_END) return offset;
  }
}

function sameBuffer(a: Uint8Array, c: Uint8Array): boolean {
  return a.buffer === c.buffer;
}

/**
 * `fdt_open_into`: copies the blob into `dst` (which may overlap it), laid out for editing, with
 * `totalsize` = `dst.length`. Blobs already in order are moved as they are (which needs `dst` at least
 * `totalsize` long); others are repacked.
 */
export function openInto(src: Blob, dst: Uint8Array): number {
  const probe = roProbe(src);
  if (probe < 0) return probe;
  const bufsize = dst.length;
  const n = numMemRsv(src);
  if (n < 0) return n;
  const memRsvSize = (n + 1) * FDT_RESERVE_ENTRY_SIZE;
  const structSize = structSizeOf(src);
  if (structSize < 0) return structSize;
  const d = blobOf(dst);
  const totalsize = hdr(src, "totalsize");
  if (!blocksMisordered(src, memRsvSize, structSize)) {
    if (totalsize > bufsize) return -FDT_ERR_NOSPACE;
    dst.set(src.bytes.subarray(0, totalsize));
    setHdr(d, "version", RW_VERSION);
    setHdr(d, "size_dt_struct", structSize);
    setHdr(d, "totalsize", bufsize);
    return 0;
  }
  const stringsSize = hdr(src, "size_dt_strings");
  const newsize = FDT_MEM_RSV_OFFSET + memRsvSize + structSize + stringsSize;
  if (bufsize < newsize) return -FDT_ERR_NOSPACE;
  // libfdt packs at the start of the buffer unless that overlaps the old blob; then right after it.
  let tmpStart = 0;
  if (sameBuffer(src.bytes, dst)) {
    const srcStart = src.bytes.byteOffset;
    const srcEnd = srcStart + totalsize;
    const dstStart = dst.byteOffset;
    if (dstStart + newsize > srcStart && dstStart < srcEnd) {
      tmpStart = srcEnd - dstStart;
      if (tmpStart < 0 || tmpStart + newsize > bufsize) return -FDT_ERR_NOSPACE;
    }
  }
  const tmp = blobOf(dst.subarray(tmpStart, tmpStart + newsize));
  const err = packBlocks(src.bytes, src, tmp, memRsvSize, structSize, stringsSize);
  if (err) return err;
  if (tmpStart !== 0) dst.copyWithin(0, tmpStart, tmpStart + newsize);
  // Read after the copy, as libfdt does: when the blob was opened into its own memory this is the
  // value the copy just wrote there.
  const boot = hdr(src, "boot_cpuid_phys");
  setHdr(d, "magic", FDT_MAGIC);
  setHdr(d, "totalsize", bufsize);
  setHdr(d, "version", RW_VERSION);
  setHdr(d, "last_comp_version", FDT_LAST_COMPATIBLE_VERSION);
  setHdr(d, "boot_cpuid_phys", boot);
  return 0;
}

/** `fdt_pack`: removes the free space; `totalsize` becomes the data size. */
export function pack(b: Blob): number {
  const probe = rwProbe(b);
  if (probe) return probe;
  const n = numMemRsv(b);
  if (n < 0) return n;
  const err = packBlocks(
    b.bytes,
    b,
    b,
    (n + 1) * FDT_RESERVE_ENTRY_SIZE,
    hdr(b, "size_dt_struct"),
    hdr(b, "size_dt_strings"),
  );
  if (err) return err;
  setHdr(b, "totalsize", dataSize(b));
  return 0;
}

/** Size of an empty tree's structure block: root BEGIN_NODE with its empty name, END_NODE, END. */
const EMPTY_STRUCT_SIZE = FDT_NODE_HEADER_SIZE + FDT_TAGSIZE + FDT_TAGSIZE + FDT_TAGSIZE;

/**
 * `fdt_create_empty_tree`: what `fdt_create`, an empty root and `fdt_finish` leave, opened into the whole
 * buffer (reservation map at 0x30, structure at 0x40).
 */
export function createEmptyTree(buf: Uint8Array): number {
  const structOff = SW_MEM_RSV_OFFSET + FDT_RESERVE_ENTRY_SIZE;
  const stringsOff = structOff + EMPTY_STRUCT_SIZE;
  if (buf.length < stringsOff) return -FDT_ERR_NOSPACE;
  buf.fill(0);
  const b = blobOf(buf);
  setHdr(b, "magic", FDT_MAGIC);
  setHdr(b, "totalsize", buf.length);
  setHdr(b, "off_dt_struct", structOff);
  setHdr(b, "off_dt_strings", stringsOff);
  setHdr(b, "off_mem_rsvmap", SW_MEM_RSV_OFFSET);
  setHdr(b, "version", FDT_LAST_SUPPORTED_VERSION);
  setHdr(b, "last_comp_version", FDT_LAST_COMPATIBLE_VERSION);
  setHdr(b, "size_dt_struct", EMPTY_STRUCT_SIZE);
  writeU32(b, structOff, FDT_BEGIN_NODE);
  writeU32(b, structOff + FDT_NODE_HEADER_SIZE + FDT_TAGSIZE, FDT_END_NODE);
  writeU32(b, structOff + FDT_NODE_HEADER_SIZE + 2 * FDT_TAGSIZE, FDT_END);
  return 0;
}
