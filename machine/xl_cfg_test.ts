import assert from "node:assert/strict";
import { parseXlConfig, parseXlDiskSpec, XlConfigError, XlDiskSpecError } from "./xl_cfg.ts";

function configError(text: string, line: number, fragment: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof XlConfigError, `expected XlConfigError for ${JSON.stringify(text)}, got ${e}`);
    assert.equal(e.line, line);
    assert.ok(e.message.includes(fragment), `message ${JSON.stringify(e.message)} lacks ${fragment}`);
    assert.ok(e.message.startsWith(`config:${line}: `), e.message);
    return true;
  };
}

function rejects(text: string, line: number, fragment: string): void {
  assert.throws(() => parseXlConfig(text), configError(text, line, fragment));
}

Deno.test("numbers, both quote styles and comments are read", () => {
  const { config, warnings } = parseXlConfig(
    [
      "# a DomU for pvboot",
      'name = "uboot"   # trailing comment',
      "memory=1536",
      "vcpus = 2",
      "extra = 'console=hvc0 \\'quoted\\''",
    ].join("\n"),
  );
  assert.deepEqual(config, { name: "uboot", memoryMiB: 1536, vcpus: 2, extra: "console=hvc0 'quoted'" });
  assert.deepEqual(warnings, []);
});

Deno.test("numbers may be hex or octal, as strtol with base 0 reads them", () => {
  assert.equal(parseXlConfig("memory = 0x200").config.memoryMiB, 512);
  assert.equal(parseXlConfig("memory = 01000").config.memoryMiB, 512);
  assert.equal(parseXlConfig('memory = "768"').config.memoryMiB, 768);
});

Deno.test("semicolons separate settings on one line and the last line needs no newline", () => {
  const { config } = parseXlConfig('name="h0"; vcpus=3;memory = 64');
  assert.deepEqual(config, { name: "h0", vcpus: 3, memoryMiB: 64 });
});

Deno.test("string escapes are decoded", () => {
  const { config } = parseXlConfig('extra = "a\\tb\\x41\\101\\\\\\"c"');
  assert.equal(config.extra, 'a\tbAA\\"c');
});

Deno.test("a list may span lines and end with a comma", () => {
  const { config } = parseXlConfig(
    [
      "disk = [",
      "  'a.img,raw,xvda,rw',",
      "",
      "  'b.img,,xvdb,ro',   # read-only",
      "]",
    ].join("\n"),
  );
  assert.deepEqual(config.disks, [
    { target: "a.img", vdev: "xvda", access: "rw", format: "raw" },
    { target: "b.img", vdev: "xvdb", access: "ro", format: "raw" },
  ]);
});

Deno.test("an empty list gives no disks", () => {
  assert.deepEqual(parseXlConfig("disk = [ ]").config.disks, []);
});

Deno.test("a later setting replaces an earlier one and += appends", () => {
  const { config } = parseXlConfig(
    [
      "memory = 256",
      "memory = 1024",
      "extra = 'console=hvc0'",
      "extra += ' quiet'",
      "disk = [ 'a.img,raw,xvda' ]",
      "disk += [ 'b.img,raw,xvdb' ]",
    ].join("\n"),
  );
  assert.equal(config.memoryMiB, 1024);
  assert.equal(config.extra, "console=hvc0 quiet");
  assert.deepEqual(config.disks?.map((d) => d.vdev), ["xvda", "xvdb"]);
});

Deno.test("cmdline wins over root and extra, with xl's warning", () => {
  const { config, warnings } = parseXlConfig("root = '/dev/xvda2'\nextra = 'ro'\ncmdline = 'quiet'\n");
  assert.equal(config.extra, "quiet");
  assert.deepEqual(warnings, ["config:1: warning: ignoring root= and extra= in favour of cmdline="]);
  assert.equal(parseXlConfig("root = '/dev/xvda2'\nextra = 'ro'").config.extra, "root=/dev/xvda2 ro");
  assert.equal(parseXlConfig("root = '/dev/xvda2'").config.extra, "root=/dev/xvda2");
});

