// Swarm state transitions of the tracker, pure: no sockets, no timers, no
// global randomness. Time (`nowMs`) and a seeded `Random` are passed in, so
// every transition is replayable in tests (the aquatic_ws model: swarm code
// takes its clock, its random generator and returns what to send).
//
// Two pieces of state live here:
// - the swarm table (infohash -> peers), used by the in-memory store;
// - the pending-offer map of one connection: offers this tracker relayed TO that
//   connection, so that an answer from it is relayed only when it matches one
//   (aquatic_ws rule: "relay an answer only if it matches an offer it relayed").
import type { Random } from "../core/random.ts";
import type { AnnounceEvent, ScrapeCounts, WireInfoHash, WireOfferId, WirePeerId } from "../core/tracker-protocol.ts";

declare const connKeyBrand: unique symbol;
/** Where a connection lives: "<process id>:<connection number>", unique across tracker processes. */
export type ConnKey = string & { readonly [connKeyBrand]: "ConnKey" };

export function connKey(processId: string, connectionNumber: number): ConnKey {
  return `${processId}:${connectionNumber}` as ConnKey;
}

/** Splits a ConnKey; null when it is not "<process id>:<non-negative integer>". */
export function parseConnKey(key: string): { processId: string; connectionNumber: number } | null {
  const i = key.lastIndexOf(":");
  if (i <= 0) return null;
  const n = Number(key.slice(i + 1));
  if (!Number.isSafeInteger(n) || n < 0) return null;
  return { processId: key.slice(0, i), connectionNumber: n };
}

export interface PeerEntry {
  conn: ConnKey;
  seeder: boolean;
  expiresAtMs: number;
  /** Position in Swarm.ids, for O(1) removal and random picks. */
  index: number;
}

export interface Swarm {
  peers: Map<WirePeerId, PeerEntry>;
  /** The same peer ids as an array, so a random peer is one index away (like aquatic's IndexMap). */
  ids: WirePeerId[];
  seeders: number;
  /** `completed` events seen (scrape's `downloaded`). */
  completed: number;
}

export type SwarmTable = Map<WireInfoHash, Swarm>;

export interface SwarmLimits {
  /** A peer that has not announced for this long is dropped (aquatic_ws: 180 s). */
  peerTtlMs: number;
  /** New peers beyond this are refused, so one swarm's memory stays bounded. */
  maxPeersPerSwarm: number;
}

export interface AnnounceInput {
  infoHash: WireInfoHash;
  peerId: WirePeerId;
  conn: ConnKey;
  event: AnnounceEvent;
  /** Bytes left; 0 = seeder, null = unknown (keeps the previous status). */
  left: number | null;
}

export type AnnounceRefusal = "peer-id-taken" | "swarm-full";

export type AnnounceOutcome =
  | { ok: true; complete: number; incomplete: number; seeder: boolean; member: boolean }
  | { ok: false; refusal: AnnounceRefusal };

export const refusalReasons: Record<AnnounceRefusal, string> = {
  "peer-id-taken": "this peer_id is announced by another connection",
  "swarm-full": "this swarm is full",
};

export interface OfferTarget {
  peerId: WirePeerId;
  conn: ConnKey;
}

function counts(swarm: Swarm | undefined): { complete: number; incomplete: number } {
  if (!swarm) return { complete: 0, incomplete: 0 };
  return { complete: swarm.seeders, incomplete: swarm.ids.length - swarm.seeders };
}

function removeFromSwarm(table: SwarmTable, infoHash: WireInfoHash, swarm: Swarm, peerId: WirePeerId, entry: PeerEntry): void {
  swarm.peers.delete(peerId);
  const last = swarm.ids.pop()!;
  if (last !== peerId) {
    swarm.ids[entry.index] = last;
    swarm.peers.get(last)!.index = entry.index;
  }
  if (entry.seeder) swarm.seeders--;
  // Empty swarms are freed at once (aquatic_ws frees them in its cleaning pass).
  if (swarm.ids.length === 0) table.delete(infoHash);
}

