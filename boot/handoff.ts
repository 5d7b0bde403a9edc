/**
 * The jump to Linux (U-Boot 2023.01 arch/arm/lib/bootm.c `boot_jump_linux` for arm64, and what it
 * calls), as uboot-spec §18 orders it: `Starting kernel ...`, the devices removed and the Xen drivers
 * torn down (one `fini` hook: dm_remove_devices_active, then board_cleanup_before_linux → xen_fini),
 * interrupts masked, caches and MMU off, then `armv8_switch_to_el2(fdt, 0, 0, 0, ep)`, which at EL1 is
 * a plain branch. The CPU state the kernel starts with is returned as data, a
 * {@linkcode HandoffRecord}, which the session prints and tests assert on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bootJumpLinux, formatHandoffRecord } from "./handoff.ts";
 *
 * let out = "";
 * const record = await bootJumpLinux({ puts: (t) => (out += t) }, {
 *   entry: 0x40400000,
 *   kernel: { start: 0x40400000, end: 0x40780000 },
 *   ramdisk: undefined,
 *   fdt: { start: 0x5dda6000, size: 0x2000 },
 *   bootargs: "console=hvc0",
 * });
 * assert.equal(out, "\nStarting kernel ...\n\n");
 * assert.equal(record.cpu.x0, 0x5dda6000);
 * assert.equal(formatHandoffRecord(record)[0], "handoff: entry 0x40400000, x0 0x5dda6000, x1 0x0, x2 0x0, x3 0x0");
 * ```
 *
 * @module
 */

import type { XenFiniReport } from "../drivers/xen/xen_init.ts";

/** A guest-physical range `[start, end)`. */
export interface MemoryRange {
  /** First byte. */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
}

/** The state of the boot CPU at the kernel's first instruction (xen-spec §2.3, Linux booting.rst). */
export interface KernelEntryState {
  /** Where execution continues: the kernel's entry (`images.ep`). */
  readonly pc: number;
  /** x0: the physical address of the device tree blob. */
  readonly x0: number;
  /** x1: 0 (reserved for future use). */
  readonly x1: number;
  /** x2: 0. */
  readonly x2: number;
  /** x3: 0. */
  readonly x3: number;
  /** The exception level: a Xen guest runs at EL1, where `armv8_switch_to_el2` only branches. */
  readonly exceptionLevel: 1;
  /** DAIF all set (`disable_interrupts`). */
  readonly interruptsMasked: true;
  /** SCTLR_EL1.M clear (`dcache_disable` turns the MMU off). */
  readonly mmu: false;
  /** SCTLR_EL1.C clear, cleaned and invalidated. */
  readonly dcache: false;
  /** SCTLR_EL1.I clear, invalidated. */
  readonly icache: false;
}

/** One step of the hand-over, in the order it happened. */
export type HandoffStep =
  | "announce"
  | "remove-devices-and-xen-fini"
  | "disable-interrupts"
  | "caches-off"
  | "jump";

/** What `booti` handed to the kernel. */
export interface HandoffRecord {
  /** The CPU at the kernel's first instruction. */
  readonly cpu: KernelEntryState;
  /** Where the kernel lies (`images.os.start` .. `os.end`: `image_size` bytes). */
  readonly kernel: MemoryRange;
  /** The initrd (`initrd_start` .. `initrd_end`), when there is one. */
  readonly ramdisk: MemoryRange | undefined;
  /** The device tree handed over (x0) and its `totalsize` after `fdt_shrink_to_minimum`. */
  readonly fdt: { readonly start: number; readonly size: number };
  /** `/chosen/bootargs` of that device tree (a byte string), if it has one. */
  readonly bootargs: string | undefined;
  /** What the Xen tear-down had to clean up; undefined when no `fini` hook was given. */
  readonly xenFini: XenFiniReport | undefined;
  /** The steps, in order. */
  readonly steps: readonly HandoffStep[];
}

