// SwarmDrop's persistent data: the one module that touches IndexedDB.
//
// What is stored where (IndexedDB database "swarmdrop", object store "data",
// through idb-keyval's createStore):
//   `transfer:<infohash>`  TransferRecord: name, info dict bytes (null until
//                          the metadata arrives), trackers, added time, paused
//   `bitfield:<infohash>`  Uint8Array: the BEP 3 bitfield of pieces verified
//                          AND stored (written after each piece, never before)
//   `<infohash>:<index>`   Uint8Array: one verified piece
// Keys are strings; <infohash> is 40 lower-case hex characters.
//
// Crash safety: pieces and the bitfield that marks them are written in one
// IndexedDB transaction (pieces verified within a few milliseconds are
// batched), so a piece is never marked without being stored. Batches commit
// in order. On resume only pieces both marked and present count.
//
// The Kv interface below is what the piece store needs from a key-value
// store; idbKv() is the IndexedDB one used in the browser, memoryKv() keeps
// values in memory (the headless peer's fallback, and the unit tests).
import { createStore, del, get, getMany, set, setMany, type UseStore } from "idb-keyval";
import { StorageFullError, type PieceStore } from "../../core/engine/session-types.ts";
import type { InfoHash, PieceIndex } from "../../core/ids.ts";
import { pieceSize, type TorrentInfo } from "../../core/metainfo.ts";

export interface Kv {
  get<T>(key: string): Promise<T | undefined>;
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>;
  set(key: string, value: unknown): Promise<void>;
  /** Sets several keys in one atomic transaction: all land or none. */
  setMany(entries: readonly (readonly [string, unknown])[]): Promise<void>;
  del(key: string): Promise<void>;
  /** All keys starting with `prefix`, in key order. */
  keysWithPrefix(prefix: string): Promise<string[]>;
  /** Deletes every key starting with `prefix`. */
  delPrefix(prefix: string): Promise<void>;
}

/** Keys starting with `prefix` lie in [prefix, prefix + U+FFFF). */
function prefixRange(prefix: string): IDBKeyRange {
  return IDBKeyRange.bound(prefix, `${prefix}\uffff`, false, true);
}

export function idbKv(dbName = "swarmdrop", storeName = "data"): Kv {
  const store: UseStore = createStore(dbName, storeName);
  return {
    get: <T>(key: string) => get<T>(key, store),
    getMany: <T>(keys: readonly string[]) => getMany<T>([...keys], store),
    set: (key, value) => set(key, value, store),
    setMany: (entries) => setMany(entries.map(([k, v]) => [k, v]), store),
    del: (key) => del(key, store),
    keysWithPrefix: (prefix) =>
      store("readonly", (s) => new Promise<string[]>((resolve, reject) => {
        const req = s.getAllKeys(prefixRange(prefix));
        req.onsuccess = () => resolve(req.result.filter((k): k is string => typeof k === "string"));
        req.onerror = () => reject(req.error ?? new Error("IndexedDB getAllKeys failed"));
      })),
    delPrefix: (prefix) =>
      store("readwrite", (s) => new Promise<void>((resolve, reject) => {
        const req = s.delete(prefixRange(prefix));
        req.onsuccess = () => resolve();
        req.onerror = () => reject(req.error ?? new Error("IndexedDB delete failed"));
      })),
  };
}

/**
 * Values in memory, copied in and out like IndexedDB's structured clone. With
 * `capacityBytes`, writes past it fail with a DOMException named
 * QuotaExceededError, as a full browser store does.
 */
export function memoryKv(capacityBytes = Number.POSITIVE_INFINITY): Kv & { readonly usedBytes: number } {
  const map = new Map<string, unknown>();
  const sizeOf = (v: unknown): number => (v instanceof Uint8Array ? v.byteLength : 256);
  let used = 0;
  return {
    get usedBytes() {
      return used;
    },
    get: <T>(key: string) => Promise.resolve(structuredClone(map.get(key)) as T | undefined),
    getMany: <T>(keys: readonly string[]) => Promise.resolve(keys.map((k) => structuredClone(map.get(k)) as T | undefined)),
    set: (key, value) => {
      const before = map.has(key) ? sizeOf(map.get(key)) : 0;
      const after = sizeOf(value);
      if (used - before + after > capacityBytes) {
        return Promise.reject(new DOMException("The quota has been exceeded.", "QuotaExceededError"));
      }
      used += after - before;
      map.set(key, structuredClone(value));
      return Promise.resolve();
    },
    setMany: (entries) => {
      let delta = 0;
      for (const [key, value] of entries) delta += sizeOf(value) - (map.has(key) ? sizeOf(map.get(key)) : 0);
      if (used + delta > capacityBytes) {
        return Promise.reject(new DOMException("The quota has been exceeded.", "QuotaExceededError"));
      }
      used += delta;
      for (const [key, value] of entries) map.set(key, structuredClone(value));
      return Promise.resolve();
    },
    del: (key) => {
      if (map.has(key)) used -= sizeOf(map.get(key));
      map.delete(key);
      return Promise.resolve();
    },
    keysWithPrefix: (prefix) => Promise.resolve([...map.keys()].filter((k) => k.startsWith(prefix)).sort()),
    delPrefix: (prefix) => {
      for (const k of [...map.keys()]) {
        if (k.startsWith(prefix)) {
          used -= sizeOf(map.get(k));
          map.delete(k);
        }
      }
      return Promise.resolve();
    },
  };
}

