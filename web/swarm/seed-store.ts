// The piece source of a transfer this page shared: the dropped File objects
// themselves, read with Blob.slice, for this page's lifetime. (A background
// copy into IndexedDB lets a reload keep seeding; see manager.ts.)
import type { PieceStore } from "../../core/engine/session-types.ts";
import type { PieceIndex } from "../../core/ids.ts";
import type { LayoutInfo } from "../../core/layout.ts";
import { readPiece } from "./hashing.ts";

export class BlobPieceStore implements PieceStore {
  readonly #cache = new Map<number, Promise<Uint8Array>>();

  constructor(
    readonly blobs: readonly Blob[],
    readonly layout: LayoutInfo,
    readonly cachePieces = 8,
  ) {}

  /** A whole piece, from a small LRU cache so 16 KiB block reads do not re-read it. */
  readPiece(index: number): Promise<Uint8Array> {
    const cached = this.#cache.get(index);
    if (cached !== undefined) {
      this.#cache.delete(index);
      this.#cache.set(index, cached);
      return cached;
    }
    const reading = readPiece(this.blobs, this.layout, index);
    this.#cache.set(index, reading);
    reading.catch(() => this.#cache.delete(index));
    while (this.#cache.size > this.cachePieces) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
    return reading;
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
