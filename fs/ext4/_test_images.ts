/**
 * Test helpers for the ext4 reader: the ext partitions of the fixture disks as in-memory devices,
 * mounted volumes over them, and debugfs (e2fsprogs) as the oracle: `ls -l` listings and `dump`ed
 * file contents. Host I/O (fixture files, debugfs), so it uses `Deno.*`.
 *
 * @module
 */

import { MemoryBlockDevice } from "../../drivers/blk/memory_block_device.ts";
import type { BlockDevice } from "../../drivers/blk/block_device.ts";
import { PartitionLayer } from "../../disk/part.ts";
import { ensureFixture } from "../../tests/fixtures.ts";
import { HostFileBlockDevice } from "../../tests/host_file_block_device.ts";
import type { FsPartition, FsTextSink } from "../fs_driver.ts";
import { mountExt4 } from "./driver.ts";
import type { Ext4Volume } from "./volume.ts";

/** An ext partition of a fixture: name, disk, partition number. */
export interface ExtPartitionSpec {
  /** A label for test names. */
  readonly label: string;
  /** The fixture recipe. */
  readonly fixture: string;
  /** The partition number. */
  readonly part: number;
}

/** The ext partitions of the fixtures. */
export const EXT_PARTITIONS: readonly ExtPartitionSpec[] = [
  { label: "gpt p2 (ext4, 4 KiB, metadata_csum, 64bit)", fixture: "gpt", part: 2 },
  { label: "mbr p2 (ext2, 1 KiB)", fixture: "mbr", part: 2 },
  { label: "ext4-edge p1 (ext4, 4 KiB, htree, depth 2)", fixture: "ext4-edge", part: 1 },
  { label: "ext4-edge p2 (ext2 rev 0, 1 KiB, no filetype)", fixture: "ext4-edge", part: 2 },
  { label: "ext4-edge p3 (ext4, 1 KiB, 32-byte descriptors)", fixture: "ext4-edge", part: 3 },
];

/** A console that keeps what was printed. */
export class TextRecorder implements FsTextSink {
  text = "";
  /** Appends. */
  puts(t: string): void {
    this.text += t;
  }
  /** Returns and clears the text. */
  take(): string {
    const t = this.text;
    this.text = "";
    return t;
  }
}

const _bytes = new Map<string, Promise<Uint8Array>>();
const _files = new Map<string, Promise<string>>();

/** The bytes of partition `part` of fixture `fixture` (cached per process). */
export function partitionBytes(fixture: string, part: number): Promise<Uint8Array> {
  const key = `${fixture}:${part}`;
  let p = _bytes.get(key);
  if (p === undefined) {
    p = (async () => {
      const path = await ensureFixture(fixture);
      const dev = await HostFileBlockDevice.open(path, {});
      let start: number;
      let length: number;
      try {
        const parts = new PartitionLayer();
        const quiet = { puts() {} };
        await parts.ensureProbed(dev, quiet);
        const info = await parts.getInfo(dev, part, quiet);
        if (info === undefined) throw new Error(`Cannot find partition ${part} of ${fixture}`);
        start = Number(info.start) * info.blksz;
        length = Number(info.size) * info.blksz;
      } finally {
        dev.close();
      }
      const bytes = new Uint8Array(length);
      const file = await Deno.open(path);
      try {
        await file.seek(start, Deno.SeekMode.Start);
        for (let done = 0; done < length;) {
          const n = await file.read(bytes.subarray(done));
          if (n === null) throw new Error(`Cannot read partition ${part} of ${fixture}: short file`);
          done += n;
        }
      } finally {
        file.close();
      }
      return bytes;
    })();
    _bytes.set(key, p);
  }
  return p;
}

/**
 * The partition as a file of its own, for debugfs: beside the fixture image in the fixture cache
 * (`NAME-HASH-pN.img`), written once and reused while the fixture is unchanged.
 */
