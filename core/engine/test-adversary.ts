// Test helper (not used by the app): a byte-level network of honest
// TorrentSessions and adversarial peers built from core/wire's PeerConnection,
// on a manual clock, with seeded re-chunking of every byte stream and links
// that can be stalled silently (bytes accepted, never delivered).
//
// The adversary speaks the wire protocol well enough to be accepted
// (handshake, BEP 10, BEP 6) and then lies in one of several ways; raw frames
// are written past its PeerConnection for what the intents refuse to send.
import { bytesEqual, concatBytes, sha1 } from "../bytes.ts";
import type { PieceIndex, PeerId } from "../ids.ts";
import { makePeerId } from "../ids.ts";
import { createTorrentFromBytes, pieceSize, type TorrentInfo } from "../metainfo.ts";
import { seededRandom, type Random } from "../random.ts";
import { Bitfield } from "../wire/bitfield.ts";
import { encodeMessage } from "../wire/codec.ts";
import { PeerConnection, type PeerEvent } from "../wire/peer-connection.ts";
import { TorrentSession } from "./session.ts";
import { connectionId, StorageFullError, type ConnectionId, type PieceStore, type SessionEvent } from "./session-types.ts";

export class MemoryStore implements PieceStore {
  readonly pieces = new Map<number, Uint8Array>();
  writes = 0;
  constructor(
    readonly capacityPieces = Infinity,
    /** Reads come back with every 97th byte flipped: a peer serving from it serves corrupt blocks. */
    readonly corrupt = false,
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
    this.writes++;
    this.pieces.set(index, data.slice());
  }
}

/** One end of the network: an honest session or an adversary. */
export interface Endpoint {
  readonly name: string;
  addConnection(id: ConnectionId, direction: "outbound" | "inbound"): void;
  receive(id: ConnectionId, bytes: Uint8Array): void;
  removeConnection(id: ConnectionId): void;
  drained(id: ConnectionId): void;
  tick(): void;
}

export interface Transport {
  send(id: ConnectionId, bytes: Uint8Array): void;
  close(id: ConnectionId, reason: string): void;
  bufferedBytes(id: ConnectionId): number;
}

interface Link {
  readonly from: Endpoint;
  readonly to: Endpoint;
  /** The receiver's id for this connection. */
  readonly toId: ConnectionId;
  readonly fromId: ConnectionId;
  pending: Uint8Array[];
  bytes: number;
  closed: boolean;
  /** Silently stalled: sends are accepted and buffered, nothing is delivered, nobody is told. */
  stalled: boolean;
}

export class Net {
  timeMs = 0;
  readonly clock = { nowMs: (): number => this.timeMs };
  readonly random: Random;
  readonly links = new Map<string, Link>();
  readonly endpoints = new Map<string, Endpoint>();
  /** Bytes delivered over all links. */
  deliveredBytes = 0;
  /** Piece hashes being computed: run() lets them finish before the next step, so a seed replays the same run. */
  hashing = 0;
  #connections = 0;

  constructor(readonly seed: number) {
    this.random = seededRandom(seed);
  }

  transportFor(name: string): Transport {
    return {
      send: (id, bytes) => {
        const l = this.links.get(`${name}|${id}`);
        if (!l || l.closed) return;
        l.pending.push(bytes.slice());
        l.bytes += bytes.length;
      },
      close: (id) => this.closeLink(name, id),
      bufferedBytes: (id) => this.links.get(`${name}|${id}`)?.bytes ?? 0,
    };
  }

  add<E extends Endpoint>(endpoint: E): E {
    this.endpoints.set(endpoint.name, endpoint);
    return endpoint;
  }

