/**
 * Internal: libfdt's read-only functions over a blob, with libfdt's integer conventions (an offset or
 * length >= 0, or `-FDT_ERR_*`). The public {@linkcode Fdt} class turns the negative values into
 * {@linkcode FdtError}s.
 *
 * Termination: every walk advances its structure offset by at least one tag (4 bytes) per step and every
 * offset is checked against `totalsize`, so each loop ends within `totalsize / 4` steps.
 *
 * @module
 */

import { type Blob, bytesEqualAt, decodeUtf8, findNul, hdr, readU32, readU64, utf8 } from "./_access.ts";
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_FIRST_SUPPORTED_VERSION,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_MAX_DEPTH,
  FDT_MAX_NCELLS,
  FDT_NODE_HEADER_SIZE,
  FDT_NOP,
  FDT_PROP,
  FDT_PROP_HEADER_SIZE,
  FDT_PROP_LEN,
  FDT_PROP_NAMEOFF,
  FDT_RESERVE_ENTRY_ADDRESS,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_RESERVE_ENTRY_SIZE_FIELD,
  FDT_SW_MAGIC,
  FDT_TAGSIZE,
  FDT_V16_SIZE,
  FDT_V17_SIZE,
  FDT_V1_SIZE,
  FDT_V2_SIZE,
  FDT_V3_SIZE,
  fdtTagAlign,
} from "./constants.ts";
import {
  FDT_ERR_BADMAGIC,
  FDT_ERR_BADNCELLS,
  FDT_ERR_BADOFFSET,
  FDT_ERR_BADPATH,
  FDT_ERR_BADPHANDLE,
  FDT_ERR_BADSTATE,
  FDT_ERR_BADSTRUCTURE,
  FDT_ERR_BADVALUE,
  FDT_ERR_BADVERSION,
  FDT_ERR_INTERNAL,
  FDT_ERR_NOTFOUND,
  FDT_ERR_TRUNCATED,
} from "./errors.ts";

/** Largest `totalsize` libfdt accepts (it must fit a positive C int). */
const FDT_MAX_TOTALSIZE = 0x7fffffff;
/** Version from which properties are no longer 8-byte realigned and node names are leaf names. */
const FDT_VERSION_NO_REALIGN = 0x10;
/** Version from which the header has `size_dt_struct`. */
const FDT_VERSION_STRUCT_SIZE = 0x11;
/** Properties of pre-16 blobs with values this long are aligned to this boundary. */
const OLD_PROP_ALIGN = 8;
/** Default `#address-cells` when a node has none. */
const DEFAULT_ADDRESS_CELLS = 2;
/** Default `#size-cells` when a node has none. */
const DEFAULT_SIZE_CELLS = 1;
/** Bound on alias-to-alias resolution (libfdt recurses without a bound). */
const MAX_ALIAS_HOPS = FDT_MAX_DEPTH;

const SLASH = 0x2f;
const AT = 0x40;

/** Header size for a blob `version`. */
export function headerSizeFor(version: number): number {
  if (version <= 1) return FDT_V1_SIZE;
  if (version <= 2) return FDT_V2_SIZE;
  if (version <= 3) return FDT_V3_SIZE;
  if (version <= 16) return FDT_V16_SIZE;
  return FDT_V17_SIZE;
}

/**
 * `fdt_ro_probe_`: minimal header sanity check for reading. Returns `totalsize` or a negative error.
 * pvboot adds one check libfdt cannot make: `totalsize` must not run past the array.
 */
export function roProbe(b: Blob): number {
  if (b.bytes.length < FDT_V1_SIZE) return -FDT_ERR_TRUNCATED;
  const magic = hdr(b, "magic");
  if (magic === FDT_MAGIC) {
    if (hdr(b, "version") < FDT_FIRST_SUPPORTED_VERSION) return -FDT_ERR_BADVERSION;
    if (hdr(b, "last_comp_version") > FDT_LAST_SUPPORTED_VERSION) return -FDT_ERR_BADVERSION;
  } else if (magic === FDT_SW_MAGIC) {
    if (hdr(b, "size_dt_struct") === 0) return -FDT_ERR_BADSTATE;
  } else {
    return -FDT_ERR_BADMAGIC;
  }
  const totalsize = hdr(b, "totalsize");
  if (totalsize >= FDT_MAX_TOTALSIZE) return -FDT_ERR_TRUNCATED;
  if (totalsize > b.bytes.length || b.bytes.length < headerSizeFor(hdr(b, "version"))) {
    return -FDT_ERR_TRUNCATED;
  }
  return totalsize;
}

