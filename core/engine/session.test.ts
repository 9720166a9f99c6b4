// Byte-level sessions over in-memory pipes that re-chunk the byte stream at
// seeded random boundaries (split and merge), on a manual clock.
import { describe, expect, it } from "vitest";
import { bytesEqual, concatBytes } from "../bytes.ts";
import type { PieceIndex } from "../ids.ts";
import { makePeerId } from "../ids.ts";
import { createTorrentFromBytes, pieceSize, type TorrentInfo } from "../metainfo.ts";
import { seededRandom, type Random } from "../random.ts";
import { TorrentSession } from "./session.ts";
import { connectionId, StorageFullError, type ConnectionId, type PieceStore, type SessionEvent } from "./session-types.ts";

class MemoryStore implements PieceStore {
  readonly pieces = new Map<number, Uint8Array>();
  constructor(
    readonly corrupt = false,
    readonly capacityPieces = Infinity,
  ) {}
  async read(index: PieceIndex, offset: number, length: number): Promise<Uint8Array> {
    const p = this.pieces.get(index);
    if (!p) throw new Error(`piece ${index} not stored`);
    const out = p.slice(offset, offset + length);
    if (this.corrupt) for (let i = 0; i < out.length; i += 97) out[i] = out[i]! ^ 0x5a;
    return out;
  }
  async write(index: PieceIndex, data: Uint8Array): Promise<void> {
    if (this.pieces.size >= this.capacityPieces) throw new StorageFullError("test quota");
    this.pieces.set(index, data.slice());
  }
}

interface Peer {
  name: string;
  session: TorrentSession;
  store: MemoryStore;
  events: SessionEvent[];
}

class Net {
  readonly clock = { t: 0, nowMs: () => this.clock.t };
  readonly random: Random;
  /** link "a->b" (a's id for b): bytes a sent, not yet delivered to b */
  readonly links = new Map<string, { from: Peer; to: Peer; toId: ConnectionId; pending: Uint8Array[]; bytes: number; closed: boolean }>();
  readonly peers = new Map<string, Peer>();
  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  add(name: string, info: TorrentInfo, infoOrNull: TorrentInfo | null, store: MemoryStore, seedAll: boolean, seed: number): Peer {
    const links = this.links;
    const closeLink = (id: ConnectionId): void => this.closeLink(name, id);
    const rnd = seededRandom(seed);
    const events: SessionEvent[] = [];
    const peer = {} as Peer;
    const verified = seedAll ? new Uint8Array(Math.ceil(info.pieceCount / 8)) : undefined;
    if (verified) for (let i = 0; i < info.pieceCount; i++) verified[i >> 3]! |= 0x80 >> (i & 7);
    const session = new TorrentSession(
      { infoHash: info.infoHash, localPeerId: makePeerId((n) => rnd.bytes(n)), info: infoOrNull, ...(verified ? { verified } : {}) },
      {
        clock: this.clock,
        random: rnd,
        store,
        transport: {
          send(id, bytes) {
            const l = links.get(`${name}|${id}`);
            if (!l || l.closed) return;
            l.pending.push(bytes.slice());
            l.bytes += bytes.length;
          },
          close(id) {
            closeLink(id);
          },
          bufferedBytes(id) {
            return links.get(`${name}|${id}`)?.bytes ?? 0;
          },
        },
      },
    );
    session.subscribe((e) => events.push(e));
    Object.assign(peer, { name, session, store, events });
    this.peers.set(name, peer);
    return peer;
  }

  connect(a: Peer, b: Peer): void {
    const ab = connectionId(`to-${b.name}`);
    const ba = connectionId(`to-${a.name}`);
    this.links.set(`${a.name}|${ab}`, { from: a, to: b, toId: ba, pending: [], bytes: 0, closed: false });
    this.links.set(`${b.name}|${ba}`, { from: b, to: a, toId: ab, pending: [], bytes: 0, closed: false });
    b.session.addConnection(ba, "inbound");
    a.session.addConnection(ab, "outbound");
  }

  closeLink(name: string, id: ConnectionId): void {
    const l = this.links.get(`${name}|${id}`);
    if (!l || l.closed) return;
    l.closed = true;
    const back = this.links.get(`${l.to.name}|${l.toId}`);
    if (back) back.closed = true;
    l.to.session.removeConnection(l.toId);
    l.from.session.removeConnection(id);
  }

