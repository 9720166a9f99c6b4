// The choker (Cohen 2003, "Incentives Build Robustness in BitTorrent"), as one
// pure function over peer snapshots with small named comparators (libtorrent's
// unchoke_sort):
//  - leeching: tit-for-tat. Unchoke the `uploadSlots` interested peers that
//    upload to us fastest (rolling rate), recomputed every rechoke interval;
//  - one optimistic unchoke rotated every `optimisticUnchokeIntervalMs`,
//    newly connected peers `newPeerOptimisticWeight` times likelier, or
//    ("least-progress") the candidate with the fewest pieces first;
//  - anti-snubbing: a peer that sent us no block for `snubTimeoutMs` loses its
//    regular slot (it may still be the optimistic unchoke);
//  - seeding: unchoke the peers we upload to fastest, or round-robin, or the
//    peers with the fewest pieces, each for at most a round-robin slot time
//    ("least-progress": the peers furthest behind, e.g. slow uplinks that
//    tit-for-tat serves last, finish sooner; the last finisher sets the
//    distribution time).
import type { Random } from "../random.ts";

export interface ChokerPeer {
  readonly key: string;
  readonly peerInterested: boolean;
  /** Rolling rate of payload the peer sends us, bytes/s. */
  readonly downloadRateBytesPerS: number;
  /** Rolling rate of payload we send the peer, bytes/s. */
  readonly uploadRateBytesPerS: number;
  /** Payload the peer has ever sent us, bytes (reciprocation history: breaks rate ties). */
  readonly downloadedBytes: number;
  /** Payload we have ever sent the peer, bytes (with downloadedBytes: did it ever reciprocate?). */
  readonly uploadedBytes: number;
  /** We have been interested in the peer (it had pieces we wanted, so it could have reciprocated). */
  readonly couldReciprocate: boolean;
  /** Pieces the peer has announced (least-progress seeding). */
  readonly pieces: number;
  readonly snubbed: boolean;
  readonly connectedAtMs: number;
  readonly amChoking: boolean;
  /** When we last unchoked this peer (null: never); used by round-robin seeding. */
  readonly unchokedSinceMs: number | null;
  /** When this peer last lost its unchoke (null: never); round-robin serves the longest-waiting first. */
  readonly lastChokedAtMs: number | null;
}

export interface ChokerSettings {
  /** Regular slots ("fixed"), or the fewest regular slots ("rate-based"). */
  readonly uploadSlots: number;
  /**
   * "rate-based" (libtorrent's rate_based_choker idea): open as many regular
   * slots as there are unchoked peers whose upload rate from us clears a
   * threshold that rises by `slotRateStepBytesPerS` per slot, plus one to
   * probe; at least `uploadSlots`, at most `maxUploadSlots`. A fast uplink
   * whose few receivers cannot take all it offers thus opens more slots.
   */
  readonly uploadSlotsMode: "fixed" | "rate-based";
  readonly slotRateStepBytesPerS: number;
  readonly maxUploadSlots: number;
  readonly optimisticUnchokeIntervalMs: number;
  readonly seedChoking: "fastest-upload" | "round-robin" | "least-progress";
  readonly newPeerOptimisticWeight: number;
  readonly newPeerWindowMs: number;
  readonly seedRoundRobinSlotMs: number;
  /** 1 as in Cohen 2003; 0 turns the optimistic unchoke off. */
  readonly optimisticUnchokeSlots: number;
  /**
   * Tit-for-tat proper: a leecher's regular slot goes only to a peer that has
   * sent us data (or is still new); others can only win the optimistic slot.
   */
  readonly regularSlotsNeedReciprocation: boolean;
  /** A newly connected peer may hold a regular slot this long before it must have sent us data. */
  readonly reciprocationGraceMs: number;
  /**
   * Optimistic unchoke: a peer we have sent at least `unreciprocatedAfterBytes`
   * that never sent us anything (a free-rider) has this weight instead of 1 or
   * `newPeerOptimisticWeight` (0..1: it already had its chance), and its
   * optimistic turn ends at the next rechoke.
   */
  readonly unreciprocatedOptimisticWeight: number;
  readonly unreciprocatedAfterBytes: number;
  /**
   * How a leecher picks a new optimistic unchoke: "random" (Cohen 2003,
   * weighted as above) or "least-progress": among the candidates with a
   * weight above 0, the one with the fewest pieces, ties by the weighted draw.
   */
  readonly optimisticUnchokeChoice: "random" | "least-progress";
}

/**
 * Eligible for a regular leecher slot: it has sent us something, or connected
 * recently (bootstrap) and has not yet taken `unreciprocatedAfterBytes` from us.
 */
