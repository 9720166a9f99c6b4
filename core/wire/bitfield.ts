// A piece bitfield in BEP 3 bit order: the high bit of the first byte is piece
// 0; spare bits at the end of the last byte must be zero.
import { ProtocolViolation } from "./errors.ts";

export function bitfieldBytes(pieceCount: number): number {
  return Math.ceil(pieceCount / 8);
}

export class Bitfield {
  readonly pieceCount: number;
  readonly #bits: Uint8Array;
  #count = 0;

  /** An empty bitfield of `pieceCount` pieces. */
  constructor(pieceCount: number) {
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) throw new RangeError(`piece count must be a non-negative integer, got ${pieceCount}`);
    this.pieceCount = pieceCount;
    this.#bits = new Uint8Array(bitfieldBytes(pieceCount));
  }

  /**
   * Validates a received bitfield (BEP 3): exactly ceil(pieceCount / 8) bytes,
   * spare bits zero. Throws ProtocolViolation("bad-bitfield"). Copies the bytes.
   */
  static fromBytes(bytes: Uint8Array, pieceCount: number): Bitfield {
    const expected = bitfieldBytes(pieceCount);
    if (bytes.length !== expected) {
      throw new ProtocolViolation("bad-bitfield", `bitfield of ${bytes.length} bytes for ${pieceCount} pieces (expected ${expected})`);
    }
    const spare = expected * 8 - pieceCount;
    if (spare > 0 && (bytes[expected - 1]! & ((1 << spare) - 1)) !== 0) {
      throw new ProtocolViolation("bad-bitfield", "spare bits at the end of the bitfield are set");
    }
    const out = new Bitfield(pieceCount);
    out.#bits.set(bytes);
    out.#count = popcount(bytes);
    return out;
  }

  /** Every piece set (BEP 6 have_all). */
  static full(pieceCount: number): Bitfield {
    const out = new Bitfield(pieceCount);
    for (let i = 0; i < pieceCount; i++) out.set(i);
    return out;
  }

  has(index: number): boolean {
    if (!this.#inRange(index)) return false;
    return (this.#bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
  }

  /** Sets a piece; returns true when it was not set before. Throws RangeError outside 0..pieceCount-1. */
  set(index: number): boolean {
    this.#check(index);
    if (this.has(index)) return false;
    this.#bits[index >> 3]! |= 0x80 >> (index & 7);
    this.#count++;
    return true;
  }

  /** Clears a piece; returns true when it was set before. */
  clear(index: number): boolean {
    this.#check(index);
    if (!this.has(index)) return false;
    this.#bits[index >> 3]! &= ~(0x80 >> (index & 7));
    this.#count--;
    return true;
  }

  get count(): number {
    return this.#count;
  }

  get complete(): boolean {
    return this.#count === this.pieceCount;
  }

  get empty(): boolean {
    return this.#count === 0;
  }

  /** A copy of the BEP 3 bytes. */
  toBytes(): Uint8Array {
    return this.#bits.slice();
  }

  clone(): Bitfield {
    return Bitfield.fromBytes(this.#bits, this.pieceCount);
  }

  /** Indices of set pieces, ascending. */
  *indices(): IterableIterator<number> {
    for (let i = 0; i < this.pieceCount; i++) if (this.has(i)) yield i;
  }

  #inRange(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.pieceCount;
  }

  #check(index: number): void {
    if (!this.#inRange(index)) throw new RangeError(`piece index ${index} is outside 0..${this.pieceCount - 1}`);
  }
}

function popcount(bytes: Uint8Array): number {
  let n = 0;
  for (let b of bytes) {
    while (b !== 0) {
      b &= b - 1;
      n++;
    }
  }
  return n;
}
