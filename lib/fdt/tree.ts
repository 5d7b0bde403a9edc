/**
 * A device tree as plain JavaScript objects, for code that builds or inspects a whole tree: parse a blob
 * into it, serialise it back to a blob.
 *
 * Serialising lays the blob out as `dtc -I dts -O dtb` does (header, memory reservation map right after
 * the 40-byte header, structure, strings, no free space; version 17, last compatible version 16; each
 * property name stored once, reusing the tail of an earlier name when it matches, in order of first use),
 * so parsing a dtc-made blob and serialising it gives the same bytes. NOP tags are not kept.
 *
 * @module
 */

import { blobOf, hdr, utf8 } from "./_access.ts";
import * as ro from "./_read.ts";
import { FDT_MEM_RSV_OFFSET, findString } from "./_write.ts";
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_HEADER,
  FDT_LAST_COMPATIBLE_VERSION,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_MAX_DEPTH,
  FDT_NOP,
  FDT_PROP,
  FDT_RESERVE_ENTRY_ADDRESS,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_RESERVE_ENTRY_SIZE_FIELD,
  FDT_TAGSIZE,
  fdtTagAlign,
} from "./constants.ts";
import { FDT_ERR_BADSTRUCTURE, FdtError, fdtErrorFrom, type FdtResult } from "./errors.ts";
import type { FdtReserveEntry } from "./fdt.ts";

/** A property of a tree node. */
export interface FdtTreeProperty {
  /** Property name. */
  name: string;
  /** Raw value. */
  value: Uint8Array;
}

/** A node of the tree. */
export interface FdtTreeNode {
  /** Node name with unit address (`memory@40000000`); the root's is "". */
  name: string;
  /** Properties in blob order. */
  properties: FdtTreeProperty[];
  /** Child nodes in blob order. */
  children: FdtTreeNode[];
}

/** A whole device tree. */
export interface FdtTree {
  /** The root node. */
  root: FdtTreeNode;
  /** The memory reservation map. */
  reservations: FdtReserveEntry[];
  /** Header `boot_cpuid_phys`. */
  bootCpuidPhys: number;
}

/**
 * A node, for building trees tersely.
 *
 * @example
 * ```ts
 * import { fdtTreeNode } from "./tree.ts";
 * import { fdtString } from "./value.ts";
 * const chosen = fdtTreeNode("chosen", { bootargs: fdtString("console=hvc0") });
 * console.log(chosen.properties[0]?.name); // "bootargs"
 * ```
 */
export function fdtTreeNode(
  name: string,
  properties: Record<string, Uint8Array> = {},
  children: FdtTreeNode[] = [],
): FdtTreeNode {
  return {
    name,
    properties: Object.entries(properties).map(([key, value]) => ({ name: key, value })),
    children,
  };
}

/**
 * The node at an absolute `path` (components without `@unit` match any unit address, as in libfdt).
 *
 * @example
 * ```ts
 * import { fdtTreeNode, findFdtTreeNode } from "./tree.ts";
 * const root = fdtTreeNode("", {}, [fdtTreeNode("memory@40000000")]);
 * console.log(findFdtTreeNode(root, "/memory")?.name); // "memory@40000000"
 * ```
 */
export function findFdtTreeNode(root: FdtTreeNode, path: string): FdtTreeNode | undefined {
  let node: FdtTreeNode | undefined = root;
  for (const part of path.split("/")) {
    if (part === "" || node === undefined) continue;
    node = node.children.find((child) =>
      child.name === part || (!part.includes("@") && child.name.startsWith(`${part}@`))
    );
  }
  return node;
}

/**
 * Parses a blob (checked with `fdt_check_header`) into a tree. Nesting deeper than
 * {@linkcode FDT_MAX_DEPTH} and a structure that does not end with the root's END_NODE and FDT_END give
 * FDT_ERR_BADSTRUCTURE.
 *
 * @example
 * ```ts
 * import { parseFdtTree, serializeFdtTree, fdtTreeNode } from "./tree.ts";
 * const blob = serializeFdtTree({ root: fdtTreeNode(""), reservations: [], bootCpuidPhys: 0 });
 * const tree = parseFdtTree(blob);
 * if (!(tree instanceof Error)) console.log(tree.root.children.length); // 0
 * ```
 */
export function parseFdtTree(bytes: Uint8Array): FdtResult<FdtTree> {
  const b = blobOf(bytes);
  const header = ro.checkHeader(b);
  if (header < 0) return fdtErrorFrom(header, "parse tree");
  const count = ro.numMemRsv(b);
  if (count < 0) return fdtErrorFrom(count, "parse tree");
  const reservations: FdtReserveEntry[] = [];
  for (let i = 0; i < count; i++) {
    const entry = ro.getMemRsv(b, i);
    if (typeof entry === "number") return fdtErrorFrom(entry, "parse tree");
    reservations.push(entry);
  }
  const root = parseStructure(b);
  if (root instanceof FdtError) return root;
  return { root, reservations, bootCpuidPhys: hdr(b, "boot_cpuid_phys") };
}

