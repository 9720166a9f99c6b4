import { describe, expect, it } from "vitest";
import { pieceIndex } from "../../core/ids.ts";
import { planLayout, planTorrent } from "./hashing.ts";
import { BlobPieceStore } from "./seed-store.ts";

function bytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("BlobPieceStore", () => {
  it("serves every block of every piece across file boundaries, in any order, with a cache smaller than the torrent", async () => {
    const files = [bytes(700_000, 1), bytes(3, 2), bytes(1_500_000, 3)];
    const all = new Uint8Array(files.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of files) {
      all.set(f, at);
      at += f.length;
    }
    const plan = planTorrent(files.map((f, i) => ({ file: new Blob([f]), path: `dir/${i}.bin` })));
    const layout = planLayout(plan, 16 * 1024);
    // 16 KiB pieces are read 256 KiB at a time; a cache of two units for a 2.2 MB torrent: reads evict and re-read.
    const store = new BlobPieceStore(plan.files.map((f) => f.blob), layout, 512 * 1024);
    expect(store.unitPieces).toBe(16);
    const order = Array.from({ length: layout.pieceCount }, (_, i) => (i * 37) % layout.pieceCount);
    for (const p of order) {
      const size = Math.min(16 * 1024, layout.totalLength - p * 16 * 1024);
      for (let begin = 0; begin < size; begin += 8000) {
        const length = Math.min(8000, size - begin);
        const got = await store.read(pieceIndex(p, layout.pieceCount), begin, length);
        expect(got).toEqual(all.subarray(p * 16 * 1024 + begin, p * 16 * 1024 + begin + length));
      }
    }
    expect(store.cachedUnits).toBe(2);
    await expect(store.read(pieceIndex(0, layout.pieceCount), 16_000, 1000)).rejects.toThrow(RangeError);
  });

  it("reads runs of pieces for the copy into storage without touching the cache", async () => {
    const files = [bytes(40_000, 4), bytes(30_000, 5)];
    const plan = planTorrent(files.map((f, i) => ({ file: new Blob([f]), path: `dir/${i}.bin` })));
    const layout = planLayout(plan, 16 * 1024);
    const store = new BlobPieceStore(plan.files.map((f) => f.blob), layout);
    const pieces = await store.readPieces(1, layout.pieceCount);
    expect(pieces.map((p) => p.length)).toEqual([16384, 16384, 16384, 70_000 - 4 * 16384]);
    for (let i = 1; i < layout.pieceCount; i++) expect(pieces[i - 1]).toEqual(await store.readPiece(i));
    expect(store.cachedUnits).toBe(1);
    await expect(store.readPieces(0, layout.pieceCount + 1)).rejects.toThrow(RangeError);
  });

  it("forgets a read that failed, so the next read tries again", async () => {
    const data = bytes(50_000, 6);
    let fail = true;
    const blob = new Blob([data]);
    const flaky = {
      size: blob.size,
      slice: (start?: number, end?: number) => {
        if (fail) return { size: (end ?? 0) - (start ?? 0), arrayBuffer: () => Promise.reject(new Error("NotReadableError")) } as unknown as Blob;
        return blob.slice(start, end);
      },
    } as unknown as Blob;
    const plan = planTorrent([{ file: flaky, path: "f.bin" }]);
    const layout = planLayout(plan, 16 * 1024);
    const store = new BlobPieceStore([flaky], layout);
    await expect(store.read(pieceIndex(0, layout.pieceCount), 0, 100)).rejects.toThrow("NotReadableError");
    fail = false;
    expect(await store.read(pieceIndex(0, layout.pieceCount), 0, 100)).toEqual(data.subarray(0, 100));
  });
});
