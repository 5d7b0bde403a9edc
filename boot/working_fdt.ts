/**
 * The working FDT: U-Boot's `working_fdt` pointer (cmd/fdt.c), the blob `fdt` edits and `booti` hands
 * to the kernel, and the control-FDT pointer `fdt addr -c` moves (`gd->fdt_blob`). Both live in guest
 * memory; a command reads the blob into a buffer, edits it with lib/fdt as libfdt would edit it in
 * place, and writes the buffer back to the same address.
 *
 * One {@linkcode WorkingFdtState} belongs to a session: `fdt` and the boot commands share it, as they
 * share U-Boot's globals.
 *
 * @module
 */

import type { PhysicalMemory } from "../machine/platform.ts";
import type { Environment } from "../env/environment.ts";
import { EnvError } from "../env/environment.ts";
import { Fdt, FDT_HEADER } from "../lib/fdt/mod.ts";

/** Bytes of the largest (version 17) header: every field `fdt header` reads. */
export const FDT_HEADER_BYTES = 40;

/**
 * Most bytes of a blob read from guest memory at once. U-Boot accepts a `totalsize` up to 2 GiB; a
 * blob claiming more than this is read only this far, so lib/fdt reports it as FDT_ERR_TRUNCATED
 * instead of pvboot copying gigabytes for a corrupt header. Real device trees are a few KiB to 2 MiB.
 */
export const FDT_MAX_BLOB_BYTES = 0x4000000;

/** U-Boot's FDT pointers of one session. */
export class WorkingFdtState {
  /** `working_fdt` as a guest address; `undefined` is U-Boot's NULL (none set, or address 0). */
  working: number | undefined = undefined;
  /** `gd->fdt_blob` once `fdt addr -c` moved it; `undefined`: still the board's control FDT. */
  control: number | undefined = undefined;
}

/** Where `set_working_fdt_addr` prints and what it sets. */
export interface WorkingFdtHost {
  /** The environment (`fdtaddr`). */
  readonly env: Environment;
  /** The console. */
  readonly console: { puts(text: string): void };
}

/**
 * `set_working_fdt_addr`: prints `Working FDT set to <addr>`, points `working_fdt` at `address`
 * (0 is NULL) and sets `fdtaddr` (hex).
 *
 * @example
 * ```ts
 * import { setWorkingFdtAddr, WorkingFdtState } from "./working_fdt.ts";
 * import { Environment } from "../env/environment.ts";
 * const state = new WorkingFdtState();
 * const env = new Environment([], 4096);
 * let out = "";
 * setWorkingFdtAddr({ env, console: { puts: (t) => (out += t) } }, state, 0x48000000);
 * console.log(out, env.get("fdtaddr")); // "Working FDT set to 48000000\n" "48000000"
 * ```
 */
export function setWorkingFdtAddr(host: WorkingFdtHost, state: WorkingFdtState, address: number): void {
  host.console.puts(`Working FDT set to ${address.toString(16)}\n`);
  state.working = address === 0 ? undefined : address;
  try {
    host.env.setHex("fdtaddr", address);
  } catch (e: unknown) {
    if (!(e instanceof EnvError)) throw e;
    host.console.puts(e.lines);
  }
}

/**
 * How many bytes from `address` on are backed by guest memory, up to `length` (at least 1 when the
 * first byte is; 0 when it is not).
 */
export function mappedLength(memory: PhysicalMemory, address: number, length: number): number {
  if (memory.isMapped(address, length)) return length;
  if (!memory.isMapped(address, 1)) return 0;
  let good = 1;
  let bad = length;
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (memory.isMapped(address, mid)) good = mid;
    else bad = mid;
  }
  return good;
}

/**
 * Reads the blob at `address` into a buffer: its header first (a header outside RAM raises the
 * platform's `DataAbort`, as U-Boot's first access would fault), then `totalsize` bytes, or fewer
 * where RAM ends or past {@linkcode FDT_MAX_BLOB_BYTES} (lib/fdt then reports FDT_ERR_TRUNCATED).
 *
 * @example
 * ```ts
 * import { readFdtBlob } from "./working_fdt.ts";
 * import { FlatMemory } from "../tests/fake_context.ts";
 * const memory = new FlatMemory(0x40000000, 0x1000);
 * console.log(readFdtBlob(memory, 0x40000000).checkHeader()?.errName); // "FDT_ERR_BADMAGIC"
 * ```
 */
export function readFdtBlob(memory: PhysicalMemory, address: number): Fdt {
  const header = memory.read(address, FDT_HEADER_BYTES);
  const totalsize = new DataView(header.buffer).getUint32(FDT_HEADER.totalsize, false);
  const wanted = Math.min(Math.max(totalsize, FDT_HEADER_BYTES), FDT_MAX_BLOB_BYTES);
  return new Fdt(memory.read(address, mappedLength(memory, address, wanted)));
}

/** Writes a blob's buffer back to guest memory at `address` (the in-place edit made visible). */
export function writeFdtBlob(memory: PhysicalMemory, address: number, fdt: Fdt): void {
  memory.write(address, fdt.bytes);
}
