// The byte-level simulator: full TorrentSessions (PeerConnection framing,
// BEP 9 metadata, SHA-1 verification, stores) exchanging real bytes over the
// flow model of swarm-sim.ts in its simpler "equal" form (a sender's upload
// shared by its busy links, each capped by an equal share of the receiver's
// download, plus per-link latency). Chunks
// arrive cut at whatever byte counts the flow model moved in a step, so the
// byte stream is re-chunked as on a real data channel. For small swarms: it
// checks every byte each peer stored against the source.
import { bytesEqual, concatBytes } from "../core/bytes.ts";
import { makePeerId, type PieceIndex } from "../core/ids.ts";
import { createTorrentFromBytes, pieceSize, type TorrentInfo } from "../core/metainfo.ts";
import { seededRandom } from "../core/random.ts";
import { TorrentSession } from "../core/engine/session.ts";
import { connectionId, type ConnectionId, type PieceStore, type SessionEvent } from "../core/engine/session-types.ts";
import type { FullSettings } from "../core/engine/settings.ts";

/** Uplink of a free-rider, for its control messages only. */
export const freeRiderControlBytesPerS = 16 * 1024;

export class MemoryPieceStore implements PieceStore {
  readonly pieces = new Map<number, Uint8Array>();
  async read(index: PieceIndex, offset: number, length: number): Promise<Uint8Array> {
    const p = this.pieces.get(index);
    if (p === undefined) throw new Error(`piece ${index} is not stored`);
    return p.slice(offset, offset + length);
  }
  async write(index: PieceIndex, data: Uint8Array): Promise<void> {
    this.pieces.set(index, data.slice());
  }
}

export interface BytePeerSpec {
  readonly uploadBytesPerS: number;
  readonly downloadBytesPerS: number;
  readonly freeRider?: boolean;
  /** Joins from the infohash only (fetches the info dict over BEP 9). */
  readonly magnet?: boolean;
}

export interface ByteSimConfig {
  readonly seed: number;
  readonly seedUploadBytesPerS: number;
  readonly peers: readonly BytePeerSpec[];
  readonly files: readonly { readonly path: readonly string[]; readonly bytes: number }[];
  readonly pieceLength: number;
  readonly latencyMs: number;
  readonly stepMs: number;
  readonly maxSimS: number;
}

export interface ByteSimResult {
  readonly info: TorrentInfo;
  /** Per downloader: virtual seconds to completion (null: did not finish). */
  readonly completedS: readonly (number | null)[];
  /** Per downloader: every stored byte equals the source. */
  readonly byteExact: readonly boolean[];
  readonly events: readonly (readonly SessionEvent[])[];
  readonly virtualS: number;
}

interface Node {
  readonly name: string;
  readonly session: TorrentSession;
  readonly store: MemoryPieceStore;
  readonly up: number;
  readonly down: number;
  readonly events: SessionEvent[];
  completedAtMs: number | null;
}

interface Link {
  readonly from: Node;
  readonly to: Node;
  readonly fromId: ConnectionId;
  readonly toId: ConnectionId;
  chunks: Uint8Array[];
  bytes: number;
  closed: boolean;
}

