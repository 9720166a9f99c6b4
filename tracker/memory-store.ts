// The embedded swarm store: the pure swarm table of swarm-logic.ts in this
// process's memory. Synchronous, so the single-process tracker pays no promise
// per message.
import type { Random } from "../core/random.ts";
import type { ScrapeCounts, WireInfoHash, WirePeerId } from "../core/tracker-protocol.ts";
import {
  applyAnnounce,
  expirePeers,
  pickOfferTargets,
  removePeer,
  scrapeCounts,
  tableStats,
  type ConnKey,
  type SwarmLimits,
  type SwarmStats,
  type SwarmTable,
} from "./swarm-logic.ts";
import type { StoreAnnounceInput, StoreAnnounceOutcome, SwarmStore } from "./store.ts";

export class MemoryStore implements SwarmStore {
  readonly table: SwarmTable = new Map();
  constructor(private readonly limits: SwarmLimits) {}

  announce(input: StoreAnnounceInput, nowMs: number, random: Random): StoreAnnounceOutcome {
    const outcome = applyAnnounce(this.table, input, nowMs, this.limits);
    if (!outcome.ok) return outcome;
    const targets = outcome.member && input.offerCount > 0 ? pickOfferTargets(this.table, input.infoHash, input.peerId, outcome.seeder, input.offerCount, random) : [];
    return { ...outcome, targets };
  }

  leave(infoHash: WireInfoHash, peerId: WirePeerId, conn: ConnKey): void {
    removePeer(this.table, infoHash, peerId, conn);
  }

  scrape(infoHashes: readonly WireInfoHash[]): ScrapeCounts[] {
    return infoHashes.map((h) => scrapeCounts(this.table, h));
  }

  sweep(nowMs: number): void {
    expirePeers(this.table, nowMs);
  }

  stats(): SwarmStats {
    return tableStats(this.table);
  }

  async close(): Promise<void> {
    this.table.clear();
  }
}