function checkOff(hdrsize: number, totalsize: number, off: number): boolean {
  return off >= hdrsize && off <= totalsize;
}

function checkBlock(hdrsize: number, totalsize: number, base: number, size: number): boolean {
  return checkOff(hdrsize, totalsize, base) && checkOff(hdrsize, totalsize, base + size);
}

/** `fdt_check_header`: 0, or a negative error (BADMAGIC, BADVERSION, TRUNCATED). */
export function checkHeader(b: Blob): number {
  if (b.bytes.length < 4 || hdr(b, "magic") !== FDT_MAGIC) return -FDT_ERR_BADMAGIC;
  if (b.bytes.length < FDT_V1_SIZE) return -FDT_ERR_TRUNCATED;
  const version = hdr(b, "version");
  const lastComp = hdr(b, "last_comp_version");
  if (version < FDT_FIRST_SUPPORTED_VERSION || lastComp > FDT_LAST_SUPPORTED_VERSION) {
    return -FDT_ERR_BADVERSION;
  }
  if (version < lastComp) return -FDT_ERR_BADVERSION;
  const hdrsize = headerSizeFor(version);
  const totalsize = hdr(b, "totalsize");
  if (b.bytes.length < hdrsize) return -FDT_ERR_TRUNCATED;
  if (totalsize < hdrsize || totalsize > FDT_MAX_TOTALSIZE) return -FDT_ERR_TRUNCATED;
  if (totalsize > b.bytes.length) return -FDT_ERR_TRUNCATED;
  if (!checkOff(hdrsize, totalsize, hdr(b, "off_mem_rsvmap"))) return -FDT_ERR_TRUNCATED;
  if (version < FDT_VERSION_STRUCT_SIZE) {
    if (!checkOff(hdrsize, totalsize, hdr(b, "off_dt_struct"))) return -FDT_ERR_TRUNCATED;
  } else if (!checkBlock(hdrsize, totalsize, hdr(b, "off_dt_struct"), hdr(b, "size_dt_struct"))) {
    return -FDT_ERR_TRUNCATED;
  }
  if (!checkBlock(hdrsize, totalsize, hdr(b, "off_dt_strings"), hdr(b, "size_dt_strings"))) {
    return -FDT_ERR_TRUNCATED;
  }
  return 0;
}

/**
 * `fdt_offset_ptr`: the absolute offset of `len` bytes at structure offset `offset`, or -1 when they are
 * not inside the structure block (and the blob).
 */
export function offsetPtr(b: Blob, offset: number, len: number): number {
  if (offset < 0 || len < 0) return -1;
  const abs = offset + hdr(b, "off_dt_struct");
  if (abs + len > hdr(b, "totalsize") || abs + len > b.bytes.length) return -1;
  if (hdr(b, "version") >= FDT_VERSION_STRUCT_SIZE && offset + len > hdr(b, "size_dt_struct")) return -1;
  return abs;
}

/** One step of {@linkcode nextTag}: the tag, and the offset after it (negative error when tag is FDT_END). */
export interface TagStep {
  tag: number;
  next: number;
}

