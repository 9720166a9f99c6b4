// A set of piece indices as 32-bit words, with word-at-a-time enumeration of
// "in this set and not in that one" (the pieces a peer has that we lack), so
// the picker can visit a sparse peer's useful pieces without scanning them all.
//
// Sets of one size can share storage (PieceSetPool): an engine keeps all its
// peers' bitfields in one typed array, so reading a peer's bit on a `have`
// touches that array and not a typed array of its own (one memory access
// fewer on the hottest path of a large swarm).

/**
 * Storage for many PieceSets of one size: each set is `stride` words side by
 * side in one typed array, its member count first, then its bits.
 */
export class PieceSetPool {
  readonly size: number;
  /** Words per set: one for the count, then ceil(size / 32) of bits. */
  readonly stride: number;
  /** Every set's words; replaced by a larger copy when the pool grows. */
  words: Uint32Array;
  readonly #free: number[] = [];
  #next = 0;

  constructor(size: number, initialSets = 8) {
    this.size = size;
    this.stride = 1 + Math.ceil(size / 32);
    this.words = new Uint32Array(this.stride * Math.max(1, initialSets));
  }

  /** A new empty set whose words live in this pool. */
  take(): PieceSet {
    return new PieceSet(this.size, this);
  }

  /** Gives a set's storage back: the set is emptied and must not be used afterwards. */
  give(set: PieceSet): void {
    const offset = set.clearForPool(this);
    if (offset >= 0) this.#free.push(offset);
  }

  /** Reserves the words of one set (zeroed); returns their offset. Used by the PieceSet constructor. */
  reserve(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    if (this.#next + this.stride > this.words.length) {
      const grown = new Uint32Array(Math.max(this.stride, this.words.length * 2));
      grown.set(this.words);
      this.words = grown;
    }
    const offset = this.#next;
    this.#next += this.stride;
    return offset;
  }

  // The set at `offset` (PieceSet.offset), for callers that keep the offset and
  // skip the PieceSet object on hot paths. Same meaning as the PieceSet methods.

  hasAt(offset: number, i: number): boolean {
    return (this.words[offset + 1 + (i >>> 5)]! & (1 << (i & 31))) !== 0;
  }

  addAt(offset: number, i: number): boolean {
    const words = this.words;
    const w = offset + 1 + (i >>> 5);
    const bit = 1 << (i & 31);
    const word = words[w]!;
    if ((word & bit) !== 0) return false;
    words[w] = word | bit;
    words[offset]!++;
    return true;
  }

  deleteAt(offset: number, i: number): boolean {
    const words = this.words;
    const w = offset + 1 + (i >>> 5);
    const bit = 1 << (i & 31);
    const word = words[w]!;
    if ((word & bit) === 0) return false;
    words[w] = word & ~bit;
    words[offset]!--;
    return true;
  }

  countAt(offset: number): number {
    return this.words[offset]!;
  }
}

export class PieceSet {
  readonly size: number;
  readonly #pool: PieceSetPool;
  #offset: number;

  /** An empty set of pieces 0..size-1; with `pool`, its words live in the pool (see PieceSetPool.take). */
  constructor(size: number, pool?: PieceSetPool) {
    if (pool !== undefined && pool.size !== size) throw new RangeError("pool holds sets of another size");
    this.size = size;
    this.#pool = pool ?? new PieceSetPool(size, 1);
    this.#offset = this.#pool.reserve();
  }

  /** Where this set's words start in its pool (PieceSetPool.hasAt / addAt). */
  get offset(): number {
    return this.#offset;
  }

  has(i: number): boolean {
    return this.#pool.hasAt(this.#offset, i);
  }

  /** Adds `i`; true when it was not there. */
  add(i: number): boolean {
    return this.#pool.addAt(this.#offset, i);
  }

  delete(i: number): boolean {
    return this.#pool.deleteAt(this.#offset, i);
  }

  get count(): number {
    return this.#pool.countAt(this.#offset);
  }

  /** Visits members ascending; the visitor returns true to stop. */
  forEach(visit: (i: number) => boolean | void): void {
    this.forEachNotIn(null, visit);
  }

  /** Visits members that are not in `other` (same size), ascending; the visitor returns true to stop. */
  forEachNotIn(other: PieceSet | null, visit: (i: number) => boolean | void): void {
    const n = this.#pool.stride - 1;
    for (let w = 0; w < n; w++) {
      // Re-read the words each time: a visitor may add to a set of the same pool, which can grow it.
      let word = this.#pool.words[this.#offset + 1 + w]! & ~(other === null ? 0 : other.#pool.words[other.#offset + 1 + w]!);
      while (word !== 0) {
        const low = word & -word;
        const bit = 31 - Math.clz32(low);
        if (visit(w * 32 + bit) === true) return;
        word ^= low;
      }
    }
  }

  /** PieceSetPool.give: empties the set and detaches it; returns its offset, or -1 if it is not from `pool`. */
  clearForPool(pool: PieceSetPool): number {
    if (this.#pool !== pool || this.#offset < 0) return -1;
    const offset = this.#offset;
    pool.words.fill(0, offset, offset + pool.stride);
    this.#offset = -1;
    return offset;
  }
}
