import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encodeTextFrames } from "./frames.ts";

/** A reader of unmasked server frames, written from RFC 6455 section 5.2. */
function decodeFrames(buf: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < buf.length) {
    expect(buf[at]).toBe(0x81);
    const b1 = buf[at + 1]!;
    expect(b1 & 0x80).toBe(0); // server frames are not masked
    let n = b1 & 0x7f;
    at += 2;
    if (n === 126) {
      n = buf.readUInt16BE(at);
      at += 2;
    } else if (n === 127) {
      n = buf.readUInt32BE(at) * 2 ** 32 + buf.readUInt32BE(at + 4);
      at += 8;
    }
    out.push(buf.toString("utf8", at, at + n));
    at += n;
  }
  return out;
}

describe("text frames", () => {
  it.each([0, 1, 125, 126, 127, 65535, 65536, 70000])("frames a %i-byte message with the right length encoding", (n) => {
    const text = "x".repeat(n);
    const buf = encodeTextFrames([text]);
    expect(buf.length).toBe(n + (n < 126 ? 2 : n < 65536 ? 4 : 10));
    expect(decodeFrames(buf)).toEqual([text]);
  });

  it("frames any batch of messages, multi-byte UTF-8 included", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary", maxLength: 300 }), { maxLength: 8 }), (texts) => {
        const wellFormed = texts.map((t) => Buffer.from(t, "utf8").toString("utf8"));
        expect(decodeFrames(encodeTextFrames(wellFormed))).toEqual(wellFormed);
      }),
      { numRuns: 100 },
    );
  });
});