/** What we keep about a transfer besides its pieces. */
export interface TransferRecord {
  readonly infoHash: InfoHash;
  readonly name: string;
  /** The bencoded info dict; null while it is being fetched from peers (BEP 9). */
  readonly infoBytes: Uint8Array | null;
  readonly trackers: readonly string[];
  readonly addedAtMs: number;
  readonly paused: boolean;
}

const transferKey = (h: InfoHash): string => `transfer:${h}`;
const bitfieldKey = (h: InfoHash): string => `bitfield:${h}`;
const pieceKey = (h: InfoHash, index: number): string => `${h}:${index}`;

/** True for the errors browsers raise when storage is full. */
export function isQuotaError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const name = (err as { name?: unknown }).name;
  return name === "QuotaExceededError" || name === "NS_ERROR_DOM_QUOTA_REACHED";
}

export class PieceNotStoredError extends Error {
  override name = "PieceNotStoredError";
}

/** Records of every transfer, and their deletion. */
export class TransferDb {
  constructor(readonly kv: Kv) {}

  async list(): Promise<TransferRecord[]> {
    const keys = await this.kv.keysWithPrefix("transfer:");
    const records = await this.kv.getMany<TransferRecord>(keys);
    return records.filter((r): r is TransferRecord => r !== undefined).sort((a, b) => a.addedAtMs - b.addedAtMs);
  }

  get(infoHash: InfoHash): Promise<TransferRecord | undefined> {
    return this.kv.get<TransferRecord>(transferKey(infoHash));
  }

  async put(record: TransferRecord): Promise<void> {
    try {
      await this.kv.set(transferKey(record.infoHash), record);
    } catch (err) {
      if (isQuotaError(err)) throw new StorageFullError("browser storage is full: cannot save this transfer");
      throw err;
    }
  }

  /** Deletes the record, the bitfield and every piece. */
  async delete(infoHash: InfoHash): Promise<void> {
    await this.kv.del(transferKey(infoHash));
    await this.kv.del(bitfieldKey(infoHash));
    await this.kv.delPrefix(`${infoHash}:`);
  }
}

export interface StoredPieceStoreOptions {
  /** Bytes of recently read pieces kept in memory, so serving 16 KiB blocks does not re-read a piece each time. */
  readonly cacheBytes?: number;
  /** A read that misses the cache also fetches the stored pieces after it, up to this many bytes, in one transaction. */
  readonly readAheadBytes?: number;
  /** Pieces written within this many ms share one transaction. */
  readonly batchDelayMs?: number;
}

interface WriteBatch {
  readonly pieces: Map<number, Uint8Array>;
  bytes: number;
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * The pieces of one transfer in the key-value store: core PieceStore plus the
 * verified bitfield. Call open() before use.
 */
export class StoredPieceStore implements PieceStore {
  readonly #kv: Kv;
  readonly #infoHash: InfoHash;
  #info: TorrentInfo | null;
  #bits: Uint8Array;
  #storedBytes = 0;
  readonly #cache = new Map<number, Uint8Array>();
  #cachedBytes = 0;
  readonly #cacheBytes: number;
  readonly #readAheadBytes: number;
  /** Reads in flight, shared by every caller that wants one of their pieces. */
  readonly #inflight = new Map<number, Promise<Uint8Array | undefined>>();
  /** Pieces waiting to be written together. */
  #batch: WriteBatch | null = null;
  /** Batches commit one after another, so each bitfield includes the ones before. */
  #tail: Promise<void> = Promise.resolve();
  readonly #batchDelayMs: number;
  #deleted = false;

