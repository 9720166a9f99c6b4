// The piece picker (Cohen 2003, "Incentives Build Robustness in BitTorrent"):
//  - strict priority: blocks of pieces already started come first;
//  - random first pieces until `randomFirstPieces` are verified;
//  - rarest first otherwise, ties broken by the seeded random generator;
//  - endgame: when every missing block is requested, ask other peers for the
//    outstanding ones too (the caller cancels duplicates as blocks arrive);
//  - streaming: a hybrid (Carlsson & Eager 2007; Parvez et al. 2012) that
//    picks the pieces just ahead of the playhead in order and rarest first
//    elsewhere (in order with a small probability: the "portion" policy);
//  - per-file priorities: skip / normal / high (high pieces before normal).
//
// Two parts:
//  - AvailabilityIndex: how many connected peers have each piece, kept in
//    buckets by count so that "rarest first" never sorts. Which wire event
//    drives each method: bitfield / have_all -> addPeerPieces; have -> increment;
//    peer disconnect -> removePeerPieces; we verified a piece -> retire.
//  - pickBlocks: a pure function over a read-only PickerView snapshot and one
//    peer's bitfield. It returns blocks to request and mutates nothing.
import type { Random } from "../random.ts";

/** Per piece priority, derived from file priorities (skip / normal / high). */
export const PiecePriority = { skip: 0, normal: 1, high: 2 } as const;
export type PiecePriorityValue = (typeof PiecePriority)[keyof typeof PiecePriority];

/** State of one block within a piece being downloaded. */
export const BlockState = { open: 0, requested: 1, received: 2 } as const;
export type BlockStateValue = (typeof BlockState)[keyof typeof BlockState];

/**
 * Pieces grouped by availability (libtorrent's piece_picker keeps a similar
 * priority-bucketed order), so that "rarest first" never sorts: moving a piece
 * between buckets is O(1). Ties among equally rare pieces are broken by
 * scanning each bucket from a seeded random offset.
 */
export class AvailabilityIndex {
  readonly pieceCount: number;
  readonly #count: Uint16Array;
  readonly #buckets: number[][] = [];
  /** Position of each piece inside its bucket; -1 once retired (we have it). */
  readonly #pos: Int32Array;
  #active = 0;

  constructor(pieceCount: number) {
    this.pieceCount = pieceCount;
    this.#count = new Uint16Array(pieceCount);
    this.#pos = new Int32Array(pieceCount);
    const zero: number[] = [];
    this.#buckets.push(zero);
    for (let i = 0; i < pieceCount; i++) this.#insert(i, 0);
    this.#active = pieceCount;
  }

  /** How many connected peers have piece `i`. */
  count(i: number): number {
    return this.#count[i] ?? 0;
  }

  /** The counts as an array (for snapshots). */
  counts(): Uint16Array {
    return this.#count;
  }