/**
 * Applies one announce to the table: join, update, complete or leave.
 * BEP 3 events: `started` joins, `completed` marks a seeder, `stopped` leaves,
 * none is a regular update; `left: 0` also means seeder.
 * One peer_id per swarm belongs to one connection: another connection cannot
 * speak for it until it leaves or expires (aquatic_ws).
 */
export function applyAnnounce(table: SwarmTable, input: AnnounceInput, nowMs: number, limits: SwarmLimits): AnnounceOutcome {
  let swarm = table.get(input.infoHash);
  const existing = swarm?.peers.get(input.peerId);
  if (existing && existing.conn !== input.conn && existing.expiresAtMs > nowMs) return { ok: false, refusal: "peer-id-taken" };

  if (input.event === "stopped") {
    if (swarm && existing) removeFromSwarm(table, input.infoHash, swarm, input.peerId, existing);
    return { ok: true, ...counts(table.get(input.infoHash)), seeder: false, member: false };
  }

  const seeder = input.event === "completed" || input.left === 0 ? true : input.left === null ? (existing?.seeder ?? false) : false;
  const expiresAtMs = nowMs + limits.peerTtlMs;
  if (existing) {
    if (existing.seeder !== seeder) swarm!.seeders += seeder ? 1 : -1;
    if (input.event === "completed" && !existing.seeder) swarm!.completed++;
    existing.seeder = seeder;
    existing.conn = input.conn;
    existing.expiresAtMs = expiresAtMs;
    return { ok: true, ...counts(swarm), seeder, member: true };
  }
  if (swarm && swarm.ids.length >= limits.maxPeersPerSwarm) return { ok: false, refusal: "swarm-full" };
  if (!swarm) {
    swarm = { peers: new Map(), ids: [], seeders: 0, completed: 0 };
    table.set(input.infoHash, swarm);
  }
  swarm.peers.set(input.peerId, { conn: input.conn, seeder, expiresAtMs, index: swarm.ids.length });
  swarm.ids.push(input.peerId);
  if (seeder) swarm.seeders++;
  if (input.event === "completed") swarm.completed++;
  return { ok: true, ...counts(swarm), seeder, member: true };
}

/**
 * Chooses up to `count` distinct peers to receive one offer each: never the
 * announcer itself, and never a seeder when the announcer is a seeder (two
 * seeders have nothing to trade; aquatic_ws does the same).
 */
export function pickOfferTargets(
  table: SwarmTable,
  infoHash: WireInfoHash,
  self: WirePeerId,
  selfIsSeeder: boolean,
  count: number,
  random: Random,
): OfferTarget[] {
  const swarm = table.get(infoHash);
  if (!swarm || count <= 0) return [];
  const eligible = (id: WirePeerId): boolean => id !== self && !(selfIsSeeder && swarm.peers.get(id)!.seeder);
  const n = swarm.ids.length;
  const chosen: WirePeerId[] = [];
  if (n <= count * 3 + 1) {
    const candidates = swarm.ids.filter(eligible);
    // Partial Fisher-Yates: the first `count` are a uniform random sample.
    const take = Math.min(count, candidates.length);
    for (let i = 0; i < take; i++) {
      const j = i + random.int(candidates.length - i);
      const t = candidates[i]!;
      candidates[i] = candidates[j]!;
      candidates[j] = t;
      chosen.push(candidates[i]!);
    }
  } else {
    // Large swarm: random probes, bounded, so an announce costs O(count) not O(swarm).
    const seen = new Set<WirePeerId>();
    for (let attempts = count * 6; attempts > 0 && chosen.length < count; attempts--) {
      const id = swarm.ids[random.int(n)]!;
      if (seen.has(id)) continue;
      seen.add(id);
      if (eligible(id)) chosen.push(id);
    }
  }
  return chosen.map((peerId) => ({ peerId, conn: swarm.peers.get(peerId)!.conn }));
}