/** `fdt_next_tag`: the tag at `start` and the offset of the next one. */
export function nextTag(b: Blob, start: number): TagStep {
  const tagAt = offsetPtr(b, start, FDT_TAGSIZE);
  if (tagAt < 0) return { tag: FDT_END, next: -FDT_ERR_TRUNCATED };
  const tag = readU32(b, tagAt);
  let offset = start + FDT_TAGSIZE;
  const premature = { tag: FDT_END, next: -FDT_ERR_BADSTRUCTURE };
  switch (tag) {
    case FDT_BEGIN_NODE: {
      // The name must end inside the structure block: find its NUL within the bytes that are in bounds.
      const nameAt = offsetPtr(b, offset, 1);
      if (nameAt < 0) return premature;
      const structEnd = structLimit(b);
      const nul = findNul(b.bytes, nameAt, structEnd);
      if (nul < 0) return premature;
      offset += nul - nameAt + 1;
      break;
    }
    case FDT_PROP: {
      const lenAt = offsetPtr(b, offset, 4);
      if (lenAt < 0) return premature;
      const len = readU32(b, lenAt);
      offset += FDT_PROP_HEADER_SIZE - FDT_TAGSIZE + len;
      if (
        hdr(b, "version") < FDT_VERSION_NO_REALIGN && len >= OLD_PROP_ALIGN &&
        (offset - len) % OLD_PROP_ALIGN !== 0
      ) {
        offset += 4;
      }
      break;
    }
    case FDT_END:
    case FDT_END_NODE:
    case FDT_NOP:
      break;
    default:
      return premature;
  }
  if (offsetPtr(b, start, offset - start) < 0) return premature;
  return { tag, next: fdtTagAlign(offset) };
}

/** Absolute end of the readable structure block. */
function structLimit(b: Blob): number {
  let end = Math.min(hdr(b, "totalsize"), b.bytes.length);
  if (hdr(b, "version") >= FDT_VERSION_STRUCT_SIZE) {
    end = Math.min(end, hdr(b, "off_dt_struct") + hdr(b, "size_dt_struct"));
  }
  return end;
}

/** `fdt_check_node_offset_`: the offset after the node's BEGIN_NODE record, or -BADOFFSET. */
export function checkNodeOffset(b: Blob, offset: number): number {
  if (offset < 0 || offset % FDT_TAGSIZE !== 0) return -FDT_ERR_BADOFFSET;
  const step = nextTag(b, offset);
  if (step.tag !== FDT_BEGIN_NODE) return -FDT_ERR_BADOFFSET;
  return step.next;
}

/** `fdt_check_prop_offset_`: the offset after the property record, or -BADOFFSET. */
export function checkPropOffset(b: Blob, offset: number): number {
  if (offset < 0 || offset % FDT_TAGSIZE !== 0) return -FDT_ERR_BADOFFSET;
  const step = nextTag(b, offset);
  if (step.tag !== FDT_PROP) return -FDT_ERR_BADOFFSET;
  return step.next;
}

/** Depth counter of {@linkcode nextNode}; `null` walks without one (libfdt's NULL depth). */
export interface DepthRef {
  depth: number;
}

/**
 * `fdt_next_node`: the next BEGIN_NODE after `offset` (-1 starts at the root). With a depth counter, an
 * END_NODE taking it below 0 returns the offset after that END_NODE.
 */
export function nextNode(b: Blob, offset: number, depth: DepthRef | null): number {
  let next = 0;
  if (offset >= 0) {
    next = checkNodeOffset(b, offset);
    if (next < 0) return next;
  }
  let tag: number;
  do {
    offset = next;
    const step = nextTag(b, offset);
    tag = step.tag;
    next = step.next;
    switch (tag) {
      case FDT_PROP:
      case FDT_NOP:
        break;
      case FDT_BEGIN_NODE:
        if (depth) depth.depth++;
        break;
      case FDT_END_NODE:
        if (depth && --depth.depth < 0) return next;
        break;
      case FDT_END:
        if (next >= 0 || (next === -FDT_ERR_TRUNCATED && !depth)) return -FDT_ERR_NOTFOUND;
        return next;
    }
  } while (tag !== FDT_BEGIN_NODE);
  return offset;
}

/** `fdt_first_subnode`. */
export function firstSubnode(b: Blob, offset: number): number {
  const d = { depth: 0 };
  const child = nextNode(b, offset, d);
  if (child < 0 || d.depth !== 1) return -FDT_ERR_NOTFOUND;
  return child;
}

/** `fdt_next_subnode`. */
export function nextSubnode(b: Blob, offset: number): number {
  const d = { depth: 1 };
  do {
    offset = nextNode(b, offset, d);
    if (offset < 0 || d.depth < 1) return -FDT_ERR_NOTFOUND;
  } while (d.depth > 1);
  return offset;
}

/** Absolute offset and length of a node's name, or a negative error in `length`. */
interface NameSpan {
  at: number;
  length: number;
}

