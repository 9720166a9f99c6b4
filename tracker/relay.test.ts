// The tracker's protocol logic without sockets: a MemoryStore, a virtual clock,
// a seeded random, and connections whose `send` records what they would receive.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { seededRandom } from "../core/random.ts";
import { defaultTrackerParseLimits, parseTrackerMessage, type TrackerMessage } from "../core/tracker-protocol.ts";
import { MemoryStore } from "./memory-store.ts";
import { Relay, type Connection, type RelayConfig } from "./relay.ts";

const config: RelayConfig = {
  announceIntervalMs: 120_000,
  offerTtlMs: 60_000,
  maxPendingOffersPerConnection: 64,
  maxSwarmsPerConnection: 8,
  maxQueuedMessagesPerConnection: 16,
  parseLimits: defaultTrackerParseLimits,
};

const id = (tag: string): string => tag.padEnd(20, "_").slice(0, 20);
const IH = id("swarm-one");
const IH2 = id("swarm-two");

interface Client {
  conn: Connection;
  inbox: TrackerMessage[];
  say(message: Record<string, unknown>): "ok" | "bad";
  take(): TrackerMessage[];
}

function setup(seed = 1, peerTtlMs = 180_000) {
  let now = 1_000;
  const clock = { nowMs: () => now };
  const store = new MemoryStore({ peerTtlMs, maxPeersPerSwarm: 1000 });
  const relay = new Relay(store, config, "p0", clock, seededRandom(seed));
  const client = (): Client => {
    const inbox: TrackerMessage[] = [];
    const conn = relay.open((text) => {
      const parsed = parseTrackerMessage(text);
      if (!parsed.ok) throw parsed.error;
      inbox.push(parsed.value);
    });
    return {
      conn,
      inbox,
      say: (message) => relay.handleText(conn, JSON.stringify(message)),
      take: () => inbox.splice(0, inbox.length),
    };
  };
  return { relay, store, client, advance: (ms: number) => (now += ms) };
}

const offers = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ offer: { type: "offer", sdp: `sdp-${tag}-${i}` }, offer_id: id(`${tag}-o${i}`) }));
const announce = (peer: string, extra: Record<string, unknown> = {}) => ({ action: "announce", info_hash: IH, peer_id: id(peer), numwant: 5, uploaded: 0, downloaded: 0, left: 100, ...extra });

