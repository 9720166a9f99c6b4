import { describe, expect, it } from "vitest";
import { barChartSvg, formatTable, niceCeiling } from "./report.ts";
import { computeFigures } from "./ratios.ts";

const MiB = 1024 * 1024;

describe("formatTable", () => {
  it("shows each figure with its goal and whether it is met, and why missing ones are missing", () => {
    const figures = computeFigures({
      ceiling: { ok: true, value: { bytes: 256 * MiB, durationMs: 20_000 } },
      swarmdrop: { ok: false, reason: "not available yet: no app" },
    });
    const table = formatTable(figures);
    expect(table).toMatch(/Bare RTCDataChannel ceiling\s+13\.4 MB\/s/);
    expect(table).toMatch(/SwarmDrop \/ ceiling\s+-\s+>= 0\.85\s+n\/a/);
    expect(table).toContain("SwarmDrop, two peers: not available yet: no app");
    const heap = formatTable(computeFigures({ memory: { ok: true, value: { fileBytes: 1, downloaderPeakHeapBytes: 200e6, seedPeakHeapBytes: 20e6 } } }));
    expect(heap).toMatch(/Downloader peak JS heap \(page \+ workers\)\s+200 MB\s+< 150\s+MISSED/);
    expect(heap).toMatch(/Seed peak JS heap \(page \+ workers\)\s+20\.0 MB\s+< 150\s+met/);
  });
});

describe("barChartSvg", () => {
  it("draws one bar per value, taller for the larger value, plus goal lines", () => {
    const svg = barChartSvg({
      title: "Throughput <two peers>",
      unit: "MB/s",
      bars: [
        { label: "ceiling", value: 15 },
        { label: "SwarmDrop", value: 5 },
        { label: "WebTorrent", value: null, note: "not run" },
      ],
      lines: [{ label: "goal", value: 12.75 }],
    });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("Throughput &lt;two peers&gt;");
    const heights = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#3b6fd8">/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(2);
    expect(heights[0]! / heights[1]!).toBeCloseTo(3, 1);
    expect(svg).toContain("not run");
    expect(svg).toContain("goal: 12.8");
    // Axis ticks at a readable step (0, 5, 10, 15 for a maximum of 15).
    expect(svg).toMatch(/>5\.00<\/text>/);
    expect(svg).toMatch(/>15\.0<\/text>/);
  });
});

describe("niceCeiling", () => {
  it("rounds up to a readable axis maximum", () => {
    expect(niceCeiling(13.2)).toBe(20);
    expect(niceCeiling(0.87)).toBe(1);
    expect(niceCeiling(230)).toBe(250);
    expect(niceCeiling(0)).toBe(1);
  });
});
