/**
 * `booti` in a whole session: the xenguest board on the emulated machine with a PV disk (the GPT
 * fixture), a kernel and device tree in guest memory, `booti` typed at the console. The hand-over must
 * leave nothing behind for the kernel: no grant, no bound event channel but the toolstack's, no backend
 * connected (the real board leaves the disks' ports bound; pvboot must not).
 */

import assert from "node:assert/strict";
import { createSession, type Session } from "../session.ts";
import { completeGuestConfig } from "../machine/guest_config.ts";
import { MemoryDiskImage } from "../machine/xen/disk_image.ts";
import { formatHandoffReport } from "../machine/xen/handoff.ts";
import { bootiCommand } from "../commands/booti.ts";
import { WorkingFdtState } from "../boot/working_fdt.ts";
import { formatHandoffRecord, type HandoffRecord } from "../boot/handoff.ts";
import { Fdt, FdtError, readFdtStringList } from "../lib/fdt/mod.ts";
import { ARM64_IMAGE_MAGIC, arm64Image } from "../scripts/fixtures/payloads.ts";
import { ensureFixture } from "./fixtures.ts";

const MIB = 1024 * 1024;
const KERNEL = 0x90000000;
const DTB = 0x88000000;
/** The part of the GPT fixture the disk holds (the table and the start of the ESP). */
const HEAD_BYTES = 2 * MIB;

async function readHead(path: string): Promise<{ head: Uint8Array; size: number }> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(HEAD_BYTES);
    let done = 0;
    while (done < head.length) {
      const n = await file.read(head.subarray(done));
      if (n === null) break;
      done += n;
    }
    return { head, size };
  } finally {
    file.close();
  }
}

interface Booted {
  session: Session;
  output: () => string;
  records: HandoffRecord[];
}

async function start(): Promise<Booted> {
  const { head, size } = await readHead(await ensureFixture("gpt"));
  let output = "";
  const config = completeGuestConfig({
    memoryMiB: 1536,
    board: "xenguest",
    disks: [{ target: "gpt.img", vdev: "xvda", access: "rw", format: "raw" }],
  });
  const session = await createSession(config, {
    readFile: () => Promise.reject(new Error("no files here")),
    openDisk: () => Promise.resolve(new MemoryDiskImage({ size, contents: head })),
    sink: (text) => (output += text),
  });
  const records: HandoffRecord[] = [];
  session.shell.commands.add(bootiCommand({
    profile: "xenguest",
    fdtState: new WorkingFdtState(),
    fini: () => session.guest.fini(),
    onHandoff: (record) => records.push(record),
  }));
  const kernel = arm64Image({
    length: 0x10000,
    textOffset: 0,
    imageSize: 0x200000,
    flags: 0xa,
    magic: ARM64_IMAGE_MAGIC,
    tag: "it",
  });
  session.machine.memory.write(KERNEL, kernel);
  return { session, output: () => output, records };
}

function assertNothingLeft(session: Session, record: HandoffRecord): void {
  assert.deepEqual(record.xenFini?.grantsInUse, []);
  const report = session.machine.handoffReport();
  assert.deepEqual(report.problems, [], formatHandoffReport(report).join("\n"));
  assert.deepEqual(report.grants.filter((g) => !g.toolstack), []);
  assert.deepEqual(report.eventChannels.filter((c) => !c.toolstack), []);
  assert.deepEqual(report.xenPages, []);
}

Deno.test({
  name: "booti after disk I/O hands over with no grant, port or connection left",
  async fn() {
    const { session, output, records } = await start();
    // Use the disk first, so that the frontend really holds grants and a bound port.
    assert.equal(await session.typeLine("pvblock read 0x91000000 0 8"), 0);
    const xenDtb = session.machine.memory.read(session.machine.dtbAddress, session.machine.dtbSize);
    session.machine.memory.write(DTB, xenDtb);
    const before = output().length;
    await session.typeLine("setenv bootargs console=hvc0 root=/dev/xvda2");
    await session.typeLine(`booti ${KERNEL.toString(16)} - ${DTB.toString(16)}`);
    const printed = output().slice(before);
    assert.match(printed, /## Flattened Device Tree blob at 88000000\n/);
    assert.match(printed, /\nStarting kernel \.\.\.\n\n$/);
    assert.equal(session.shell.exitRequest, "poweroff");
    assert.equal(records.length, 1);
    const record = records[0]!;
    assert.equal(record.cpu.pc, KERNEL);
    assert.equal(record.bootargs, "console=hvc0 root=/dev/xvda2");
    assertNothingLeft(session, record);
    // The kernel's device tree is where x0 points, and says where RAM is.
    const blob = session.machine.memory.read(record.cpu.x0, record.fdt.size);
    const fdt = new Fdt(blob);
    assert.equal(fdt.checkHeader(), undefined);
    const chosen = fdt.subnodeOffset(0, "chosen");
    assert.ok(!(chosen instanceof FdtError));
    const version = fdt.getProperty(chosen, "u-boot,version");
    assert.ok(!(version instanceof FdtError));
    assert.match(readFdtStringList(version.value)![0]!, /^2023\.01/);
    assert.match(formatHandoffRecord(record)[0]!, /^handoff: entry 0x90000000, x0 0x[0-9a-f]+, x1 0x0/);
  },
});

Deno.test({
  name: "booti can hand over U-Boot's control device tree (${fdtcontroladdr})",
  async fn() {
    const { session, output, records } = await start();
    const control = session.guest.board.fdtBlob;
    await session.typeLine(`booti ${KERNEL.toString(16)} - \${fdtcontroladdr}`);
    assert.match(output(), new RegExp(`## Flattened Device Tree blob at ${control.toString(16)}\n`));
    const record = records[0];
    assert.ok(record, output());
    // Relocated below U-Boot's own area, which holds the control copy.
    assert.ok(
      record.cpu.x0 + record.fdt.size <= Math.min(...session.guest.board.reserved.map((r) => r.start)),
    );
    assertNothingLeft(session, record);
  },
});
