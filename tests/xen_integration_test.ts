/**
 * The guest's Xen drivers (drivers/xen) against the emulated platform (machine/xen) across the guest
 * boundary: registers, guest memory layouts and event channels only.
 */

import assert from "node:assert/strict";
import { createMachine, type Machine } from "../machine/machine.ts";
import { completeGuestConfig } from "../machine/guest_config.ts";
import { Fdt, FdtError, readFdtStringList } from "../lib/fdt/mod.ts";
import { memoryBanks } from "../guest.ts";
import { computeBoardInfo } from "../board/board_setup.ts";
import { Malloc } from "../board/malloc.ts";
import type { BoardInfo } from "../board/board_info.ts";
import type { Console } from "../commands/command.ts";
import {
  Hypercalls,
  XenbusError,
  XenbusState,
  XenConsole,
  type XenDrivers,
  xenFini,
  xenInit,
} from "../drivers/xen/mod.ts";

const FDT_HEADER_BYTES = 40;

class QuietConsole implements Console {
  readonly printed: string[] = [];
  puts(text: string): void {
    this.printed.push(text);
  }
  ctrlc(): boolean {
    return false;
  }
  hadCtrlc(): boolean {
    return false;
  }
  clearCtrlc(): void {}
  delay(): Promise<boolean> {
    return Promise.resolve(false);
  }
}

interface Booted {
  machine: Machine;
  board: BoardInfo;
  fdt: Fdt;
  heap: Malloc;
  hypercalls: Hypercalls;
  console: XenConsole;
  xen: XenDrivers;
  log: string[];
}

async function boot(): Promise<Booted> {
  const io = { readFile: () => Promise.reject(new Error("no files here")) };
  const machine = await createMachine(completeGuestConfig({ memoryMiB: 1536 }), io);
  const head = new Fdt(machine.memory.read(machine.entry.x0, FDT_HEADER_BYTES));
  const fdt = new Fdt(machine.memory.read(machine.entry.x0, head.header("totalsize")));
  const model = fdt.getProperty(0, "model");
  const board = computeBoardInfo({
    banks: memoryBanks(fdt),
    fdtSize: fdt.header("totalsize"),
    model: model instanceof FdtError ? "" : readFdtStringList(model.value)?.[0] ?? "",
    profile: "xenguest",
  });
  const heap = Malloc.forBoard(board);
  const hypercalls = Hypercalls.create(machine, heap);
  const console = await XenConsole.probe(hypercalls, new QuietConsole());
  assert.ok(console, "the machine has a PV console");
  const log: string[] = [];
  const xen = await xenInit(machine, board, fdt, { heap, hypercalls, log: (text) => log.push(text) });
  return { machine, board, fdt, heap, hypercalls, console, xen, log };
}

function text(bytes: Uint8Array): string {
  return new TextDecoder("latin1").decode(bytes);
}

Deno.test("xenInit on the emulated Xen, then a XenStore read of domid", async () => {
  const { machine, xen, log } = await boot();
  assert.equal(await xen.xenbus.read("domid"), String(machine.xen.domain.domid));
  assert.equal(await xen.xenbus.getSelfId(), machine.xen.domain.domid);
  assert.deepEqual(log, []);
});

Deno.test("console output goes through the ring to the console backend, a full ring included", async () => {
  const { machine, console } = await boot();
  machine.takeConsoleOutput();
  console.puts("hello through the ring\n");
  const long = Array.from({ length: 120 }, (_, i) => `line ${i} ${"=".repeat(40)}\n`).join(""); // > 2048 bytes
  console.puts(long);
  assert.ok(await console.flush());
  assert.equal(text(machine.takeConsoleOutput()), "hello through the ring\n" + long);
  assert.equal(console.droppedBytes, 0);
});

Deno.test("XenStore writes, listings and states round-trip in the guest's own data directory", async () => {
  const { xen } = await boot();
  assert.equal(await xen.xenbus.write("data/pvboot/state", String(XenbusState.Initialising)), undefined);
  assert.equal(await xen.xenbus.switchState("data/pvboot/state", XenbusState.Connected), undefined);
  assert.equal(await xen.xenbus.readState("data/pvboot/state"), XenbusState.Connected);
  assert.deepEqual(await xen.xenbus.directory("data/pvboot"), ["state"]);
  const missing = await xen.xenbus.read("data/pvboot/nothing");
  assert.ok(missing instanceof XenbusError && missing.xsError === "ENOENT");
});

Deno.test("xenFini leaves the machine clean for the next kernel", async () => {
  const { machine, xen, log } = await boot();
  // Leave work behind on purpose: an event channel, a grant, a watch.
  const port = await xen.events.allocUnbound(0);
  const page = xen.heap.memalign(0x1000, 0x1000);
  xen.gnttab.grantAccess(0, page / 0x1000, false);
  assert.equal(await xen.xenbus.watch("data", "pvboot", () => {}), undefined);
  const report = await xenFini(xen);
  assert.deepEqual(report.portsClosed, [port]);
  assert.deepEqual(report.grantsInUse, []);
  assert.equal(report.watchesRemoved, 1);
  assert.deepEqual(log, [`port ${port} still bound!\n`]);
  assert.deepEqual(machine.handoffReport().problems, []);
});
