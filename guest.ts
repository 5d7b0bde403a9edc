/**
 * The guest's start-up, as U-Boot's board_f/board_r sequence does it on the xenguest_arm64 board:
 * take the device tree Xen passed in x0 (only when it has the FDT magic), read RAM from its memory
 * nodes, relocate to the top of the first bank with a copy of the DTB (`fdtcontroladdr`), import the
 * default environment, and bring up the shell with the profile's parser and commands.
 *
 * Guest code: it reaches the platform only through {@linkcode Platform} (guest memory, registers).
 *
 * @module
 */

import type { Platform } from "./machine/platform.ts";
import { Fdt, FDT_MAGIC, FdtError, readFdtRegs, readFdtStringList } from "./lib/fdt/mod.ts";
import type { BoardInfo, BoardProfileName, RamBank } from "./board/board_info.ts";
import { computeBoardInfo } from "./board/board_setup.ts";
import { DEFAULT_ENV, DEFAULT_ENV_SIZE, XENGUEST_ENV, XENGUEST_ENV_SIZE } from "./board/default_env.ts";
import { Environment } from "./env/environment.ts";
import { Shell } from "./shell/shell.ts";
import type { Console } from "./commands/command.ts";
import { boardCommands, type CommandHooks } from "./commands/registry.ts";
import { BlockRegistry } from "./drivers/blk/mod.ts";
import { DOS_PARTITION_DRIVER, EFI_PARTITION_DRIVER, PartitionLayer } from "./disk/mod.ts";
import { Malloc } from "./board/malloc.ts";
import { Hypercalls } from "./drivers/xen/hypercall.ts";
import { XenConsole } from "./drivers/xen/console.ts";
import { type XenDrivers, xenFini, type XenFiniReport, xenInit } from "./drivers/xen/xen_init.ts";
import { initPvblock, type PvBlockDevice, removePvblock } from "./drivers/pvblock.ts";
import type { HandoffRecord } from "./boot/handoff.ts";
import { FsLayer } from "./fs/fs.ts";
import { FAT_DRIVER } from "./fs/fat/mod.ts";
import { EXT4_DRIVER } from "./fs/ext4/mod.ts";
import { fileExistsHook } from "./commands/fs.ts";
import { XenbusError } from "./drivers/xen/xenbus_errors.ts";

/** Largest control DTB U-Boot accepts here (the toolstack's blobs are a few KiB). */
const MAX_CONTROL_FDT = 2 * 1024 * 1024;
/** Yields with an empty input ring before a line read gives up (input is typed before it is read). */
const READLINE_IDLE_YIELDS = 4;
/** Devices and uclasses driver model has before the PV disks: root and the Xen console. */
const DM_BASE_DEVICES = 4;
const DM_BASE_UCLASSES = 4;
/** `CONFIG_SYS_CBSIZE`: longest command line. */
const SYS_CBSIZE = 1024;
/** Size of the FDT header read before the whole blob. */
const FDT_HEADER_BYTES = 40;
/** Bytes of the root node's default `#address-cells` / `#size-cells` (devicetree spec). */
const DEFAULT_ADDRESS_CELLS = 2;
const DEFAULT_SIZE_CELLS = 1;

/** The guest cannot start (U-Boot would hang or panic here); the message says why. */
export class BoardStartError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "BoardStartError";
  }
}

/** How to start the guest. */
export interface StartOptions {
  /** Which U-Boot build to be. */
  profile: BoardProfileName;
  /** The session's console: Ctrl-C and delays; until the PV console is up, nothing is printed. */
  console: Console;
  /** Print the start-up lines (interactive sessions); scripted runs print only what commands print. */
  banner?: boolean;
  /** Receives the record of a `booti` hand-over (after the guest's tear-down). */
  onHandoff?: (record: HandoffRecord) => void;
  /** Hooks into later layers for commands (filesystems for `test -e`). */
  hooks?: CommandHooks;
}

