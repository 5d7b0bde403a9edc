import assert from "node:assert/strict";
import {
  completeGuestConfig,
  DEFAULT_MEMORY_MIB,
  defaultGuestConfig,
  GuestConfigError,
  MAX_MEMORY_MIB,
  resolveDiskPaths,
  vbdDeviceNumber,
  vdevName,
} from "./guest_config.ts";

Deno.test("defaults are 512 MiB, one vCPU, no disks, the default board", () => {
  const config = defaultGuestConfig();
  assert.equal(config.memoryMiB, DEFAULT_MEMORY_MIB);
  assert.equal(config.memoryMiB, 512);
  assert.equal(config.vcpus, 1);
  assert.deepEqual(config.disks, []);
  assert.equal(config.extra, "");
  assert.equal(config.board, "default");
  assert.equal("dtbPath" in config, false);
});

Deno.test("completing keeps given values and copies the disks", () => {
  const disks = [{ target: "a.img", vdev: "xvda", access: "ro" as const, format: "raw" as const }];
  const config = completeGuestConfig({ memoryMiB: 4096, disks, board: "xenguest" });
  assert.equal(config.memoryMiB, 4096);
  assert.equal(config.board, "xenguest");
  assert.deepEqual(config.disks, disks);
  assert.notEqual(config.disks[0], disks[0]);
});

Deno.test("invalid configurations are refused with a message", () => {
  const bad: [Parameters<typeof completeGuestConfig>[0], string][] = [
    [{ memoryMiB: 0 }, "invalid memory 0"],
    [{ memoryMiB: MAX_MEMORY_MIB + 1 }, "invalid memory"],
    [{ memoryMiB: 1.5 }, "invalid memory"],
    [{ vcpus: 0 }, "invalid vcpus"],
    [{ name: "" }, "invalid guest name"],
    [{ name: "a/b" }, "invalid guest name"],
    [{ disks: [{ target: "a", vdev: "xvd1", access: "rw", format: "raw" }] }, "virtual disk identifier xvd1"],
    [{ disks: [{ target: "", vdev: "xvda", access: "rw", format: "raw" }] }, "no target"],
    [
      {
        disks: [
          { target: "a", vdev: "xvda", access: "rw", format: "raw" },
          { target: "b", vdev: "d0p0", access: "rw", format: "raw" },
        ],
      },
      "same device as xvda",
    ],
  ];
  for (const [partial, fragment] of bad) {
    assert.throws(
      () => completeGuestConfig(partial),
      (e) => e instanceof GuestConfigError && e.message.includes(fragment),
      fragment,
    );
  }
});

Deno.test("disk names count in bijective base 26", () => {
  assert.equal(vdevName(0), "xvda");
  assert.equal(vdevName(1), "xvdb");
  assert.equal(vdevName(25), "xvdz");
  assert.equal(vdevName(26), "xvdaa");
  assert.equal(vdevName(536), "xvdtq");
  assert.throws(() => vdevName(-1), GuestConfigError);
});

Deno.test("VBD numbers follow xen-vbd-interface(7)", () => {
  assert.equal(vbdDeviceNumber("xvda"), (202 << 8) | 0);
  assert.equal(vbdDeviceNumber("xvdb"), 51728);
  assert.equal(vbdDeviceNumber("xvdb2"), (202 << 8) | (1 << 4) | 2);
  assert.equal(vbdDeviceNumber("d0"), vbdDeviceNumber("xvda"));
  assert.equal(vbdDeviceNumber("d536p37"), (1 << 28) | (536 << 8) | 37);
  assert.equal(vbdDeviceNumber("xvdtq37"), vbdDeviceNumber("d536p37"));
  assert.equal(vbdDeviceNumber("xvdq"), (1 << 28) | (16 << 8));
  assert.equal(vbdDeviceNumber("sdb3"), (8 << 8) | (1 << 4) | 3);
  assert.equal(vbdDeviceNumber("hdc2"), (22 << 8) | 2);
  assert.equal(vbdDeviceNumber("hdb"), (3 << 8) | (1 << 6));
  assert.equal(vbdDeviceNumber("51712"), 51712);
  assert.equal(vbdDeviceNumber("0xca00"), 51712);
  for (const bad of ["", "xvd", "xvdA", "hde", "sdq", "xvda01", "vda", "d1p", "xvda256"]) {
    assert.equal(vbdDeviceNumber(bad), undefined, bad);
  }
});

Deno.test("relative disk targets are joined to the base directory, absolute ones kept", () => {
  const config = resolveDiskPaths(
    {
      memoryMiB: 64,
      disks: [
        { target: "images/a.img", vdev: "xvda", access: "rw", format: "raw" },
        { target: "/srv/b.img", vdev: "xvdb", access: "ro", format: "raw" },
      ],
    },
    "/etc/xen",
  );
  assert.deepEqual(config.disks?.map((d) => d.target), ["/etc/xen/images/a.img", "/srv/b.img"]);
  assert.equal(config.memoryMiB, 64);
  assert.deepEqual(resolveDiskPaths({ name: "x" }, "/etc/xen"), { name: "x" });
});
