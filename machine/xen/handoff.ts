/**
 * The handoff check: what the guest leaves behind when it jumps to the next kernel (xen-spec §9, "Global
 * tear-down"). Lists the grants still granted or in use, the guest's bound event channels, the Xen pages
 * still mapped into its physmap, RAM frames left as holes, a registered `vcpu_info`, the upcall state,
 * and each backend's connection state, and turns what Linux would trip on into a list of problems. The
 * toolstack's own grants (refs 0..7) and ports (xenstore, console) are listed but are not problems.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatHandoffReport } from "./handoff.ts";
 *
 * const text = formatHandoffReport({
 *   grants: [], eventChannels: [], backends: [], xenPages: [], ramHoles: [], vcpuInfo: null,
 *   upcallPending: 0, pendingSel: 0n, problems: [],
 * });
 * assert.equal(text.at(-1), "handoff: clean");
 * ```
 *
 * @module
 */

import type { MemoryRegion } from "../guest_memory.ts";
import type { VcpuInfoRegistration, XenDomain } from "./domain.ts";
import type { Backend, BackendReport } from "./scheduler.ts";
import { GNTTAB_NR_RESERVED_ENTRIES, GTF_reading, GTF_writing, XEN_PAGE_SIZE } from "./xen_abi.ts";

/** A grant entry still in use. */
export interface HandoffGrant {
  /** The reference. */
  readonly ref: number;
  /** `GTF_*` flags. */
  readonly flags: number;
  /** The grantee. */
  readonly domid: number;
  /** The granted frame. */
  readonly frame: number;
  /** Read pins held by backends. */
  readonly readPins: number;
  /** Write pins held by backends. */
  readonly writePins: number;
  /** A toolstack ref (0..7). */
  readonly toolstack: boolean;
}

/** A bound event channel of the guest. */
export interface HandoffChannel {
  /** The guest's port. */
  readonly port: number;
  /** Unbound (waiting for the remote domain) or connected. */
  readonly state: "unbound" | "interdomain";
  /** The remote domain. */
  readonly remoteDomain: number;
  /** The remote port when connected. */
  readonly remotePort: number | null;
  /** Pending bit. */
  readonly pending: boolean;
  /** Mask bit. */
  readonly masked: boolean;
  /** One of the toolstack's ports (xenstore, console). */
  readonly toolstack: boolean;
}

/** The whole report. */
export interface HandoffReport {
  /** Grants still granted or pinned. */
  readonly grants: readonly HandoffGrant[];
  /** The guest's allocated ports. */
  readonly eventChannels: readonly HandoffChannel[];
  /** Each backend's state. */
  readonly backends: readonly BackendReport[];
  /** Xen pages mapped into the guest physmap. */
  readonly xenPages: readonly { gfn: number; label: string }[];
  /** Runs of RAM frames the guest removed and did not populate again. */
  readonly ramHoles: readonly { gfn: number; count: number }[];
  /** A registered `vcpu_info`, or null. */
  readonly vcpuInfo: VcpuInfoRegistration | null;
  /** vCPU 0's `evtchn_upcall_pending`. */
  readonly upcallPending: number;
  /** vCPU 0's `evtchn_pending_sel`. */
  readonly pendingSel: bigint;
  /** What the next kernel would trip on; empty when the hand-over is clean. */
  readonly problems: readonly string[];
}

/** What {@linkcode handoffReport} inspects. */
export interface HandoffInput {
  /** The guest domain. */
  readonly domain: XenDomain;
  /** The backends, in run order. */
  readonly backends: readonly Backend[];
  /** The toolstack's ports of the guest (xenstore, console). */
  readonly toolstackPorts: readonly number[];
  /** The RAM banks the guest was given. */
  readonly banks: readonly MemoryRegion[];
}

function _hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** Frames of `banks` not covered by `regions` (both sorted), as runs. */
function _holes(
  banks: readonly MemoryRegion[],
  regions: readonly MemoryRegion[],
): { gfn: number; count: number }[] {
  const holes: { gfn: number; count: number }[] = [];
  for (const bank of banks) {
    let at = bank.base;
    const end = bank.base + bank.size;
    for (const region of regions) {
      const regionEnd = region.base + region.size;
      if (regionEnd <= at || region.base >= end) continue;
      if (region.base > at) {
        holes.push({ gfn: at / XEN_PAGE_SIZE, count: (region.base - at) / XEN_PAGE_SIZE });
      }
      at = Math.max(at, regionEnd);
    }
    if (at < end) holes.push({ gfn: at / XEN_PAGE_SIZE, count: (end - at) / XEN_PAGE_SIZE });
  }
  return holes;
}

