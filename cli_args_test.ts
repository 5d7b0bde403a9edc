import assert from "node:assert/strict";
import { CliArgsError, type ConfigFileReader, configFromArgs } from "./cli_args.ts";
import { XlConfigError } from "./machine/xl_cfg.ts";

function filesWith(contents: Record<string, string>): ConfigFileReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readFile(path: string): Promise<Uint8Array> {
      reads.push(path);
      const text = contents[path];
      if (text === undefined) return Promise.reject(new Error(`Cannot read ${path}: no such file`));
      return Promise.resolve(new TextEncoder().encode(text));
    },
  };
}

const NO_FILES = filesWith({});

const DOMU_CFG = `
name = "uboot"
memory = 1536
vcpus = 2
disk = [ 'disk.img,raw,xvda,rw', '/abs/data.img,raw,xvdb,ro' ]
extra = "console=hvc0"
vif = [ 'bridge=xenbr0' ]
`;

Deno.test("no flags give the default guest and an interactive session", async () => {
  const args = await configFromArgs([], NO_FILES);
  assert.equal(args.config.memoryMiB, 512);
  assert.equal(args.config.vcpus, 1);
  assert.deepEqual(args.config.disks, []);
  assert.equal(args.help, false);
  assert.equal("command" in args, false);
  assert.equal("script" in args, false);
  assert.equal("trace" in args, false);
  assert.deepEqual(NO_FILES.reads, []);
});

Deno.test("guest flags set the configuration", async () => {
  const args = await configFromArgs(
    [
      "--memory",
      "2048",
      "--vcpus=4",
      "--name",
      "g1",
      "--board",
      "xenguest",
      "--extra",
      "quiet",
      "--dtb",
      "x.dtb",
    ],
    NO_FILES,
  );
  assert.equal(args.config.memoryMiB, 2048);
  assert.equal(args.config.vcpus, 4);
  assert.equal(args.config.name, "g1");
  assert.equal(args.config.board, "xenguest");
  assert.equal(args.config.extra, "quiet");
  assert.equal(args.config.dtbPath, "x.dtb");
});

Deno.test("disks are attached in order as xvda, xvdb, … and ,ro makes one read-only", async () => {
  const args = await configFromArgs(
    ["--disk", "a.img", "--disk", "b,c.img,ro", "--disk", "d.img,rw"],
    NO_FILES,
  );
  assert.deepEqual(args.config.disks, [
    { target: "a.img", vdev: "xvda", access: "rw", format: "raw" },
    { target: "b,c.img", vdev: "xvdb", access: "ro", format: "raw" },
    { target: "d.img", vdev: "xvdc", access: "rw", format: "raw" },
  ]);
});

Deno.test("session flags: -c, a script and --trace", async () => {
  const args = await configFromArgs(
    ["-c", "version; printenv", "--trace", "hypercall,xenstore-msg", "--trace", "handoff", "boot.scr"],
    NO_FILES,
  );
  assert.equal(args.command, "version; printenv");
  assert.equal(args.script, "boot.scr");
  assert.deepEqual(args.trace, ["hypercall", "xenstore-msg", "handoff"]);
  assert.equal(args.help, false);
});

Deno.test("--help reads and checks nothing else", async () => {
  const files = filesWith({});
  for (const argv of [["--help"], ["-h", "--memory", "0", "--config", "missing.cfg"]]) {
    const args = await configFromArgs(argv, files);
    assert.equal(args.help, true);
    assert.equal(args.config.memoryMiB, 512);
  }
  assert.deepEqual(files.reads, []);
});

Deno.test("the config file is read and its relative disks resolved against its directory", async () => {
  const files = filesWith({ "/etc/xen/domu.cfg": DOMU_CFG });
  const args = await configFromArgs(["--config", "/etc/xen/domu.cfg"], files);
  assert.deepEqual(files.reads, ["/etc/xen/domu.cfg"]);
  assert.equal(args.config.name, "uboot");
  assert.equal(args.config.memoryMiB, 1536);
  assert.equal(args.config.vcpus, 2);
  assert.equal(args.config.extra, "console=hvc0");
  assert.deepEqual(args.config.disks.map((d) => [d.target, d.vdev, d.access]), [
    ["/etc/xen/disk.img", "xvda", "rw"],
    ["/abs/data.img", "xvdb", "ro"],
  ]);
  assert.deepEqual(args.warnings, [
    "/etc/xen/domu.cfg:7: warning: parameter `vif' is not supported by pvboot (ignored)",
  ]);
});

Deno.test("flags given explicitly override the config file, in either order", async () => {
  const files = filesWith({ "cfg/domu.cfg": DOMU_CFG });
  for (
    const argv of [
      ["--memory", "64", "--config", "cfg/domu.cfg", "--disk", "other.img"],
      ["--config", "cfg/domu.cfg", "--disk", "other.img", "--memory", "64"],
    ]
  ) {
    const args = await configFromArgs(argv, files);
    assert.equal(args.config.memoryMiB, 64);
    assert.equal(args.config.vcpus, 2); // from the file
    assert.deepEqual(args.config.disks, [{ target: "other.img", vdev: "xvda", access: "rw", format: "raw" }]);
  }
});

Deno.test("bad flag values are errors with a clear message", async () => {
  const cases: [string[], string][] = [
    [["--memory", "lots"], "invalid --memory 'lots'"],
    [["--memory", "0"], "invalid --memory '0'"],
    [["--memory", "-5"], "--memory"],
    [["--vcpus", "129"], "invalid --vcpus '129'"],
    [["--board", "rpi"], "invalid --board 'rpi': expected default or xenguest"],
    [["--disk", ",ro"], "invalid --disk ',ro'"],
    [["--trace", "a,,b"], "invalid --trace"],
    [["--frobnicate"], "Unknown option '--frobnicate'"],
    [["--memory"], "argument missing"],
    [["a.scr", "b.scr"], "only one script file"],
    [["--name", "a/b"], "invalid guest name"],
  ];
  for (const [argv, fragment] of cases) {
    await assert.rejects(
      configFromArgs(argv, NO_FILES),
      (e) => e instanceof CliArgsError && e.message.includes(fragment),
      argv.join(" "),
    );
  }
});

Deno.test("a malformed config file reports its name and line", async () => {
  const files = filesWith({ "bad.cfg": "name = 'x'\nmemory 12\n" });
  await assert.rejects(
    configFromArgs(["--config", "bad.cfg"], files),
    (e) => e instanceof XlConfigError && e.line === 2 && e.message.startsWith("bad.cfg:2: "),
  );
});