export function partitionFile(fixture: string, part: number): Promise<string> {
  const key = `${fixture}:${part}`;
  let p = _files.get(key);
  if (p === undefined) {
    p = (async () => {
      const image = await ensureFixture(fixture);
      const file = `${image.replace(/\.img$/, "")}-p${part}.img`;
      try {
        await Deno.stat(file);
        return file;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      const temp = `${file}.${Deno.pid}.tmp`;
      await Deno.writeFile(temp, await partitionBytes(fixture, part));
      await Deno.rename(temp, file);
      return file;
    })();
    _files.set(key, p);
  }
  return p;
}

/** A partition over `bytes` (a copy is not made: mutate a copy for corruption tests). */
export function memoryPartition(bytes: Uint8Array, out?: FsTextSink, dev?: BlockDevice): FsPartition {
  const device = dev ?? MemoryBlockDevice.fromBytes(bytes);
  const info = {
    start: 0n,
    size: BigInt(device.lba),
    blksz: device.blksz,
    name: "",
    type: "U-Boot",
    bootable: 0,
    uuid: "",
    sysInd: 0,
  };
  return out === undefined ? { dev: device, part: 1, info } : { dev: device, part: 1, info, out };
}

/** The mounted volume of a fixture partition (over the shared bytes: nothing writes through a volume). */
export async function mountFixture(fixture: string, part: number, out?: FsTextSink): Promise<Ext4Volume> {
  const bytes = await partitionBytes(fixture, part);
  const volume = await mountExt4(memoryPartition(bytes, out));
  if (volume === undefined) throw new Error(`Cannot mount ${fixture} p${part}`);
  return volume;
}

/** Runs `debugfs -R request image`; returns standard output. */
export async function debugfs(image: string, request: string): Promise<string> {
  const out = await new Deno.Command("debugfs", {
    args: ["-R", request, image],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`Cannot run debugfs ${request}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** One entry of `debugfs ls -l`. */
export interface DebugfsEntry {
  /** Inode number. */
  readonly ino: number;
  /** `i_mode`. */
  readonly mode: number;
  /** The name. */
  readonly name: string;
  /** The full size. */
  readonly size: bigint;
}

/** `debugfs -R "ls -l dir"`: the entries in on-disk order. */
export async function debugfsList(image: string, dir: string): Promise<DebugfsEntry[]> {
  const text = await debugfs(image, `ls -l "${dir}"`);
  const entries: DebugfsEntry[] = [];
  for (const line of text.split("\n")) {
    // "     12  100644 (1)      0      0      19 14-Nov-2023 22:13 name"
    const m = /^\s*(\d+)\s+([0-7]+)\s+\(\d+\)\s+\d+\s+\d+\s+(\d+)\s+\S+\s+\S+\s(.*)$/.exec(line);
    if (m === null) continue;
    entries.push({ ino: Number(m[1]), mode: parseInt(m[2]!, 8), name: m[4]!, size: BigInt(m[3]!) });
  }
  return entries;
}

/** The contents of `paths` as debugfs reads them (`dump`, one debugfs run for all). */
export async function debugfsDump(image: string, paths: readonly string[]): Promise<Map<string, Uint8Array>> {
  const dir = await Deno.makeTempDir({ prefix: "ext4-dump-" });
  try {
    const script = paths.map((path, i) => `dump "${path}" ${dir}/${i}`).join("\n") + "\n";
    const out = await new Deno.Command("debugfs", {
      args: ["-f", "-", image],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const writer = out.stdin.getWriter();
    await writer.write(new TextEncoder().encode(script));
    await writer.close();
    const status = await out.output();
    if (!status.success) {
      throw new Error(`Cannot run debugfs dump: ${new TextDecoder().decode(status.stderr)}`);
    }
    const result = new Map<string, Uint8Array>();
    for (const [i, path] of paths.entries()) result.set(path, await Deno.readFile(`${dir}/${i}`));
    return result;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Collects a read into one buffer, checking that chunks come in order. */
export function collectingSink(): { sink: (chunk: Uint8Array, at: number) => void; bytes: () => Uint8Array } {
  const parts: Uint8Array[] = [];
  let next = 0;
  return {
    sink(chunk, at) {
      if (at !== next) throw new Error(`Cannot collect: chunk at ${at}, expected ${next}`);
      parts.push(chunk.slice());
      next += chunk.length;
    },
    bytes() {
      const all = new Uint8Array(next);
      let o = 0;
      for (const p of parts) {
        all.set(p, o);
        o += p.length;
      }
      return all;
    },
  };
}

/** Byte offset in the partition of `path`'s inode record (`debugfs imap`). */
export async function inodeOffset(image: string, path: string, blockSize: number): Promise<number> {
  const text = await debugfs(image, `imap "${path}"`);
  const m = /located at block (\d+), offset 0x([0-9a-f]+)/.exec(text);
  if (m === null) throw new Error(`Cannot locate the inode of ${path}: ${text}`);
  return Number(m[1]) * blockSize + parseInt(m[2]!, 16);
}

/** The blocks `debugfs stat` names with a tag (`ETB0`, `IND`, `DIND`, `TIND`) for `path`, in order. */
export async function taggedBlocks(image: string, path: string, tag: string): Promise<number[]> {
  const text = await debugfs(image, `stat "${path}"`);
  return [...text.matchAll(new RegExp(`\\(${tag}\\):(\\d+)`, "g"))].map((m) => Number(m[1]));
}

/** The first data block of `path` (`debugfs stat`'s `(0):N` or `(0-k):N-M`). */
export async function firstDataBlock(image: string, path: string): Promise<number> {
  const text = await debugfs(image, `stat "${path}"`);
  const m = /\(0(?:-\d+)?\):(\d+)/.exec(text);
  if (m === null) throw new Error(`Cannot find the first block of ${path}`);
  return Number(m[1]);
}