/** Removes a peer when `conn` still owns it (a closed connection leaves its swarms). */
export function removePeer(table: SwarmTable, infoHash: WireInfoHash, peerId: WirePeerId, conn: ConnKey): boolean {
  const swarm = table.get(infoHash);
  const entry = swarm?.peers.get(peerId);
  if (!swarm || !entry || entry.conn !== conn) return false;
  removeFromSwarm(table, infoHash, swarm, peerId, entry);
  return true;
}

/** Drops every peer whose TTL has passed and frees empty swarms; returns how many peers went. */
export function expirePeers(table: SwarmTable, nowMs: number): number {
  let removed = 0;
  for (const [infoHash, swarm] of table) {
    for (const [peerId, entry] of swarm.peers) {
      if (entry.expiresAtMs <= nowMs) {
        removeFromSwarm(table, infoHash, swarm, peerId, entry);
        removed++;
      }
    }
  }
  return removed;
}

export function scrapeCounts(table: SwarmTable, infoHash: WireInfoHash): ScrapeCounts {
  const swarm = table.get(infoHash);
  return { ...counts(swarm), downloaded: swarm?.completed ?? 0 };
}

export interface SwarmStats {
  swarms: number;
  peers: number;
  seeders: number;
  leechers: number;
}

export function tableStats(table: SwarmTable): SwarmStats {
  let peers = 0;
  let seeders = 0;
  for (const swarm of table.values()) {
    peers += swarm.ids.length;
    seeders += swarm.seeders;
  }
  return { swarms: table.size, peers, seeders, leechers: peers - seeders };
}

// ------------------------------------------------------------ pending offers

/** An offer this tracker relayed to a connection, waiting for that connection's answer. */
export interface PendingOffer {
  infoHash: WireInfoHash;
  /** The peer the offer was relayed to (the expected answerer). */
  targetPeerId: WirePeerId;
  offererPeerId: WirePeerId;
  offererConn: ConnKey;
  expiresAtMs: number;
}

/** Offers relayed to one connection, keyed by offer_id + offerer peer_id, oldest first. */
export type PendingOffers = Map<string, PendingOffer>;

/**
 * Remembers an offer relayed to a connection. Bounded: past `maxPending` the
 * oldest is forgotten (its answer would then be refused), so a connection that
 * never answers cannot grow the tracker's memory.
 */
export function rememberOffer(pending: PendingOffers, offerId: WireOfferId, offer: PendingOffer, maxPending: number): void {
  const key = offerId + offer.offererPeerId;
  pending.delete(key);
  pending.set(key, offer);
  while (pending.size > maxPending) {
    const oldest = pending.keys().next().value;
    if (oldest === undefined) break;
    pending.delete(oldest);
  }
}

/**
 * Takes the pending offer an answer refers to: same offer_id, offered by
 * `toPeerId`, in this swarm, relayed to this answerer, and not expired.
 * Returns null when none matches; a match is consumed (one answer per offer).
 */
export function takeOfferForAnswer(
  pending: PendingOffers,
  answer: { infoHash: WireInfoHash; peerId: WirePeerId; toPeerId: WirePeerId; offerId: WireOfferId },
  nowMs: number,
): PendingOffer | null {
  const key = answer.offerId + answer.toPeerId;
  const offer = pending.get(key);
  if (!offer) return null;
  if (offer.expiresAtMs <= nowMs) {
    pending.delete(key);
    return null;
  }
  if (offer.infoHash !== answer.infoHash || offer.targetPeerId !== answer.peerId) return null;
  pending.delete(key);
  return offer;
}

/** Forgets expired offers; returns how many went. */
export function expireOffers(pending: PendingOffers, nowMs: number): number {
  let removed = 0;
  for (const [key, offer] of pending) {
    if (offer.expiresAtMs <= nowMs) {
      pending.delete(key);
      removed++;
    }
  }
  return removed;
}