/** `fdt_get_name` as a byte span. */
export function getNameSpan(b: Blob, nodeoffset: number): NameSpan {
  const probe = roProbe(b);
  if (probe < 0) return { at: -1, length: probe };
  const checked = checkNodeOffset(b, nodeoffset);
  if (checked < 0) return { at: -1, length: checked };
  let at = hdr(b, "off_dt_struct") + nodeoffset + FDT_NODE_HEADER_SIZE;
  const nul = findNul(b.bytes, at, structLimit(b));
  if (nul < 0) return { at: -1, length: -FDT_ERR_BADSTRUCTURE };
  if (hdr(b, "version") < FDT_VERSION_NO_REALIGN) {
    // Old blobs store full paths: the name is the part after the last '/'.
    const slash = b.bytes.subarray(at, nul).lastIndexOf(SLASH);
    if (slash < 0) return { at: -1, length: -FDT_ERR_BADSTRUCTURE };
    at += slash + 1;
  }
  return { at, length: nul - at };
}

/** `fdt_get_name`: the node's name, or a negative error. */
export function getName(b: Blob, nodeoffset: number): string | number {
  const span = getNameSpan(b, nodeoffset);
  if (span.length < 0) return span.length;
  return decodeUtf8(b.bytes, span.at, span.at + span.length);
}

/** `fdt_nodename_eq_`: name equal to `s`, or to `s@...` when `s` has no unit address. */
function nodenameEq(b: Blob, offset: number, s: Uint8Array): boolean {
  const span = getNameSpan(b, offset);
  if (span.length < 0 || span.length < s.length) return false;
  if (!bytesEqualAt(b.bytes, span.at, s)) return false;
  if (span.length === s.length) return true;
  return !s.includes(AT) && b.bytes[span.at + s.length] === AT;
}

/** `fdt_subnode_offset_namelen`. */
export function subnodeOffset(b: Blob, offset: number, name: Uint8Array): number {
  const probe = roProbe(b);
  if (probe < 0) return probe;
  const d = { depth: 0 };
  for (; offset >= 0 && d.depth >= 0; offset = nextNode(b, offset, d)) {
    if (d.depth === 1 && nodenameEq(b, offset, name)) return offset;
  }
  if (d.depth < 0) return -FDT_ERR_NOTFOUND;
  return offset;
}

/** `fdt_path_offset_namelen`; an alias whose value is itself an alias is followed a bounded number of times. */
export function pathOffset(b: Blob, path: Uint8Array, aliasHops = 0): number {
  const probe = roProbe(b);
  if (probe < 0) return probe;
  const end = path.length;
  let p = 0;
  let offset = 0;
  if (path[0] !== SLASH) {
    let q = path.indexOf(SLASH);
    if (q < 0) q = end;
    const alias = getAlias(b, path.subarray(0, q));
    if (alias === undefined || aliasHops >= MAX_ALIAS_HOPS) return -FDT_ERR_BADPATH;
    offset = pathOffset(b, alias, aliasHops + 1);
    p = q;
  }
  while (p < end) {
    while (path[p] === SLASH) {
      p++;
      if (p === end) return offset;
    }
    let q = path.indexOf(SLASH, p);
    if (q < 0) q = end;
    offset = subnodeOffset(b, offset, path.subarray(p, q));
    if (offset < 0) return offset;
    p = q;
  }
  return offset;
}

/** `fdt_first_property_offset`. */
export function firstPropertyOffset(b: Blob, nodeoffset: number): number {
  const offset = checkNodeOffset(b, nodeoffset);
  if (offset < 0) return offset;
  return nextProp(b, offset);
}

/** `fdt_next_property_offset`. */
export function nextPropertyOffset(b: Blob, offset: number): number {
  const next = checkPropOffset(b, offset);
  if (next < 0) return next;
  return nextProp(b, next);
}

function nextProp(b: Blob, offset: number): number {
  let tag: number;
  do {
    const step = nextTag(b, offset);
    tag = step.tag;
    if (tag === FDT_END) return step.next >= 0 ? -FDT_ERR_BADSTRUCTURE : step.next;
    if (tag === FDT_PROP) return offset;
    offset = step.next;
  } while (tag === FDT_NOP);
  return -FDT_ERR_NOTFOUND;
}

