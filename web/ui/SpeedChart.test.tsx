// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { displayPaths } from "./FileList.tsx";
import { SpeedChart, sparkPoints } from "./SpeedChart.tsx";

afterEach(cleanup);

describe("sparkPoints", () => {
  it("spreads samples across the width and puts the peak at the top", () => {
    expect(sparkPoints([0, 50, 100], 100, 200, 42)).toBe("0.0,41.0 100.0,21.0 200.0,1.0");
  });
  it("keeps a flat line at the bottom when nothing moves", () => {
    expect(sparkPoints([0, 0], 0, 100, 10)).toBe("0.0,9.0 100.0,9.0");
  });
});

describe("<SpeedChart>", () => {
  it("names its peaks for screen readers", () => {
    render(
      <SpeedChart
        history={[
          { atMs: 0, downloadBytesPerS: 1_000_000, uploadBytesPerS: 0 },
          { atMs: 1000, downloadBytesPerS: 3_000_000, uploadBytesPerS: 250_000 },
          { atMs: 2000, downloadBytesPerS: 2_000_000, uploadBytesPerS: 0 },
        ]}
      />,
    );
    expect(screen.getByRole("img").getAttribute("aria-label")).toBe("Speed over the last 2 s: download peak 3.0 MB/s, upload peak 250 kB/s");
  });
  it("says when there is nothing to draw yet", () => {
    render(<SpeedChart history={[]} />);
    expect(screen.getByRole("img").getAttribute("aria-label")).toBe("Speed chart: not enough samples yet");
  });
});

describe("displayPaths", () => {
  const file = (path: string) => ({ index: 0, path, lengthBytes: 1, progress: 0, complete: false, priority: "normal" as const, streamable: false });
  it("leaves out the torrent's own folder", () => {
    expect(displayPaths([file("album/a.bin"), file("album/sub/c.bin")])).toEqual(["a.bin", "sub/c.bin"]);
  });
  it("keeps single files and mixed roots whole", () => {
    expect(displayPaths([file("report.pdf")])).toEqual(["report.pdf"]);
    expect(displayPaths([file("a/x"), file("b/y")])).toEqual(["a/x", "b/y"]);
  });
});
