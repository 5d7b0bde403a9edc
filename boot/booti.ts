/**
 * `booti` as U-Boot 2023.01 runs it (cmd/booti.c, boot/bootm.c, boot/image-board.c, boot/image-fdt.c,
 * arch/arm/lib/bootm.c; uboot-spec §17/§18): the bootm states START, the Image (decompressed, checked,
 * moved), FINDOTHER (ramdisk, FDT, overlap checks, the working FDT), RAMDISK (copied high), OS_PREP
 * (`image_setup_linux`: reservations, FDT relocation, `/chosen`, `/memory`, initrd, shrink) and OS_GO
 * (boot/handoff.ts). Every message is U-Boot's, in U-Boot's order.
 *
 * Guest code: it sees guest memory, the environment, the console and the board figures only. Memory
 * placement uses lib/lmb.ts over `[bootm_low, bootm_low + bootm_size)`, seeded with U-Boot's own reserved
 * areas (`board.reserved`).
 *
 * @module
 */

import type { PhysicalMemory } from "../machine/platform.ts";
import { DataAbort } from "../machine/platform.ts";
import type { Environment } from "../env/environment.ts";
import { EnvError } from "../env/environment.ts";
import { type BoardInfo, type BoardProfileName, SYS_LOAD_ADDR } from "../board/board_info.ts";
import type { XenFiniReport } from "../drivers/xen/xen_init.ts";
import { Fdt, FdtError, readFdtRegs, readFdtStringList } from "../lib/fdt/mod.ts";
import { hexToNumber, simpleStrtoul } from "../lib/strto.ts";
import { hexAddress } from "../lib/display_options.ts";
import { gunzip, GunzipError } from "../lib/gunzip.ts";
import { versionString } from "../commands/version.ts";
import { ARM64_IMAGE_HEADER_SIZE, arm64ImagePlacement, readArm64ImageHeader } from "./image_arm64.ts";
import {
  checkDcrc,
  checkHcrc,
  checkMagic,
  IH_MAGIC,
  imagePrintContents,
  LEGACY_HEADER_SIZE,
  type LegacyHeader,
  readLegacyHeader,
} from "./image_legacy.ts";
import { fdtChosen, fdtFixupMemory, fdtInitrd } from "./fdt_support.ts";
import { mappedLength, readFdtBlob, setWorkingFdtAddr, type WorkingFdtState } from "./working_fdt.ts";
import { Lmb, LMB_ALLOC_ANYWHERE, LMB_NOMAP, LMB_NONE } from "../lib/lmb.ts";
import { bootJumpLinux, type HandoffRecord, type MemoryRange } from "./handoff.ts";

/** `CONFIG_SYS_FDT_PAD`: room added to the device tree when it is relocated. */
export const SYS_FDT_PAD = 0x3000;
/** The FDT and the ramdisk are placed on 4 KiB boundaries. */
const BOOTM_ALIGN = 0x1000n;
/** `image_decomp`'s output limit is the compressed size times this. */
const DECOMP_RATIO = 10;
/** `ULONG_MAX`: `fdt_high` / `initrd_high` of all ones mean "use in place". */
const ULONG_MAX = (1n << 64n) - 1n;
const U32_MASK = 0xffffffffn;
/** Offset of `totalsize` in the FDT header. */
const FDT_TOTALSIZE_OFFSET = 4;
/** Bytes read to tell a legacy image from a device tree: the magic and `totalsize`. */
const FDT_MAGIC_BYTES = 8;
/** `reg` numbers wider than this many cells are not read (lib/fdt decodes up to 64 bits). */
const MAX_REG_CELLS = 2;

/** include/image.h values used here. */
const IH_OS_LINUX = 5;
const IH_ARCH_ARM = 2;
const IH_ARCH_ARM64 = 22;
const IH_TYPE_RAMDISK = 3;
const IH_TYPE_FLATDT = 8;
const IH_COMP_NONE = 0;
const IH_COMP_GZIP = 1;
const IH_COMP_BZIP2 = 2;
const IH_COMP_LZMA = 3;
const IH_COMP_LZO = 4;
const IH_COMP_LZ4 = 5;
const IH_COMP_ZSTD = 6;
/** `genimg_get_arch_name(IH_ARCH_ARM64)`. */
const ARM64_ARCH_NAME = "AArch64";
/** `genimg_get_type_name(IH_TYPE_KERNEL)`: what `image_decomp` says it uncompresses. */
const KERNEL_TYPE_NAME = "Kernel Image";