/** `fdt_get_string` as a byte span: absolute offset and length, or a negative error in `length`. */
export function getStringSpan(b: Blob, stroffset: number): NameSpan {
  const totalsize = roProbe(b);
  if (totalsize < 0) return { at: -1, length: totalsize };
  const fail = (err: number): NameSpan => ({ at: -1, length: err });
  const abs = stroffset + hdr(b, "off_dt_strings");
  if (abs < 0 || abs >= totalsize) return fail(-FDT_ERR_BADOFFSET);
  let len = totalsize - abs;
  const magic = hdr(b, "magic");
  if (magic === FDT_MAGIC) {
    if (stroffset < 0) return fail(-FDT_ERR_BADOFFSET);
    if (hdr(b, "version") >= FDT_VERSION_STRUCT_SIZE) {
      const size = hdr(b, "size_dt_strings");
      if (stroffset >= size) return fail(-FDT_ERR_BADOFFSET);
      len = Math.min(len, size - stroffset);
    }
  } else if (magic === FDT_SW_MAGIC) {
    if (stroffset >= 0 || -stroffset > hdr(b, "size_dt_strings")) return fail(-FDT_ERR_BADOFFSET);
    len = Math.min(len, -stroffset);
  } else {
    return fail(-FDT_ERR_INTERNAL);
  }
  const nul = findNul(b.bytes, abs, abs + len);
  if (nul < 0) return fail(-FDT_ERR_TRUNCATED);
  return { at: abs, length: nul - abs };
}

/** `fdt_string`: the string at `stroffset` in the strings block, or a negative error. */
export function getString(b: Blob, stroffset: number): string | number {
  const span = getStringSpan(b, stroffset);
  if (span.length < 0) return span.length;
  return decodeUtf8(b.bytes, span.at, span.at + span.length);
}

/** A property record found in the structure block. */
export interface PropRef {
  /** Structure offset of the FDT_PROP tag. */
  offset: number;
  /** Absolute offset of the value. */
  dataAt: number;
  /** Value length. */
  len: number;
  /** `nameoff` (offset in the strings block). */
  nameoff: number;
}

/** `fdt_get_property_by_offset_` without the version check: the record at `offset`, or a negative error. */
export function propertyAt(b: Blob, offset: number): PropRef | number {
  const checked = checkPropOffset(b, offset);
  if (checked < 0) return checked;
  const abs = hdr(b, "off_dt_struct") + offset;
  return {
    offset,
    dataAt: abs + FDT_PROP_HEADER_SIZE,
    len: readU32(b, abs + FDT_PROP_LEN),
    nameoff: readU32(b, abs + FDT_PROP_NAMEOFF),
  };
}

/** `fdt_get_property_by_offset`: refused on blobs older than version 16. */
export function getPropertyByOffset(b: Blob, offset: number): PropRef | number {
  if (hdr(b, "version") < FDT_VERSION_NO_REALIGN) return -FDT_ERR_BADVERSION;
  return propertyAt(b, offset);
}

/** Shift of a value that an old blob realigned to 8 bytes (`fdt_getprop`'s "Handle realignment"). */
export function realignShift(b: Blob, prop: PropRef): number {
  const old = hdr(b, "version") < FDT_VERSION_NO_REALIGN;
  return old && (prop.offset + FDT_PROP_HEADER_SIZE) % OLD_PROP_ALIGN !== 0 && prop.len >= OLD_PROP_ALIGN
    ? 4
    : 0;
}

function stringEq(b: Blob, stroffset: number, s: Uint8Array): boolean {
  const span = getStringSpan(b, stroffset);
  return span.length === s.length && bytesEqualAt(b.bytes, span.at, s);
}

/** `fdt_get_property_namelen_`: the property called `name` in the node, or a negative error. */
export function findProperty(b: Blob, nodeoffset: number, name: Uint8Array): PropRef | number {
  let offset = firstPropertyOffset(b, nodeoffset);
  for (; offset >= 0; offset = nextPropertyOffset(b, offset)) {
    const prop = propertyAt(b, offset);
    if (typeof prop === "number") return -FDT_ERR_INTERNAL;
    if (stringEq(b, prop.nameoff, name)) return prop;
  }
  return offset;
}

