/**
 * Replays the real U-Boot 2023.01 `fdt` transcript (tests/reference/09-fdt.json, qemu_arm64) through
 * pvboot's shell with the default commands plus `fdt`, command by command and in order, and checks
 * every output byte and `$?`.
 *
 * The transcript `load`s xen-guest.dtb and overlay.dtbo from a disk; here the same blobs are built
 * with the real dtc from the corpus sources (checked against the corpus manifest's SHA-256) and
 * written to the same addresses. A control FDT is placed at the board's `fdtcontroladdr`, where the
 * real board keeps its copy. The one masked difference: `u-boot,version` holds pvboot's version
 * string where the transcript has Debian's (both pad to the same 24 bytes, so sizes stay equal).
 *
 * The real xenguest board session's `fdt` commands on its test.dtb are replayed the same way, with
 * the xenguest build's command set and simple parser.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Shell } from "../shell/shell.ts";
import { Environment } from "../env/environment.ts";
import { boardCommands } from "../commands/registry.ts";
import { fdtCommand } from "../commands/fdt.ts";
import { versionString } from "../commands/version.ts";
import { GuestMemory } from "../machine/guest_memory.ts";
import { RecordingConsole, TEST_BOARD } from "./fake_context.ts";
import { DEFAULT_ENV, DEFAULT_ENV_SIZE } from "../board/default_env.ts";
import { compileDts, hasDtc } from "./fixtures_dtc.ts";
import { GUEST_DTS } from "../scripts/fixtures/payloads.ts";

/** The corpus's overlay.dts (reference/uboot/mkcorpus.sh), which the transcript loads and prints. */
const CORPUS_OVERLAY_DTS = `/dts-v1/;
/plugin/;

/ {
	fragment@0 {
		target-path = "/";
		__overlay__ {
			pvboot-test {
				compatible = "pvboot,overlay-test";
				status = "okay";
				value = <0x12345678>;
			};
		};
	};

	fragment@1 {
		target = <&gic>;
		__overlay__ {
			overlay-applied = "yes";
		};
	};
};
`;

/** corpus-MANIFEST.txt: `1304 0x518 6f286e36 feb4e878... src/xen-guest.dtb`. */
const GUEST_DTB_SHA256 = "feb4e87846d4637c1527e767ad46832f9b791d5f3633b16d837504f5c576eedd";
/** corpus-MANIFEST.txt: `407 0x197 a80294f3 c152330c... src/overlay.dtbo`. */
const OVERLAY_DTBO_SHA256 = "c152330cb87028f4a5cae24cf25ecfc225847254795829822932f2d524b448a6";
/** The version string of the build the transcript was recorded on. */
const GOLDEN_PLAIN_VERSION = "2023.01+dfsg-2+deb12u3";