  /** Delivers one randomly sized chunk (1 B .. 70 KiB, across send boundaries) per link. */
  step(): void {
    for (const [key, l] of this.links) {
      if (l.closed || l.bytes === 0) continue;
      const want = this.random.next() < 0.2 ? 1 + this.random.int(64) : 1 + this.random.int(70_000);
      const parts: Uint8Array[] = [];
      let got = 0;
      while (got < want && l.pending.length > 0) {
        const head = l.pending[0]!;
        const n = Math.min(head.length, want - got);
        parts.push(head.subarray(0, n));
        got += n;
        if (n === head.length) l.pending.shift();
        else l.pending[0] = head.subarray(n);
      }
      l.bytes -= got;
      l.to.session.receive(l.toId, concatBytes(parts));
      if (l.bytes < 256 * 1024) l.from.session.drained(connectionId(key.split("|")[1]!));
    }
  }

  async run(until: () => boolean, maxVirtualMs: number): Promise<void> {
    let steps = 0;
    while (!until()) {
      this.step();
      await new Promise((r) => setImmediate(r));
      if (++steps % 5 === 0) {
        this.clock.t += 100;
        for (const p of this.peers.values()) p.session.tick();
      }
      if (this.clock.t > maxVirtualMs) throw new Error(`not done after ${maxVirtualMs} virtual ms`);
    }
  }
}

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
    const s = new MemoryStore(corrupt);
    for (let i = 0; i < info.pieceCount; i++) s.pieces.set(i, whole.slice(i * info.pieceLength, i * info.pieceLength + pieceSize(info, i)));
    return s;
  };
  return { info, whole, seedStore };
}

const storedBytes = (store: MemoryStore, pieceCount: number): Uint8Array | null => {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < pieceCount; i++) {
    const p = store.pieces.get(i);
    if (!p) return null;
    parts.push(p);
  }
  return concatBytes(parts);
};

describe("TorrentSession over in-memory pipes", () => {
  it("a seed and two leechers (one joining from the infohash only, BEP 9) transfer a multi-file torrent byte-exact", async () => {
    const { info, whole, seedStore } = await makeTorrent(1);
    const net = new Net(42);
    const seed = net.add("seed", info, info, seedStore(), true, 1);
    const a = net.add("a", info, info, new MemoryStore(), false, 2);
    const b = net.add("b", info, null, new MemoryStore(), false, 3); // magnet: infohash only
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
    const liar = net.add("liar", info, info, seedStore(true), true, 10);
    const seed = net.add("seed", info, info, seedStore(), true, 11);
    const a = net.add("a", info, info, new MemoryStore(), false, 12);
    net.connect(a, liar);
    net.connect(a, seed);
    await net.run(() => a.session.snapshot().complete, 300_000);
    expect(bytesEqual(storedBytes(a.store, info.pieceCount)!, whole)).toBe(true);
    const banned = a.events.filter((e) => e.type === "peer-banned");
    expect(banned).toHaveLength(1);
    expect(banned[0]!.type === "peer-banned" && banned[0]!.id).toBe("to-liar");
    expect(a.events.some((e) => e.type === "piece-failed")).toBe(true);
    expect(a.session.snapshot().bannedPeerCount).toBe(1);
    expect(a.session.snapshot().peers.map((p) => p.id)).toEqual(["to-seed"]);
  });

  it("skipping a file downloads only the pieces other files need, and reports completion", async () => {
    const { info, whole, seedStore } = await makeTorrent(4);
    const net = new Net(13);
    const seed = net.add("seed", info, info, seedStore(), true, 30);
    const a = net.add("a", info, info, new MemoryStore(), false, 31);
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
    const seed = net.add("seed", info, info, seedStore(), true, 20);
    const a = net.add("a", info, info, new MemoryStore(false, 3), false, 21);
    net.connect(a, seed);
    await net.run(() => a.events.some((e) => e.type === "storage-error"), 60_000);
    const err = a.events.find((e) => e.type === "storage-error");
    expect(err).toMatchObject({ type: "storage-error", paused: true });
    expect(a.session.snapshot().paused).toBe(true);
    expect(a.store.pieces.size).toBe(3);
  });
});
