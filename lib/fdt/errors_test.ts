import assert from "node:assert/strict";
import * as errors from "./errors.ts";
import { FDT_ERR_MAX, FDT_ERR_NOSPACE, FdtError, fdtErrorFrom, fdtStrerror } from "./errors.ts";

Deno.test("fdt_strerror names every error code as its constant is named", () => {
  const constants = Object.entries(errors).filter(([name]) =>
    name.startsWith("FDT_ERR_") && name !== "FDT_ERR_MAX"
  );
  assert.equal(constants.length, FDT_ERR_MAX);
  for (const [name, value] of constants) assert.equal(fdtStrerror(-(value as number)), name);
});

Deno.test("fdt_strerror describes non-errors and unknown codes as libfdt does", () => {
  assert.equal(fdtStrerror(0), "<no error>");
  assert.equal(fdtStrerror(12), "<valid offset/length>");
  assert.equal(fdtStrerror(-(FDT_ERR_MAX + 1)), "<unknown error>");
  assert.equal(fdtStrerror(-1000), "<unknown error>");
});

Deno.test("an FdtError carries its code, name and libfdt return value", () => {
  const error = new FdtError(FDT_ERR_NOSPACE, "set property");
  assert.equal(error.name, "FdtError");
  assert.equal(error.code, FDT_ERR_NOSPACE);
  assert.equal(error.errName, "FDT_ERR_NOSPACE");
  assert.equal(error.errval, -3);
  assert.equal(error.message, "Cannot set property: FDT_ERR_NOSPACE");
  assert.equal(fdtErrorFrom(-FDT_ERR_NOSPACE, "x").code, FDT_ERR_NOSPACE);
  assert.equal(fdtErrorFrom(-99, "x").errName, "FDT_ERR_INTERNAL");
});
