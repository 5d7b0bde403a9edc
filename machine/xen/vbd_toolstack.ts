/**
 * The toolstack's half of attaching a PV disk (libxl `libxl__device_disk_add` and the `block` hotplug
 * script, xen-spec §6.2): the frontend directory `/local/domain/<fe>/device/vbd/<devid>` owned by the
 * guest with read access for the backend domain, and the backend directory
 * `/local/domain/<be>/backend/vbd/<fe>/<devid>` owned by the backend with read access for the guest, both
 * in state 1 (Initialising). The backend driver (blkback.ts) takes over from there.
 *
 * `type` is "phy": libxl hands a raw image file to blkback through a loop device (the hotplug script
 * writes `physical-device-path`); `discard-enable` is "0" as this backend offers no discard.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TraceBus } from "../trace.ts";
 * import { EventChannels } from "./event_channels.ts";
 * import { XenPage } from "./xen_page.ts";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { XenStoreDb } from "./xenstore_db.ts";
 * import { XenStored } from "./xenstored.ts";
 * import { writeVbdNodes } from "./vbd_toolstack.ts";
 *
 * const events = new EventChannels(new TraceBus());
 * events.addDomain({ domid: 0, shared: new XenPage(new GuestMemory(), "dom0"), portLimit: 64, upcalls: false });
 * const xs = new XenStored({ db: new XenStoreDb([0, 1]), events, trace: new TraceBus() }).dom0;
 * const paths = writeVbdNodes(xs, { frontendDomid: 1, backendDomid: 0, devid: 51712, vdev: "xvda",
 *   params: "/images/disk.img", access: "rw" });
 * assert.equal(paths.backend, "/local/domain/0/backend/vbd/1/51712");
 * assert.equal(xs.readString(`${paths.frontend}/backend`), paths.backend);
 * assert.equal(xs.readString(`${paths.backend}/mode`), "w");
 * ```
 *
 * @module
 */

import { ToolstackError } from "./toolstack.ts";
import { XenbusState } from "./xenbus_state.ts";
import { domainPath, XenStoreError, type XsPerm } from "./xenstore_db.ts";
import type { XenStoreDom0 } from "./xenstored.ts";

/** What the toolstack knows about one PV disk. */
export interface VbdNodesSpec {
  /** The guest. */
  frontendDomid: number;
  /** The domain running blkback (Dom0). */
  backendDomid: number;
  /** The VBD number (`virtual-device`, e.g. 51712 for xvda). */
  devid: number;
  /** The device name (`dev`, e.g. "xvda"). */
  vdev: string;
  /** The image's host path (`params`). */
  params: string;
  /** "rw" or "ro" (`mode` "w" or "r"). */
  access: "rw" | "ro";
}

/** Where the two directories are. */
export interface VbdPaths {
  /** `/local/domain/<fe>/device/vbd/<devid>`. */
  readonly frontend: string;
  /** `/local/domain/<be>/backend/vbd/<fe>/<devid>`. */
  readonly backend: string;
}

/**
 * The two directories' paths for `devid` between `frontendDomid` and `backendDomid`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vbdPaths } from "./vbd_toolstack.ts";
 *
 * assert.equal(vbdPaths(1, 0, 51728).frontend, "/local/domain/1/device/vbd/51728");
 * ```
 */
export function vbdPaths(frontendDomid: number, backendDomid: number, devid: number): VbdPaths {
  return {
    frontend: `${domainPath(frontendDomid)}/device/vbd/${devid}`,
    backend: `${domainPath(backendDomid)}/backend/vbd/${frontendDomid}/${devid}`,
  };
}

/**
 * Writes both directories as libxl does, replacing whatever was there; throws {@linkcode ToolstackError}
 * if the store refuses (a fresh store never does).
 */
export function writeVbdNodes(xenstore: XenStoreDom0, spec: VbdNodesSpec): VbdPaths {
  const paths = vbdPaths(spec.frontendDomid, spec.backendDomid, spec.devid);
  const check = (what: string, error: XenStoreError | undefined): void => {
    if (error !== undefined) throw new ToolstackError(`Cannot ${what}: ${error.code}`);
  };
  const directory = (path: string, perms: readonly XsPerm[]): void => {
    const removed = xenstore.rm(path);
    if (removed instanceof XenStoreError && removed.code !== "ENOENT") check(`remove ${path}`, removed);
    check(`create ${path}`, xenstore.mkdir(path));
    check(`set the permissions of ${path}`, xenstore.setPerms(path, perms));
  };
  const write = (dir: string, entries: readonly (readonly [string, string])[]): void => {
    for (const [key, value] of entries) check(`write ${dir}/${key}`, xenstore.write(`${dir}/${key}`, value));
  };
  const initialising = String(XenbusState.Initialising);

  directory(paths.frontend, [{ id: spec.frontendDomid, perm: "n" }, { id: spec.backendDomid, perm: "r" }]);
  directory(paths.backend, [{ id: spec.backendDomid, perm: "n" }, { id: spec.frontendDomid, perm: "r" }]);
  write(paths.backend, [
    ["frontend", paths.frontend],
    ["frontend-id", String(spec.frontendDomid)],
    ["online", "1"],
    ["removable", "0"],
    ["bootable", "1"],
    ["state", initialising],
    ["dev", spec.vdev],
    ["type", "phy"],
    ["mode", spec.access === "rw" ? "w" : "r"],
    ["device-type", "disk"],
    ["discard-enable", "0"],
    ["params", spec.params],
    ["physical-device-path", spec.params],
  ]);
  write(paths.frontend, [
    ["backend", paths.backend],
    ["backend-id", String(spec.backendDomid)],
    ["state", initialising],
    ["virtual-device", String(spec.devid)],
    ["device-type", "disk"],
    ["trusted", "1"],
  ]);
  return paths;
}
