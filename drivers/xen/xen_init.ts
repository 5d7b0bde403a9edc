/**
 * Bringing the Xen drivers up and down, in U-Boot's order (drivers/xen/hypervisor.c `xen_init`,
 * `xen_fini`): map shared_info, init events (every port masked), init XenBus (store ring and event
 * channel from the HVM parameters), init the grant table (mapped at `reg[0]` of the device tree node
 * compatible with `xen,xen`). At handoff `xenFini` tears down in U-Boot's order (grant table, XenBus,
 * events, shared_info), and unlike the real board leaves nothing behind: leftover grants are ended,
 * watches and transactions dropped, every event channel the drivers bound is closed, shared_info's
 * page is RAM again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Fdt, fdtRegs, fdtStringList, fdtU32 } from "../../lib/fdt/mod.ts";
 * import { gnttabBaseFromFdt } from "./xen_init.ts";
 *
 * const fdt = Fdt.createEmptyTree(1024);
 * if (fdt instanceof Error) throw fdt;
 * fdt.setProp(0, "#address-cells", fdtU32(2));
 * fdt.setProp(0, "#size-cells", fdtU32(2));
 * const node = fdt.addSubnode(0, "hypervisor");
 * if (node instanceof Error) throw node;
 * fdt.setProp(node, "compatible", fdtStringList(["xen,xen-4.17", "xen,xen"]));
 * fdt.setProp(node, "reg", fdtRegs(2, 2, [{ address: 0x38000000n, size: 0x1000000n }]));
 * assert.equal(gnttabBaseFromFdt(fdt), 0x38000000);
 * ```
 *
 * @module
 */

import type { Platform } from "../../machine/platform.ts";
import type { BoardInfo } from "../../board/board_info.ts";
import { Malloc } from "../../board/malloc.ts";
import { type Fdt, FdtError, readFdtRegs } from "../../lib/fdt/mod.ts";
import { Hypercalls } from "./hypercall.ts";
import { SharedInfo } from "./hypervisor.ts";
import { EventChannels } from "./events.ts";
import { GrantTable } from "./gnttab.ts";
import { XenBus, type XenBusFiniReport } from "./xenbus.ts";
import { XenError } from "./errors.ts";
import type { XenClock } from "./clock.ts";

/** Options of {@linkcode xenInit}. */
export interface XenInitOptions {
  /** U-Boot's malloc area (default: a new allocator over `board.heapStart`/`heapSize`). */
  heap?: Malloc;
  /** The hypercall entry, when the console already made one (default: a new one, scratch from `heap`). */
  hypercalls?: Hypercalls;
  /** Where U-Boot's driver messages go (the console's `puts`). */
  log?: (text: string) => void;
  /** Clock for poll deadlines. */
  clock?: XenClock;
  /** XenBus reply timeout (default 5000 ms). */
  replyTimeoutMs?: number;
}

/** The Xen drivers after {@linkcode xenInit}. */
export interface XenDrivers {
  /** The malloc area the drivers allocate from. */
  readonly heap: Malloc;
  /** The hypercall entry. */
  readonly hypercalls: Hypercalls;
  /** The shared_info page. */
  readonly sharedInfo: SharedInfo;
  /** Event channels. */
  readonly events: EventChannels;
  /** The XenStore client. */
  readonly xenbus: XenBus;
  /** The grant table. */
  readonly gnttab: GrantTable;
}

/** What {@linkcode xenFini} had to clean up (all empty or zero when the drivers shut down properly). */
export interface XenFiniReport extends XenBusFiniReport {
  /** Grant refs the backend still mapped, left granted (their pages must not be reused). */
  grantsInUse: number[];
  /** Event channels still bound that `xenFini` closed (U-Boot prints `port %d still bound!`). */
  portsClosed: number[];
}

/** The grant-table base: `reg[0]` of the first node compatible with `xen,xen` (U-Boot `get_gnttab_base`). */
export function gnttabBaseFromFdt(fdt: Fdt): number {
  const node = fdt.nodeOffsetByCompatible(-1, "xen,xen");
  if (node instanceof FdtError) throw new XenError("find the grant table", "No xen,xen compatible found");
  const reg = fdt.getProperty(node, "reg");
  const parent = fdt.parentOffset(node);
  const parentNode = parent instanceof FdtError ? 0 : parent;
  const ac = fdt.addressCells(parentNode);
  const sc = fdt.sizeCells(parentNode);
  const regions =
    reg instanceof FdtError || ac instanceof FdtError || sc instanceof FdtError || ac > 2 || sc > 2
      ? undefined
      : readFdtRegs(reg.value, ac, sc);
  const base = regions?.[0]?.address;
  if (base === undefined || base <= 0n || base > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new XenError("find the grant table", "No grant table base in the device tree");
  }
  return Number(base);
}

/**
 * `xen_init`: shared_info, events, XenBus, grant table, in U-Boot's order. Throws
 * {@linkcode XenError} where U-Boot would BUG() (after printing U-Boot's message through `log`).
 */
export async function xenInit(
  platform: Platform,
  board: Pick<BoardInfo, "heapStart" | "heapSize">,
  fdt: Fdt,
  options: XenInitOptions = {},
): Promise<XenDrivers> {
  const log = options.log ?? (() => {});
  const heap = options.heap ?? Malloc.forBoard(board);
  const hypercalls = options.hypercalls ?? Hypercalls.create(platform, heap);
  // Read before any hypercall, so a bad device tree leaves nothing mapped.
  const gnttabBase = gnttabBaseFromFdt(fdt);
  const clock = options.clock ? { clock: options.clock } : {};

  const sharedInfo = await SharedInfo.map(hypercalls, heap);
  const events = new EventChannels(hypercalls, sharedInfo, { log, ...clock });
  events.init();
  const replyTimeout = options.replyTimeoutMs === undefined ? {} : { replyTimeoutMs: options.replyTimeoutMs };
  const xenbus = await XenBus.init(hypercalls, events, { log, ...replyTimeout });
  const gnttab = new GrantTable(hypercalls, gnttabBase, { log });
  await gnttab.init();
  return { heap, hypercalls, sharedInfo, events, xenbus, gnttab };
}

/**
 * `xen_fini` for the handoff: grant table (leftover grants ended, frame unmapped), XenBus (watches
 * and transactions dropped), events (every bound port closed or detached, upcall state cleared),
 * shared_info (unmapped, RAM put back, page freed). Throws {@linkcode XenError} where U-Boot panics.
 */
export async function xenFini(drivers: XenDrivers): Promise<XenFiniReport> {
  const grantsInUse = await drivers.gnttab.fini();
  const bus = await drivers.xenbus.fini();
  const portsClosed = await drivers.events.fini();
  await drivers.sharedInfo.unmap(drivers.hypercalls, drivers.heap);
  return { grantsInUse, portsClosed, ...bus };
}
