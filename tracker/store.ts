// The swarm store: membership and counts of every swarm. One interface, two
// implementations: MemoryStore (one process, the embedded default) and
// RedisStore (several tracker processes share swarms through Redis).
//
// Methods may answer synchronously (memory) or with a promise (Redis); callers
// handle both so the in-memory path pays no promise per message.
import type { Random } from "../core/random.ts";
import type { ScrapeCounts, WireInfoHash, WirePeerId } from "../core/tracker-protocol.ts";
import type { AnnounceInput, AnnounceOutcome, ConnKey, OfferTarget, SwarmStats } from "./swarm-logic.ts";

export type MaybePromise<T> = T | Promise<T>;

export interface StoreAnnounceInput extends AnnounceInput {
  /** How many offers the announce carries: up to this many targets are chosen. */
  offerCount: number;
}

export type StoreAnnounceOutcome = (AnnounceOutcome & { ok: false }) | (AnnounceOutcome & { ok: true; targets: OfferTarget[] });

export interface SwarmStore {
  /** Applies an announce (BEP 3 event semantics) and picks the peers its offers go to. */
  announce(input: StoreAnnounceInput, nowMs: number, random: Random): MaybePromise<StoreAnnounceOutcome>;
  /** Removes a peer if `conn` still owns it (the connection closed). */
  leave(infoHash: WireInfoHash, peerId: WirePeerId, conn: ConnKey): MaybePromise<void>;
  scrape(infoHashes: readonly WireInfoHash[], nowMs: number): MaybePromise<ScrapeCounts[]>;
  /** Drops peers past their TTL and frees empty swarms. */
  sweep(nowMs: number): MaybePromise<void>;
  stats(): MaybePromise<SwarmStats>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  override name = "StoreError";
}

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
