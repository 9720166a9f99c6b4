import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { patternFiles } from "./files.ts";
import { makePattern } from "./pages/pattern.ts";

describe("pattern files on disk", () => {
  it("writes the pattern under the torrent's file name, reuses it, and removes it", () => {
    const files = patternFiles();
    const path = files.path("a.bin", 100_003, 9);
    expect(basename(path)).toBe("a.bin");
    const bytes = new Uint8Array(readFileSync(path));
    expect(bytes.length).toBe(100_003);
    expect(bytes.subarray(0, 100_000)).toEqual(makePattern(100_000, 9));
    expect(files.path("a.bin", 100_003, 9)).toBe(path);
    expect(files.path("a.bin", 100_003, 10)).not.toBe(path);
    files.remove();
    expect(existsSync(path)).toBe(false);
  });
});
