import { describe, expect, it } from "vitest";
import { ChildBenchError, lastJsonLine } from "./child.ts";

describe("lastJsonLine", () => {
  it("reads the JSON object on the last non-empty line, after a table", () => {
    const out = 'Tracker benchmark\nannounces/s  733\n{"announcesPerS":733,"p99Ms":843.2}\n\n';
    expect(lastJsonLine(out)).toEqual({ announcesPerS: 733, p99Ms: 843.2 });
  });
  it("refuses output whose last line is not a JSON object", () => {
    expect(() => lastJsonLine("")).toThrow(ChildBenchError);
    expect(() => lastJsonLine('{"a":1}\ndone')).toThrow(ChildBenchError);
    expect(() => lastJsonLine("[1,2]")).toThrow(ChildBenchError);
  });
});
