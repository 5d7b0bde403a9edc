/**
 * {@linkcode Fdt}: a flattened device tree blob edited where it lies, with libfdt's semantics.
 *
 * This is what U-Boot's `fdt` command and the boot-time fixups work through: the blob sits in a byte
 * array (a copy or a view of guest memory), its header's `totalsize` is the space limit, and every
 * function behaves as the libfdt function it is named after, including which `FDT_ERR_*` it reports.
 * Errors are returned as {@linkcode FdtError} values, never thrown; a malformed blob gives an error, and
 * every walk is bounded by the blob's size.
 *
 * The array must hold at least `totalsize` bytes (libfdt reads whatever memory follows; here a blob
 * running past its array reports FDT_ERR_TRUNCATED). It may be longer: free memory after the blob.
 *
 * Offsets are libfdt's: a node or property is named by the offset of its tag in the structure block.
 * Any edit may move what follows it, so offsets taken before an edit must be looked up again.
 *
 * @module
 */

import { type Blob, blobOf, hdr, setHdr, utf8 } from "./_access.ts";
import * as ro from "./_read.ts";
import * as rw from "./_write.ts";
import { FDT_END, FDT_RESERVE_ENTRY_SIZE, type FdtHeaderField } from "./constants.ts";
import {
  FDT_ERR_NOSPACE,
  FDT_ERR_NOTFOUND,
  FDT_ERR_TRUNCATED,
  FdtError,
  fdtErrorFrom,
  type FdtResult,
} from "./errors.ts";

/** A property found in the blob. */
export interface FdtProperty {
  /** Structure offset of the property record (for {@linkcode Fdt.nextPropertyOffset}). */
  readonly offset: number;
  /** The property name. */
  readonly name: string;
  /** The value: a view into the blob, valid until the blob is edited. */
  readonly value: Uint8Array;
  /** Offset of the value from the start of the blob (what `fdt get addr` adds to the blob address). */
  readonly valueOffset: number;
}

/** One memory reservation entry. */
export interface FdtReserveEntry {
  /** Start address. */
  readonly address: bigint;
  /** Size in bytes. */
  readonly size: bigint;
}

/** A structure tag and the offset of the one after it. */
export interface FdtTagStep {
  /** `FDT_BEGIN_NODE`, `FDT_END_NODE`, `FDT_PROP`, `FDT_NOP` or `FDT_END`. */
  readonly tag: number;
  /** Offset of the next tag. */
  readonly nextOffset: number;
}

/** A step of {@linkcode Fdt.nextNode}. */
export interface FdtNodeStep {
  /** Offset of the node reached; when `depth` is below 0, the offset after the END_NODE that ended it. */
  readonly offset: number;
  /** Depth of that node relative to the starting one. */
  readonly depth: number;
}

/** Reservation entries `fdt_shrink_to_minimum` leaves room for (the blob itself and an initrd). */
const SHRINK_SPARE_RESERVATIONS = 5;
/** `fdt_shrink_to_minimum` makes the blob end on a boundary of this many bytes. */
const SHRINK_ALIGN = 0x1000;

function minimumSize(dataEnd: number, extraSize: number, blobAddress: number): number {
  const misalign = blobAddress % SHRINK_ALIGN;
  const needed = dataEnd + SHRINK_SPARE_RESERVATIONS * FDT_RESERVE_ENTRY_SIZE + extraSize + misalign;
  return Math.ceil(needed / SHRINK_ALIGN) * SHRINK_ALIGN - misalign;
}

function numberResult(value: number, action: string): FdtResult<number> {
  return value < 0 ? fdtErrorFrom(value, action) : value;
}

function statusResult(value: number, action: string): FdtError | undefined {
  return value < 0 ? fdtErrorFrom(value, action) : undefined;
}

