/**
 * Test fixtures from the real device-tree tools of Debian's `device-tree-compiler` package: blobs built by
 * `dtc` (cached under `.cache/fixtures/`, keyed by a hash of the arguments and source), blobs decompiled
 * by `dtc`, and the package's `libfdt.so.1` loaded through FFI as an oracle for libfdt's behaviour.
 *
 * Host I/O module: it runs processes, reads and writes the cache, and opens a shared library.
 * The libfdt oracle needs `--allow-ffi`; without it (or without the library) {@linkcode openLibfdt}
 * returns undefined and tests that need it should be ignored.
 *
 * @module
 */

const CACHE_DIR = new URL("../.cache/fixtures/", import.meta.url);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** True when a `dtc` executable can be run. */
export function hasDtc(): boolean {
  try {
    return new Deno.Command("dtc", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function runDtc(args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("dtc", { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const output = await child.output();
  if (!output.success) {
    throw new Error(`Cannot run dtc ${args.join(" ")}: ${decoder.decode(output.stderr).trim()}`);
  }
  return output.stdout;
}

/**
 * Compiles device tree source with `dtc -I dts -O dtb` (plus `extraArgs`, e.g. `["-@"]`), from the cache
 * when the same source was compiled before.
 */
export async function compileDts(source: string, extraArgs: readonly string[] = []): Promise<Uint8Array> {
  const args = ["-I", "dts", "-O", "dtb", "-q", ...extraArgs, "-"];
  const key = await sha256Hex(encoder.encode(`${args.join("\0")}\0${source}`));
  const file = new URL(`${key}.dtb`, CACHE_DIR);
  try {
    return await Deno.readFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const blob = await runDtc(args, encoder.encode(source));
  await Deno.mkdir(CACHE_DIR, { recursive: true });
  // Write then rename, so that parallel tests never read half a file.
  const temp = new URL(`${key}.${crypto.randomUUID()}.tmp`, CACHE_DIR);
  await Deno.writeFile(temp, blob);
  await Deno.rename(temp, file);
  return blob;
}

/** Decompiles a blob with `dtc -I dtb -O dts` (warnings are dropped). */
export async function decompileDtb(blob: Uint8Array): Promise<string> {
  return decoder.decode(await runDtc(["-I", "dtb", "-O", "dts", "-q", "-"], blob));
}

const LIBFDT_SYMBOLS = {
  fdt_check_header: { parameters: ["buffer"], result: "i32" },
  fdt_path_offset: { parameters: ["buffer", "buffer"], result: "i32" },
  fdt_next_node: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  fdt_first_subnode: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_next_subnode: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_first_property_offset: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_next_property_offset: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_getprop: { parameters: ["buffer", "i32", "buffer", "buffer"], result: "pointer" },
  fdt_get_path: { parameters: ["buffer", "i32", "buffer", "i32"], result: "i32" },
  fdt_parent_offset: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_node_offset_by_phandle: { parameters: ["buffer", "u32"], result: "i32" },
  fdt_node_offset_by_compatible: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  fdt_address_cells: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_size_cells: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_num_mem_rsv: { parameters: ["buffer"], result: "i32" },
  fdt_setprop: { parameters: ["buffer", "i32", "buffer", "buffer", "i32"], result: "i32" },
  fdt_appendprop: { parameters: ["buffer", "i32", "buffer", "buffer", "i32"], result: "i32" },
  fdt_delprop: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  fdt_add_subnode: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  fdt_del_node: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_set_name: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  fdt_nop_node: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_nop_property: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  fdt_setprop_inplace: { parameters: ["buffer", "i32", "buffer", "buffer", "i32"], result: "i32" },
  fdt_add_mem_rsv: { parameters: ["buffer", "u64", "u64"], result: "i32" },
  fdt_del_mem_rsv: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_open_into: { parameters: ["buffer", "buffer", "i32"], result: "i32" },
  fdt_pack: { parameters: ["buffer"], result: "i32" },
  fdt_create_empty_tree: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_create: { parameters: ["buffer", "i32"], result: "i32" },
  fdt_add_reservemap_entry: { parameters: ["buffer", "u64", "u64"], result: "i32" },
  fdt_finish_reservemap: { parameters: ["buffer"], result: "i32" },
  fdt_begin_node: { parameters: ["buffer", "buffer"], result: "i32" },
  fdt_end_node: { parameters: ["buffer"], result: "i32" },
  fdt_property: { parameters: ["buffer", "buffer", "buffer", "i32"], result: "i32" },
  fdt_finish: { parameters: ["buffer"], result: "i32" },
} as const;

/** The real libfdt (Debian's `libfdt.so.1`), called with byte arrays and JavaScript strings. */
export interface Libfdt {
  /** The raw symbols (buffers are `Uint8Array`s; strings must be NUL-terminated, see {@linkcode cString}). */
  readonly symbols: Deno.DynamicLibrary<typeof LIBFDT_SYMBOLS>["symbols"];
  /** `fdt_getprop`: the value bytes, or the negative error. */
  getprop(fdt: Uint8Array, node: number, name: string): Uint8Array | number;
  /** `fdt_get_path`: the path, or the negative error. */
  getPath(fdt: Uint8Array, node: number): string | number;
  /** `fdt_next_node` with a depth counter. */
  nextNode(fdt: Uint8Array, offset: number, depth: number): { offset: number; depth: number };
  /** Unloads the library. */
  close(): void;
}

/** `text` as a NUL-terminated UTF-8 buffer for C. */
export function cString(text: string): Uint8Array {
  return encoder.encode(`${text}\0`);
}

/** Loads libfdt, or returns undefined when FFI is not permitted or the library is missing. */
export function openLibfdt(): Libfdt | undefined {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  let lib: Deno.DynamicLibrary<typeof LIBFDT_SYMBOLS>;
  try {
    lib = Deno.dlopen("libfdt.so.1", LIBFDT_SYMBOLS);
  } catch {
    return undefined;
  }
  const s = lib.symbols;
  return {
    symbols: s,
    getprop(fdt, node, name) {
      const lenp = new Int32Array(1);
      const pointer = s.fdt_getprop(fdt, node, cString(name), new Uint8Array(lenp.buffer));
      const len = lenp[0] ?? 0;
      if (pointer === null) return len;
      return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer, len)).slice();
    },
    getPath(fdt, node) {
      const buf = new Uint8Array(4096);
      const err = s.fdt_get_path(fdt, node, buf, buf.length);
      return err < 0 ? err : decoder.decode(buf.subarray(0, buf.indexOf(0)));
    },
    nextNode(fdt, offset, depth) {
      const d = new Int32Array([depth]);
      const next = s.fdt_next_node(fdt, offset, new Uint8Array(d.buffer));
      return { offset: next, depth: d[0] ?? 0 };
    },
    close: () => lib.close(),
  };
}
