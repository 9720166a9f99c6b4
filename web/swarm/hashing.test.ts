import { describe, expect, it, vi } from "vitest";
import { toHex } from "../../core/bytes.ts";
import { createTorrentFromBytes } from "../../core/metainfo.ts";
import { hashFiles, hashWorkerCount, inThreadRunner, planTorrent, prewarmHashWorkers, ShareInputError, splitPieces, workerRunner, type HashJob, type HashWorkerMessage } from "./hashing.ts";

function bytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("planTorrent names what the user dropped", () => {
  const f = (n: number) => new Blob([bytes(n, n)]);
  it("one file: its own name, single-file", () => {
    const plan = planTorrent([{ file: f(10), path: "holiday.mp4" }]);
    expect(plan.name).toBe("holiday.mp4");
    expect(plan.singleFile).toBe(true);
  });
  it("one folder: the folder's name, paths below it, sorted", () => {
    const plan = planTorrent([
      { file: f(3), path: "Photos/b/2.jpg" },
      { file: f(4), path: "Photos/a.jpg" },
    ]);
    expect(plan.name).toBe("Photos");
    expect(plan.files.map((x) => x.path.join("/"))).toEqual(["a.jpg", "b/2.jpg"]);
    expect(plan.totalLength).toBe(7);
  });
  it("several loose files: 'N files'", () => {
    expect(planTorrent([{ file: f(1), path: "a.txt" }, { file: f(2), path: "b.txt" }, { file: f(3), path: "c.txt" }]).name).toBe("3 files");
  });
  it("refuses nothing and only-empty files with a clear error", () => {
    expect(() => planTorrent([])).toThrow(ShareInputError);
    expect(() => planTorrent([{ file: new Blob([]), path: "empty.txt" }])).toThrow(/empty/);
  });
});

describe("splitPieces", () => {
  it("covers every piece exactly once, in order", () => {
    for (const [count, parts] of [[1, 4], [7, 3], [2000, 4], [5, 5]] as const) {
      const ranges = splitPieces(count, parts);
      expect(ranges[0]!.first).toBe(0);
      expect(ranges[ranges.length - 1]!.end).toBe(count);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.first).toBe(ranges[i - 1]!.end);
      expect(ranges.every((r) => r.end > r.first)).toBe(true);
    }
  });
});

describe("hashFiles", () => {
  it("gives the infohash core computes from the same bytes, whatever the number of workers", async () => {
    // Three files whose boundaries fall inside pieces, 16 KiB pieces.
    const a = bytes(40_000, 1);
    const b = bytes(5, 2);
    const c = bytes(70_123, 3);
    const expected = await createTorrentFromBytes(
      "Album",
      [
        { path: ["a.bin"], data: a },
        { path: ["b.bin"], data: b },
        { path: ["sub", "c.bin"], data: c },
      ],
      16 * 1024,
    );
    const dropped = [
      { file: new Blob([c]), path: "Album/sub/c.bin" },
      { file: new Blob([a]), path: "Album/a.bin" },
      { file: new Blob([b]), path: "Album/b.bin" },
    ];
    const progress: number[] = [];
    for (const workers of [1, 3, 4]) {
      const { info } = await hashFiles(dropped, { workers, pieceLength: 16 * 1024, onProgress: (done) => progress.push(done) });
      expect(info.infoHash).toBe(expected.infoHash);
      expect(toHex(info.pieceHashes)).toBe(toHex(expected.pieceHashes));
    }
    expect(Math.max(...progress)).toBe(110_128);
  });

  it("a single dropped file makes a single-file torrent like core's", async () => {
    const data = bytes(100_000, 9);
    const expected = await createTorrentFromBytes("movie.webm", [{ path: ["movie.webm"], data }]);
    const { info } = await hashFiles([{ file: new Blob([data]), path: "movie.webm" }], { workers: 2 });
    expect(info.isMultiFile).toBe(false);
    expect(info.infoHash).toBe(expected.infoHash);
  });

  it("rejects with AbortError when cancelled", async () => {
    const controller = new AbortController();
    const data = bytes(6_000_000, 4);
    const run = hashFiles([{ file: new Blob([data]), path: "big.bin" }], {
      signal: controller.signal,
      pieceLength: 16 * 1024,
      workers: 1,
      onProgress: () => controller.abort(),
    });
    await expect(run).rejects.toMatchObject({ name: "AbortError" });
    // Aborted before starting: rejects at once.
    await expect(hashFiles([{ file: new Blob([data]), path: "big.bin" }], { signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("warm hashing workers", () => {
  it("a share uses the workers started ahead, replaces one that failed to load, and fills the pool again after", async () => {
    const made: FakeWorker[] = [];
    class FakeWorker {
      onmessage: ((event: MessageEvent<HashWorkerMessage>) => void) | null = null;
      onerror: ((event: ErrorEvent) => void) | null = null;
      terminated = false;
      constructor() {
        made.push(this);
      }
      postMessage(job: HashJob): void {
        void inThreadRunner(job, () => undefined, new AbortController().signal).then((hashes) =>
          this.onmessage?.({ data: { type: "done", hashes } } as MessageEvent<HashWorkerMessage>),
        );
      }
      terminate(): void {
        this.terminated = true;
      }
    }
    const saved = (globalThis as { Worker?: unknown }).Worker;
    (globalThis as { Worker?: unknown }).Worker = FakeWorker;
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    try {
      prewarmHashWorkers(2);
      expect(made.length).toBe(2);
      // The first warm worker failed to load its script: it is dropped, not used.
      made[0]!.onerror?.({ preventDefault: () => undefined } as ErrorEvent);
      const data = bytes(50_000, 9);
      const expected = await createTorrentFromBytes("f.bin", [{ path: ["f.bin"], data }], 16 * 1024);
      const { info } = await hashFiles([{ file: new Blob([data]), path: "f.bin" }], { workers: 2, pieceLength: 16 * 1024, runner: workerRunner });
      expect(info.infoHash).toBe(expected.infoHash);
      // One warm worker used, one new one made for the failed one.
      expect(made.length).toBe(3);
      expect(made[0]!.terminated && made[1]!.terminated && made[2]!.terminated).toBe(true);
      vi.runAllTimers();
      expect(made.length).toBe(3 + hashWorkerCount);
    } finally {
      vi.useRealTimers();
      (globalThis as { Worker?: unknown }).Worker = saved;
    }
  });
});
