import { describe, expect, it } from "vitest";
import { StorageFullError } from "../../core/engine/session-types.ts";
import { pieceIndex } from "../../core/ids.ts";
import { createTorrentFromBytes, type TorrentInfo } from "../../core/metainfo.ts";
import { memoryKv, PieceNotStoredError, StoredPieceStore, TransferDb, type Kv } from "./piece-store.ts";

const PIECE = 16 * 1024;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function torrent(): Promise<{ info: TorrentInfo; data: Uint8Array }> {
  // 4 full pieces and a short fifth one.
  const data = bytes(4 * PIECE + 1000, 7);
  const info = await createTorrentFromBytes("clip.bin", [{ path: ["clip.bin"], data }], PIECE);
  return { info, data };
}

const piece = (data: Uint8Array, info: TorrentInfo, i: number): Uint8Array =>
  data.subarray(i * info.pieceLength, Math.min(data.length, (i + 1) * info.pieceLength));

/** Counts reads that reach the key-value store. */
function counting(kv: Kv): Kv & { gets: number } {
  const out = {
    ...kv,
    gets: 0,
    get<T>(key: string): Promise<T | undefined> {
      out.gets++;
      return kv.get<T>(key);
    },
    getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
      out.gets++;
      return kv.getMany<T>(keys);
    },
  };
  return out;
}

