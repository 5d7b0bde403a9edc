/**
 * Fixture disk images for tests: `ensureFixture(name)` builds the image with the real tools (see
 * scripts/fixtures/) into `.cache/fixtures/` and returns its path; later calls (and later runs) reuse
 * it while the recipe sources are unchanged (the file name carries a hash of them). Safe when several
 * test processes ask at once: each builds in its own folder and renames into place.
 * Host I/O, so it uses `Deno.*`.
 *
 * Run as a script to build and print paths: `deno run -A tests/fixtures.ts gpt mbr floppy`.
 *
 * @module
 */

import { FIXTURE_RECIPES } from "../scripts/fixtures/recipes.ts";
import { sha256Hex } from "./conformance/hashing.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const RECIPE_DIR = `${ROOT}/scripts/fixtures`;
/** Where built images are kept. */
export const FIXTURE_CACHE_DIR = `${ROOT}/.cache/fixtures`;
/** Hex digits of the recipe hash kept in file names. */
const HASH_CHARS = 16;

/** No recipe has this name. */
export class UnknownFixtureError extends Error {
  /** @param fixture the name asked for */
  constructor(readonly fixture: string) {
    super(
      `Cannot build fixture: no recipe named "${fixture}" (have: ${[...FIXTURE_RECIPES.keys()].join(", ")})`,
    );
    this.name = "UnknownFixtureError";
  }
}

/**
 * Hash of everything a recipe depends on: every non-test source file in scripts/fixtures/ (the
 * recipes share helpers, so any change rebuilds all) and the recipe's name.
 */
export async function recipeHash(name: string): Promise<string> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(RECIPE_DIR)) {
    if (entry.isFile && entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      names.push(entry.name);
    }
  }
  names.sort();
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode(`recipe:${name}\n`)];
  for (const file of names) {
    parts.push(enc.encode(`file:${file}\n`), await Deno.readFile(`${RECIPE_DIR}/${file}`));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return (await sha256Hex(all)).slice(0, HASH_CHARS);
}

const _inFlight = new Map<string, Promise<string>>();

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function _build(name: string): Promise<string> {
  const recipe = FIXTURE_RECIPES.get(name);
  if (recipe === undefined) throw new UnknownFixtureError(name);
  const path = `${FIXTURE_CACHE_DIR}/${name}-${await recipeHash(name)}.img`;
  if (await _exists(path)) return path;
  await Deno.mkdir(FIXTURE_CACHE_DIR, { recursive: true });
  const work = await Deno.makeTempDir({ dir: FIXTURE_CACHE_DIR, prefix: `build-${name}-` });
  try {
    const out = `${work}/${name}.img`;
    await recipe.build(out, work);
    await Deno.rename(out, path);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return path;
}

/**
 * Path of the fixture image `name` ("gpt", "mbr", "floppy"), building it first if needed.
 *
 * @example
 * ```ts ignore
 * const gpt = await ensureFixture("gpt");
 * ```
 */
export function ensureFixture(name: string): Promise<string> {
  let pending = _inFlight.get(name);
  if (pending === undefined) {
    pending = _build(name);
    _inFlight.set(name, pending);
    pending.catch(() => _inFlight.delete(name));
  }
  return pending;
}

if (import.meta.main) {
  const names = Deno.args.length > 0 ? Deno.args : [...FIXTURE_RECIPES.keys()];
  for (const name of names) console.log(await ensureFixture(name));
}
