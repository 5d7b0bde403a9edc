import assert from "node:assert/strict";
import {
  isValidNodeName,
  parsePerms,
  XenStoreDb,
  XenStoreError,
  XS_QUOTAS,
  type XsChange,
} from "./xenstore_db.ts";

const DOM0 = { domid: 0, privileged: true };
const GUEST = { domid: 1, privileged: false };

function setup() {
  const db = new XenStoreDb([0, 1]);
  db.write(DOM0, undefined, "/local/domain/1", "");
  db.setPerms(DOM0, undefined, "/local/domain/1", [{ id: 0, perm: "n" }, { id: 1, perm: "r" }]);
  db.write(DOM0, undefined, "/local/domain/1/data", "");
  db.setPerms(DOM0, undefined, "/local/domain/1/data", [{ id: 1, perm: "n" }]);
  const changes: XsChange[] = [];
  db.onChange = (c) => changes.push(c);
  return { db, changes };
}

function code(value: unknown): string {
  return value instanceof XenStoreError ? value.code : "ok";
}

Deno.test("node names follow xenstored's rules", () => {
  for (const good of ["/", "/a", "/local/domain/1/device/vbd/51712", "/a-b_c@d"]) {
    assert.ok(isValidNodeName(good));
  }
  for (const bad of ["", "a", "/a/", "//a", "/a b", `/${"x".repeat(3072)}`]) assert.ok(!isValidNodeName(bad));
});

Deno.test("permission strings parse as letter and domain id, anything else is refused", () => {
  assert.deepEqual(parsePerms(["n1", "r0", "b0x10"]), [{ id: 1, perm: "n" }, { id: 0, perm: "r" }, {
    id: 16,
    perm: "b",
  }]);
  assert.equal(parsePerms(["x1"]), undefined);
  assert.equal(parsePerms(["r"]), undefined);
  assert.equal(parsePerms(["r1x"]), undefined);
});

Deno.test("a missing node reads ENOENT only where the caller could see its nearest ancestor", () => {
  const { db } = setup();
  assert.equal(code(db.read(GUEST, undefined, "/local/domain/1/nothing")), "ENOENT");
  assert.equal(code(db.read(GUEST, undefined, "/local/domain/0/nothing")), "EACCES");
  assert.equal(code(db.write(GUEST, undefined, "/local/domain/1/x", "1")), "EACCES"); // read-only parent
  assert.equal(code(db.write(GUEST, undefined, "data/x/y", "1")), "ok");
  assert.deepEqual(db.getPerms(GUEST, undefined, "data/x"), [{ id: 1, perm: "n" }]);
});

Deno.test("writes report one change for the written node; rm reports every removed node", () => {
  const { db, changes } = setup();
  db.write(GUEST, undefined, "data/a/b", "1");
  assert.deepEqual(changes.map((c) => [c.path, c.exact]), [["/local/domain/1/data/a/b", false]]);
  changes.length = 0;
  db.rm(GUEST, undefined, "data/a");
  assert.deepEqual(changes.map((c) => [c.path, c.exact]), [
    ["/local/domain/1/data/a/b", true],
    ["/local/domain/1/data/a", false],
  ]);
});

Deno.test("a transaction conflicts on the nodes it touched, not on unrelated changes", () => {
  const { db } = setup();
  db.write(GUEST, undefined, "data/k", "0");
  const tx = db.startTransaction(GUEST, 1);
  db.write(DOM0, undefined, "/local/domain/1/data/other", "x");
  assert.equal(db.write(GUEST, tx, "data/k", "1"), undefined);
  // data/k was read by get_node inside the write (as xenstored does), so a change to it conflicts...
  db.write(GUEST, undefined, "data/k", "2");
  assert.equal(code(db.endTransaction(tx, true)), "EAGAIN");
  // ...while an unrelated change does not.
  const again = db.startTransaction(GUEST, 2);
  db.write(GUEST, again, "data/k", "3");
  db.write(DOM0, undefined, "/local/domain/1/data/other", "y");
  assert.equal(db.endTransaction(again, true), undefined);
  assert.equal(new TextDecoder().decode(db.read(GUEST, undefined, "data/k") as Uint8Array), "3");
});

Deno.test("an unprivileged domain's quotas: entry size and node count give ENOSPC", () => {
  const { db } = setup();
  assert.equal(code(db.write(GUEST, undefined, "data/big", "x".repeat(XS_QUOTAS.maxEntrySize))), "ENOSPC");
  assert.equal(code(db.read(GUEST, undefined, "data/big")), "ENOENT");
  assert.equal(code(db.write(DOM0, undefined, "/local/domain/1/data/big", "x".repeat(4000))), "ok");
  let last = "ok";
  for (let i = 0; i < XS_QUOTAS.entriesPerDomain + 1 && last === "ok"; i++) {
    last = code(db.write(GUEST, undefined, `data/n${i}`, ""));
  }
  assert.equal(last, "ENOSPC");
});
