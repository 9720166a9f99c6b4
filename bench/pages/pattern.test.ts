import { describe, expect, it } from "vitest";
import { chunkMatchesPattern, fillPattern, makePattern, makePatternFile, PatternRangeError } from "./pattern.ts";

describe("benchmark byte pattern", () => {
  it("is the same bytes wherever it is generated from", () => {
    const whole = makePattern(1 << 16, 7);
    const tail = makePattern(1 << 15, 7, 1 << 15);
    expect(whole.subarray(1 << 15)).toEqual(tail);
  });

  it("differs between seeds and does not repeat within a file", () => {
    const a = makePattern(4096, 1);
    const b = makePattern(4096, 2);
    expect(a).not.toEqual(b);
    expect(a.subarray(0, 2048)).not.toEqual(a.subarray(2048));
  });

  it("spot-checks chunks at their claimed offset and catches a wrong one", () => {
    const file = makePattern(1 << 20, 3);
    const chunk = file.subarray(65536, 65536 + 16384);
    expect(chunkMatchesPattern(chunk, 3, 65536)).toBe(true);
    expect(chunkMatchesPattern(chunk, 3, 65536 + 16384)).toBe(false);
    expect(chunkMatchesPattern(chunk, 4, 65536)).toBe(false);
    const damaged = chunk.slice();
    damaged[damaged.length - 1]! ^= 1;
    expect(chunkMatchesPattern(damaged, 3, 65536)).toBe(false);
  });

  it("refuses unaligned ranges", () => {
    expect(() => fillPattern(new Uint8Array(6), 1, 0)).toThrow(PatternRangeError);
    expect(() => fillPattern(new Uint8Array(8), 1, 2)).toThrow(PatternRangeError);
  });

  it("builds a File of the exact size, including a ragged tail", async () => {
    const file = makePatternFile("x.bin", 100_003, 5, 4096);
    expect(file.size).toBe(100_003);
    const bytes = new Uint8Array(await file.arrayBuffer());
    expect(bytes.subarray(0, 100_000)).toEqual(makePattern(100_000, 5));
  });
});
