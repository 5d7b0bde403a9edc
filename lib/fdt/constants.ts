/**
 * Flattened device tree format constants: header layout, structure tokens, versions and limits.
 *
 * Everything in a blob is big-endian. Names follow the devicetree specification and libfdt's `fdt.h`.
 *
 * @module
 */

/** Magic number of a finished blob (`fdt_header.magic`). */
export const FDT_MAGIC = 0xd00dfeed;
/** Magic number of a blob still being written by the sequential-write functions (`~FDT_MAGIC`). */
export const FDT_SW_MAGIC = (~FDT_MAGIC) >>> 0;

/** Structure token: start of a node, followed by its NUL-terminated name padded to 4 bytes. */
export const FDT_BEGIN_NODE = 0x1;
/** Structure token: end of a node. */
export const FDT_END_NODE = 0x2;
/** Structure token: a property (`len` u32, `nameoff` u32, then the value padded to 4 bytes). */
export const FDT_PROP = 0x3;
/** Structure token: nothing (left where something was removed in place). */
export const FDT_NOP = 0x4;
/** Structure token: end of the structure block. */
export const FDT_END = 0x9;

/** Size and alignment of a structure token. */
export const FDT_TAGSIZE = 4;

/** Byte offsets of the header fields (each a big-endian u32). */
export const FDT_HEADER = {
  magic: 0,
  totalsize: 4,
  off_dt_struct: 8,
  off_dt_strings: 12,
  off_mem_rsvmap: 16,
  version: 20,
  last_comp_version: 24,
  boot_cpuid_phys: 28,
  size_dt_strings: 32,
  size_dt_struct: 36,
} as const;

/** Name of one header field, as `fdt header get` spells it. */
export type FdtHeaderField = keyof typeof FDT_HEADER;

/** The header fields in blob order. */
export const FDT_HEADER_FIELDS: readonly FdtHeaderField[] = Object.freeze(
  Object.keys(FDT_HEADER) as FdtHeaderField[],
);

/** Header size of a version 1 blob (`magic` up to `last_comp_version`). */
export const FDT_V1_SIZE = 7 * 4;
/** Header size of a version 2 blob (adds `boot_cpuid_phys`). */
export const FDT_V2_SIZE = FDT_V1_SIZE + 4;
/** Header size of a version 3 blob (adds `size_dt_strings`). */
export const FDT_V3_SIZE = FDT_V2_SIZE + 4;
/** Header size of a version 16 blob (same as version 3). */
export const FDT_V16_SIZE = FDT_V3_SIZE;
/** Header size of a version 17 blob (adds `size_dt_struct`). */
export const FDT_V17_SIZE = FDT_V16_SIZE + 4;

/** Oldest blob version libfdt reads. */
export const FDT_FIRST_SUPPORTED_VERSION = 0x02;
/** Newest blob version libfdt knows (and writes). */
export const FDT_LAST_SUPPORTED_VERSION = 0x11;
/** `last_comp_version` that libfdt and dtc write into the blobs they finish. */
export const FDT_LAST_COMPATIBLE_VERSION = 0x10;

/** Size of one memory reservation entry: address u64 at 0, size u64 at 8. */
export const FDT_RESERVE_ENTRY_SIZE = 16;
/** Offset of `address` in a memory reservation entry. */
export const FDT_RESERVE_ENTRY_ADDRESS = 0;
/** Offset of `size` in a memory reservation entry. */
export const FDT_RESERVE_ENTRY_SIZE_FIELD = 8;

/** Offset of `len` in a property record (after the FDT_PROP tag). */
export const FDT_PROP_LEN = 4;
/** Offset of `nameoff` in a property record. */
export const FDT_PROP_NAMEOFF = 8;
/** Size of a property record before its value (tag, len, nameoff). */
export const FDT_PROP_HEADER_SIZE = 12;
/** Size of a node record before its name (the FDT_BEGIN_NODE tag). */
export const FDT_NODE_HEADER_SIZE = 4;

/** Largest `#address-cells` / `#size-cells` value libfdt accepts. */
export const FDT_MAX_NCELLS = 4;
/** Largest valid phandle (0 and 0xffffffff are invalid). */
export const FDT_MAX_PHANDLE = 0xfffffffe;

/**
 * Deepest node nesting walked by the tree model, like U-Boot's `MAX_LEVEL` for `fdt print`: the start node
 * is level 0 and a node at level 32 is refused.
 */
export const FDT_MAX_DEPTH = 32;

/** Rounds `n` up to the structure alignment (4 bytes). */
export function fdtTagAlign(n: number): number {
  const rest = n % FDT_TAGSIZE;
  return rest === 0 ? n : n + FDT_TAGSIZE - rest;
}
