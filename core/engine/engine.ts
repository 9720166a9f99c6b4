// The torrent engine: the swarm algorithms at the level of typed wire messages.
// It owns, per connected peer, the choke/interest state, the peer's bitfield,
// rolling rates and outstanding requests; for the torrent, the availability
// index, our verified pieces, the pieces being downloaded and the punishment of
// peers that send bad data. It calls the pure picker and choker.
//
// It does no I/O and never touches bytes on a socket: messages and timer ticks
// go in (handle, tick, pieceChecked); messages to send, blocks to keep, pieces
// to verify, bans and events come out on `out`, which the driver drains.
// Two drivers run this same code: the byte-level TorrentSession (session.ts,
// the browser and the CLI) and the flow-level simulator (sim/), which hands it
// the same WireMessage objects without encoding them.
import type { Clock } from "../clock.ts";
import type { PieceIndex } from "../ids.ts";
import type { Random } from "../random.ts";
import { Bitfield } from "../wire/bitfield.ts";
import type { WireMessage } from "../wire/messages.ts";
import { rechoke, type ChokerPeer, type OptimisticState } from "./choker.ts";
import { AvailabilityIndex, pickBlocks, PiecePriority, type PartialPieceView, type PickerPeer, type PickerView, type PiecePriorityValue } from "./picker.ts";
import { PieceSet, PieceSetPool } from "./piece-set.ts";
import { Downloads, RollingRate, requestQueueDepth, requestTimeoutFor } from "./request-queue.ts";
import type { ConnectionId, SessionEvent } from "./session-types.ts";
import { blockBytes, type FullSettings } from "./settings.ts";
import { SuperSeed } from "./super-seed.ts";

/** How long a piece a peer rejected while unchoking us is asked of others instead. */
export const rejectedPieceCooldownMs = 30_000;

/** The torrent's shape, as the engine needs it (a subset of TorrentInfo). */
export interface TorrentShape {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
}

/** Request queues at least this deep are topped up in batches (see #fill). */
const deepQueueRequests = 128;

export type EngineOutput =
  /** Send one message to one peer. */
  | { readonly kind: "send"; readonly peer: ConnectionId; readonly message: WireMessage }
  /** Tell every connected peer `have` (BEP 3) for a piece we verified. */
  | { readonly kind: "broadcast-have"; readonly index: number }
  /** Keep this block: it belongs to piece `index` at byte `begin`. */
  | { readonly kind: "block"; readonly peer: ConnectionId; readonly index: number; readonly begin: number; readonly data: Uint8Array }
  /** Every block of the piece is here: check its SHA-1 and call pieceChecked. */
  | { readonly kind: "verify"; readonly index: number }
  /** Drop the connection and refuse the peer from now on. */
  | { readonly kind: "ban"; readonly peer: ConnectionId; readonly reason: string }
  /** Drop the connection (a protocol error). */
  | { readonly kind: "close"; readonly peer: ConnectionId; readonly reason: string }
  | { readonly kind: "event"; readonly event: SessionEvent };

/** A request a peer made of us, queued until the driver has capacity to send it. */
export interface UploadRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

class PeerState {
  readonly key: ConnectionId;
  readonly fast: boolean;
  readonly has: PieceSet;
  /** `has` in the engine's pool (PieceSetPool.addAt / hasAt: no detour through the PieceSet object). */
  readonly hasOffset: number;
  /** Pieces the peer has that we want (not verified, not skipped): we are interested when > 0. */
  wantedFromPeer = 0;
  amChoking = true;
  amInterested = false;
  /** We have been interested in this peer at some time (it could have reciprocated: choker.ts neverReciprocated). */
  everInterested = false;
  peerChoking = true;
  peerInterested = false;
  optimistic = false;
  snubbed = false;
  /** A request to this peer timed out; its pipeline is cut to one request until a block arrives (as libtorrent). */
  timedOut = false;
  /** Requests to keep in flight (request pipelining), refreshed on blocks and ticks. */
  depth = 0;
  /**
   * The last pick for this peer found nothing. A later `have` then only
   * triggers a pick when the new piece is itself pickable; releases of
   * requests (reject, timeout, choke, failure) clear it through a full refill.
   */
  starved = false;
  readonly down: RollingRate;
  readonly up: RollingRate;
  readonly connectedAtMs: number;
  /** Last time a block arrived, or when requests started going out after none were outstanding. */
  lastProgressMs: number;
  unchokedSinceMs: number | null = null;
  lastChokedAtMs: number | null = null;
  readonly uploadQueue: UploadRequest[] = [];
  /** BEP 6 allowed_fast pieces the peer granted us (requestable while choked). */
  readonly allowedFast = new Set<number>();
  /** allowedFast.size > 0, as a field (read on every `have`). */
  anyAllowedFast = false;
  /** Our outstanding requests to this peer (Downloads.requestsMap): its size is our requests in flight. */
  requests: ReadonlyMap<number, number> = new Map();
  /** Pieces whose failure this peer alone caused. */
  hashFailures = 0;
  /**
   * Pieces this peer rejected while unchoking us (BEP 6 reject outside a
   * choke: it says it has them but will not serve them, e.g. its storage lost
   * them), each until a time: we ask others for them meanwhile.
   */
  readonly rejectedUntilMs = new Map<number, number>();
  /** The peer for the picker; `unchokedView` ignores whether it chokes us (to ask "would it be useful?"). */
  readonly picker: PickerPeer & { readonly unchokedView: PickerPeer };
  readonly #isOwner: (i: number, key: string) => boolean;
  readonly #ours: PieceSet;
  readonly #clockNowMs: () => number;