/** What `boot_jump_linux` is given. */
export interface JumpInput {
  /** `images.ep`. */
  readonly entry: number;
  /** The kernel's range. */
  readonly kernel: MemoryRange;
  /** The initrd's range, if any. */
  readonly ramdisk: MemoryRange | undefined;
  /** The relocated device tree. */
  readonly fdt: { readonly start: number; readonly size: number };
  /** Its `/chosen/bootargs`. */
  readonly bootargs: string | undefined;
}

/** The board's tear-down before Linux. */
export interface HandoffHooks {
  /**
   * `dm_remove_devices_active()` then `board_cleanup_before_linux()`: the PV disks shut down (grants
   * ended, ports closed, backends closed) and `xen_fini` (grant table, XenBus, events, shared_info).
   * The guest's `Guest.fini`.
   */
  fini?: () => Promise<XenFiniReport>;
}

/**
 * `announce_and_cleanup` then the jump: prints `\nStarting kernel ...\n\n`, runs the `fini` hook, and
 * returns the state the kernel starts in. Errors of the hook propagate (U-Boot would panic there).
 */
export async function bootJumpLinux(
  console: { puts(text: string): void },
  input: JumpInput,
  hooks: HandoffHooks = {},
): Promise<HandoffRecord> {
  const steps: HandoffStep[] = [];
  // bootm_final: the announcement (no " (fake run for tracing)": OS_FAKE_GO is not asked for).
  console.puts("\nStarting kernel ...\n\n");
  steps.push("announce");
  // board_quiesce_devices is a no-op; device removal and xen_fini are the guest's.
  const xenFini = hooks.fini ? await hooks.fini() : undefined;
  steps.push("remove-devices-and-xen-fini");
  // cleanup_before_linux: disable_interrupts, icache off, dcache_disable (MMU off), invalidate;
  // do_nonsec_virt_switch disables the dcache once more (no GIC to kick on this board).
  steps.push("disable-interrupts", "caches-off");
  // armv8_switch_to_el2(fdt, 0, 0, 0, ep, ES_TO_AARCH64): at EL1, `br x4`.
  steps.push("jump");
  return {
    cpu: {
      pc: input.entry,
      x0: input.fdt.start,
      x1: 0,
      x2: 0,
      x3: 0,
      exceptionLevel: 1,
      interruptsMasked: true,
      mmu: false,
      dcache: false,
      icache: false,
    },
    kernel: input.kernel,
    ramdisk: input.ramdisk,
    fdt: input.fdt,
    bootargs: input.bootargs,
    xenFini,
    steps,
  };
}

function _hex(value: number): string {
  return `0x${value.toString(16)}`;
}

function _range(range: MemoryRange): string {
  return `${_hex(range.start)}..${_hex(range.end)}`;
}

/**
 * The record as lines of text (for `--handoff-report` and the end of scripted runs), each starting
 * with `handoff: `.
 */
export function formatHandoffRecord(record: HandoffRecord): string[] {
  const { cpu } = record;
  const lines = [
    `handoff: entry ${_hex(cpu.pc)}, x0 ${_hex(cpu.x0)}, x1 ${_hex(cpu.x1)}, x2 ${_hex(cpu.x2)}, x3 ${
      _hex(cpu.x3)
    }`,
    `handoff: EL${cpu.exceptionLevel}, interrupts masked, MMU and caches off`,
    `handoff: kernel ${_range(record.kernel)}`,
    `handoff: ramdisk ${record.ramdisk ? _range(record.ramdisk) : "none"}`,
    `handoff: fdt ${_hex(record.fdt.start)} (${_hex(record.fdt.size)} bytes)`,
  ];
  if (record.bootargs !== undefined) lines.push(`handoff: bootargs "${record.bootargs}"`);
  const fini = record.xenFini;
  if (fini) {
    const list = (values: number[]) => (values.length === 0 ? "none" : values.join(", "));
    lines.push(
      `handoff: xen_fini closed ports ${list(fini.portsClosed)}, grants still in use ${
        list(fini.grantsInUse)
      }, watches removed ${fini.watchesRemoved}, transactions aborted ${fini.transactionsAborted}`,
    );
  }
  return lines;
}
