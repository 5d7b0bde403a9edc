import assert from "node:assert/strict";
import {
  ARM64_IMAGE_HEADER,
  ARM64_IMAGE_HEADER_SIZE,
  arm64ImagePlacement,
  LINUX_ARM64_IMAGE_MAGIC,
  readArm64ImageHeader,
} from "./image_arm64.ts";

const RAM = 0x40000000n;

function header(fields: { textOffset?: bigint; imageSize?: bigint; flags?: bigint; magic?: number }) {
  const bytes = new Uint8Array(ARM64_IMAGE_HEADER_SIZE);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(ARM64_IMAGE_HEADER.textOffset, fields.textOffset ?? 0n, true);
  view.setBigUint64(ARM64_IMAGE_HEADER.imageSize, fields.imageSize ?? 0x380000n, true);
  view.setBigUint64(ARM64_IMAGE_HEADER.flags, fields.flags ?? 0xan, true);
  view.setUint32(ARM64_IMAGE_HEADER.magic, fields.magic ?? LINUX_ARM64_IMAGE_MAGIC, true);
  return readArm64ImageHeader(bytes);
}

Deno.test("the header fields are read little-endian at their offsets", () => {
  const h = header({ textOffset: 0x80000n, imageSize: 0x1234000n, flags: 0x2n });
  assert.deepEqual(
    [h.textOffset, h.imageSize, h.flags, h.magic],
    [0x80000n, 0x1234000n, 0x2n, 0x644d5241],
  );
  assert.throws(() => readArm64ImageHeader(new Uint8Array(63)), RangeError);
});

Deno.test("a wrong magic has no placement", () => {
  assert.equal(arm64ImagePlacement(header({ magic: 0x12345678 }), 0x40400000n, RAM), undefined);
});

Deno.test("an Image allowed anywhere stays on its 2 MiB boundary or moves up to the next one", () => {
  assert.deepEqual(arm64ImagePlacement(header({}), 0x40400000n, RAM), {
    relocated: 0x40400000n,
    size: 0x380000n,
    textOffset: 0n,
    assumedSize: false,
  });
  assert.equal(arm64ImagePlacement(header({}), 0x40480000n, RAM)?.relocated, 0x40600000n);
  // With a text offset the base is the address less the offset.
  assert.equal(
    arm64ImagePlacement(header({ textOffset: 0x80000n }), 0x40480000n, RAM)?.relocated,
    0x40480000n,
  );
});

Deno.test("an Image without bit 3, or a forced relocation, goes to RAM base + text_offset", () => {
  const fixed = header({ textOffset: 0x80000n, imageSize: 0x180000n, flags: 0x2n });
  assert.equal(arm64ImagePlacement(fixed, 0x40400000n, RAM)?.relocated, 0x40080000n);
  assert.equal(arm64ImagePlacement(header({}), 0x40480000n, RAM, true)?.relocated, 0x40000000n);
});

Deno.test("image_size 0 means 16 MiB at text offset 0x80000, whatever text_offset says", () => {
  const old = header({ textOffset: 0x1234n, imageSize: 0n, flags: 0n });
  assert.deepEqual(arm64ImagePlacement(old, 0x40400000n, RAM), {
    relocated: 0x40080000n,
    size: 0x1000000n,
    textOffset: 0x80000n,
    assumedSize: true,
  });
});
