// The piece source of a transfer this page shared: the dropped File objects
// themselves, read with Blob.slice, for this page's lifetime. (A background
// copy into IndexedDB lets a reload keep seeding; see manager.ts.)
//
// Serving reads whole read units — one piece, or a run of small pieces of
// about 256 KiB — each with a single Blob.slice().arrayBuffer() (in Chromium
// every Blob.slice is a round trip to the blob registry, so 16 KiB reads
// were once the seed's main cost), and every block of a unit is a view into
// that one buffer: no copies. Units stay in an LRU cache bounded by bytes.
// Peers ask for pieces in rarest-first (for one seed: random) order, so a
// unit holds just what one request run needs: reading ~1 MiB windows to serve
// one piece of them read the file several times over (profiled: Blob.slice,
// arrayBuffer and the window copy were ~20 % of the seed's main thread).
import type { PieceStore } from "../../core/engine/session-types.ts";
import type { PieceIndex } from "../../core/ids.ts";
import type { LayoutInfo } from "../../core/layout.ts";
import { pieceSpan, readRange, windowPieces } from "./hashing.ts";

/** Bytes of one serving read: small pieces are read this many bytes' worth at a time. */
export const seedReadUnitBytes = 256 * 1024;

export class BlobPieceStore implements PieceStore {
  readonly #cache = new Map<number, { readonly bytes: number; readonly reading: Promise<Uint8Array> }>();
  #cachedBytes = 0;
  /** Pieces per read unit. */
  readonly unitPieces: number;

  constructor(
    readonly blobs: readonly Blob[],
    readonly layout: LayoutInfo,
    /** Bytes of read units kept in memory (at least two units are kept). */
    readonly cacheBytes = 32 * 1024 * 1024,
  ) {
    this.unitPieces = windowPieces(layout.pieceLength, seedReadUnitBytes);
  }

  /** Read units in the cache now. */
  get cachedUnits(): number {
    return this.#cache.size;
  }

  #unit(u: number): Promise<Uint8Array> {
    const cached = this.#cache.get(u);
    if (cached !== undefined) {
      this.#cache.delete(u);
      this.#cache.set(u, cached);
      return cached.reading;
    }
    const first = u * this.unitPieces;
    const span = pieceSpan(this.layout, first, Math.min(this.layout.pieceCount, first + this.unitPieces));
    const reading = readRange(this.blobs, this.layout, span.offset, span.length);
    const entry = { bytes: span.length, reading };
    this.#cache.set(u, entry);
    this.#cachedBytes += entry.bytes;
    reading.catch(() => this.#forget(u, entry));
    for (const [oldest, e] of this.#cache) {
      if (this.#cachedBytes <= this.cacheBytes || this.#cache.size <= 2) break;
      this.#forget(oldest, e);
    }
    return reading;
  }

  #forget(u: number, entry: { readonly bytes: number }): void {
    if (this.#cache.get(u) !== entry) return;
    this.#cache.delete(u);
    this.#cachedBytes -= entry.bytes;
  }

  #checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.layout.pieceCount) {
      throw new RangeError(`piece index ${index} is outside 0..${this.layout.pieceCount - 1}`);
    }
  }

  /** A whole piece (a view into its cached read unit). */
  async readPiece(index: number): Promise<Uint8Array> {
    this.#checkIndex(index);
    const u = Math.floor(index / this.unitPieces);
    const unit = await this.#unit(u);
    const start = (index - u * this.unitPieces) * this.layout.pieceLength;
    return unit.subarray(start, start + pieceSpan(this.layout, index, index + 1).length);
  }

  /**
   * Pieces [first, end) with one read, bypassing the cache (the background
   * copy into IndexedDB goes through the file in order; caching it would only
   * evict what peers are being served).
   */
  async readPieces(first: number, end: number): Promise<Uint8Array[]> {
    this.#checkIndex(first);
    this.#checkIndex(end - 1);
    const span = pieceSpan(this.layout, first, end);
    const all = await readRange(this.blobs, this.layout, span.offset, span.length);
    const out: Uint8Array[] = [];
    for (let i = first; i < end; i++) {
      const start = (i - first) * this.layout.pieceLength;
      out.push(all.subarray(start, start + pieceSpan(this.layout, i, i + 1).length));
    }
    return out;
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