Deno.test("known keys are ignored silently, unsupported ones and unknown ones with a warning", () => {
  const { config, warnings } = parseXlConfig(
    [
      'kernel = "/usr/lib/u-boot/xenguest_arm64/u-boot.bin"',
      'type = "pvh"',
      'on_crash = "preserve"',
      "vif = [ 'bridge=xenbr0' ]",
      "frobnicate = 1",
    ].join("\n"),
    { source: "/etc/xen/domu.cfg" },
  );
  assert.deepEqual(config, {});
  assert.deepEqual(warnings, [
    "/etc/xen/domu.cfg:4: warning: parameter `vif' is not supported by pvboot (ignored)",
    "/etc/xen/domu.cfg:5: warning: unknown parameter `frobnicate' (ignored)",
  ]);
});

Deno.test("a guest type other than PVH is a warning, an invalid one an error", () => {
  assert.deepEqual(parseXlConfig('type = "hvm"').warnings, [
    'config:1: warning: type "hvm" does not exist on Arm; the guest is PVH',
  ]);
  rejects('type = "xyz"', 1, "Invalid domain type xyz.");
});

Deno.test("malformed syntax is an error with its line number", () => {
  rejects("name = 'x'\nmemory 512\n", 2, "near `512': syntax error, unexpected NUMBER");
  rejects("name = 'x'\n\nmemory = \n", 3, "near <newline>: syntax error, unexpected NEWLINE");
  rejects("memory = 512 vcpus = 1", 1, "unexpected IDENT, expecting NEWLINE or ';'");
  rejects("\nname = 'unterminated\n", 2, "near `'unterminated': lexical error");
  rejects("Memory = 512", 1, "near `Memory': lexical error");
  rejects("memory = 512 + 1", 1, "lexical error");
  rejects("disk = [ 'a'\n 'b' ]", 2, "expecting ',' or ']'");
  rejects("disk = [ 'a', ", 1, "unexpected end of file");
  rejects("extra = '\\q'", 1, "invalid character after backslash in quoted string");
  rejects("x = 1\ny = '\\xZZ'", 2, "invalid digit after backslash hex numerical character escape");
  rejects("extra = 'a'\nextra += [ 'b' ]", 2, `can't add [list] to "string" or vice versa`);
});

Deno.test("lists nested too deep are refused", () => {
  rejects(`pci = ${"[".repeat(40)}${"]".repeat(40)}`, 1, "nest deeper");
});

Deno.test("values of the wrong type or out of bounds are errors with their line", () => {
  rejects("\nmemory = 'lots'", 2, "parameter `memory' is not a valid number");
  rejects("memory = 0", 1, "value `0' is smaller than minimum bound '1'");
  rejects("vcpus = 129", 1, "value `129' is greater than maximum bound '128'");
  rejects("memory = 99999999999999999999", 1, "Numerical result out of range");
  rejects("name = [ 'a' ]", 1, "parameter `name' is a list but should be a single value");
  rejects("disk = 'a.img,raw,xvda'", 1, "parameter `disk' is a single value but should be a list");
});

Deno.test("a bad disk entry is an error on the entry's own line", () => {
  rejects("disk = [ 'a.img,raw,xvda',\n  'b.img,qcow2,xvdb' ]", 2, "format qcow2 is not supported");
  rejects("disk = [\n 'b.img,raw' ]", 2, "config parsing error in disk specification: no vdev specified");
  rejects("disk = [ 'iscsi:iqn.x,xvda' ]", 1, "script block-iscsi is not supported");
});

Deno.test("a CD-ROM entry is skipped with a warning", () => {
  const { config, warnings } = parseXlConfig("disk = [ 'a.img,raw,xvda', ',,hdc:cdrom,r' ]");
  assert.deepEqual(config.disks?.map((d) => d.vdev), ["xvda"]);
  assert.deepEqual(warnings, [
    "config:1: warning: disk hdc: CD-ROM devices are not supported by pvboot (ignored)",
  ]);
});