/**
 * A device tree blob edited in place, with libfdt's behaviour.
 *
 * @example
 * ```ts
 * import { Fdt } from "./fdt.ts";
 * import { fdtString } from "./value.ts";
 *
 * const fdt = Fdt.createEmptyTree(4096);
 * if (fdt instanceof Error) throw fdt;
 * const chosen = fdt.addSubnode(0, "chosen");
 * if (chosen instanceof Error) throw chosen;
 * fdt.setProp(chosen, "bootargs", fdtString("console=hvc0"));
 * const node = fdt.pathOffset("/chosen");
 * if (!(node instanceof Error)) console.log(fdt.getPath(node)); // "/chosen"
 * ```
 */
export class Fdt {
  /** The bytes holding the blob (the blob starts at index 0; it may be longer than `totalsize`). */
  readonly bytes: Uint8Array;
  readonly #b: Blob;

  /** Wraps `bytes`; nothing is checked until a function is called (see {@linkcode Fdt.checkHeader}). */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.#b = blobOf(bytes);
  }

  /**
   * `fdt_create_empty_tree`: a blob with only an empty root node, filling `buffer` (or a new array of
   * that many bytes).
   */
  static createEmptyTree(buffer: Uint8Array | number): FdtResult<Fdt> {
    const bytes = typeof buffer === "number" ? new Uint8Array(buffer) : buffer;
    const err = rw.createEmptyTree(bytes);
    return err < 0 ? fdtErrorFrom(err, "create empty tree") : new Fdt(bytes);
  }

  /** `fdt_check_header`: undefined when the header is sane, else BADMAGIC, BADVERSION or TRUNCATED. */
  checkHeader(): FdtError | undefined {
    return statusResult(ro.checkHeader(this.#b), "check header");
  }

  /** A header field as stored (0 when the array is too short to hold it). */
  header(field: FdtHeaderField): number {
    return hdr(this.#b, field);
  }

  /** The header size for this blob's version. */
  headerSize(): number {
    return ro.headerSizeFor(hdr(this.#b, "version"));
  }

  /** `fdt_set_boot_cpuid_phys` (what `fdt bootcpu` does: a plain header write). */
  setBootCpuidPhys(cpu: number): void {
    setHdr(this.#b, "boot_cpuid_phys", cpu);
  }

  /** `fdt_next_tag`: the tag at `offset`; a truncated or corrupt structure gives an error instead of FDT_END. */
  nextTag(offset: number): FdtResult<FdtTagStep> {
    const probe = ro.roProbe(this.#b);
    if (probe < 0) return fdtErrorFrom(probe, "read tag");
    const step = ro.nextTag(this.#b, offset);
    if (step.tag === FDT_END && step.next < 0) return fdtErrorFrom(step.next, "read tag");
    return { tag: step.tag, nextOffset: step.next };
  }

  /**
   * `fdt_next_node` with a depth counter: the next node after `offset` (-1: the root) and its depth
   * counted from `depth`. When the walk leaves the starting node's parent, the result's depth is below 0
   * and its offset is just after the END_NODE that left it. The end of the tree is FDT_ERR_NOTFOUND.
   */
  nextNode(offset: number, depth: number): FdtResult<FdtNodeStep> {
    const probe = ro.roProbe(this.#b);
    if (probe < 0) return fdtErrorFrom(probe, "find next node");
    const d = { depth };
    const next = ro.nextNode(this.#b, offset, d);
    return next < 0 ? fdtErrorFrom(next, "find next node") : { offset: next, depth: d.depth };
  }

  /** `fdt_next_node` without a depth counter: the next node in blob order; FDT_ERR_NOTFOUND at the end. */
  nextNodeOffset(offset: number): FdtResult<number> {
    return this.#probed(() => ro.nextNode(this.#b, offset, null), "find next node");
  }

  /** The offsets of all nodes, in blob order (the root first). */
  nodes(): FdtResult<number[]> {
    const offsets: number[] = [];
    let node = this.nextNodeOffset(-1);
    for (; !(node instanceof FdtError); node = this.nextNodeOffset(node)) offsets.push(node);
    return node.code === FDT_ERR_NOTFOUND ? offsets : node;
  }

  /** `fdt_first_subnode`: the first child of the node, or FDT_ERR_NOTFOUND. */
  firstSubnode(offset: number): FdtResult<number> {
    return this.#probed(() => ro.firstSubnode(this.#b, offset), "find first subnode");
  }

  /** `fdt_next_subnode`: the next sibling of a child node, or FDT_ERR_NOTFOUND. */
  nextSubnode(offset: number): FdtResult<number> {
    return this.#probed(() => ro.nextSubnode(this.#b, offset), "find next subnode");
  }

  /** The offsets of the node's children, in blob order. */
  subnodes(offset: number): FdtResult<number[]> {
    const children: number[] = [];
    let child = this.firstSubnode(offset);
    while (!(child instanceof FdtError)) {
      children.push(child);
      child = this.nextSubnode(child);
    }
    return child.code === FDT_ERR_NOTFOUND ? children : child;
  }

  /** `fdt_subnode_offset`: the child called `name` (`name` without `@unit` matches any unit address). */
  subnodeOffset(parent: number, name: string): FdtResult<number> {
    return numberResult(ro.subnodeOffset(this.#b, parent, utf8(name)), "find subnode");
  }

  /**
   * `fdt_path_offset`: the node at `path`. A path not starting with `/` begins with an alias from
   * `/aliases` (FDT_ERR_BADPATH when there is none).
   */
  pathOffset(path: string): FdtResult<number> {
    return numberResult(ro.pathOffset(this.#b, utf8(path)), "find path");
  }

  /** `fdt_get_name`: the node's name (the root's is ""). */
  getName(node: number): FdtResult<string> {
    const name = ro.getName(this.#b, node);
    return typeof name === "number" ? fdtErrorFrom(name, "get node name") : name;
  }

  /** `fdt_first_property_offset`: the node's first property, or FDT_ERR_NOTFOUND. */
  firstPropertyOffset(node: number): FdtResult<number> {
    return this.#probed(() => ro.firstPropertyOffset(this.#b, node), "find first property");
  }

  /** `fdt_next_property_offset`: the property after `offset` in the same node, or FDT_ERR_NOTFOUND. */
  nextPropertyOffset(offset: number): FdtResult<number> {
    return this.#probed(() => ro.nextPropertyOffset(this.#b, offset), "find next property");
  }

  /** `fdt_getprop_by_offset`: the property record at `offset`. */
  getPropertyByOffset(offset: number): FdtResult<FdtProperty> {
    const probe = ro.roProbe(this.#b);
    if (probe < 0) return fdtErrorFrom(probe, "get property");
    const prop = ro.getPropertyByOffset(this.#b, offset);
    if (typeof prop === "number") return fdtErrorFrom(prop, "get property");
    return this.#property(prop);
  }

  /** `fdt_getprop`: the property called `name` in the node. */
  getProperty(node: number, name: string): FdtResult<FdtProperty> {
    const probe = ro.roProbe(this.#b);
    if (probe < 0) return fdtErrorFrom(probe, "get property");
    const prop = ro.findProperty(this.#b, node, utf8(name));
    if (typeof prop === "number") return fdtErrorFrom(prop, "get property");
    return this.#property(prop);
  }

  /** All properties of the node, in blob order. */
  properties(node: number): FdtResult<FdtProperty[]> {
    const list: FdtProperty[] = [];
    let offset = this.firstPropertyOffset(node);
    while (!(offset instanceof FdtError)) {
      const prop = this.getPropertyByOffset(offset);
      if (prop instanceof FdtError) return prop;
      list.push(prop);
      offset = this.nextPropertyOffset(offset);
    }
    return offset.code === FDT_ERR_NOTFOUND ? list : offset;
  }

  /** `fdt_get_phandle`: the node's `phandle` (or `linux,phandle`), 0 when it has none. */
  getPhandle(node: number): number {
    return ro.roProbe(this.#b) < 0 ? 0 : ro.getPhandle(this.#b, node);
  }

  /** `fdt_get_alias`: the path `/aliases/<name>` holds, or undefined. */
  getAlias(name: string): string | undefined {
    if (ro.roProbe(this.#b) < 0) return undefined;
    const value = ro.getAlias(this.#b, utf8(name));
    return value === undefined ? undefined : new TextDecoder().decode(value);
  }

  /** `fdt_get_path`: the node's full path. */
  getPath(node: number): FdtResult<string> {
    const path = ro.getPath(this.#b, node);
    return typeof path === "number" ? fdtErrorFrom(path, "get path") : path;
  }

  /** `fdt_parent_offset`: the node's parent (FDT_ERR_NOTFOUND for the root). */
  parentOffset(node: number): FdtResult<number> {
    return numberResult(ro.parentOffset(this.#b, node), "find parent");
  }

  /** `fdt_node_depth`: 0 for the root. */
  nodeDepth(node: number): FdtResult<number> {
    return numberResult(ro.nodeDepth(this.#b, node), "get node depth");
  }

  /** `fdt_supernode_atdepth_offset`: the node's ancestor at `depth` (0 = root). */
  supernodeAtDepthOffset(node: number, depth: number): FdtResult<number> {
    return numberResult(ro.supernodeAtDepthOffset(this.#b, node, depth, null), "find ancestor");
  }

  /** `fdt_node_offset_by_phandle`. */
  nodeOffsetByPhandle(phandle: number): FdtResult<number> {
    return numberResult(ro.nodeOffsetByPhandle(this.#b, phandle), "find phandle");
  }

  /** `fdt_node_offset_by_compatible`: the first node after `start` (-1: from the root) with that compatible. */
  nodeOffsetByCompatible(start: number, compatible: string): FdtResult<number> {
    return numberResult(ro.nodeOffsetByCompatible(this.#b, start, utf8(compatible)), "find compatible");
  }

  /** `fdt_node_offset_by_prop_value`: the first node after `start` whose property equals `value`. */
  nodeOffsetByPropValue(start: number, name: string, value: Uint8Array): FdtResult<number> {
    return numberResult(ro.nodeOffsetByPropValue(this.#b, start, utf8(name), value), "find property value");
  }

  /** `fdt_node_check_compatible`: whether the node's `compatible` list holds `compatible`. */
  nodeCheckCompatible(node: number, compatible: string): FdtResult<boolean> {
    const probe = ro.roProbe(this.#b);
    if (probe < 0) return fdtErrorFrom(probe, "check compatible");
    const result = ro.nodeCheckCompatible(this.#b, node, utf8(compatible));
    return result < 0 ? fdtErrorFrom(result, "check compatible") : result === 0;
  }

  /** `fdt_address_cells`: the node's `#address-cells` (2 when absent; 0 or > 4 is FDT_ERR_BADNCELLS). */
  addressCells(node: number): FdtResult<number> {
    return this.#probed(() => ro.addressCells(this.#b, node), "get #address-cells");
  }

  /** `fdt_size_cells`: the node's `#size-cells` (1 when absent). */
  sizeCells(node: number): FdtResult<number> {
    return this.#probed(() => ro.sizeCells(this.#b, node), "get #size-cells");
  }

  /** `fdt_stringlist_count`: how many strings the property holds. */
  stringlistCount(node: number, name: string): FdtResult<number> {
    return this.#probed(() => ro.stringlistCount(this.#b, node, utf8(name)), "count strings");
  }

  /** `fdt_stringlist_search`: the index of `text` in the property's string list. */
  stringlistSearch(node: number, name: string, text: string): FdtResult<number> {
    return this.#probed(() => ro.stringlistSearch(this.#b, node, utf8(name), utf8(text)), "search strings");
  }

  /** `fdt_stringlist_get`: string `index` of the property's list. */
  stringlistGet(node: number, name: string, index: number): FdtResult<string> {
    const probe = ro.roProbe(this.#b);
    if (probe < 0) return fdtErrorFrom(probe, "get string");
    const text = ro.stringlistGet(this.#b, node, utf8(name), index);
    return typeof text === "number" ? fdtErrorFrom(text, "get string") : text;
  }

  /** `fdt_num_mem_rsv`: entries in the memory reservation map. */
  numMemRsv(): FdtResult<number> {
    return this.#probed(() => ro.numMemRsv(this.#b), "count memory reservations");
  }

  /** `fdt_get_mem_rsv`: reservation entry `n`. */
  getMemRsv(n: number): FdtResult<FdtReserveEntry> {
    const entry = ro.getMemRsv(this.#b, n);
    return typeof entry === "number" ? fdtErrorFrom(entry, "get memory reservation") : entry;
  }

  /** The whole memory reservation map. */
  memReservations(): FdtResult<FdtReserveEntry[]> {
    const count = this.numMemRsv();
    if (count instanceof FdtError) return count;
    const entries: FdtReserveEntry[] = [];
    for (let i = 0; i < count; i++) {
      const entry = this.getMemRsv(i);
      if (entry instanceof FdtError) return entry;
      entries.push(entry);
    }
    return entries;
  }

  /**
   * `fdt_setprop`: creates or replaces the property. A new property goes first in the node, as in libfdt.
   * FDT_ERR_NOSPACE when the blob's `totalsize` leaves no room ({@linkcode Fdt.openInto} makes room).
   */
  setProp(node: number, name: string, value: Uint8Array): FdtError | undefined {
    return statusResult(rw.setprop(this.#b, node, utf8(name), value), "set property");
  }

  /** `fdt_appendprop`: appends to the property's value, creating it when missing. */
  appendProp(node: number, name: string, value: Uint8Array): FdtError | undefined {
    return statusResult(rw.appendprop(this.#b, node, utf8(name), value), "append to property");
  }

  /** `fdt_delprop`. */
  delProp(node: number, name: string): FdtError | undefined {
    return statusResult(rw.delprop(this.#b, node, utf8(name)), "delete property");
  }

  /** `fdt_setprop_inplace`: overwrites the value, which must keep its length (else FDT_ERR_NOSPACE). */
  setPropInplace(node: number, name: string, value: Uint8Array): FdtError | undefined {
    return this.#probedStatus(
      () => rw.setpropInplace(this.#b, node, utf8(name), value),
      "set property in place",
    );
  }

  /** `fdt_setprop_inplace_namelen_partial`: overwrites part of the value, starting at `index`. */
  setPropInplacePartial(node: number, name: string, index: number, value: Uint8Array): FdtError | undefined {
    return this.#probedStatus(
      () => rw.setpropInplacePartial(this.#b, node, utf8(name), index, value),
      "set property in place",
    );
  }

  /** `fdt_nop_property`: replaces the property by NOP tags, in place. */
  nopProperty(node: number, name: string): FdtError | undefined {
    return this.#probedStatus(() => rw.nopProperty(this.#b, node, utf8(name)), "nop property");
  }

  /** `fdt_nop_node`: replaces the node and its subtree by NOP tags, in place. */
  nopNode(node: number): FdtError | undefined {
    return this.#probedStatus(() => rw.nopNode(this.#b, node), "nop node");
  }

  /**
   * `fdt_add_subnode`: adds an empty child after the parent's properties (before its other children);
   * FDT_ERR_EXISTS when it has one of that name.
   */
  addSubnode(parent: number, name: string): FdtResult<number> {
    return numberResult(rw.addSubnode(this.#b, parent, utf8(name)), "add subnode");
  }

  /** `fdt_del_node`: removes the node and its subtree. */
  delNode(node: number): FdtError | undefined {
    return statusResult(rw.delNode(this.#b, node), "delete node");
  }

  /** `fdt_set_name`: renames the node. */
  setName(node: number, name: string): FdtError | undefined {
    return statusResult(rw.setName(this.#b, node, utf8(name)), "rename node");
  }

  /** `fdt_add_mem_rsv`: appends a memory reservation. */
  addMemRsv(address: bigint, size: bigint): FdtError | undefined {
    return statusResult(rw.addMemRsv(this.#b, address, size), "add memory reservation");
  }

  /** `fdt_del_mem_rsv`: removes reservation `n` (FDT_ERR_NOTFOUND past the end). */
  delMemRsv(n: number): FdtError | undefined {
    return statusResult(rw.delMemRsv(this.#b, n), "delete memory reservation");
  }

  /**
   * `fdt_open_into`: copies the blob to `target` (it may share memory with this blob, e.g. the same guest
   * address with a larger length) with `totalsize` = `target.length`, ready for editing. Returns the blob
   * in `target`. An ordered blob needs `target` at least `totalsize` long (`fdt resize` / `fdt addr` with
   * a length); a misordered one is repacked.
   */
  openInto(target: Uint8Array): FdtResult<Fdt> {
    const err = rw.openInto(this.#b, target);
    return err < 0 ? fdtErrorFrom(err, "open blob") : new Fdt(target);
  }

  /** `fdt_pack`: removes the free space between the blocks and at the end (`totalsize` shrinks). */
  pack(): FdtError | undefined {
    return statusResult(rw.pack(this.#b), "pack blob");
  }

  /**
   * The `totalsize` {@linkcode Fdt.shrinkToMinimum} will set, so that the caller can provide that many
   * bytes first.
   */
  shrinkToMinimumSize(extraSize: number, blobAddress: number): FdtResult<number> {
    const probe = ro.roProbe(this.#b);
    if (probe < 0) return fdtErrorFrom(probe, "compute minimum size");
    const moved = this.#ownReservation(blobAddress) >= 0 ? FDT_RESERVE_ENTRY_SIZE : 0;
    return minimumSize(
      hdr(this.#b, "off_dt_strings") - moved + hdr(this.#b, "size_dt_strings"),
      extraSize,
      blobAddress,
    );
  }

  /**
   * U-Boot's `fdt_shrink_to_minimum` (`fdt resize`, and after the boot fixups): `totalsize` becomes the
   * data size plus room for 5 reservation entries plus `extraSize`, rounded up so that the blob ends on a
   * 4 KiB boundary of guest memory (`blobAddress` is where the blob lies). A reservation of the blob's
   * own address is moved to the new size. Returns the new size; FDT_ERR_NOSPACE when `bytes` is shorter
   * (U-Boot would write past its buffer; see {@linkcode Fdt.shrinkToMinimumSize}).
   */
  shrinkToMinimum(extraSize: number, blobAddress: number): FdtResult<number> {
    const size = this.shrinkToMinimumSize(extraSize, blobAddress);
    if (size instanceof FdtError) return size;
    if (size > this.bytes.length) return new FdtError(FDT_ERR_NOSPACE, "shrink blob");
    const own = this.#ownReservation(blobAddress);
    if (own >= 0) rw.delMemRsv(this.#b, own);
    setHdr(this.#b, "totalsize", size);
    if (own >= 0) {
      const err = rw.addMemRsv(this.#b, BigInt(blobAddress), BigInt(size));
      if (err < 0) return fdtErrorFrom(err, "shrink blob");
    }
    return size;
  }

  /** Index of the reservation entry starting at `address` (what fdt_shrink_to_minimum looks for), or -1. */
  #ownReservation(address: number): number {
    const count = ro.numMemRsv(this.#b);
    for (let i = 0; i < count; i++) {
      const entry = ro.getMemRsv(this.#b, i);
      if (typeof entry !== "number" && entry.address === BigInt(address)) return i;
    }
    return -1;
  }

  #probed(call: () => number, action: string): FdtResult<number> {
    const probe = ro.roProbe(this.#b);
    if (probe < 0) return fdtErrorFrom(probe, action);
    return numberResult(call(), action);
  }

  #probedStatus(call: () => number, action: string): FdtError | undefined {
    const probe = ro.roProbe(this.#b);
    if (probe < 0) return fdtErrorFrom(probe, action);
    return statusResult(call(), action);
  }

  #property(prop: ro.PropRef): FdtResult<FdtProperty> {
    const name = ro.getString(this.#b, prop.nameoff);
    if (typeof name === "number") return fdtErrorFrom(name, "get property name");
    const at = prop.dataAt + ro.realignShift(this.#b, prop);
    const end = at + prop.len;
    if (end > this.bytes.length) return fdtErrorFrom(-FDT_ERR_TRUNCATED, "get property");
    return { offset: prop.offset, name, value: this.bytes.subarray(at, end), valueOffset: at };
  }
}
