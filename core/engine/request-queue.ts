// Request pipelining and the bookkeeping behind strict priority, timeouts and
// endgame (Cohen 2003: keep several requests in flight so the pipe never
// drains; libtorrent sizes the queue to cover request_queue_time seconds).
//
//  - requestQueueDepth: how many requests to keep in flight to a peer, from
//    its rolling rate: enough to cover `requestQueueTargetMs`, at least
//    `minRequestsInFlight`, at most `maxRequestsInFlight`.
//  - Downloads: the pieces being downloaded, per block who was asked and when
//    (several peers in endgame), which peers sent blocks (for punishing liars
//    when the piece fails SHA-1), timeouts, and what to cancel on arrival.
//  - RollingRate: an exponentially weighted rate over a window (the choker's
//    "rolling ~20 s rate").
import { BlockState, type BlockStateValue, type PartialPieceView } from "./picker.ts";
import { blockBytes } from "./settings.ts";

export interface QueueDepthSettings {
  readonly requestQueueTargetMs: number;
  readonly minRequestsInFlight: number;
  readonly maxRequestsInFlight: number;
}

/**
 * How long to wait for a request to `peer` before re-issuing it elsewhere:
 * the base timeout, or longer when the peer is slowly but surely working
 * through a queue: twice the time its rate needs for what we have in flight
 * (libtorrent also scales its piece timeout with the peer's rate).
 */
export function requestTimeoutFor(baseMs: number, inFlight: number, rateBytesPerS: number): number {
  if (rateBytesPerS <= 0) return baseMs;
  return Math.max(baseMs, (2 * inFlight * blockBytes * 1000) / rateBytesPerS);
}

/** Requests to keep in flight to a peer sending us `rateBytesPerS`. */
export function requestQueueDepth(rateBytesPerS: number, settings: QueueDepthSettings): number {
  const cover = Math.ceil((rateBytesPerS * settings.requestQueueTargetMs) / 1000 / blockBytes);
  return Math.max(settings.minRequestsInFlight, Math.min(settings.maxRequestsInFlight, cover));
}

/**
 * A rate in bytes/s, exponentially weighted with time constant windowMs/2, so
 * that a burst fades over about one window. O(1) memory per meter: the
 * simulator holds hundreds of thousands of them.
 *
 * A young meter has seen only 1 - e^(-age/tau) of a full window, so the raw
 * average reads a steady rate low (63 % after tau = 10 s with the default
 * window). With `minAgeMs` set, rate() divides by that fraction, counting the
 * meter at least `minAgeMs` old so that a first block does not read as a
 * burst (the same start-up correction as Adam's bias-corrected moments).
 */
export class RollingRate {
  #rate = 0;
  #lastMs: number;
  #total = 0;
  readonly #tauS: number;
  readonly #startMs: number;
  readonly #minAgeMs: number | null;

  constructor(windowMs: number, nowMs: number, minAgeMs: number | null = null) {
    this.#tauS = windowMs / 2000;
    this.#lastMs = nowMs;
    this.#startMs = nowMs;
    this.#minAgeMs = minAgeMs;
  }

  add(bytes: number, nowMs: number): void {
    this.#decay(nowMs);
    this.#rate += bytes / this.#tauS;
    this.#total += bytes;
  }

