/**
 * Drives the real U-Boot (Debian's u-boot-qemu, the qemu_arm64 build) under qemu-system-aarch64:
 * boots it with disk images attached as virtio disks (snapshot=on: the image files are never
 * written), stops autoboot, types command lines and cuts out what each printed. Host I/O (spawns
 * QEMU and talks to its serial console on stdio), so it uses `Deno.*`.
 *
 * @module
 */

import { StreamBuffer } from "./stream_buffer.ts";
import {
  AUTOBOOT_BANNER,
  CTRL_C,
  endsAtContinuation,
  endsAtPrompt,
  PROMPT,
  splitConsole,
} from "./uboot_console.ts";
import type { EndKind } from "./outcome.ts";

/** Where Debian's u-boot-qemu puts the qemu_arm64 build. */
export const DEFAULT_UBOOT_BIOS = "/usr/lib/u-boot/qemu_arm64/u-boot.bin";
/** The QEMU binary for ARM64 guests (Debian: qemu-system-arm). */
export const QEMU_BINARY = "qemu-system-aarch64";

/** How to start the VM. */
export interface QemuOptions {
  /** The U-Boot binary passed as `-bios`. */
  readonly bios: string;
  /** Raw disk images; the first becomes virtio 0. */
  readonly disks: readonly string[];
  /** Guest RAM in MiB. */
  readonly memoryMiB: number;
  /** CPU model. */
  readonly cpu: string;
}

/** The VM the reference transcripts were made with: 512 MiB, Cortex-A57. */
export const DEFAULT_QEMU_OPTIONS: Omit<QemuOptions, "disks"> = {
  bios: DEFAULT_UBOOT_BIOS,
  memoryMiB: 512,
  cpu: "cortex-a57",
};

/**
 * QEMU's arguments. The serial console is stdio and the monitor is off (so Ctrl-A and Ctrl-C reach
 * U-Boot), there is no network device, `-no-reboot` turns a reset or power-off into an exit. QEMU's
 * virt board gives virtio-mmio transports out from the highest address down while U-Boot numbers
 * them from the lowest, so the devices are listed in reverse to make the first disk virtio 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const argv = qemuArgv({ ...DEFAULT_QEMU_OPTIONS, disks: ["a.img", "b.img"] });
 * assert.ok(argv.at(-1) === "virtio-blk-device,drive=d0");
 * ```
 */
export function qemuArgv(options: QemuOptions): string[] {
  const argv = [
    QEMU_BINARY,
    "-M",
    "virt",
    "-cpu",
    options.cpu,
    "-m",
    String(options.memoryMiB),
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    "stdio",
    "-nic",
    "none",
    "-no-reboot",
    "-bios",
    options.bios,
  ];
  options.disks.forEach((disk, i) => {
    argv.push("-drive", `if=none,file=${disk.replaceAll(",", ",,")},format=raw,id=d${i},snapshot=on`);
  });
  for (let i = options.disks.length - 1; i >= 0; i--) argv.push("-device", `virtio-blk-device,drive=d${i}`);
  return argv;
}

/** QEMU did not start, or U-Boot never reached its prompt. */
export class UBootBootError extends Error {
  /** @param detail what was seen */
  constructor(detail: string) {
    super(`Cannot boot U-Boot under QEMU: ${detail}`);
    this.name = "UBootBootError";
  }
}

/** One typed line's result on the console. */
export interface ConsoleLine {
  /** What the command printed (echo and prompt removed; CR LF as sent). A binary string. */
  readonly output: string;
  /** How it ended. */
  readonly end: EndKind;
  /** Whether the console echoed the line as typed. */
  readonly echoed: boolean;
  /** False when the VM had to be given up (it exited, or did not come back after Ctrl-C). */
  readonly alive: boolean;
}

/** Time to wait for the echo of typed text. */
const ECHO_TIMEOUT_MS = 5_000;
/** Time to wait for a prompt after Ctrl-C. */
const CTRL_C_TIMEOUT_MS = 3_000;
/** Silence after a prompt that confirms the command is done (a command may print `=> ` itself). */
export const DEFAULT_QUIET_MS = 30;

