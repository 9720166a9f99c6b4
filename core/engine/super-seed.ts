// Super-seeding (the idea of BEP 16, our own code): an initial seed does not
// announce its pieces with a bitfield. It announces nothing (BEP 6 have_none,
// or no bitfield at all) and then reveals pieces one `have` at a time, to the
// peers it unchokes only, choosing the pieces it has sent least:
//  - first every piece once, in a seeded random order (its upload goes to
//    distinct pieces: no piece is sent twice before every piece went once);
//  - then the piece with the fewest known holders among connected peers plus
//    reveals still in flight to unchoked peers (rarest first, seen from the seed).
// An unchoked peer is kept `superSeedPiecesAhead` revealed pieces that it still
// lacks, topped up each time it announces (`have`) one of them, so its request
// pipeline does not drain.
//
// While super-seeding, interest means little (a peer is only interested in what
// we revealed), so the engine lets the choker consider every connected peer
// that still lacks pieces.
//
// Modes: "off"; "on" (an initial seed super-seeds for as long as it runs);
// "auto" (an initial seed super-seeds until every piece is held by at least
// `superSeedStopCopies` connected peers: from then on the seed is no longer the
// only source of anything and plain seeding serves peers' own rarest-first
// picks; it then announces every piece it has not revealed).
import type { Random } from "../random.ts";
import { PieceSet } from "./piece-set.ts";

export type SuperSeedingMode = "auto" | "on" | "off";

export interface SuperSeedSettings {
  readonly superSeeding: SuperSeedingMode;
  /** Revealed pieces an unchoked peer still lacks that we keep it (its request pipeline), pieces. */
  readonly superSeedPiecesAhead: number;
  /** "auto" stops once every piece is held by at least this many connected peers, peers. */
  readonly superSeedStopCopies: number;
  /** A revealed piece the peer has not announced after this long no longer holds its place (we may be unable to serve it), ms. */
  readonly superSeedRevealTimeoutMs: number;
}

interface SuperSeedPeer {
  /** Pieces we told this peer we have. */
  readonly revealed: PieceSet;
  /** Revealed pieces the peer has not announced yet, with when they were revealed (ms). */
  readonly lacking: Map<number, number>;
  unchoked: boolean;
}

export class SuperSeed {
  readonly pieceCount: number;
  readonly settings: SuperSeedSettings;
  #active: boolean;
  readonly #peers = new Map<string, SuperSeedPeer>();
  /** Per piece: unchoked peers it was revealed to that do not have it yet. */
  readonly #pending: Int32Array;
  /** Per piece: how many times it was revealed. */
  readonly #reveals: Int32Array;
  /** Pieces never revealed, in a seeded random order; #next is the first unused. */
  readonly #fresh: Int32Array;
  #next = 0;
  readonly #random: Random;

  constructor(pieceCount: number, settings: SuperSeedSettings, random: Random) {
    this.pieceCount = pieceCount;
    this.settings = settings;
    this.#active = settings.superSeeding !== "off";
    this.#pending = new Int32Array(pieceCount);
    this.#reveals = new Int32Array(pieceCount);
    this.#random = random;
    this.#fresh = new Int32Array(pieceCount);
    for (let i = 0; i < pieceCount; i++) this.#fresh[i] = i;
    for (let k = pieceCount - 1; k > 0; k--) {
      const j = random.int(k + 1);
      const t = this.#fresh[k]!;
      this.#fresh[k] = this.#fresh[j]!;
      this.#fresh[j] = t;
    }
  }

  get active(): boolean {
    return this.#active;
  }

  /** Pieces revealed at least once so far. */
  get revealedPieces(): number {
    return this.#next;
  }

  /** Times piece `i` was revealed. */
  revealCount(i: number): number {
    return this.#reveals[i] ?? 0;
  }

  /** Whether we told `key` that we have piece `i`. */
  isRevealed(key: string, i: number): boolean {
    return this.#peers.get(key)?.revealed.has(i) ?? false;
  }