describe("StoredPieceStore", () => {
  it("stores verified pieces and reads back exact blocks, and a reopened store resumes from the bitfield", async () => {
    const { info, data } = await torrent();
    const kv = memoryKv();
    const store = new StoredPieceStore(kv, info.infoHash, info);
    await store.open();
    await store.write(pieceIndex(1, info.pieceCount), piece(data, info, 1));
    await store.write(pieceIndex(4, info.pieceCount), piece(data, info, 4));
    expect(await store.read(pieceIndex(1, info.pieceCount), 100, 16)).toEqual(data.subarray(PIECE + 100, PIECE + 116));
    expect(await store.read(pieceIndex(4, info.pieceCount), 0, 1000)).toEqual(data.subarray(4 * PIECE));
    expect(store.storedBytes).toBe(PIECE + 1000);

    const again = new StoredPieceStore(kv, info.infoHash, info);
    const bits = await again.open();
    // BEP 3 bitfield: piece 1 and piece 4 of 5 -> 0b01001000.
    expect([...bits]).toEqual([0b01001000]);
    expect(again.storedBytes).toBe(PIECE + 1000);
    await expect(again.read(pieceIndex(0, info.pieceCount), 0, 16)).rejects.toBeInstanceOf(PieceNotStoredError);
  });

  it("a piece cleared from storage under a running store fails its read, stops counting as stored, and is stored again when written", async () => {
    const { info, data } = await torrent();
    const kv = memoryKv();
    const store = new StoredPieceStore(kv, info.infoHash, info);
    await store.open();
    const two = pieceIndex(2, info.pieceCount);
    await store.write(two, piece(data, info, 2));
    // Another store object over the same data, as after a reload: nothing cached.
    const reopened = new StoredPieceStore(kv, info.infoHash, info);
    await reopened.open();
    expect(reopened.has(2)).toBe(true);
    await kv.del(`${info.infoHash}:2`); // the browser cleared it
    await expect(reopened.read(two, 0, 16)).rejects.toBeInstanceOf(PieceNotStoredError);
    expect(reopened.has(2)).toBe(false);
    expect(reopened.storedBytes).toBe(0);
    await reopened.write(two, piece(data, info, 2));
    expect(await reopened.read(two, 0, 16)).toEqual(piece(data, info, 2).subarray(0, 16));
    expect(await kv.get(`${info.infoHash}:2`)).toEqual(piece(data, info, 2));
  });

  it("on resume trusts only marked pieces that are really stored", async () => {
    const { info, data } = await torrent();
    const kv = memoryKv();
    const store = new StoredPieceStore(kv, info.infoHash, info);
    await store.open();
    await store.write(pieceIndex(0, info.pieceCount), piece(data, info, 0));
    await store.write(pieceIndex(2, info.pieceCount), piece(data, info, 2));
    // The piece vanished (evicted or a crash mid-delete), its bit did not.
    await kv.del(`${info.infoHash}:2`);
    // A stored piece whose bit was never written (crash between the two writes).
    await kv.set(`${info.infoHash}:3`, piece(data, info, 3).slice());

    const resumed = new StoredPieceStore(kv, info.infoHash, info);
    expect([...(await resumed.open())]).toEqual([0b10000000]);
    expect(resumed.has(0)).toBe(true);
    expect(resumed.has(2)).toBe(false);
    expect(resumed.has(3)).toBe(false);
  });

  it("turns a full store into StorageFullError and keeps what was stored", async () => {
    const { info, data } = await torrent();
    // Room for two pieces and a bitfield, not three.
    const kv = memoryKv(2 * PIECE + 600);
    const store = new StoredPieceStore(kv, info.infoHash, info);
    await store.open();
    await store.write(pieceIndex(0, info.pieceCount), piece(data, info, 0));
    await store.write(pieceIndex(1, info.pieceCount), piece(data, info, 1));
    const err = await store.write(pieceIndex(2, info.pieceCount), piece(data, info, 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as Error).message).toMatch(/32 KiB of this transfer are kept in browser storage/);
    expect(store.has(2)).toBe(false);

    const resumed = new StoredPieceStore(kv, info.infoHash, info);
    expect([...(await resumed.open())]).toEqual([0b11000000]);
    expect(await resumed.read(pieceIndex(1, info.pieceCount), 0, PIECE)).toEqual(piece(data, info, 1));
  });

  it("writes pieces verified together in one transaction with their bits: a full store keeps none of them marked", async () => {
    const { info, data } = await torrent();
    const kv = memoryKv(3 * PIECE);
    const store = new StoredPieceStore(kv, info.infoHash, info);
    await store.open();
    // Four pieces verified in the same moment do not fit: the batch fails whole.
    const results = await Promise.allSettled([0, 1, 2, 3].map((i) => store.write(pieceIndex(i, info.pieceCount), piece(data, info, i))));
    expect(results.every((r) => r.status === "rejected" && r.reason instanceof StorageFullError)).toBe(true);
    expect(await kv.keysWithPrefix(`${info.infoHash}:`)).toEqual([]);
    // Two fit, and land together with their bits.
    await Promise.all([0, 1].map((i) => store.write(pieceIndex(i, info.pieceCount), piece(data, info, i))));
    const resumed = new StoredPieceStore(kv, info.infoHash, info);
    expect([...(await resumed.open())]).toEqual([0b11000000]);
  });

  it("serves the 16 KiB blocks of a recently read piece without re-reading storage", async () => {
    const data = bytes(4 * 64 * 1024, 3);
    const info = await createTorrentFromBytes("big.bin", [{ path: ["big.bin"], data }], 64 * 1024);
    const kv = memoryKv();
    const writer = new StoredPieceStore(kv, info.infoHash, info);
    await writer.open();
    for (let i = 0; i < info.pieceCount; i++) await writer.write(pieceIndex(i, info.pieceCount), data.subarray(i * 65536, (i + 1) * 65536));

    const counted = counting(kv);
    const reader = new StoredPieceStore(counted, info.infoHash, info, { cacheBytes: 2 * 65536, readAheadBytes: 0 });
    await reader.open();
    const before = counted.gets;
    for (let begin = 0; begin < 65536; begin += 16384) {
      expect(await reader.read(pieceIndex(2, info.pieceCount), begin, 16384)).toEqual(data.subarray(2 * 65536 + begin, 2 * 65536 + begin + 16384));
    }
    expect(counted.gets - before).toBe(1);
    // Two other pieces push piece 2 out of a 2-piece cache.
    await reader.read(pieceIndex(0, info.pieceCount), 0, 1);
    await reader.read(pieceIndex(1, info.pieceCount), 0, 1);
    await reader.read(pieceIndex(2, info.pieceCount), 0, 1);
    expect(counted.gets - before).toBe(4);
  });

  it("reads ahead: one storage read serves the stored pieces after the one asked for", async () => {
    const data = bytes(4 * 64 * 1024, 5);
    const info = await createTorrentFromBytes("ahead.bin", [{ path: ["ahead.bin"], data }], 64 * 1024);
    const kv = memoryKv();
    const writer = new StoredPieceStore(kv, info.infoHash, info);
    await writer.open();
    for (const i of [0, 1, 3]) await writer.write(pieceIndex(i, info.pieceCount), data.subarray(i * 65536, (i + 1) * 65536));

    const counted = counting(kv);
    const reader = new StoredPieceStore(counted, info.infoHash, info, { readAheadBytes: 256 * 1024 });
    await reader.open();
    const before = counted.gets;
    // Concurrent block requests for pieces 0 and 1 share one read; piece 2 is not stored, so read-ahead stops there.
    const [a, b] = await Promise.all([reader.read(pieceIndex(0, 4), 0, 16384), reader.read(pieceIndex(1, 4), 16384, 16384)]);
    expect(a).toEqual(data.subarray(0, 16384));
    expect(b).toEqual(data.subarray(65536 + 16384, 65536 + 32768));
    expect(counted.gets - before).toBe(1);
    // A piece not marked stored is refused without touching storage.
    await expect(reader.read(pieceIndex(2, 4), 0, 1)).rejects.toBeInstanceOf(PieceNotStoredError);
    expect(counted.gets - before).toBe(1);
    expect(await reader.read(pieceIndex(3, 4), 65535, 1)).toEqual(data.subarray(4 * 65536 - 1));
    expect(counted.gets - before).toBe(2);
  });

  it("rejects a piece of the wrong size", async () => {
    const { info } = await torrent();
    const store = new StoredPieceStore(memoryKv(), info.infoHash, info);
    await store.open();
    await expect(store.write(pieceIndex(0, info.pieceCount), new Uint8Array(10))).rejects.toThrow(/must be 16384 bytes/);
  });
});

describe("TransferDb", () => {
  it("lists transfers oldest first and deletes one with all its pieces", async () => {
    const { info, data } = await torrent();
    const kv = memoryKv();
    const db = new TransferDb(kv);
    await db.put({ infoHash: info.infoHash, name: info.name, infoBytes: info.infoBytes, trackers: ["ws://x/announce"], addedAtMs: 2, paused: false });
    const other = await createTorrentFromBytes("b", [{ path: ["b"], data: bytes(100, 1) }]);
    await db.put({ infoHash: other.infoHash, name: "b", infoBytes: null, trackers: [], addedAtMs: 1, paused: true });
    const store = new StoredPieceStore(kv, info.infoHash, info);
    await store.open();
    await store.write(pieceIndex(0, info.pieceCount), piece(data, info, 0));
    expect((await db.list()).map((r) => r.name)).toEqual(["b", "clip.bin"]);
    expect((await db.get(info.infoHash))?.infoBytes).toEqual(info.infoBytes);

    await db.delete(info.infoHash);
    expect((await db.list()).map((r) => r.name)).toEqual(["b"]);
    expect(await kv.keysWithPrefix(`${info.infoHash}`)).toEqual([]);
    expect(kv.usedBytes).toBeLessThan(1024);
  });
});
