/**
 * Extent trees that are damaged on purpose (in a copy of a fixture partition): every kind of bad
 * node ends the read with an error value, never an exception or a hang; a node without the magic
 * prints U-Boot's `invalid extent block`.
 */

import assert from "node:assert/strict";
import { FsError } from "../fs_driver.ts";
import {
  collectingSink,
  inodeOffset,
  memoryPartition,
  partitionBytes,
  partitionFile,
  taggedBlocks,
  TextRecorder,
} from "./_test_images.ts";
import { mountExt4 } from "./driver.ts";
import {
  EE_BLOCK,
  EE_START_HI,
  EH_DEPTH,
  EH_ENTRIES,
  EH_MAGIC,
  EH_MAX,
  EI_LEAF_LO,
  EXTENT_ENTRY_BYTES,
} from "./extent_tree.ts";
import { I_BLOCK } from "./inode.ts";

/** Offsets of `path`'s extent root and tree blocks in the partition. */
interface _Tree {
  /** Byte offset of the root header (in the inode). */
  readonly root: number;
  /** Byte offsets of the `ETB0` blocks (depth-1 nodes: leaves of a depth-1 tree). */
  readonly etb0: number[];
  /** Byte offsets of the `ETB1` blocks (the leaves of a depth-2 tree). */
  readonly etb1: number[];
}

async function _tree(fixture: string, part: number, path: string, blockSize: number): Promise<_Tree> {
  const image = await partitionFile(fixture, part);
  return {
    root: (await inodeOffset(image, path, blockSize)) + I_BLOCK,
    etb0: (await taggedBlocks(image, path, "ETB0")).map((b) => b * blockSize),
    etb1: (await taggedBlocks(image, path, "ETB1")).map((b) => b * blockSize),
  };
}

/** Reads `path` from a damaged copy of the partition; returns the result and what was printed. */
async function _readDamaged(
  fixture: string,
  part: number,
  path: string,
  damage: (view: DataView) => void,
): Promise<{ result: bigint | FsError; printed: string }> {
  const bytes = (await partitionBytes(fixture, part)).slice();
  damage(new DataView(bytes.buffer));
  const out = new TextRecorder();
  const volume = await mountExt4(memoryPartition(bytes, out));
  assert.ok(volume !== undefined);
  const result = await volume.read(path, 0n, 0n, collectingSink().sink);
  return { result, printed: out.text };
}

function _assertCorrupt(result: bigint | FsError, what: string): void {
  assert.ok(result instanceof FsError && result.kind === "corrupt", `${what}: ${result}`);
}

const KIB4 = 4096;

Deno.test("ext4 extents: a node without the magic fails the read with `invalid extent block`", async () => {
  const sparse = await _tree("gpt", 2, "/sparse.bin", KIB4);
  const leaf = sparse.etb0[0]!;
  const { result, printed } = await _readDamaged(
    "gpt",
    2,
    "sparse.bin",
    (v) => v.setUint16(leaf + EH_MAGIC, 0, true),
  );
  _assertCorrupt(result, "bad leaf magic");
  assert.equal(printed, "invalid extent block\n");
  const root = await _readDamaged(
    "gpt",
    2,
    "sparse.bin",
    (v) => v.setUint16(sparse.root + EH_MAGIC, 0xf30b, true),
  );
  _assertCorrupt(root.result, "bad root magic");
  assert.equal(root.printed, "invalid extent block\n");
});

Deno.test("ext4 extents: depth above 5, or not one less than the parent's, is corrupt", async () => {
  const frag = await _tree("ext4-edge", 1, "/frag.bin", KIB4);
  _assertCorrupt(
    (await _readDamaged("ext4-edge", 1, "frag.bin", (v) => v.setUint16(frag.root + EH_DEPTH, 6, true)))
      .result,
    "depth 6",
  );
  _assertCorrupt(
    (await _readDamaged("ext4-edge", 1, "frag.bin", (v) => v.setUint16(frag.root + EH_DEPTH, 3, true)))
      .result,
    "depth 3 over a depth-1 child",
  );
  // The depth-1 node's first entry names the node itself: a depth mismatch, not a loop.
  const index = frag.etb0[0]!;
  const self = await _readDamaged("ext4-edge", 1, "frag.bin", (v) => {
    v.setUint32(index + EXTENT_ENTRY_BYTES + EI_LEAF_LO, index / KIB4, true);
  });
  _assertCorrupt(self.result, "index naming itself");
});

Deno.test("ext4 extents: entry counts above eh_max, and eh_max above what fits, are corrupt", async () => {
  const frag = await _tree("ext4-edge", 1, "/frag.bin", KIB4);
  _assertCorrupt(
    (await _readDamaged("ext4-edge", 1, "frag.bin", (v) => v.setUint16(frag.root + EH_MAX, 5, true))).result,
    "root max 5",
  );
  const leaf = frag.etb1[0]!;
  const over = await _readDamaged("ext4-edge", 1, "frag.bin", (v) => {
    v.setUint16(leaf + EH_ENTRIES, v.getUint16(leaf + EH_MAX, true) + 1, true);
  });
  _assertCorrupt(over.result, "entries above max");
  const huge = await _readDamaged(
    "ext4-edge",
    1,
    "frag.bin",
    (v) => v.setUint16(leaf + EH_MAX, 0xffff, true),
  );
  _assertCorrupt(huge.result, "max above the block");
});

Deno.test("ext4 extents: leaf extents out of order or beyond the partition are corrupt", async () => {
  const frag = await _tree("ext4-edge", 1, "/frag.bin", KIB4);
  const leaf = frag.etb1[0]!;
  const entry = (i: number) => leaf + EXTENT_ENTRY_BYTES * (i + 1);
  const swapped = await _readDamaged("ext4-edge", 1, "frag.bin", (v) => {
    const first = v.getUint32(entry(0) + EE_BLOCK, true);
    v.setUint32(entry(0) + EE_BLOCK, v.getUint32(entry(1) + EE_BLOCK, true), true);
    v.setUint32(entry(1) + EE_BLOCK, first, true);
  });
  _assertCorrupt(swapped.result, "out of order");
  const far = await _readDamaged(
    "ext4-edge",
    1,
    "frag.bin",
    (v) => v.setUint16(entry(3) + EE_START_HI, 0xffff, true),
  );
  _assertCorrupt(far.result, "beyond the partition");
});

Deno.test("ext4 extents: a read of a damaged file leaves the other files readable", async () => {
  const sparse = await _tree("gpt", 2, "/sparse.bin", KIB4);
  const bytes = (await partitionBytes("gpt", 2)).slice();
  new DataView(bytes.buffer).setUint16(sparse.etb0[0]! + EH_MAGIC, 0, true);
  const volume = (await mountExt4(memoryPartition(bytes)))!;
  assert.equal(await volume.size("sparse.bin"), 1048576n);
  _assertCorrupt(await volume.read("sparse.bin", 0n, 0n, () => {}), "sparse.bin");
  assert.equal(await volume.read("hello.txt", 0n, 0n, () => {}), 32n);
});
