import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BencodeError, decode, decodePrefix, encode, type BValue } from "./bencode.ts";

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

const bvalue: fc.Arbitrary<BValue> = fc.letrec<{ value: BValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.maxSafeInteger().filter((n) => !Object.is(n, -0)),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 8 }), tie("value"), { maxKeys: 5 }).map((o) => {
      const d = Object.create(null) as Record<string, BValue>;
      for (const [k, v] of Object.entries(o)) d[k] = v;
      return d;
    }),
  ),
})).value;

describe("bencode", () => {
  it("round-trips any value (encode then decode)", () => {
    fc.assert(
      fc.property(bvalue, (v) => {
        expect(decode(encode(v))).toEqual(v);
      }),
      { numRuns: 500 },
    );
  });

  it("re-encodes any decoded canonical input to the same bytes", () => {
    fc.assert(
      fc.property(bvalue, (v) => {
        const bytes = encode(v);
        expect(encode(decode(bytes))).toEqual(bytes);
      }),
    );
  });

  it("encodes BEP 3 examples byte for byte", () => {
    expect(encode(ascii("spam"))).toEqual(ascii("4:spam"));
    expect(encode(3)).toEqual(ascii("i3e"));
    expect(encode(-3)).toEqual(ascii("i-3e"));
    expect(encode([ascii("spam"), ascii("eggs")])).toEqual(ascii("l4:spam4:eggse"));
    expect(encode({ spam: ascii("eggs"), cow: ascii("moo") })).toEqual(ascii("d3:cow3:moo4:spam4:eggse"));
  });

  const malformed: Array<[string, string]> = [
    ["i03e", "leading zero"],
    ["i-0e", "negative zero"],
    ["ie", "empty number"],
    ["i12", "truncated"],
    ["5:abc", "runs past the end"],
    ["03:abc", "leading zero"],
    ["d3:foo1:a3:bar1:be", "not sorted"],
    ["d3:foo1:a3:foo1:be", "duplicate"],
    ["l4:spam", "truncated"],
    ["i1ei2e", "trailing bytes"],
    ["x", "unexpected byte"],
    ["i99999999999999999e", "safe integer"],
    ["d1:ae", "unexpected byte"],
  ];
  it.each(malformed)("rejects %s (%s)", (text, reason) => {
    expect(() => decode(ascii(text))).toThrowError(BencodeError);
    expect(() => decode(ascii(text))).toThrowError(new RegExp(reason));
  });

  it("rejects nesting deeper than the bound", () => {
    const deep = ascii("l".repeat(100) + "e".repeat(100));
    expect(() => decode(deep, { maxDepth: 64 })).toThrowError(/nesting deeper than 64/);
    expect(decode(ascii("l".repeat(10) + "e".repeat(10)), { maxDepth: 64 })).toBeDefined();
  });

  it("rejects input over the size bound", () => {
    expect(() => decode(ascii("4:spam"), { maxBytes: 4 })).toThrowError(/exceeds the 4-byte bound/);
  });

  it("decodes a prefix and reports where it ends", () => {
    const { value, end } = decodePrefix(ascii("d8:msg_typei1eeTAIL"));
    expect(value).toEqual({ msg_type: 1 });
    expect(end).toBe(15);
  });
});
