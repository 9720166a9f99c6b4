// The reference client (bittorrent-tracker's websocket client, as WebTorrent
// uses it) against our tracker, unchanged, over loopback with @roamhq/wrtc:
// it announces, gets counts, scrapes, and two such clients connect to each
// other through the tracker and exchange bytes over a data channel.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "./config.ts";
import { haveReferenceTracker, haveWrtc, loadReferenceClient, loadWrtc, type ReferenceClient, type ReferencePeer } from "./reference-peers.ts";
import { startTracker, type RunningTracker } from "./server.ts";

const available = haveReferenceTracker() && haveWrtc();

describe.skipIf(!available)("reference client (bittorrent-tracker + wrtc) against our tracker", () => {
  let tracker: RunningTracker;
  const clients: ReferenceClient[] = [];

  beforeAll(async () => {
    tracker = await startTracker(defaultConfig({ port: 0, host: "127.0.0.1", distDir: null, quiet: true }));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => new Promise<void>((r) => c.destroy(() => r()))));
    await tracker.close();
  });

  it("two reference clients meet through the tracker and exchange data over WebRTC", async () => {
    const Client = await loadReferenceClient();
    const wrtc = loadWrtc();
    const infoHash = "5c".repeat(20);
    // Different paths: the reference client pools one socket per announce URL, and
    // one connection may hold one peer_id per swarm (aquatic_ws rule).
    const make = (peerHex: string, path: string): ReferenceClient => {
      const c = new Client({ infoHash, peerId: peerHex, announce: [`ws://127.0.0.1:${tracker.port}${path}`], port: 6881, wrtc, rtcConfig: { iceServers: [] } });
      c.on("error", (err) => {
        throw err;
      });
      clients.push(c);
      return c;
    };
    const seeder = make("2d5344303130302d" + "aa".repeat(12), "/announce");
    const updates: { complete: number; incomplete: number }[] = [];
    seeder.on("update", (u) => updates.push(u));
    const seederPeer = new Promise<ReferencePeer>((resolve) => seeder.on("peer", resolve));
    seeder.start();
    await expect.poll(() => updates.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(updates[0]).toMatchObject({ incomplete: 1 });

    const leecher = make("2d5344303130302d" + "bb".repeat(12), "/announce?second");
    const leecherPeer = new Promise<ReferencePeer>((resolve) => leecher.on("peer", resolve));
    leecher.start();

    const [p1, p2] = await Promise.all([seederPeer, leecherPeer]);
    const connected = (p: ReferencePeer): Promise<void> => (p.connected ? Promise.resolve() : new Promise((r) => p.on("connect", () => r())));
    await Promise.all([connected(p1), connected(p2)]);
    const received = new Promise<string>((resolve) => p2.on("data", (d) => resolve(Buffer.from(d).toString("utf8"))));
    p1.send("hello through the tracker");
    expect(await received).toBe("hello through the tracker");

    const scrapes: { complete: number; incomplete: number }[] = [];
    leecher.on("scrape", (s) => scrapes.push(s));
    leecher.scrape();
    await expect.poll(() => scrapes.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(scrapes[0]).toMatchObject({ incomplete: 2 });
    const stats = await tracker.stats();
    expect(stats.offersRelayed).toBeGreaterThan(0);
    expect(stats.answersRelayed).toBeGreaterThan(0);
    p1.destroy();
    p2.destroy();
  }, 30_000);
});
