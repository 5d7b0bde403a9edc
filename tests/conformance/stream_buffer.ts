/**
 * Collects a byte stream (a child process's standard output) into a text buffer that a reader can
 * wait on: until a predicate holds, or until the stream stays quiet for a while. Bytes are kept as
 * a "binary string" (one char per byte, 0..255) so that nothing is lost before the caller decodes
 * UTF-8. Pure: any ReadableStream will do.
 *
 * @module
 */

/** Bytes decoded per String.fromCharCode call (bounded to keep the argument list small). */
const DECODE_STEP = 8192;

/** One char per byte. */
export function bytesToBinary(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += DECODE_STEP) {
    text += String.fromCharCode(...bytes.subarray(i, i + DECODE_STEP));
  }
  return text;
}

/** The bytes of a binary string, decoded as UTF-8 (invalid sequences become U+FFFD). */
export function binaryToUtf8(binary: string): string {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i) & 0xff;
  return new TextDecoder().decode(bytes);
}

/** A growing buffer fed by a stream in the background. */
export class StreamBuffer {
  #text = "";
  #received = 0;
  #closed = false;
  readonly #waiters = new Set<() => void>();
  /** Resolves when the stream has ended. */
  readonly done: Promise<void>;

  /** @param stream the stream to drain; it is read until it ends */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of stream) {
        this.#text += bytesToBinary(chunk);
        this.#received += chunk.length;
        this.#notify();
      }
    } catch {
      // A stream cancelled under us (the child was killed) simply ends.
    } finally {
      this.#closed = true;
      this.#notify();
    }
  }

  #notify() {
    for (const wake of [...this.#waiters]) wake();
  }

  /** What has arrived and not been taken. */
  get text(): string {
    return this.#text;
  }

  /** Whether the stream has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Removes and returns the first `count` chars (all by default). */
  take(count = this.#text.length): string {
    const head = this.#text.slice(0, count);
    this.#text = this.#text.slice(count);
    return head;
  }

  /** Resolves on the next arrival (or end) or after `ms`, whichever comes first. */
  #changeOrTimeout(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#waiters.add(wake);
    });
  }

  /**
   * Waits until `predicate(text)` holds; false when `timeoutMs` passes first or the stream ends
   * without it holding.
   */
  async waitFor(predicate: (text: string) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (predicate(this.#text)) return true;
      if (this.#closed) return false;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await this.#changeOrTimeout(left);
    }
  }

  /** Waits `ms`; true when nothing arrived meanwhile. */
  async quietFor(ms: number): Promise<boolean> {
    const before = this.#received;
    const deadline = performance.now() + ms;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0 || this.#closed) return this.#received === before;
      await this.#changeOrTimeout(left);
      if (this.#received !== before) return false;
    }
  }
}
