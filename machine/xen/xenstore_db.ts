/**
 * The XenStore tree as C xenstored (Xen 4.17) keeps it: nodes with a value, an ordered child list and a
 * permission list (owner first, `n`/`r`/`w`/`b` per domain), generation counts, per-domain quotas, and
 * transactions that copy a node on first access and fail to commit with `EAGAIN` when a node they read
 * has changed since (xenstored_transaction.c's generation rule). Operations take the caller (domain id,
 * privileged or not) and an optional transaction and return a value or a {@linkcode XenStoreError}.
 *
 * Permission rules (xenstored_core.c `perm_for_conn`, `get_node`, `errno_from_parents`): Dom0 and the
 * owner may do anything; otherwise the first entry naming the caller, else the owner entry's default. A
 * missing node reads as `ENOENT` only if the nearest existing ancestor grants the requested access, else
 * `EACCES`. An unprivileged domain owns the nodes it creates.
 *
 * Changes outside a transaction are reported at once through {@linkcode XenStoreDb.onChange}; changes
 * inside one when it commits. xenstored turns them into watch events.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { XenStoreDb, XenStoreError } from "./xenstore_db.ts";
 *
 * const db = new XenStoreDb([0, 1]);
 * const dom0 = { domid: 0, privileged: true };
 * const guest = { domid: 1, privileged: false };
 * db.write(dom0, undefined, "/local/domain/1", "");
 * db.setPerms(dom0, undefined, "/local/domain/1", [{ id: 1, perm: "n" }]);
 * assert.equal(db.write(guest, undefined, "data/x", "1"), undefined); // relative: /local/domain/1/data/x
 * const denied = db.read(guest, undefined, "/local/domain/0");
 * assert.ok(denied instanceof XenStoreError && denied.code === "EACCES");
 * ```
 *
 * @module
 */

import {
  bytesToLatin1,
  latin1ToBytes,
  XENSTORE_ABS_PATH_MAX,
  XENSTORE_PAYLOAD_MAX,
  type XsErrorName,
} from "./xs_wire.ts";

/** A permission letter: none, read, write, both. */
export type XsPermLetter = "n" | "r" | "w" | "b";

/** One entry of a node's permission list. */
export interface XsPerm {
  /** The domain. */
  readonly id: number;
  /** What it may do. */
  readonly perm: XsPermLetter;
}

/** Who makes a request. */
export interface XsCaller {
  /** The caller's domain. */
  readonly domid: number;
  /** Dom0 (the toolstack and the backends): every permission. */
  readonly privileged: boolean;
}

/** A change watches may fire for. */
export interface XsChange {
  /** The changed node (absolute). */
  readonly path: string;
  /** Fire only watches on exactly this path (nodes removed under a removed subtree's root). */
  readonly exact: boolean;
  /** Permission lists any of which, readable by a watcher, lets the event through (`watch_permitted`). */
  readonly perms: readonly (readonly XsPerm[])[];
}

/** A XenStore error as xenstored sends it (`E<name>`). */
export class XenStoreError extends Error {
  /** The error name (`ENOENT`). */
  readonly code: XsErrorName;
  /** Creates the error. */
  constructor(code: XsErrorName) {
    super(`Cannot complete the XenStore request: ${code}`);
    this.name = "XenStoreError";
    this.code = code;
  }
}

/** xenstored's default quotas (`-E`, `-S`, `-W`, `-t`, `-A`, `transaction-nodes`). */
export const XS_QUOTAS = {
  /** Nodes an unprivileged domain may own. */
  entriesPerDomain: 1000,
  /** Bytes of one node record (header, permissions, value, child names) an unprivileged domain may write. */
  maxEntrySize: 2048,
  /** Watches per domain. */
  watchesPerDomain: 128,
  /** Open transactions per connection. */
  transactionsPerConnection: 10,
  /** Permission entries per node. */
  permsPerNode: 5,
  /** Nodes one transaction may touch. */
  transactionNodes: 1024,
} as const;

