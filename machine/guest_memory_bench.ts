/**
 * Benchmarks for {@linkcode GuestMemory}: a 64 MiB copy through guest memory against a plain
 * `Uint8Array.set` of the same size (the baseline), at three chunk sizes, plus declaring a large guest.
 * Run with `deno bench machine/guest_memory_bench.ts`.
 *
 * @module
 */

import { DEFAULT_CHUNK_SIZE, GuestMemory } from "./guest_memory.ts";

const MIB = 1024 * 1024;
const COPY_BYTES = 64 * MIB;
const RAM0_BASE = 0x4000_0000;
const RAM0_SIZE = 0xC000_0000;
const RAM1_BASE = 0x2_0000_0000;
const RAM1_SIZE = 0xFE_0000_0000;
/** Source and destination are 128 MiB apart and not chunk-aligned relative to each other. */
const SOURCE = RAM0_BASE + 0x1000_0000;
const DESTINATION = RAM0_BASE + 0x1800_0000 + 0x123;

const plainSource = new Uint8Array(COPY_BYTES).fill(0x5a);
const plainDestination = new Uint8Array(COPY_BYTES);

function filledMemory(chunkSize: number): GuestMemory {
  const memory = new GuestMemory({ chunkSize });
  memory.addRegion({ base: RAM0_BASE, size: RAM0_SIZE });
  memory.fill(SOURCE, COPY_BYTES, 0x5a);
  memory.copy(DESTINATION, SOURCE, COPY_BYTES); // destination chunks exist before timing starts
  return memory;
}

const memories = new Map<number, GuestMemory>();
for (const size of [0x1000, DEFAULT_CHUNK_SIZE, MIB]) memories.set(size, filledMemory(size));

function memoryOf(chunkSize: number): GuestMemory {
  const memory = memories.get(chunkSize);
  if (memory === undefined) throw new Error(`Cannot bench: no memory with ${chunkSize}-byte chunks`);
  return memory;
}

Deno.bench({
  name: "Uint8Array.set, 64 MiB",
  group: "copy 64 MiB",
  baseline: true,
  fn() {
    plainDestination.set(plainSource);
  },
});

Deno.bench({
  name: "GuestMemory.copy, 64 MiB, 64 KiB chunks (default)",
  group: "copy 64 MiB",
  fn() {
    memoryOf(DEFAULT_CHUNK_SIZE).copy(DESTINATION, SOURCE, COPY_BYTES);
  },
});

Deno.bench({
  name: "GuestMemory.copy, 64 MiB, 4 KiB chunks",
  group: "copy 64 MiB",
  fn() {
    memoryOf(0x1000).copy(DESTINATION, SOURCE, COPY_BYTES);
  },
});

Deno.bench({
  name: "GuestMemory.copy, 64 MiB, 1 MiB chunks",
  group: "copy 64 MiB",
  fn() {
    memoryOf(MIB).copy(DESTINATION, SOURCE, COPY_BYTES);
  },
});

Deno.bench({
  name: "GuestMemory.readInto, 64 MiB, 64 KiB chunks",
  group: "copy 64 MiB",
  fn() {
    memoryOf(DEFAULT_CHUNK_SIZE).readInto(SOURCE, plainDestination);
  },
});

Deno.bench({
  name: "GuestMemory.write, 64 MiB, 64 KiB chunks",
  group: "copy 64 MiB",
  fn() {
    memoryOf(DEFAULT_CHUNK_SIZE).write(DESTINATION, plainSource);
  },
});

Deno.bench({
  name: "declare 3 GiB + 1016 GiB and read 1 MiB of zeros",
  group: "start",
  fn() {
    const memory = new GuestMemory();
    memory.addRegion({ base: RAM0_BASE, size: RAM0_SIZE });
    memory.addRegion({ base: RAM1_BASE, size: RAM1_SIZE });
    memory.read(RAM1_BASE + RAM1_SIZE - MIB, MIB);
    if (memory.allocatedBytes() !== 0) throw new Error("Cannot bench: declaring memory allocated storage");
  },
});
