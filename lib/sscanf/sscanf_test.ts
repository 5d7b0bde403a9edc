import assert from "node:assert/strict";
import { sscanf } from "./sscanf.ts";

// Expected results come from U-Boot's test/lib/sscanf.c (lib_sscanf) unless marked as derived from
// the rules of lib/sscanf.c.

Deno.test("an empty input gives EOF (-1) for a conversion", () => {
  assert.equal(sscanf("", "%d").count, -1);
});

Deno.test("%x reads hex with or without 0x and stops at a non-hex digit", () => {
  assert.deepEqual(sscanf("0x519", "%x"), { count: 1, values: [0x519n] });
  assert.deepEqual(sscanf("0x51a", "%x"), { count: 1, values: [0x51an] });
  assert.deepEqual(sscanf("0x51g", "%x"), { count: 1, values: [0x51n] });
  assert.deepEqual(sscanf("1234 02aBcdEf ff", "%x %x %x"), {
    count: 3,
    values: [0x1234n, 0x2abcdefn, 0xffn],
  });
});

Deno.test("%*c skips a character and %[^\\n] reads up to the newline", () => {
  const pname = " Hello World!\n";
  const r = sscanf(` ${pname}`, "%*c%[^\n]");
  assert.equal(r.count, 1);
  assert.equal(r.values[0], " Hello World!");
});

Deno.test("%n stores the characters consumed without being counted", () => {
  assert.deepEqual(sscanf("21:59:20", "%d%n"), { count: 1, values: [21n, 2n] });
  assert.deepEqual(sscanf(":59:20", "%*c%n"), { count: 0, values: [1n] });
});

Deno.test("%i and %d read decimal", () => {
  assert.deepEqual(sscanf("123", "%i"), { count: 1, values: [123n] });
  assert.deepEqual(sscanf("123", "%d"), { count: 1, values: [123n] });
});

Deno.test("literals must match; a format without conversions returns 0", () => {
  assert.equal(sscanf("hello world", "hello world").count, 0);
  assert.equal(sscanf("hello world", "good bye").count, 0);
  assert.equal(sscanf("hello world 3", "hello worlb %u").count, 0);
});

Deno.test("%u must match at the start; trailing text is fine", () => {
  assert.equal(sscanf("hello 3", "%u").count, 0);
  assert.deepEqual(sscanf("3 hello", "%u"), { count: 1, values: [3n] });
  assert.deepEqual(sscanf("12345", "%u"), { count: 1, values: [12345n] });
  assert.deepEqual(sscanf("0", "%u"), { count: 1, values: [0n] });
  assert.deepEqual(sscanf("0000", "%u"), { count: 1, values: [0n] });
  assert.equal(sscanf("A", "%u").count, 0);
});

Deno.test("widths limit numbers", () => {
  assert.deepEqual(sscanf("123456", "%2u%u"), { count: 2, values: [12n, 3456n] });
  assert.deepEqual(sscanf("123456", "%8u"), { count: 1, values: [123456n] });
  assert.deepEqual(sscanf("123457  ", "%8u"), { count: 1, values: [123457n] });
  assert.deepEqual(sscanf("!12:3:456", "!%2u:%2u:%3u"), { count: 3, values: [12n, 3n, 456n] });
  assert.deepEqual(sscanf("67:8:099", "%2u:%2u:%3u"), { count: 3, values: [67n, 8n, 99n] });
  assert.deepEqual(sscanf("12:03:000000000000000099", "%2u:%2u:%u"), {
    count: 3,
    values: [12n, 3n, 99n],
  });
  assert.deepEqual(sscanf("f00dcafe444", "%4x%4x%u"), { count: 3, values: [0xf00dn, 0xcafen, 444n] });
});

Deno.test("%% matches a literal percent sign", () => {
  assert.deepEqual(sscanf("99% fresh", "%3u%% fresh"), { count: 1, values: [99n] });
  assert.equal(sscanf("99 fresh", "%% %3u %s").count, 0);
  assert.equal(sscanf("99 fresh", "%3u%% %s").count, 1);
  assert.deepEqual(sscanf("99 fresh", "%3u %5s %%"), { count: 2, values: [99n, "fresh"] });
  assert.deepEqual(sscanf("% boo", "%% %3s"), { count: 1, values: ["boo"] });
});

Deno.test("%s stops at whitespace or its width", () => {
  assert.deepEqual(sscanf("hello", "%3s%7s"), { count: 2, values: ["hel", "lo"] });
  assert.deepEqual(sscanf("WD40", "%2s%u"), { count: 2, values: ["WD", 40n] });
  assert.deepEqual(sscanf("76trombones", "%6u%9s"), { count: 2, values: [76n, "trombones"] });
});

Deno.test("the last character of the input ends a number without being consumed (U-Boot quirk)", () => {
  // test/lib/sscanf.c: "%3s%u" on "WD40" gives "WD4" and 0.
  assert.deepEqual(sscanf("WD40", "%3s%u"), { count: 2, values: ["WD4", 0n] });
  // Derived: a number ending in a lone "x" gives the x back from the lagging position.
  assert.deepEqual(sscanf("0x", "%x%c"), { count: 2, values: [0n, "0"] });
});

Deno.test("%c reads any character including space; running out after a conversion returns the count", () => {
  assert.equal(sscanf("1.2.3", "%u.%u.%u%c").count, 3);
  assert.deepEqual(sscanf("1.2.3 foobar", "%u.%u.%u%c"), { count: 4, values: [1n, 2n, 3n, " "] });
});

