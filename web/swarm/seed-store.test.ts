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
    // Two 1 MiB windows of a 2.2 MB torrent: reads evict and re-read.
    const store = new BlobPieceStore(plan.files.map((f) => f.blob), layout, 2 * 1024 * 1024);
    expect(store.cacheWindows).toBe(2);
    const order = Array.from({ length: layout.pieceCount }, (_, i) => (i * 37) % layout.pieceCount);
    for (const p of order) {
      const size = Math.min(16 * 1024, layout.totalLength - p * 16 * 1024);
      for (let begin = 0; begin < size; begin += 8000) {
        const length = Math.min(8000, size - begin);
        const got = await store.read(pieceIndex(p, layout.pieceCount), begin, length);
        expect(got).toEqual(all.subarray(p * 16 * 1024 + begin, p * 16 * 1024 + begin + length));
      }
    }
    await expect(store.read(pieceIndex(0, layout.pieceCount), 16_000, 1000)).rejects.toThrow(RangeError);
  });
});
