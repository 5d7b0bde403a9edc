/**
 * The arm64 Linux `Image` header (Linux Documentation/arch/arm64/booting.rst; U-Boot
 * arch/arm/lib/image.c): its fields at named offsets, all little-endian, and `booti_setup`'s placement
 * rule: an Image whose flags allow it (bit 3) runs where it lies, rounded to 2 MiB; any other is moved
 * to the start of RAM; an old Image without `image_size` is assumed to need 16 MiB at text offset
 * 0x80000.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ARM64_IMAGE_HEADER, ARM64_IMAGE_HEADER_SIZE, arm64ImagePlacement, LINUX_ARM64_IMAGE_MAGIC,
 *   readArm64ImageHeader } from "./image_arm64.ts";
 *
 * const bytes = new Uint8Array(ARM64_IMAGE_HEADER_SIZE);
 * const view = new DataView(bytes.buffer);
 * view.setBigUint64(ARM64_IMAGE_HEADER.imageSize, 0x380000n, true);
 * view.setBigUint64(ARM64_IMAGE_HEADER.flags, 0xan, true);
 * view.setUint32(ARM64_IMAGE_HEADER.magic, LINUX_ARM64_IMAGE_MAGIC, true);
 * const placed = arm64ImagePlacement(readArm64ImageHeader(bytes), 0x40480000n, 0x40000000n);
 * assert.equal(placed?.relocated, 0x40600000n); // 2 MiB aligned, text_offset 0
 * ```
 *
 * @module
 */

/** Field offsets of `struct Image_header` (little-endian). */
export const ARM64_IMAGE_HEADER = {
  /** Executable code (an EFI stub has "MZ" here). */
  code0: 0,
  /** Executable code. */
  code1: 4,
  /** Image load offset from a 2 MiB aligned base (u64). */
  textOffset: 8,
  /** Effective image size, bss included (u64; 0 on kernels before Linux 3.17). */
  imageSize: 16,
  /** Kernel flags (u64). */
  flags: 24,
  /** Reserved (u64). */
  res2: 32,
  /** Reserved (u64). */
  res3: 40,
  /** Reserved (u64). */
  res4: 48,
  /** `LINUX_ARM64_IMAGE_MAGIC` (u32). */
  magic: 56,
  /** Reserved (u32; the PE header offset of an EFI stub). */
  res5: 60,
} as const;

/** Bytes of the header. */
export const ARM64_IMAGE_HEADER_SIZE = 64;
/** `"ARM\x64"` read as a little-endian u32. */
export const LINUX_ARM64_IMAGE_MAGIC = 0x644d5241;
/** Flags bit 3: the 2 MiB aligned base may be anywhere in physical memory. */
export const ARM64_IMAGE_FLAG_PHYS_BASE = 1n << 3n;
/** The kernel's base is aligned to 2 MiB (`SZ_2M`). */
export const ARM64_IMAGE_BASE_ALIGN = 0x200000n;
/** What `booti_setup` assumes when `image_size` is 0: 16 MiB ... */
export const ARM64_ASSUMED_IMAGE_SIZE = 16n << 20n;
/** ... at text offset 0x80000 (the offset every kernel before 3.17 used). */
export const ARM64_ASSUMED_TEXT_OFFSET = 0x80000n;

const U64_MASK = (1n << 64n) - 1n;

/** The header as stored. */
export interface Arm64ImageHeader {
  /** `code0`. */
  readonly code0: number;
  /** `code1`. */
  readonly code1: number;
  /** `text_offset`. */
  readonly textOffset: bigint;
  /** `image_size`. */
  readonly imageSize: bigint;
  /** `flags`. */
  readonly flags: bigint;
  /** `magic`. */
  readonly magic: number;
}

/**
 * Decodes the first {@linkcode ARM64_IMAGE_HEADER_SIZE} bytes of `bytes`. Throws a `RangeError` when
 * fewer are given (a caller bug: the header is read from memory whole).
 */
export function readArm64ImageHeader(bytes: Uint8Array): Arm64ImageHeader {
  if (bytes.length < ARM64_IMAGE_HEADER_SIZE) {
    throw new RangeError(`Cannot read Image header: ${bytes.length} bytes, need ${ARM64_IMAGE_HEADER_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, ARM64_IMAGE_HEADER_SIZE);
  return {
    code0: view.getUint32(ARM64_IMAGE_HEADER.code0, true),
    code1: view.getUint32(ARM64_IMAGE_HEADER.code1, true),
    textOffset: view.getBigUint64(ARM64_IMAGE_HEADER.textOffset, true),
    imageSize: view.getBigUint64(ARM64_IMAGE_HEADER.imageSize, true),
    flags: view.getBigUint64(ARM64_IMAGE_HEADER.flags, true),
    magic: view.getUint32(ARM64_IMAGE_HEADER.magic, true),
  };
}

/** Where `booti_setup` puts an Image. */
export interface Arm64ImagePlacement {
  /** The kernel's entry (and first byte) after the move: the 2 MiB aligned base plus `text_offset`. */
  readonly relocated: bigint;
  /** Bytes the kernel occupies from `relocated` (`image_size`, or the 16 MiB assumption). */
  readonly size: bigint;
  /** The text offset used. */
  readonly textOffset: bigint;
  /** True when `image_size` was 0 and the old-kernel assumption applies (U-Boot says so). */
  readonly assumedSize: boolean;
}

/**
 * `booti_setup(image, ...)`: `undefined` for a bad magic; else where the kernel goes. With flags bit 3
 * set (and `forceReloc` false) the base is `image - text_offset`, else `dramStart`; the base is rounded
 * up to 2 MiB. Arithmetic wraps at 64 bits as U-Boot's `ulong` does.
 */
export function arm64ImagePlacement(
  header: Arm64ImageHeader,
  image: bigint,
  dramStart: bigint,
  forceReloc = false,
): Arm64ImagePlacement | undefined {
  if (header.magic !== LINUX_ARM64_IMAGE_MAGIC) return undefined;
  const assumedSize = header.imageSize === 0n;
  const size = assumedSize ? ARM64_ASSUMED_IMAGE_SIZE : header.imageSize;
  const textOffset = assumedSize ? ARM64_ASSUMED_TEXT_OFFSET : header.textOffset;
  const anywhere = !forceReloc && (header.flags & ARM64_IMAGE_FLAG_PHYS_BASE) !== 0n;
  const base = anywhere ? (image - textOffset) & U64_MASK : dramStart;
  const aligned = ((base + ARM64_IMAGE_BASE_ALIGN - 1n) & ~(ARM64_IMAGE_BASE_ALIGN - 1n)) & U64_MASK;
  return { relocated: (aligned + textOffset) & U64_MASK, size, textOffset, assumedSize };
}