interface GoldenResult {
  cmd: string;
  out: string;
  rc: number | null;
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The corpus blobs the transcript loads, by the `load` command that loads them. */
async function corpusLoads(): Promise<Map<string, { address: number; blob: Uint8Array }>> {
  const guest = await compileDts(GUEST_DTS, ["-@"]);
  const overlay = await compileDts(CORPUS_OVERLAY_DTS, ["-@"]);
  assert.equal(await sha256Hex(guest), GUEST_DTB_SHA256, "xen-guest.dtb matches the corpus");
  assert.equal(await sha256Hex(overlay), OVERLAY_DTBO_SHA256, "overlay.dtbo matches the corpus");
  return new Map([
    ["load virtio 0:1 0x48000000 xen-guest.dtb", { address: 0x48000000, blob: guest }],
    ["load virtio 0:1 0x48100000 overlay.dtbo", { address: 0x48100000, blob: overlay }],
  ]);
}

Deno.test({
  name: "09-fdt transcript: every fdt command prints U-Boot's bytes and status",
  ignore: !hasDtc(),
  async fn() {
    const url = new URL("./reference/09-fdt.json", import.meta.url);
    const results = (JSON.parse(await Deno.readTextFile(url)) as { results: GoldenResult[] }).results;
    const loads = await corpusLoads();

    const memory = new GuestMemory();
    memory.addRegion({ base: TEST_BOARD.ramBase, size: TEST_BOARD.ramSize });
    memory.write(TEST_BOARD.fdtBlob, await compileDts(GUEST_DTS, ["-@"]));
    const con = new RecordingConsole();
    const sh = new Shell({
      commands: [...boardCommands("default"), fdtCommand("default")],
      env: new Environment(DEFAULT_ENV, DEFAULT_ENV_SIZE),
      console: con,
      memory,
      board: TEST_BOARD,
      parser: "hush",
    });
    const ourVersion = /^U-Boot (\S+)/.exec(versionString("default"))![1]!;

    let compared = 0;
    for (const r of results) {
      const load = loads.get(r.cmd);
      if (load) {
        memory.write(load.address, load.blob);
        continue;
      }
      const rc = await sh.inputLine(r.cmd, "", { repeat: false });
      const out = con.take();
      assert.equal(out, r.out.replaceAll(GOLDEN_PLAIN_VERSION, ourVersion), `output of '${r.cmd}'`);
      if (r.rc !== null) assert.equal(rc, r.rc, `$? after '${r.cmd}'`);
      compared++;
    }
    assert.equal(compared, results.length - loads.size);
  },
});

/**
 * test.dtb of the real xenguest board session, rebuilt from its `fdt print /` in the same order: dtc
 * lays it out exactly as the session's `fdt header` shows (415 bytes, the same block offsets).
 */
const SESSION_TEST_DTS = `/dts-v1/;
/ {
	model = "xen-oracle test";
	compatible = "xen-oracle,test";
	#address-cells = <2>;
	#size-cells = <2>;
	chosen {
		bootargs = "console=hvc0";
	};
	memory@40000000 {
		device_type = "memory";
		reg = <0 0x40000000 0 0x08000000>;
	};
	node1 {
		prop-u32 = <0x12345678>;
		prop-str = "hello";
	};
};
`;

/** The session's commands from `first` up to (not including) `firstAfter`, each with its output. */
async function sessionCommands(first: string, firstAfter: string): Promise<{ cmd: string; out: string }[]> {
  const url = new URL("./reference/xenguest-board-session.txt", import.meta.url);
  const text = await Deno.readTextFile(url);
  const prompt = "xenguest# ";
  const start = text.indexOf(`${prompt}${first}\n`);
  const end = text.indexOf(`${prompt}${firstAfter}\n`, start);
  assert.ok(start >= 0 && end > start, "the session holds the fdt commands");
  return text.slice(start + prompt.length, end - 1).split(`\n${prompt}`).map((chunk) => {
    const newline = chunk.indexOf("\n");
    return newline < 0
      ? { cmd: chunk, out: "" }
      : { cmd: chunk.slice(0, newline), out: chunk.slice(newline + 1) };
  });
}

Deno.test({
  name: "xenguest board session: fdt addr, header, print, list and get value print the real board's bytes",
  ignore: !hasDtc(),
  async fn() {
    const commands = await sessionCommands("fdt addr 0x88000000", "printenv fdtcontroladdr");
    const memory = new GuestMemory();
    memory.addRegion({ base: 0x40000000, size: 0x60000000 });
    memory.write(0x88000000, await compileDts(SESSION_TEST_DTS));
    const con = new RecordingConsole();
    const sh = new Shell({
      commands: [...boardCommands("xenguest"), fdtCommand("xenguest")],
      env: new Environment([], DEFAULT_ENV_SIZE),
      console: con,
      memory,
      board: { ...TEST_BOARD, profile: "xenguest" },
      parser: "simple",
    });
    for (const { cmd, out } of commands) {
      await sh.inputLine(cmd, "", { repeat: false });
      // Splitting at "\n<prompt>" took each output's last newline.
      assert.equal(con.take(), out === "" ? "" : `${out}\n`, `output of '${cmd}'`);
    }
    assert.equal(commands.length, 7);
  },
});
