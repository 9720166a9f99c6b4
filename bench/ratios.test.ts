import { describe, expect, it } from "vitest";
import { computeFigures, MeasurementError, median, meetsGoal, pairedRatios, ratioOf, throughputMBps } from "./ratios.ts";
import type { Figure, Measurements } from "./ratios.ts";

const MiB = 1024 * 1024;
const byName = (figures: Figure[], name: string): Figure => {
  const f = figures.find((x) => x.name === name);
  if (!f) throw new Error(`no figure ${name}`);
  return f;
};

describe("throughputMBps", () => {
  it("counts MB as 10^6 bytes per second", () => {
    expect(throughputMBps({ bytes: 256 * MiB, durationMs: 20_000 })).toBeCloseTo(13.4217728, 6);
  });
  it("refuses zero durations and sizes instead of printing Infinity", () => {
    expect(() => throughputMBps({ bytes: 1, durationMs: 0 })).toThrow(MeasurementError);
    expect(() => throughputMBps({ bytes: 0, durationMs: 1 })).toThrow(MeasurementError);
  });
});

describe("computeFigures", () => {
  it("divides SwarmDrop's rate by the ceiling's and by WebTorrent's, taken in the same run", () => {
    const m: Measurements = {
      ceiling: { ok: true, value: { bytes: 256 * MiB, durationMs: 20_000 } },
      swarmdrop: { ok: true, value: { bytes: 256 * MiB, durationMs: 25_000 } },
      webtorrent: { ok: true, value: { bytes: 256 * MiB, durationMs: 100_000 } },
    };
    const f = computeFigures(m);
    expect(byName(f, "swarmdropOverCeiling").value).toBeCloseTo(0.8, 9);
    expect(byName(f, "swarmdropOverCeiling").pass).toBe(false);
    expect(byName(f, "swarmdropOverWebtorrent").value).toBeCloseTo(4, 9);
    expect(byName(f, "swarmdropOverWebtorrent").pass).toBe(true);
    expect(byName(f, "ceilingOverWebtorrent").value).toBeCloseTo(5, 9);
  });

  it("compares browser CPU for the same bytes, and says why where it could not be read", () => {
    const f = computeFigures({
      ceiling: { ok: true, value: { bytes: 256 * MiB, durationMs: 20_000, cpuSeconds: 16 } },
      swarmdrop: { ok: true, value: { bytes: 256 * MiB, durationMs: 25_000, cpuSeconds: 24 } },
      webtorrent: { ok: true, value: { bytes: 256 * MiB, durationMs: 40_000 } },
    });
    expect(byName(f, "ceilingCpuS").value).toBe(16);
    expect(byName(f, "swarmdropCpuOverCeilingCpu").value).toBeCloseTo(1.5, 9);
    expect(byName(f, "webtorrentCpuS").value).toBeNull();
    expect(byName(f, "webtorrentCpuS").reason).toMatch(/Linux only/);
  });

  it("reports a missing part with its reason, never a number", () => {
    const f = computeFigures({
      ceiling: { ok: true, value: { bytes: MiB, durationMs: 100 } },
      swarmdrop: { ok: false, reason: "not available yet: the app has no 'Add files' input" },
    });
    expect(byName(f, "ceilingMBps").value).toBeCloseTo(10.48576, 6);
    const ratio = byName(f, "swarmdropOverCeiling");
    expect(ratio.value).toBeNull();
    expect(ratio.pass).toBeNull();
    expect(ratio.reason).toContain("Add files");
    expect(byName(f, "webtorrentMBps").reason).toMatch(/not run/);
  });

  it("puts the swarm's last finish over the fluid bound of its caps", () => {
    // 6 peers uploading 1 MiB/s each, seed 4 MiB/s, 30 MiB file: D_min = 6*30/(4+6) = 18 s.
    const f = computeFigures({
      swarm: {
        ok: true,
        value: {
          fileBytes: 30 * MiB,
          seedUploadBytesPerS: 4 * MiB,
          peers: Array.from({ length: 6 }, () => ({ uploadBytesPerS: MiB, downloadBytesPerS: Infinity })),
          finishSeconds: [15, 19, 20, 21, 22, 22.5],
        },
      },
    });
    expect(byName(f, "swarmFluidBoundS").value).toBeCloseTo(18, 9);
    expect(byName(f, "swarmLastFinishS").value).toBe(22.5);
    expect(byName(f, "swarmOverFluidBound").value).toBeCloseTo(1.25, 9);
    expect(byName(f, "swarmOverFluidBound").pass).toBe(true);
  });

  it("rejects a swarm result that lost a downloader", () => {
    expect(() =>
      computeFigures({
        swarm: {
          ok: true,
          value: { fileBytes: MiB, seedUploadBytesPerS: MiB, peers: [{ uploadBytesPerS: 1, downloadBytesPerS: 1 }], finishSeconds: [] },
        },
      }),
    ).toThrow(MeasurementError);
  });

  it("judges each peak heap against 150 MB", () => {
    const f = computeFigures({ memory: { ok: true, value: { fileBytes: 1024 * MiB, downloaderPeakHeapBytes: 151e6, seedPeakHeapBytes: 40e6 } } });
    expect(byName(f, "downloaderPeakHeapMB").value).toBeCloseTo(151, 9);
    expect(byName(f, "downloaderPeakHeapMB").pass).toBe(false);
    expect(byName(f, "seedPeakHeapMB").pass).toBe(true);
    expect(byName(f, "downloaderPeakWithBuffersMB").reason).toBe("not sampled");
    const withBuffers = computeFigures({
      memory: { ok: true, value: { fileBytes: 1, downloaderPeakHeapBytes: 10e6, seedPeakHeapBytes: 9e6, downloaderPeakWithBuffersBytes: 74e6, seedPeakWithBuffersBytes: 9e6 } },
    });
    expect(byName(withBuffers, "downloaderPeakWithBuffersMB").value).toBeCloseTo(74, 9);
    expect(byName(withBuffers, "downloaderPeakWithBuffersMB").goal).toBeNull();
  });

  it("compares the app's hashing with subtle SHA-1 over the same bytes", () => {
    const f = computeFigures({
      shareHash: { ok: true, value: { bytes: 1024 * MiB, durationMs: 5_000 } },
      subtleSha1: { ok: true, value: { bytes: 1024 * MiB, durationMs: 4_500 } },
    });
    expect(byName(f, "shareOverSubtle").value).toBeCloseTo(0.9, 9);
    expect(byName(f, "shareOverSubtle").pass).toBe(true);
  });
});

describe("helpers", () => {
  it("ratioOf passes the first missing reason through", () => {
    expect(ratioOf({ reason: "a" }, { value: 1 })).toEqual({ reason: "a" });
    expect(ratioOf({ value: 1 }, { reason: "not available yet: b" })).toEqual({ reason: "needs b" });
    expect(ratioOf({ value: 3 }, { value: 2 })).toEqual({ value: 1.5 });
  });
  it("meetsGoal and median", () => {
    expect(meetsGoal(150, { op: "<", target: 150 })).toBe(false);
    expect(meetsGoal(1.3, { op: "<=", target: 1.3 })).toBe(true);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(() => median([])).toThrow(MeasurementError);
  });
  it("pairs interleaved runs, and refuses to pair runs when one side lost some", () => {
    expect(pairedRatios([8, 9], [16, 18])).toEqual([0.5, 0.5]);
    expect(pairedRatios([8, 9], [16])).toEqual([]);
  });
});
