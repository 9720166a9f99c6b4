// The torrent session: TorrentSessionApi on top of the wire's PeerConnection
// state machines and the TorrentEngine (the swarm algorithms).
//
// Bytes, timer ticks and storage results go in; bytes to send (wire frames,
// at most 256 KiB per transport.send, for the transport to coalesce), pieces
// to store and SessionEvents come out.
// The session:
//  - runs one PeerConnection per data channel (handshakes, BEP 10, validation);
//  - fetches the info dict over BEP 9 when joined from an infohash only, and
//    serves it to others once known;
//  - feeds typed wire events to the engine and turns its outputs into intents;
//  - keeps blocks of pieces in progress, verifies each complete piece (SHA-1,
//    BEP 3) and writes verified pieces through components.store; a storage
//    failure pauses downloading and says so;
//  - holds back piece data while transport.bufferedBytes(id) is above
//    sendHighWaterBytes, resuming on drained(id); limits upload with a token
//    bucket on the clock.
import { sha1 as defaultSha1, bytesEqual } from "../bytes.ts";
import type { PeerId, PieceIndex } from "../ids.ts";
import { filePieceRange } from "../layout.ts";
import { infoFromBytes, pieceHashAt, type TorrentInfo } from "../metainfo.ts";
import { Bitfield } from "../wire/bitfield.ts";
import type { ViolationKind } from "../wire/errors.ts";
import { answerMetadataRequest, MetadataFetcher } from "../wire/metadata.ts";
import { PeerConnection, type PeerEvent } from "../wire/peer-connection.ts";
import { TorrentEngine, type EngineOutput } from "./engine.ts";
import { PiecePriority } from "./picker.ts";
import {
  StorageFullError,
  type ConnectionId,
  type FilePriority,
  type PeerSnapshot,
  type SessionComponents,
  type SessionEvent,
  type SessionInit,
  type SessionSnapshot,
  type TorrentSessionApi,
} from "./session-types.ts";
import { resolveSettings, type FullSettings } from "./settings.ts";

/** Largest chunk handed to transport.send (Chromium's data-channel max-message-size). */
/** Violations that end a connection without banning the peer (see the "violation" case). */
const forgivenViolations: ReadonlySet<ViolationKind> = new Set<ViolationKind>(["timeout", "internal-error", "wrong-info-hash", "self-connection", "bad-handshake"]);
export const sendChunkBytes = 256 * 1024;
/** BEP 9: a metadata piece not answered in this long is asked of another peer. */
export const metadataRequestTimeoutMs = 10_000;
/** BEP 9: metadata pieces in flight per peer. */
export const metadataRequestsPerPeer = 4;
/** Upload token bucket depth: this many ms of the upload limit may be sent at once. */
export const uploadBurstMs = 500;

interface Conn {
  readonly id: ConnectionId;
  readonly wire: PeerConnection;
  peerId: PeerId | null;
  client: string | null;
  joined: boolean;
  /** Bytes being read from the store for this peer, not yet queued. */
  readingBytes: number;
}

export class TorrentSession implements TorrentSessionApi {
  #info: TorrentInfo | null;
  readonly #init: SessionInit;
  readonly #components: SessionComponents;
  readonly #settings: FullSettings;
  readonly #sha1: (data: Uint8Array) => Promise<Uint8Array>;
  readonly #conns = new Map<ConnectionId, Conn>();
  readonly #listeners = new Set<(event: SessionEvent) => void>();
  readonly #banned = new Set<PeerId>();
  readonly #buffers = new Map<number, Uint8Array>();
  #engine: TorrentEngine | null = null;
  #filePriorities: FilePriority[] = [];
  #playhead: { readonly fileIndex: number; readonly byteOffset: number } | null = null;
  #uploadLimit: number | null;
  #tokens = 0;
  #tokensAtMs: number;
  #paused = false;
  #storagePaused = false;
  #destroyed = false;
  /** BEP 9 fetch of the info dict (magnet joins); null once the metadata is known. */
  #meta: MetadataFetcher<ConnectionId> | null = null;
  /** The assembled info dict is being checked against the infohash. */
  #metaChecking = false;
  /** Verified pieces the store could no longer read (see #onReadFailed); they leave this set when verified again. */
  readonly #lost = new Set<number>();
  /** Losses not yet told through a storage-error event (told once per tick, not once per piece), with the store's first reason. */
  #lostUntold: { reason: string } | null = null;