/** `fdt_get_property_namelen`: refused on blobs older than version 16. */
export function getProperty(b: Blob, nodeoffset: number, name: Uint8Array): PropRef | number {
  if (hdr(b, "version") < FDT_VERSION_NO_REALIGN) return -FDT_ERR_BADVERSION;
  return findProperty(b, nodeoffset, name);
}

/** `fdt_getprop_namelen`: the value bytes (a view into the blob), or a negative error. */
export function getprop(b: Blob, nodeoffset: number, name: Uint8Array): Uint8Array | number {
  const prop = findProperty(b, nodeoffset, name);
  if (typeof prop === "number") return prop;
  const at = prop.dataAt + realignShift(b, prop);
  return b.bytes.subarray(at, Math.min(at + prop.len, b.bytes.length));
}

const PHANDLE = utf8("phandle");
const LINUX_PHANDLE = utf8("linux,phandle");
const ALIASES = utf8("/aliases");
const COMPATIBLE = utf8("compatible");
const ADDRESS_CELLS = utf8("#address-cells");
const SIZE_CELLS = utf8("#size-cells");

function u32Value(value: Uint8Array): number {
  return ((value[0] ?? 0) << 24 | (value[1] ?? 0) << 16 | (value[2] ?? 0) << 8 | (value[3] ?? 0)) >>> 0;
}

/** `fdt_get_phandle`: the node's phandle, or 0. */
export function getPhandle(b: Blob, nodeoffset: number): number {
  let value = getprop(b, nodeoffset, PHANDLE);
  if (typeof value === "number" || value.length !== 4) {
    value = getprop(b, nodeoffset, LINUX_PHANDLE);
    if (typeof value === "number" || value.length !== 4) return 0;
  }
  return u32Value(value);
}

/**
 * `fdt_get_alias_namelen`: the path an alias names (its value up to the first NUL), or undefined.
 */
export function getAlias(b: Blob, name: Uint8Array): Uint8Array | undefined {
  const aliases = pathOffset(b, ALIASES);
  if (aliases < 0) return undefined;
  const value = getprop(b, aliases, name);
  if (typeof value === "number") return undefined;
  const nul = value.indexOf(0);
  return nul < 0 ? value : value.subarray(0, nul);
}

/**
 * `fdt_get_path`: the node's full path, or a negative error. A structure that closes more nodes than it
 * opened gives -BADSTRUCTURE (libfdt's behaviour there is undefined).
 */
export function getPath(b: Blob, nodeoffset: number): string | number {
  const probe = roProbe(b);
  if (probe < 0) return probe;
  const names: string[] = [];
  const d = { depth: 0 };
  let offset = 0;
  for (; offset >= 0 && offset <= nodeoffset; offset = nextNode(b, offset, d)) {
    // A stray END_NODE takes the depth below the root; libfdt then reads before its path buffer.
    if (d.depth < 0) return -FDT_ERR_BADSTRUCTURE;
    if (names.length > d.depth) names.length = d.depth;
    const name = getName(b, offset);
    if (typeof name === "number") return name;
    names.push(name);
    if (offset === nodeoffset) return names.length === 1 ? "/" : names.join("/");
  }
  if (offset === -FDT_ERR_NOTFOUND || offset >= 0) return -FDT_ERR_BADOFFSET;
  if (offset === -FDT_ERR_BADOFFSET) return -FDT_ERR_BADSTRUCTURE;
  return offset;
}

/** `fdt_supernode_atdepth_offset`: the ancestor at `supernodedepth`; also reports the node's depth. */
export function supernodeAtDepthOffset(
  b: Blob,
  nodeoffset: number,
  supernodedepth: number,
  nodedepth: DepthRef | null,
): number {
  const probe = roProbe(b);
  if (probe < 0) return probe;
  if (supernodedepth < 0) return -FDT_ERR_NOTFOUND;
  let supernode = -FDT_ERR_INTERNAL;
  const d = { depth: 0 };
  let offset = 0;
  for (; offset >= 0 && offset <= nodeoffset; offset = nextNode(b, offset, d)) {
    if (d.depth === supernodedepth) supernode = offset;
    if (offset === nodeoffset) {
      if (nodedepth) nodedepth.depth = d.depth;
      return supernodedepth > d.depth ? -FDT_ERR_NOTFOUND : supernode;
    }
  }
  if (offset === -FDT_ERR_NOTFOUND || offset >= 0) return -FDT_ERR_BADOFFSET;
  if (offset === -FDT_ERR_BADOFFSET) return -FDT_ERR_BADSTRUCTURE;
  return offset;
}

