import assert from "node:assert/strict";
import { binaryToUtf8, bytesToBinary, StreamBuffer } from "./stream_buffer.ts";

function controlled() {
  let push!: (bytes: Uint8Array) => void;
  let end!: () => void;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (b) => controller.enqueue(b);
      end = () => controller.close();
    },
  });
  return { stream, push, end };
}
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("binary strings keep every byte and decode as UTF-8 afterwards", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const binary = bytesToBinary(all);
  assert.deepEqual(binary.length, 256);
  assert.deepEqual(binary.charCodeAt(0x9b), 0x9b);
  assert.deepEqual(binaryToUtf8(bytesToBinary(bytes("é→"))), "é→");
});

Deno.test("waitFor resolves when later data satisfies the predicate", async () => {
  const { stream, push, end } = controlled();
  const buf = new StreamBuffer(stream);
  const waiting = buf.waitFor((t) => t.includes("=> "), 5_000);
  push(bytes("out\n"));
  push(bytes("=> "));
  assert.deepEqual(await waiting, true);
  assert.deepEqual(buf.take(), "out\n=> ");
  assert.deepEqual(buf.text, "");
  end();
  await buf.done;
});

Deno.test("waitFor gives up at the timeout and when the stream ends", async () => {
  const { stream, push, end } = controlled();
  const buf = new StreamBuffer(stream);
  assert.deepEqual(await buf.waitFor((t) => t.includes("never"), 20), false);
  push(bytes("partial"));
  end();
  assert.deepEqual(await buf.waitFor((t) => t.includes("never"), 5_000), false);
  assert.deepEqual(buf.closed, true);
  assert.deepEqual(buf.text, "partial");
});

Deno.test("quietFor is false when data arrives in the window and true otherwise", async () => {
  const { stream, push, end } = controlled();
  const buf = new StreamBuffer(stream);
  const noisy = buf.quietFor(5_000);
  push(bytes("x"));
  assert.deepEqual(await noisy, false);
  assert.deepEqual(await buf.quietFor(10), true);
  end();
  await buf.done;
});