/** Bytes of a node record's header (`struct xs_tdb_record_hdr`: generation u64, three u32, padded). */
const RECORD_HEADER_BYTES = 24;
/** Bytes per permission entry in a record (`struct xs_permissions`). */
const RECORD_PERM_BYTES = 8;
/** The generation of a node that does not exist. */
const NO_GENERATION = -1;
/** Permission bits. */
export const XS_PERM_READ = 1;
/** Write access. */
export const XS_PERM_WRITE = 2;
/** Owner (may change permissions). */
export const XS_PERM_OWNER = 4;
/** Characters a path may hold. */
const PATH_CHARS = /^[A-Za-z0-9\-/_@]*$/;
/** A permission entry's text. */
const PERM_TEXT = /^([nrwb])(0x[0-9a-fA-F]+|[0-9]+)$/;
/** Deepest path (3072 bytes of `/x` components): bounds the walks up the tree. */
const MAX_DEPTH = XENSTORE_ABS_PATH_MAX / 2;

interface _Node {
  readonly value: Uint8Array;
  readonly perms: readonly XsPerm[];
  readonly children: readonly string[];
  readonly generation: number;
}

interface _Access {
  /** Global generation when first read (checked at commit), or NO_GENERATION. */
  readonly generation: number;
  readonly checkGen: boolean;
  modified: boolean;
  /** The transaction's copy; null: absent in the transaction. */
  node: _Node | null;
  /** Permissions before the transaction touched the node. */
  readonly perms: readonly XsPerm[] | null;
  fireWatch: boolean;
  watchExact: boolean;
}

/** An open transaction: nodes copied on first access. */
export class XsTransaction {
  /** The id the client uses (`tx_id`). */
  readonly id: number;
  /** Who opened it. */
  readonly caller: XsCaller;
  /** Accessed nodes in first-access order. */
  readonly accessed: Map<string, _Access> = new Map();
  /** Nodes created in it (quota accounting). */
  created = 0;
  /** Set when an error left it inconsistent: commit answers `ENOMEM`, as xenstored does. */
  failed = false;

  /** An empty transaction. */
  constructor(id: number, caller: XsCaller) {
    this.id = id;
    this.caller = caller;
  }
}

/** Thrown inside an operation when a quota stops it; becomes an error value at the boundary. */
class _Stop extends Error {
  readonly code: XsErrorName;
  constructor(code: XsErrorName) {
    super(`Cannot continue the XenStore operation: ${code}`);
    this.name = "_Stop";
    this.code = code;
  }
}

const EMPTY = new Uint8Array(0);