/** Inspects the machine as a kernel taking over would find it. */
export function handoffReport(input: HandoffInput): HandoffReport {
  const { domain } = input;
  const problems: string[] = [];
  const grants = domain.grants.activeGrants().map((g) => ({
    ...g,
    toolstack: g.ref < GNTTAB_NR_RESERVED_ENTRIES,
  }));
  for (const g of grants) {
    if (g.toolstack) continue;
    if (g.readPins > 0 || (g.flags & (GTF_reading | GTF_writing)) !== 0) {
      problems.push(`grant ${g.ref} is still in use by d${g.domid} (frame ${_hex(g.frame)})`);
    } else {
      problems.push(`grant ${g.ref} still grants frame ${_hex(g.frame)} to d${g.domid}`);
    }
  }
  const eventChannels: HandoffChannel[] = domain.events.boundPorts(domain.domid).map(({ port, channel }) => ({
    port,
    state: channel.state === "interdomain" ? "interdomain" : "unbound",
    remoteDomain: channel.state === "interdomain" || channel.state === "unbound" ? channel.remoteDomid : -1,
    remotePort: channel.state === "interdomain" ? channel.remotePort : null,
    pending: domain.events.isPending(domain.domid, port),
    masked: domain.events.isMasked(domain.domid, port),
    toolstack: input.toolstackPorts.includes(port),
  }));
  for (const c of eventChannels) {
    if (c.toolstack) continue;
    problems.push(
      c.state === "interdomain"
        ? `event channel ${c.port} is still bound to d${c.remoteDomain}:${c.remotePort}`
        : `event channel ${c.port} is still allocated (unbound, for d${c.remoteDomain})`,
    );
  }
  for (const port of input.toolstackPorts) {
    if (domain.events.channel(domain.domid, port).state !== "interdomain") {
      problems.push(`the toolstack's event channel ${port} was closed`);
    }
  }
  const xenPages = domain.physmap.xenMappings();
  for (const page of xenPages) {
    problems.push(
      `${page.label} is still mapped at gfn ${_hex(page.gfn)} (the next add_to_physmap gets EBUSY)`,
    );
  }
  const ramHoles = _holes(input.banks, domain.memory.regions());
  for (const hole of ramHoles) {
    problems.push(`RAM frames ${_hex(hole.gfn)}+${hole.count} were removed and not populated again`);
  }
  const vcpuInfo = domain.vcpuInfo ?? null;
  if (vcpuInfo !== null) problems.push("vcpu_info is registered (Linux's registration gets EBUSY)");
  const { upcallPending, pendingSel } = domain.events.upcallState(domain.domid);
  if (upcallPending !== 0) problems.push("evtchn_upcall_pending is set");
  if (pendingSel !== 0n) problems.push(`evtchn_pending_sel is 0x${pendingSel.toString(16)}`);
  const backends = input.backends.map((b) => b.report());
  for (const backend of backends) problems.push(...backend.problems);
  return {
    grants,
    eventChannels,
    backends,
    xenPages,
    ramHoles,
    vcpuInfo,
    upcallPending,
    pendingSel,
    problems,
  };
}

/** The report as lines of text, ending with `handoff: clean` or `handoff: N problem(s)`. */
export function formatHandoffReport(report: HandoffReport): string[] {
  const lines: string[] = [];
  for (const g of report.grants) {
    lines.push(
      `grant ${g.ref}: flags ${_hex(g.flags)} d${g.domid} frame ${
        _hex(g.frame)
      } pins r${g.readPins}/w${g.writePins}` +
        (g.toolstack ? " (toolstack)" : ""),
    );
  }
  for (const c of report.eventChannels) {
    const remote = c.remotePort === null ? `d${c.remoteDomain}` : `d${c.remoteDomain}:${c.remotePort}`;
    const bits = [c.pending ? "pending" : "", c.masked ? "masked" : "", c.toolstack ? "toolstack" : ""]
      .filter((b) => b !== "");
    lines.push(`evtchn ${c.port}: ${c.state} ${remote}${bits.length > 0 ? ` (${bits.join(", ")})` : ""}`);
  }
  for (const b of report.backends) {
    const details = Object.entries(b.details).map(([k, v]) => `${k}=${v}`).join(" ");
    lines.push(`backend ${b.name}: ${b.state}${details === "" ? "" : ` ${details}`}`);
  }
  for (const problem of report.problems) lines.push(`problem: ${problem}`);
  lines.push(
    report.problems.length === 0 ? "handoff: clean" : `handoff: ${report.problems.length} problem(s)`,
  );
  return lines;
}
