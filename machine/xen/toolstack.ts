/**
 * The Xen side of `xl create` for the guest, as libxl and libxenguest set up an Arm DomU (xen-spec §2.2,
 * §7, §8): the domain with its shared_info and grant table; the four magic pages at `GUEST_MAGIC_BASE`
 * (console page as `xc_dom_console_init` leaves it, xenstore page zeroed); the HVM parameters; the two
 * event channels the toolstack allocates (xenstore first, then console, both for Dom0); grant refs 0 and
 * 1 seeded for the console and xenstore pages; the XenStore tree libxl writes for the domain and its PV
 * console; then xenstored introduced to the domain and the console backend connected, each through its
 * grant. The result is the running guest's Xen: hypercall entry, backends, the Dom0 API and the handoff
 * report.
 *
 * Chosen where libxl would differ from run to run: a fixed UUID and a start time of 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { TraceBus } from "../trace.ts";
 * import { buildXenGuest } from "./toolstack.ts";
 *
 * const memory = new GuestMemory();
 * memory.addRegion({ base: 0x4000_0000, size: 64 * 1024 * 1024 });
 * const xen = buildXenGuest({
 *   memory, banks: memory.regions(), name: "guest", vcpus: 1, memoryMiB: 64, trace: new TraceBus(),
 *   consoleSink: () => {},
 * });
 * assert.equal(xen.storePort, 1);
 * assert.equal(xen.consolePort, 2);
 * assert.equal(xen.dom0.xenstore.readString("/local/domain/1/store/ring-ref"), String(0x39001));
 * ```
 *
 * @module
 */

import type { GuestMemory, MemoryRegion } from "../guest_memory.ts";
import type { TraceBus } from "../trace.ts";
import { ConsoleBackend, XENCONS_INTERFACE, XENCONSOLE_DISCONNECTED } from "./console_backend.ts";
import { createDom0, type Dom0 } from "./dom0.ts";
import { XenDomain } from "./domain.ts";
import { EventChannels } from "./event_channels.ts";
import { GrantError } from "./grant_table.ts";
import { type HandoffReport, handoffReport } from "./handoff.ts";
import { Hypervisor } from "./hypervisor.ts";
import type { InputWait } from "./sched_op.ts";
import { Scheduler } from "./scheduler.ts";
import { EVTCHN_2L_NR_CHANNELS } from "./shared_info.ts";
import {
  DOM0_ID,
  GNTTAB_RESERVED_CONSOLE,
  GNTTAB_RESERVED_XENSTORE,
  GTF_permit_access,
  GUEST_DOMID,
  HVM_PARAM_CALLBACK_IRQ,
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_MONITOR_RING_PFN,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
  XEN_PAGE_SIZE,
} from "./xen_abi.ts";
import { XenPage } from "./xen_page.ts";
import { domainPath, XenStoreDb, type XsCaller, type XsPerm } from "./xenstore_db.ts";
import { XenStored } from "./xenstored.ts";

/** `GUEST_MAGIC_BASE` (arch-arm.h). */
export const GUEST_MAGIC_BASE = 0x3900_0000;
/** Magic pages libxenguest populates (console, xenstore, mem-access, vuart). */
export const NR_MAGIC_PAGES = 4;
/** Offsets of the magic pages from the base, in pages. */
export const CONSOLE_PFN_OFFSET = 0;
/** The xenstore ring. */
export const XENSTORE_PFN_OFFSET = 1;
/** The mem-access (monitor) ring. */
export const MEMACCESS_PFN_OFFSET = 2;
/** `HVM_PARAM_CALLBACK_IRQ` Xen sets for an Arm guest: PPI 31, active-low level. */
export const CALLBACK_IRQ_PPI31 = 0x0200_0000_0000_021fn;
/** Ports a DomU may use (libxl's default `max_event_channels` 1023, plus port 0). */
export const GUEST_PORT_LIMIT = 1024;
/** Slack libxl adds to `max_pages` (`LIBXL_MAXMEM_CONSTANT`, 1 MiB). */
export const MAXMEM_SLACK_PAGES = 256;
/** The domain handle libxl would draw at random; fixed so runs repeat. */
export const DEFAULT_UUID = "00000000-0000-0000-0000-000000000001";
/** Console backend values libxl writes (`LIBXL_XENCONSOLE_LIMIT`, `LIBXL_XENCONSOLE_PROTOCOL`). */
const CONSOLE_LIMIT = "1048576";
const CONSOLE_PROTOCOL = "vt100";
/** XenbusStateInitialising. */
const XENBUS_STATE_INITIALISING = "1";
const KIB = 1024;