export function reciprocates(p: ChokerPeer, nowMs: number, settings: ChokerSettings): boolean {
  return p.downloadedBytes > 0 || (nowMs - p.connectedAtMs < settings.reciprocationGraceMs && !neverReciprocated(p, settings));
}

/** The optimistic unchoke carried from one rechoke to the next. */
export interface OptimisticState {
  readonly key: string | null;
  readonly sinceMs: number;
}

export interface ChokeDecision {
  /** Peers to unchoke (regular and optimistic); every other peer is choked. */
  readonly unchoked: ReadonlySet<string>;
  readonly regular: readonly string[];
  readonly optimistic: OptimisticState;
  /** Regular slots this rechoke opened (uploadSlots, or more when rate-based). */
  readonly slots: number;
}

/** Regular slots for this rechoke: `uploadSlots`, or the rate-based count (see ChokerSettings). 0 slots stay 0 (no upload). */
export function regularSlotCount(peers: readonly ChokerPeer[], settings: ChokerSettings): number {
  if (settings.uploadSlotsMode !== "rate-based" || settings.uploadSlots === 0) return settings.uploadSlots;
  const rates = peers.filter((p) => !p.amChoking).map((p) => p.uploadRateBytesPerS);
  rates.sort((a, b) => b - a);
  let passing = 0;
  for (const r of rates) {
    if (r < settings.slotRateStepBytesPerS * (passing + 1)) break;
    passing++;
  }
  return Math.min(Math.max(settings.uploadSlots, settings.maxUploadSlots), Math.max(settings.uploadSlots, passing + 1));
}

// Named comparators; each ends with a deterministic tie-break on the key.
const byKey = (a: ChokerPeer, b: ChokerPeer): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
/**
 * Leecher tit-for-tat: who gives us the most now; among equal rates (often
 * zero) who has given us the most so far, so a free-rider never wins a tie
 * against a peer that reciprocated.
 */
export const byDownloadRateDesc = (a: ChokerPeer, b: ChokerPeer): number =>
  b.downloadRateBytesPerS - a.downloadRateBytesPerS || b.downloadedBytes - a.downloadedBytes || byKey(a, b);
/** Seed: who takes from us fastest (spreads the data quickest; Cohen 2003). */
export const byUploadRateDesc = (a: ChokerPeer, b: ChokerPeer): number => b.uploadRateBytesPerS - a.uploadRateBytesPerS || byKey(a, b);
/** Seed least-progress: the peer with the fewest pieces first; among equals, who takes from us fastest. */
export const byFewestPieces = (a: ChokerPeer, b: ChokerPeer): number => a.pieces - b.pieces || byUploadRateDesc(a, b);
/**
 * Seed round-robin: choked peers first, the one choked longest ago (or never
 * unchoked) first; peers still unchoked last, the one unchoked longest ago first.
 */
export const byLongestWaiting = (a: ChokerPeer, b: ChokerPeer): number => {
  if (a.amChoking !== b.amChoking) return a.amChoking ? -1 : 1;
  const ta = (a.amChoking ? a.lastChokedAtMs : a.unchokedSinceMs) ?? -1;
  const tb = (b.amChoking ? b.lastChokedAtMs : b.unchokedSinceMs) ?? -1;
  return ta - tb || byKey(a, b);
};

/**
 * One rechoke. `weAreSeed` selects seed mode. Pure: reads the snapshots, draws
 * from `random` only to choose a new optimistic unchoke.
 */
