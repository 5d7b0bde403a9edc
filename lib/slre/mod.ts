/**
 * SLRE, U-Boot 2023.01's regular expressions (lib/slre.c), and the `setexpr sub`/`gsub` engine built
 * on it: compile a pattern, match it, substitute with backreferences.
 *
 * @module
 */

export {
  SLRE_CODE_SIZE,
  SLRE_DATA_SIZE,
  slreCompile,
  SlreCompileError,
  SlreOp,
  type SlreProgram,
} from "./compile.ts";
export {
  byteStringToBytes,
  SLRE_MAX_STEPS,
  type SlreCapture,
  slreCaptures,
  slreMatch,
  slreMatchString,
  type SlreStepBudget,
  slreStepBudget,
  SlreStepLimitError,
} from "./match.ts";
export { regexSubstitute, SLRE_BUFSZ, SLRE_PATSZ, type SubstituteOutcome } from "./substitute.ts";
