import assert from "node:assert/strict";
import { SLRE_CODE_SIZE, SLRE_DATA_SIZE, slreCompile, SlreCompileError, SlreOp } from "./compile.ts";

function codeOf(pattern: string): number[] {
  const program = slreCompile(pattern);
  return [...program.code.subarray(0, program.codeSize)];
}

function reasonOf(pattern: string): string {
  try {
    slreCompile(pattern);
  } catch (e) {
    if (e instanceof SlreCompileError) return e.reason;
    throw e;
  }
  assert.fail(`"${pattern}" compiled`);
}

const { END, BRANCH, EXACT, ANYOF, OPEN, CLOSE, BOL, PLUS, STAR, DIGIT } = SlreOp;

Deno.test("a literal run compiles to one EXACT inside capture 0", () => {
  assert.deepEqual(codeOf("is"), [OPEN, 0, EXACT, 0, 2, CLOSE, 0, END]);
});

Deno.test("a quantifier after a literal run applies to its last byte only", () => {
  // "ab+" is EXACT "a" then PLUS over EXACT "b".
  assert.deepEqual(codeOf("ab+"), [OPEN, 0, EXACT, 0, 1, PLUS, 6, EXACT, 1, 1, END, CLOSE, 0, END]);
});

Deno.test("a character set stores its bytes literally, with no ranges", () => {
  const program = slreCompile("[0-9]");
  assert.deepEqual([...program.code.subarray(2, 5)], [ANYOF, 0, 3]);
  assert.deepEqual([...program.data.subarray(0, 3)], [0x30, 0x2d, 0x39]);
});

Deno.test("\\d inside a set stores a 0 byte and the DIGIT opcode", () => {
  const program = slreCompile("[\\d]");
  assert.deepEqual([...program.data.subarray(0, 2)], [0, DIGIT]);
});

Deno.test("a top-level alternation gets its branch fixed up and ends in END", () => {
  assert.deepEqual(codeOf("a|b"), [
    OPEN,
    0,
    BRANCH,
    7,
    11,
    EXACT,
    0,
    1,
    END,
    EXACT,
    1,
    1,
    END,
    CLOSE,
    0,
    END,
  ]);
});

Deno.test("groups are numbered from 1 in order of their opening bracket", () => {
  const program = slreCompile("((a)(b))");
  assert.equal(program.numCaps, 3);
});

Deno.test("a leading caret anchors the whole pattern, alternatives included", () => {
  assert.equal(slreCompile("^a|b").anchored, true);
  assert.equal(slreCompile("b|^a").anchored, false);
  assert.deepEqual(codeOf("^a").slice(2, 3), [BOL]);
});

Deno.test("a quantifier with nothing before it wraps an empty program", () => {
  assert.deepEqual(codeOf("*a"), [OPEN, 0, STAR, 3, END, EXACT, 0, 1, CLOSE, 0, END]);
});

Deno.test("an unterminated set is 'No closing ']' bracket'", () => {
  assert.equal(reasonOf("[abc"), "No closing ']' bracket");
  assert.equal(reasonOf("[a\\"), "No closing ']' bracket");
});

Deno.test("an unterminated group is 'No closing bracket'", () => {
  assert.equal(reasonOf("(ab"), "No closing bracket");
  assert.equal(reasonOf("((a)"), "No closing bracket");
});

Deno.test("a stray closing bracket is 'Unbalanced brackets' instead of U-Boot's endless loop", () => {
  assert.equal(reasonOf("a)b"), "Unbalanced brackets");
  assert.equal(reasonOf("(a))"), "Unbalanced brackets");
});

Deno.test("more code than the 256-byte buffer is a code overflow", () => {
  assert.equal(reasonOf(".".repeat(SLRE_CODE_SIZE)), "RE is too long (code overflow)");
  assert.doesNotThrow(() => slreCompile(".".repeat(SLRE_CODE_SIZE - 5)));
});

Deno.test("more literal bytes than the 256-byte data buffer is a data overflow", () => {
  assert.equal(reasonOf("x".repeat(SLRE_DATA_SIZE + 1)), "RE is too long (data overflow)");
  assert.doesNotThrow(() => slreCompile("x".repeat(SLRE_DATA_SIZE)));
});

Deno.test("deeply nested groups end in an error without exhausting the stack", () => {
  assert.equal(reasonOf("(".repeat(100_000)), "RE is too long (code overflow)");
});

Deno.test("the pattern ends at its first NUL as a C string does", () => {
  assert.deepEqual(codeOf("ab\0cd"), codeOf("ab"));
});

Deno.test("the compile error names the action and keeps SLRE's text", () => {
  assert.throws(() => slreCompile("("), (e: unknown) => {
    assert.ok(e instanceof SlreCompileError);
    assert.equal(e.name, "SlreCompileError");
    assert.equal(e.message, "Cannot compile regex: No closing bracket");
    return true;
  });
});