function parseStructure(b: ReturnType<typeof blobOf>): FdtResult<FdtTreeNode> {
  const bad = () => new FdtError(FDT_ERR_BADSTRUCTURE, "parse tree");
  const stack: FdtTreeNode[] = [];
  let root: FdtTreeNode | undefined;
  let offset = 0;
  for (;;) {
    const step = ro.nextTag(b, offset);
    if (step.next < 0) return fdtErrorFrom(step.next, "parse tree");
    const parent = stack[stack.length - 1];
    switch (step.tag) {
      case FDT_BEGIN_NODE: {
        if (root !== undefined && stack.length === 0) return bad();
        if (stack.length >= FDT_MAX_DEPTH) return bad();
        const name = ro.getName(b, offset);
        if (typeof name === "number") return fdtErrorFrom(name, "parse tree");
        const node: FdtTreeNode = { name, properties: [], children: [] };
        if (parent) parent.children.push(node);
        else root = node;
        stack.push(node);
        break;
      }
      case FDT_PROP: {
        if (!parent) return bad();
        const prop = ro.propertyAt(b, offset);
        if (typeof prop === "number") return fdtErrorFrom(prop, "parse tree");
        const name = ro.getString(b, prop.nameoff);
        if (typeof name === "number") return fdtErrorFrom(name, "parse tree");
        const at = prop.dataAt + ro.realignShift(b, prop);
        parent.properties.push({ name, value: b.bytes.slice(at, at + prop.len) });
        break;
      }
      case FDT_END_NODE:
        if (!stack.pop()) return bad();
        break;
      case FDT_NOP:
        break;
      case FDT_END:
        if (root === undefined || stack.length !== 0) return bad();
        return root;
    }
    offset = step.next;
  }
}

/** Builds the strings block in first-use order, reusing any matching tail of an earlier name. */
class StringTable {
  #bytes = new Uint8Array(256);
  #length = 0;

  offsetOf(name: string): number {
    const encoded = utf8(name);
    const found = findString(this.#bytes.subarray(0, this.#length), encoded);
    if (found >= 0) return found;
    const at = this.#length;
    this.#reserve(encoded.length + 1);
    this.#bytes.set(encoded, at);
    this.#bytes[at + encoded.length] = 0;
    this.#length += encoded.length + 1;
    return at;
  }

  get bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + extra));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}

function checkName(name: string, what: string): Uint8Array {
  const encoded = utf8(name);
  if (encoded.includes(0)) throw new TypeError(`Cannot serialise ${what} "${name}": it contains NUL`);
  return encoded;
}

/**
 * Serialises a tree into a new blob laid out as dtc lays it out (see the module documentation).
 * Throws a TypeError for a name containing NUL or a tree nested deeper than {@linkcode FDT_MAX_DEPTH}.
 *
 * @example
 * ```ts
 * import { serializeFdtTree, fdtTreeNode } from "./tree.ts";
 * const blob = serializeFdtTree({ root: fdtTreeNode(""), reservations: [], bootCpuidPhys: 0 });
 * console.log(blob.length); // 72, as dtc makes "/ { };"
 * ```
 */
export function serializeFdtTree(tree: FdtTree): Uint8Array {
  const strings = new StringTable();
  const chunks: Uint8Array[] = [];
  let structSize = 0;
  const word = (value: number) => {
    const chunk = new Uint8Array(FDT_TAGSIZE);
    new DataView(chunk.buffer).setUint32(0, value >>> 0, false);
    chunks.push(chunk);
    structSize += FDT_TAGSIZE;
  };
  const padded = (data: Uint8Array, length: number) => {
    const chunk = new Uint8Array(fdtTagAlign(length));
    chunk.set(data);
    chunks.push(chunk);
    structSize += chunk.length;
  };
  const emit = (node: FdtTreeNode, depth: number) => {
    if (depth >= FDT_MAX_DEPTH) throw new TypeError(`Cannot serialise node "${node.name}": nested too deep`);
    const name = checkName(node.name, "node");
    word(FDT_BEGIN_NODE);
    padded(name, name.length + 1);
    for (const prop of node.properties) {
      checkName(prop.name, "property");
      word(FDT_PROP);
      word(prop.value.length);
      word(strings.offsetOf(prop.name));
      padded(prop.value, prop.value.length);
    }
    for (const child of node.children) emit(child, depth + 1);
    word(FDT_END_NODE);
  };
  emit(tree.root, 0);
  word(FDT_END);

  const rsvSize = (tree.reservations.length + 1) * FDT_RESERVE_ENTRY_SIZE;
  const structOff = FDT_MEM_RSV_OFFSET + rsvSize;
  const stringsOff = structOff + structSize;
  const table = strings.bytes;
  const totalsize = stringsOff + table.length;
  const out = new Uint8Array(totalsize);
  const view = new DataView(out.buffer);
  const set = (field: keyof typeof FDT_HEADER, value: number) =>
    view.setUint32(FDT_HEADER[field], value, false);
  set("magic", FDT_MAGIC);
  set("totalsize", totalsize);
  set("off_dt_struct", structOff);
  set("off_dt_strings", stringsOff);
  set("off_mem_rsvmap", FDT_MEM_RSV_OFFSET);
  set("version", FDT_LAST_SUPPORTED_VERSION);
  set("last_comp_version", FDT_LAST_COMPATIBLE_VERSION);
  set("boot_cpuid_phys", tree.bootCpuidPhys);
  set("size_dt_strings", table.length);
  set("size_dt_struct", structSize);
  tree.reservations.forEach((entry, i) => {
    const at = FDT_MEM_RSV_OFFSET + i * FDT_RESERVE_ENTRY_SIZE;
    view.setBigUint64(at + FDT_RESERVE_ENTRY_ADDRESS, BigInt.asUintN(64, entry.address), false);
    view.setBigUint64(at + FDT_RESERVE_ENTRY_SIZE_FIELD, BigInt.asUintN(64, entry.size), false);
  });
  let at = structOff;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  out.set(table, stringsOff);
  return out;
}
