/**
 * Test oracle: util-linux's `partx --pairs` on a disk image, its numbers converted to the image's own
 * blocks (partx reports 512-byte sectors whatever `-S` says). Host I/O (runs partx), test code only.
 *
 * @module
 */

/** partx's unit. */
const PARTX_SECTOR = 512;

/** One partition as partx lists it, in the disk's own blocks. */
export interface PartxRow {
  /** Partition number. */
  readonly nr: number;
  /** First block. */
  readonly start: bigint;
  /** Last block. */
  readonly end: bigint;
  /** Blocks. */
  readonly sectors: bigint;
  /** GPT type GUID, or the DOS type as `0x83`. */
  readonly type: string;
  /** Partition UUID (DOS: `disksig-nn`). */
  readonly uuid: string;
  /** GPT name ("" for DOS). */
  readonly name: string;
  /** GPT attributes, or the DOS boot flag. */
  readonly flags: bigint;
  /** `gpt` or `dos`. */
  readonly scheme: string;
}

/** Runs partx on `image` read with `blksz`-byte sectors; [] when it finds no table. */
export async function partx(image: string, blksz: number): Promise<PartxRow[]> {
  const out = await new Deno.Command("partx", {
    args: ["--pairs", "-S", String(blksz), "-o", "NR,START,END,SECTORS,TYPE,UUID,NAME,FLAGS,SCHEME", image],
    env: { LC_ALL: "C" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) return [];
  const scale = BigInt(blksz / PARTX_SECTOR);
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => {
    const f = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    return {
      nr: Number(f.NR),
      start: BigInt(f.START!) / scale,
      end: (BigInt(f.END!) + 1n) / scale - 1n,
      sectors: BigInt(f.SECTORS!) / scale,
      type: f.TYPE!,
      uuid: f.UUID!,
      name: f.NAME!,
      flags: BigInt(f.FLAGS!),
      scheme: f.SCHEME!,
    };
  });
}
