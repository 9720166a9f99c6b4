import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { seededRandom } from "../core/random.ts";
import type { WireInfoHash, WireOfferId, WirePeerId } from "../core/tracker-protocol.ts";
import {
  applyAnnounce,
  connKey,
  parseConnKey,
  pickOfferTargets,
  rememberOffer,
  takeOfferForAnswer,
  type SwarmTable,
} from "./swarm-logic.ts";

const ih = "i".repeat(20) as WireInfoHash;
const pid = (n: number): WirePeerId => `peer-${n}`.padEnd(20, ".") as WirePeerId;
const limits = { peerTtlMs: 60_000, maxPeersPerSwarm: 100_000 };

function swarmOf(size: number, seederEvery: number): SwarmTable {
  const table: SwarmTable = new Map();
  for (let i = 0; i < size; i++) {
    applyAnnounce(table, { infoHash: ih, peerId: pid(i), conn: connKey("p", i), event: "started", left: seederEvery > 0 && i % seederEvery === 0 ? 0 : 5 }, 0, limits);
  }
  return table;
}

describe("swarm logic", () => {
  it("picks distinct offer targets, never the announcer, never seeder-to-seeder, in small and large swarms", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 12 }), fc.integer(), (size, seederEvery, count, seed) => {
        const table = swarmOf(size, seederEvery);
        const self = pid(0);
        const selfSeeder = table.get(ih)!.peers.get(self)!.seeder;
        const targets = pickOfferTargets(table, ih, self, selfSeeder, count, seededRandom(seed));
        expect(targets.length).toBeLessThanOrEqual(count);
        expect(new Set(targets.map((t) => t.peerId)).size).toBe(targets.length);
        for (const t of targets) {
          expect(t.peerId).not.toBe(self);
          if (selfSeeder) expect(table.get(ih)!.peers.get(t.peerId)!.seeder).toBe(false);
          expect(t.conn).toBe(table.get(ih)!.peers.get(t.peerId)!.conn);
        }
        // In a small swarm every eligible peer is reachable: the sample is as large as it can be.
        if (size <= count * 3 + 1) {
          const eligible = [...table.get(ih)!.peers].filter(([id, e]) => id !== self && !(selfSeeder && e.seeder)).length;
          expect(targets.length).toBe(Math.min(count, eligible));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("spreads offers over the swarm (each peer of 20 is picked roughly equally often)", () => {
    const table = swarmOf(21, 0);
    const random = seededRandom(42);
    const hits = new Map<string, number>();
    for (let i = 0; i < 4000; i++) for (const t of pickOfferTargets(table, ih, pid(0), false, 5, random)) hits.set(t.peerId, (hits.get(t.peerId) ?? 0) + 1);
    expect(hits.size).toBe(20);
    for (const n of hits.values()) expect(n).toBeGreaterThan(1000 * 0.85);
    for (const n of hits.values()) expect(n).toBeLessThan(1000 * 1.15);
  });

  it("refuses new peers past maxPeersPerSwarm", () => {
    const table: SwarmTable = new Map();
    const small = { peerTtlMs: 1000, maxPeersPerSwarm: 2 };
    expect(applyAnnounce(table, { infoHash: ih, peerId: pid(1), conn: connKey("p", 1), event: "started", left: 1 }, 0, small).ok).toBe(true);
    expect(applyAnnounce(table, { infoHash: ih, peerId: pid(2), conn: connKey("p", 2), event: "started", left: 1 }, 0, small).ok).toBe(true);
    expect(applyAnnounce(table, { infoHash: ih, peerId: pid(3), conn: connKey("p", 3), event: "started", left: 1 }, 0, small)).toEqual({ ok: false, refusal: "swarm-full" });
  });

  it("lets a peer_id be taken over only after it expired", () => {
    const table: SwarmTable = new Map();
    applyAnnounce(table, { infoHash: ih, peerId: pid(1), conn: connKey("p", 1), event: "started", left: 1 }, 0, limits);
    expect(applyAnnounce(table, { infoHash: ih, peerId: pid(1), conn: connKey("p", 2), event: "started", left: 1 }, 59_999, limits).ok).toBe(false);
    expect(applyAnnounce(table, { infoHash: ih, peerId: pid(1), conn: connKey("p", 2), event: "started", left: 1 }, 60_000, limits).ok).toBe(true);
    expect(table.get(ih)!.peers.get(pid(1))!.conn).toBe(connKey("p", 2));
  });

  it("bounds pending offers per connection, forgetting the oldest", () => {
    const pending = new Map();
    for (let i = 0; i < 10; i++) {
      rememberOffer(pending, `offer-${i}`.padEnd(20, ".") as WireOfferId, { infoHash: ih, targetPeerId: pid(0), offererPeerId: pid(1), offererConn: connKey("p", 1), expiresAtMs: 100 }, 4);
    }
    expect(pending.size).toBe(4);
    const answer = (i: number) => ({ infoHash: ih, peerId: pid(0), toPeerId: pid(1), offerId: `offer-${i}`.padEnd(20, ".") as WireOfferId });
    expect(takeOfferForAnswer(pending, answer(0), 50)).toBeNull();
    expect(takeOfferForAnswer(pending, answer(9), 50)).not.toBeNull();
    expect(takeOfferForAnswer(pending, answer(8), 100)).toBeNull();
  });

  it("round-trips connection keys", () => {
    expect(parseConnKey(connKey("ab:cd", 17))).toEqual({ processId: "ab:cd", connectionNumber: 17 });
    expect(parseConnKey("nocolon")).toBeNull();
    expect(parseConnKey("x:-1")).toBeNull();
  });
});