/** What the guest's Xen is built from. */
export interface XenGuestOptions {
  /** Guest memory with the RAM banks added. */
  memory: GuestMemory;
  /** The RAM banks. */
  banks: readonly MemoryRegion[];
  /** Domain name. */
  name: string;
  /** vCPUs. */
  vcpus: number;
  /** RAM in MiB (for the XenStore memory keys). */
  memoryMiB: number;
  /** The trace bus. */
  trace: TraceBus;
  /** Receives the guest's console output. */
  consoleSink: (bytes: Uint8Array) => void;
  /** Let a poll on the console port wait (wall clock) for terminal input. */
  waitForInput?: boolean;
  /** Accept `CONSOLEIO_write` as a debug Xen does (default: refused, as a release Xen). */
  consoleIoWrite?: boolean;
}

/** The guest's Xen, running. */
export interface XenGuest {
  /** The hypercall entry. */
  readonly hypervisor: Hypervisor;
  /** The guest domain's state. */
  readonly domain: XenDomain;
  /** xenstored. */
  readonly xenstored: XenStored;
  /** The console backend. */
  readonly console: ConsoleBackend;
  /** What Dom0 backends may use. */
  readonly dom0: Dom0;
  /** The guest's xenstore port. */
  readonly storePort: number;
  /** The guest's console port. */
  readonly consolePort: number;
  /** The handoff check. */
  handoffReport(): HandoffReport;
}

/** The machine cannot be set up (a programming error: the toolstack steps cannot fail on a fresh domain). */
export class ToolstackError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ToolstackError";
  }
}

function _uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replaceAll("-", "");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function _port(value: number | string, what: string): number {
  if (typeof value === "string") throw new ToolstackError(`Cannot ${what}: ${value}`);
  return value;
}

