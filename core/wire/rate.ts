// A rolling-window transfer rate. Time comes from the caller (core/ has no clock
// of its own); memory is a fixed ring of buckets whatever the traffic.

export interface RateMeterInit {
  /** The window the rate is averaged over (the choker uses ~20 s, Cohen 2003). */
  readonly windowMs?: number;
  /** Bucket granularity; the window holds windowMs / bucketMs buckets. */
  readonly bucketMs?: number;
}

export class RateMeter {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly #buckets: Float64Array;
  /** The bucket number (floor(timeMs / bucketMs)) each slot currently holds. */
  readonly #slotBucket: Float64Array;
  #totalBytes = 0;
  #firstMs: number | null = null;
  #latestBucket = -Infinity;

  constructor(init: RateMeterInit = {}) {
    this.windowMs = init.windowMs ?? 20_000;
    this.bucketMs = init.bucketMs ?? 1_000;
    if (!(this.bucketMs > 0) || !(this.windowMs >= this.bucketMs)) throw new RangeError("need 0 < bucketMs <= windowMs");
    const slots = Math.ceil(this.windowMs / this.bucketMs);
    this.#buckets = new Float64Array(slots);
    this.#slotBucket = new Float64Array(slots).fill(-1);
  }

  /** All bytes ever added. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  add(bytes: number, nowMs: number): void {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new RangeError(`bytes must be a non-negative number, got ${bytes}`);
    this.#firstMs ??= nowMs;
    // A clock that steps back is treated as standing still.
    const bucket = Math.max(Math.floor(nowMs / this.bucketMs), this.#latestBucket);
    this.#latestBucket = bucket;
    const slot = bucket % this.#buckets.length;
    if (this.#slotBucket[slot] !== bucket) {
      this.#slotBucket[slot] = bucket;
      this.#buckets[slot] = 0;
    }
    this.#buckets[slot]! += bytes;
    this.#totalBytes += bytes;
  }

  /** Bytes per second over the last windowMs, to bucket granularity (or since the first add, when younger). */
  rateBytesPerS(nowMs: number): number {
    if (this.#firstMs === null) return 0;
    const now = Math.max(Math.floor(nowMs / this.bucketMs), this.#latestBucket);
    const oldest = now - this.#buckets.length + 1;
    let sum = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      const b = this.#slotBucket[i]!;
      if (b >= oldest && b <= now) sum += this.#buckets[i]!;
    }
    // The sum covers from the start of the oldest bucket (or the first add) to now.
    const spanMs = Math.max(this.bucketMs, Math.min(nowMs - oldest * this.bucketMs, nowMs - this.#firstMs));
    return (sum * 1000) / spanMs;
  }
}
