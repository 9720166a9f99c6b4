// The piece source of a transfer this page shared: the dropped File objects
// themselves, read with Blob.slice, for this page's lifetime. (A background
// copy into IndexedDB lets a reload keep seeding; see manager.ts.)
//
// Reads go by ~1 MiB windows of whole pieces kept in a small LRU cache: in
// Chromium every Blob.slice is a round trip to the blob registry, and serving
// 16 KiB blocks one slice at a time was the seed's main CPU cost (profiled:
// about a quarter of its time for 16 KiB pieces).
import type { PieceStore } from "../../core/engine/session-types.ts";
import type { PieceIndex } from "../../core/ids.ts";
import type { LayoutInfo } from "../../core/layout.ts";
import { pieceSpan, readRange, windowPieces } from "./hashing.ts";

export class BlobPieceStore implements PieceStore {
  readonly #cache = new Map<number, Promise<Uint8Array>>();
  readonly #windowPieces: number;

  constructor(
    readonly blobs: readonly Blob[],
    readonly layout: LayoutInfo,
    /** Bytes of windows kept in memory. */
    cacheBytes = 64 * 1024 * 1024,
  ) {
    this.#windowPieces = windowPieces(layout.pieceLength);
    this.cacheWindows = Math.max(2, Math.floor(cacheBytes / (this.#windowPieces * layout.pieceLength)));
  }

  /** Windows kept in memory (a window is ~1 MiB, or one piece when pieces are larger). */
  readonly cacheWindows: number;

  #window(w: number): Promise<Uint8Array> {
    const cached = this.#cache.get(w);
    if (cached !== undefined) {
      this.#cache.delete(w);
      this.#cache.set(w, cached);
      return cached;
    }
    const first = w * this.#windowPieces;
    const span = pieceSpan(this.layout, first, Math.min(this.layout.pieceCount, first + this.#windowPieces));
    const reading = readRange(this.blobs, this.layout, span.offset, span.length);
    this.#cache.set(w, reading);
    reading.catch(() => this.#cache.delete(w));
    while (this.#cache.size > this.cacheWindows) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
    return reading;
  }

  /** A whole piece (a view into its cached window). */
  async readPiece(index: number): Promise<Uint8Array> {
    if (!Number.isInteger(index) || index < 0 || index >= this.layout.pieceCount) {
      throw new RangeError(`piece index ${index} is outside 0..${this.layout.pieceCount - 1}`);
    }
    const w = Math.floor(index / this.#windowPieces);
    const window = await this.#window(w);
    const start = (index - w * this.#windowPieces) * this.layout.pieceLength;
    const span = pieceSpan(this.layout, index, index + 1);
    return window.subarray(start, start + span.length);
  }

  async read(index: PieceIndex, offset: number, length: number): Promise<Uint8Array> {
    const piece = await this.readPiece(index);
    if (offset < 0 || length < 0 || offset + length > piece.length) {
      throw new RangeError(`block ${offset}+${length} is outside piece ${index} of ${piece.length} bytes`);
    }
    return piece.subarray(offset, offset + length);
  }

  /** A seed has every piece already. */
  write(): Promise<void> {
    return Promise.resolve();
  }
}
