// The engine's settings: every number is named with its unit, and the paper or
// BEP it comes from is cited. EngineSettings (the public part) is declared in
// session-types.ts; the extra tuning knobs the algorithms use live here.
import type { EngineSettings } from "./session-types.ts";
import type { SuperSeedingMode } from "./super-seed.ts";

/** BEP 3 convention: blocks (sub-pieces) are 16 KiB. */
export const blockBytes = 16 * 1024;

export const defaultEngineSettings: EngineSettings = {
  // Cohen 2003: four regular tit-for-tat slots.
  uploadSlots: 4,
  // Cohen 2003: rechoke every 10 s.
  rechokeIntervalMs: 10_000,
  // Cohen 2003: rotate the optimistic unchoke every 30 s.
  optimisticUnchokeIntervalMs: 30_000,
  // Cohen 2003: no block for 60 s means the peer is snubbing us.
  snubTimeoutMs: 60_000,
  // Cohen 2003: rates are a rolling ~20 s average.
  rateWindowMs: 20_000,
  // "least-progress" (choker.ts) is the option for the heterogeneous tail; an initial seed uses initialSeedChoking.
  seedChoking: "fastest-upload",
  // Cohen 2003: random first piece(s) until a few are complete.
  randomFirstPieces: 4,
  // Cover 0.8 s of the peer's rate with requests in flight (libtorrent's
  // request_queue_time is 3 s; Cohen keeps about 5 in flight). Shorter queues
  // lock fewer pieces at one peer: in the simulator, 100 peers x 1,000 pieces
  // went from ratio 1.24 (3 s) to 1.16 (1 s) to 1.13 (0.8 s) to 1.12 (0.5 s).
  requestQueueTargetMs: 800,
  minRequestsInFlight: 2,
  maxRequestsInFlight: 250,
  requestTimeoutMs: 20_000,
  // A peer that contributed to this many pieces failing SHA-1 is banned.
  banAfterHashFailures: 2,
  // shared/design/protocols.md: keep a data channel's bufferedAmount under ~1 MiB.
  sendHighWaterBytes: 1024 * 1024,
  // BEP 3: keep-alives every two minutes keep idle connections open.
  keepAliveIntervalMs: 60_000,
  idleTimeoutMs: 180_000,
  // BEP 9 metadata is bounded; 8 MiB covers torrents with ~400k pieces.
  maxMetadataBytes: 8 * 1024 * 1024,
  uploadLimitBytesPerS: null,
};

