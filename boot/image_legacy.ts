/**
 * U-Boot's legacy image format (include/image.h, boot/image.c): the 64-byte big-endian header that
 * `mkimage` writes, its CRC checks, multi-file/script contents, and `image_print_contents`.
 *
 * @module
 */

import type { PhysicalMemory } from "../machine/platform.ts";
import { crc32 } from "../lib/crc32.ts";
import { formatSize } from "../lib/display_options.ts";

/** `IH_MAGIC`. */
export const IH_MAGIC = 0x27051956;
/** Header size. */
export const LEGACY_HEADER_SIZE = 64;
/** `IH_NMLEN`: bytes of the name field. */
export const IH_NMLEN = 32;

/** Field offsets of `struct legacy_img_hdr` (all big-endian). */
export const LEGACY_HEADER = {
  magic: 0,
  hcrc: 4,
  time: 8,
  size: 12,
  load: 16,
  ep: 20,
  dcrc: 24,
  os: 28,
  arch: 29,
  type: 30,
  comp: 31,
  name: 32,
} as const;

/** `IH_TYPE_*` values pvboot uses. */
export const IH_TYPE_MULTI = 4;
/** A script image. */
export const IH_TYPE_SCRIPT = 6;

/** Most sub-images of a multi-file image pvboot walks (bounds a hostile length table). */
const MAX_MULTI_IMAGES = 1024;
/** Largest image data a check reads (bounds a hostile size field; far above any script or kernel). */
export const MAX_LEGACY_DATA = 256 * 1024 * 1024;

const ARCH_NAMES: Readonly<Record<number, string>> = {
  1: "Alpha",
  2: "ARM",
  3: "Intel x86",
  4: "IA64",
  5: "MIPS",
  6: "MIPS 64 Bit",
  7: "PowerPC",
  8: "IBM S390",
  9: "SuperH",
  10: "SPARC",
  11: "SPARC 64 Bit",
  12: "M68K",
  15: "MicroBlaze",
  16: "Nios-II",
  17: "Blackfin",
  18: "AVR32",
  19: "ST200",
  20: "Sandbox",
  21: "NDS32",
  22: "AArch64",
  23: "OpenRISC 1000",
  24: "ARC",
  25: "x86_64",
  26: "Xtensa",
  27: "RISC-V",
};
const OS_NAMES: Readonly<Record<number, string>> = {
  0: "Invalid OS",
  1: "OpenBSD",
  2: "NetBSD",
  3: "FreeBSD",
  4: "4_4BSD",
  5: "Linux",
  6: "SVR4",
  7: "Esix",
  8: "Solaris",
  9: "Irix",
  10: "SCO",
  11: "Dell",
  12: "NCR",
  13: "LynxOS",
  14: "VxWorks",
  15: "psos",
  16: "QNX",
  17: "U-Boot",
  18: "RTEMS",
  19: "ARTOS",
  20: "Unity OS",
  21: "INTEGRITY",
  22: "OSE",
  23: "Plan 9",
  24: "OpenRTOS",
  25: "ARM Trusted Firmware",
  26: "Trusted Execution Environment",
  27: "OpenSBI",
  28: "EFI Firmware",
};
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0: "Invalid Image",
  1: "Standalone Program",
  2: "Kernel Image",
  3: "RAMDisk Image",
  4: "Multi-File Image",
  5: "Firmware",
  6: "Script",
  7: "Filesystem Image",
  8: "Flat Device Tree",
  9: "Kernel Image (no loading done)",
};
const COMP_NAMES: Readonly<Record<number, string>> = {
  0: "uncompressed",
  1: "gzip compressed",
  2: "bzip2 compressed",
  3: "lzma compressed",
  4: "lzo compressed",
  5: "lz4 compressed",
  6: "zstd compressed",
};

/** A legacy image header read from memory. */
export interface LegacyHeader {
  /** `ih_magic`. */
  readonly magic: number;
  /** `ih_hcrc`. */
  readonly hcrc: number;
  /** `ih_time` (seconds since the epoch). */
  readonly time: number;
  /** `ih_size`: bytes of data after the header. */
  readonly size: number;
  /** `ih_load`. */
  readonly load: number;
  /** `ih_ep`. */
  readonly ep: number;
  /** `ih_dcrc`. */
  readonly dcrc: number;
  /** `ih_os`. */
  readonly os: number;
  /** `ih_arch`. */
  readonly arch: number;
  /** `ih_type`. */
  readonly type: number;
  /** `ih_comp`. */
  readonly comp: number;
  /** `ih_name` up to its first NUL (a byte string). */
  readonly name: string;
  /** The 64 header bytes. */
  readonly bytes: Uint8Array;
}

