import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { browserDescendants, browserCpuSeconds, parseProcStat, type ProcStat } from "./process-cpu.ts";

// A real /proc/<pid>/stat line of a Chromium renderer, shortened after field 17.
const rendererLine = "4242 (chromium) S 4100 4100 4100 0 -1 4194560 12000 0 0 0 731 52 3 1 20 0 20 0 1234 5000000 30000";

describe("parseProcStat", () => {
  it("reads pid, parent and own plus reaped children's ticks", () => {
    expect(parseProcStat(rendererLine)).toEqual({ pid: 4242, ppid: 4100, comm: "chromium", ticks: 731 + 52 + 3 + 1 });
  });
  it("keeps command names with spaces and parentheses whole", () => {
    const s = parseProcStat("77 (Web Content (x)) R 1 77 77 0 -1 0 0 0 0 0 10 20 30 40 20 0");
    expect(s.comm).toBe("Web Content (x)");
    expect(s.ppid).toBe(1);
    expect(s.ticks).toBe(100);
  });
  it("refuses a line that is not a stat line", () => {
    expect(() => parseProcStat("garbage")).toThrow(/not a \/proc stat line/);
  });
});

describe("browserDescendants", () => {
  const p = (pid: number, ppid: number, comm: string, ticks = 1): ProcStat => ({ pid, ppid, comm, ticks });
  it("counts the Chromium processes below the root, at any depth, and nothing else", () => {
    const stats = [
      p(10, 1, "node"), // the benchmark itself (the root)
      p(11, 10, "chromium", 100), // browser
      p(12, 11, "chromium", 50), // zygote
      p(13, 12, "chromium", 700), // renderer, a grandchild
      p(14, 10, "esbuild", 999), // not a browser
      p(20, 1, "chromium", 5000), // somebody else's browser
    ];
    expect(browserDescendants(stats, 10).map((s) => s.pid).sort()).toEqual([11, 12, 13]);
  });
});

describe("browserCpuSeconds", () => {
  it.runIf(process.platform === "linux")("does not count a child process that is not a browser", async () => {
    const before = browserCpuSeconds();
    expect(before).not.toBeNull();
    // A child that is not a browser does not count.
    const child = spawn(process.execPath, ["-e", "const t = Date.now(); while (Date.now() - t < 300) {}"]);
    await new Promise((resolve) => child.on("exit", resolve));
    const after = browserCpuSeconds();
    expect(after).not.toBeNull();
    expect(after! - before!).toBeGreaterThanOrEqual(0);
    expect(after! - before!).toBeLessThan(0.2);
  });
});
