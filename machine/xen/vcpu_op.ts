/**
 * `HYPERVISOR_vcpu_op` as Xen on Arm accepts it (xen-spec §1.7): `VCPUOP_register_vcpu_info` moves a
 * vCPU's `vcpu_info` out of shared_info into a guest page (once: a second registration is `-EBUSY`,
 * which is why a boot loader must not register it before Linux does), and
 * `VCPUOP_register_runstate_memory_area` is recorded (the area is not maintained). Every other command
 * is `-EINVAL` on Arm.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VCPU_REGISTER_VCPU_INFO } from "./vcpu_op.ts";
 *
 * assert.deepEqual(VCPU_REGISTER_VCPU_INFO.fields.offset, [8, 4]);
 * ```
 *
 * @module
 */

import type { PhysicalMemory } from "../platform.ts";
import type { XenDomain } from "./domain.ts";
import { defineLayout } from "./layout.ts";
import type { ByteCell } from "./shared_info.ts";
import { VCPU_INFO } from "./shared_info.ts";
import {
  VCPUOP_register_runstate_memory_area,
  VCPUOP_register_vcpu_info,
  XEN_PAGE_SIZE,
  xenError,
} from "./xen_abi.ts";

/** `struct vcpu_register_vcpu_info` (16 bytes). */
export const VCPU_REGISTER_VCPU_INFO = defineLayout("vcpu_register_vcpu_info", 16, {
  mfn: [0, 8],
  offset: [8, 4],
  rsvd: [12, 4],
});
/** `struct vcpu_register_runstate_memory_area` (8 bytes: a guest address). */
export const VCPU_REGISTER_RUNSTATE = defineLayout("vcpu_register_runstate_memory_area", 8, { addr: [0, 8] });

/** Command names, for traces. */
export const VCPU_OP_NAMES: Readonly<Record<number, string>> = {
  [VCPUOP_register_runstate_memory_area]: "VCPUOP_register_runstate_memory_area",
  [VCPUOP_register_vcpu_info]: "VCPUOP_register_vcpu_info",
};

const ALL_SELECTORS = 0xffff_ffff_ffff_ffffn;

/** Guest RAM at `base` as byte storage; writes are dropped once the page left the physmap. */
function _guestCell(memory: PhysicalMemory, base: number): ByteCell {
  return {
    readU8: (offset) => memory.isMapped(base + offset, 1) ? memory.readU8(base + offset) : 0,
    writeU8: (offset, value) => {
      if (memory.isMapped(base + offset, 1)) memory.writeU8(base + offset, value);
    },
    readU64: (offset) => memory.isMapped(base + offset, 8) ? memory.readU64(base + offset) : 0n,
    writeU64: (offset, value) => {
      if (memory.isMapped(base + offset, 8)) memory.writeU64(base + offset, value);
    },
  };
}

/** `vcpu_op(cmd, vcpuid, arg)`; throws `GuestFault` for an argument out of guest memory. */
export function vcpuOp(domain: XenDomain, cmd: number, vcpuid: bigint, arg: bigint): bigint {
  if (cmd !== VCPUOP_register_vcpu_info && cmd !== VCPUOP_register_runstate_memory_area) {
    return xenError("EINVAL");
  }
  if (vcpuid >= BigInt(domain.vcpus)) return xenError("ENOENT");
  const access = domain.access;
  if (cmd === VCPUOP_register_runstate_memory_area) {
    domain.runstateArea = access.readStruct(VCPU_REGISTER_RUNSTATE, access.pointer(arg)).u64("addr");
    return 0n;
  }
  const info = access.readStruct(VCPU_REGISTER_VCPU_INFO, access.pointer(arg));
  if (vcpuid !== 0n) return 0n;
  if (domain.vcpuInfo !== undefined) return xenError("EBUSY");
  const offset = info.u("offset");
  if (offset > XEN_PAGE_SIZE - VCPU_INFO.bytes) return xenError("EINVAL");
  const gfn = info.u64("mfn");
  if (gfn >= BigInt(Number.MAX_SAFE_INTEGER) || domain.physmap.kind(Number(gfn)) !== "ram") {
    return xenError("EINVAL");
  }
  const base = Number(gfn) * XEN_PAGE_SIZE + offset;
  const old = domain.events.vcpuInfo(domain.domid);
  const cell = _guestCell(domain.memory, base);
  for (let i = 0; i < VCPU_INFO.bytes; i++) cell.writeU8(i, old.cell.readU8(old.offset + i));
  // Xen marks everything pending so the guest rescans after the move.
  cell.writeU8(VCPU_INFO.fields.evtchn_upcall_pending[0], 1);
  cell.writeU64(VCPU_INFO.fields.evtchn_pending_sel[0], ALL_SELECTORS);
  domain.events.setVcpuInfo(domain.domid, { cell, offset: 0 });
  domain.vcpuInfo = { gfn: Number(gfn), offset };
  return 0n;
}