Deno.test("%d and %ld read signed numbers", () => {
  assert.deepEqual(sscanf("12345 -67890 -1", "%d %ld %d"), { count: 3, values: [12345n, -67890n, -1n] });
});

Deno.test("size modifiers truncate to the C type and keep the conversion's signedness", () => {
  assert.deepEqual(sscanf("300", "%hhd").values, [44n]);
  assert.deepEqual(sscanf("70000", "%hd").values, [4464n]);
  assert.deepEqual(sscanf("4294967297", "%d").values, [1n]);
  assert.deepEqual(sscanf("4294967297", "%lu").values, [4294967297n]);
  assert.deepEqual(sscanf("-1", "%u").values, [4294967295n]);
  assert.deepEqual(sscanf("-1", "%llu").values, [18446744073709551615n]);
  assert.deepEqual(sscanf("-1", "%qd").values, [-1n]);
  assert.deepEqual(sscanf("ff", "%hhx").values, [255n]);
});

Deno.test("overflow saturates as strtoq/strtouq do", () => {
  assert.deepEqual(sscanf("99999999999999999999", "%lld").values, [9223372036854775807n]);
  assert.deepEqual(sscanf("-99999999999999999999", "%lld").values, [-9223372036854775808n]);
  assert.deepEqual(sscanf("99999999999999999999", "%llu").values, [18446744073709551615n]);
});

Deno.test("%i takes the base from the prefix, but not after a sign", () => {
  assert.deepEqual(sscanf("0x1f", "%i").values, [31n]);
  assert.deepEqual(sscanf("017", "%i").values, [15n]);
  assert.deepEqual(sscanf("-017", "%i").values, [-15n]);
  assert.deepEqual(sscanf("09", "%i%d").values, [0n, 9n]);
  assert.deepEqual(sscanf("-0x10", "%i%s"), { count: 2, values: [0n, "x10"] });
});

Deno.test("%o reads octal and %p reads a 64-bit pointer", () => {
  assert.deepEqual(sscanf("0778", "%o%d").values, [63n, 8n]);
  assert.deepEqual(sscanf("0xffff00001234abcd", "%p").values, [0xffff00001234abcdn]);
});

Deno.test("a number longer than 31 characters is cut at 31", () => {
  const digits = "0".repeat(30) + "12";
  assert.deepEqual(sscanf(digits, "%u%u").values, [1n, 2n]);
});

Deno.test("a sign alone is a matching failure", () => {
  assert.deepEqual(sscanf("-x", "%d"), { count: 0, values: [] });
  assert.deepEqual(sscanf("5 +", "%d %d"), { count: 1, values: [5n] });
});

Deno.test("whitespace only before a conversion is an input failure", () => {
  assert.equal(sscanf("   ", "%d").count, -1);
  assert.equal(sscanf("   ", " %d").count, -1);
  assert.equal(sscanf("7   ", "%d %d").count, 1);
});

Deno.test("%[ sets: ranges, negation, a leading ] and a trailing -", () => {
  assert.deepEqual(sscanf("abc123", "%[a-z]%d").values, ["abc", 123n]);
  assert.deepEqual(sscanf("]]x", "%[]]").values, ["]]"]);
  assert.deepEqual(sscanf("a-b-c", "%[a-]").values, ["a-"]);
  assert.deepEqual(sscanf("key=value", "%[^=]=%s").values, ["key", "value"]);
  assert.deepEqual(sscanf("abcde", "%[a-c-e]").values, ["abcde"]);
  // Derived: U-Boot's range loop takes one character past a one-letter range.
  assert.deepEqual(sscanf("abc", "%[a-a]").values, ["ab"]);
  assert.equal(sscanf("xyz", "%[a-c]").count, 0);
  assert.deepEqual(sscanf("abcdef", "%2[a-z]%s").values, ["ab", "cdef"]);
});

Deno.test("%[ does not skip leading whitespace, %s does", () => {
  assert.equal(sscanf(" a", "%[a]").count, 0);
  assert.deepEqual(sscanf(" a", "%s").values, ["a"]);
});

Deno.test("a width on %c reads that many characters, whitespace included", () => {
  assert.deepEqual(sscanf("a bcd", "%3c%c").values, ["a b", "c"]);
  assert.deepEqual(sscanf("ab", "%5c").values, ["ab"]);
});

Deno.test("suppressed conversions consume input but assign nothing", () => {
  assert.deepEqual(sscanf("12 34 ab", "%*d %d %*s%n"), { count: 1, values: [34n, 8n] });
});

Deno.test("there is no %X: an unknown conversion only skips whitespace", () => {
  assert.deepEqual(sscanf("  7", "%X%d"), { count: 1, values: [7n] });
  assert.deepEqual(sscanf("1.5", "%f"), { count: 0, values: [] });
  assert.equal(sscanf("", "%X").count, -1);
});

Deno.test("input and format stop at their first NUL", () => {
  assert.deepEqual(sscanf("12\x0034", "%d%d"), { count: 1, values: [12n] });
  assert.deepEqual(sscanf("12 34", "%d\0%d"), { count: 1, values: [12n] });
});

Deno.test("XenStore values parse as the xenbus client needs them", () => {
  assert.deepEqual(sscanf("51712", "%d").values, [51712n]);
  assert.deepEqual(sscanf("17\0", "%lu").values, [17n]);
  assert.deepEqual(sscanf("0", "%hd").values, [0n]);
});
