import { describe, expect, it } from "vitest";
import { RateMeter } from "./rate.ts";

describe("RateMeter", () => {
  it("averages bytes over the window", () => {
    const m = new RateMeter({ windowMs: 10_000, bucketMs: 1_000 });
    for (let t = 0; t < 10_000; t += 100) m.add(1_000, t); // 10 kB/s for 10 s
    expect(m.rateBytesPerS(10_000)).toBeCloseTo(10_000, -2);
    expect(m.totalBytes).toBe(100_000);
  });

  it("forgets traffic older than the window", () => {
    const m = new RateMeter({ windowMs: 5_000, bucketMs: 500 });
    m.add(50_000, 0);
    expect(m.rateBytesPerS(1_000)).toBeGreaterThan(0);
    expect(m.rateBytesPerS(6_000)).toBe(0);
    expect(m.totalBytes).toBe(50_000);
  });

  it("does not underestimate a young connection: 1 MB in the first second is ~1 MB/s", () => {
    const m = new RateMeter({ windowMs: 20_000, bucketMs: 1_000 });
    for (let t = 0; t < 1_000; t += 10) m.add(10_000, t);
    expect(m.rateBytesPerS(1_000)).toBeCloseTo(1_000_000, -4);
  });

  it("reports 0 before anything was added", () => {
    expect(new RateMeter().rateBytesPerS(123_456)).toBe(0);
  });
});