/** `fdt_node_depth`. */
export function nodeDepth(b: Blob, nodeoffset: number): number {
  const d = { depth: 0 };
  const err = supernodeAtDepthOffset(b, nodeoffset, 0, d);
  if (err !== 0) return err < 0 ? err : -FDT_ERR_INTERNAL;
  return d.depth;
}

/** `fdt_parent_offset`. */
export function parentOffset(b: Blob, nodeoffset: number): number {
  const depth = nodeDepth(b, nodeoffset);
  if (depth < 0) return depth;
  return supernodeAtDepthOffset(b, nodeoffset, depth - 1, null);
}

function bytesEqual(a: Uint8Array, c: Uint8Array): boolean {
  return a.length === c.length && bytesEqualAt(a, 0, c);
}

/** `fdt_node_offset_by_prop_value`. */
export function nodeOffsetByPropValue(
  b: Blob,
  startoffset: number,
  name: Uint8Array,
  value: Uint8Array,
): number {
  const probe = roProbe(b);
  if (probe < 0) return probe;
  let offset = nextNode(b, startoffset, null);
  for (; offset >= 0; offset = nextNode(b, offset, null)) {
    const found = getprop(b, offset, name);
    if (typeof found !== "number" && bytesEqual(found, value)) return offset;
  }
  return offset;
}

/** `fdt_node_offset_by_phandle`. */
export function nodeOffsetByPhandle(b: Blob, phandle: number): number {
  if (phandle === 0 || phandle === 0xffffffff) return -FDT_ERR_BADPHANDLE;
  const probe = roProbe(b);
  if (probe < 0) return probe;
  let offset = nextNode(b, -1, null);
  for (; offset >= 0; offset = nextNode(b, offset, null)) {
    if (getPhandle(b, offset) === phandle) return offset;
  }
  return offset;
}

/** `fdt_stringlist_contains`. */
export function stringlistContains(list: Uint8Array, str: Uint8Array): boolean {
  let at = 0;
  let remaining = list.length;
  while (remaining >= str.length) {
    if (bytesEqualAt(list, at, str) && list[at + str.length] === 0) return true;
    const nul = list.indexOf(0, at);
    if (nul < 0 || nul >= at + remaining) return false;
    remaining -= nul - at + 1;
    at = nul + 1;
  }
  return false;
}

/** `fdt_node_check_compatible`: 0 when compatible, 1 when not, or a negative error. */
export function nodeCheckCompatible(b: Blob, nodeoffset: number, compatible: Uint8Array): number {
  const value = getprop(b, nodeoffset, COMPATIBLE);
  if (typeof value === "number") return value;
  return stringlistContains(value, compatible) ? 0 : 1;
}

/** `fdt_node_offset_by_compatible`. */
export function nodeOffsetByCompatible(b: Blob, startoffset: number, compatible: Uint8Array): number {
  const probe = roProbe(b);
  if (probe < 0) return probe;
  let offset = nextNode(b, startoffset, null);
  for (; offset >= 0; offset = nextNode(b, offset, null)) {
    const err = nodeCheckCompatible(b, offset, compatible);
    if (err < 0 && err !== -FDT_ERR_NOTFOUND) return err;
    if (err === 0) return offset;
  }
  return offset;
}

/** `fdt_stringlist_count`. */
export function stringlistCount(b: Blob, nodeoffset: number, property: Uint8Array): number {
  const value = getprop(b, nodeoffset, property);
  if (typeof value === "number") return value;
  let count = 0;
  for (let at = 0; at < value.length; count++) {
    const nul = value.indexOf(0, at);
    if (nul < 0) return -FDT_ERR_BADVALUE;
    at = nul + 1;
  }
  return count;
}

