// A set of piece indices as 32-bit words, with word-at-a-time enumeration of
// "in this set and not in that one" (the pieces a peer has that we lack), so
// the picker can visit a sparse peer's useful pieces without scanning them all.
export class PieceSet {
  readonly size: number;
  readonly words: Uint32Array;
  #count = 0;

  constructor(size: number) {
    this.size = size;
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  /** Adds `i`; true when it was not there. */
  add(i: number): boolean {
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    const word = this.words[w]!;
    if ((word & bit) !== 0) return false;
    this.words[w] = word | bit;
    this.#count++;
    return true;
  }

  delete(i: number): boolean {
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    const word = this.words[w]!;
    if ((word & bit) === 0) return false;
    this.words[w] = word & ~bit;
    this.#count--;
    return true;
  }

  get count(): number {
    return this.#count;
  }

  /** Visits members ascending; the visitor returns true to stop. */
  forEach(visit: (i: number) => boolean | void): void {
    this.forEachNotIn(null, visit);
  }

  /** Visits members that are not in `other` (same size), ascending; the visitor returns true to stop. */
  forEachNotIn(other: PieceSet | null, visit: (i: number) => boolean | void): void {
    const words = this.words;
    const ow = other?.words;
    for (let w = 0; w < words.length; w++) {
      let word = words[w]! & ~(ow === undefined ? 0 : ow[w]!);
      while (word !== 0) {
        const low = word & -word;
        const bit = 31 - Math.clz32(low);
        if (visit(w * 32 + bit) === true) return;
        word ^= low;
      }
    }
  }
}
