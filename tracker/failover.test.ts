// Tracker faults (issue 9), with real tracker processes killed by pid
// (SIGKILL: no goodbye, sockets just die): a tracker that restarts on the same
// port lets peers re-announce and meet again; with two processes over Redis,
// peers of a killed process move to the other and are introduced to peers
// there, whatever the dead process left behind in Redis.
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, haveRedisServer, startRedis, startTrackerProcess, type Child } from "./process-harness.ts";
import { livenessKey } from "./redis-store.ts";
import { announceMsg, id20, offerList, TestClient } from "./test-helpers.ts";

type Tracker = Child & { port: number };

function kill(t: Tracker): Promise<void> {
  return new Promise((done) => {
    if (t.process.exitCode !== null || t.process.signalCode !== null || t.process.pid === undefined) return done();
    t.process.once("exit", () => done());
    process.kill(t.process.pid, "SIGKILL");
  });
}

let offerTag = 0;
/** A "started" announce carrying offers (a newcomer's first announce, as browsers send it). */
async function announced(c: TestClient, ih: string, peer: string): Promise<unknown> {
  c.send(announceMsg(ih, peer, { event: "started", offers: offerList(4, `o${++offerTag}`) }));
  return c.next((m) => m.kind === "announce-response" || m.kind === "failure");
}

/** B (in the swarm before A) got A's offer and answers it; A gets the answer: they met. */
async function meet(a: TestClient, aId: string, b: TestClient, bId: string, ih: string): Promise<void> {
  const offer = await b.next((m) => m.kind === "offer" && m.peerId === aId);
  if (offer.kind !== "offer") throw new Error("expected an offer");
  b.send({ action: "announce", info_hash: ih, peer_id: bId, to_peer_id: aId, offer_id: offer.offerId, answer: { type: "answer", sdp: "v=0 met" } });
  expect(await a.next((m) => m.kind === "answer")).toMatchObject({ peerId: bId, offerId: offer.offerId });
}

describe("tracker killed and restarted on the same port", () => {
  let tracker: Tracker | null = null;
  afterAll(async () => {
    if (tracker) await tracker.stop();
  });

  it("peers whose sockets died re-announce to the restarted tracker and meet again", async () => {
    const port = await freePort();
    tracker = await startTrackerProcess(["--port", String(port), "--quiet"]);
    expect(tracker.port).toBe(port);
    const IH = id20("restart-swarm");
    const url = `ws://127.0.0.1:${port}/announce`;
    let a = await TestClient.open(url);
    let b = await TestClient.open(url);
    expect(await announced(a, IH, id20("peer-a"))).toMatchObject({ kind: "announce-response" });
    expect(await announced(b, IH, id20("peer-b"))).toMatchObject({ kind: "announce-response", incomplete: 2 });
    await meet(b, id20("peer-b"), a, id20("peer-a"), IH);

    await kill(tracker);
    expect(await a.closed).not.toBe(1000);
    await b.closed;
    await expect(TestClient.open(url)).rejects.toThrow();

    tracker = await startTrackerProcess(["--port", String(port), "--quiet"]);
    a = await TestClient.open(url);
    b = await TestClient.open(url);
    expect(await announced(a, IH, id20("peer-a"))).toMatchObject({ kind: "announce-response", incomplete: 1 });
    expect(await announced(b, IH, id20("peer-b"))).toMatchObject({ kind: "announce-response", incomplete: 2 });
    const c = await TestClient.open(url);
    expect(await announced(c, IH, id20("peer-c"))).toMatchObject({ kind: "announce-response", incomplete: 3 });
    await meet(c, id20("peer-c"), a, id20("peer-a"), IH);
    await meet(c, id20("peer-c"), b, id20("peer-b"), IH);
    for (const x of [a, b, c]) x.close();
  }, 40_000);
});

const redisAvailable = haveRedisServer();

async function twoOverRedis(redisUrl: string, extra: string[] = []): Promise<[Tracker, Tracker]> {
  const [t1, t2] = await Promise.all([startTrackerProcess(["--redis-url", redisUrl, "--quiet", ...extra]), startTrackerProcess(["--redis-url", redisUrl, "--quiet", ...extra])]);
  return [t1, t2];
}