/** `fdt_stringlist_search`: the index of `str`, or a negative error. */
export function stringlistSearch(b: Blob, nodeoffset: number, property: Uint8Array, str: Uint8Array): number {
  const value = getprop(b, nodeoffset, property);
  if (typeof value === "number") return value;
  let at = 0;
  let index = 0;
  while (at < value.length) {
    const nul = value.indexOf(0, at);
    if (nul < 0) return -FDT_ERR_BADVALUE;
    if (nul - at === str.length && bytesEqualAt(value, at, str)) return index;
    at = nul + 1;
    index++;
  }
  return -FDT_ERR_NOTFOUND;
}

/** `fdt_stringlist_get`: string `index` of the list, or a negative error. */
export function stringlistGet(
  b: Blob,
  nodeoffset: number,
  property: Uint8Array,
  index: number,
): string | number {
  const value = getprop(b, nodeoffset, property);
  if (typeof value === "number") return value;
  let at = 0;
  while (at < value.length) {
    const nul = value.indexOf(0, at);
    if (nul < 0) return -FDT_ERR_BADVALUE;
    if (index === 0) return decodeUtf8(value, at, nul);
    at = nul + 1;
    index--;
  }
  return -FDT_ERR_NOTFOUND;
}

function cells(b: Blob, nodeoffset: number, name: Uint8Array): number {
  const value = getprop(b, nodeoffset, name);
  if (typeof value === "number") return value;
  if (value.length !== 4) return -FDT_ERR_BADNCELLS;
  const n = u32Value(value);
  if (n > FDT_MAX_NCELLS) return -FDT_ERR_BADNCELLS;
  return n;
}

/** `fdt_address_cells`: the node's `#address-cells` (2 when absent). */
export function addressCells(b: Blob, nodeoffset: number): number {
  const n = cells(b, nodeoffset, ADDRESS_CELLS);
  if (n === 0) return -FDT_ERR_BADNCELLS;
  if (n === -FDT_ERR_NOTFOUND) return DEFAULT_ADDRESS_CELLS;
  return n;
}

/** `fdt_size_cells`: the node's `#size-cells` (1 when absent). */
export function sizeCells(b: Blob, nodeoffset: number): number {
  const n = cells(b, nodeoffset, SIZE_CELLS);
  if (n === -FDT_ERR_NOTFOUND) return DEFAULT_SIZE_CELLS;
  return n;
}

/** Absolute offset of reservation entry `n`, or -1 when it is outside the blob (`fdt_mem_rsv`). */
export function memRsvAt(b: Blob, n: number): number {
  if (n < 0) return -1;
  const at = hdr(b, "off_mem_rsvmap") + n * FDT_RESERVE_ENTRY_SIZE;
  if (at + FDT_RESERVE_ENTRY_SIZE > hdr(b, "totalsize") || at + FDT_RESERVE_ENTRY_SIZE > b.bytes.length) {
    return -1;
  }
  return at;
}

/** `fdt_num_mem_rsv`: entries before the terminating zero-size one, or -TRUNCATED. */
export function numMemRsv(b: Blob): number {
  for (let i = 0;; i++) {
    const at = memRsvAt(b, i);
    if (at < 0) return -FDT_ERR_TRUNCATED;
    if (readU64(b, at + FDT_RESERVE_ENTRY_SIZE_FIELD) === 0n) return i;
  }
}

/** `fdt_get_mem_rsv`: entry `n` (not checked against the terminator, as in libfdt), or a negative error. */
export function getMemRsv(b: Blob, n: number): { address: bigint; size: bigint } | number {
  const probe = roProbe(b);
  if (probe < 0) return probe;
  const at = memRsvAt(b, n);
  if (at < 0) return -FDT_ERR_BADOFFSET;
  return {
    address: readU64(b, at + FDT_RESERVE_ENTRY_ADDRESS),
    size: readU64(b, at + FDT_RESERVE_ENTRY_SIZE_FIELD),
  };
}

/** `fdt_node_end_offset_`: the offset just after the node's END_NODE, or a negative error. */
export function nodeEndOffset(b: Blob, offset: number): number {
  const d = { depth: 0 };
  while (offset >= 0 && d.depth >= 0) offset = nextNode(b, offset, d);
  return offset;
}
