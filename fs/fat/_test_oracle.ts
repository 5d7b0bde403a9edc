/**
 * Test helpers for the FAT driver: the fixture images' FAT partitions as block devices, and mtools
 * (`mdir`, `mcopy`, `minfo`, run on `image@@offset`) as the oracle of what they hold. Test code only;
 * host I/O, so it uses `Deno.*`.
 *
 * @module
 */

import { ensureFixture } from "../../tests/fixtures.ts";
import { HostFileBlockDevice } from "../../tests/host_file_block_device.ts";
import { MemoryBlockDevice } from "../../drivers/blk/memory_block_device.ts";
import type { BlockDevice } from "../../drivers/blk/block_device.ts";
import { PartitionLayer, wholeDiskInfo } from "../../disk/part.ts";
import type { PartitionInfo } from "../../disk/part_driver.ts";
import type { FsTextSink } from "../fs_driver.ts";
import { FatVolume } from "./fat_volume.ts";

/** Environment for mtools: no geometry checks, fixed locale. */
const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: "1", LC_ALL: "C", TZ: "UTC" };

/** A text sink that records. */
export class Recorder implements FsTextSink {
  text = "";
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

/** A FAT partition of a fixture image. */
export interface FatFixture {
  /** Fixture name and partition, for messages. */
  readonly label: string;
  /** The image file. */
  readonly image: string;
  /** Byte offset of the partition in the image (for mtools' `@@`). */
  readonly offset: number;
  /** The partition number (0: whole disk). */
  readonly part: number;
}

/** The FAT partitions of the fixtures: floppy (FAT12), mbr p1/p5 (FAT16), gpt p1 (FAT32), fat-edge p1-p3. */
export const FAT_PARTITIONS: readonly (readonly [string, number])[] = [
  ["floppy", 0],
  ["mbr", 1],
  ["mbr", 5],
  ["gpt", 1],
  ["fat-edge", 1],
  ["fat-edge", 2],
  ["fat-edge", 3],
];

/** The partition `part` of the disk `dev` (0: the whole disk). */
export async function partitionInfo(dev: BlockDevice, part: number): Promise<PartitionInfo> {
  if (part === 0) return wholeDiskInfo(dev);
  const info = await new PartitionLayer().getInfo(dev, part, new Recorder());
  if (info === undefined) throw new Error(`Cannot find partition ${part}`);
  return info;
}

/** Locates partition `part` of fixture `name`. */
export async function fatFixture(name: string, part: number): Promise<FatFixture> {
  const image = await ensureFixture(name);
  const dev = await HostFileBlockDevice.open(image);
  try {
    const info = await partitionInfo(dev, part);
    return { label: `${name}:${part}`, image, offset: Number(info.start) * dev.blksz, part };
  } finally {
    dev.close();
  }
}

/** The fixture's partition mounted from the image file (read-only); close `dev` when done. */
export async function hostVolume(
  fixture: FatFixture,
  out?: FsTextSink,
): Promise<{ dev: HostFileBlockDevice; volume: FatVolume | undefined }> {
  const dev = await HostFileBlockDevice.open(fixture.image);
  const info = await partitionInfo(dev, fixture.part);
  const volume = await FatVolume.mount(
    out === undefined ? { dev, part: fixture.part, info } : { dev, part: fixture.part, info, out },
  );
  return { dev, volume };
}

/** The fixture's partition mounted from an in-memory copy of the whole image (free to damage). */
export async function memoryVolume(
  fixture: FatFixture,
  out?: FsTextSink,
): Promise<{ dev: MemoryBlockDevice; volume: FatVolume | undefined; info: PartitionInfo }> {
  const dev = MemoryBlockDevice.fromBytes(await Deno.readFile(fixture.image));
  const info = await partitionInfo(dev, fixture.part);
  const volume = await FatVolume.mount(
    out === undefined ? { dev, part: fixture.part, info } : { dev, part: fixture.part, info, out },
  );
  return { dev, volume, info };
}

async function _mtools(program: string, args: string[]): Promise<Uint8Array> {
  const result = await new Deno.Command(program, { args, env: MTOOLS_ENV, stdout: "piped", stderr: "piped" })
    .output();
  if (!result.success) {
    throw new Error(`Cannot run ${program} ${args.join(" ")}: ${new TextDecoder().decode(result.stderr)}`);
  }
  return result.stdout;
}

function _image(f: FatFixture): string {
  return `${f.image}@@${f.offset}`;
}

/** One entry as `mdir -a` shows it. */
export interface OracleEntry {
  /** The 8.3 name as shown (`hello.txt`, `THISIS~1.TXT`, `.`, `..`). */
  readonly shortName: string;
  /** The long name, when the entry has one. */
  readonly longName: string | undefined;
  /** Directory? */
  readonly isDir: boolean;
  /** Size (0 for directories). */
  readonly size: number;
}

const MDIR_LINE = /^(.{8}) (.{3}) +(<DIR>|\d+) +\d{4}-\d\d-\d\d +\d\d:\d\d ?(.*)$/;

const _mdirCache = new Map<string, OracleEntry[]>();

/** `mdir -a` of `dir` (a path from the root, `/` separated), parsed (cached per image and path). */
export async function mdir(f: FatFixture, dir: string): Promise<OracleEntry[]> {
  const key = `${f.image}@@${f.offset}:${dir}`;
  const cached = _mdirCache.get(key);
  if (cached !== undefined) return cached;
  const entries = await _mdir(f, dir);
  _mdirCache.set(key, entries);
  return entries;
}

async function _mdir(f: FatFixture, dir: string): Promise<OracleEntry[]> {
  const text = new TextDecoder("latin1").decode(await _mtools("mdir", ["-a", "-i", _image(f), `::${dir}`]));
  const entries: OracleEntry[] = [];
  for (const line of text.split("\n")) {
    const m = MDIR_LINE.exec(line);
    if (m === null) continue;
    const base = m[1]!.trimEnd();
    const ext = m[2]!.trimEnd();
    const rest = m[4]!;
    entries.push({
      shortName: ext === "" ? base : `${base}.${ext}`,
      longName: rest.startsWith(" ") ? rest.slice(1) : undefined,
      isDir: m[3] === "<DIR>",
      size: m[3] === "<DIR>" ? 0 : Number(m[3]),
    });
  }
  return entries;
}

/** The name U-Boot shows for an oracle entry. */
export function shownName(e: OracleEntry): string {
  return e.longName ?? e.shortName;
}

/** The `fatls` text U-Boot prints for a directory holding `entries`. */
export function expectedListing(entries: readonly OracleEntry[]): string {
  let text = "";
  let files = 0;
  let dirs = 0;
  for (const e of entries) {
    if (e.isDir) {
      text += `            ${shownName(e)}/\n`;
      dirs++;
    } else {
      text += ` ${String(e.size).padStart(8)}   ${shownName(e)}\n`;
      files++;
    }
  }
  return `${text}\n${files} file(s), ${dirs} dir(s)\n\n`;
}

/** Every directory of the volume (`/` first), walked with the oracle. */
export async function allDirs(f: FatFixture): Promise<string[]> {
  const dirs = ["/"];
  for (let i = 0; i < dirs.length; i++) {
    const dir = dirs[i]!;
    for (const e of await mdir(f, dir)) {
      if (!e.isDir || e.shortName === "." || e.shortName === "..") continue;
      dirs.push(`${dir === "/" ? "" : dir}/${shownName(e)}`);
    }
  }
  return dirs;
}

/** `mcopy -s` of the whole volume into a fresh temporary folder; returns its path. */
export async function extractAll(f: FatFixture): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fat-oracle-" });
  await _mtools("mcopy", ["-s", "-n", "-m", "-i", _image(f), "::/*", dir]);
  return dir;
}

/** `minfo`: the label, `fs_type` and serial of the boot sector. */
export async function minfo(f: FatFixture): Promise<{ label: string; type: string; serial: string }> {
  const text = new TextDecoder("latin1").decode(await _mtools("minfo", ["-i", _image(f), "::"]));
  const field = (re: RegExp) => re.exec(text)?.[1] ?? "";
  return {
    label: field(/disk label="([^"]*)"/),
    type: field(/disk type="([^"]*)"/),
    serial: field(/serial number: ([0-9A-F]+)/),
  };
}