export function rechoke(
  peers: readonly ChokerPeer[],
  previous: OptimisticState,
  nowMs: number,
  weAreSeed: boolean,
  settings: ChokerSettings,
  random: Random,
): ChokeDecision {
  const interested = peers.filter((p) => p.peerInterested);
  const slots = regularSlotCount(peers, settings);
  let regular: ChokerPeer[];
  if (!weAreSeed) {
    // Anti-snubbing: a snubbing peer gets no regular slot.
    regular = interested
      .filter((p) => !p.snubbed && (!settings.regularSlotsNeedReciprocation || reciprocates(p, nowMs, settings)))
      .sort(byDownloadRateDesc)
      .slice(0, slots);
  } else if (settings.seedChoking === "fastest-upload") {
    regular = [...interested].sort(byUploadRateDesc).slice(0, slots);
  } else if (settings.seedChoking === "least-progress") {
    // Fewest pieces first, each for at most a round-robin slot time: a peer
    // whose time is up waits behind the others (no peer holds a seed for ever).
    const within = (p: ChokerPeer): boolean => !p.amChoking && p.unchokedSinceMs !== null && nowMs - p.unchokedSinceMs < settings.seedRoundRobinSlotMs;
    const expired = (p: ChokerPeer): boolean => !p.amChoking && !within(p);
    const keep = interested.filter(within).sort(byFewestPieces).slice(0, slots);
    const kept = new Set(keep.map((p) => p.key));
    const waiting = interested.filter((p) => !kept.has(p.key)).sort((a, b) => Number(expired(a)) - Number(expired(b)) || byFewestPieces(a, b));
    regular = [...keep, ...waiting.slice(0, slots - keep.length)];
  } else {
    // Round-robin: keep peers still within their slot time, fill the rest with the longest waiting.
    const keep = interested
      .filter((p) => !p.amChoking && p.unchokedSinceMs !== null && nowMs - p.unchokedSinceMs < settings.seedRoundRobinSlotMs)
      .sort(byLongestWaiting)
      .slice(0, slots);
    const kept = new Set(keep.map((p) => p.key));
    const waiting = interested.filter((p) => !kept.has(p.key)).sort(byLongestWaiting);
    regular = [...keep, ...waiting.slice(0, slots - keep.length)];
  }
  const regularKeys = regular.map((p) => p.key);
  const unchoked = new Set(regularKeys);

  // Optimistic unchoke: keep the current one for its interval if it is still a
  // candidate, unless it has taken `unreciprocatedAfterBytes` and never sent us
  // anything: its turn ends at this rechoke (a free-rider otherwise takes a
  // slot's full share for the whole interval).
  const candidates = interested.filter((p) => !unchoked.has(p.key));
  const held = previous.key === null ? undefined : candidates.find((p) => p.key === previous.key);
  const current = held !== undefined && !neverReciprocated(held, settings) ? held : undefined;
  const promoted = previous.key !== null && unchoked.has(previous.key);
  let optimistic: OptimisticState;
  if (settings.optimisticUnchokeSlots <= 0) {
    optimistic = { key: null, sinceMs: nowMs };
  } else if ((current !== undefined || promoted) && nowMs - previous.sinceMs < settings.optimisticUnchokeIntervalMs) {
    // Kept for its 30 s. When it earned a regular slot the optimistic slot stays
    // empty until the rotation: no extra unchoke mid-interval (which would
    // otherwise hand free-riders most optimistic time).
    optimistic = previous;
  } else {
    const chosen = pickOptimistic(candidates, previous.key, nowMs, settings, random);
    optimistic = { key: chosen?.key ?? null, sinceMs: nowMs };
  }
  if (optimistic.key !== null) unchoked.add(optimistic.key);
  return { unchoked, regular: regularKeys, optimistic, slots };
}

/**
 * A peer that took at least `unreciprocatedAfterBytes` from us and never sent
 * us anything although it has pieces we want (a free-rider; a peer with
 * nothing for us is not blamed).
 */
export function neverReciprocated(p: ChokerPeer, settings: ChokerSettings): boolean {
  return p.couldReciprocate && p.downloadedBytes === 0 && p.uploadedBytes >= settings.unreciprocatedAfterBytes;
}

/**
 * Weighted random pick: new peers count `newPeerOptimisticWeight` times, peers
 * that never reciprocated what we sent them `unreciprocatedOptimisticWeight`;
 * the previous pick is avoided when others exist.
 */
function pickOptimistic(
  candidates: readonly ChokerPeer[],
  previousKey: string | null,
  nowMs: number,
  settings: ChokerSettings,
  random: Random,
): ChokerPeer | undefined {
  const pool = candidates.length > 1 ? candidates.filter((p) => p.key !== previousKey) : candidates;
  if (pool.length === 0) return undefined;
  const sorted = [...pool].sort(byKey);
  const weight = (p: ChokerPeer): number =>
    neverReciprocated(p, settings) ? settings.unreciprocatedOptimisticWeight : nowMs - p.connectedAtMs < settings.newPeerWindowMs ? settings.newPeerOptimisticWeight : 1;
  let drawFrom = sorted;
  if (settings.optimisticUnchokeChoice === "least-progress") {
    let fewest = Infinity;
    for (const p of sorted) if (weight(p) > 0 && p.pieces < fewest) fewest = p.pieces;
    drawFrom = sorted.filter((p) => p.pieces === fewest);
  }
  let total = 0;
  for (const p of drawFrom) total += weight(p);
  // Only never-reciprocating peers left and their weight is 0: no optimistic unchoke.
  if (total <= 0) return undefined;
  let r = random.next() * total;
  for (const p of drawFrom) {
    r -= weight(p);
    if (r < 0) return p;
  }
  return drawFrom[drawFrom.length - 1];
}
