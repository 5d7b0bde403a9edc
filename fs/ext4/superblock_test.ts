/** The superblock decoder: the magic, the revision-0 sizes, `64bit` descriptors, refused geometry. */

import assert from "node:assert/strict";
import { FsCorruptError } from "../fs_driver.ts";
import {
  formatUuid,
  INCOMPAT_64BIT,
  parseSuperblock,
  S_BLOCKS_COUNT_HI,
  S_BLOCKS_COUNT_LO,
  S_BLOCKS_PER_GROUP,
  S_DESC_SIZE,
  S_FEATURE_INCOMPAT,
  S_INODE_SIZE,
  S_INODES_COUNT,
  S_INODES_PER_GROUP,
  S_LOG_BLOCK_SIZE,
  S_MAGIC,
  S_REV_LEVEL,
  S_UUID,
  S_VOLUME_NAME,
  SUPERBLOCK_SIZE,
} from "./superblock.ts";

type _Fields = Record<number, readonly [number, 2 | 4]>;

function _superblock(fields: _Fields): Uint8Array {
  const raw = new Uint8Array(SUPERBLOCK_SIZE);
  const view = new DataView(raw.buffer);
  const all: _Fields = {
    [S_MAGIC]: [0xef53, 2],
    [S_INODES_COUNT]: [256, 4],
    [S_BLOCKS_COUNT_LO]: [8192, 4],
    [S_BLOCKS_PER_GROUP]: [8192, 4],
    [S_INODES_PER_GROUP]: [256, 4],
    ...fields,
  };
  for (const [at, [value, width]] of Object.entries(all)) {
    if (width === 2) view.setUint16(Number(at), value, true);
    else view.setUint32(Number(at), value, true);
  }
  return raw;
}

Deno.test("ext4 superblock: without the magic 0xEF53 it is not an ext filesystem", () => {
  assert.equal(parseSuperblock(_superblock({ [S_MAGIC]: [0x1234, 2] })), undefined);
  assert.equal(parseSuperblock(new Uint8Array(SUPERBLOCK_SIZE)), undefined);
});

Deno.test("ext4 superblock: revision 0 has 128-byte inodes and 32-byte descriptors whatever the fields say", () => {
  const sb = parseSuperblock(_superblock({ [S_INODE_SIZE]: [256, 2], [S_DESC_SIZE]: [64, 2] }))!;
  assert.equal(sb.revision, 0);
  assert.equal(sb.inodeSize, 128);
  assert.equal(sb.descSize, 32);
  assert.equal(sb.blockSize, 1024);
});

Deno.test("ext4 superblock: revision 1 takes s_inode_size, and s_desc_size only with 64bit", () => {
  const base: _Fields = {
    [S_REV_LEVEL]: [1, 4],
    [S_INODE_SIZE]: [256, 2],
    [S_DESC_SIZE]: [64, 2],
    [S_LOG_BLOCK_SIZE]: [2, 4],
  };
  const plain = parseSuperblock(_superblock({ ...base }))!;
  assert.equal(plain.inodeSize, 256);
  assert.equal(plain.descSize, 32);
  assert.equal(plain.blockSize, 4096);
  const wide = parseSuperblock(
    _superblock({ ...base, [S_FEATURE_INCOMPAT]: [INCOMPAT_64BIT, 4], [S_BLOCKS_COUNT_HI]: [1, 4] }),
  )!;
  assert.equal(wide.descSize, 64);
  assert.equal(wide.blocksCount, (1n << 32n) + 8192n);
});

Deno.test("ext4 superblock: unusable geometry is corrupt data", () => {
  const bad: _Fields[] = [
    { [S_LOG_BLOCK_SIZE]: [7, 4] },
    { [S_INODES_PER_GROUP]: [0, 4] },
    { [S_BLOCKS_PER_GROUP]: [0, 4] },
    { [S_REV_LEVEL]: [1, 4], [S_INODE_SIZE]: [200, 2] },
    { [S_REV_LEVEL]: [1, 4], [S_INODE_SIZE]: [64, 2] },
    { [S_REV_LEVEL]: [1, 4], [S_INODE_SIZE]: [2048, 2] },
    {
      [S_REV_LEVEL]: [1, 4],
      [S_INODE_SIZE]: [128, 2],
      [S_FEATURE_INCOMPAT]: [INCOMPAT_64BIT, 4],
      [S_DESC_SIZE]: [0, 2],
    },
    {
      [S_REV_LEVEL]: [1, 4],
      [S_INODE_SIZE]: [128, 2],
      [S_FEATURE_INCOMPAT]: [INCOMPAT_64BIT, 4],
      [S_DESC_SIZE]: [48, 2],
    },
  ];
  for (const fields of bad) {
    assert.throws(() => parseSuperblock(_superblock(fields)), FsCorruptError, JSON.stringify(fields));
  }
});

Deno.test("ext4 superblock: every incompatible-feature bit set still mounts (U-Boot 2023.01 does not check)", () => {
  const sb = parseSuperblock(
    _superblock({
      [S_REV_LEVEL]: [1, 4],
      [S_INODE_SIZE]: [128, 2],
      [S_FEATURE_INCOMPAT]: [0xffffffff, 4],
      [S_DESC_SIZE]: [64, 2],
    }),
  );
  assert.equal(sb?.featureIncompat, 0xffffffff);
});

Deno.test("ext4 superblock: the UUID prints in byte order, the label up to its NUL", () => {
  const raw = _superblock({});
  raw.set(
    [0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x49, 0x08, 0x87, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00],
    S_UUID,
  );
  raw.set(new TextEncoder().encode("rootfs"), S_VOLUME_NAME);
  const sb = parseSuperblock(raw)!;
  assert.equal(formatUuid(sb.uuid), "0f0e0d0c-0b0a-4908-8706-050403020100");
  assert.equal(sb.volumeName, "rootfs");
});