  constructor(
    key: ConnectionId,
    fast: boolean,
    pieceCount: number,
    nowMs: number,
    windowMs: number,
    isOwner: (i: number, key: string) => boolean,
    ours: PieceSet,
    clockNowMs: () => number,
    hasPool: PieceSetPool,
    rateMinAgeMs: number | null,
  ) {
    this.key = key;
    this.fast = fast;
    this.has = hasPool.take();
    this.hasOffset = this.has.offset;
    this.down = new RollingRate(windowMs, nowMs, rateMinAgeMs);
    this.up = new RollingRate(windowMs, nowMs, rateMinAgeMs);
    this.connectedAtMs = nowMs;
    this.lastProgressMs = nowMs;
    this.#isOwner = isOwner;
    this.#ours = ours;
    this.#clockNowMs = clockNowMs;
    // Class instances, not object literals with getters and closures: those cost
    // ~3 KB per peer, most of an engine's memory in a large simulated swarm.
    this.picker = new PeerPickerView(this, true);
  }

  #recentlyRejected(i: number): boolean {
    const until = this.rejectedUntilMs.get(i);
    if (until === undefined) return false;
    if (until > this.#clockNowMs()) return true;
    this.rejectedUntilMs.delete(i);
    return false;
  }

  /** The peer has piece `i` and may be asked for it now. */
  pickable(i: number): boolean {
    if (!this.has.has(i) || !this.#isOwner(i, this.key) || this.#recentlyRejected(i)) return false;
    // Choked by a BEP 6 peer: only its allowed_fast pieces.
    return !this.peerChoking || this.allowedFast.has(i);
  }

  /** The peer has piece `i` (whether or not it chokes us). */
  hasAny(i: number): boolean {
    return this.has.has(i) && this.#isOwner(i, this.key);
  }

  forEachWanted(chokeAware: boolean, visit: (i: number) => boolean): void {
    this.has.forEachNotIn(this.#ours, (i) => (chokeAware ? this.pickable(i) : this.hasAny(i)) && visit(i));
  }
}

/** A PeerState as the picker sees it: `chokeAware` false is the unchoked view ("would it be useful?"). */
class PeerPickerView implements PickerPeer {
  readonly key: string;
  readonly unchokedView: PickerPeer;
  readonly #peer: PeerState;
  readonly #chokeAware: boolean;

  constructor(peer: PeerState, chokeAware: boolean) {
    this.key = peer.key;
    this.#peer = peer;
    this.#chokeAware = chokeAware;
    this.unchokedView = chokeAware ? new PeerPickerView(peer, false) : this;
  }

  has(i: number): boolean {
    return this.#chokeAware ? this.#peer.pickable(i) : this.#peer.hasAny(i);
  }

  get wantedCount(): number {
    return this.#peer.wantedFromPeer;
  }

  forEachWanted(visit: (i: number) => boolean): void {
    this.#peer.forEachWanted(this.#chokeAware, visit);
  }
}

export interface EngineInit {
  readonly shape: TorrentShape;
  readonly settings: FullSettings;
  readonly clock: Clock;
  readonly random: Random;
  /** Pieces already verified (resume), as a Bitfield. */
  readonly verified?: Bitfield;
}

export class TorrentEngine implements PickerView {
  readonly shape: TorrentShape;
  readonly settings: FullSettings;
  readonly out: EngineOutput[] = [];
  readonly pieceCount: number;
  readonly availability: AvailabilityIndex;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #have: Bitfield;
  /** The same pieces as #have, as words for fast set differences. */
  readonly #haveSet: PieceSet;
  /** Storage of every peer's bitfield (PeerState.has), side by side. */
  readonly #hasPool: PieceSetPool;
  #priorities: Uint8Array;
  readonly #downloads: Downloads;
  readonly #peers = new Map<ConnectionId, PeerState>();
  /** Wanted pieces (not skipped) not yet verified. */
  #wantedMissing = 0;
  #optimistic: OptimisticState = { key: null, sinceMs: 0 };
  #nextRechokeMs: number;
  #paused = false;
  #playheadPiece: number | null = null;
  /**
   * Parole (as libtorrent): a piece that failed its hash with several
   * contributors is re-downloaded from one peer only, so the next failure
   * names the liar. Maps piece -> the peer that took it (or null: not started).
   */
  readonly #parole = new Map<number, ConnectionId | null>();
  readonly #rate: { down: RollingRate; up: RollingRate };
  #completedEmitted = false;
  /** The choker's settings: an engine that starts as a seed chokes with `initialSeedChoking`. */
  readonly #chokerSettings: FullSettings;
  /** Regular upload slots the last rechoke opened (choker.ts: more than uploadSlots when rate-based). */
  #regularSlots: number;
  /** Super-seeding state (super-seed.ts): only for an engine that starts as a seed. */
  readonly #superSeed: SuperSeed | null;

  constructor(init: EngineInit) {
    this.shape = init.shape;
    this.settings = init.settings;
    this.pieceCount = init.shape.pieceCount;
    this.#clock = init.clock;
    this.#random = init.random;
    this.availability = new AvailabilityIndex(this.pieceCount);
    this.#have = init.verified?.clone() ?? new Bitfield(this.pieceCount);
    this.#haveSet = new PieceSet(this.pieceCount);
    this.#hasPool = new PieceSetPool(this.pieceCount);
    for (const i of this.#have.indices()) this.#haveSet.add(i);
    this.#priorities = new Uint8Array(this.pieceCount).fill(PiecePriority.normal);
    const maxBlocks = Math.ceil(init.shape.pieceLength / blockBytes);
    this.#downloads = new Downloads((i) => this.blockCount(i), maxBlocks);
    for (let i = 0; i < this.pieceCount; i++) if (this.#have.has(i)) this.availability.retire(i);
    this.#wantedMissing = this.pieceCount - this.#have.count;
    const now = this.#clock.nowMs();
    this.#nextRechokeMs = now + init.settings.rechokeIntervalMs;
    const windowMs = init.settings.rateWindowMs;
    const minAgeMs = init.settings.rateMinAgeMs;
    this.#rate = { down: new RollingRate(windowMs, now, minAgeMs), up: new RollingRate(windowMs, now, minAgeMs) };
    this.#completedEmitted = this.#wantedMissing === 0;
    this.#regularSlots = init.settings.uploadSlots;
    this.#chokerSettings = this.#have.complete ? { ...init.settings, seedChoking: init.settings.initialSeedChoking } : init.settings;
    this.#superSeed = this.#have.complete && this.pieceCount > 0 && init.settings.superSeeding !== "off" ? new SuperSeed(this.pieceCount, init.settings, init.random) : null;
  }

  // ---------------------------------------------------------------------------
  // PickerView (read by the pure picker).

  have(i: number): boolean {
    return this.#haveSet.has(i);
  }
  priority(i: number): PiecePriorityValue {
    return (this.#priorities[i] ?? 0) as PiecePriorityValue;
  }
  get partials(): Iterable<PartialPieceView> {
    return this.#downloads.partialsIterable();
  }
  isPartial(i: number): boolean {
    return this.#downloads.isPartial(i);
  }
  blockCount(i: number): number {
    return Math.ceil(this.pieceBytes(i) / blockBytes);
  }
  get verifiedCount(): number {
    return this.#have.count;
  }
  get partialCount(): number {
    return this.#downloads.partialCount;
  }
  get openPartialBlocks(): number {
    return this.#downloads.openBlocks;
  }
  get untouchedWantedCount(): number {
    let partialWanted = 0;
    for (const p of this.#downloads.partialsIterable()) if (!this.#have.has(p.index) && this.priority(p.index) !== PiecePriority.skip) partialWanted++;
    return this.#wantedMissing - partialWanted;
  }
  get playheadPiece(): number | null {
    return this.#playheadPiece;
  }

  // ---------------------------------------------------------------------------
  // Queries for snapshots and drivers.

  pieceBytes(i: number): number {
    return i < this.pieceCount - 1 ? this.shape.pieceLength : this.shape.totalLength - this.shape.pieceLength * (this.pieceCount - 1);
  }
  get verified(): Bitfield {
    return this.#have;
  }
  /** Every wanted piece is verified (we seed what we have). */
  get complete(): boolean {
    return this.#wantedMissing === 0;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get peerCount(): number {
    return this.#peers.size;
  }
  /** Peers we are interested in (they have pieces we want). */
  get interestingPeerCount(): number {
    let n = 0;
    for (const p of this.#peers.values()) if (p.amInterested) n++;
    return n;
  }
  peerKeys(): IterableIterator<ConnectionId> {
    return this.#peers.keys();
  }
  hasPeer(key: ConnectionId): boolean {
    return this.#peers.has(key);
  }
  /** The choke and interest flags of one connection and our requests in flight on it; unlike peerInfo, reads no rate meter (observing changes nothing). */
  peerLinkState(key: ConnectionId): { amChoking: boolean; peerChoking: boolean; peerInterested: boolean; requestsInFlight: number } | null {
    const p = this.#peers.get(key);
    if (p === undefined) return null;
    return { amChoking: p.amChoking, peerChoking: p.peerChoking, peerInterested: p.peerInterested, requestsInFlight: this.#downloads.inFlight(p.key) };
  }
  peerInfo(key: ConnectionId): {
    amChoking: boolean;
    amInterested: boolean;
    peerChoking: boolean;
    peerInterested: boolean;
    optimistic: boolean;
    snubbed: boolean;
    downloadRateBytesPerS: number;
    uploadRateBytesPerS: number;
    downloadedBytes: number;
    uploadedBytes: number;
    pieces: number;
    requestsInFlight: number;
    queuedUploads: number;
  } | null {
    const p = this.#peers.get(key);
    if (p === undefined) return null;
    const now = this.#clock.nowMs();
    return {
      amChoking: p.amChoking,
      amInterested: p.amInterested,
      peerChoking: p.peerChoking,
      peerInterested: p.peerInterested,
      optimistic: p.optimistic,
      snubbed: p.snubbed,
      downloadRateBytesPerS: p.down.rate(now),
      uploadRateBytesPerS: p.up.rate(now),
      downloadedBytes: p.down.totalBytes,
      uploadedBytes: p.up.totalBytes,
      pieces: p.has.count,
      requestsInFlight: this.#downloads.inFlight(p.key),
      queuedUploads: p.uploadQueue.length,
    };
  }
  /** Per piece: 0 missing, 1 downloading, 2 verified (PieceState). */
  pieceStates(): Uint8Array {
    const s = new Uint8Array(this.pieceCount);
    for (let i = 0; i < this.pieceCount; i++) s[i] = this.#have.has(i) ? 2 : 0;
    for (const p of this.#downloads.partialsIterable()) if (s[p.index] === 0) s[p.index] = 1;
    return s;
  }
  get downloadedBytes(): number {
    return this.#rate.down.totalBytes;
  }
  get uploadedBytes(): number {
    return this.#rate.up.totalBytes;
  }
  downloadRate(): number {
    return this.#rate.down.rate(this.#clock.nowMs());
  }
  uploadRate(): number {
    return this.#rate.up.rate(this.#clock.nowMs());
  }

  // ---------------------------------------------------------------------------
  // Peers.

  /** A connection finished its handshake: announce our pieces (BEP 3 bitfield, or BEP 6 have_all/have_none). */
  addPeer(key: ConnectionId, fastExtension: boolean): void {
    if (this.#peers.has(key)) return;
    const now = this.#clock.nowMs();
    const peer = new PeerState(key, fastExtension, this.pieceCount, now, this.settings.rateWindowMs, (i, k) => this.#ownerOk(i, k), this.#haveSet, () => this.#clock.nowMs(), this.#hasPool, this.settings.rateMinAgeMs);
    peer.requests = this.#downloads.requestsMap(key);
    this.#peers.set(key, peer);
    if (this.#superSeed?.active === true) {
      // Super-seeding: announce nothing; pieces are revealed with `have` once the peer is unchoked.
      this.#superSeed.addPeer(key);
      if (fastExtension) this.#send(key, { type: "have-none" });
      return;
    }
    if (fastExtension && this.#have.complete) this.#send(key, { type: "have-all" });
    else if (fastExtension && this.#have.empty) this.#send(key, { type: "have-none" });
    else if (!this.#have.empty) this.#send(key, { type: "bitfield", bits: this.#have.toBytes() });
  }

  removePeer(key: ConnectionId): void {
    const peer = this.#peers.get(key);
    if (peer === undefined) return;
    this.#peers.delete(key);
    this.#superSeed?.removePeer(key);
    peer.has.forEach((i) => this.availability.decrement(i));
    this.#hasPool.give(peer.has);
    this.#downloads.forgetPeer(key);
    for (const [i, owner] of this.#parole) if (owner === key) this.#parole.set(i, null);
    this.#readyUploads.delete(key);
    if (!peer.amChoking) this.#rechokeNow();
    this.#fillAll();
  }

  /** One message from a peer (after the handshake). */
  handle(key: ConnectionId, msg: WireMessage): void {
    const peer = this.#peers.get(key);
    if (peer === undefined) return;
    switch (msg.type) {
      case "keep-alive":
        return;
      case "choke":
        peer.peerChoking = true;
        this.#updateInterest(peer);
        // BEP 6: with the fast extension a choke does not cancel requests; the peer rejects them.
        if (!peer.fast) {
          this.#downloads.releasePeer(key);
          this.#releaseParoleOwner(key);
          this.#fillAll();
        }
        return;
      case "unchoke":
        peer.peerChoking = false;
        peer.lastProgressMs = this.#clock.nowMs();
        this.#fill(peer);
        return;
      case "interested":
        peer.peerInterested = true;
        // A free upload slot is used at once rather than at the next rechoke.
        if (peer.amChoking && this.#unchokedCount() < this.#regularSlots + this.settings.optimisticUnchokeSlots && this.#freeSlotEligible(peer)) {
          this.#setChoke(peer, false, false);
        }
        return;
      case "not-interested":
        peer.peerInterested = false;
        if (!peer.amChoking) this.#rechokeNow();
        return;
      case "have":
        this.#onHave(peer, msg.index);
        return;
      case "bitfield": {
        let bits: Bitfield;
        try {
          bits = Bitfield.fromBytes(msg.bits, this.pieceCount);
        } catch (e) {
          this.out.push({ kind: "close", peer: key, reason: e instanceof Error ? e.message : "bad bitfield" });
          return;
        }
        for (const i of bits.indices()) this.#peerHas(peer, i);
        this.#updateInterest(peer);
        return;
      }
      case "have-all":
        for (let i = 0; i < this.pieceCount; i++) this.#peerHas(peer, i);
        this.#updateInterest(peer);
        return;
      case "have-none":
        return;
      case "request":
        this.#onRequest(peer, msg.index, msg.begin, msg.length);
        return;
      case "cancel": {
        const k = peer.uploadQueue.findIndex((r) => r.index === msg.index && r.begin === msg.begin && r.length === msg.length);
        if (k >= 0) {
          peer.uploadQueue.splice(k, 1);
          // BEP 6: a cancelled request is answered with reject (or the piece).
          if (peer.fast) this.#send(key, { type: "reject", index: msg.index, begin: msg.begin, length: msg.length });
          if (peer.uploadQueue.length === 0) this.#readyUploads.delete(key);
        }
        return;
      }
      case "piece":
        this.#onBlock(peer, msg.index, msg.begin, msg.block);
        return;
      case "reject": {
        if (msg.begin % blockBytes !== 0) return;
        const block = msg.begin / blockBytes;
        if (!this.#downloads.isRequestedFrom(key, msg.index, block)) return;
        this.#downloads.release(msg.index, block, key);
        // Rejects that follow a choke are BEP 6 bookkeeping; one while the peer
        // unchokes us means it will not serve that piece: without a pause we
        // would ask it for the same block again at once, for ever.
        if (!peer.peerChoking) peer.rejectedUntilMs.set(msg.index, this.#clock.nowMs() + rejectedPieceCooldownMs);
        if (this.#parole.get(msg.index) === key && !this.#ownsAnyBlock(msg.index, key)) this.#parole.set(msg.index, null);
        this.#fillAll();
        return;
      }
      case "allowed-fast":
        if (!this.#checkIndex(peer, msg.index)) return;
        peer.allowedFast.add(msg.index);
        peer.anyAllowedFast = true;
        this.#fill(peer);
        return;
      case "suggest":
        return; // BEP 6: advisory; rarest first already orders our picks.
      case "extended":
        return; // BEP 10 extensions are handled by the session.
    }
  }

  /** handle(key, { type: "have", index }) without the message (the simulator's hot path: every verified block fans out as haves). */
  handleHave(key: ConnectionId, index: number): void {
    const peer = this.#peers.get(key);
    if (peer !== undefined) this.#onHave(peer, index);
  }

  #onHave(peer: PeerState, index: number): void {
    if (!this.#checkIndex(peer, index)) return;
    this.#peerHas(peer, index);
    if (this.#superSeed?.active === true) this.#superSeedReveal(peer);
    this.#updateInterest(peer);
    if (!peer.starved || (this.#wants(index) && !this.#downloads.isPartial(index))) this.#fill(peer);
  }

  /** The driver could not send a request the engine asked for (the wire refused it): forget it. */
  requestNotSent(key: ConnectionId, index: number, begin: number): void {
    this.#downloads.release(index, Math.floor(begin / blockBytes), key);
  }

  // ---------------------------------------------------------------------------
  // Uploading: the driver pulls queued requests when it has capacity to send.

  readonly #readyUploads = new Set<ConnectionId>();

  /** Peers with requests we may serve now. */
  uploadReady(): IterableIterator<ConnectionId> {
    return this.#readyUploads.values();
  }

  /** The next request to serve for `key`, removed from its queue; null when none may be served now. */
  takeUpload(key: ConnectionId): UploadRequest | null {
    const peer = this.#peers.get(key);
    if (peer === undefined) return null;
    const req = peer.uploadQueue.shift() ?? null;
    if (peer.uploadQueue.length === 0) this.#readyUploads.delete(key);
    return req;
  }

  /** Payload bytes sent to `key` (a piece message's block). */
  uploaded(key: ConnectionId, bytes: number): void {
    const now = this.#clock.nowMs();
    const peer = this.#peers.get(key);
    peer?.up.add(bytes, now);
    this.#rate.up.add(bytes, now);
    // A leecher's unchoked peer that took unreciprocatedAfterBytes and never sent us anything: its grace or optimistic turn ends now (choker.ts).
    const limit = this.settings.unreciprocatedAfterBytes;
    const crossed = peer !== undefined && peer.up.totalBytes >= limit && peer.up.totalBytes - bytes < limit;
    if (crossed && !this.complete && peer.everInterested && peer.down.totalBytes === 0 && now - peer.connectedAtMs >= this.settings.reciprocationGraceMs) {
      // Only this peer is choked; its slot is refilled at the next rechoke.
      if (peer.optimistic) this.#optimistic = { key: null, sinceMs: now - this.settings.optimisticUnchokeIntervalMs };
      if (this.settings.regularSlotsNeedReciprocation) this.#setChoke(peer, true, false);
    }
  }

  // ---------------------------------------------------------------------------
  // Verification results.

  /** The driver checked the piece's SHA-1 (and, when ok, stored it). */
  pieceChecked(index: number, ok: boolean): void {
    if (this.#have.has(index)) return;
    const contributors = this.#downloads.contributors(index) as ConnectionId[];
    const cancelled = this.#downloads.finish(index);
    for (const r of cancelled) this.#sendCancel(r.peer as ConnectionId, r.index, r.block);
    if (ok) {
      this.#parole.delete(index);
      this.#have.set(index);
      this.#haveSet.add(index);
      this.availability.retire(index);
      if (this.priority(index) !== PiecePriority.skip) this.#wantedMissing--;
      this.out.push({ kind: "broadcast-have", index });
      this.out.push({ kind: "event", event: { type: "piece-verified", index: index as PieceIndex } });
      if (this.priority(index) !== PiecePriority.skip) {
        // Only the peers that have the piece change; the availability count says how many to find.
        const counted = this.availability.count(index);
        let holders = counted < 0xffff ? counted : this.#peers.size; // (the count saturates at 0xffff)
        for (const peer of this.#peers.values()) {
          if (holders === 0) break;
          if (this.#hasPool.hasAt(peer.hasOffset, index)) {
            holders--;
            peer.wantedFromPeer--;
            this.#updateInterest(peer);
          }
        }
      }
      if (this.complete && !this.#completedEmitted) {
        this.#completedEmitted = true;
        this.out.push({ kind: "event", event: { type: "completed" } });
        this.#rechokeNow(); // switch to seed choking
      }
    } else {
      this.out.push({ kind: "event", event: { type: "piece-failed", index: index as PieceIndex, contributors } });
      if (contributors.length === 1) {
        const liar = this.#peers.get(contributors[0]!);
        if (liar !== undefined) {
          liar.hashFailures++;
          if (liar.hashFailures >= this.settings.banAfterHashFailures) {
            this.out.push({ kind: "ban", peer: liar.key, reason: `sent data for ${liar.hashFailures} pieces that failed SHA-1` });
            this.removePeer(liar.key);
          }
        }
        this.#parole.delete(index);
      } else {
        // Several contributors: re-download from one peer only so a repeat failure names the liar.
        this.#parole.set(index, null);
      }
      this.#fillAll();
      return;
    }
    // Only peers that lost requests (endgame leftovers) have room to refill.
    for (const r of cancelled) this.#fillKey(r.peer as ConnectionId);
  }

  /**
   * Our store can no longer read piece `index`, which we had verified (the
   * browser's storage was cleared under us, a file was removed): it is missing
   * again. It is requested from peers that have it, shown missing, and
   * requests for it are rejected from now on (BEP 6), queued ones at once.
   * BitTorrent has no message to withdraw a `have`: peers that were told keep
   * believing we have it and learn otherwise from those rejects (they set it
   * aside for rejectedPieceCooldownMs and say so through
   * unavailableMissing()); connections opened later get a bitfield without it.
   * Returns false when the piece was not verified (nothing changes).
   */
  pieceLost(index: number): boolean {
    if (!this.#have.has(index)) return false;
    this.#have.clear(index);
    this.#haveSet.delete(index);
    this.availability.unretire(index);
    const wanted = this.priority(index) !== PiecePriority.skip;
    if (wanted) this.#wantedMissing++;
    if (!this.complete) this.#completedEmitted = false;
    for (const peer of this.#peers.values()) {
      const queued = peer.uploadQueue.filter((r) => r.index === index);
      if (queued.length > 0) {
        peer.uploadQueue.splice(0, peer.uploadQueue.length, ...peer.uploadQueue.filter((r) => r.index !== index));
        if (peer.fast) for (const r of queued) this.#send(peer.key, { type: "reject", ...r });
        if (peer.uploadQueue.length === 0) this.#readyUploads.delete(peer.key);
      }
      if (wanted && peer.has.has(index)) {
        peer.wantedFromPeer++;
        peer.starved = false; // a pick is possible again
        this.#updateInterest(peer);
      }
    }
    this.#fillAll();
    return true;
  }

  /**
   * Wanted pieces we lack that no connected peer can give us now: none has
   * them, or each that announced them rejected them within the last
   * rejectedPieceCooldownMs. Skipped pieces do not count. Computed on demand
   * (snapshots), in one pass over the pieces plus the peers' recent rejects.
   */
  unavailableMissing(): { readonly pieces: number; readonly bytes: number } {
    if (this.complete) return { pieces: 0, bytes: 0 };
    const now = this.#clock.nowMs();
    // Per piece: how many of the peers that announced it rejected it recently.
    const rejecters = new Map<number, number>();
    for (const peer of this.#peers.values()) {
      for (const [i, until] of peer.rejectedUntilMs) if (until > now && peer.has.has(i)) rejecters.set(i, (rejecters.get(i) ?? 0) + 1);
    }
    let pieces = 0;
    let bytes = 0;
    for (let i = 0; i < this.pieceCount; i++) {
      if (!this.#wants(i) || this.availability.count(i) > (rejecters.get(i) ?? 0)) continue;
      pieces++;
      bytes += this.pieceBytes(i);
    }
    return { pieces, bytes };
  }

  /** Storing a verified piece failed: forget its blocks (it will be fetched again after resume). */
  pieceStoreFailed(index: number): void {
    for (const r of this.#downloads.finish(index)) this.#sendCancel(r.peer as ConnectionId, r.index, r.block);
  }

  // ---------------------------------------------------------------------------
  // Controls.

  /** Per-piece priorities (PiecePriority values), from file priorities. */
  setPiecePriorities(priorities: Uint8Array): void {
    this.#priorities = Uint8Array.from(priorities);
    this.#wantedMissing = 0;
    for (let i = 0; i < this.pieceCount; i++) if (!this.#have.has(i) && this.priority(i) !== PiecePriority.skip) this.#wantedMissing++;
    for (const peer of this.#peers.values()) {
      peer.wantedFromPeer = 0;
      peer.has.forEach((i) => {
        if (this.#wants(i)) peer.wantedFromPeer++;
      });
      this.#updateInterest(peer);
    }
    if (!this.complete) this.#completedEmitted = false;
    else if (!this.#completedEmitted) {
      this.#completedEmitted = true;
      this.out.push({ kind: "event", event: { type: "completed" } });
    }
    this.#fillAll();
  }

  setPlayheadPiece(index: number | null): void {
    this.#playheadPiece = index === null ? null : Math.max(0, Math.min(this.pieceCount - 1, Math.floor(index)));
    this.#fillAll();
  }

  /** Stop requesting (storage full, or the user paused); outstanding requests are cancelled. */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    for (const peer of this.#peers.values()) {
      for (const r of this.#downloads.releasePeer(peer.key)) this.#sendCancel(peer.key, r.index, r.block, false);
      this.#updateInterest(peer);
    }
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const peer of this.#peers.values()) this.#updateInterest(peer);
    this.#fillAll();
  }

  /** Timers: rechoke, snub detection, request timeouts. Call every 100-1000 ms. */
  tick(): void {
    const now = this.#clock.nowMs();
    // Anti-snubbing (Cohen 2003): requests out, nothing received for snubTimeoutMs.
    for (const peer of this.#peers.values()) {
      const waiting = peer.requests.size > 0;
      peer.snubbed = waiting && now - peer.lastProgressMs >= this.settings.snubTimeoutMs;
      peer.depth = requestQueueDepth(peer.down.rate(now), this.settings);
    }
    // Request timeouts: re-issue elsewhere.
    const expired = this.#downloads.expired(now, (key) => {
      const p = this.#peers.get(key as ConnectionId);
      const base = this.settings.requestTimeoutMs;
      return p === undefined ? base : requestTimeoutFor(base, this.#downloads.inFlight(key), p.down.rate(now));
    });
    for (const r of expired) {
      const slow = this.#peers.get(r.peer as ConnectionId);
      if (slow !== undefined) slow.timedOut = true;
      this.#downloads.release(r.index, r.block, r.peer);
      this.#sendCancel(r.peer as ConnectionId, r.index, r.block);
    }
    if (now >= this.#nextRechokeMs) {
      this.#nextRechokeMs = now + this.settings.rechokeIntervalMs;
      this.#superSeedMaybeStop();
      this.#rechokeNow();
    } else if (this.#superSeed?.active === true) {
      // Super-seeding: peers cannot be interested before a reveal, so free slots are filled on ticks.
      if (this.#unchokedCount() < this.#regularSlots + this.settings.optimisticUnchokeSlots) this.#rechokeNow();
    }
    if (this.#superSeed?.active === true) for (const p of this.#peers.values()) if (!p.amChoking) this.#superSeedReveal(p, true);
    this.#fillAll(true);
  }

  // ---------------------------------------------------------------------------
  // Internals.

  #send(peer: ConnectionId, message: WireMessage): void {
    this.out.push({ kind: "send", peer, message });
  }

  #sendCancel(peer: ConnectionId, index: number, block: number, release = true): void {
    if (!this.#peers.has(peer)) return;
    if (release) this.#downloads.release(index, block, peer);
    const begin = block * blockBytes;
    this.#send(peer, { type: "cancel", index, begin, length: Math.min(blockBytes, this.pieceBytes(index) - begin) });
  }

  #checkIndex(peer: PeerState, index: number): boolean {
    if (Number.isInteger(index) && index >= 0 && index < this.pieceCount) return true;
    this.out.push({ kind: "close", peer: peer.key, reason: `piece index ${index} out of range` });
    return false;
  }

  #wants(i: number): boolean {
    return !this.#haveSet.has(i) && this.#priorities[i] !== PiecePriority.skip;
  }

  #peerHas(peer: PeerState, i: number): void {
    if (!this.#hasPool.addAt(peer.hasOffset, i)) return;
    this.#superSeed?.onHave(peer.key, i);
    this.availability.increment(i);
    if (this.#wants(i)) peer.wantedFromPeer++;
  }

  /**
   * Interested (BEP 3) when the peer has pieces we want, except while it
   * unchokes us and nothing of it can be requested (every such piece is being
   * fetched from others): then we say not-interested so its upload slot goes
   * to a peer that can use it, and become interested again when a pick is
   * possible (a new `have`, or requests released elsewhere).
   */
  #updateInterest(peer: PeerState): void {
    // Sticky across a choke (no flip-flop): cleared only when a pick becomes possible.
    const idleSlot = peer.starved && peer.requests.size === 0;
    const interested = !this.#paused && peer.wantedFromPeer > 0 && !(idleSlot && this.settings.releaseIdleSlots);
    if (interested === peer.amInterested) return;
    peer.amInterested = interested;
    if (interested) peer.everInterested = true;
    this.#send(peer.key, { type: interested ? "interested" : "not-interested" });
  }

  /** A free slot goes at once to a seed's peers, or to a leecher's peer that reciprocated or is new (choker.ts). */
  #freeSlotEligible(peer: PeerState): boolean {
    if (this.complete || !this.settings.regularSlotsNeedReciprocation) return true;
    const grace = this.#clock.nowMs() - peer.connectedAtMs < this.settings.reciprocationGraceMs && !(peer.everInterested && peer.up.totalBytes >= this.settings.unreciprocatedAfterBytes);
    return peer.down.totalBytes > 0 || grace;
  }

    #unchokedCount(): number {
    let n = 0;
    for (const p of this.#peers.values()) if (!p.amChoking) n++;
    return n;
  }

  #setChoke(peer: PeerState, choke: boolean, optimistic: boolean): void {
    const now = this.#clock.nowMs();
    if (peer.amChoking === choke) {
      if (peer.optimistic !== optimistic && !choke) {
        peer.optimistic = optimistic;
        this.out.push({ kind: "event", event: { type: "choke-changed", id: peer.key, amChoking: false, optimistic } });
      }
      return;
    }
    peer.amChoking = choke;
    peer.optimistic = !choke && optimistic;
    if (choke) {
      peer.lastChokedAtMs = now;
      peer.unchokedSinceMs = null;
      // BEP 6: choking rejects queued requests explicitly; BEP 3: they are simply dropped.
      if (peer.fast) for (const r of peer.uploadQueue) this.#send(peer.key, { type: "reject", ...r });
      peer.uploadQueue.length = 0;
      this.#readyUploads.delete(peer.key);
    } else {
      peer.unchokedSinceMs = now;
    }
    this.#superSeed?.setUnchoked(peer.key, !choke);
    this.#send(peer.key, { type: choke ? "choke" : "unchoke" });
    if (!choke && this.#superSeed?.active === true) this.#superSeedReveal(peer);
    this.out.push({ kind: "event", event: { type: "choke-changed", id: peer.key, amChoking: choke, optimistic: peer.optimistic } });
  }

  #rechokeNow(): void {
    const now = this.#clock.nowMs();
    const snapshots: ChokerPeer[] = [];
    for (const p of this.#peers.values()) {
      snapshots.push({
        key: p.key,
        // Super-seeding: a peer is only interested in what we revealed; any peer lacking pieces may be unchoked.
        peerInterested: p.peerInterested || (this.#superSeed?.active === true && p.has.count < this.pieceCount),
        downloadRateBytesPerS: p.down.rate(now),
        uploadRateBytesPerS: p.up.rate(now),
        downloadedBytes: p.down.totalBytes,
        uploadedBytes: p.up.totalBytes,
        couldReciprocate: p.everInterested,
        pieces: p.has.count,
        snubbed: p.snubbed,
        connectedAtMs: p.connectedAtMs,
        amChoking: p.amChoking,
        unchokedSinceMs: p.unchokedSinceMs,
        lastChokedAtMs: p.lastChokedAtMs,
      });
    }
    const decision = rechoke(snapshots, this.#optimistic, now, this.complete, this.#chokerSettings, this.#random);
    this.#optimistic = decision.optimistic;
    this.#regularSlots = decision.slots;
    for (const p of this.#peers.values()) {
      const unchoke = decision.unchoked.has(p.key);
      this.#setChoke(p, !unchoke, unchoke && decision.optimistic.key === p.key && !decision.regular.includes(p.key));
    }
  }

  #onRequest(peer: PeerState, index: number, begin: number, length: number): void {
    const s = this.settings;
    if (length > s.maxRequestBytes) {
      this.out.push({ kind: "close", peer: peer.key, reason: `request of ${length} bytes exceeds ${s.maxRequestBytes}` });
      return;
    }
    const valid =
      Number.isInteger(index) && index >= 0 && index < this.pieceCount && length > 0 && begin >= 0 && begin + length <= this.pieceBytes(index);
    const reject = (): void => {
      if (peer.fast) this.#send(peer.key, { type: "reject", index, begin, length });
    };
    if (!valid || !this.#have.has(index) || peer.amChoking || peer.uploadQueue.length >= s.maxQueuedUploadRequests) {
      reject();
      return;
    }
    peer.uploadQueue.push({ index, begin, length });
    this.#readyUploads.add(peer.key);
  }

  #onBlock(peer: PeerState, index: number, begin: number, data: Uint8Array): void {
    const now = this.#clock.nowMs();
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount || begin % blockBytes !== 0) return;
    const block = begin / blockBytes;
    const expected = Math.min(blockBytes, this.pieceBytes(index) - begin);
    if (data.length !== expected || this.#have.has(index)) return;
    peer.down.add(data.length, now);
    this.#rate.down.add(data.length, now);
    peer.lastProgressMs = now;
    peer.snubbed = false;
    peer.timedOut = false;
    peer.depth = requestQueueDepth(peer.down.rate(now), this.settings);
    const arrival = this.#downloads.received(index, block, peer.key);
    if (arrival.accepted) {
      this.out.push({ kind: "block", peer: peer.key, index, begin, data });
      // Endgame (Cohen 2003): cancel the duplicates.
      for (const other of arrival.cancelFrom) this.#sendCancel(other as ConnectionId, index, block, false);
      if (arrival.pieceComplete) this.out.push({ kind: "verify", index });
    }
    this.#fill(peer);
    if (arrival.cancelFrom.length > 0) for (const other of arrival.cancelFrom) this.#fillKey(other as ConnectionId);
  }

  #ownerOk(i: number, key: string): boolean {
    if (!this.#parole.has(i)) return true;
    const owner = this.#parole.get(i);
    return owner === null || owner === key;
  }

  #ownsAnyBlock(index: number, key: ConnectionId): boolean {
    for (const r of this.#downloads.requestsOf(key)) if (r.index === index) return true;
    return false;
  }

  #releaseParoleOwner(key: ConnectionId): void {
    for (const [i, owner] of this.#parole) if (owner === key) this.#parole.set(i, null);
  }

  /** Super-seeding: reveal pieces to an unchoked peer until it lacks `superSeedPiecesAhead` of them. */
  #superSeedReveal(peer: PeerState, onTick = false): void {
    const interested = !onTick || peer.peerInterested;
    const revealed = this.#superSeed!.reveal(peer.key, (i) => peer.has.has(i), (i) => this.availability.count(i), this.#clock.nowMs(), interested);
    for (const index of revealed) this.#send(peer.key, { type: "have", index });
  }

  /** Super-seeding "auto": once connected peers hold every piece, announce the rest and seed plainly. */
  #superSeedMaybeStop(): void {
    const ss = this.#superSeed;
    if (ss === null || !ss.shouldStop((i) => this.availability.count(i))) return;
    for (const [key, rest] of ss.stop()) {
      const peer = this.#peers.get(key as ConnectionId);
      if (peer === undefined) continue;
      for (const index of rest) if (!peer.has.has(index)) this.#send(peer.key, { type: "have", index });
    }
  }

  #fillKey(key: ConnectionId): void {
    const p = this.#peers.get(key);
    if (p !== undefined) this.#fill(p);
  }

  /**
   * Tops up every peer; peers whose requests timed out or who snub us come
   * last. Whether a choking peer we went quiet on has become useful again is
   * re-checked only on ticks (`recheckChoked`): that check runs the picker.
   */
  #fillAll(recheckChoked = false): void {
    for (const p of this.#peers.values()) if (!p.timedOut && !p.snubbed) this.#fill(p, recheckChoked);
    for (const p of this.#peers.values()) if (p.timedOut || p.snubbed) this.#fill(p, recheckChoked);
  }

  /** Tops up the requests in flight to `peer` (request pipelining). */
  #fill(peer: PeerState, recheckChoked = true): void {
    if (this.#paused || peer.wantedFromPeer === 0) return;
    if (peer.peerChoking && !peer.anyAllowedFast) {
      // Choked: nothing to request, but a peer we went quiet on may have become useful again.
      if (recheckChoked && peer.starved && pickBlocks(this, peer.picker.unchokedView, 1, this.#random, this.settings).length > 0) {
        peer.starved = false;
        this.#updateInterest(peer);
      }
      return;
    }
    const now = this.#clock.nowMs();
    const inFlight = peer.requests.size;
    const depth = peer.timedOut || peer.snubbed ? 1 : Math.max(peer.depth, this.settings.minRequestsInFlight);
    const want = depth - inFlight;
    if (want <= 0) return;
    // Deep queues (fast peers, over ~2.6 MB/s) are topped up in batches of a
    // quarter: each top-up is a data-channel message of its own, and sending
    // one per arriving run of blocks cost both pages more than the requests
    // themselves (profiled). Shallow queues are topped up at once.
    if (inFlight > 0 && depth >= deepQueueRequests && want < Math.floor(depth / 4)) return;
    const picks = pickBlocks(this, peer.picker, want, this.#random, this.settings);
    peer.starved = picks.length === 0;
    this.#updateInterest(peer);
    if (picks.length > 0 && inFlight === 0) peer.lastProgressMs = now;
    for (const pick of picks) {
      this.#downloads.markRequested(pick.index, pick.block, peer.key, now);
      if (this.#parole.get(pick.index) === null) this.#parole.set(pick.index, peer.key);
      const begin = pick.block * blockBytes;
      this.#send(peer.key, { type: "request", index: pick.index, begin, length: Math.min(blockBytes, this.pieceBytes(pick.index) - begin) });
    }
  }
}