  /** Whether piece `i` is still in the rarest-first order (we do not have it). */
  isActive(i: number): boolean {
    return (this.#pos[i] ?? -1) >= 0;
  }

  /** Wire event: `have` (BEP 3) from a peer. */
  increment(i: number): void {
    const c = this.#count[i]!;
    if (c === 0xffff) return;
    if (this.#pos[i]! >= 0) {
      this.#remove(i, c);
      this.#insert(i, c + 1);
    }
    this.#count[i] = c + 1;
  }

  /** Wire event: a peer that had piece `i` disconnected. */
  decrement(i: number): void {
    const c = this.#count[i]!;
    if (c === 0) return;
    if (this.#pos[i]! >= 0) {
      this.#remove(i, c);
      this.#insert(i, c - 1);
    }
    this.#count[i] = c - 1;
  }

  /** Wire event: `bitfield` or `have_all` (BEP 3 / BEP 6). `has` answers per piece. */
  addPeerPieces(has: (i: number) => boolean): void {
    for (let i = 0; i < this.pieceCount; i++) if (has(i)) this.increment(i);
  }

  /** A peer disconnected: take its pieces out of the counts. */
  removePeerPieces(has: (i: number) => boolean): void {
    for (let i = 0; i < this.pieceCount; i++) if (has(i)) this.decrement(i);
  }

  /** We verified piece `i`: it leaves the rarest-first order (its count is still kept). */
  retire(i: number): void {
    if (this.#pos[i]! < 0) return;
    this.#remove(i, this.#count[i]!);
    this.#pos[i] = -1;
    this.#active--;
  }

  /** A verified piece is lost again (a failed write): it re-enters the order. */
  unretire(i: number): void {
    if (this.#pos[i]! >= 0) return;
    this.#insert(i, this.#count[i]!);
    this.#active++;
  }

  /**
   * Visits active pieces from rarest to most common; the visitor returns true
   * to stop. Pieces nobody has (count 0) are skipped: no peer can send them.
   * Within a bucket the scan starts at a random offset (seeded tie-break).
   */
  scanRarest(visit: (i: number) => boolean, random: Random): void {
    const buckets = this.#buckets;
    for (let c = 1; c < buckets.length; c++) {
      const bucket = buckets[c]!;
      const n = bucket.length;
      if (n === 0) continue;
      const start = n > 1 ? random.int(n) : 0;
      for (let k = 0; k < n; k++) {
        let j = start + k;
        if (j >= n) j -= n;
        if (visit(bucket[j]!)) return;
      }
    }
  }

  /** Pieces still in the rarest-first order. */
  get activeCount(): number {
    return this.#active;
  }

  /** The smallest count among active pieces (the rarest piece's copies); null when none is active. */
  minActiveCount(): number | null {
    for (let c = 0; c < this.#buckets.length; c++) if (this.#buckets[c]!.length > 0) return c;
    return null;
  }

  #insert(i: number, c: number): void {
    while (this.#buckets.length <= c) this.#buckets.push([]);
    const bucket = this.#buckets[c]!;
    // Appended; scanRarest starts each bucket at a seeded random offset (the tie-break).
    this.#pos[i] = bucket.length;
    bucket.push(i);
  }

  #remove(i: number, c: number): void {
    const bucket = this.#buckets[c]!;
    const p = this.#pos[i]!;
    const lastPiece = bucket.pop()!;
    if (lastPiece !== i) {
      bucket[p] = lastPiece;
      this.#pos[lastPiece] = p;
    }
  }
}

/** A piece being downloaded, as the picker sees it. */
export interface PartialPieceView {
  readonly index: number;
  readonly blockCount: number;
  blockState(block: number): BlockStateValue;
  /** How many peers currently have a request out for this block. */
  requesterCount(block: number): number;
  /** Whether `peer` has a request out for this block. */
  isRequestedBy(block: number, peer: string): boolean;
}

/** What the picker reads: a snapshot of our progress and the swarm's availability. */
export interface PickerView {
  readonly pieceCount: number;
  readonly availability: AvailabilityIndex;
  /** We have verified piece `i`. */
  have(i: number): boolean;
  priority(i: number): PiecePriorityValue;
  /** Pieces being downloaded, oldest first (iterated afresh on each read). */
  readonly partials: Iterable<PartialPieceView>;
  isPartial(i: number): boolean;
  blockCount(i: number): number;
  readonly verifiedCount: number;
  /** How many pieces are being downloaded. */
  readonly partialCount: number;
  /** Optional, for speed: open blocks over all partial pieces (0 lets the picker skip strict priority's scan). */
  readonly openPartialBlocks?: number;
  /** Wanted pieces (not skip) that are neither verified nor partial. */
  readonly untouchedWantedCount: number;
  /** Streaming: the piece under the playhead; null when not streaming. */
  readonly playheadPiece: number | null;
}

export interface PickerSettings {
  readonly randomFirstPieces: number;
  readonly endgameMaxRequestersPerBlock: number;
  readonly streamingWindowPieces: number;
  readonly streamingInOrderProbability: number;
  /** "random" picks every new piece at random (a baseline to compare rarest first against). */
  readonly pieceSelection: "rarest-first" | "random";
}

export interface BlockPick {
  readonly index: number;
  readonly block: number;
  /** An endgame duplicate of a block already requested from another peer. */
  readonly endgame: boolean;
}

/** The peer we pick for: its key (as in PartialPieceView.isRequestedBy) and its pieces. */
export interface PickerPeer {
  readonly key: string;
  has(i: number): boolean;
  /**
   * Optional, for speed: how many pieces the peer has that we want, and a way
   * to visit them (the visitor returns true to stop). When few, the picker
   * visits these instead of scanning every piece in rarity order.
   */
  readonly wantedCount?: number;
  forEachWanted?(visit: (i: number) => boolean): void;
}

/** Visit the peer's wanted pieces directly when they are fewer than 1/sparsePeerFraction of the active pieces... */
export const sparsePeerFraction = 8;
/** ...or fewer than the pieces being downloaded plus this slack (they may all be taken). */
export const sparsePeerSlack = 16;

/**
 * Picks up to `want` blocks to request from `peer`. Pure: reads `view`, draws
 * from `random`, returns the picks; the caller records them as requested.
 */
export function pickBlocks(view: PickerView, peer: PickerPeer, want: number, random: Random, settings: PickerSettings): BlockPick[] {
  const picks: BlockPick[] = [];
  if (want <= 0) return picks;

  // 1. Strict priority (Cohen 2003): finish started pieces first, high priority first.
  for (const pass of view.openPartialBlocks === 0 ? noPasses : priorityPasses) {
    for (const partial of view.partials) {
      if (picks.length >= want) return picks;
      if (view.priority(partial.index) !== pass || !peer.has(partial.index)) continue;
      for (let b = 0; b < partial.blockCount && picks.length < want; b++) {
        if (partial.blockState(b) === BlockState.open) picks.push({ index: partial.index, block: b, endgame: false });
      }
    }
  }

  // 2. New pieces.
  const taken = new Set<number>();
  const wantedCount = peer.wantedCount;
  const sparse =
    wantedCount !== undefined &&
    peer.forEachWanted !== undefined &&
    (wantedCount * sparsePeerFraction < view.availability.activeCount || wantedCount <= view.partialCount + sparsePeerSlack);
  const candidate = (i: number, pass: PiecePriorityValue): boolean =>
    !taken.has(i) && peer.has(i) && !view.have(i) && !view.isPartial(i) && view.priority(i) === pass;
  const take = (i: number): void => {
    taken.add(i);
    const n = view.blockCount(i);
    for (let b = 0; b < n && picks.length < want; b++) picks.push({ index: i, block: b, endgame: false });
  };
  const randomFirst = view.verifiedCount < settings.randomFirstPieces || settings.pieceSelection === "random";

  for (const pass of priorityPasses) {
    if (picks.length >= want) return picks;
    // Streaming: the window just ahead of the playhead, in order (deadline first).
    if (view.playheadPiece !== null) {
      const end = Math.min(view.pieceCount, view.playheadPiece + settings.streamingWindowPieces);
      for (let i = view.playheadPiece; i < end && picks.length < want; i++) if (candidate(i, pass)) take(i);
    }
    if (sparse) {
      // Few useful pieces at this peer: list them, rarest first with seeded random ties.
      if (picks.length >= want) break;
      const cands: number[] = [];
      peer.forEachWanted!((i) => {
        if (candidate(i, pass)) cands.push(i);
        return false;
      });
      if (cands.length === 0) continue;
      for (let k = cands.length - 1; k > 0; k--) {
        const j = random.int(k + 1);
        const t = cands[k]!;
        cands[k] = cands[j]!;
        cands[j] = t;
      }
      const inRandomOrder = randomFirst && view.playheadPiece === null;
      if (!inRandomOrder) {
        const av = view.availability;
        cands.sort((a, b) => av.count(a) - av.count(b));
      }
      for (const i of cands) {
        if (picks.length >= want) break;
        if (candidate(i, pass) && view.availability.count(i) > 0) take(i);
      }
      continue;
    }
    while (picks.length < want) {
      let chosen = -1;
      if (view.playheadPiece !== null && random.next() < settings.streamingInOrderProbability) {
        // Portion policy: the next missing piece after the playhead, in order.
        for (let i = view.playheadPiece; i < view.pieceCount; i++) {
          if (candidate(i, pass)) {
            chosen = i;
            break;
          }
        }
      }
      if (chosen < 0 && randomFirst && view.playheadPiece === null) {
        // Random first piece: a rare piece arrives slowly; a newcomer needs something to trade.
        const start = random.int(view.pieceCount);
        for (let k = 0; k < view.pieceCount; k++) {
          const i = (start + k) % view.pieceCount;
          if (candidate(i, pass)) {
            chosen = i;
            break;
          }
        }
      }
      if (chosen < 0) {
        view.availability.scanRarest((i) => {
          if (candidate(i, pass)) {
            chosen = i;
            return true;
          }
          return false;
        }, random);
      }
      if (chosen < 0) break;
      take(chosen);
    }
  }
  if (picks.length > 0) return picks;

  // 3. Endgame (Cohen 2003): every wanted block is requested or received. Ask this
  // peer for outstanding blocks it has not been asked for, fewest requesters first.
  if (view.untouchedWantedCount > 0) return picks;
  const outstanding: { index: number; block: number; requesters: number }[] = [];
  for (const partial of view.partials) {
    if (!peer.has(partial.index) || view.priority(partial.index) === PiecePriority.skip) continue;
    for (let b = 0; b < partial.blockCount; b++) {
      if (partial.blockState(b) !== BlockState.requested || partial.isRequestedBy(b, peer.key)) continue;
      const requesters = partial.requesterCount(b);
      if (requesters >= settings.endgameMaxRequestersPerBlock) continue;
      outstanding.push({ index: partial.index, block: b, requesters });
    }
  }
  outstanding.sort(byFewestRequesters);
  for (const o of outstanding) {
    if (picks.length >= want) break;
    picks.push({ index: o.index, block: o.block, endgame: true });
  }
  return picks;
}

const priorityPasses = [PiecePriority.high, PiecePriority.normal] as const;
const noPasses: readonly (typeof PiecePriority.high | typeof PiecePriority.normal)[] = [];
const byFewestRequesters = (a: { requesters: number }, b: { requesters: number }): number => a.requesters - b.requesters;