/** Builds the guest's Xen: see the module documentation. */
export function buildXenGuest(options: XenGuestOptions): XenGuest {
  const { memory, trace } = options;
  const events = new EventChannels(trace);
  const scheduler = new Scheduler();
  const ramPages = options.banks.reduce((sum, bank) => sum + bank.size / XEN_PAGE_SIZE, 0);
  const domain = new XenDomain({
    memory,
    domid: GUEST_DOMID,
    vcpus: options.vcpus,
    totPages: ramPages + NR_MAGIC_PAGES,
    maxPages: ramPages + MAXMEM_SLACK_PAGES,
    trace,
    events,
    scheduler,
    uuid: _uuidBytes(DEFAULT_UUID),
    consoleIoWrite: options.consoleIoWrite ?? false,
  });
  events.addDomain({
    domid: DOM0_ID,
    shared: new XenPage(memory, "dom0 event bitmaps"),
    portLimit: EVTCHN_2L_NR_CHANNELS,
    upcalls: false,
  });
  events.addDomain({
    domid: GUEST_DOMID,
    shared: domain.sharedInfo,
    portLimit: GUEST_PORT_LIMIT,
    upcalls: true,
  });

  // libxenguest: magic pages, console page initialised, HVM parameters.
  const magicGfn = GUEST_MAGIC_BASE / XEN_PAGE_SIZE;
  const consoleGfn = magicGfn + CONSOLE_PFN_OFFSET;
  const storeGfn = magicGfn + XENSTORE_PFN_OFFSET;
  memory.addRegion({ base: GUEST_MAGIC_BASE, size: NR_MAGIC_PAGES * XEN_PAGE_SIZE });
  memory.writeU8(
    consoleGfn * XEN_PAGE_SIZE + XENCONS_INTERFACE.fields.connection[0],
    XENCONSOLE_DISCONNECTED,
  );
  const params = domain.params;
  params.set(HVM_PARAM_CALLBACK_IRQ, CALLBACK_IRQ_PPI31);
  params.set(HVM_PARAM_CONSOLE_PFN, BigInt(consoleGfn));
  params.set(HVM_PARAM_STORE_PFN, BigInt(storeGfn));
  params.set(HVM_PARAM_MONITOR_RING_PFN, BigInt(magicGfn + MEMACCESS_PFN_OFFSET));

  // libxl: the xenstore port first, then the console port, both for Dom0.
  const storePort = _port(events.allocUnbound(GUEST_DOMID, DOM0_ID), "allocate the xenstore port");
  const consolePort = _port(events.allocUnbound(GUEST_DOMID, DOM0_ID), "allocate the console port");
  params.set(HVM_PARAM_STORE_EVTCHN, BigInt(storePort));
  params.set(HVM_PARAM_CONSOLE_EVTCHN, BigInt(consolePort));

  // xc_dom_gnttab_seed: refs 0 and 1 grant the console and xenstore pages to their backends.
  domain.grants.setEntry(GNTTAB_RESERVED_CONSOLE, {
    flags: GTF_permit_access,
    domid: DOM0_ID,
    frame: consoleGfn,
  });
  domain.grants.setEntry(GNTTAB_RESERVED_XENSTORE, {
    flags: GTF_permit_access,
    domid: DOM0_ID,
    frame: storeGfn,
  });

  const xenstored = new XenStored({ db: new XenStoreDb([DOM0_ID, GUEST_DOMID]), events, trace });
  _writeDomainTree(xenstored.db, options, { storePort, consolePort, storeGfn, consoleGfn });

  // xenstored's introduce and xenconsoled's connect, each through the seeded grant.
  const storeRing = domain.grants.map(GNTTAB_RESERVED_XENSTORE, DOM0_ID, { writable: true });
  if (storeRing instanceof GrantError) throw new ToolstackError(storeRing.message);
  _port(xenstored.introduce(GUEST_DOMID, storeRing, storePort), "introduce the domain to xenstored");
  const console = new ConsoleBackend({ events, trace, sink: options.consoleSink });
  const consoleRing = domain.grants.map(GNTTAB_RESERVED_CONSOLE, DOM0_ID, { writable: true });
  if (consoleRing instanceof GrantError) throw new ToolstackError(consoleRing.message);
  _port(console.connect(GUEST_DOMID, consoleRing, consolePort), "connect the console backend");
  scheduler.add(xenstored);
  scheduler.add(console);

  const inputWait: InputWait | undefined = options.waitForInput === true
    ? { port: consolePort, hasInput: () => console.queuedInput > 0, arrival: () => console.inputArrival() }
    : undefined;
  const hypervisor = new Hypervisor(domain, inputWait === undefined ? {} : { inputWait });
  const dom0 = createDom0({ events, grants: [domain.grants], xenstored, scheduler, trace });
  const banks = [...options.banks];
  return {
    hypervisor,
    domain,
    xenstored,
    console,
    dom0,
    storePort,
    consolePort,
    handoffReport: () =>
      handoffReport({
        domain,
        backends: scheduler.backends(),
        toolstackPorts: [storePort, consolePort],
        banks,
      }),
  };
}

interface _Ports {
  storePort: number;
  consolePort: number;
  storeGfn: number;
  consoleGfn: number;
}