describe.skipIf(!redisAvailable)("two tracker processes over Redis, one killed", () => {
  let redis: Child & { url: string };
  const trackers: Tracker[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  }, 20_000);
  afterAll(async () => {
    await Promise.all(trackers.map((t) => t.stop()));
    await redis?.stop();
  });

  it("a newcomer on the survivor meets the survivor's peers at once, and the dead process's peers drop out after the peer TTL", async () => {
    const [t1, t2] = await twoOverRedis(redis.url, ["--peer-ttl", "3", "--announce-interval", "2"]);
    trackers.push(t1, t2);
    const IH = id20("failover-heal");
    const a = await TestClient.open(`ws://127.0.0.1:${t1.port}/announce`);
    const b = await TestClient.open(`ws://127.0.0.1:${t2.port}/announce`);
    expect(await announced(a, IH, id20("heal-a"))).toMatchObject({ kind: "announce-response" });
    expect(await announced(b, IH, id20("heal-b"))).toMatchObject({ kind: "announce-response", incomplete: 2 });
    await meet(b, id20("heal-b"), a, id20("heal-a"), IH);
    await kill(t1);
    await a.closed;
    const c = await TestClient.open(`ws://127.0.0.1:${t2.port}/announce`);
    expect(await announced(c, IH, id20("heal-c"))).toMatchObject({ kind: "announce-response" });
    await meet(c, id20("heal-c"), b, id20("heal-b"), IH);
    // B and C keep announcing (as clients do every interval); A, whose process died, expires.
    await expect
      .poll(
        async () => {
          c.send(announceMsg(IH, id20("heal-c")));
          await c.next((m) => m.kind === "announce-response");
          b.send(announceMsg(IH, id20("heal-b")));
          const r = await b.next((m) => m.kind === "announce-response");
          return r.kind === "announce-response" ? r.incomplete : -1;
        },
        { timeout: 10_000, interval: 500 },
      )
      .toBe(2);
    // Then A, failing over to the survivor under its own peer id, is accepted and meets B.
    const a2 = await TestClient.open(`ws://127.0.0.1:${t2.port}/announce`);
    expect(await announced(a2, IH, id20("heal-a"))).toMatchObject({ kind: "announce-response" });
    await meet(a2, id20("heal-a"), b, id20("heal-b"), IH);
    for (const x of [a2, b, c]) x.close();
  }, 40_000);

  // Once a process is killed, its liveness key in Redis lapses (PROCESS_TTL,
  // 1 s here) and the survivor lets its peers take their peer ids back at once,
  // well before the peer TTL (180 s by default) would have freed them.
  it("the killed process's peers re-announce to the survivor under the same peer ids once its liveness key lapses, long before the peer TTL", async () => {
    const [t1, t2] = await twoOverRedis(redis.url, ["--process-ttl", "1"]);
    trackers.push(t1, t2);
    const IH = id20("failover-swarm");
    const a = await TestClient.open(`ws://127.0.0.1:${t1.port}/announce`);
    const b = await TestClient.open(`ws://127.0.0.1:${t2.port}/announce`);
    expect(await announced(a, IH, id20("fo-a"))).toMatchObject({ kind: "announce-response" });
    expect(await announced(b, IH, id20("fo-b"))).toMatchObject({ kind: "announce-response", incomplete: 2 });
    await meet(b, id20("fo-b"), a, id20("fo-a"), IH);
    await kill(t1);
    await a.closed;
    const a2 = await TestClient.open(`ws://127.0.0.1:${t2.port}/announce`);
    try {
      // Refused while t1 may still be alive; the generous limit is still far below the 180 s peer TTL.
      let last: unknown = null;
      await expect
        .poll(
          async () => {
            a2.send(announceMsg(IH, id20("fo-a"), { event: "started" }));
            last = await a2.next((m) => m.kind === "announce-response" || m.kind === "failure");
            return (last as { kind: string }).kind;
          },
          { timeout: 30_000, interval: 250 },
        )
        .toBe("announce-response");
      // Counted once: A's old entry was replaced, not added to.
      expect(last).toMatchObject({ kind: "announce-response", incomplete: 2 });
      expect(await announced(a2, IH, id20("fo-a"))).toMatchObject({ kind: "announce-response", incomplete: 2 });
      await meet(a2, id20("fo-a"), b, id20("fo-b"), IH);
    } finally {
      a2.close();
      b.close();
    }
  }, 60_000);

  it("a live process's peer ids stay protected: the liveness key is refreshed, and a connection to the other process cannot take them", async () => {
    const [t1, t2] = await twoOverRedis(redis.url, ["--process-ttl", "1"]);
    trackers.push(t1, t2);
    const IH = id20("failover-protected");
    const a = await TestClient.open(`ws://127.0.0.1:${t1.port}/announce`);
    const thief = await TestClient.open(`ws://127.0.0.1:${t2.port}/announce`);
    try {
      expect(await announced(a, IH, id20("keep-a"))).toMatchObject({ kind: "announce-response" });
      // Several liveness TTLs pass with t1 alive: its key is refreshed, so its claim holds all along.
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 500));
        expect(await announced(thief, IH, id20("keep-a"))).toMatchObject({ kind: "failure", reason: "this peer_id is announced by another connection" });
      }
      // A is still the member, on its own connection.
      a.send(announceMsg(IH, id20("keep-a")));
      expect(await a.next((m) => m.kind === "announce-response" || m.kind === "failure")).toMatchObject({ kind: "announce-response", incomplete: 1 });
    } finally {
      a.close();
      thief.close();
    }
  }, 30_000);

  it("a process keeps its liveness key while it runs and deletes it on a clean close", async () => {
    const t = await startTrackerProcess(["--redis-url", redis.url, "--quiet", "--process-ttl", "1"]);
    trackers.push(t);
    await expect.poll(() => /as process ([0-9a-f]+)/.exec(t.output.join(""))?.[1], { timeout: 5000 }).toBeTruthy();
    const id = /as process ([0-9a-f]+)/.exec(t.output.join(""))?.[1] ?? "";
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      // Past its 1 s TTL the key is still there: it is refreshed.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await client.exists(livenessKey(id))).toBe(1);
      const ttl = await client.pTTL(livenessKey(id));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1000);
      await t.stop();
      expect(await client.exists(livenessKey(id))).toBe(0);
    } finally {
      await client.quit();
    }
  }, 20_000);
});
