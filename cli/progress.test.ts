import { describe, expect, it } from "vitest";
import { ProgressBar, StatusLog, formatBytes, progressLine } from "./progress.ts";

describe("progress", () => {
  it("formats sizes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(5 * 1024 ** 3)).toBe("5.00 GiB");
  });

  it("draws a bar with percentage, amounts and rate", () => {
    expect(progressLine("hashing", 512, 1024, 2048, "bytes", 10)).toBe("hashing [#####-----]  50%  512 B of 1.00 KiB  2.00 KiB/s");
    expect(progressLine("checking", 3, 12, null, "pieces", 4)).toBe("checking [#---]  25%  3 of 12 pieces");
    expect(progressLine("x", 0, 0, null, "bytes", 2)).toBe("x [##] 100%  0 B of 0 B");
  });

  it("redraws in place on a TTY at most every interval, and prints one line per 10% otherwise", () => {
    let now = 0;
    const tty: string[] = [];
    const bar = new ProgressBar({ isTTY: true, write: (t) => tty.push(t) }, "h", { nowMs: () => now, redrawIntervalMs: 100 });
    for (let i = 1; i <= 100; i++) {
      now += 10;
      bar.update(i, 100);
    }
    bar.finish();
    expect(tty.length).toBeGreaterThanOrEqual(10);
    expect(tty.length).toBeLessThanOrEqual(13);
    expect(tty.every((t, i) => (i === tty.length - 1 ? t === "\n" : t.startsWith("\r")))).toBe(true);

    const log: string[] = [];
    const plain = new ProgressBar({ isTTY: false, write: (t) => log.push(t) }, "h");
    for (let i = 1; i <= 1000; i++) plain.update(i, 1000);
    expect(log).toHaveLength(11);
    expect(log.at(-1)).toMatch(/100%/);
  });

  it("keeps a status line under the log on a terminal, and prints only log lines elsewhere", () => {
    const tty: string[] = [];
    const term = new StatusLog({ isTTY: true, write: (t) => tty.push(t) });
    term.status("50%");
    term.log("peer joined");
    term.finish();
    expect(tty.join("")).toBe("\r50%\x1b[K\r\x1b[Kpeer joined\n50%\x1b[K\n");
    const plain: string[] = [];
    const pipe = new StatusLog({ isTTY: false, write: (t) => plain.push(t) });
    pipe.status("50%");
    pipe.log("peer joined");
    pipe.finish();
    expect(plain).toEqual(["peer joined\n"]);
  });
});