  rate(nowMs: number): number {
    this.#decay(nowMs);
    if (this.#minAgeMs === null) return this.#rate;
    const ageS = Math.max(nowMs - this.#startMs, this.#minAgeMs) / 1000;
    // Past 8 tau the seen fraction is 0.9997: no correction worth its exp().
    if (ageS > 8 * this.#tauS) return this.#rate;
    return this.#rate / (1 - Math.exp(-ageS / this.#tauS));
  }

  get totalBytes(): number {
    return this.#total;
  }

  #decay(nowMs: number): void {
    const dt = nowMs - this.#lastMs;
    if (dt <= 0) return;
    this.#rate *= Math.exp(-dt / 1000 / this.#tauS);
    this.#lastMs = nowMs;
  }
}

/** One outstanding request: block `block` of piece `index`, asked of `peer` at `sentAtMs`. */
export interface OutstandingRequest {
  readonly index: number;
  readonly block: number;
  readonly peer: string;
  readonly sentAtMs: number;
}

class PartialPiece implements PartialPieceView {
  readonly index: number;
  readonly blockCount: number;
  readonly states: Uint8Array;
  /** Per block: peers asked (usually one; several in endgame). */
  readonly requesters: (string[] | null)[];
  /** Peers that sent at least one block we kept, for punishment on hash failure. */
  readonly contributors = new Set<string>();
  received = 0;
  /** Blocks in state open. */
  open: number;

  constructor(index: number, blockCount: number) {
    this.index = index;
    this.blockCount = blockCount;
    this.open = blockCount;
    this.states = new Uint8Array(blockCount);
    this.requesters = new Array<string[] | null>(blockCount).fill(null);
  }

  blockState(block: number): BlockStateValue {
    return this.states[block] as BlockStateValue;
  }

  requesterCount(block: number): number {
    return this.requesters[block]?.length ?? 0;
  }

  isRequestedBy(block: number, peer: string): boolean {
    return this.requesters[block]?.includes(peer) ?? false;
  }
}

export interface BlockArrival {
  /** False when the block was already received (an endgame duplicate) or never part of a download. */
  readonly accepted: boolean;
  /** Other peers asked for the same block: send them `cancel` (endgame). */
  readonly cancelFrom: readonly string[];
  /** Every block of the piece is now here: verify it. */
  readonly pieceComplete: boolean;
}

/**
 * The pieces being downloaded. Block indices are 0-based within a piece; the
 * caller converts to byte offsets (block * 16 KiB).
 */
export class Downloads {
  readonly #partials = new Map<number, PartialPiece>();
  /** Per peer: (piece, block) key -> when it was asked. */
  readonly #byPeer = new Map<string, Map<number, number>>();
  readonly #blockCountOf: (index: number) => number;
  /** Key of (piece, block) for the per-peer sets. */
  readonly #stride: number;
  /** Open blocks (neither requested nor received) over all partial pieces. */
  #openBlocks = 0;

  constructor(blockCountOf: (index: number) => number, maxBlocksPerPiece: number) {
    this.#blockCountOf = blockCountOf;
    this.#stride = Math.max(1, maxBlocksPerPiece);
  }

  /** Partial pieces, oldest first (the picker's strict-priority order). */
  get partials(): readonly PartialPieceView[] {
    return [...this.#partials.values()];
  }

  /** Iterates partials without copying (hot path). */
  partialsIterable(): Iterable<PartialPieceView> {
    return this.#partials.values();
  }

  get partialCount(): number {
    return this.#partials.size;
  }

  /** Blocks of partial pieces that are neither requested nor received (0: strict priority has nothing to add). */
  get openBlocks(): number {
    return this.#openBlocks;
  }

  isPartial(index: number): boolean {
    return this.#partials.has(index);
  }

  inFlight(peer: string): number {
    return this.#byPeer.get(peer)?.size ?? 0;
  }

  /**
   * The live map of `peer`'s outstanding requests ((piece, block) key -> when
   * asked); its size is inFlight(peer). The same map until forgetPeer, so a
   * caller may keep it and skip the lookup on hot paths.
   */
  requestsMap(peer: string): ReadonlyMap<number, number> {
    return this.#peerMap(peer);
  }

  /** The peer is gone: drop its (released) request map. */
  forgetPeer(peer: string): void {
    this.releasePeer(peer);
    this.#byPeer.delete(peer);
  }

  /** Records that `block` of `index` was requested from `peer`. Starts the piece if new. */
  markRequested(index: number, block: number, peer: string, nowMs: number): void {
    let p = this.#partials.get(index);
    if (p === undefined) {
      p = new PartialPiece(index, this.#blockCountOf(index));
      this.#partials.set(index, p);
      this.#openBlocks += p.open;
    }
    if (p.states[block] === BlockState.received) return;
    if (p.states[block] === BlockState.open && block < p.blockCount) this.#setOpen(p, -1);
    const list = p.requesters[block];
    if (list === null || list === undefined) p.requesters[block] = [peer];
    else if (!list.includes(peer)) list.push(peer);
    p.states[block] = BlockState.requested;
    const set = this.#peerMap(peer);
    const key = index * this.#stride + block;
    if (!set.has(key)) set.set(key, nowMs);
  }

  /** A block arrived from `peer`. */
  received(index: number, block: number, peer: string): BlockArrival {
    const p = this.#partials.get(index);
    this.#dropFromPeer(peer, index, block);
    if (p === undefined || block >= p.blockCount || p.states[block] === BlockState.received) {
      // Not requested by anyone now (already complete, or unsolicited).
      if (p !== undefined && block < p.blockCount) this.#removeRequester(p, block, peer);
      return { accepted: false, cancelFrom: [], pieceComplete: false };
    }
    const others = (p.requesters[block] ?? []).filter((q) => q !== peer);
    for (const q of others) this.#dropFromPeer(q, index, block);
    p.requesters[block] = null;
    if (p.states[block] === BlockState.open) this.#setOpen(p, -1);
    p.states[block] = BlockState.received;
    p.received++;
    p.contributors.add(peer);
    return { accepted: true, cancelFrom: others, pieceComplete: p.received === p.blockCount };
  }

  /**
   * A request to `peer` is no longer outstanding (it was rejected, choked away,
   * cancelled or timed out): when no one else was asked, the block is open again.
   */
  release(index: number, block: number, peer: string): void {
    this.#dropFromPeer(peer, index, block);
    const p = this.#partials.get(index);
    if (p !== undefined && block < p.blockCount) this.#removeRequester(p, block, peer);
  }

  /** Every outstanding request to `peer` (choke without BEP 6, or disconnect): released. */
  releasePeer(peer: string): OutstandingRequest[] {
    const set = this.#byPeer.get(peer);
    if (set === undefined) return [];
    const out: OutstandingRequest[] = [];
    for (const [key, sentAtMs] of set) {
      const index = Math.floor(key / this.#stride);
      const block = key % this.#stride;
      const p = this.#partials.get(index);
      out.push({ index, block, peer, sentAtMs });
      if (p !== undefined) this.#removeRequester(p, block, peer);
    }
    set.clear(); // kept (not deleted): requestsMap() hands out this map until forgetPeer
    return out;
  }

  /** Outstanding requests to `peer`. */
  requestsOf(peer: string): OutstandingRequest[] {
    const set = this.#byPeer.get(peer);
    if (set === undefined) return [];
    const out: OutstandingRequest[] = [];
    for (const [key, sentAtMs] of set) {
      out.push({ index: Math.floor(key / this.#stride), block: key % this.#stride, peer, sentAtMs });
    }
    return out;
  }

  /** Whether `peer` has an outstanding request for this block. */
  isRequestedFrom(peer: string, index: number, block: number): boolean {
    return this.#byPeer.get(peer)?.has(index * this.#stride + block) ?? false;
  }

  /** Requests sent at or before `nowMs - timeout` and still outstanding (timeout per peer, or one for all). */
  expired(nowMs: number, timeoutMs: number | ((peer: string) => number)): OutstandingRequest[] {
    const out: OutstandingRequest[] = [];
    for (const [peer, set] of this.#byPeer) {
      if (set.size === 0) continue;
      const timeout = typeof timeoutMs === "number" ? timeoutMs : timeoutMs(peer);
      for (const [key, sent] of set) {
        if (nowMs - sent >= timeout) out.push({ index: Math.floor(key / this.#stride), block: key % this.#stride, peer, sentAtMs: sent });
      }
    }
    return out;
  }

  /** Peers that sent blocks of `index` we kept. */
  contributors(index: number): string[] {
    return [...(this.#partials.get(index)?.contributors ?? [])];
  }

  /**
   * The piece is done with (verified, or failed its hash and will be picked
   * again from scratch): forget it, releasing any outstanding requests.
   * Returns the peers that still had requests out for it (to cancel).
   */
  finish(index: number): OutstandingRequest[] {
    const p = this.#partials.get(index);
    if (p === undefined) return [];
    const out: OutstandingRequest[] = [];
    for (let b = 0; b < p.blockCount; b++) {
      for (const peer of p.requesters[b] ?? []) {
        const sentAtMs = this.#byPeer.get(peer)?.get(index * this.#stride + b) ?? 0;
        this.#dropFromPeer(peer, index, b);
        out.push({ index, block: b, peer, sentAtMs });
      }
    }
    this.#openBlocks -= p.open;
    this.#partials.delete(index);
    return out;
  }

  #removeRequester(p: PartialPiece, block: number, peer: string): void {
    const list = p.requesters[block];
    if (list === null || list === undefined) return;
    const k = list.indexOf(peer);
    if (k >= 0) list.splice(k, 1);
    if (list.length === 0) {
      p.requesters[block] = null;
      if (p.states[block] === BlockState.requested) {
        p.states[block] = BlockState.open;
        this.#setOpen(p, 1);
      }
    }
    if (p.received === 0 && p.requesters.every((r) => r === null)) {
      this.#openBlocks -= p.open;
      this.#partials.delete(p.index);
    }
  }

  #setOpen(p: PartialPiece, delta: number): void {
    p.open += delta;
    this.#openBlocks += delta;
  }

  #peerMap(peer: string): Map<number, number> {
    let set = this.#byPeer.get(peer);
    if (set === undefined) {
      set = new Map();
      this.#byPeer.set(peer, set);
    }
    return set;
  }

  #dropFromPeer(peer: string, index: number, block: number): void {
    this.#byPeer.get(peer)?.delete(index * this.#stride + block);
  }
}
