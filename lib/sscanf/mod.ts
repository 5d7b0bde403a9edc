/**
 * U-Boot's `sscanf` (lib/sscanf.c): see {@linkcode sscanf}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sscanf } from "./mod.ts";
 *
 * assert.deepEqual(sscanf("51712", "%d"), { count: 1, values: [51712n] });
 * ```
 *
 * @module
 */

export { sscanf, SSCANF_MAX_NUMBER_CHARS, type SscanfResult } from "./sscanf.ts";