Deno.test("disk: positional target, format, vdev, access", () => {
  assert.deepEqual(parseXlDiskSpec("/srv/disk.img,raw,xvda,rw"), {
    target: "/srv/disk.img",
    format: "raw",
    vdev: "xvda",
    access: "rw",
    cdrom: false,
  });
  const readOnly = parseXlDiskSpec("disk.img,,xvdb,r");
  assert.equal(readOnly.format, "raw");
  assert.equal(readOnly.access, "ro");
  assert.equal(parseXlDiskSpec("disk.img,raw,xvdc").access, "rw");
});

Deno.test("disk: key=value form, target last and allowed to hold commas", () => {
  assert.deepEqual(parseXlDiskSpec("format=raw, vdev=xvdb, access=ro, target=/images/a,b=c.img"), {
    target: "/images/a,b=c.img",
    format: "raw",
    vdev: "xvdb",
    access: "ro",
    cdrom: false,
  });
  assert.equal(parseXlDiskSpec("vdev=xvda, target=x.img,").target, "x.img");
});

Deno.test("disk: mixed positional and key=value parameters", () => {
  const entry = parseXlDiskSpec("disk.img, vdev=xvdc, access=rw, backendtype=qdisk, discard");
  assert.equal(entry.target, "disk.img");
  assert.equal(entry.vdev, "xvdc");
  assert.equal(entry.format, "raw");
});

Deno.test("disk: deprecated prefixes", () => {
  const phy = parseXlDiskSpec("phy:/dev/vg/guest,xvda,w");
  assert.equal(phy.target, "/dev/vg/guest");
  assert.equal(phy.vdev, "xvda");
  assert.equal(phy.access, "rw");
  const tap = parseXlDiskSpec("tap:aio:/images/a.img,xvdb,r");
  assert.deepEqual([tap.target, tap.vdev, tap.access], ["/images/a.img", "xvdb", "ro"]);
  const qcow = parseXlDiskSpec("tap:qcow2:/images/a.qcow2,xvdc,w");
  assert.equal(qcow.format, "qcow2");
  assert.equal(parseXlDiskSpec("nbd:host:1234,xvdd,w").script, "block-nbd");
});

Deno.test("disk: CD-ROM forms", () => {
  const empty = parseXlDiskSpec(",,hdc:cdrom,r");
  assert.deepEqual([empty.cdrom, empty.format, empty.vdev, empty.access], [true, "empty", "hdc", "ro"]);
  const iso = parseXlDiskSpec("/i.iso,raw,xvdd,devtype=cdrom");
  assert.deepEqual([iso.cdrom, iso.format, iso.access], [true, "raw", "ro"]);
});

Deno.test("disk: errors carry xl's messages", () => {
  const cases: [string, string][] = [
    ["a.img,raw", "config parsing error in disk specification: no vdev specified in `a.img,raw'"],
    ["vdev=xvda", "no target specified (and device not removable)"],
    ["a.img,ext4,xvda", "unknown value for format: near `ext4'"],
    ["a.img,raw,xvda,rx", "unknown value for access: near `rx'"],
    ["a.img,raw,xvda,rw,extra", "too many positional parameters: near `extra'"],
    ["a.img,raw,xvda,format=qcow2", "format respecified"],
    ["vdev=xvda,vdev=xvdb,target=a", "vdev respecified"],
    ["a.img,raw,xvda,colour=red", "unknown parameter: near `colour=red'"],
    ["foo:/a.img,raw,xvda", "unknown deprecated disk prefix"],
    ["a.img,raw,xvda:floppy", "unknown deprecated type: near `floppy'"],
    ["/a=b.img,raw,xvda", "bad disk syntax: near `=b.img,raw,xvda'"],
  ];
  for (const [spec, fragment] of cases) {
    assert.throws(
      () => parseXlDiskSpec(spec),
      (e) => e instanceof XlDiskSpecError && e.message.includes(fragment) && e.spec === spec,
      spec,
    );
  }
});
