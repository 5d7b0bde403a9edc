/**
 * The console of a session: output goes to a sink (the terminal, a log, a test), Ctrl-C comes from
 * the front end through {@linkcode SessionConsole.interrupt}. Free of `Deno.*`.
 *
 * @module
 */

import type { Console } from "../commands/command.ts";

/** How often a waiting command looks for Ctrl-C (U-Boot polls its console every 10 ms in loops). */
const CTRLC_POLL_MS = 10;

/** A console that writes to `sink` and takes Ctrl-C from the front end. */
export class SessionConsole implements Console {
  #ctrlc = false;
  #wake: (() => void) | undefined;

  /** Creates a console writing byte strings to `sink`. */
  constructor(readonly sink: (text: string) => void) {}

  /** Prints a byte string. */
  puts(text: string): void {
    if (text.length > 0) this.sink(text);
  }

  /** The front end saw Ctrl-C. */
  interrupt(): void {
    this.#ctrlc = true;
    this.#wake?.();
  }

  /** `ctrlc()`: true (and cleared) when Ctrl-C was pressed. */
  ctrlc(): boolean {
    const was = this.#ctrlc;
    this.#ctrlc = false;
    return was;
  }

  /** `had_ctrlc()`. */
  hadCtrlc(): boolean {
    return this.#ctrlc;
  }

  /** `clear_ctrlc()`. */
  clearCtrlc(): void {
    this.#ctrlc = false;
  }

  /** Waits `ms`; resolves `true` early when Ctrl-C arrives (the flag stays set for the caller). */
  delay(ms: number): Promise<boolean> {
    if (this.#ctrlc) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(true);
      };
    });
  }
}

/** Converts text typed at a terminal (UTF-8) to a byte string. */
export function toByteString(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

/** Converts a byte string to bytes (each character's low 8 bits). */
export function fromByteString(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** `CTRLC_POLL_MS`, exported for commands that poll in loops. */
export { CTRLC_POLL_MS };