/** `image_decomp_type`: the two magic bytes of each compression `booti` recognises. */
const DECOMP_MAGIC: readonly { comp: number; magic: readonly [number, number] }[] = [
  { comp: IH_COMP_BZIP2, magic: [0x42, 0x5a] }, // "BZ"
  { comp: IH_COMP_GZIP, magic: [0x1f, 0x8b] },
  { comp: IH_COMP_LZMA, magic: [0x5d, 0x00] },
  { comp: IH_COMP_LZO, magic: [0x89, 0x4c] },
  { comp: IH_COMP_LZ4, magic: [0x04, 0x22] }, // the frame magic 0x184d2204, little-endian
  { comp: IH_COMP_ZSTD, magic: [0x28, 0xb5] },
];

/** What the bootm machinery uses of the running U-Boot (a command context provides it). */
export interface BootmHost {
  /** The environment. */
  readonly env: Environment;
  /** The console. */
  readonly console: { puts(text: string): void };
  /** Guest memory. */
  readonly memory: PhysicalMemory;
  /** The board: RAM, U-Boot's reserved areas. */
  readonly board: BoardInfo;
}

/** The parts of the session `booti` shares or calls. */
export interface BootiOptions {
  /** Which build: `SYS_LOAD_ADDR`, `SUPPORT_RAW_INITRD` (default only), the image timestamp line. */
  readonly profile: BoardProfileName;
  /** The session's working FDT (shared with the `fdt` command). */
  readonly fdtState: WorkingFdtState;
  /** The board's tear-down before the jump (`Guest.fini`). */
  readonly fini?: () => Promise<XenFiniReport>;
}

/** How `booti` ended. */
export type BootiOutcome =
  /** Back to the prompt with this command status (`CMD_RET_USAGE` prints the usage). */
  | { readonly kind: "failed"; readonly rc: number }
  /** U-Boot panicked; the message and its newline are printed, the board resets. */
  | { readonly kind: "panic"; readonly message: string }
  /** The kernel runs. */
  | { readonly kind: "handoff"; readonly record: HandoffRecord };

/** `bootm_headers`: what the states find and pass on. */
interface _Images {
  ep: number;
  os: MemoryRange;
  rdStart: number;
  rdEnd: number;
  ftAddr: number;
  ftLen: number;
  initrdStart: number;
  initrdEnd: number;
  verify: boolean;
}

const FAILED = (rc: number): BootiOutcome => ({ kind: "failed", rc });

/** `%#08lx`: `0x` and at least 6 digits, or `00000000` for zero (C drops the prefix for 0). */
function _altHex08(value: number): string {
  return value === 0 ? "00000000" : `0x${value.toString(16).padStart(6, "0")}`;
}

/** `%p`: 16 lower-case hex digits. */
function _pointer(value: number): string {
  return value.toString(16).padStart(16, "0");
}

/** `env_get_yesno`: false only for a value starting with n, N, 0, f or F. */
function _yesno(env: Environment, name: string): boolean {
  const v = env.get(name);
  return v === undefined || !/^[nN0fF]/.test(v);
}

/** `env_get_ulong(name, 16, 0)` and the like: `simple_strtoul` of the value, else `fallback`. */
function _envHex(env: Environment, name: string, fallback: bigint): bigint {
  const v = env.get(name);
  return v === undefined ? fallback : simpleStrtoul(v, 16).value;
}