/** Reads the header at `address`. */
export function readLegacyHeader(memory: PhysicalMemory, address: number): LegacyHeader {
  const bytes = memory.read(address, LEGACY_HEADER_SIZE);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => view.getUint32(at, false);
  let name = "";
  for (let i = 0; i < IH_NMLEN; i++) {
    const b = bytes[LEGACY_HEADER.name + i]!;
    if (b === 0) break;
    name += String.fromCharCode(b);
  }
  return {
    magic: u32(LEGACY_HEADER.magic),
    hcrc: u32(LEGACY_HEADER.hcrc),
    time: u32(LEGACY_HEADER.time),
    size: u32(LEGACY_HEADER.size),
    load: u32(LEGACY_HEADER.load),
    ep: u32(LEGACY_HEADER.ep),
    dcrc: u32(LEGACY_HEADER.dcrc),
    os: bytes[LEGACY_HEADER.os]!,
    arch: bytes[LEGACY_HEADER.arch]!,
    type: bytes[LEGACY_HEADER.type]!,
    comp: bytes[LEGACY_HEADER.comp]!,
    name,
    bytes,
  };
}

/** `image_check_magic`. */
export function checkMagic(h: LegacyHeader): boolean {
  return h.magic === IH_MAGIC;
}

/** `image_check_hcrc`: CRC-32 of the header with `ih_hcrc` as zero. */
export function checkHcrc(h: LegacyHeader): boolean {
  const copy = h.bytes.slice();
  new DataView(copy.buffer).setUint32(LEGACY_HEADER.hcrc, 0, false);
  return crc32(copy) === h.hcrc;
}

/** `image_check_dcrc`: CRC-32 of the data (a size beyond {@linkcode MAX_LEGACY_DATA} fails). */
export function checkDcrc(memory: PhysicalMemory, address: number, h: LegacyHeader): boolean {
  if (h.size > MAX_LEGACY_DATA) return false;
  return crc32(memory.read(address + LEGACY_HEADER_SIZE, h.size)) === h.dcrc;
}

/** One sub-image of a multi-file or script image. */
export interface MultiImage {
  /** Address of its data. */
  readonly data: number;
  /** Its length. */
  readonly length: number;
}

/**
 * `image_multi_count` / `image_multi_getimg`: the length table (big-endian u32s ending in 0) and the
 * sub-images after it, each padded to 4 bytes.
 */
export function multiImages(memory: PhysicalMemory, address: number): MultiImage[] {
  const base = address + LEGACY_HEADER_SIZE;
  const lengths: number[] = [];
  for (let i = 0; i < MAX_MULTI_IMAGES; i++) {
    const word = memory.read(base + i * 4, 4);
    const len = new DataView(word.buffer).getUint32(0, false);
    if (len === 0) break;
    lengths.push(len);
  }
  let data = base + (lengths.length + 1) * 4;
  return lengths.map((length) => {
    const image = { data, length };
    data += (length + 3) & ~3;
    return image;
  });
}

function _sizeLine(size: number): string {
  return `${size} Bytes = ${formatSize(size, "\n")}`;
}

function _time(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${String(d.getUTCFullYear()).padStart(4)}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}  ` +
    `${String(d.getUTCHours()).padStart(2)}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} UTC\n`;
}

/** `image_print_type`'s text: arch, OS, type and compression names. */
export function imageTypeText(h: LegacyHeader): string {
  return `${ARCH_NAMES[h.arch] ?? "Unknown Architecture"} ${OS_NAMES[h.os] ?? "Unknown OS"} ` +
    `${TYPE_NAMES[h.type] ?? "Unknown Image"} (${COMP_NAMES[h.comp] ?? "Unknown Compression"})\n`;
}

/** `image_print_contents` for a legacy image (with the `Created:` line: TIMESTAMP is on). */
export function imagePrintContents(memory: PhysicalMemory, address: number, h: LegacyHeader): string {
  const p = "   ";
  let text = `${p}Image Name:   ${h.name}\n`;
  text += `${p}Created:      ${_time(h.time)}`;
  text += `${p}Image Type:   ${imageTypeText(h)}`;
  text += `${p}Data Size:    ${_sizeLine(h.size)}`;
  text += `${p}Load Address: ${h.load.toString(16).padStart(8, "0")}\n`;
  text += `${p}Entry Point:  ${h.ep.toString(16).padStart(8, "0")}\n`;
  if (h.type === IH_TYPE_MULTI || h.type === IH_TYPE_SCRIPT) {
    text += `${p}Contents:\n`;
    multiImages(memory, address).forEach((image, i) => {
      text += `${p}   Image ${i}: ${_sizeLine(image.length)}`;
      if (h.type === IH_TYPE_SCRIPT && i > 0) {
        text += `${p}    Offset = 0x${image.data.toString(16).padStart(8, "0")}\n`;
      }
    });
  }
  return text;
}
