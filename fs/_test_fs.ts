/**
 * Test helpers for the generic filesystem layer: a tiny {@linkcode FsDriver} that recognises a
 * partition by a 4-byte magic in its first block (read through the block device) and serves files
 * held in memory, recording what the layer asks of it; disks with such partitions; a recording
 * guest memory. Test code only.
 *
 * @module
 */

import { FsCorruptError, type FsDriver, FsError, type FsPartition, type FsVolume } from "./fs_driver.ts";
import { BlockRegistry } from "../drivers/blk/block_registry.ts";
import { MemoryBlockDevice } from "../drivers/blk/memory_block_device.ts";
import { PartitionLayer } from "../disk/part.ts";
import { mbrBlock, putBlock } from "../disk/_test_disks.ts";
import { Environment } from "../env/environment.ts";
import { computeBoardInfo } from "../board/board_setup.ts";
import type { FsCommandContext, FsMemory } from "./fs.ts";

/** A directory entry in a tiny filesystem. */
export const DIR = "dir";

/** How a tiny filesystem behaves where FAT and ext4 differ. */
export interface TinyOptions {
  /**
   * `fat`: a directory's size is 0, and a failed read prints `** Unable to read file x **` to the
   * partition's `out`; `ext4`: sizing a directory fails, reads print nothing.
   */
  readonly flavour?: "fat" | "ext4";
  /** Probing throws {@linkcode FsCorruptError} (a damaged superblock). */
  readonly corrupt?: boolean;
  /** Bytes handed to the sink per call. */
  readonly chunk?: number;
}

/** What the layer asked of a tiny driver. */
export interface TinyLog {
  probes: number;
  mounts: number;
  closes: number;
  reads: { path: string; offset: bigint; length: bigint }[];
  sizes: string[];
}

/** A tiny driver named `name` recognising partitions whose first bytes are `magic`. */
export function tinyDriver(
  name: string,
  magic: string,
  files: Record<string, Uint8Array | typeof DIR>,
  options: TinyOptions = {},
): FsDriver & { log: TinyLog } {
  const log: TinyLog = { probes: 0, mounts: 0, closes: 0, reads: [], sizes: [] };
  const flavour = options.flavour ?? "fat";
  const chunk = options.chunk ?? 3;
  const lookup = (path: string) => files[path.replace(/^\/+/, "")];
  const mount = (partition: FsPartition): FsVolume => ({
    type: name,
    ls(dir, out) {
      const key = dir.replace(/^\/+|\/+$/g, "");
      if (key !== "" && lookup(key) !== DIR) return Promise.resolve(1);
      for (const [path, entry] of Object.entries(files)) {
        if (entry === DIR) out.puts(`            ${path}/\n`);
        else out.puts(` ${String(entry.length).padStart(8)}   ${path}\n`);
      }
      return Promise.resolve(0);
    },
    exists: (path) => Promise.resolve(lookup(path) !== undefined),
    size(path) {
      log.sizes.push(path);
      const entry = lookup(path);
      if (entry === undefined) return Promise.resolve(new FsError("not-found", "Cannot size: no file"));
      if (entry === DIR) {
        return Promise.resolve(flavour === "fat" ? 0n : new FsError("not-a-file", "Cannot size: directory"));
      }
      return Promise.resolve(BigInt(entry.length));
    },
    read(path, offset, length, sink) {
      log.reads.push({ path, offset, length });
      const entry = lookup(path);
      if (entry === undefined || entry === DIR) {
        if (flavour === "fat") partition.out?.puts(`** Unable to read file ${path} **\n`);
        return Promise.resolve(
          entry === DIR
            ? new FsError("not-a-file", "Cannot read: directory")
            : new FsError("not-found", "Cannot read: no file"),
        );
      }
      const start = Number(offset);
      if (start >= entry.length) return Promise.resolve(0n);
      const end = length === 0n ? entry.length : Math.min(entry.length, start + Number(length));
      for (let at = start; at < end; at += chunk) {
        sink(entry.subarray(at, Math.min(end, at + chunk)), at - start);
      }
      return Promise.resolve(BigInt(end - start));
    },
    uuid: () => Promise.resolve(""),
    close: () => void log.closes++,
  });
  return {
    name,
    log,
    async probe(partition: FsPartition) {
      log.probes++;
      if (options.corrupt) throw new FsCorruptError("Cannot mount: bad superblock", 0n);
      const block = new Uint8Array(partition.dev.blksz);
      if (await partition.dev.read(Number(partition.info.start), 1, block) !== 1) return undefined;
      const seen = String.fromCharCode(...block.subarray(0, magic.length));
      if (seen !== magic) return undefined;
      log.mounts++;
      return mount(partition);
    },
  };
}

/** Writes `magic` at the start of block `lba`. */
function _mark(disk: MemoryBlockDevice, lba: number, magic: string): void {
  const block = new Uint8Array(disk.blksz);
  for (let i = 0; i < magic.length; i++) block[i] = magic.charCodeAt(i);
  putBlock(disk, lba, block);
}

/** First blocks of the three partitions of {@linkcode testDisks}' MBR disk. */
export const PART_STARTS = [2048, 4096, 6144] as const;
const PART_BLOCKS = 2048;

/**
 * pvblock 0: an MBR disk, p1 marked `AAFS`, p2 `BBFS`, p3 blank; pvblock 1: no table, the whole
 * disk marked `BBFS`.
 */
export function testDisks(): { blk: BlockRegistry; parts: PartitionLayer } {
  const mbr = new MemoryBlockDevice({ devnum: 0, lba: 8192 });
  putBlock(
    mbr,
    0,
    mbrBlock(PART_STARTS.map((start) => ({ sys: 0x83, start, size: PART_BLOCKS })), 0x5eed1234),
  );
  _mark(mbr, PART_STARTS[0], "AAFS");
  _mark(mbr, PART_STARTS[1], "BBFS");
  const whole = new MemoryBlockDevice({ devnum: 1, lba: 2880 });
  _mark(whole, 0, "BBFS");
  const blk = new BlockRegistry();
  blk.register(mbr);
  blk.register(whole);
  return { blk, parts: new PartitionLayer() };
}

/** Guest memory that keeps every write (sparse). */
export class RecordingMemory implements FsMemory {
  readonly #bytes = new Map<number, number>();
  writes = 0;
  write(address: number, data: Uint8Array): void {
    this.writes++;
    data.forEach((b, i) => this.#bytes.set(address + i, b));
  }
  /** The `length` bytes at `address` (0 where nothing was written). */
  read(address: number, length: number): Uint8Array {
    return Uint8Array.from({ length }, (_, i) => this.#bytes.get(address + i) ?? 0);
  }
}

/** The qemu_arm64-like board of the goldens (512 MiB at 0x40000000, 1 MiB control DTB). */
export const TEST_BOARD = computeBoardInfo({
  banks: [{ start: 0x40000000, size: 0x20000000 }],
  fdtSize: 0x100000,
  model: "linux,dummy-virt",
  profile: "default",
});

/** A command context over a fresh environment, a recording console and memory. */
export function fsContext(env: Record<string, string> = {}): FsCommandContext & {
  console: { text: string; puts(t: string): void };
  memory: RecordingMemory;
  env: Environment;
} {
  return {
    env: new Environment(Object.entries(env), 0x1f000),
    console: {
      text: "",
      puts(t: string) {
        this.text += t;
      },
    },
    memory: new RecordingMemory(),
    board: TEST_BOARD,
  };
}

/** Bytes 0, 1, 2, … (mod 256) of the given length. */
export function pattern(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => i & 0xff);
}