/** The tree libxl writes (libxl__domain_make, libxl__build_post, libxl__device_console_add). */
function _writeDomainTree(db: XenStoreDb, options: XenGuestOptions, ports: _Ports): void {
  const dom0: XsCaller = { domid: DOM0_ID, privileged: true };
  const fe = GUEST_DOMID;
  const noperm: XsPerm[] = [{ id: DOM0_ID, perm: "n" }];
  const roperm: XsPerm[] = [{ id: DOM0_ID, perm: "n" }, { id: fe, perm: "r" }];
  const rwperm: XsPerm[] = [{ id: fe, perm: "n" }];
  const write = (path: string, value: string): void => {
    const error = db.write(dom0, undefined, path, value);
    if (error !== undefined) throw new ToolstackError(`Cannot write ${path}: ${error.code}`);
  };
  const mknod = (path: string, perms: readonly XsPerm[], value = ""): void => {
    write(path, value);
    const error = db.setPerms(dom0, undefined, path, perms);
    if (error !== undefined) throw new ToolstackError(`Cannot set the permissions of ${path}: ${error.code}`);
  };

  // Dom0's own entries (xenstored and the Dom0 start-up scripts).
  mknod("/local", noperm);
  mknod("/local/domain", noperm);
  mknod(domainPath(DOM0_ID), noperm);
  write(`${domainPath(DOM0_ID)}/name`, "Domain-0");
  write(`${domainPath(DOM0_ID)}/domid`, String(DOM0_ID));

  // libxl__domain_make.
  const dom = domainPath(fe);
  const vm = `/vm/${DEFAULT_UUID}`;
  const libxl = `/libxl/${fe}`;
  mknod(dom, roperm);
  mknod(vm, roperm);
  mknod(libxl, noperm);
  mknod(`${libxl}/device`, noperm);
  write(`${dom}/vm`, vm);
  write(`${dom}/name`, options.name);
  write(`${vm}/name`, options.name);
  for (const node of ["cpu", "memory", "device", "control"]) mknod(`${dom}/${node}`, roperm);
  for (const node of ["shutdown", "feature-poweroff", "feature-reboot", "feature-suspend", "sysrq"]) {
    mknod(`${dom}/control/${node}`, rwperm);
  }
  mknod(`${dom}/device/suspend/event-channel`, rwperm);
  for (const node of ["data", "drivers", "feature", "attr", "error"]) mknod(`${dom}/${node}`, rwperm);
  write(`${vm}/uuid`, DEFAULT_UUID);
  write(`${vm}/name`, options.name);
  write(`${dom}/control/platform-feature-multiprocessor-suspend`, "1");
  write(`${dom}/control/platform-feature-xs_reset_watches`, "1");
  write(`${libxl}/type`, "pvh");
  write(`${libxl}/dm-version`, "qemu_xen");

  // libxl__build_post.
  const memKiB = String(options.memoryMiB * KIB);
  write(`${dom}/memory/static-max`, memKiB);
  write(`${dom}/memory/target`, memKiB);
  write(`${dom}/memory/videoram`, "-1");
  write(`${dom}/domid`, String(fe));
  write(`${dom}/store/port`, String(ports.storePort));
  write(`${dom}/store/ring-ref`, String(ports.storeGfn));
  for (let cpu = 0; cpu < options.vcpus; cpu++) write(`${dom}/cpu/${cpu}/availability`, "online");
  write(`${vm}/start_time`, "0.00");

  // libxl__device_console_add for console 0 (frontend directory read-only to the guest).
  const frontend = `${dom}/console`;
  const backend = `${domainPath(DOM0_ID)}/backend/console/${fe}/0`;
  const frontendPerms: XsPerm[] = [{ id: fe, perm: "n" }, { id: DOM0_ID, perm: "r" }];
  const roFrontendPerms: XsPerm[] = [{ id: DOM0_ID, perm: "n" }, { id: fe, perm: "r" }];
  mknod(frontend, roFrontendPerms);
  write(`${frontend}/backend`, backend);
  mknod(`${frontend}/backend-id`, frontendPerms, String(DOM0_ID));
  const roFrontend: [string, string][] = [
    ["limit", CONSOLE_LIMIT],
    ["type", "xenconsoled"],
    ["output", "pty"],
    ["tty", ""],
    ["port", String(ports.consolePort)],
    ["ring-ref", String(ports.consoleGfn)],
  ];
  for (const [key, value] of roFrontend) mknod(`${frontend}/${key}`, roFrontendPerms, value);
  const backendEntries: [string, string][] = [
    ["frontend-id", String(fe)],
    ["online", "1"],
    ["state", XENBUS_STATE_INITIALISING],
    ["protocol", CONSOLE_PROTOCOL],
  ];
  mknod(backend, roFrontendPerms);
  write(`${backend}/frontend`, frontend);
  for (const [key, value] of backendEntries) write(`${backend}/${key}`, value);
  const libxlConsole = `${libxl}/device/console/0`;
  mknod(libxlConsole, noperm);
  for (const [key, value] of backendEntries) write(`${libxlConsole}/${key}`, value);
}