  /** Opens a connection a -> b; returns [a's id for it, b's id for it]. Each call makes fresh ids (reconnects). */
  connect(a: Endpoint, b: Endpoint): [ConnectionId, ConnectionId] {
    const n = ++this.#connections;
    const ab = connectionId(`${b.name}#${n}`);
    const ba = connectionId(`${a.name}#${n}`);
    this.links.set(`${a.name}|${ab}`, { from: a, to: b, toId: ba, fromId: ab, pending: [], bytes: 0, closed: false, stalled: false });
    this.links.set(`${b.name}|${ba}`, { from: b, to: a, toId: ab, fromId: ba, pending: [], bytes: 0, closed: false, stalled: false });
    b.addConnection(ba, "inbound");
    a.addConnection(ab, "outbound");
    return [ab, ba];
  }

  /** Both directions of the connection a knows as `id` stop delivering, silently. */
  stall(a: Endpoint, id: ConnectionId): void {
    const l = this.links.get(`${a.name}|${id}`);
    if (!l) throw new Error(`no link ${a.name}|${id}`);
    l.stalled = true;
    const back = this.links.get(`${l.to.name}|${l.toId}`);
    if (back) back.stalled = true;
  }

  isOpen(a: Endpoint, id: ConnectionId): boolean {
    const l = this.links.get(`${a.name}|${id}`);
    return l !== undefined && !l.closed;
  }

  closeLink(name: string, id: ConnectionId): void {
    const l = this.links.get(`${name}|${id}`);
    if (!l || l.closed) return;
    l.closed = true;
    const back = this.links.get(`${l.to.name}|${l.toId}`);
    if (back) back.closed = true;
    l.to.removeConnection(l.toId);
    l.from.removeConnection(id);
  }

  /** Delivers one randomly sized chunk (1 B .. 70 KiB, across send boundaries) per open, unstalled link. */
  step(): void {
    for (const l of [...this.links.values()]) {
      if (l.closed || l.stalled || l.bytes === 0) continue;
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
      this.deliveredBytes += got;
      l.to.receive(l.toId, concatBytes(parts));
      if (l.bytes < 256 * 1024 && !l.closed) l.from.drained(l.fromId);
    }
  }

  /** Runs until `until()` or throws after maxVirtualMs (virtual time advances 100 ms every 5 steps). */
  async run(until: () => boolean, maxVirtualMs: number, what = "condition"): Promise<void> {
    let steps = 0;
    const start = this.timeMs;
    while (!until()) {
      this.step();
      do await new Promise((r) => setImmediate(r));
      while (this.hashing > 0);
      if (++steps % 5 === 0) {
        this.timeMs += 100;
        for (const e of [...this.endpoints.values()]) e.tick();
      }
      if (this.timeMs - start > maxVirtualMs) throw new Error(`${what}: not reached after ${maxVirtualMs} virtual ms (seed ${this.seed})`);
    }
  }
}

export class HonestPeer implements Endpoint {
  readonly session: TorrentSession;
  readonly events: SessionEvent[] = [];
  constructor(
    readonly name: string,
    net: Net,
    torrent: { readonly info: TorrentInfo },
    opts: { readonly seedAll?: boolean; readonly magnet?: boolean; readonly store?: MemoryStore; readonly seed: number },
    readonly store: MemoryStore = opts.store ?? new MemoryStore(),
  ) {
    const info = torrent.info;
    const rnd = seededRandom(opts.seed);
    let verified: Uint8Array | undefined;
    if (opts.seedAll === true) {
      verified = new Uint8Array(Math.ceil(info.pieceCount / 8));
      for (let i = 0; i < info.pieceCount; i++) verified[i >> 3]! |= 0x80 >> (i & 7);
    }
    this.session = new TorrentSession(
      { infoHash: info.infoHash, localPeerId: makePeerId((n) => rnd.bytes(n)), info: opts.magnet === true ? null : info, ...(verified ? { verified } : {}) },
      {
        clock: net.clock,
        random: rnd,
        store: this.store,
        transport: net.transportFor(name),
        sha1: async (data) => {
          net.hashing++;
          try {
            return await sha1(data);
          } finally {
            net.hashing--;
          }
        },
      },
    );
    this.session.subscribe((e) => this.events.push(e));
  }
  addConnection(id: ConnectionId, direction: "outbound" | "inbound"): void {
    this.session.addConnection(id, direction);
  }
  receive(id: ConnectionId, bytes: Uint8Array): void {
    this.session.receive(id, bytes);
  }
  removeConnection(id: ConnectionId): void {
    this.session.removeConnection(id);
  }
  drained(id: ConnectionId): void {
    this.session.drained(id);
  }
  tick(): void {
    this.session.tick();
  }
  get complete(): boolean {
    return this.session.snapshot().complete;
  }
  eventsOf<T extends SessionEvent["type"]>(type: T): Extract<SessionEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type);
  }
}