/** The running guest: U-Boot after start-up. */
export interface Guest {
  /** The shell at its prompt. */
  readonly shell: Shell;
  /** Board figures. */
  readonly board: BoardInfo;
  /** The environment. */
  readonly env: Environment;
  /** Block devices (the blk uclass). */
  readonly blk: BlockRegistry;
  /** Partition tables of the block devices. */
  readonly parts: PartitionLayer;
  /** The console the shell prints through: the PV console ring when Xen offers one. */
  readonly console: Console;
  /** The Xen drivers. */
  readonly xen: XenDrivers;
  /**
   * Reads one line the terminal typed into the console's input ring (up to CR or LF, which is
   * dropped); `undefined` when no input arrives.
   */
  readLine(): Promise<string | undefined>;
  /** Waits until everything printed so far has gone through the console ring. */
  flush(): Promise<void>;
  /** Tears the Xen devices down as U-Boot does before jumping to Linux (`xen_fini`). */
  fini(): Promise<XenFiniReport>;
}

function _fail(what: string, e: FdtError): never {
  throw new BoardStartError(`Cannot start the guest: ${what}: ${e.errName}`);
}

/** Reads the blob at `address`: header first, then `totalsize` bytes. */
function _readControlFdt(platform: Platform, address: number): Uint8Array {
  const head = platform.memory.read(address, FDT_HEADER_BYTES);
  const headFdt = new Fdt(head);
  const magic = headFdt.header("magic");
  if (magic !== FDT_MAGIC) {
    // board_fdt_blob_setup: -ENXIO; U-Boot cannot go on without a device tree.
    throw new BoardStartError(
      `Cannot start the guest: no device tree at x0 = 0x${address.toString(16)} (bad FDT magic)`,
    );
  }
  const size = headFdt.header("totalsize");
  if (size < FDT_HEADER_BYTES || size > MAX_CONTROL_FDT) {
    throw new BoardStartError(`Cannot start the guest: device tree size ${size} is out of range`);
  }
  const blob = platform.memory.read(address, size);
  const err = new Fdt(blob).checkHeader();
  if (err) _fail("device tree header", err);
  return blob;
}

function _cells(fdt: Fdt, name: "addressCells" | "sizeCells"): number {
  const r = fdt[name](0);
  if (r instanceof FdtError) return name === "addressCells" ? DEFAULT_ADDRESS_CELLS : DEFAULT_SIZE_CELLS;
  return r;
}

/** Every `reg` range of every enabled `device_type = "memory"` node, in tree order. */
export function memoryBanks(fdt: Fdt): RamBank[] {
  const ac = _cells(fdt, "addressCells");
  const sc = _cells(fdt, "sizeCells");
  const nodes = fdt.nodes();
  if (nodes instanceof FdtError) _fail("walking the device tree", nodes);
  const banks: RamBank[] = [];
  for (const node of nodes) {
    const type = fdt.getProperty(node, "device_type");
    if (type instanceof FdtError || readFdtStringList(type.value)?.[0] !== "memory") continue;
    const status = fdt.getProperty(node, "status");
    if (!(status instanceof FdtError) && readFdtStringList(status.value)?.[0] !== "okay") continue;
    const reg = fdt.getProperty(node, "reg");
    if (reg instanceof FdtError) throw new BoardStartError("No reg property for memory node");
    const ranges = readFdtRegs(reg.value, ac, sc);
    if (!ranges) throw new BoardStartError("No reg property for memory node");
    for (const r of ranges) {
      if (r.size === 0n) continue;
      banks.push({ start: Number(r.address), size: Number(r.size) });
    }
  }
  if (banks.length === 0) throw new BoardStartError("dram_init: Missing /memory node");
  return banks;
}

/** The root's `model`, or an empty string. */
function _model(fdt: Fdt): string {
  const p = fdt.getProperty(0, "model");
  return p instanceof FdtError ? "" : readFdtStringList(p.value)?.[0] ?? "";
}

/** The console device's name: the node compatible with `xen,xen` (normally `hypervisor`). */
function _consoleName(fdt: Fdt): string {
  const node = fdt.nodeOffsetByCompatible(-1, "xen,xen");
  if (node instanceof FdtError) throw new BoardStartError("No xen,xen compatible found");
  const name = fdt.getName(node);
  return name instanceof FdtError ? "hypervisor" : name.split("@")[0]!;
}

