// Scale-out with Redis: a real redis-server on a free loopback port (started
// and stopped by pid), the RedisStore's semantics on a virtual clock, and two
// tracker processes that introduce peers to each other across processes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "redis";
import { seededRandom } from "../core/random.ts";
import type { WireInfoHash, WirePeerId } from "../core/tracker-protocol.ts";
import { haveRedisServer, startRedis, startTrackerProcess, type Child } from "./process-harness.ts";
import { livenessKey, RedisStore } from "./redis-store.ts";
import { haveReferenceTracker, haveWrtc, loadReferenceClient, loadWrtc, type ReferencePeer } from "./reference-peers.ts";
import { connKey } from "./swarm-logic.ts";
import { announceMsg, httpGet, id20, offerList, TestClient } from "./test-helpers.ts";

const available = haveRedisServer();

describe.skipIf(!available)("Redis scale-out", () => {
  let redis: Child & { url: string };
  let trackers: (Child & { port: number })[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    trackers = await Promise.all([
      startTrackerProcess(["--redis-url", redis.url, "--quiet"]),
      startTrackerProcess(["--redis-url", redis.url, "--quiet"]),
    ]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all(trackers.map((t) => t.stop()));
    await redis?.stop();
  });

  it("keeps membership and counts in Redis with the same rules as the memory store", async () => {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const store = new RedisStore(client, { peerTtlMs: 10_000, maxPeersPerSwarm: 3, keyPrefix: "unit:" });
      // Processes "x" and "y" are alive (their liveness keys exist).
      await Promise.all([client.set(livenessKey("x", "unit:"), "1"), client.set(livenessKey("y", "unit:"), "1")]);
      const ih = id20("redis-unit") as WireInfoHash;
      const peer = (n: number) => id20(`rp${n}`) as WirePeerId;
      const random = seededRandom(1);
      const base = { infoHash: ih, event: "started" as const, offerCount: 0 };
      expect(await store.announce({ ...base, peerId: peer(1), conn: connKey("x", 1), left: 0 }, 0, random)).toMatchObject({ ok: true, complete: 1, incomplete: 0 });
      expect(await store.announce({ ...base, peerId: peer(2), conn: connKey("x", 2), left: 5 }, 0, random)).toMatchObject({ ok: true, complete: 1, incomplete: 1 });
      expect(await store.announce({ ...base, peerId: peer(1), conn: connKey("y", 9), left: 0 }, 0, random)).toEqual({ ok: false, refusal: "peer-id-taken" });
      const withOffers = await store.announce({ ...base, peerId: peer(3), conn: connKey("x", 3), left: 5, offerCount: 5 }, 1000, random);
      if (!withOffers.ok) throw new Error("expected ok");
      expect(withOffers.targets.map((t) => t.peerId).sort()).toEqual([peer(1), peer(2)].sort());
      expect(withOffers.targets.find((t) => t.peerId === peer(1))?.conn).toBe(connKey("x", 1));
      expect(await store.announce({ ...base, peerId: peer(4), conn: connKey("x", 4), left: 5 }, 0, random)).toEqual({ ok: false, refusal: "swarm-full" });
      // A seeder's offers go to leechers only.
      const seederOffers = await store.announce({ ...base, event: "update", peerId: peer(1), conn: connKey("x", 1), left: 0, offerCount: 5 }, 2000, random);
      if (!seederOffers.ok) throw new Error("expected ok");
      expect(seederOffers.targets.map((t) => t.peerId).sort()).toEqual([peer(2), peer(3)].sort());
      await store.announce({ ...base, event: "completed", peerId: peer(3), conn: connKey("x", 3), left: 0 }, 3000, random);
      expect(await store.scrape([ih], 3000)).toEqual([{ complete: 2, incomplete: 1, downloaded: 1 }]);
      expect(await store.stats()).toEqual({ swarms: 1, peers: 3, seeders: 2, leechers: 1 });
      // Leave is refused for a connection that does not own the peer.
      await store.leave(ih, peer(2), connKey("y", 1));
      expect(await store.scrape([ih], 3000)).toEqual([{ complete: 2, incomplete: 1, downloaded: 1 }]);
      await store.leave(ih, peer(2), connKey("x", 2));
      // Peer 1 last announced at 2000 and peer 3 at 3000: at 12500 only peer 3 remains; at 13000 the swarm is freed.
      await store.sweep(12_500);
      expect(await store.stats()).toEqual({ swarms: 1, peers: 1, seeders: 1, leechers: 0 });
      await store.sweep(13_000);
      expect(await store.stats()).toEqual({ swarms: 0, peers: 0, seeders: 0, leechers: 0 });
      expect(await client.keys("unit:s:*")).toEqual([]);
    } finally {
      await client.del([livenessKey("x", "unit:"), livenessKey("y", "unit:")]);
      await client.quit();
    }
  });

  it("protects a peer_id held by a live process, and lets a dead process's be taken over at once", async () => {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const store = new RedisStore(client, { peerTtlMs: 600_000, maxPeersPerSwarm: 100, keyPrefix: "fo:" });
      const ih = id20("redis-failover") as WireInfoHash;
      const peer = (n: number) => id20(`fp${n}`) as WirePeerId;
      const random = seededRandom(2);
      const base = { infoHash: ih, event: "started" as const, offerCount: 0 };
      for (const proc of ["live", "dying", "thief"]) await client.set(livenessKey(proc, "fo:"), "1");
      expect(await store.announce({ ...base, peerId: peer(1), conn: connKey("live", 1), left: 5 }, 0, random)).toMatchObject({ ok: true });
      expect(await store.announce({ ...base, peerId: peer(2), conn: connKey("dying", 1), left: 0 }, 0, random)).toMatchObject({ ok: true });
      expect(await store.announce({ ...base, peerId: peer(3), conn: connKey("dying", 2), left: 5 }, 0, random)).toMatchObject({ ok: true });
      expect(await store.stats()).toEqual({ swarms: 1, peers: 3, seeders: 1, leechers: 2 });

      // While both processes live, neither's peer_ids can be claimed by another connection, of another process or the same one.
      expect(await store.announce({ ...base, peerId: peer(1), conn: connKey("thief", 1), left: 5 }, 1000, random)).toEqual({ ok: false, refusal: "peer-id-taken" });
      expect(await store.announce({ ...base, peerId: peer(2), conn: connKey("thief", 1), left: 5 }, 1000, random)).toEqual({ ok: false, refusal: "peer-id-taken" });
      expect(await store.announce({ ...base, event: "stopped", peerId: peer(1), conn: connKey("live", 2), left: 5 }, 1000, random)).toEqual({ ok: false, refusal: "peer-id-taken" });

      // "dying" dies (its liveness key lapses); "live" keeps its claim.
      await client.del(livenessKey("dying", "fo:"));
      expect(await store.announce({ ...base, peerId: peer(1), conn: connKey("thief", 1), left: 5 }, 2000, random)).toEqual({ ok: false, refusal: "peer-id-taken" });
      // A connection of a process whose own key lapsed cannot take over a sibling connection's peer either.
      await client.del(livenessKey("live", "fo:"));
      expect(await store.announce({ ...base, peerId: peer(1), conn: connKey("live", 7), left: 5 }, 2000, random)).toEqual({ ok: false, refusal: "peer-id-taken" });
      await client.set(livenessKey("live", "fo:"), "1");

      // The dead process's seeder moves to "thief" under its own peer_id: taken over, counted once.
      expect(await store.announce({ ...base, peerId: peer(2), conn: connKey("thief", 2), left: 0 }, 3000, random)).toMatchObject({ ok: true, complete: 1, incomplete: 2 });
      expect(await store.stats()).toEqual({ swarms: 1, peers: 3, seeders: 1, leechers: 2 });
      // Its new connection holds it now: the old one can no longer leave it, the new one is protected.
      await store.leave(ih, peer(2), connKey("dying", 1));
      expect(await store.stats()).toMatchObject({ peers: 3 });
      expect(await store.announce({ ...base, peerId: peer(2), conn: connKey("live", 3), left: 0 }, 3000, random)).toEqual({ ok: false, refusal: "peer-id-taken" });

      // Offers never go to the dead process's remaining member: it is dropped when picked (lazy cleaning).
      const offers = await store.announce({ ...base, peerId: peer(4), conn: connKey("live", 4), left: 5, offerCount: 10 }, 4000, random);
      if (!offers.ok) throw new Error("expected ok");
      expect(offers.targets.map((t) => t.peerId).sort()).toEqual([peer(1), peer(2)].sort());
      expect(offers).toMatchObject({ complete: 1, incomplete: 2 });
      expect(await store.stats()).toEqual({ swarms: 1, peers: 3, seeders: 1, leechers: 2 });
    } finally {
      await client.del([livenessKey("live", "fo:"), livenessKey("thief", "fo:"), livenessKey("dying", "fo:")]);
      await client.quit();
    }
  });

  it("introduces peers connected to different tracker processes", async () => {
    const [t1, t2] = trackers as [Child & { port: number }, Child & { port: number }];
    const IH = id20("cross-process");
    const a = await TestClient.open(`ws://127.0.0.1:${t1.port}/announce`);
    const b = await TestClient.open(`ws://127.0.0.1:${t2.port}/announce`);
    a.send(announceMsg(IH, id20("proc-a"), { event: "started" }));
    expect(await a.next((m) => m.kind === "announce-response")).toMatchObject({ incomplete: 1 });
    b.send(announceMsg(IH, id20("proc-b"), { event: "started", offers: offerList(2, "b") }));
    expect(await b.next((m) => m.kind === "announce-response")).toMatchObject({ incomplete: 2 });
    const offer = await a.next((m) => m.kind === "offer");
    if (offer.kind !== "offer") throw new Error("expected an offer");
    expect(offer.peerId).toBe(id20("proc-b"));
    a.send({ action: "announce", info_hash: IH, peer_id: id20("proc-a"), to_peer_id: id20("proc-b"), offer_id: offer.offerId, answer: { type: "answer", sdp: "v=0 cross" } });
    expect(await b.next((m) => m.kind === "answer")).toMatchObject({ peerId: id20("proc-a"), offerId: offer.offerId, answer: { sdp: "v=0 cross" } });

    // A peer_id announced through process 1 cannot be spoken for through process 2.
    const thief = await TestClient.open(`ws://127.0.0.1:${t2.port}/announce`);
    thief.send(announceMsg(IH, id20("proc-a"), { event: "stopped" }));
    expect(await thief.next((m) => m.kind === "failure")).toMatchObject({ reason: "this peer_id is announced by another connection" });

    // Both processes report the shared swarm; closing A is seen from process 2.
    const stats2 = JSON.parse((await httpGet(t2.port, "/stats.json")).body);
    expect(stats2).toMatchObject({ store: "redis", swarms: 1, peers: 2 });
    a.close();
    await expect.poll(async () => JSON.parse((await httpGet(t2.port, "/stats.json")).body).peers, { timeout: 5000 }).toBe(1);
    b.close();
    thief.close();
  }, 20_000);

  const reference = haveReferenceTracker() && haveWrtc();
  it.skipIf(!reference)("connects two reference clients (WebRTC) that announce to different processes", async () => {
    const [t1, t2] = trackers as [Child & { port: number }, Child & { port: number }];
    const Client = await loadReferenceClient();
    const wrtc = loadWrtc();
    const infoHash = "7e".repeat(20);
    const c1 = new Client({ infoHash, peerId: "2d5344303130302d" + "01".repeat(12), announce: [`ws://127.0.0.1:${t1.port}/announce`], port: 6881, wrtc, rtcConfig: { iceServers: [] } });
    const c2 = new Client({ infoHash, peerId: "2d5344303130302d" + "02".repeat(12), announce: [`ws://127.0.0.1:${t2.port}/announce`], port: 6881, wrtc, rtcConfig: { iceServers: [] } });
    try {
      const p1 = new Promise<ReferencePeer>((r) => c1.on("peer", r));
      const p2 = new Promise<ReferencePeer>((r) => c2.on("peer", r));
      const updated = new Promise<void>((r) => c1.on("update", () => r()));
      c1.start();
      await updated;
      c2.start();
      const [x, y] = await Promise.all([p1, p2]);
      const connected = (p: ReferencePeer): Promise<void> => (p.connected ? Promise.resolve() : new Promise((r) => p.on("connect", () => r())));
      await Promise.all([connected(x), connected(y)]);
      const got = new Promise<string>((r) => y.on("data", (d) => r(Buffer.from(d).toString("utf8"))));
      x.send("across processes");
      expect(await got).toBe("across processes");
      x.destroy();
      y.destroy();
    } finally {
      await Promise.all([new Promise<void>((r) => c1.destroy(() => r())), new Promise<void>((r) => c2.destroy(() => r()))]);
    }
  }, 30_000);
});
