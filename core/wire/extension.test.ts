import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ProtocolViolation, type ViolationKind } from "./errors.ts";
import { encodeExtendedHandshake, parseExtendedHandshake } from "./extension.ts";

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array): string => String.fromCharCode(...b);

function kindOf(fn: () => unknown): ViolationKind | "ok" {
  try {
    fn();
    return "ok";
  } catch (err) {
    if (err instanceof ProtocolViolation) return err.kind;
    throw err;
  }
}

describe("BEP 10 extended handshake", () => {
  it("keeps an extension named __proto__ as a plain name (found by the round-trip property)", () => {
    const m = Object.create(null) as Record<string, number>;
    m["__proto__"] = 1;
    m["ut_metadata"] = 2;
    const h = parseExtendedHandshake(encodeExtendedHandshake({ m }));
    expect([...h.m.entries()].sort()).toEqual([["__proto__", 1], ["ut_metadata", 2]]);
  });
  it("encodes ours byte for byte (keys sorted: m, metadata_size, reqq, v)", () => {
    const bytes = encodeExtendedHandshake({ m: { ut_metadata: 1 }, client: "SwarmDrop 0.1", reqq: 250, metadataSize: 31235 });
    expect(text(bytes)).toBe("d1:md11:ut_metadatai1ee13:metadata_sizei31235e4:reqqi250e1:v13:SwarmDrop 0.1e");
  });

  it("parses the example of BEP 10 (µ as the byte 0xb5 in a key, UTF-8 in v)", () => {
    const h = parseExtendedHandshake(latin1("d1:md11:LT_metadatai1e6:\xb5T_PEXi2ee1:pi6881e1:v13:\xc2\xb5Torrent 1.2e"));
    expect(h.m.get("LT_metadata")).toBe(1);
    expect([...h.m.values()]).toEqual([1, 2]);
    expect(h.client).toBe("µTorrent 1.2");
    expect(h.reqq).toBeNull();
    expect(h.metadataSize).toBeNull();
  });

  it("treats id 0 as disabling an extension (BEP 10)", () => {
    const h = parseExtendedHandshake(latin1("d1:md11:ut_metadatai0eee"));
    expect(h.m.size).toBe(0);
    expect(h.disabled).toEqual(["ut_metadata"]);
  });

  it("round-trips m, v, reqq and metadata_size", () => {
    const name = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz_"), minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(
        fc.dictionary(name, fc.integer({ min: 1, max: 255 }), { maxKeys: 5 }),
        fc.string({ maxLength: 30 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.option(fc.integer({ min: 1, max: 16 * 1024 * 1024 }), { nil: null }),
        (m, client, reqq, metadataSize) => {
          const h = parseExtendedHandshake(encodeExtendedHandshake({ m, client, reqq, metadataSize }));
          expect(Object.fromEntries(h.m)).toEqual({ ...m });
          expect(h.client).toBe(client.replace(/[\ud800-\udfff]/g, "\ufffd"));
          expect(h.reqq).toBe(reqq);
          expect(h.metadataSize).toBe(metadataSize);
        },
      ),
    );
  });

  const malformed: readonly [string, string, ViolationKind][] = [
    ["truncated bencode", "d1:md11:ut_metadatai1e", "malformed-bencode"],
    ["trailing bytes", "dexx", "malformed-bencode"],
    ["a list", "le", "bad-extended-handshake"],
    ["m as an integer", "d1:mi1ee", "bad-extended-handshake"],
    ["an id of 256", "d1:md11:ut_metadatai256eee", "bad-extended-handshake"],
    ["a negative id", "d1:md11:ut_metadatai-1eee", "bad-extended-handshake"],
    ["an id as a string", "d1:md11:ut_metadata1:1ee", "bad-extended-handshake"],
    ["v as an integer", "d1:vi1ee", "bad-extended-handshake"],
    ["reqq of 0", "d4:reqqi0ee", "bad-extended-handshake"],
    ["metadata_size of 0", "d13:metadata_sizei0ee", "bad-extended-handshake"],
    ["metadata_size as a string", "d13:metadata_size1:1e", "bad-extended-handshake"],
    ["metadata_size one over 16 MiB", "d13:metadata_sizei16777217ee", "metadata-too-large"],
  ];
  for (const [name, wire, kind] of malformed) {
    it(`rejects ${name} with ${kind}`, () => expect(kindOf(() => parseExtendedHandshake(latin1(wire)))).toBe(kind));
  }

  it("accepts metadata_size exactly at the bound and ignores unknown keys", () => {
    const h = parseExtendedHandshake(latin1("d13:metadata_sizei16777216e1:pi6881e6:yourip4:\x7f\x00\x00\x01e"));
    expect(h.metadataSize).toBe(16 * 1024 * 1024);
  });
});
