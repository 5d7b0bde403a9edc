/**
 * A stand-alone {@linkcode CommandContext} for unit tests of commands: a flat RAM window, a console
 * that records output, the qemu_arm64-like board figures, and a shell that records run requests.
 *
 * @module
 */

import { DataAbort, type PhysicalMemory } from "../machine/platform.ts";
import { Environment } from "../env/environment.ts";
import type { BoardInfo } from "../board/board_info.ts";
import { type Command, type CommandContext, CommandTable, type Console } from "../commands/command.ts";

/** A flat RAM window at `base` of `size` bytes (tests only; the machine's is sparse). */
export class FlatMemory implements PhysicalMemory {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  constructor(readonly base: number, readonly size: number) {
    this.bytes = new Uint8Array(size);
    this.#view = new DataView(this.bytes.buffer);
  }
  #off(address: number, length: number, write: boolean): number {
    if (!this.isMapped(address, length)) throw new DataAbort(address, write);
    return address - this.base;
  }
  isMapped(address: number, length: number): boolean {
    return address >= this.base && address + length <= this.base + this.size;
  }
  read(address: number, length: number): Uint8Array {
    const o = this.#off(address, length, false);
    return this.bytes.slice(o, o + length);
  }
  readInto(address: number, target: Uint8Array): void {
    const o = this.#off(address, target.length, false);
    target.set(this.bytes.subarray(o, o + target.length));
  }
  write(address: number, data: Uint8Array): void {
    this.bytes.set(data, this.#off(address, data.length, true));
  }
  fill(address: number, length: number, value: number): void {
    const o = this.#off(address, length, true);
    this.bytes.fill(value, o, o + length);
  }
  copy(destination: number, source: number, length: number): void {
    const s = this.#off(source, length, false);
    const d = this.#off(destination, length, true);
    this.bytes.copyWithin(d, s, s + length);
  }
  readU8(a: number): number {
    return this.#view.getUint8(this.#off(a, 1, false));
  }
  readU16(a: number): number {
    return this.#view.getUint16(this.#off(a, 2, false), true);
  }
  readU32(a: number): number {
    return this.#view.getUint32(this.#off(a, 4, false), true);
  }
  readU64(a: number): bigint {
    return this.#view.getBigUint64(this.#off(a, 8, false), true);
  }
  writeU8(a: number, v: number): void {
    this.#view.setUint8(this.#off(a, 1, true), v & 0xff);
  }
  writeU16(a: number, v: number): void {
    this.#view.setUint16(this.#off(a, 2, true), v & 0xffff, true);
  }
  writeU32(a: number, v: number): void {
    this.#view.setUint32(this.#off(a, 4, true), v >>> 0, true);
  }
  writeU64(a: number, v: bigint): void {
    this.#view.setBigUint64(this.#off(a, 8, true), BigInt.asUintN(64, v), true);
  }
}

/** A console that records what is printed. */
export class RecordingConsole implements Console {
  output = "";
  ctrlcPending = false;
  puts(text: string): void {
    this.output += text;
  }
  ctrlc(): boolean {
    const was = this.ctrlcPending;
    this.ctrlcPending = false;
    return was;
  }
  hadCtrlc(): boolean {
    return this.ctrlcPending;
  }
  clearCtrlc(): void {
    this.ctrlcPending = false;
  }
  delay(_ms: number): Promise<boolean> {
    return Promise.resolve(this.ctrlc());
  }
  /** Returns and clears the output. */
  take(): string {
    const out = this.output;
    this.output = "";
    return out;
  }
}

/** Board figures of a 512 MiB guest (tests only). */
export const TEST_BOARD: BoardInfo = {
  profile: "default",
  ramBase: 0x40000000,
  ramSize: 0x20000000,
  ramTop: 0x60000000,
  banks: [{ start: 0x40000000, size: 0x20000000 }],
  relocAddr: 0x5ff3b000,
  relocOff: 0x1fec3000,
  startAddrSp: 0x5edb5000,
  fdtBlob: 0x5edb6db0,
  fdtSize: 0x2000,
  heapStart: 0x5df37000,
  heapSize: 0x1004000,
  reserved: [{ start: 0x5edb5000, size: 0x1124b000 }],
  model: "XENVM-4.17",
};

/** A test context: 16 MiB of RAM at 0x40000000 unless `memory` is given. */
export function fakeContext(
  commands: Command[] = [],
  options: { memory?: PhysicalMemory; env?: Environment } = {},
): CommandContext & { console: RecordingConsole; ran: string[] } {
  const ran: string[] = [];
  const table = new CommandTable(commands);
  const ctx = {
    env: options.env ?? new Environment([], 126972),
    console: new RecordingConsole(),
    memory: options.memory ?? new FlatMemory(0x40000000, 16 << 20),
    board: TEST_BOARD,
    shell: {
      runCommand(cmd: string): Promise<number> {
        ran.push(cmd);
        return Promise.resolve(0);
      },
      runCommandList(cmd: string): Promise<number> {
        ran.push(cmd);
        return Promise.resolve(0);
      },
    },
    commands: table,
    flag: 0,
    requestExit(_kind: "reset" | "poweroff"): void {},
    ran,
  };
  return ctx;
}