  addPeer(key: string): void {
    if (!this.#peers.has(key)) this.#peers.set(key, { revealed: new PieceSet(this.pieceCount), lacking: new Map(), unchoked: false });
  }

  removePeer(key: string): void {
    const p = this.#peers.get(key);
    if (p === undefined) return;
    if (p.unchoked) for (const i of p.lacking.keys()) this.#pending[i]!--;
    this.#peers.delete(key);
  }

  /** The peer announced piece `i` (have, bitfield or have_all). */
  onHave(key: string, i: number): void {
    const p = this.#peers.get(key);
    if (p === undefined || !p.lacking.delete(i)) return;
    if (p.unchoked) this.#pending[i]!--;
  }

  setUnchoked(key: string, unchoked: boolean): void {
    const p = this.#peers.get(key);
    if (p === undefined || p.unchoked === unchoked) return;
    p.unchoked = unchoked;
    for (const i of p.lacking.keys()) this.#pending[i]! += unchoked ? 1 : -1;
  }

  /**
   * Pieces to reveal to `key` now (the caller sends one `have` each): enough
   * that it lacks `superSeedPiecesAhead` of the revealed ones. `peerHas` is
   * the peer's announced pieces; `holders(i)` counts connected peers with `i`.
   * A peer that is not interested does not want what it was shown (e.g. it
   * skips those files): earlier reveals stop holding their place.
   */
  reveal(key: string, peerHas: (i: number) => boolean, holders: (i: number) => number, nowMs: number, interested = true): number[] {
    const p = this.#peers.get(key);
    const out: number[] = [];
    if (!this.#active || p === undefined || !p.unchoked) return out;
    for (const [i, at] of p.lacking) {
      if (nowMs - at < this.settings.superSeedRevealTimeoutMs && (interested || at >= nowMs)) continue;
      p.lacking.delete(i);
      this.#pending[i]!--;
    }
    while (p.lacking.size < this.settings.superSeedPiecesAhead) {
      const i = this.#pick(p, peerHas, holders);
      if (i < 0) break;
      p.revealed.add(i);
      p.lacking.set(i, nowMs);
      this.#pending[i]!++;
      this.#reveals[i]!++;
      out.push(i);
    }
    return out;
  }

  /** "auto": whether to stop now (every piece held by enough connected peers). */
  shouldStop(holders: (i: number) => number): boolean {
    if (!this.#active || this.settings.superSeeding !== "auto") return false;
    for (let i = 0; i < this.pieceCount; i++) if (holders(i) < this.settings.superSeedStopCopies) return false;
    return true;
  }

  /**
   * Stops super-seeding; returns, per peer, the pieces it has not been told of
   * (the caller announces them so the peer sees a full seed).
   */
  stop(): Map<string, number[]> {
    const unrevealed = new Map<string, number[]>();
    this.#active = false;
    for (const [key, p] of this.#peers) {
      const rest: number[] = [];
      for (let i = 0; i < this.pieceCount; i++) if (!p.revealed.has(i)) rest.push(i);
      unrevealed.set(key, rest);
    }
    this.#peers.clear();
    this.#pending.fill(0);
    return unrevealed;
  }

  #pick(p: SuperSeedPeer, peerHas: (i: number) => boolean, holders: (i: number) => number): number {
    // First round: every piece once, in seeded random order.
    const fresh = this.#fresh;
    for (let j = this.#next; j < this.pieceCount; j++) {
      const i = fresh[j]!;
      if (peerHas(i)) continue;
      fresh[j] = fresh[this.#next]!;
      fresh[this.#next] = i;
      this.#next++;
      return i;
    }
    // Later: fewest holders plus reveals in flight, then fewest reveals; scan from a random offset.
    const n = this.pieceCount;
    const start = n > 0 ? this.#random.int(n) : 0;
    let best = -1;
    let bestScore = Infinity;
    let bestReveals = Infinity;
    for (let k = 0; k < n; k++) {
      let i = start + k;
      if (i >= n) i -= n;
      if (p.revealed.has(i) || peerHas(i)) continue;
      const score = holders(i) + this.#pending[i]!;
      const reveals = this.#reveals[i]!;
      if (score < bestScore || (score === bestScore && reveals < bestReveals)) {
        best = i;
        bestScore = score;
        bestReveals = reveals;
      }
    }
    return best;
  }
}