/** A running QEMU with U-Boot at its prompt. */
export class QemuUBoot {
  readonly #child: Deno.ChildProcess;
  readonly #out: StreamBuffer;
  readonly #err: StreamBuffer;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  /** The console text up to the first prompt (the boot banner). */
  banner = "";

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#out = new StreamBuffer(child.stdout);
    this.#err = new StreamBuffer(child.stderr);
    this.#writer = child.stdin.getWriter();
  }

  /** Starts QEMU and waits for the prompt, interrupting autoboot on the way. */
  static async boot(options: QemuOptions, timeoutMs = 30_000): Promise<QemuUBoot> {
    let child: Deno.ChildProcess;
    const [program, ...args] = qemuArgv(options);
    try {
      child = new Deno.Command(program!, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
    } catch (e) {
      throw new UBootBootError(`${program}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const vm = new QemuUBoot(child);
    const seen = await vm.#out.waitFor((t) => t.includes(AUTOBOOT_BANNER) || t.endsWith(PROMPT), timeoutMs);
    if (!seen) {
      await vm.close();
      throw new UBootBootError(`no autoboot banner; console: ${vm.#out.text.slice(-400)}; ${vm.#err.text}`);
    }
    if (!vm.#out.text.endsWith(PROMPT)) await vm.#write(" ");
    const prompt = await vm.#out.waitFor((t) => t.endsWith(PROMPT), timeoutMs);
    if (!prompt) {
      await vm.close();
      throw new UBootBootError(`no prompt after stopping autoboot: ${vm.#out.text.slice(-400)}`);
    }
    await vm.#settle();
    vm.banner = vm.#out.take();
    return vm;
  }

  async #write(text: string): Promise<void> {
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
    await this.#writer.write(bytes);
  }

  /** Waits until the console is quiet and at a prompt. */
  async #settle(): Promise<boolean> {
    for (;;) {
      const quiet = await this.#out.quietFor(DEFAULT_QUIET_MS);
      if (quiet) return this.#out.text.endsWith(PROMPT);
    }
  }

  /**
   * Types `command` (a binary string), waits for its echo, presses Enter and waits for the prompt,
   * a continuation prompt, the VM's exit, or the timeout. On a timeout or a continuation prompt it
   * sends Ctrl-C; if no prompt comes back the VM is reported dead.
   */
  async sendLine(command: string, timeoutMs: number, quietMs = DEFAULT_QUIET_MS): Promise<ConsoleLine> {
    this.#out.take();
    await this.#write(command);
    await this.#out.waitFor((t) => t.length >= command.length, ECHO_TIMEOUT_MS);
    await this.#write("\r");
    const deadline = performance.now() + timeoutMs;
    let end: EndKind = "timeout";
    for (;;) {
      const left = deadline - performance.now();
      const hit = left > 0 &&
        await this.#out.waitFor((t) => endsAtPrompt(t.slice(command.length)) || endsAtContinuation(t), left);
      if (this.#out.closed) {
        end = "session-ended";
        break;
      }
      if (!hit) break;
      const continuation = endsAtContinuation(this.#out.text);
      if (await this.#out.quietFor(continuation ? 2 * quietMs : quietMs)) {
        end = continuation ? "continuation" : "prompt";
        break;
      }
    }
    let text = this.#out.take();
    let alive = end !== "session-ended";
    if (end === "timeout" || end === "continuation") {
      await this.#write(CTRL_C);
      alive = await this.#out.waitFor((t) => t.endsWith(PROMPT), CTRL_C_TIMEOUT_MS) && await this.#settle();
      text += this.#out.take();
    }
    const { output, echoed } = splitConsole(command, text, end === "prompt" || alive);
    return { output, end, echoed, alive };
  }

  /** Stops QEMU (this child only). */
  async close(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // already closed by the exit of QEMU
    }
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await this.#child.status;
    await Promise.all([this.#out.done, this.#err.done]);
  }
}
