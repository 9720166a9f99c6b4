// Byte-level sessions over in-memory pipes that re-chunk the byte stream at
// seeded random boundaries (split and merge), on a manual clock (the network
// of test-adversary.ts, with honest peers only).
import { describe, expect, it } from "vitest";
import { bytesEqual, concatBytes } from "../bytes.ts";
import { createTorrentFromBytes, pieceSize } from "../metainfo.ts";
import { seededRandom } from "../random.ts";
import { HonestPeer, MemoryStore, Net, storedBytes } from "./test-adversary.ts";

async function makeTorrent(seed: number) {
  const r = seededRandom(seed);
  const files = [
    { path: ["album", "a.bin"], data: r.bytes(100 * 1024 + 7) },
    { path: ["album", "sub", "b.bin"], data: r.bytes(300 * 1024 + 123) },
    { path: ["album", "c.txt"], data: r.bytes(5000) },
  ];
  const info = await createTorrentFromBytes("album", files, 32 * 1024);
  const whole = concatBytes(files.map((f) => f.data));
  const seedStore = (corrupt = false): MemoryStore => {
    const s = new MemoryStore(Infinity, corrupt);
    for (let i = 0; i < info.pieceCount; i++) s.pieces.set(i, whole.slice(i * info.pieceLength, i * info.pieceLength + pieceSize(info, i)));
    return s;
  };
  return { info, whole, seedStore };
}

describe("TorrentSession over in-memory pipes", () => {
  it("a seed and two leechers (one joining from the infohash only, BEP 9) transfer a multi-file torrent byte-exact", async () => {
    const { info, whole, seedStore } = await makeTorrent(1);
    const net = new Net(42);
    const seed = net.add(new HonestPeer("seed", net, { info }, { seedAll: true, store: seedStore(), seed: 1 }));
    const a = net.add(new HonestPeer("a", net, { info }, { seed: 2 }));
    const b = net.add(new HonestPeer("b", net, { info }, { magnet: true, seed: 3 })); // magnet: infohash only
    net.connect(a, seed);
    net.connect(b, seed);
    net.connect(a, b);
    await net.run(() => a.session.snapshot().complete && b.session.snapshot().complete, 120_000);
    expect(bytesEqual(storedBytes(a.store, info.pieceCount)!, whole)).toBe(true);
    expect(bytesEqual(storedBytes(b.store, info.pieceCount)!, whole)).toBe(true);
    expect(b.events.some((e) => e.type === "metadata")).toBe(true);
    expect(b.session.info?.infoHash).toBe(info.infoHash);
    expect(a.events.filter((e) => e.type === "piece-verified")).toHaveLength(info.pieceCount);
    expect(a.events.some((e) => e.type === "completed")).toBe(true);
    expect(a.session.snapshot().verifiedBytes).toBe(info.totalLength);
    // A super-seeding seed (settings.superSeeding "auto") announces all its pieces once the leechers hold them all.
    await net.run(() => a.session.snapshot().peers.some((p) => p.progress === 1), 60_000);
    expect(a.session.snapshot().peers.map((p) => p.progress)).toContain(1);
    expect(seed.session.snapshot().uploadedBytes).toBeGreaterThan(0);
  });

  it("bans a peer that serves corrupt data, and still finishes byte-exact from the honest seed", async () => {
    const { info, whole, seedStore } = await makeTorrent(2);
    const net = new Net(7);
    const liar = net.add(new HonestPeer("liar", net, { info }, { seedAll: true, store: seedStore(true), seed: 10 }));
    const seed = net.add(new HonestPeer("seed", net, { info }, { seedAll: true, store: seedStore(), seed: 11 }));
    const a = net.add(new HonestPeer("a", net, { info }, { seed: 12 }));
    net.connect(a, liar);
    net.connect(a, seed);
    await net.run(() => a.session.snapshot().complete, 300_000);
    expect(bytesEqual(storedBytes(a.store, info.pieceCount)!, whole)).toBe(true);
    const banned = a.events.filter((e) => e.type === "peer-banned");
    expect(banned).toHaveLength(1);
    expect(banned[0]!.type === "peer-banned" && banned[0]!.id).toMatch(/^liar#/);
    expect(a.events.some((e) => e.type === "piece-failed")).toBe(true);
    expect(a.session.snapshot().bannedPeerCount).toBe(1);
    expect(a.session.snapshot().peers.map((p) => p.id)).toEqual([expect.stringMatching(/^seed#/)]);
  });

  it("skipping a file downloads only the pieces other files need, and reports completion", async () => {
    const { info, whole, seedStore } = await makeTorrent(4);
    const net = new Net(13);
    const seed = net.add(new HonestPeer("seed", net, { info }, { seedAll: true, store: seedStore(), seed: 30 }));
    const a = net.add(new HonestPeer("a", net, { info }, { seed: 31 }));
    a.session.setFilePriority(1, "skip"); // album/sub/b.bin, the big one
    net.connect(a, seed);
    await net.run(() => a.events.some((e) => e.type === "completed"), 60_000);
    const b = info.files[1]!;
    const firstOnlyB = Math.ceil(b.offset / info.pieceLength);
    const lastOnlyB = Math.floor((b.offset + b.length) / info.pieceLength) - 1;
    for (let i = 0; i < info.pieceCount; i++) {
      const onlyB = i >= firstOnlyB && i <= lastOnlyB;
      expect([i, a.store.pieces.has(i)]).toEqual([i, !onlyB]);
      const p = a.store.pieces.get(i);
      if (p) expect(bytesEqual(p, whole.subarray(i * info.pieceLength, i * info.pieceLength + p.length))).toBe(true);
    }
    expect(a.session.snapshot().complete).toBe(true);
  });

  it("pauses with a storage-error event when the store is full, keeping what it stored", async () => {
    const { info, seedStore } = await makeTorrent(3);
    const net = new Net(9);
    const seed = net.add(new HonestPeer("seed", net, { info }, { seedAll: true, store: seedStore(), seed: 20 }));
    const a = net.add(new HonestPeer("a", net, { info }, { store: new MemoryStore(3), seed: 21 }));
    net.connect(a, seed);
    await net.run(() => a.events.some((e) => e.type === "storage-error"), 60_000);
    const err = a.events.find((e) => e.type === "storage-error");
    expect(err).toMatchObject({ type: "storage-error", paused: true });
    expect(a.session.snapshot().paused).toBe(true);
    expect(a.store.pieces.size).toBe(3);
  });
});
