/**
 * SHA-256 as lowercase hex (Web Crypto; no host I/O).
 *
 * @module
 */

/**
 * SHA-256 of `data` as 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const h = await sha256Hex(new Uint8Array(0));
 * assert.ok(h.startsWith("e3b0c442"));
 * ```
 */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
