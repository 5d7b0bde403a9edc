/**
 * U-Boot 2023.01's `bdinfo` (cmd/bdinfo.c with arch/arm/lib/bdinfo.c) as an arm64 build without
 * networking, video, SRAM or flash prints it: `%-12s= 0x%016lx` figures, the DRAM banks, the baud
 * rate, the relocation, the control FDT, the lmb (`lmb_dump_all:`), the device-tree source and the
 * arm part (arch number, page tables, stacks, early heap).
 *
 * pvboot extension: every RAM bank of the device tree is listed under `DRAM bank`, where U-Boot
 * (`NR_DRAM_BANKS=1`) lists only the first. The lmb part stays as U-Boot's: its memory is the first
 * bank only, since that is all `load` and `booti` may use.
 *
 * @module
 */

import type { BoardInfo } from "../board/board_info.ts";
import { startupFigures } from "../board/board_setup.ts";
import { hex } from "../lib/display_options.ts";
import { CMD_RET_SUCCESS, type Command, type CommandContext } from "./command.ts";
import { defineCommand } from "./define_command.ts";

/** `CONFIG_BAUDRATE` (`gd->baudrate`; the Xen console ignores it). */
const BAUDRATE = 115200;
/** Digits of a 64-bit `ulong`: `2 * sizeof(ulong)`. */
const ULONG_DIGITS = 16;
/** Bits of a pointer on arm64. */
const BUILD_BITS = 64;
/** lmb flags of ordinary reservations (`LMB_NONE`). */
const LMB_NONE = 0;
/** `fdtdec_get_srcname()` for `OF_BOARD`: the device tree came from the board (Xen). */
const DEVICETREE_SOURCE = "board";

/** `bdinfo_print_num_l` / `_ll`: `%-12s= 0x%016lx`. */
function _num(name: string, value: number | bigint): string {
  return `${name.padEnd(12)}= 0x${hex(value, ULONG_DIGITS)}\n`;
}

/** `lmb_dump_region`: the count, then `[base-end], size bytes flags: f` per area. */
function _lmbRegion(name: string, areas: readonly { start: number; size: number }[]): string {
  let text = ` ${name}.cnt  = 0x${hex(areas.length)}\n`;
  areas.forEach((area, i) => {
    const end = BigInt(area.start) + BigInt(area.size) - 1n;
    text += ` ${name}[${i}]\t[0x${hex(area.start)}-0x${hex(end)}], 0x${hex(area.size, 8)} bytes flags: ` +
      `${hex(LMB_NONE)}\n`;
  });
  return text;
}

/**
 * The text `bdinfo` prints for `board`.
 *
 * @example
 * ```ts
 * import { bdinfoText } from "./bdinfo.ts";
 * import { TEST_BOARD } from "../tests/fake_context.ts";
 * console.log(bdinfoText(TEST_BOARD).split("\n")[0]); // "boot_params = 0x0000000000000000"
 * ```
 */
export function bdinfoText(board: BoardInfo): string {
  const figures = startupFigures(board);
  let text = _num("boot_params", 0);
  board.banks.forEach((bank, i) => {
    if (bank.size === 0) return;
    text += _num("DRAM bank", i) + _num("-> start", bank.start) + _num("-> size", bank.size);
  });
  text += _num("flashstart", 0) + _num("flashsize", 0) + _num("flashoffset", 0);
  text += `baudrate    = ${BAUDRATE} bps\n`;
  text += _num("relocaddr", board.relocAddr);
  text += _num("reloc off", BigInt.asUintN(64, BigInt(board.relocOff)));
  text += `${"Build".padEnd(12)}= ${BUILD_BITS}-bit\n`;
  text += _num("fdt_blob", board.fdtBlob) + _num("new_fdt", board.fdtBlob) + _num("fdt_size", board.fdtSize);
  text += "lmb_dump_all:\n";
  text += _lmbRegion("memory", [{ start: board.ramBase, size: board.ramSize }]);
  text += _lmbRegion("reserved", [...board.reserved].sort((a, b) => a.start - b.start));
  text += `devicetree  = ${DEVICETREE_SOURCE}\n`;
  text += _num("arch_number", 0);
  text += _num("TLB addr", figures.tlbAddr);
  text += _num("irq_sp", figures.irqSp);
  text += _num("sp start ", board.startAddrSp);
  text += `Early malloc usage: ${hex(figures.earlyMallocUsed)} / ${hex(figures.earlyMallocLen)}\n`;
  return text;
}

function _run(ctx: CommandContext, _argv: string[]): number {
  ctx.console.puts(bdinfoText(ctx.board));
  return CMD_RET_SUCCESS;
}

/**
 * The `bdinfo` command.
 *
 * @example
 * ```ts
 * import { bdinfoCommand } from "./bdinfo.ts";
 * console.log(bdinfoCommand().usage); // "print Board Info structure"
 * ```
 */
export function bdinfoCommand(): Command {
  return defineCommand({ name: "bdinfo", maxArgs: 1, repeatable: true, run: _run });
}