export async function runByteSwarm(cfg: ByteSimConfig): Promise<ByteSimResult> {
  const random = seededRandom(cfg.seed);
  const files = cfg.files.map((f) => ({ path: f.path, data: random.bytes(f.bytes) }));
  const info = await createTorrentFromBytes("sim", files, cfg.pieceLength);
  const whole = concatBytes(files.map((f) => f.data));
  let nowMs = 0;
  const clock = { nowMs: (): number => nowMs };
  const links = new Map<string, Link>();
  const inflight: { at: number; link: Link; bytes: Uint8Array }[] = [];

  const makeNode = (name: string, up: number, down: number, opts: { seed?: boolean; magnet?: boolean; freeRider?: boolean }): Node => {
    const store = new MemoryPieceStore();
    let verified: Uint8Array | undefined;
    if (opts.seed === true) {
      for (let i = 0; i < info.pieceCount; i++) store.pieces.set(i, whole.slice(i * info.pieceLength, i * info.pieceLength + pieceSize(info, i)));
      verified = new Uint8Array(Math.ceil(info.pieceCount / 8));
      for (let i = 0; i < info.pieceCount; i++) verified[i >> 3]! |= 0x80 >> (i & 7);
    }
    const rnd = seededRandom(cfg.seed * 31 + name.length * 7 + name.charCodeAt(name.length - 1));
    const settings: Partial<FullSettings> = opts.freeRider === true ? { uploadSlots: 0, optimisticUnchokeSlots: 0 } : {};
    const events: SessionEvent[] = [];
    const session = new TorrentSession(
      { infoHash: info.infoHash, localPeerId: makePeerId((n) => rnd.bytes(n)), info: opts.magnet === true ? null : info, settings, ...(verified ? { verified } : {}) },
      {
        clock,
        random: rnd,
        store,
        transport: {
          send: (id, bytes) => {
            const l = links.get(`${name}|${id}`);
            if (l === undefined || l.closed) return;
            l.chunks.push(bytes);
            l.bytes += bytes.length;
          },
          close: (id) => closeLink(name, id),
          bufferedBytes: (id) => links.get(`${name}|${id}`)?.bytes ?? 0,
        },
      },
    );
    const node: Node = { name, session, store, up, down, events, completedAtMs: null };
    session.subscribe((e) => {
      events.push(e);
      if (e.type === "completed" && node.completedAtMs === null) node.completedAtMs = nowMs;
    });
    return node;
  };

  const closeLink = (name: string, id: ConnectionId): void => {
    const l = links.get(`${name}|${id}`);
    if (l === undefined || l.closed) return;
    const back = links.get(`${l.to.name}|${l.toId}`);
    l.closed = true;
    if (back !== undefined) back.closed = true;
    l.to.session.removeConnection(l.toId);
    l.from.session.removeConnection(l.fromId);
  };

  const seedNode = makeNode("seed", cfg.seedUploadBytesPerS, Infinity, { seed: true });
  const nodes: Node[] = [seedNode];
  // A free-rider never unchokes anyone (its choker has no slots), so its uplink
  // carries only control messages (handshakes, requests); it still needs some.
  cfg.peers.forEach((p, i) =>
    nodes.push(makeNode(`p${i}`, p.freeRider === true ? Math.max(p.uploadBytesPerS, freeRiderControlBytesPerS) : p.uploadBytesPerS, p.downloadBytesPerS, p)),
  );
  // Full mesh: small swarms only.
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i]!;
      const b = nodes[j]!;
      const ab = connectionId(`to-${b.name}`);
      const ba = connectionId(`to-${a.name}`);
      links.set(`${a.name}|${ab}`, { from: a, to: b, fromId: ab, toId: ba, chunks: [], bytes: 0, closed: false });
      links.set(`${b.name}|${ba}`, { from: b, to: a, fromId: ba, toId: ab, chunks: [], bytes: 0, closed: false });
      b.session.addConnection(ba, "inbound");
      a.session.addConnection(ab, "outbound");
    }
  }

  const downloaders = nodes.slice(1);
  const tickEverySteps = Math.max(1, Math.round(100 / cfg.stepMs));
  for (let step = 0; nowMs < cfg.maxSimS * 1000; step++) {
    nowMs = step * cfg.stepMs;
    // Deliveries due.
    for (let k = 0; k < inflight.length; ) {
      const d = inflight[k]!;
      if (d.at <= nowMs) {
        inflight.splice(k, 1);
        if (!d.link.closed) d.link.to.session.receive(d.link.toId, d.bytes);
      } else k++;
    }
    // Flow model: each sender's upload split over its busy links, capped by receivers' shares.
    const busy = [...links.values()].filter((l) => !l.closed && l.bytes > 0);
    const outCount = new Map<Node, number>();
    const inCount = new Map<Node, number>();
    for (const l of busy) {
      outCount.set(l.from, (outCount.get(l.from) ?? 0) + 1);
      inCount.set(l.to, (inCount.get(l.to) ?? 0) + 1);
    }
    for (const l of busy) {
      const rate = Math.min(l.from.up / outCount.get(l.from)!, l.to.down / inCount.get(l.to)!);
      let budget = Math.floor((rate * cfg.stepMs) / 1000);
      const parts: Uint8Array[] = [];
      while (budget > 0 && l.chunks.length > 0) {
        const head = l.chunks[0]!;
        const n = Math.min(head.length, budget);
        parts.push(head.subarray(0, n));
        budget -= n;
        l.bytes -= n;
        if (n === head.length) l.chunks.shift();
        else l.chunks[0] = head.subarray(n);
      }
      if (parts.length > 0) inflight.push({ at: nowMs + cfg.latencyMs, link: l, bytes: concatBytes(parts) });
      if (l.bytes < 256 * 1024) l.from.session.drained(l.fromId);
    }
    if (step % tickEverySteps === 0) for (const n of nodes) n.session.tick();
    // Let SHA-1 and store promises settle (virtual time stands still meanwhile).
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (downloaders.every((n) => n.completedAtMs !== null)) break;
  }

  const byteExact = downloaders.map((n) => {
    if (n.store.pieces.size !== info.pieceCount) return false;
    const stored = concatBytes([...Array(info.pieceCount).keys()].map((i) => n.store.pieces.get(i)!));
    return bytesEqual(stored, whole);
  });
  for (const n of nodes) n.session.destroy();
  return {
    info,
    completedS: downloaders.map((n) => (n.completedAtMs === null ? null : n.completedAtMs / 1000)),
    byteExact,
    events: downloaders.map((n) => n.events),
    virtualS: nowMs / 1000,
  };
}