/** Tuning knobs beyond EngineSettings, all with units. */
export interface EngineTuning {
  /**
   * Cohen 2003: a newly connected peer is this many times likelier to be
   * picked as the optimistic unchoke.
   */
  readonly newPeerOptimisticWeight: number;
  /** A peer counts as "new" for the optimistic weighting for this long. */
  readonly newPeerWindowMs: number;
  /** Seed round-robin: a peer keeps its slot this long before yielding it (libtorrent seeding_piece_quota, in time). */
  readonly seedRoundRobinSlotMs: number;
  /** Endgame (Cohen 2003): at most this many peers asked for the same block. */
  readonly endgameMaxRequestersPerBlock: number;
  /** Streaming (Carlsson & Eager 2007): pieces just ahead of the playhead picked in order. */
  readonly streamingWindowPieces: number;
  /** Streaming "portion" hybrid: beyond the window, pick in order with this probability (0..1), else rarest. */
  readonly streamingInOrderProbability: number;
  /** "fixed": `uploadSlots` regular slots; "rate-based": more while each added slot's peer takes enough (choker.ts). */
  readonly uploadSlotsMode: "fixed" | "rate-based";
  /** Rate-based slots: the n-th unchoked peer must take at least n times this from us to count, bytes/s. */
  readonly slotRateStepBytesPerS: number;
  /** Rate-based slots: never more regular slots than this. */
  readonly maxUploadSlots: number;
  /**
   * Seed choking of an engine that starts complete (the initial seed, the only
   * source of rare pieces: it serves who takes fastest, likely the fastest to
   * pass them on; least-progress would feed free-riders, who never do).
   * A leecher that finished uses `seedChoking`.
   */
  readonly initialSeedChoking: EngineSettings["seedChoking"];
  /**
   * Optimistic unchoke pick (choker.ts): "random" (Cohen 2003) or
   * "least-progress": the candidate with the fewest pieces (a newcomer, or a
   * peer whose few neighbours are all ahead of it: it has nothing they want,
   * so tit-for-tat never serves it and it finishes last). Peers that took
   * unreciprocatedAfterBytes and never sent anything back are not candidates
   * while unreciprocatedOptimisticWeight is 0, so free-riders gain one turn
   * per neighbour at most.
   */
  readonly optimisticUnchokeChoice: "random" | "least-progress";
  /** Optimistic unchoke slots (Cohen 2003: one). A free-rider in the simulator sets 0. */
  readonly optimisticUnchokeSlots: number;
  /** Piece selection after the random first pieces: rarest first (Cohen 2003) or random (a baseline for the simulator). */
  readonly pieceSelection: "rarest-first" | "random";
  /**
   * Say not-interested to a peer that unchokes us while nothing of it can be
   * requested (all its useful pieces are being fetched elsewhere), so its slot
   * goes to a peer that can use it; interested again once a pick is possible.
   */
  readonly releaseIdleSlots: boolean;
  /** Leecher regular slots only for peers that sent us data or are new (see choker.ts). */
  readonly regularSlotsNeedReciprocation: boolean;
  /** A new peer may hold a regular slot this long before it must have sent us data (one rechoke period). */
  readonly reciprocationGraceMs: number;
  /**
   * Optimistic unchoke weight (0..1) of a peer that took at least
   * `unreciprocatedAfterBytes` from us and never sent us anything: it had its
   * chance (a free-rider lives off optimistic unchokes otherwise). Such a
   * peer's optimistic turn also ends as soon as it crosses the limit.
   */
  readonly unreciprocatedOptimisticWeight: number;
  /** Bytes we send a peer before its lack of reciprocation counts, bytes. */
  readonly unreciprocatedAfterBytes: number;
  /** How many pieces to let BEP 6 allowed_fast give to each peer (0 disables). */
  readonly allowedFastCount: number;
  /** Largest request we serve (WebTorrent drops peers asking for more than 128 KiB). */
  readonly maxRequestBytes: number;
  /** Requests a peer may queue with us before we drop the extras (BEP 10 reqq). */
  readonly maxQueuedUploadRequests: number;
  /**
   * Super-seeding (BEP 16 idea, super-seed.ts): an initial seed reveals pieces
   * one `have` at a time so that its upload goes to distinct pieces. "auto"
   * stops once every piece is held by connected peers; "on" never stops.
   * Off by default: a share link reaches a handful of friends, where the seed
   * has no duplicate copies to save and revealing two pieces at a time would cap
   * a fast peer's pipeline (and show the sharer below 100 %). The simulator's
   * large flash crowds turn it on ("auto"), as a host seeding to many would.
   */
  readonly superSeeding: SuperSeedingMode;
  /**
   * Rates (RollingRate) correct the exponential average's start-up bias,
   * counting a meter at least this old, ms (null: the raw average, which
   * reads a steady rate at 63 % after half a rate window). Pipelines sized
   * from a peer's rate fill sooner, the choker compares new and old peers
   * fairly, and the UI shows a new peer's true rate. In the simulator,
   * 1,000 x 1,000 heavy-tailed, seeds 1-3: ratio 1.195 / 1.184 / 1.174 raw,
   * 1.171 / 1.139 / 1.173 corrected (1,000 ms and 2,000 ms alike).
   */
  readonly rateMinAgeMs: number | null;
  /** Super-seeding: revealed pieces an unchoked peer still lacks that we keep it, pieces. */
  readonly superSeedPiecesAhead: number;
  /** Super-seeding "auto": stop once every piece is held by at least this many connected peers, peers. */
  readonly superSeedStopCopies: number;
  /** Super-seeding: a revealed piece not announced by the peer after this long stops holding its place, ms. */
  readonly superSeedRevealTimeoutMs: number;
}

export const defaultEngineTuning: EngineTuning = {
  newPeerOptimisticWeight: 3,
  newPeerWindowMs: 60_000,
  seedRoundRobinSlotMs: 30_000,
  endgameMaxRequestersPerBlock: 3,
  streamingWindowPieces: 8,
  streamingInOrderProbability: 0.2,
  uploadSlotsMode: "rate-based",
  slotRateStepBytesPerS: 4 * 1024,
  maxUploadSlots: 50,
  initialSeedChoking: "fastest-upload",
  optimisticUnchokeSlots: 1,
  // Least progress: in the simulator (100 x 1,000, seeds 1-6) homogeneous
  // 1.075-1.248 -> 1.068-1.076, heavy-tailed 1.074-1.233 -> 1.071-1.169.
  optimisticUnchokeChoice: "least-progress",
  pieceSelection: "rarest-first",
  releaseIdleSlots: true,
  regularSlotsNeedReciprocation: true,
  reciprocationGraceMs: 10_000,
  unreciprocatedOptimisticWeight: 0,
  unreciprocatedAfterBytes: 64 * 1024,
  allowedFastCount: 0,
  maxRequestBytes: 128 * 1024,
  maxQueuedUploadRequests: 500,
  superSeeding: "off",
  rateMinAgeMs: 2_000,
  superSeedPiecesAhead: 2,
  superSeedStopCopies: 1,
  superSeedRevealTimeoutMs: 20_000,
};

export type FullSettings = EngineSettings & EngineTuning;

export function resolveSettings(overrides: Partial<FullSettings> = {}): FullSettings {
  const merged: FullSettings = { ...defaultEngineSettings, ...defaultEngineTuning, ...overrides };
  if (merged.uploadSlots < 0 || !Number.isInteger(merged.uploadSlots)) throw new RangeError("uploadSlots must be an integer >= 0");
  if (merged.minRequestsInFlight < 1 || merged.maxRequestsInFlight < merged.minRequestsInFlight) {
    throw new RangeError("need 1 <= minRequestsInFlight <= maxRequestsInFlight");
  }
  return merged;
}
