import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatPercent, formatRate, formatRatio, percentValue } from "./format.ts";

describe("formatBytes", () => {
  it("shows bytes below a kilobyte as whole bytes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
  });
  it("uses SI units with one decimal below 100", () => {
    expect(formatBytes(1000)).toBe("1.0 kB");
    expect(formatBytes(1536)).toBe("1.5 kB");
    expect(formatBytes(12_345_678)).toBe("12.3 MB");
    expect(formatBytes(3_000_000_000)).toBe("3.0 GB");
  });
  it("drops the decimal from 100 up and rolls over at the unit boundary", () => {
    expect(formatBytes(123_456)).toBe("123 kB");
    expect(formatBytes(999_999)).toBe("1.0 MB");
  });
  it("shows a dash for nonsense", () => {
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });
});

describe("formatRate", () => {
  it("appends per second", () => {
    expect(formatRate(0)).toBe("0 B/s");
    expect(formatRate(2_500_000)).toBe("2.5 MB/s");
  });
});

describe("formatDuration", () => {
  it("formats seconds, minutes, hours and days", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(44.2)).toBe("45 s");
    expect(formatDuration(60)).toBe("1 min");
    expect(formatDuration(200)).toBe("3 min 20 s");
    expect(formatDuration(2 * 3600 + 5 * 60)).toBe("2 h 5 min");
    expect(formatDuration(3 * 86400 + 4 * 3600 + 59)).toBe("3 d 4 h");
  });
  it("shows a dash when unknown", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe("—");
  });
});

describe("formatRatio", () => {
  it("divides uploaded by downloaded", () => {
    expect(formatRatio(150, 100)).toBe("1.50");
    expect(formatRatio(0, 100)).toBe("0.00");
  });
  it("is infinite for a seed that never downloaded", () => {
    expect(formatRatio(100, 0)).toBe("∞");
    expect(formatRatio(0, 0)).toBe("0.00");
  });
});

describe("formatPercent and percentValue", () => {
  it("never claims 100% before the end", () => {
    expect(formatPercent(0.9999)).toBe("99%");
    expect(formatPercent(1)).toBe("100%");
    expect(percentValue(999, 1000)).toBe(99);
    expect(percentValue(1000, 1000)).toBe(100);
  });
  it("keeps a decimal for small progress", () => {
    expect(formatPercent(0.012)).toBe("1.2%");
    expect(formatPercent(0)).toBe("0%");
  });
  it("treats an empty torrent as complete", () => {
    expect(percentValue(0, 0)).toBe(100);
  });
});