describe("relay (tracker logic without sockets)", () => {
  it("answers an announce with interval and counts, and relays each offer to one other peer", () => {
    const t = setup();
    const peers = ["a", "b", "c", "d"].map(() => t.client());
    peers.forEach((p, i) => p.say(announce(`peer${i}`, { event: "started", left: i === 0 ? 0 : 100 })));
    for (const p of peers) p.take();
    const newcomer = t.client();
    newcomer.say(announce("new", { event: "started", offers: offers(3, "n") }));
    expect(newcomer.take()).toEqual([{ kind: "announce-response", infoHash: IH, intervalS: 120, complete: 1, incomplete: 4 }]);
    const received = peers.flatMap((p) => p.take());
    expect(received).toHaveLength(3);
    const offerIds = new Set(received.map((m) => (m.kind === "offer" ? m.offerId : "")));
    expect(offerIds.size).toBe(3);
    for (const m of received) expect(m).toMatchObject({ kind: "offer", peerId: id("new"), infoHash: IH });
    // one offer per peer at most
    for (const p of peers) expect(p.inbox.length).toBeLessThanOrEqual(1);
  });

  it("relays an answer back to the offerer only when it matches an offer relayed to the answerer", () => {
    const t = setup();
    const a = t.client();
    const b = t.client();
    const mallory = t.client();
    b.say(announce("b", { event: "started" }));
    mallory.say(announce("m", { event: "started", info_hash: IH2 }));
    a.say(announce("a", { event: "started", offers: offers(1, "a") }));
    a.take();
    const [offer] = b.take().filter((m) => m.kind === "offer");
    expect(offer).toMatchObject({ kind: "offer", peerId: id("a"), offerId: id("a-o0") });

    // Mallory never received that offer: her answer is refused, A hears nothing.
    expect(mallory.say({ action: "announce", info_hash: IH, peer_id: id("m"), to_peer_id: id("a"), offer_id: id("a-o0"), answer: { type: "answer", sdp: "evil" } })).toBe("ok");
    expect(mallory.take().at(-1)).toMatchObject({ kind: "failure", action: "announce", infoHash: IH });
    // B answers with the wrong offer id: refused.
    b.say({ action: "announce", info_hash: IH, peer_id: id("b"), to_peer_id: id("a"), offer_id: id("nope"), answer: { type: "answer", sdp: "x" } });
    expect(b.take()).toEqual([{ kind: "failure", action: "announce", infoHash: IH, reason: expect.stringContaining("Could not find the offer") }]);
    expect(a.take()).toEqual([]);
    // B answers correctly: A gets it, and nothing is sent back to B.
    b.say({ action: "announce", info_hash: IH, peer_id: id("b"), to_peer_id: id("a"), offer_id: id("a-o0"), answer: { type: "answer", sdp: "good" } });
    expect(a.take()).toEqual([{ kind: "answer", infoHash: IH, peerId: id("b"), offerId: id("a-o0"), answer: { type: "answer", sdp: "good" } }]);
    expect(b.take()).toEqual([]);
    // The same answer twice is refused: one answer per offer.
    b.say({ action: "announce", info_hash: IH, peer_id: id("b"), to_peer_id: id("a"), offer_id: id("a-o0"), answer: { type: "answer", sdp: "good" } });
    expect(a.take()).toEqual([]);
    expect(t.relay.counters.answersRelayed).toBe(1);
    expect(t.relay.counters.answersRefused).toBe(3);
  });

  it("refuses an answer to an offer that has expired", () => {
    const t = setup();
    const a = t.client();
    const b = t.client();
    b.say(announce("b", { event: "started" }));
    a.say(announce("a", { event: "started", offers: offers(1, "a") }));
    t.advance(config.offerTtlMs + 1);
    b.say({ action: "announce", info_hash: IH, peer_id: id("b"), to_peer_id: id("a"), offer_id: id("a-o0"), answer: { type: "answer", sdp: "late" } });
    expect(a.take().filter((m) => m.kind === "answer")).toEqual([]);
  });

  it("lets no other connection speak for a peer_id, and no connection use two peer_ids in one swarm", () => {
    const t = setup();
    const a = t.client();
    const thief = t.client();
    a.say(announce("a", { event: "started" }));
    thief.say(announce("a", { event: "stopped" }));
    expect(thief.take()).toEqual([{ kind: "failure", action: "announce", infoHash: IH, reason: "this peer_id is announced by another connection" }]);
    expect(t.store.scrape([IH as never])[0]).toMatchObject({ incomplete: 1 });
    a.say(announce("a2", { event: "started" }));
    expect(a.take().at(-1)).toMatchObject({ kind: "failure", reason: expect.stringContaining("one peer_id per swarm per connection") });
  });

  it("relays at most 10 offers of one announce and warns about the rest", () => {
    const t = setup();
    const peers = Array.from({ length: 15 }, () => t.client());
    peers.forEach((p, i) => p.say(announce(`p${i}`, { event: "started" })));
    const a = t.client();
    a.say(announce("a", { event: "started", offers: offers(12, "a") }));
    expect(a.take()).toEqual([expect.objectContaining({ kind: "announce-response", warning: "only the first 10 offers were relayed" })]);
    const relayed = peers.flatMap((p) => p.inbox.filter((m) => m.kind === "offer"));
    expect(relayed).toHaveLength(10);
  });

  it("sends a seeder's offers to leechers only", () => {
    const t = setup();
    const seeders = [t.client(), t.client()];
    seeders.forEach((s, i) => s.say(announce(`s${i}`, { left: 0, event: "started" })));
    const leecher = t.client();
    leecher.say(announce("l", { event: "started" }));
    const s = t.client();
    s.say(announce("s", { left: 0, offers: offers(5, "s") }));
    expect(leecher.inbox.filter((m) => m.kind === "offer")).toHaveLength(1);
    for (const x of seeders) expect(x.inbox.filter((m) => m.kind === "offer")).toHaveLength(0);
  });

  it("counts started, completed and stopped, scrapes one or many swarms, and frees empty swarms", () => {
    const t = setup();
    const a = t.client();
    const b = t.client();
    a.say(announce("a", { event: "started" }));
    b.say(announce("b", { event: "started" }));
    b.say(announce("b", { event: "completed", left: 0 }));
    expect(b.take().at(-1)).toMatchObject({ complete: 1, incomplete: 1 });
    a.say({ action: "scrape", info_hash: [IH, IH2] });
    expect(a.take().at(-1)).toEqual({
      kind: "scrape-response",
      files: new Map([
        [IH, { complete: 1, incomplete: 1, downloaded: 1 }],
        [IH2, { complete: 0, incomplete: 0, downloaded: 0 }],
      ]),
    });
    a.say(announce("a", { event: "stopped" }));
    expect(a.take().at(-1)).toMatchObject({ kind: "announce-response", complete: 1, incomplete: 0 });
    t.relay.close(b.conn);
    expect(t.store.stats()).toEqual({ swarms: 0, peers: 0, seeders: 0, leechers: 0 });
  });

  it("drops peers that stop announcing once their TTL has passed", () => {
    const t = setup(3, 10_000);
    const a = t.client();
    const b = t.client();
    a.say(announce("a", { event: "started" }));
    b.say(announce("b", { event: "started" }));
    t.advance(6_000);
    b.say(announce("b"));
    t.advance(6_000);
    t.relay.sweep();
    expect(t.store.stats()).toEqual({ swarms: 1, peers: 1, seeders: 0, leechers: 1 });
    t.advance(6_000);
    t.relay.sweep();
    expect(t.store.stats().swarms).toBe(0);
  });

  it("answers bad input with a failure reason and reports it as bad", () => {
    const t = setup();
    const a = t.client();
    expect(t.relay.handleText(a.conn, "{not json")).toBe("bad");
    expect(a.take()).toEqual([{ kind: "failure", reason: "message is not valid JSON" }]);
    expect(a.say({ action: "announce", info_hash: IH, peer_id: "short" })).toBe("bad");
    expect(a.take()).toEqual([{ kind: "failure", action: "announce", infoHash: IH, reason: expect.stringContaining("peer_id") }]);
  });

  it("keeps counts equal to a recount under any sequence of announces, answers and closes (seeded)", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.array(
          fc.tuple(fc.nat({ max: 5 }), fc.nat({ max: 3 }), fc.constantFrom("started", "completed", "stopped", "update", "answer", "close", "tick"), fc.nat({ max: 4 })),
          { maxLength: 60 },
        ),
        (seed, ops) => {
          const t = setup(seed, 30_000);
          const clients = Array.from({ length: 6 }, () => t.client());
          const swarms = [IH, IH2, id("s3"), id("s4")];
          let answersSent = 0;
          for (const [c, s, op, k] of ops) {
            const cl = clients[c]!;
            if (cl.conn.closed) continue;
            const infoHash = swarms[s]!;
            if (op === "close") t.relay.close(cl.conn);
            else if (op === "tick") {
              t.advance(k * 10_000);
              t.relay.sweep();
            }
            else if (op === "answer") {
              const offer = cl.inbox.find((m) => m.kind === "offer");
              if (offer && offer.kind === "offer") {
                cl.say({ action: "announce", info_hash: offer.infoHash, peer_id: id(`c${c}`), to_peer_id: offer.peerId, offer_id: offer.offerId, answer: { type: "answer", sdp: "a" } });
                answersSent++;
              }
            } else cl.say({ action: "announce", info_hash: infoHash, peer_id: id(`c${c}`), left: op === "completed" ? 0 : k * 10, event: op, offers: offers(k, `c${c}`) });
          }
          let peers = 0;
          let seeders = 0;
          for (const [, swarm] of t.store.table) {
            expect(swarm.ids.length).toBe(swarm.peers.size);
            expect(swarm.ids.length).toBeGreaterThan(0);
            peers += swarm.peers.size;
            for (const e of swarm.peers.values()) if (e.seeder) seeders++;
            swarm.ids.forEach((pid, i) => expect(swarm.peers.get(pid)!.index).toBe(i));
          }
          expect(t.store.stats()).toEqual({ swarms: t.store.table.size, peers, seeders, leechers: peers - seeders });
          expect(t.relay.counters.answersRelayed).toBeLessThanOrEqual(answersSent);
        },
      ),
      { numRuns: 200 },
    );
  });
});
