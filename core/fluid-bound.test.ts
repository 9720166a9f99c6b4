import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FluidBoundInputError, fluidBoundSeconds, fluidBoundTerms } from "./fluid-bound.ts";

const MiB = 1024 * 1024;

describe("fluidBoundSeconds", () => {
  it("is limited by the seed when the seed is the slowest uplink", () => {
    // 100 MiB at 1 MiB/s from the seed: at least 100 s, however fast the peers are.
    const s = fluidBoundSeconds({
      fileBytes: 100 * MiB,
      seedUploadBytesPerS: 1 * MiB,
      peers: [
        { uploadBytesPerS: 50 * MiB, downloadBytesPerS: Infinity },
        { uploadBytesPerS: 50 * MiB, downloadBytesPerS: Infinity },
      ],
    });
    expect(s).toBeCloseTo(100, 9);
  });

  it("is limited by the slowest downloader's download", () => {
    const t = fluidBoundTerms({
      fileBytes: 64 * MiB,
      seedUploadBytesPerS: 64 * MiB,
      peers: [
        { uploadBytesPerS: 64 * MiB, downloadBytesPerS: 2 * MiB },
        { uploadBytesPerS: 64 * MiB, downloadBytesPerS: 100 * MiB },
      ],
    });
    expect(t.slowestDownloadSeconds).toBeCloseTo(32, 9);
    expect(t.boundSeconds).toBeCloseTo(32, 9);
  });

  it("is limited by total upload when many peers share small uplinks", () => {
    // 6 downloaders want 10 MiB each = 60 MiB to move; total upload 2+6*0.5 = 5 MiB/s -> 12 s.
    const t = fluidBoundTerms({
      fileBytes: 10 * MiB,
      seedUploadBytesPerS: 2 * MiB,
      peers: Array.from({ length: 6 }, () => ({ uploadBytesPerS: 0.5 * MiB, downloadBytesPerS: Infinity })),
    });
    expect(t.seedSeconds).toBeCloseTo(5, 9);
    expect(t.totalUploadSeconds).toBeCloseTo(12, 9);
    expect(t.boundSeconds).toBeCloseTo(12, 9);
  });

  it("matches the formula on heterogeneous caps, worked by hand", () => {
    // F = 300 pieces of 256 KiB = 75 MiB; seed 4 MiB/s; uploads 1,1,2,2,3,3 MiB/s.
    // F/u_s = 18.75 s; N*F/(u_s+sum) = 6*75/(4+12) = 28.125 s.
    const s = fluidBoundSeconds({
      fileBytes: 300 * 256 * 1024,
      seedUploadBytesPerS: 4 * MiB,
      peers: [1, 1, 2, 2, 3, 3].map((u) => ({ uploadBytesPerS: u * MiB, downloadBytesPerS: Infinity })),
    });
    expect(s).toBeCloseTo(28.125, 9);
  });

  it("is 0 when nobody downloads", () => {
    expect(fluidBoundSeconds({ fileBytes: MiB, seedUploadBytesPerS: MiB, peers: [] })).toBe(0);
  });

  it("rejects a seed that cannot upload and negative or NaN inputs", () => {
    const peers = [{ uploadBytesPerS: 1, downloadBytesPerS: 1 }];
    expect(() => fluidBoundSeconds({ fileBytes: 1, seedUploadBytesPerS: 0, peers })).toThrow(FluidBoundInputError);
    expect(() => fluidBoundSeconds({ fileBytes: -1, seedUploadBytesPerS: 1, peers })).toThrow(FluidBoundInputError);
    expect(() =>
      fluidBoundSeconds({ fileBytes: 1, seedUploadBytesPerS: 1, peers: [{ uploadBytesPerS: NaN, downloadBytesPerS: 1 }] }),
    ).toThrow(FluidBoundInputError);
    expect(() =>
      fluidBoundSeconds({ fileBytes: 1, seedUploadBytesPerS: 1, peers: [{ uploadBytesPerS: 1, downloadBytesPerS: 0 }] }),
    ).toThrow(FluidBoundInputError);
  });

  it("never drops below any single term, and scales linearly with the file size", () => {
    const rate = fc.double({ min: 1, max: 1e9, noNaN: true });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        rate,
        fc.array(fc.record({ uploadBytesPerS: fc.double({ min: 0, max: 1e9, noNaN: true }), downloadBytesPerS: rate }), {
          minLength: 1,
          maxLength: 50,
        }),
        (fileBytes, seedUploadBytesPerS, peers) => {
          const t = fluidBoundTerms({ fileBytes, seedUploadBytesPerS, peers });
          expect(t.boundSeconds).toBeGreaterThanOrEqual(fileBytes / seedUploadBytesPerS);
          for (const p of peers) expect(t.boundSeconds).toBeGreaterThanOrEqual(fileBytes / p.downloadBytesPerS - 1e-9);
          const doubled = fluidBoundSeconds({ fileBytes: fileBytes * 2, seedUploadBytesPerS, peers });
          expect(doubled).toBeCloseTo(t.boundSeconds * 2, 6);
        },
      ),
    );
  });
});
