/**
 * The command set of each board profile: the default profile offers every command pvboot has; the
 * `xenguest` profile only those the real xenguest_arm64 defconfig builds (the `help` list of its
 * board session), so that a script can be checked against the real board.
 *
 * @module
 */

import type { Command } from "./command.ts";
import type { BlockRegistry } from "../drivers/blk/mod.ts";
import type { PartitionLayer } from "../disk/mod.ts";
import type { XenBus } from "../drivers/xen/xenbus.ts";
import { xenstoreCommand } from "./xenstore.ts";
import { bdinfoCommand } from "./bdinfo.ts";
import { crc32Command } from "./crc32.ts";
import { echoCommand } from "./echo.ts";
import { envCommands } from "./env.ts";
import { exitCommand } from "./exit.ts";
import { fdtCommand } from "./fdt.ts";
import { bootiCommand } from "./booti.ts";
import { bootCommands } from "./boot.ts";
import { WorkingFdtState } from "../boot/working_fdt.ts";
import type { HandoffRecord } from "../boot/handoff.ts";
import type { XenFiniReport } from "../drivers/xen/xen_init.ts";
import { helpCommands } from "./help.ts";
import { itestCommand } from "./itest.ts";
import { memCommands } from "./mem.ts";
import { partCommand } from "./part.ts";
import { pvblockCommand } from "./pvblock.ts";
import { fsCommands } from "./fs.ts";
import { fatCommands } from "./fat.ts";
import { ext4Commands } from "./ext4.ts";
import type { FsLayer } from "../fs/fs.ts";
import { resetCommands } from "./reset.ts";
import { setexprCommand } from "./setexpr.ts";
import { showvarCommand } from "./showvar.ts";
import { sourceCommands } from "./source.ts";
import { unzipCommand } from "./unzip.ts";
import { randomCommand } from "./random.ts";
import { coninfoCommand } from "./coninfo.ts";
import { sleepCommand } from "./sleep.ts";
import { testCommand, type TestHooks } from "./test.ts";
import { falseCommand, trueCommand } from "./true_false.ts";
import { versionCommand } from "./version.ts";

/** Commands the real xenguest_arm64 build has (its `help` output). */
export const XENGUEST_COMMANDS: ReadonlySet<string> = new Set([
  "?",
  "base",
  "blkcache",
  "bootefi",
  "bootflow",
  "booti",
  "bootm",
  "cmp",
  "coninfo",
  "cp",
  "env",
  "ext4load",
  "ext4ls",
  "ext4size",
  "fatinfo",
  "fatload",
  "fatls",
  "fatmkdir",
  "fatrm",
  "fatsize",
  "fatwrite",
  "fdt",
  "help",
  "loop",
  "md",
  "mm",
  "mw",
  "nm",
  "panic",
  "printenv",
  "pvblock",
  "random",
  "reset",
  "run",
  "setenv",
  "unlz4",
  "version",
]);

/** What commands may need from the layers below (filesystems, block devices). */
export interface CommandHooks {
  /** `test -e`. */
  test?: TestHooks;
  /** The hand-over to Linux: the guest's tear-down and who receives the record. */
  boot?: { fini: () => Promise<XenFiniReport>; onHandoff: (record: HandoffRecord) => void };
  /** The guest's XenStore client (the `xenstore` command, a pvboot extension). */
  xenbus?: XenBus;
  /** The block devices, partition tables and filesystems of the guest. */
  storage?: { blk: BlockRegistry; parts: PartitionLayer; fs?: FsLayer };
}

/** The commands of a board profile (a fresh set: commands with state, like `md`, get their own). */
export function boardCommands(profile: "default" | "xenguest", hooks: CommandHooks = {}): Command[] {
  const fdtState = new WorkingFdtState();
  const all: Command[] = [
    ...helpCommands(),
    versionCommand(profile),
    ...envCommands(),
    ...memCommands(),
    // One working FDT per session, shared by `fdt` and `booti`.
    fdtCommand(profile, fdtState),
    bootiCommand({ profile, fdtState, ...hooks.boot }),
    ...bootCommands(),
    crc32Command(),
    bdinfoCommand(),
    echoCommand(),
    setexprCommand(),
    itestCommand(),
    testCommand(hooks.test),
    trueCommand(),
    falseCommand(),
    exitCommand(),
    sleepCommand(),
    showvarCommand(),
    ...sourceCommands(profile),
    unzipCommand(),
    randomCommand(),
    coninfoCommand(),
    ...resetCommands(),
  ];
  if (hooks.storage) {
    all.push(partCommand(hooks.storage.blk, hooks.storage.parts));
    all.push(pvblockCommand(hooks.storage.blk, hooks.storage.parts));
    const fs = hooks.storage.fs;
    if (fs) {
      all.push(
        ...fsCommands(fs),
        ...fatCommands(hooks.storage, { fs }),
        ...ext4Commands(hooks.storage, { fs }),
      );
    }
  }
  if (hooks.xenbus) all.push(xenstoreCommand(hooks.xenbus));
  if (profile === "default") return all;
  return all.filter((c) => XENGUEST_COMMANDS.has(c.name));
}