  constructor(kv: Kv, infoHash: InfoHash, info: TorrentInfo | null, options: StoredPieceStoreOptions = {}) {
    this.#kv = kv;
    this.#infoHash = infoHash;
    this.#info = info;
    this.#bits = new Uint8Array(info === null ? 0 : Math.ceil(info.pieceCount / 8));
    this.#cacheBytes = options.cacheBytes ?? 32 * 1024 * 1024;
    this.#readAheadBytes = options.readAheadBytes ?? 1024 * 1024;
    this.#batchDelayMs = options.batchDelayMs ?? 5;
  }

  get infoHash(): InfoHash {
    return this.#infoHash;
  }

  /** Bytes of pieces this transfer keeps in storage. */
  get storedBytes(): number {
    return this.#storedBytes;
  }

  /** The stored-and-verified bitfield (a copy). */
  get verified(): Uint8Array {
    return this.#bits.slice();
  }

  has(index: number): boolean {
    return ((this.#bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
  }

  /**
   * Loads the stored bitfield, trusting only pieces that are both marked and
   * present (and of the right size), and returns it. Without metadata nothing
   * can be stored yet.
   */
  async open(): Promise<Uint8Array> {
    const info = this.#info;
    if (info === null) return this.verified;
    const saved = await this.#kv.get<Uint8Array>(bitfieldKey(this.#infoHash));
    const present = new Set(await this.#kv.keysWithPrefix(`${this.#infoHash}:`));
    const bits = new Uint8Array(Math.ceil(info.pieceCount / 8));
    let stored = 0;
    if (saved instanceof Uint8Array) {
      for (let i = 0; i < info.pieceCount; i++) {
        const marked = ((saved[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
        if (marked && present.has(pieceKey(this.#infoHash, i))) {
          bits[i >> 3]! |= 0x80 >> (i & 7);
          stored += pieceSize(info, i);
        }
      }
    }
    this.#bits = bits;
    this.#storedBytes = stored;
    return this.verified;
  }

  /** The metadata arrived (BEP 9): pieces can be stored from now on. */
  setInfo(info: TorrentInfo): void {
    if (this.#info !== null) return;
    this.#info = info;
    this.#bits = new Uint8Array(Math.ceil(info.pieceCount / 8));
  }

  async read(index: PieceIndex, offset: number, length: number): Promise<Uint8Array> {
    const piece = await this.readPiece(index);
    if (offset < 0 || length < 0 || offset + length > piece.length) {
      throw new RangeError(`block ${offset}+${length} is outside piece ${index} of ${piece.length} bytes`);
    }
    return piece.subarray(offset, offset + length);
  }

  /** A whole stored piece (from the cache when recently read). */
  async readPiece(index: number): Promise<Uint8Array> {
    const cached = this.#cache.get(index);
    if (cached !== undefined) {
      // Refresh its place in the LRU order.
      this.#cache.delete(index);
      this.#cache.set(index, cached);
      return cached;
    }
    // The bitfield is the truth (resume trusts nothing else): an unmarked piece is not read.
    if (!this.has(index)) throw new PieceNotStoredError(`piece ${index} of ${this.#infoHash} is not stored`);
    let reading = this.#inflight.get(index);
    if (reading === undefined) reading = this.#fetch(index);
    const piece = await reading;
    if (!(piece instanceof Uint8Array)) {
      // Marked but gone (the site's data was cleared under the page): no longer
      // counted as stored, so the piece is written again once downloaded again.
      this.#unmark(index);
      throw new PieceNotStoredError(`piece ${index} of ${this.#infoHash} is no longer in browser storage`);
    }
    return piece;
  }

  #unmark(index: number): void {
    const info = this.#info;
    if (info === null || !this.has(index)) return;
    this.#bits[index >> 3]! &= ~(0x80 >> (index & 7));
    this.#storedBytes -= pieceSize(info, index);
  }

  /** Fetches `index` and the stored pieces after it (read-ahead) in one getMany. */
  #fetch(index: number): Promise<Uint8Array | undefined> {
    const indices = [index];
    const info = this.#info;
    if (info !== null) {
      let bytes = info.pieceLength;
      for (let j = index + 1; j < info.pieceCount && bytes + info.pieceLength <= this.#readAheadBytes; j++) {
        if (!this.has(j) || this.#cache.has(j) || this.#inflight.has(j)) break;
        indices.push(j);
        bytes += info.pieceLength;
      }
    }
    const all = this.#kv.getMany<Uint8Array>(indices.map((i) => pieceKey(this.#infoHash, i)));
    const settle = all.then(
      (pieces) => {
        indices.forEach((i, k) => {
          this.#inflight.delete(i);
          const piece = pieces[k];
          if (piece instanceof Uint8Array) this.#remember(i, piece);
        });
        return pieces;
      },
      (err: unknown) => {
        for (const i of indices) this.#inflight.delete(i);
        throw err;
      },
    );
    indices.forEach((i, k) => {
      const one = settle.then((pieces) => pieces[k]);
      // Read-ahead pieces nobody asks for must not surface as unhandled rejections.
      one.catch(() => undefined);
      this.#inflight.set(i, one);
    });
    return this.#inflight.get(index)!;
  }

  async write(index: PieceIndex, data: Uint8Array): Promise<void> {
    if (this.#deleted) return;
    const info = this.#info;
    if (info === null) throw new PieceNotStoredError("cannot store a piece before the metadata is known");
    if (data.length !== pieceSize(info, index)) {
      throw new RangeError(`piece ${index} must be ${pieceSize(info, index)} bytes, got ${data.length}`);
    }
    if (this.has(index)) return;
    let batch = this.#batch;
    if (batch === null) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = { pieces: new Map(), bytes: 0, done, resolve, reject };
      this.#batch = batch;
      setTimeout(() => this.#commit(batch!), this.#batchDelayMs);
    }
    if (!batch.pieces.has(index)) {
      // A view into a larger buffer is copied (IndexedDB would store the whole
      // buffer); a piece that is its buffer is kept as it is: callers hand it
      // over and do not change it (the session drops it after writing).
      const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
      batch.pieces.set(index, whole ? data : data.slice());
      batch.bytes += data.length;
    }
    return batch.done;
  }

  /** Writes one batch of pieces and the bitfield marking them in one transaction, after earlier batches. */
  #commit(batch: WriteBatch): void {
    if (this.#batch === batch) this.#batch = null;
    this.#tail = this.#tail.then(async () => {
      if (this.#deleted) {
        batch.resolve();
        return;
      }
      const bits = this.#bits.slice();
      for (const index of batch.pieces.keys()) bits[index >> 3]! |= 0x80 >> (index & 7);
      const entries: [string, unknown][] = [...batch.pieces].map(([index, piece]) => [pieceKey(this.#infoHash, index), piece]);
      entries.push([bitfieldKey(this.#infoHash), bits]);
      try {
        await this.#kv.setMany(entries);
      } catch (err) {
        batch.reject(
          isQuotaError(err)
            ? new StorageFullError(`${formatMiB(this.#storedBytes)} of this transfer are kept in browser storage; free some space and resume`)
            : err,
        );
        return;
      }
      if (this.#deleted) {
        batch.resolve();
        return;
      }
      for (const [index, piece] of batch.pieces) {
        this.#bits[index >> 3]! |= 0x80 >> (index & 7);
        this.#storedBytes += piece.length;
        this.#remember(index, piece);
      }
      batch.resolve();
    });
  }

  /** Waits for pending writes. */
  async flush(): Promise<void> {
    const pending = this.#batch;
    if (pending !== null) await pending.done.catch(() => undefined);
    await this.#tail;
  }

  /** Stops writing (the transfer is being removed). */
  markDeleted(): void {
    this.#deleted = true;
    this.#cache.clear();
    this.#cachedBytes = 0;
  }

  #remember(index: number, piece: Uint8Array): void {
    if (piece.length > this.#cacheBytes) return;
    const old = this.#cache.get(index);
    if (old !== undefined) {
      this.#cachedBytes -= old.length;
      this.#cache.delete(index);
    }
    this.#cache.set(index, piece);
    this.#cachedBytes += piece.length;
    while (this.#cachedBytes > this.#cacheBytes) {
      const oldest = this.#cache.entries().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest[0]);
      this.#cachedBytes -= oldest[1].length;
    }
  }
}

function formatMiB(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Browser storage use across the origin (navigator.storage.estimate), null fields when unknown. */
export async function estimateStorage(): Promise<{ usedBytes: number | null; quotaBytes: number | null }> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (storage === undefined || typeof storage.estimate !== "function") return { usedBytes: null, quotaBytes: null };
  try {
    const e = await storage.estimate();
    return { usedBytes: e.usage ?? null, quotaBytes: e.quota ?? null };
  } catch {
    return { usedBytes: null, quotaBytes: null };
  }
}