/** Starts U-Boot on `platform`, in board_r's order: console, Xen drivers, environment, shell. */
export async function startGuest(platform: Platform, options: StartOptions): Promise<Guest> {
  const blob = _readControlFdt(platform, platform.entry.x0);
  const fdt = new Fdt(blob);
  const banks = memoryBanks(fdt);
  const consoleName = _consoleName(fdt);
  const board = computeBoardInfo({
    banks,
    fdtSize: blob.length,
    model: _model(fdt),
    profile: options.profile,
  });
  // reloc_fdt: U-Boot's own copy of the control DTB at the top of RAM.
  platform.memory.write(board.fdtBlob, blob);

  // serial_xen: the console exists once the PV console is probed; then xen_init.
  const heap = Malloc.forBoard(board);
  const hypercalls = Hypercalls.create(platform, heap);
  const pv = await XenConsole.probe(hypercalls, options.console);
  const console: Console = pv ?? options.console;
  const xen = await xenInit(platform, board, new Fdt(platform.memory.read(board.fdtBlob, blob.length)), {
    heap,
    hypercalls,
    log: (text) => console.puts(text),
  });

  const xenguest = options.profile === "xenguest";
  // The blk uclass and the partition layer, shared by part, pvblock and the filesystems. The real
  // xenguest build has no EFI partition support (CONFIG_EFI_PARTITION is off).
  const blk = new BlockRegistry();
  const parts = new PartitionLayer(
    xenguest ? [DOS_PARTITION_DRIVER] : [EFI_PARTITION_DRIVER, DOS_PARTITION_DRIVER],
  );

  // The console exists only once the PV console driver is up (board_r), so the pre-relocation
  // banner lines are never seen on this board. Scripted runs print only what commands print.
  const startup = {
    puts: (text: string) => {
      if (options.banner) console.puts(text);
    },
  };
  const vbds = await xen.xenbus.directory("device/vbd");
  const diskCount = vbds instanceof XenbusError ? 0 : vbds.length;
  // dm_init's counts: root, the console, and the pvblock class with one blk device per disk.
  const devices = DM_BASE_DEVICES + diskCount;
  const uclasses = DM_BASE_UCLASSES + (diskCount > 0 ? 1 : 0);
  startup.puts(`Core:  ${devices} devices, ${uclasses} uclasses, devicetree: board\n`);
  // initr_pvblock: enumerate and connect the PV disks, print them.
  const disks: PvBlockDevice[] = await initPvblock(xen, blk, startup, { parts });

  const env = new Environment(
    xenguest ? XENGUEST_ENV : DEFAULT_ENV,
    xenguest ? XENGUEST_ENV_SIZE : DEFAULT_ENV_SIZE,
  );
  env.set("fdtcontroladdr", board.fdtBlob.toString(16));
  for (const name of ["stdin", "stdout", "stderr"]) env.set(name, consoleName);

  // The filesystems, tried in this order on a partition (fs/fs.c's fstypes table).
  const fs = new FsLayer({ blk, parts, drivers: [FAT_DRIVER, EXT4_DRIVER] });
  const fsIo = { out: console, getenv: (name: string) => env.get(name) };
  const shell = new Shell({
    commands: boardCommands(options.profile, {
      ...options.hooks,
      storage: { blk, parts, fs },
      test: fileExistsHook(fs, fsIo),
      xenbus: xen.xenbus,
      // booti's jump: U-Boot's tear-down first, then the record goes to whoever asked for it.
      boot: { fini: () => fini(), onHandoff: (record) => options.onHandoff?.(record) },
    }),
    env,
    console,
    memory: platform.memory,
    board,
    parser: xenguest ? "simple" : "hush",
  });

  // initr_env (the xenguest build says where it loads from), then console_init_r.
  if (xenguest) startup.puts("Loading Environment from <NULL>... OK\n");
  for (const label of ["In:", "Out:", "Err:"]) startup.puts(`${label.padEnd(7)}${consoleName}\n`);

  const readLine = async (): Promise<string | undefined> => {
    if (!pv) return undefined;
    let line = "";
    // getc() with the CPU handed to the backends while the ring is empty (they move typed bytes in).
    for (let idle = 0; idle < READLINE_IDLE_YIELDS && line.length < SYS_CBSIZE;) {
      const c = pv.getc();
      if (c < 0) {
        idle++;
        await hypercalls.schedYield();
        continue;
      }
      if (c === 0x0d || c === 0x0a) return line;
      line += String.fromCharCode(c);
    }
    return line.length > 0 ? line : undefined;
  };
  const flush = async () => {
    await pv?.flush();
  };
  const fini = async () => {
    await flush();
    // The disks first (grants ended, ports unbound, backends closed), then the rest of xen_fini.
    await removePvblock(disks, blk);
    return await xenFini(xen);
  };
  return { shell, board, env, blk, parts, console, xen, readLine, flush, fini };
}
