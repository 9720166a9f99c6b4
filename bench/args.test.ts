import { describe, expect, it } from "vitest";
import { ArgsError, benchmarkNames, parseArgs } from "./args.ts";

describe("bench command line", () => {
  it("runs everything at default sizes without options", () => {
    const a = parseArgs([]);
    expect(a.only).toEqual(benchmarkNames);
    expect(a.sizeMiB).toBeNull();
    expect(a.json).toBe(false);
    expect(a.repeat).toBe(1);
    expect(a.build).toBe(true);
  });

  it("reads --only, --size-mib, --json in both spellings", () => {
    const a = parseArgs(["--only", "webtorrent,throughput", "--size-mib=64", "--json", "--no-build", "--repeat", "3"]);
    expect(a.only).toEqual(["throughput", "webtorrent"]);
    expect(a.sizeMiB).toBe(64);
    expect(a.json).toBe(true);
    expect(a.build).toBe(false);
    expect(a.repeat).toBe(3);
    expect(parseArgs(["--only=share"]).only).toEqual(["share"]);
  });

  it("refuses unknown benchmarks, options and bad sizes", () => {
    expect(() => parseArgs(["--only", "speed"])).toThrow(ArgsError);
    expect(() => parseArgs(["--fast"])).toThrow(ArgsError);
    expect(() => parseArgs(["--size-mib", "0"])).toThrow(ArgsError);
    expect(() => parseArgs(["--size-mib", "1.5"])).toThrow(ArgsError);
    expect(() => parseArgs(["--size-mib"])).toThrow(ArgsError);
  });
});