/** The parent of absolute `path` (`/` for a top-level node). */
export function xsParent(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

function _basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function _child(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** True when `path` is a valid absolute node name (xenstored `is_valid_nodename`). */
export function isValidNodeName(path: string): boolean {
  if (!path.startsWith("/")) return false;
  if (path.endsWith("/") && path !== "/") return false;
  if (path.includes("//")) return false;
  if (path.length > XENSTORE_ABS_PATH_MAX) return false;
  return PATH_CHARS.test(path);
}

/** A domain's home: `/local/domain/<domid>`. */
export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

/** Permission bits of a letter. */
function _bits(letter: XsPermLetter): number {
  switch (letter) {
    case "n":
      return 0;
    case "r":
      return XS_PERM_READ;
    case "w":
      return XS_PERM_WRITE;
    case "b":
      return XS_PERM_READ | XS_PERM_WRITE;
  }
}

/** Permission entries as xenstored prints them (`n0`, `r1`). */
export function formatPerms(perms: readonly XsPerm[]): string[] {
  return perms.map((p) => `${p.perm}${p.id}`);
}

/** Parses `n0`, `r1`, `b0x7ff0` …; undefined when one is malformed (xenstored: `EINVAL`). */
export function parsePerms(texts: readonly string[]): XsPerm[] | undefined {
  const out: XsPerm[] = [];
  for (const text of texts) {
    const match = PERM_TEXT.exec(text);
    if (match === null) return undefined;
    const id = Number(match[2]);
    if (!Number.isSafeInteger(id) || id > 0xffff_ffff) return undefined;
    out.push({ id, perm: match[1] as XsPermLetter });
  }
  return out;
}

/** The XenStore database. */
export class XenStoreDb {
  /** Receives every committed change (xenstored fires watches from it). */
  onChange: (change: XsChange) => void = () => {};
  readonly #nodes = new Map<string, _Node>();
  readonly #owners = new Map<number, number>();
  readonly #domains: ReadonlySet<number>;
  #generation = 0;

  /** The tree xenstored starts with (`/`, `/tool`, `/tool/xenstored`), for domains `domains`. */
  constructor(domains: readonly number[]) {
    this.#domains = new Set(domains);
    const root: XsPerm[] = [{ id: 0, perm: "n" }];
    this.#globalPut("/", { value: EMPTY, perms: root, children: ["tool"], generation: 0 });
    this.#globalPut("/tool", { value: EMPTY, perms: root, children: ["xenstored"], generation: 0 });
    this.#globalPut("/tool/xenstored", { value: EMPTY, perms: root, children: [], generation: 0 });
  }

  /** Number of nodes. */
  get size(): number {
    return this.#nodes.size;
  }

  /** `path` made absolute for `caller` (relative paths are under `/local/domain/<domid>`). */
  canonical(caller: XsCaller, path: string): string {
    return path.startsWith("/") || path.startsWith("@") ? path : `${domainPath(caller.domid)}/${path}`;
  }

  /** The caller's permission bits on a node with `perms` (`perm_for_conn`). */
  permFor(caller: XsCaller, perms: readonly XsPerm[]): number {
    const owner = perms[0];
    if (caller.privileged || owner === undefined || owner.id === caller.domid) {
      return XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
    }
    for (let i = 1; i < perms.length; i++) {
      const entry = perms[i];
      if (entry !== undefined && entry.id === caller.domid) return _bits(entry.perm);
    }
    return _bits(owner.perm);
  }

  /** `XS_READ`: the value. */
  read(caller: XsCaller, tx: XsTransaction | undefined, path: string): Uint8Array | XenStoreError {
    return this.#op(() => {
      const node = this.#getNode(caller, tx, this.canonical(caller, path), XS_PERM_READ);
      return node instanceof XenStoreError ? node : node.value;
    });
  }

  /** `XS_WRITE`: sets the value, creating the node and missing parents. */
  write(
    caller: XsCaller,
    tx: XsTransaction | undefined,
    path: string,
    value: Uint8Array | string,
  ): XenStoreError | undefined {
    const bytes = typeof value === "string" ? latin1ToBytes(value) : value;
    return this.#op(() => {
      const name = this.canonical(caller, path);
      const node = this.#getNode(caller, tx, name, XS_PERM_WRITE);
      if (node instanceof XenStoreError) {
        if (node.code !== "ENOENT") return node;
        const created = this.#create(caller, tx, name, bytes);
        if (created instanceof XenStoreError) return created;
        this.#changed(tx, name, false, created, null);
        return undefined;
      }
      const updated = { ...node, value: bytes };
      this.#checkSize(caller, updated);
      this.#store(tx, name, updated);
      this.#changed(tx, name, false, updated, null);
      return undefined;
    });
  }

  /** `XS_MKDIR`: creates an empty node (and parents); an existing node is fine. */
  mkdir(caller: XsCaller, tx: XsTransaction | undefined, path: string): XenStoreError | undefined {
    return this.#op(() => {
      const name = this.canonical(caller, path);
      const node = this.#getNode(caller, tx, name, XS_PERM_WRITE);
      if (!(node instanceof XenStoreError)) return undefined;
      if (node.code !== "ENOENT") return node;
      const created = this.#create(caller, tx, name, EMPTY);
      if (created instanceof XenStoreError) return created;
      this.#changed(tx, name, false, created, null);
      return undefined;
    });
  }

  /** `XS_RM`: removes the subtree; a missing node is fine if its parent exists. */
  rm(caller: XsCaller, tx: XsTransaction | undefined, path: string): XenStoreError | undefined {
    return this.#op(() => {
      const name = this.canonical(caller, path);
      const node = this.#getNode(caller, tx, name, XS_PERM_WRITE);
      if (node instanceof XenStoreError) {
        if (node.code !== "ENOENT") return node;
        return this.#lookup(tx, xsParent(name)) === undefined ? new XenStoreError("ENOENT") : undefined;
      }
      if (name === "/") return new XenStoreError("EINVAL");
      const parentName = xsParent(name);
      const parent = this.#lookup(tx, parentName);
      if (parent === undefined) return new XenStoreError("EINVAL");
      this.#removeTree(tx, name, node, parent.perms);
      const base = _basename(name);
      this.#store(tx, parentName, { ...parent, children: parent.children.filter((c) => c !== base) });
      return undefined;
    });
  }

  /** `XS_DIRECTORY`: the child names. */
  directory(caller: XsCaller, tx: XsTransaction | undefined, path: string): string[] | XenStoreError {
    return this.#op(() => {
      const node = this.#getNode(caller, tx, this.canonical(caller, path), XS_PERM_READ);
      return node instanceof XenStoreError ? node : [...node.children];
    });
  }

  /**
   * `XS_DIRECTORY_PART`: the reply payload for the child list from byte `offset` (generation, then as
   * many NUL-terminated names as fit, then an extra NUL when the list ends).
   */
  directoryPart(
    caller: XsCaller,
    tx: XsTransaction | undefined,
    path: string,
    offset: number,
  ): Uint8Array | XenStoreError {
    return this.#op(() => {
      const node = this.#getNode(caller, tx, this.canonical(caller, path), XS_PERM_READ);
      if (node instanceof XenStoreError) return node;
      const list = node.children.map((c) => `${c}\0`).join("");
      const gen = `${Math.max(node.generation, 0)}\0`;
      if (offset >= list.length) return latin1ToBytes(`${gen}\0`);
      const room = XENSTORE_PAYLOAD_MAX - gen.length - 1;
      let end = offset;
      while (end < list.length) {
        const next = list.indexOf("\0", end) + 1;
        if (next - offset > room) break;
        end = next;
      }
      return latin1ToBytes(gen + list.slice(offset, end) + (end === list.length ? "\0" : ""));
    });
  }

  /** `XS_GET_PERMS`. */
  getPerms(caller: XsCaller, tx: XsTransaction | undefined, path: string): XsPerm[] | XenStoreError {
    return this.#op(() => {
      const node = this.#getNode(caller, tx, this.canonical(caller, path), XS_PERM_READ);
      return node instanceof XenStoreError ? node : [...node.perms];
    });
  }

  /** `XS_SET_PERMS`: only the owner (or Dom0); an unprivileged owner may not give the node away. */
  setPerms(
    caller: XsCaller,
    tx: XsTransaction | undefined,
    path: string,
    perms: readonly XsPerm[],
  ): XenStoreError | undefined {
    return this.#op(() => {
      if (perms.length === 0) return new XenStoreError("EINVAL");
      if (!caller.privileged && perms.length > XS_QUOTAS.permsPerNode) return new XenStoreError("ENOSPC");
      const owner = perms[0];
      if (owner === undefined || !this.#domains.has(owner.id)) return new XenStoreError("ENOENT");
      const name = this.canonical(caller, path);
      if (name.startsWith("@")) return new XenStoreError(caller.privileged ? "EINVAL" : "EACCES");
      const node = this.#getNode(caller, tx, name, XS_PERM_WRITE | XS_PERM_OWNER);
      if (node instanceof XenStoreError) return node;
      if (!caller.privileged && node.perms[0]?.id !== owner.id) return new XenStoreError("EPERM");
      const updated = { ...node, perms: [...perms] };
      this.#checkSize(caller, updated);
      this.#store(tx, name, updated);
      this.#changed(tx, name, false, updated, node.perms);
      return undefined;
    });
  }

  /** Opens a transaction for `caller` with id `id` (the connection picks ids). */
  startTransaction(caller: XsCaller, id: number): XsTransaction {
    this.#generation++;
    return new XsTransaction(id, caller);
  }

  /** Ends `tx`: `commit` false drops it; true applies it, or answers `EAGAIN` when a node it read changed. */
  endTransaction(tx: XsTransaction, commit: boolean): XenStoreError | undefined {
    if (!commit) return undefined;
    if (tx.failed) return new XenStoreError("ENOMEM");
    for (const [path, access] of tx.accessed) {
      if (!access.checkGen) continue;
      const now = this.#nodes.get(path)?.generation ?? NO_GENERATION;
      if (now !== access.generation) return new XenStoreError("EAGAIN");
    }
    for (const [path, access] of tx.accessed) {
      if (!access.modified) continue;
      if (access.node !== null) this.#globalPut(path, access.node);
      else if (this.#nodes.has(path)) this.#globalDelete(path);
    }
    for (const [path, access] of tx.accessed) {
      if (access.fireWatch) this.#emit(path, access.watchExact, this.#nodes.get(path) ?? null, access.perms);
    }
    return undefined;
  }

  /** Runs an operation, turning a quota stop into an error value. */
  #op<T>(body: () => T | XenStoreError): T | XenStoreError {
    try {
      return body();
    } catch (error) {
      if (error instanceof _Stop) return new XenStoreError(error.code);
      throw error;
    }
  }

  /** A node as `tx` sees it (recording the access), or the global node. */
  #lookup(tx: XsTransaction | undefined, path: string): _Node | undefined {
    if (tx === undefined) return this.#nodes.get(path);
    const seen = tx.accessed.get(path);
    if (seen !== undefined) return seen.node ?? undefined;
    const node = this.#nodes.get(path);
    this.#track(tx, path, {
      generation: node?.generation ?? NO_GENERATION,
      checkGen: true,
      modified: false,
      node: node ?? null,
      perms: node?.perms ?? null,
      fireWatch: false,
      watchExact: true,
    });
    return node;
  }

  #track(tx: XsTransaction, path: string, access: _Access): void {
    if (tx.accessed.size >= XS_QUOTAS.transactionNodes) {
      tx.failed = true;
      throw new _Stop("ENOSPC");
    }
    tx.accessed.set(path, access);
  }

  /** Stores (or, with undefined, deletes) a node in `tx` or globally. */
  #store(tx: XsTransaction | undefined, path: string, node: _Node | undefined): void {
    if (tx === undefined) {
      if (node !== undefined) this.#globalPut(path, node);
      else this.#globalDelete(path);
      return;
    }
    const seen = tx.accessed.get(path);
    if (seen !== undefined) {
      seen.modified = true;
      seen.node = node ?? null;
      return;
    }
    const global = this.#nodes.get(path);
    this.#track(tx, path, {
      generation: NO_GENERATION,
      checkGen: false,
      modified: true,
      node: node ?? null,
      perms: global?.perms ?? null,
      fireWatch: false,
      watchExact: true,
    });
  }

  #globalPut(path: string, node: _Node): void {
    const old = this.#nodes.get(path);
    if (old !== undefined) this.#countOwner(old.perms, -1);
    const stored = { ...node, generation: ++this.#generation };
    this.#nodes.set(path, stored);
    this.#countOwner(stored.perms, 1);
  }

  #globalDelete(path: string): void {
    const old = this.#nodes.get(path);
    if (old === undefined) return;
    this.#countOwner(old.perms, -1);
    this.#nodes.delete(path);
    this.#generation++;
  }

  #countOwner(perms: readonly XsPerm[], delta: number): void {
    const owner = perms[0]?.id;
    if (owner !== undefined) this.#owners.set(owner, (this.#owners.get(owner) ?? 0) + delta);
  }

  /** `get_node`: the node if the caller has `perm` on it, else `EINVAL`/`ENOENT`/`EACCES`. */
  #getNode(
    caller: XsCaller,
    tx: XsTransaction | undefined,
    path: string,
    perm: number,
  ): _Node | XenStoreError {
    if (!isValidNodeName(path)) return new XenStoreError("EINVAL");
    const node = this.#lookup(tx, path);
    if (node !== undefined && (this.permFor(caller, node.perms) & perm) === perm) return node;
    return this.#errnoFromParents(caller, tx, path, node === undefined ? "ENOENT" : "EACCES", perm);
  }

  /** `errno_from_parents`: hides whether a node exists from a caller who may not see its ancestor. */
  #errnoFromParents(
    caller: XsCaller,
    tx: XsTransaction | undefined,
    path: string,
    code: XsErrorName,
    perm: number,
  ): XenStoreError {
    let name = path;
    for (let depth = 0; name !== "/" && depth < MAX_DEPTH; depth++) {
      name = xsParent(name);
      const ancestor = this.#lookup(tx, name);
      if (ancestor !== undefined) {
        return new XenStoreError((this.permFor(caller, ancestor.perms) & perm) !== 0 ? code : "EACCES");
      }
    }
    return new XenStoreError("EACCES");
  }

  /** `create_node`: the node and any missing parents, inheriting permissions; the caller owns them. */
  #create(
    caller: XsCaller,
    tx: XsTransaction | undefined,
    path: string,
    value: Uint8Array,
  ): _Node | XenStoreError {
    const missing: string[] = [path];
    let parentName = xsParent(path);
    let parent = this.#lookup(tx, parentName);
    while (parent === undefined) {
      if (parentName === "/" || missing.length > MAX_DEPTH) return new XenStoreError("EINVAL");
      missing.push(parentName);
      parentName = xsParent(parentName);
      parent = this.#lookup(tx, parentName);
    }
    if (!caller.privileged) {
      const owned = (this.#owners.get(caller.domid) ?? 0) + (tx?.created ?? 0);
      if (owned + missing.length > XS_QUOTAS.entriesPerDomain) return new XenStoreError("ENOSPC");
    }
    const writes: [string, _Node][] = [];
    let node: _Node = parent;
    for (let i = missing.length - 1; i >= 0; i--) {
      const name = missing[i] as string;
      const perms = node.perms.map((p, at) =>
        at === 0 && !caller.privileged ? { id: caller.domid, perm: p.perm } : p
      );
      const withChild = { ...node, children: [...node.children, _basename(name)] };
      const child: _Node = { value: i === 0 ? value : EMPTY, perms, children: [], generation: 0 };
      this.#checkSize(caller, withChild);
      this.#checkSize(caller, child);
      writes.push([parentName, withChild], [name, child]);
      node = child;
      parentName = name;
    }
    for (const [name, written] of writes) this.#store(tx, name, written);
    if (tx !== undefined) tx.created += missing.length;
    return node;
  }

  /** Removes `root` and everything below it, children first, reporting each removed node. */
  #removeTree(
    tx: XsTransaction | undefined,
    root: string,
    rootNode: _Node,
    parentPerms: readonly XsPerm[],
  ): void {
    const stack: { path: string; node: _Node; perms: readonly XsPerm[]; expanded: boolean }[] = [
      { path: root, node: rootNode, perms: parentPerms, expanded: false },
    ];
    // Each node is pushed once and expanded once: the walk is bounded by the size of the subtree.
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top === undefined) break;
      if (!top.expanded) {
        top.expanded = true;
        for (const name of [...top.node.children].reverse()) {
          const path = _child(top.path, name);
          const node = this.#lookup(tx, path);
          if (node !== undefined) stack.push({ path, node, perms: top.node.perms, expanded: false });
        }
        continue;
      }
      stack.pop();
      this.#store(tx, top.path, undefined);
      this.#changedRemoved(tx, top.path, top.path !== root, top.node, top.perms);
    }
  }

  /** Reports a change of `path` (now `node`), or queues it in `tx` until commit. */
  #changed(
    tx: XsTransaction | undefined,
    path: string,
    exact: boolean,
    node: _Node | null,
    oldPerms: readonly XsPerm[] | null,
  ): void {
    if (tx !== undefined) {
      const access = tx.accessed.get(path);
      if (access === undefined) return;
      access.watchExact = access.fireWatch ? access.watchExact && exact : exact;
      access.fireWatch = true;
      return;
    }
    this.#emit(path, exact, node, oldPerms);
  }

  #changedRemoved(
    tx: XsTransaction | undefined,
    path: string,
    exact: boolean,
    node: _Node,
    parentPerms: readonly XsPerm[],
  ): void {
    if (tx !== undefined) {
      this.#changed(tx, path, exact, null, null);
      return;
    }
    this.onChange({ path, exact, perms: [node.perms, parentPerms] });
  }

  #emit(path: string, exact: boolean, node: _Node | null, oldPerms: readonly XsPerm[] | null): void {
    const perms: (readonly XsPerm[])[] = [];
    if (oldPerms !== null) perms.push(oldPerms);
    if (node !== null) {
      perms.push(node.perms);
      const parent = this.#nodes.get(xsParent(path));
      if (parent !== undefined && path !== "/") perms.push(parent.perms);
    }
    this.onChange({ path, exact, perms });
  }

  /** Refuses (with `ENOSPC`) a record an unprivileged domain may not write. */
  #checkSize(caller: XsCaller, node: _Node): void {
    if (caller.privileged) return;
    let childBytes = 0;
    for (const child of node.children) childBytes += child.length + 1;
    const size = RECORD_HEADER_BYTES + RECORD_PERM_BYTES * node.perms.length + node.value.length + childBytes;
    if (size >= XS_QUOTAS.maxEntrySize) throw new _Stop("ENOSPC");
  }

  /** Every node as `path = "value" (perms)` lines, sorted (diagnostics and tests). */
  dump(): string[] {
    return [...this.#nodes.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([path, node]) =>
      `${path} = "${bytesToLatin1(node.value)}" (${formatPerms(node.perms).join(",")})`
    );
  }
}
