// Tracker faults (issue 9), with real tracker processes killed by pid
// (SIGKILL: no goodbye, sockets just die): a tracker that restarts on the same
// port lets peers re-announce and meet again; with two processes over Redis,
// peers of a killed process move to the other and are introduced to peers
// there, whatever the dead process left behind in Redis.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, haveRedisServer, startRedis, startTrackerProcess, type Child } from "./process-harness.ts";
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

  // BUG (tracker, Redis store + swarm-logic "peer-id-taken"): a peer whose
  // tracker process was killed cannot re-announce to the surviving process
  // under its own peer id until the peer TTL passes (180 s by default): its
  // entry in Redis still names the dead process's connection, and the survivor
  // answers "this peer_id is announced by another connection". Browsers keep
  // their peer id for the page's life, so for three minutes the moved peers
  // cannot rejoin the swarm through the survivor. Fix idea: each process keeps
  // a short-TTL liveness key in Redis (refreshed every few seconds); a
  // peer-id held by a connection of a process whose key has expired may be
  // taken over at once.
  it.fails("the killed process's peers re-announce to the survivor under the same peer ids at once (default TTL)", async () => {
    const [t1, t2] = await twoOverRedis(redis.url);
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
      expect(await announced(a2, IH, id20("fo-a")), "re-announce of a peer whose process died").toMatchObject({ kind: "announce-response" });
      await meet(a2, id20("fo-a"), b, id20("fo-b"), IH);
    } finally {
      a2.close();
      b.close();
    }
  }, 40_000);
});