  constructor(init: SessionInit, components: SessionComponents) {
    this.#init = init;
    this.#components = components;
    this.#settings = resolveSettings(init.settings ?? {});
    this.#sha1 = components.sha1 ?? defaultSha1;
    this.#uploadLimit = this.#settings.uploadLimitBytesPerS;
    this.#tokensAtMs = components.clock.nowMs();
    this.#info = init.info;
    if (init.info === null) {
      this.#meta = new MetadataFetcher({
        infoHash: init.infoHash,
        maxMetadataBytes: this.#settings.maxMetadataBytes,
        requestTimeoutMs: metadataRequestTimeoutMs,
        maxRequestsPerPeer: metadataRequestsPerPeer,
        sha1: this.#sha1,
      });
    } else {
      if (init.info.infoHash !== init.infoHash) throw new RangeError("init.info does not match init.infoHash");
      this.#startEngine(init.info, init.verified);
    }
  }

  get info(): TorrentInfo | null {
    return this.#info;
  }

  // ---------------------------------------------------------------------------
  // TorrentSessionApi: connections.

  addConnection(id: ConnectionId, direction: "outbound" | "inbound"): void {
    if (this.#destroyed || this.#conns.has(id)) return;
    const s = this.#settings;
    const wire = new PeerConnection(
      {
        infoHash: this.#init.infoHash,
        localPeerId: this.#init.localPeerId,
        direction,
        localExtensions: { metadataSize: this.#info?.infoBytes.length ?? null },
        limits: { maxMetadataBytes: s.maxMetadataBytes, keepAliveIntervalMs: s.keepAliveIntervalMs, idleTimeoutMs: s.idleTimeoutMs, rateWindowMs: s.rateWindowMs },
      },
      this.#components.clock,
    );
    const conn: Conn = { id, wire, peerId: null, client: null, joined: false, readingBytes: 0 };
    this.#conns.set(id, conn);
    if (this.#info !== null) this.#process(conn, wire.setTorrentShape(this.#info));
    if (direction === "outbound") wire.sendHandshake();
    this.#flush(conn);
  }

  receive(id: ConnectionId, bytes: Uint8Array): void {
    const conn = this.#conns.get(id);
    if (conn === undefined || this.#destroyed) return;
    this.#process(conn, conn.wire.receive(bytes));
    this.#afterInput();
  }

  removeConnection(id: ConnectionId): void {
    const conn = this.#conns.get(id);
    if (conn === undefined) return;
    this.#conns.delete(id);
    this.#engine?.removePeer(id);
    this.#meta?.removePeer(id);
    if (conn.joined) this.#emit({ type: "peer-left", id, reason: typeof conn.wire.closeReason === "string" ? conn.wire.closeReason : (conn.wire.closeReason?.message ?? "closed") });
    conn.wire.close("removed");
    this.#afterInput();
  }

  drained(id: ConnectionId): void {
    const conn = this.#conns.get(id);
    if (conn === undefined) return;
    this.#pumpUploads();
    this.#flush(conn);
  }

  tick(): void {
    if (this.#destroyed) return;
    for (const conn of [...this.#conns.values()]) this.#process(conn, conn.wire.tick());
    // BEP 9: re-ask metadata pieces nobody answered.
    this.#meta?.tick(this.#components.clock.nowMs());
    this.#requestMetadata();
    this.#engine?.tick();
    this.#reportLostPieces();
    this.#afterInput();
  }

  // ---------------------------------------------------------------------------
  // TorrentSessionApi: controls.

  setFilePriority(fileIndex: number, priority: FilePriority): void {
    const info = this.#info;
    if (info === null) return;
    if (!Number.isInteger(fileIndex) || fileIndex < 0 || fileIndex >= info.files.length) throw new RangeError(`file index ${fileIndex} is out of range`);
    this.#filePriorities[fileIndex] = priority;
    this.#applyPriorities();
    this.#afterInput();
  }

  setPlayhead(position: { readonly fileIndex: number; readonly byteOffset: number } | null): void {
    this.#playhead = position;
    this.#applyPlayhead();
    this.#afterInput();
  }

  setUploadLimit(bytesPerS: number | null): void {
    if (bytesPerS !== null && !(bytesPerS > 0)) throw new RangeError("an upload limit must be above 0 bytes/s, or null");
    this.#uploadLimit = bytesPerS;
    this.#tokens = 0;
    this.#tokensAtMs = this.#components.clock.nowMs();
    this.#pumpUploads();
    this.#flushAll();
  }

  pause(): void {
    this.#paused = true;
    this.#engine?.pause();
    this.#afterInput();
  }

  resume(): void {
    this.#paused = false;
    this.#storagePaused = false;
    this.#engine?.resume();
    this.#afterInput();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const conn of this.#conns.values()) {
      conn.wire.close("session destroyed");
      this.#components.transport.close(conn.id, "session destroyed");
    }
    this.#conns.clear();
    this.#listeners.clear();
    this.#buffers.clear();
  }

  subscribe(listener: (event: SessionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): SessionSnapshot {
    const e = this.#engine;
    const info = this.#info;
    const peers: PeerSnapshot[] = [];
    for (const conn of this.#conns.values()) {
      if (!conn.joined) continue;
      const p = e?.peerInfo(conn.id) ?? null;
      peers.push({
        id: conn.id,
        peerId: conn.peerId,
        client: conn.client,
        amChoking: p?.amChoking ?? true,
        amInterested: p?.amInterested ?? false,
        peerChoking: p?.peerChoking ?? conn.wire.peerChoking,
        peerInterested: p?.peerInterested ?? conn.wire.peerInterested,
        optimistic: p?.optimistic ?? false,
        snubbed: p?.snubbed ?? false,
        downloadRateBytesPerS: p?.downloadRateBytesPerS ?? 0,
        uploadRateBytesPerS: p?.uploadRateBytesPerS ?? 0,
        downloadedBytes: p?.downloadedBytes ?? 0,
        uploadedBytes: p?.uploadedBytes ?? 0,
        progress: p === null || info === null ? null : p.pieces / info.pieceCount,
        requestsInFlight: p?.requestsInFlight ?? 0,
      });
    }
    let verifiedBytes = 0;
    if (e !== null) {
      verifiedBytes = e.verified.count * e.shape.pieceLength;
      if (e.verified.has(e.pieceCount - 1)) verifiedBytes -= e.shape.pieceLength - e.pieceBytes(e.pieceCount - 1);
    }
    const unavailable = e?.unavailableMissing() ?? { pieces: 0, bytes: 0 };
    return {
      infoHash: this.#init.infoHash,
      hasMetadata: info !== null,
      pieceCount: info?.pieceCount ?? 0,
      verifiedCount: e?.verifiedCount ?? 0,
      pieceStates: e?.pieceStates() ?? new Uint8Array(0),
      availability: e === null ? new Uint16Array(0) : Uint16Array.from(e.availability.counts()),
      totalBytes: info?.totalLength ?? 0,
      verifiedBytes,
      downloadedBytes: e?.downloadedBytes ?? 0,
      uploadedBytes: e?.uploadedBytes ?? 0,
      downloadRateBytesPerS: e?.downloadRate() ?? 0,
      uploadRateBytesPerS: e?.uploadRate() ?? 0,
      peers,
      complete: e?.complete ?? false,
      paused: this.#paused || this.#storagePaused,
      bannedPeerCount: this.#banned.size,
      unavailablePieceCount: unavailable.pieces,
      unavailableBytes: unavailable.bytes,
      lostPieceCount: e === null ? 0 : this.#lostCount(e),
    };
  }

  // ---------------------------------------------------------------------------
  // Wire events.

  #process(conn: Conn, events: readonly PeerEvent[]): void {
    for (const ev of events) {
      if (!this.#conns.has(conn.id)) return;
      this.#onEvent(conn, ev);
    }
  }

  #onEvent(conn: Conn, ev: PeerEvent): void {
    const engine = this.#engine;
    const wire = conn.wire;
    switch (ev.type) {
      case "handshake": {
        if (this.#banned.has(ev.peerId)) {
          this.#drop(conn, "banned peer");
          return;
        }
        conn.peerId = ev.peerId;
        if (!wire.handshakeSent) wire.sendHandshake();
        if (ev.extensionProtocol) wire.sendExtendedHandshake();
        conn.joined = true;
        this.#emit({ type: "peer-joined", id: conn.id, peerId: ev.peerId, client: null });
        if (engine !== null) engine.addPeer(conn.id, wire.supportsFast);
        return;
      }
      case "extended-handshake":
        conn.client = ev.client;
        // A size out of bounds is ignored by the fetcher: that peer is not asked.
        if (this.#meta !== null && wire.supportsMetadata && ev.metadataSize !== null && this.#meta.addPeer(conn.id, ev.metadataSize)) this.#requestMetadata();
        return;
      case "keep-alive":
        return;
      case "choke":
      case "unchoke":
      case "interested":
      case "not-interested":
      case "have-all":
      case "have-none":
        engine?.handle(conn.id, { type: ev.type });
        return;
      case "have":
      case "allowed-fast":
      case "suggest":
        engine?.handle(conn.id, { type: ev.type, index: ev.index });
        return;
      case "bitfield":
        engine?.handle(conn.id, { type: "bitfield", bits: ev.bitfield.toBytes() });
        return;
      case "request":
      case "cancel":
      case "reject":
        engine?.handle(conn.id, { type: ev.type, index: ev.index, begin: ev.begin, length: ev.length });
        return;
      case "piece":
        engine?.handle(conn.id, { type: "piece", index: ev.index, begin: ev.begin, block: ev.block });
        return;
      case "metadata-request": {
        const answer = answerMetadataRequest(this.#info?.infoBytes ?? null, ev.piece);
        if (answer.type === "data") wire.sendMetadataData(answer.piece, answer.totalSize, answer.data);
        else wire.sendMetadataReject(ev.piece);
        return;
      }
      case "metadata-data":
        this.#onMetadataPiece(conn, ev.piece, ev.totalSize, ev.data);
        return;
      case "metadata-reject":
        // That piece goes to another peer; this one is asked for it again later (MetadataFetcher.retryAfterMs).
        this.#meta?.onReject(conn.id, ev.piece, this.#components.clock.nowMs());
        this.#requestMetadata();
        return;
      case "violation": {
        this.#emit({ type: "protocol-error", id: conn.id, message: `${ev.error.kind}: ${ev.error.message}` });
        const peerId = conn.wire.remotePeerId;
        // A peer that broke the protocol on purpose (oversized frames, floods,
        // data nobody asked for, ...) is banned for this session, so it cannot
        // repeat the attack on every reconnection. Silence, our own bugs and
        // handshakes meant for another torrent or for ourselves are not
        // misbehaviour: those peers may come back.
        if (peerId !== null && !forgivenViolations.has(ev.error.kind) && !this.#banned.has(peerId)) {
          this.#banned.add(peerId);
          this.#emit({ type: "peer-banned", id: conn.id, peerId, reason: `${ev.error.kind}: ${ev.error.message}` });
        }
        this.#drop(conn, ev.error.message);
        return;
      }
    }
  }

  #drop(conn: Conn, reason: string): void {
    conn.wire.close(reason);
    this.#components.transport.close(conn.id, reason);
    this.removeConnection(conn.id);
  }

  // ---------------------------------------------------------------------------
  // BEP 9 metadata.

  #requestMetadata(): void {
    const m = this.#meta;
    if (m === null || this.#metaChecking) return;
    for (const { peer, piece } of m.nextRequests(this.#components.clock.nowMs())) this.#conns.get(peer)?.wire.sendMetadataRequest(piece);
  }

  #onMetadataPiece(conn: Conn, piece: number, totalSize: number, data: Uint8Array): void {
    const m = this.#meta;
    if (m === null || this.#metaChecking) return;
    const stored = m.onData(conn.id, piece, totalSize, data);
    if (stored !== "complete") {
      // "unrequested" data is ignored; a peer that changed its metadata_size is not asked again.
      this.#requestMetadata();
      return;
    }
    this.#metaChecking = true;
    m.verify()
      .then(async (result) => {
        if (!result.ok) return result;
        return { ok: true as const, info: await infoFromBytes(result.infoBytes, this.#init.infoHash), liars: result.liars };
      })
      .then(
        (result) => {
          if (this.#destroyed) return;
          this.#metaChecking = false;
          if (result.ok) {
            // Peers whose pieces of an earlier failed attempt differ from the true dict lied: ban them.
            for (const id of result.liars) this.#banMetadataLiar(id);
            this.#onMetadata(result.info);
            return;
          }
          // BEP 9: the info dict did not hash to the infohash; the fetcher starts over.
          this.#emit({ type: "protocol-error", id: conn.id, message: "metadata from peers did not match the infohash (BEP 9)" });
          // A peer that sent the whole dict alone is provably lying.
          if (result.liar !== null) this.#banMetadataLiar(result.liar);
          this.#requestMetadata();
          this.#flushAll();
        },
        (err: unknown) => {
          // The dict hashes to the infohash but is not a valid torrent: no peer can give a better one.
          if (this.#destroyed) return;
          this.#emit({ type: "protocol-error", id: conn.id, message: `the torrent's info dict is not valid: ${err instanceof Error ? err.message : String(err)}` });
        },
      );
  }

  #banMetadataLiar(id: ConnectionId): void {
    const liar = this.#conns.get(id);
    if (liar === undefined) return;
    const reason = "sent an info dict that does not match the infohash (BEP 9)";
    if (liar.peerId !== null) this.#banned.add(liar.peerId);
    this.#emit({ type: "peer-banned", id: liar.id, peerId: liar.peerId, reason });
    this.#drop(liar, reason);
  }

  #onMetadata(info: TorrentInfo): void {
    this.#info = info;
    this.#meta = null;
    this.#startEngine(info, undefined);
    this.#emit({ type: "metadata", info });
    const engine = this.#engine!;
    for (const conn of [...this.#conns.values()]) {
      const events = conn.wire.setTorrentShape(info);
      if (conn.joined) {
        if (conn.wire.supportsExtensions) conn.wire.sendExtendedHandshake({ metadataSize: info.infoBytes.length });
        engine.addPeer(conn.id, conn.wire.supportsFast);
        // An unchoke or interested that arrived before the metadata reached no engine: replay the wire's state.
        if (!conn.wire.peerChoking) engine.handle(conn.id, { type: "unchoke" });
        if (conn.wire.peerInterested) engine.handle(conn.id, { type: "interested" });
      }
      this.#process(conn, events);
    }
    this.#afterInput();
  }

  // ---------------------------------------------------------------------------
  // Engine.

  #startEngine(info: TorrentInfo, verified: Uint8Array | undefined): void {
    this.#engine = new TorrentEngine({
      shape: info,
      settings: this.#settings,
      clock: this.#components.clock,
      random: this.#components.random,
      ...(verified !== undefined ? { verified: Bitfield.fromBytes(verified, info.pieceCount) } : {}),
    });
    this.#filePriorities = info.files.map(() => "normal" as FilePriority);
    if (this.#paused) this.#engine.pause();
    this.#applyPlayhead();
  }

  #applyPriorities(): void {
    const info = this.#info;
    const engine = this.#engine;
    if (info === null || engine === null) return;
    const prio = new Uint8Array(info.pieceCount); // skip unless a wanted file touches it
    const rank = { skip: PiecePriority.skip, normal: PiecePriority.normal, high: PiecePriority.high } as const;
    info.files.forEach((_, f) => {
      const range = filePieceRange(info, f);
      if (range === null) return;
      const p = rank[this.#filePriorities[f] ?? "normal"];
      for (let i = range.first; i <= range.last; i++) if (p > prio[i]!) prio[i] = p;
    });
    engine.setPiecePriorities(prio);
  }

  #applyPlayhead(): void {
    const info = this.#info;
    const engine = this.#engine;
    if (info === null || engine === null) return;
    const p = this.#playhead;
    const file = p === null ? undefined : info.files[p.fileIndex];
    if (p === null || file === undefined) {
      engine.setPlayheadPiece(null);
      return;
    }
    const offset = Math.min(info.totalLength - 1, file.offset + Math.max(0, Math.min(p.byteOffset, file.length)));
    engine.setPlayheadPiece(Math.floor(offset / info.pieceLength));
  }

  #afterInput(): void {
    this.#drainEngine();
    this.#pumpUploads();
    this.#flushAll();
  }

  #drainEngine(): void {
    const engine = this.#engine;
    if (engine === null) return;
    while (engine.out.length > 0) {
      const batch = engine.out.splice(0);
      for (const o of batch) this.#onOutput(engine, o);
    }
  }

  #onOutput(engine: TorrentEngine, o: EngineOutput): void {
    switch (o.kind) {
      case "send": {
        const conn = this.#conns.get(o.peer);
        if (conn === undefined || conn.wire.closed) return;
        const w = conn.wire;
        const m = o.message;
        switch (m.type) {
          case "choke":
            w.choke();
            return;
          case "unchoke":
            w.unchoke();
            return;
          case "interested":
            w.interested();
            return;
          case "not-interested":
            w.notInterested();
            return;
          case "have":
            w.have(m.index);
            return;
          case "bitfield":
            w.bitfield(Bitfield.fromBytes(m.bits, engine.pieceCount));
            return;
          case "have-all":
            w.haveAll();
            return;
          case "have-none":
            w.haveNone();
            return;
          case "request":
            if (w.canRequest(m.index)) {
              try {
                w.request(m.index, m.begin, m.length);
                return;
              } catch {
                // fall through: tell the engine it did not go out
              }
            }
            engine.requestNotSent(o.peer, m.index, m.begin);
            return;
          case "cancel":
            w.cancel(m.index, m.begin, m.length);
            return;
          case "reject":
            if (w.supportsFast) w.reject(m.index, m.begin, m.length);
            return;
          case "allowed-fast":
            if (w.supportsFast) w.allowedFast(m.index);
            return;
          default:
            return;
        }
      }
      case "broadcast-have":
        for (const conn of this.#conns.values()) if (conn.joined && !conn.wire.closed) conn.wire.have(o.index);
        return;
      case "block": {
        let buf = this.#buffers.get(o.index);
        if (buf === undefined) {
          buf = new Uint8Array(engine.pieceBytes(o.index));
          this.#buffers.set(o.index, buf);
        }
        buf.set(o.data, o.begin);
        return;
      }
      case "verify":
        this.#verify(engine, o.index);
        return;
      case "ban": {
        const conn = this.#conns.get(o.peer);
        const peerId = conn?.peerId ?? null;
        if (peerId !== null) this.#banned.add(peerId);
        this.#emit({ type: "peer-banned", id: o.peer, peerId, reason: o.reason });
        if (conn !== undefined) this.#drop(conn, o.reason);
        return;
      }
      case "close": {
        const conn = this.#conns.get(o.peer);
        this.#emit({ type: "protocol-error", id: o.peer, message: o.reason });
        if (conn !== undefined) this.#drop(conn, o.reason);
        return;
      }
      case "event":
        this.#emit(o.event);
        return;
    }
  }

  #verify(engine: TorrentEngine, index: number): void {
    const buf = this.#buffers.get(index);
    this.#buffers.delete(index);
    if (buf === undefined) return;
    const info = this.#info!;
    void (async () => {
      const digest = await this.#sha1(buf);
      if (this.#destroyed || this.#engine !== engine) return;
      const ok = bytesEqual(digest, pieceHashAt(info, index));
      if (!ok) {
        engine.pieceChecked(index, false);
        this.#afterInput();
        return;
      }
      try {
        await this.#components.store.write(index as PieceIndex, buf);
      } catch (err) {
        if (this.#destroyed) return;
        engine.pieceStoreFailed(index);
        this.#storagePaused = true;
        engine.pause();
        const full = err instanceof StorageFullError;
        this.#emit({ type: "storage-error", message: full ? `storage is full: ${err.message}` : `storing piece ${index} failed: ${String(err)}`, paused: true });
        this.#afterInput();
        return;
      }
      if (this.#destroyed) return;
      engine.pieceChecked(index, true);
      this.#afterInput();
    })();
  }

  // ---------------------------------------------------------------------------
  // Uploads: backpressure and the upload limit.

  #refillTokens(): void {
    const now = this.#components.clock.nowMs();
    const limit = this.#uploadLimit;
    if (limit === null) return;
    const dt = Math.max(0, now - this.#tokensAtMs);
    this.#tokensAtMs = now;
    this.#tokens = Math.min((limit * uploadBurstMs) / 1000, this.#tokens + (limit * dt) / 1000);
  }

  #pumpUploads(): void {
    const engine = this.#engine;
    if (engine === null || this.#destroyed) return;
    this.#refillTokens();
    for (const id of [...engine.uploadReady()]) {
      const conn = this.#conns.get(id);
      if (conn === undefined) continue;
      while (true) {
        const queued = this.#components.transport.bufferedBytes(id) + conn.wire.outgoingBytes + conn.readingBytes;
        if (queued >= this.#settings.sendHighWaterBytes) break;
        if (this.#uploadLimit !== null && this.#tokens <= 0) return;
        const req = engine.takeUpload(id);
        if (req === null) break;
        if (this.#uploadLimit !== null) this.#tokens -= req.length;
        conn.readingBytes += req.length;
        this.#components.store.read(req.index as PieceIndex, req.begin, req.length).then(
          (data) => {
            conn.readingBytes -= req.length;
            if (this.#destroyed || !this.#conns.has(id)) return;
            if (data.length === req.length && conn.wire.piece(req.index, req.begin, data)) engine.uploaded(id, data.length);
            this.#flush(conn);
            this.#pumpUploads();
          },
          (err: unknown) => {
            conn.readingBytes -= req.length;
            if (this.#destroyed) return;
            this.#onReadFailed(engine, req.index, err);
            if (this.#conns.has(id) && conn.wire.supportsFast) conn.wire.reject(req.index, req.begin, req.length);
            this.#afterInput();
          },
        );
      }
    }
  }

  /**
   * A read of a piece we had verified failed: it is no longer in storage (the
   * browser cleared it, another tab removed it). Rather than keep offering it
   * and rejecting every request, we stop claiming it: the engine marks it
   * missing (downloaded again from peers that have it, shown missing) and the
   * user is told. Peers already told we have it cannot be told otherwise
   * (BitTorrent has no "lost" message, and dropping their connections to send
   * a fresh bitfield would cost every transfer in progress): their requests
   * for it are rejected (BEP 6) and they look elsewhere (engine.ts
   * rejectedPieceCooldownMs), telling their user when nobody else has it.
   */
  #onReadFailed(engine: TorrentEngine, index: number, err: unknown): void {
    if (this.#engine !== engine || !engine.pieceLost(index)) return;
    this.#lost.add(index);
    this.#lostUntold ??= { reason: err instanceof Error ? err.message : String(err) };
  }

  /** Pieces lost from storage and not downloaded again yet. */
  #lostCount(engine: TorrentEngine): number {
    let n = 0;
    for (const i of this.#lost) {
      if (engine.verified.has(i)) this.#lost.delete(i);
      else n++;
    }
    return n;
  }

  #reportLostPieces(): void {
    const engine = this.#engine;
    const untold = this.#lostUntold;
    if (engine === null || untold === null) return;
    this.#lostUntold = null;
    const n = this.#lostCount(engine);
    if (n === 0) return;
    const name = this.#info?.name ?? "this torrent";
    const reason = untold.reason.replace(/[.\s]+$/, "");
    this.#emit({
      type: "storage-error",
      message: `${n} ${n === 1 ? "piece" : "pieces"} of “${name}” ${n === 1 ? "is" : "are"} no longer in storage (${reason}); ${n === 1 ? "it is" : "they are"} marked missing and will be downloaded again from peers`,
      paused: false,
    });
  }

  #flush(conn: Conn): void {
    if (conn.wire.outgoingBytes === 0) return;
    // Frames as they are (a block is a view of the store's bytes): the transport coalesces them, copying once.
    for (const frame of conn.wire.takeFrames(sendChunkBytes)) this.#components.transport.send(conn.id, frame);
  }

  #flushAll(): void {
    for (const conn of this.#conns.values()) this.#flush(conn);
  }

  #emit(event: SessionEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch {
        // A listener's error must not break the engine.
      }
    }
  }
}