function _toAddress(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/** A data abort unless `[address, address + length)` is guest memory (U-Boot would fault there). */
function _requireMapped(memory: PhysicalMemory, address: number, length: number, write: boolean): void {
  const safe = Number.isSafeInteger(address) && address >= 0 && Number.isSafeInteger(length) &&
    length >= 0 && address + length <= Number.MAX_SAFE_INTEGER;
  if (safe && memory.isMapped(address, length)) return;
  throw new DataAbort(safe ? address + mappedLength(memory, address, length) : address, write);
}

/** `memmove` in guest memory. */
function _memmove(memory: PhysicalMemory, to: number, from: number, length: number): void {
  _requireMapped(memory, from, length, false);
  _requireMapped(memory, to, length, true);
  memory.copy(to, from, length);
}

function _envSetHex(host: BootmHost, name: string, value: number): void {
  try {
    host.env.setHex(name, value);
  } catch (e: unknown) {
    if (!(e instanceof EnvError)) throw e;
    host.console.puts(e.lines);
  }
}

/** The `memory`/`reserved` ranges bootm's lmb starts from (`boot_start_lmb`). */
function _startLmb(host: BootmHost): Lmb {
  const lmb = new Lmb();
  lmb.add(BigInt(_bootmLow(host)), BigInt(_bootmSize(host)));
  // lmb_reserve_common's arch (stack) and EFI reservations: the board computed where they end up.
  for (const area of host.board.reserved) {
    lmb.insertReserved({ base: BigInt(area.start), size: BigInt(area.size), flags: LMB_NONE });
  }
  return lmb;
}

/** `env_get_bootm_low`. */
function _bootmLow(host: BootmHost): number {
  return _toAddress(_envHex(host.env, "bootm_low", BigInt(host.board.ramBase)));
}

/** `env_get_bootm_size`: `bootm_size`, else the first bank up to `ram_top`, less what lies below `bootm_low`. */
function _bootmSize(host: BootmHost): number {
  const set = host.env.get("bootm_size");
  if (set !== undefined) return _toAddress(simpleStrtoul(set, 16).value);
  const { ramBase, ramSize, ramTop } = host.board;
  const size = ramBase + ramSize > ramTop ? ramTop - ramBase : ramSize;
  return Math.max(0, size - (_bootmLow(host) - ramBase));
}

/** `env_get_bootm_mapsize`. */
function _bootmMapsize(host: BootmHost): number {
  const set = host.env.get("bootm_mapsize");
  return set === undefined ? _bootmSize(host) : _toAddress(simpleStrtoul(set, 16).value);
}

/** `lmb_alloc_base`: prints U-Boot's error when nothing fits. */
function _lmbAllocBase(host: BootmHost, lmb: Lmb, size: number, max: bigint): number {
  const at = _toAddress(lmb.allocBase(BigInt(size), BOOTM_ALIGN, max));
  if (at === 0) {
    host.console.puts(
      `ERROR: Failed to allocate 0x${size.toString(16)} bytes below 0x${max.toString(16)}.\n`,
    );
  }
  return at;
}

/** `image_print_contents`; the xenguest build has no TIMESTAMP, so no `Created:` line. */
function _printContents(host: BootmHost, profile: BoardProfileName, address: number, h: LegacyHeader): void {
  let text = imagePrintContents(host.memory, address, h);
  if (profile === "xenguest") text = text.replace(/^ {3}Created: {6}[^\n]*\n/m, "");
  host.console.puts(text);
}

/** `genimg_get_format`: a legacy header, a device tree (FIT or raw), or neither. */
function _imageFormat(memory: PhysicalMemory, address: number): "legacy" | "fdt" | "invalid" {
  _requireMapped(memory, address, FDT_MAGIC_BYTES, false);
  const head = memory.read(address, FDT_MAGIC_BYTES);
  const view = new DataView(head.buffer);
  if (view.getUint32(0, false) === IH_MAGIC) return "legacy";
  return readFdtBlob(memory, address).checkHeader() === undefined ? "fdt" : "invalid";
}

/** `image_check_arch(hdr, IH_ARCH_ARM64)`: an ARM-marked image is accepted too. */
function _archArm64(h: LegacyHeader): boolean {
  return h.arch === IH_ARCH_ARM64 || h.arch === IH_ARCH_ARM;
}

// ----- the kernel --------------------------------------------------------------------------------

/** The compression `image_decomp_type` sees in the first two bytes, or `IH_COMP_NONE`. */
function _decompType(bytes: Uint8Array): number {
  const hit = DECOMP_MAGIC.find((m) => bytes[0] === m.magic[0] && bytes[1] === m.magic[1]);
  return hit?.comp ?? IH_COMP_NONE;
}

/**
 * The compressed-Image step of `booti_start`: inflates the Image at `ld` into `kernel_comp_addr_r`,
 * then moves it back to `ld`. False after printing U-Boot's error.
 */
function _decompressKernel(host: BootmHost, ld: number, comp: number): boolean {
  const { env, console, board, memory } = host;
  const dest = _toAddress(_envHex(env, "kernel_comp_addr_r", 0n));
  const compLen = _toAddress(_envHex(env, "kernel_comp_size", 0n));
  if (dest === 0 || compLen === 0) {
    console.puts("kernel_comp_addr_r or kernel_comp_size is not provided!\n");
    return false;
  }
  if (dest < board.ramBase || dest > board.ramTop) {
    console.puts("kernel_comp_addr_r is outside of DRAM range!\n");
    return false;
  }
  console.puts(`   Uncompressing ${KERNEL_TYPE_NAME}\n`);
  if (comp !== IH_COMP_GZIP) {
    // The other decompressors are not part of pvboot (image_decomp's -ENOSYS path).
    console.puts(`Unimplemented compression type ${comp}\n`);
    return false;
  }
  const length = gunzip(memory, ld, dest, Math.min(compLen * DECOMP_RATIO, Number.MAX_SAFE_INTEGER));
  if (length instanceof GunzipError) {
    console.puts(length.message);
    return false;
  }
  _memmove(memory, ld, dest, length);
  return true;
}

// ----- the ramdisk -------------------------------------------------------------------------------

/** `image_get_ramdisk`: the checks of a legacy ramdisk image, with U-Boot's messages. */
function _legacyRamdisk(
  host: BootmHost,
  profile: BoardProfileName,
  address: number,
  verify: boolean,
): LegacyHeader | undefined {
  const { console, memory } = host;
  const h = readLegacyHeader(memory, address);
  if (!checkMagic(h)) {
    console.puts("Bad Magic Number\n");
    return undefined;
  }
  if (!checkHcrc(h)) {
    console.puts("Bad Header Checksum\n");
    return undefined;
  }
  _printContents(host, profile, address, h);
  if (verify) {
    console.puts("   Verifying Checksum ... ");
    if (!checkDcrc(memory, address, h)) {
      console.puts("Bad Data CRC\n");
      return undefined;
    }
    console.puts("OK\n");
  }
  if (h.os !== IH_OS_LINUX || !_archArm64(h) || h.type !== IH_TYPE_RAMDISK) {
    console.puts(`No Linux ${ARM64_ARCH_NAME} Ramdisk Image\n`);
    return undefined;
  }
  return h;
}

/**
 * `boot_get_ramdisk` for `select` (argv's initrd): `-` or absent is none; a legacy ramdisk image; a raw
 * `addr:size` (default build only: `SUPPORT_RAW_INITRD`). Returns `[start, end)` (0, 0 for none), or
 * undefined after printing the error.
 */
function _findRamdisk(
  host: BootmHost,
  profile: BoardProfileName,
  select: string | undefined,
  verify: boolean,
): { start: number; end: number } | undefined {
  if (select === undefined || select === "-") return { start: 0, end: 0 };
  const address = hexToNumber(select);
  let data = 0;
  let length = 0;
  let done = false;
  if (_imageFormat(host.memory, address) === "legacy") {
    host.console.puts(`## Loading init Ramdisk from Legacy Image at ${hexAddress(address)} ...\n`);
    const h = _legacyRamdisk(host, profile, address, verify);
    if (!h) return undefined;
    data = address + LEGACY_HEADER_SIZE;
    length = h.size;
    done = true;
  }
  // A device tree here would be a FIT image; pvboot has no FIT support and treats it as raw data.
  const colon = select.indexOf(":");
  if (!done && profile === "default" && colon >= 0) {
    length = hexToNumber(select.slice(colon + 1));
    data = address;
    done = true;
  }
  if (!done) {
    host.console.puts("Wrong Ramdisk Image Format\n");
    return undefined;
  }
  return data === 0 ? { start: 0, end: 0 } : { start: data, end: data + length };
}

// ----- the device tree ---------------------------------------------------------------------------

/** `fdt_error`. */
function _fdtError(host: BootmHost, message: string): void {
  host.console.puts(`ERROR: ${message} - must RESET the board to recover.\n`);
}

/**
 * `image_get_fdt` and the legacy branch of `select_fdt`: the blob's address after it was checked and
 * moved to its load address; `"none"` when the image is rejected (boot goes on without an FDT);
 * `"error"` when the move would overwrite the image.
 */
function _legacyFdt(host: BootmHost, profile: BoardProfileName, address: number): number | "none" | "error" {
  const { console, memory } = host;
  console.puts(`## Flattened Device Tree from Legacy Image at ${hexAddress(address)}\n`);
  const h = readLegacyHeader(memory, address);
  _printContents(host, profile, address, h);
  console.puts("   Verifying Checksum ... ");
  if (!checkHcrc(h)) {
    _fdtError(host, "fdt header checksum invalid");
    return "none";
  }
  if (!checkDcrc(memory, address, h)) {
    _fdtError(host, "fdt checksum invalid");
    return "none";
  }
  console.puts("OK\n");
  if (h.type !== IH_TYPE_FLATDT) {
    _fdtError(host, "uImage is not a fdt");
    return "none";
  }
  if (h.comp !== IH_COMP_NONE) {
    _fdtError(host, "uImage is compressed");
    return "none";
  }
  const data = address + LEGACY_HEADER_SIZE;
  if (readFdtBlob(memory, data).checkHeader() !== undefined) {
    _fdtError(host, "uImage data is not a fdt");
    return "none";
  }
  const imageEnd = data + h.size;
  const load = h.load;
  if (load === address || load === data) return load;
  if (load < imageEnd && load + h.size > address) {
    _fdtError(host, "fdt overwritten");
    return "error";
  }
  _memmove(memory, load, data, h.size);
  return load;
}

/**
 * `boot_get_fdt` for `select` (argv's fdt): the blob's address and `totalsize` (0, 0 for none), or
 * undefined after printing the error.
 */
function _findFdt(
  host: BootmHost,
  profile: BoardProfileName,
  select: string | undefined,
): { addr: number; len: number } | undefined {
  if (select === undefined) return { addr: 0, len: 0 };
  let address = hexToNumber(select);
  switch (_imageFormat(host.memory, address)) {
    case "legacy": {
      const found = _legacyFdt(host, profile, address);
      if (found === "none") return { addr: 0, len: 0 };
      if (found === "error") return undefined;
      address = found;
      break;
    }
    case "fdt":
      host.console.puts(`## Flattened Device Tree blob at ${hexAddress(address)}\n`);
      break;
    default:
      host.console.puts("ERROR: Did not find a cmdline Flattened Device Tree\n");
      return undefined;
  }
  host.console.puts(`   Booting using the fdt blob at ${_altHex08(address)}\n`);
  _requireMapped(host.memory, address, FDT_MAGIC_BYTES, false);
  const len = new DataView(host.memory.read(address, FDT_MAGIC_BYTES).buffer).getUint32(
    FDT_TOTALSIZE_OFFSET,
    false,
  );
  return { addr: address, len };
}

/** `ERROR: <what> image overlaps OS image`, when `[start, end)` overlaps the kernel as U-Boot tests it. */
function _overlapsOs(start: number, end: number, os: MemoryRange, ramdiskRule: boolean): boolean {
  if (start === 0) return false;
  const inOs = (a: number) => a >= os.start && a < os.end;
  if (!ramdiskRule) return inOs(start) || (end >= os.start && end < os.end);
  return inOs(start) || (end > os.start && end <= os.end) || (start < os.start && end >= os.end);
}

/**
 * `bootm_find_images`: ramdisk, RD overlap, FDT, FDT overlap, then `Working FDT set to`. False after
 * printing the error.
 */
function _findImages(
  host: BootmHost,
  options: BootiOptions,
  args: readonly string[],
  images: _Images,
): boolean {
  const { console } = host;
  const rd = _findRamdisk(host, options.profile, args[1], images.verify);
  if (!rd) {
    console.puts("Ramdisk image is corrupt or invalid\n");
    return false;
  }
  images.rdStart = rd.start;
  images.rdEnd = rd.end;
  const osText = `(OS=0x${images.os.start.toString(16)}..0x${images.os.end.toString(16)})`;
  if (_overlapsOs(rd.start, rd.end, images.os, true)) {
    console.puts(`ERROR: RD image overlaps OS image ${osText}\n`);
    return false;
  }
  const fdt = _findFdt(host, options.profile, args[2]);
  if (!fdt) {
    console.puts("Could not find a valid device tree\n");
    return false;
  }
  images.ftAddr = fdt.addr;
  images.ftLen = fdt.len;
  if (_overlapsOs(fdt.addr, fdt.addr + fdt.len, images.os, false)) {
    console.puts(`ERROR: FDT image overlaps OS image ${osText}\n`);
    return false;
  }
  setWorkingFdtAddr(host, options.fdtState, fdt.addr);
  return true;
}

// ----- RAMDISK state ----------------------------------------------------------------------------

/** `boot_ramdisk_high`: false after `ramdisk - allocation error`. */
function _ramdiskHigh(host: BootmHost, lmb: Lmb, images: _Images): boolean {
  const { env, console, memory } = host;
  const rdData = images.rdStart;
  const rdLen = images.rdEnd - images.rdStart;
  const set = env.get("initrd_high");
  const highValue = set === undefined ? undefined : simpleStrtoul(set, 16).value;
  const copyToRam = highValue !== ULONG_MAX;
  const high = highValue === undefined ? _bootmMapsize(host) + _bootmLow(host) : _toAddress(highValue);
  if (rdData === 0) {
    images.initrdStart = 0;
    images.initrdEnd = 0;
    return true;
  }
  if (!copyToRam) {
    images.initrdStart = rdData;
    images.initrdEnd = rdData + rdLen;
    lmb.reserve(BigInt(rdData), BigInt(rdLen));
    return true;
  }
  const start = _lmbAllocBase(host, lmb, rdLen, high === 0 ? LMB_ALLOC_ANYWHERE : BigInt(high));
  if (start === 0) {
    console.puts("ramdisk - allocation error\n");
    return false;
  }
  images.initrdStart = start;
  images.initrdEnd = start + rdLen;
  console.puts(`   Loading Ramdisk to ${hexAddress(start)}, end ${hexAddress(start + rdLen)} ... `);
  _memmove(memory, start, rdData, rdLen);
  console.puts("OK\n");
  return true;
}

// ----- OS_PREP: image_setup_linux ---------------------------------------------------------------

/** `fdtdec_get_is_enabled`: no `status`, or `okay`/`ok`. */
function _enabled(fdt: Fdt, node: number): boolean {
  const status = fdt.getProperty(node, "status");
  if (status instanceof FdtError) return true;
  const text = readFdtStringList(status.value)?.[0] ?? "";
  return text === "okay" || text === "ok";
}

/**
 * `boot_fdt_add_mem_rsv_regions`: every `/memreserve/` and every enabled `/reserved-memory` child's
 * first `reg` range (a `no-map` one flagged NOMAP) is reserved.
 */
function _addMemRsvRegions(host: BootmHost, lmb: Lmb, fdt: Fdt): void {
  if (fdt.checkHeader() !== undefined) return;
  const reserve = (address: bigint, size: bigint, flags: number) => {
    if (lmb.reserve(address, size, flags) >= 0) return;
    host.console.puts(
      `ERROR: reserving fdt memory region failed (addr=${address.toString(16)} size=${
        size.toString(16)
      } flags=${flags.toString(16)})\n`,
    );
  };
  const entries = fdt.memReservations();
  if (!(entries instanceof FdtError)) { for (const e of entries) reserve(e.address, e.size, LMB_NONE); }
  const parent = fdt.subnodeOffset(0, "reserved-memory");
  if (parent instanceof FdtError) return;
  const children = fdt.subnodes(parent);
  if (children instanceof FdtError) return;
  const ac = fdt.addressCells(parent);
  const sc = fdt.sizeCells(parent);
  if (ac instanceof FdtError || sc instanceof FdtError) return;
  if (ac > MAX_REG_CELLS || sc > MAX_REG_CELLS || ac + sc === 0) return;
  for (const child of children) {
    const reg = fdt.getProperty(child, "reg");
    if (reg instanceof FdtError || !_enabled(fdt, child)) continue;
    const first = readFdtRegs(reg.value, ac, sc)?.[0];
    if (!first) continue;
    const noMap = !(fdt.getProperty(child, "no-map") instanceof FdtError);
    reserve(first.address, first.size, noMap ? LMB_NOMAP : LMB_NONE);
  }
}

/** A relocated blob being edited: its guest address and a buffer holding it. */
interface _Blob {
  address: number;
  fdt: Fdt;
}

/** Reads `length` bytes at `address`, zeros where RAM ends (U-Boot would only fault on use). */
function _readPadded(memory: PhysicalMemory, address: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const have = Number.isSafeInteger(address) && address >= 0 ? mappedLength(memory, address, length) : 0;
  if (have > 0) out.set(memory.read(address, have));
  return out;
}

/** `boot_relocate_fdt`: the blob copied (or grown in place) with `SYS_FDT_PAD` more room. */
function _relocateFdt(
  host: BootmHost,
  lmb: Lmb,
  images: _Images,
  options: BootiOptions,
): _Blob | undefined {
  const { env, console, memory, board } = host;
  if (images.ftLen === 0) return undefined;
  const source = readFdtBlob(memory, images.ftAddr);
  if (source.checkHeader() !== undefined) {
    _fdtError(host, "image is not a fdt");
    return undefined;
  }
  const ofLen = images.ftLen + SYS_FDT_PAD;
  const fdtHigh = env.get("fdt_high");
  let start = 0;
  let inPlace = false;
  if (fdtHigh !== undefined) {
    const desired = simpleStrtoul(fdtHigh, 16).value;
    if (desired === ULONG_MAX) {
      start = images.ftAddr;
      lmb.reserve(BigInt(start), BigInt(ofLen));
      inPlace = true;
    } else if (desired !== 0n) {
      start = _lmbAllocBase(host, lmb, ofLen, desired);
      if (start === 0) {
        console.puts("Failed using fdt_high value for Device Tree");
        return undefined;
      }
    } else {
      start = _lmbAllocBase(host, lmb, ofLen, LMB_ALLOC_ANYWHERE);
    }
  } else {
    const low = _bootmLow(host);
    const bank = board.banks[0];
    if (bank && bank.start + bank.size >= low) {
      const usable = Math.min(bank.start + bank.size, low + _bootmMapsize(host));
      start = _lmbAllocBase(host, lmb, ofLen, BigInt(usable));
    }
  }
  if (start === 0) {
    console.puts("device tree - allocation error\n");
    return undefined;
  }
  let fdt: Fdt;
  if (inPlace) {
    // fdt_set_totalsize: the space after the blob is assumed free.
    const bytes = _readPadded(memory, start, ofLen);
    new DataView(bytes.buffer).setUint32(FDT_TOTALSIZE_OFFSET, ofLen, false);
    fdt = new Fdt(bytes);
    console.puts(`   Using Device Tree in place at ${_pointer(start)}, end ${_pointer(start + ofLen - 1)}\n`);
  } else {
    console.puts(`   Loading Device Tree to ${_pointer(start)}, end ${_pointer(start + ofLen - 1)} ... `);
    const opened = source.openInto(new Uint8Array(ofLen));
    if (opened instanceof FdtError) {
      _fdtError(host, "fdt move failed");
      return undefined;
    }
    fdt = opened;
    console.puts("OK\n");
  }
  _writeBlob(memory, start, fdt.bytes);
  images.ftAddr = start;
  images.ftLen = ofLen;
  setWorkingFdtAddr(host, options.fdtState, start);
  return { address: start, fdt };
}

/** Writes the edited blob back where it lies (as far as RAM goes). */
function _writeBlob(memory: PhysicalMemory, address: number, bytes: Uint8Array): void {
  const have = mappedLength(memory, address, bytes.length);
  _requireMapped(memory, address, Math.max(have, 1), true);
  memory.write(address, bytes.subarray(0, have));
}

/** `fdt_root`: the root's `serial-number` from `serial#`. */
function _fdtRoot(host: BootmHost, fdt: Fdt): boolean {
  const header = fdt.checkHeader();
  if (header) {
    host.console.puts(`fdt_root: ${header.errName}\n`);
    return false;
  }
  const serial = host.env.get("serial#");
  if (serial === undefined) return true;
  const value = new Uint8Array(serial.length + 1);
  for (let i = 0; i < serial.length; i++) value[i] = serial.charCodeAt(i) & 0xff;
  const err = fdt.setProp(0, "serial-number", value);
  if (err) host.console.puts(`WARNING: could not set serial-number ${err.errName}.\n`);
  return err === undefined;
}

/**
 * `image_setup_libfdt`: root, `/chosen`, `/memory` (bank 0), the initrd, then `fdt_shrink_to_minimum`
 * and the lmb reservation of the final size. False after ` - must RESET the board to recover.`
 */
function _setupLibfdt(
  host: BootmHost,
  lmb: Lmb,
  blob: _Blob,
  images: _Images,
  profile: BoardProfileName,
): boolean {
  const { console, env, board, memory } = host;
  const fail = (message?: string) => {
    if (message) console.puts(message);
    console.puts(" - must RESET the board to recover.\n\n");
    return false;
  };
  const { fdt } = blob;
  if (!_fdtRoot(host, fdt)) return fail("ERROR: root node setup failed\n");
  const version = /^U-Boot (\S+)/.exec(versionString(profile))?.[1] ?? "";
  if (fdtChosen(fdt, console, { bootargs: env.get("bootargs"), version })) {
    return fail("ERROR: /chosen node create failed\n");
  }
  // arch_fixup_fdt → fdt_fixup_memory_banks with U-Boot's one bank.
  if (fdtFixupMemory(fdt, console, BigInt(board.ramBase), BigInt(board.ramSize))) {
    return fail("ERROR: arch-specific fdt fixup failed\n");
  }
  // optee nodes, ethernet, ft_system_setup: nothing to do on these boards.
  if (fdtInitrd(fdt, console, BigInt(images.initrdStart), BigInt(images.initrdEnd))) return fail();
  lmb.free(BigInt(blob.address), BigInt(fdt.header("totalsize")));
  const size = fdt.shrinkToMinimumSize(0, blob.address);
  if (size instanceof FdtError) return fail();
  let target = fdt;
  if (size > fdt.bytes.length) {
    // The new totalsize reaches past the padded copy: only the header changes, as in U-Boot.
    const grown = _readPadded(memory, blob.address, size);
    grown.set(fdt.bytes);
    target = new Fdt(grown);
  }
  const shrunk = target.shrinkToMinimum(0, blob.address);
  if (shrunk instanceof FdtError) return fail();
  blob.fdt = target;
  _writeBlob(memory, blob.address, target.bytes);
  images.ftLen = shrunk;
  lmb.reserve(BigInt(blob.address), BigInt(shrunk));
  return true;
}

/** `/chosen/bootargs` of the blob, if any. */
function _bootargs(fdt: Fdt): string | undefined {
  const chosen = fdt.subnodeOffset(0, "chosen");
  if (chosen instanceof FdtError) return undefined;
  const prop = fdt.getProperty(chosen, "bootargs");
  if (prop instanceof FdtError) return undefined;
  return readFdtStringList(prop.value)?.[0];
}

// ----- the command ------------------------------------------------------------------------------

/**
 * Runs `booti` with `args` (argv without `booti`: kernel, initrd, fdt). Prints what U-Boot prints and
 * returns how it ended; on `"handoff"` the `fini` hook has run and the record describes the kernel's
 * start. A {@linkcode DataAbort} propagates where U-Boot would touch memory that is not there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { booti } from "./booti.ts";
 * import { WorkingFdtState } from "./working_fdt.ts";
 * import { Environment } from "../env/environment.ts";
 * import { FlatMemory, RecordingConsole, TEST_BOARD } from "../tests/fake_context.ts";
 *
 * const host = {
 *   env: new Environment([], 4096),
 *   console: new RecordingConsole(),
 *   memory: new FlatMemory(0x40000000, 0x100000),
 *   board: TEST_BOARD,
 * };
 * const outcome = await booti(host, ["40000000"], { profile: "default", fdtState: new WorkingFdtState() });
 * assert.deepEqual(outcome, { kind: "failed", rc: 1 });
 * assert.equal(host.console.output, "Bad Linux ARM64 Image magic!\n");
 * ```
 */
export async function booti(
  host: BootmHost,
  args: readonly string[],
  options: BootiOptions,
): Promise<BootiOutcome> {
  const { console, memory, env, board } = host;
  // bootm_start.
  const lmb = _startLmb(host);
  const images: _Images = {
    ep: 0,
    os: { start: 0, end: 0 },
    rdStart: 0,
    rdEnd: 0,
    ftAddr: 0,
    ftLen: 0,
    initrdStart: 0,
    initrdEnd: 0,
    verify: _yesno(env, "verify"),
  };
  // The kernel: `image_load_addr` follows `loadaddr` (its environment callback).
  const loadaddr = env.get("loadaddr");
  const ld = args[0] !== undefined
    ? hexToNumber(args[0])
    : loadaddr !== undefined
    ? hexToNumber(loadaddr)
    : SYS_LOAD_ADDR[options.profile];
  _requireMapped(memory, ld, 2, false);
  const comp = _decompType(memory.read(ld, 2));
  if (comp !== IH_COMP_NONE && !_decompressKernel(host, ld, comp)) return FAILED(1);

  // booti_setup.
  _requireMapped(memory, ld, ARM64_IMAGE_HEADER_SIZE, false);
  const header = readArm64ImageHeader(memory.read(ld, ARM64_IMAGE_HEADER_SIZE));
  const placed = arm64ImagePlacement(header, BigInt(ld), BigInt(board.banks[0]?.start ?? board.ramBase));
  if (!placed) {
    console.puts("Bad Linux ARM64 Image magic!\n");
    return FAILED(1);
  }
  if (placed.assumedSize) console.puts("Image lacks image_size field, assuming 16MiB\n");
  const relocated = _toAddress(placed.relocated);
  const size = _toAddress(placed.size);
  if (relocated !== ld) {
    console.puts(
      `Moving Image from 0x${ld.toString(16)} to 0x${relocated.toString(16)}, end=${
        (relocated + size).toString(16)
      }\n`,
    );
    _memmove(memory, relocated, ld, size);
  }
  images.ep = relocated;
  images.os = { start: relocated, end: relocated + size };
  // lmb_reserve(ep, le32_to_cpu(image_size)): the size is cut to 32 bits, and a failure is ignored.
  lmb.reserve(BigInt(images.ep), placed.size & U32_MASK);

  if (!_findImages(host, options, args, images)) return FAILED(1);

  // bootm_disable_interrupts: nothing is enabled on this board. State RAMDISK.
  if (!_ramdiskHigh(host, lmb, images)) {
    // do_bootm_states returns boot_ramdisk_high's -1 as it is: cmd_process prints the usage.
    return FAILED(-1);
  }
  _envSetHex(host, "initrd_start", images.initrdStart);
  _envSetHex(host, "initrd_end", images.initrdEnd);

  // State OS_PREP: boot_prep_linux (bootm_process_cmdline_env has nothing to do in these builds).
  if (images.ftLen === 0) {
    const message = "FDT and ATAGS support not compiled in\n";
    console.puts(`${message}\n`);
    return { kind: "panic", message };
  }
  const prepared = _imageSetupLinux(host, lmb, images, options);
  if (!prepared) {
    const message = "FDT creation failed!";
    console.puts(`${message}\n`);
    return { kind: "panic", message };
  }

  // State OS_GO: boot_selected_os → boot_jump_linux.
  const hooks = options.fini ? { fini: options.fini } : {};
  const record = await bootJumpLinux(console, {
    entry: images.ep,
    kernel: images.os,
    ramdisk: images.initrdStart === 0 ? undefined : { start: images.initrdStart, end: images.initrdEnd },
    fdt: { start: images.ftAddr, size: images.ftLen },
    bootargs: _bootargs(prepared.fdt),
  }, hooks);
  return { kind: "handoff", record };
}

/** `image_setup_linux`: reservations, relocation, the libfdt fixups. The final blob, or undefined. */
function _imageSetupLinux(
  host: BootmHost,
  lmb: Lmb,
  images: _Images,
  options: BootiOptions,
): _Blob | undefined {
  _addMemRsvRegions(host, lmb, readFdtBlob(host.memory, images.ftAddr));
  const blob = _relocateFdt(host, lmb, images, options);
  if (!blob) return undefined;
  return _setupLibfdt(host, lmb, blob, images, options.profile) ? blob : undefined;
}