/** How the adversary lies. */
export type Lie =
  /** Claims every piece, unchokes, answers every request with the right length and wrong bytes. */
  | "corrupt-blocks"
  /** Claims every piece and the right metadata size, serves random bytes as the info dict; rejects block requests. */
  | "wrong-metadata"
  /** Claims every piece (have_all), unchokes, and never answers a request. */
  | "phantom-pieces"
  /** After the handshakes, a frame whose length prefix announces 1 GiB. */
  | "oversized-frame"
  /** After the handshakes, a piece frame of 1 MiB (over the 16 KiB block bound). */
  | "oversized-piece"
  /** After the handshakes, 2,000 requests at once. */
  | "request-flood"
  /** After the handshakes, blocks nobody asked for. */
  | "unrequested-blocks";

export interface AdversaryStats {
  requestsReceived: number;
  blocksSent: number;
  corruptBytesSent: number;
  metadataPiecesSent: number;
  rawFramesSent: number;
}

/** A peer that speaks the wire protocol and lies; one PeerConnection per connection. */
export class Adversary implements Endpoint {
  readonly conns = new Map<ConnectionId, PeerConnection>();
  readonly stats: AdversaryStats = { requestsReceived: 0, blocksSent: 0, corruptBytesSent: 0, metadataPiecesSent: 0, rawFramesSent: 0 };
  readonly peerId: PeerId;
  readonly #transport: Transport;
  readonly #random: Random;
  readonly #fakeMetadata: Uint8Array;
  readonly #clock: { nowMs(): number };

  constructor(
    readonly name: string,
    net: Net,
    readonly info: TorrentInfo,
    readonly lie: Lie,
    seed: number,
  ) {
    this.#random = seededRandom(seed);
    this.peerId = makePeerId((n) => this.#random.bytes(n));
    this.#transport = net.transportFor(name);
    this.#clock = net.clock;
    this.#fakeMetadata = this.#random.bytes(info.infoBytes.length);
  }

  addConnection(id: ConnectionId, direction: "outbound" | "inbound"): void {
    const pc = new PeerConnection(
      {
        infoHash: this.info.infoHash,
        localPeerId: this.peerId,
        direction,
        localExtensions: { metadataSize: this.info.infoBytes.length },
        limits: { maxPendingRemoteRequests: 100_000, idleTimeoutMs: 10 * 60_000 },
      },
      this.#clock,
    );
    this.conns.set(id, pc);
    this.#handle(id, pc, pc.setTorrentShape(this.info));
    if (direction === "outbound") pc.sendHandshake();
    this.#flush(id, pc);
  }

  receive(id: ConnectionId, bytes: Uint8Array): void {
    const pc = this.conns.get(id);
    if (pc === undefined) return;
    this.#handle(id, pc, pc.receive(bytes));
    this.#flush(id, pc);
  }

  removeConnection(id: ConnectionId): void {
    this.conns.get(id)?.close("removed");
    this.conns.delete(id);
  }

  drained(): void {}
  tick(): void {}

  #raw(id: ConnectionId, pc: PeerConnection, bytes: Uint8Array): void {
    this.#flush(id, pc);
    this.stats.rawFramesSent++;
    this.#transport.send(id, bytes);
  }

