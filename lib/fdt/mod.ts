/**
 * Flattened device trees with libfdt's semantics, for the guest side (U-Boot's `fdt` command and the
 * boot-time FDT fixups).
 *
 * - {@linkcode Fdt} edits a blob where it lies, as libfdt does: `totalsize` is the space limit
 *   (`setProp` on a dtc-made blob with no free space gives FDT_ERR_NOSPACE until `openInto` a larger
 *   buffer), new properties go first in their node, new nodes after the parent's properties.
 * - Errors are {@linkcode FdtError} values carrying the `FDT_ERR_*` code; {@linkcode fdtStrerror} gives
 *   the names U-Boot prints.
 * - {@linkcode parseFdtTree} / {@linkcode serializeFdtTree} convert between a blob and plain objects,
 *   laid out byte for byte as `dtc` lays a blob out.
 *
 * @example
 * ```ts
 * import { Fdt, FdtError, fdtString } from "./mod.ts";
 *
 * const fdt = Fdt.createEmptyTree(1024);
 * if (fdt instanceof FdtError) throw fdt;
 * const node = fdt.addSubnode(0, "chosen");
 * if (node instanceof FdtError) throw node;
 * const err = fdt.setProp(node, "bootargs", fdtString("console=hvc0"));
 * console.log(err?.errName ?? "ok"); // "ok"
 * ```
 *
 * @module
 */

export {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_HEADER,
  FDT_HEADER_FIELDS,
  FDT_LAST_COMPATIBLE_VERSION,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_MAX_DEPTH,
  FDT_NOP,
  FDT_PROP,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_TAGSIZE,
  type FdtHeaderField,
} from "./constants.ts";
export {
  FDT_ERR_ALIGNMENT,
  FDT_ERR_BADFLAGS,
  FDT_ERR_BADLAYOUT,
  FDT_ERR_BADMAGIC,
  FDT_ERR_BADNCELLS,
  FDT_ERR_BADOFFSET,
  FDT_ERR_BADOVERLAY,
  FDT_ERR_BADPATH,
  FDT_ERR_BADPHANDLE,
  FDT_ERR_BADSTATE,
  FDT_ERR_BADSTRUCTURE,
  FDT_ERR_BADVALUE,
  FDT_ERR_BADVERSION,
  FDT_ERR_EXISTS,
  FDT_ERR_INTERNAL,
  FDT_ERR_MAX,
  FDT_ERR_NOPHANDLES,
  FDT_ERR_NOSPACE,
  FDT_ERR_NOTFOUND,
  FDT_ERR_TRUNCATED,
  FdtError,
  type FdtErrorCode,
  type FdtResult,
  fdtStrerror,
} from "./errors.ts";
export { Fdt, type FdtNodeStep, type FdtProperty, type FdtReserveEntry, type FdtTagStep } from "./fdt.ts";
export {
  type FdtTree,
  type FdtTreeNode,
  fdtTreeNode,
  type FdtTreeProperty,
  findFdtTreeNode,
  parseFdtTree,
  serializeFdtTree,
} from "./tree.ts";
export {
  type FdtRegion,
  fdtRegs,
  fdtString,
  fdtStringList,
  fdtU32,
  fdtU64,
  readFdtRegs,
  readFdtStringList,
  readFdtU32Cells,
} from "./value.ts";