  #flush(id: ConnectionId, pc: PeerConnection): void {
    for (let c = pc.takeOutgoing(); c !== null; c = pc.takeOutgoing()) this.#transport.send(id, c);
  }

  #handle(id: ConnectionId, pc: PeerConnection, events: readonly PeerEvent[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case "handshake":
          if (!pc.handshakeSent) pc.sendHandshake();
          if (ev.extensionProtocol) pc.sendExtendedHandshake();
          if (pc.supportsFast) pc.haveAll();
          else pc.bitfield(Bitfield.full(this.info.pieceCount));
          pc.unchoke();
          this.#afterHandshake(id, pc);
          break;
        case "request":
          this.stats.requestsReceived++;
          if (this.lie === "corrupt-blocks") {
            const block = this.#random.bytes(ev.length);
            pc.piece(ev.index, ev.begin, block);
            this.stats.blocksSent++;
            this.stats.corruptBytesSent += block.length;
          } else if (this.lie === "wrong-metadata" && pc.supportsFast) {
            pc.reject(ev.index, ev.begin, ev.length);
          }
          // phantom-pieces and the rest: never answer.
          break;
        case "metadata-request": {
          const total = this.info.infoBytes.length;
          const src = this.lie === "wrong-metadata" ? this.#fakeMetadata : this.info.infoBytes;
          const start = ev.piece * 16384;
          if (start >= total) pc.sendMetadataReject(ev.piece);
          else {
            pc.sendMetadataData(ev.piece, total, src.subarray(start, Math.min(total, start + 16384)));
            this.stats.metadataPiecesSent++;
          }
          break;
        }
        default:
          break;
      }
    }
  }

  #afterHandshake(id: ConnectionId, pc: PeerConnection): void {
    switch (this.lie) {
      case "oversized-frame": {
        const frame = new Uint8Array(4 + 1 + 64);
        new DataView(frame.buffer).setUint32(0, 1 << 30);
        frame[4] = 7;
        this.#raw(id, pc, frame);
        return;
      }
      case "oversized-piece":
        this.#raw(id, pc, encodeMessage({ type: "piece", index: 0, begin: 0, block: this.#random.bytes(1024 * 1024) }));
        return;
      case "request-flood": {
        const frames: Uint8Array[] = [];
        for (let i = 0; i < 2000; i++) {
          const index = i % this.info.pieceCount;
          const begin = (Math.floor(i / this.info.pieceCount) * 16384) % pieceSize(this.info, index);
          frames.push(encodeMessage({ type: "interested" }), encodeMessage({ type: "request", index, begin, length: Math.min(16384, pieceSize(this.info, index) - begin) }));
        }
        this.#raw(id, pc, concatBytes(frames));
        return;
      }
      case "unrequested-blocks":
        this.#raw(id, pc, encodeMessage({ type: "piece", index: 0, begin: 0, block: this.#random.bytes(16384) }));
        return;
      default:
        return;
    }
  }
}

/** A seeded multi-file torrent and its bytes. */
export async function makeTorrent(seed: number, pieceLength = 32 * 1024, scale = 1) {
  const r = seededRandom(seed);
  const files = [
    { path: ["set", "a.bin"], data: r.bytes(scale * 120 * 1024 + 7) },
    { path: ["set", "sub", "b.bin"], data: r.bytes(scale * 260 * 1024 + 123) },
    { path: ["set", "c.txt"], data: r.bytes(5000) },
  ];
  const info = await createTorrentFromBytes("set", files, pieceLength);
  const whole = concatBytes(files.map((f) => f.data));
  const seedStore = (): MemoryStore => {
    const s = new MemoryStore();
    for (let i = 0; i < info.pieceCount; i++) s.pieces.set(i, whole.slice(i * info.pieceLength, i * info.pieceLength + pieceSize(info, i)));
    return s;
  };
  return { info, whole, seedStore };
}

/** The stored bytes in piece order, or null when a piece is missing. */
export function storedBytes(store: MemoryStore, pieceCount: number): Uint8Array | null {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < pieceCount; i++) {
    const p = store.pieces.get(i);
    if (!p) return null;
    parts.push(p);
  }
  return concatBytes(parts);
}

export function byteExact(store: MemoryStore, info: TorrentInfo, whole: Uint8Array): boolean {
  const got = storedBytes(store, info.pieceCount);
  return got !== null && bytesEqual(got, whole);
}
