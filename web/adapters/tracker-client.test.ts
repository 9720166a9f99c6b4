// The tracker client against the real tracker (tracker/server.ts) over real
// WebSockets (`ws`) on loopback. Node has no WebRTC here, so these clients
// want no peers (no offers); offers and answers are exercised in Chromium by
// e2e/transfer.spec.ts.
import { randomBytes } from "node:crypto";
import SimplePeer from "simple-peer";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { infoHashFromBytes, makePeerId, type PeerId } from "../../core/ids.ts";
import { defaultConfig } from "../../tracker/config.ts";
import { startTracker, type RunningTracker } from "../../tracker/server.ts";
import { TrackerClient, TrackerUrlError, type SignalingPeer, type TrackerClientComponents, type WebSocketLike } from "./tracker-client.ts";
import { freePort } from "../../tracker/process-harness.ts";
import { haveWrtc, loadWrtc } from "../../tracker/reference-peers.ts";

type Wrtc = NonNullable<SimplePeer.Options["wrtc"]>;
// Under CI a missing @roamhq/wrtc is an error (haveWrtc throws); elsewhere these tests are skipped.
const wrtc = haveWrtc() ? (loadWrtc() as Wrtc) : null;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tracker(port: number): Promise<RunningTracker> {
  const t = await startTracker(defaultConfig({ port, host: "127.0.0.1", quiet: true, distDir: null }));
  return t;
}

function components(left: number | null | (() => number | null)): TrackerClientComponents<SignalingPeer> & { changes: number } {
  const c = {
    changes: 0,
    createSocket: (url: string) => new WebSocket(url) as unknown as WebSocketLike,
    createPeer: (): SignalingPeer => {
      throw new Error("no WebRTC in this test");
    },
    randomBytes: (n: number) => new Uint8Array(randomBytes(n)),
    nowMs: () => Date.now(),
    stats: () => ({ uploaded: 0, downloaded: 0, left: typeof left === "function" ? left() : left }),
    wantedPeers: () => 0,
    onPeer: () => undefined,
    onChange: () => {
      c.changes++;
    },
  };
  return c;
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const infoHash = infoHashFromBytes(new Uint8Array(randomBytes(20)));
const peer = () => makePeerId((n) => new Uint8Array(randomBytes(n)));

describe("TrackerClient with the real tracker", () => {
  it("announces, and shows the swarm's seeders and leechers", async () => {
    const port = await freePort();
    const t = await tracker(port);
    cleanups.push(() => t.close());
    const url = `ws://127.0.0.1:${port}/announce`;
    const seed = new TrackerClient({ announceUrl: url, infoHash, peerId: peer() }, components(0));
    const leech = new TrackerClient({ announceUrl: url, infoHash, peerId: peer() }, components(1000));
    cleanups.push(() => seed.stop(), () => leech.stop());
    seed.start();
    await until(() => seed.status.seeders === 1);
    leech.start();
    await until(() => leech.status.seeders === 1 && leech.status.leechers === 1);
    expect(leech.status.state).toBe("connected");
    expect(leech.status.retryAtMs).toBeNull();
    // The tracker's interval (120 s by default) drives re-announces.
    expect(leech.intervalMs).toBe(defaultConfig().announceIntervalMs);

    // A stopped peer leaves the swarm: the other sees it on its next count.
    leech.stop();
    await new Promise((r) => setTimeout(r, 200));
    seed.scrape();
    await until(() => seed.status.leechers === 0);
  });

  it("announces completed when the download finishes: the tracker counts a seeder", async () => {
    const port = await freePort();
    const t = await tracker(port);
    cleanups.push(() => t.close());
    let left = 5000;
    const client = new TrackerClient({ announceUrl: `ws://127.0.0.1:${port}/announce`, infoHash, peerId: peer() }, components(() => left));
    cleanups.push(() => client.stop());
    client.start();
    await until(() => client.status.leechers === 1 && client.status.seeders === 0);
    left = 0;
    client.completed();
    await until(() => client.status.seeders === 1 && client.status.leechers === 0);
  });

  it("retries with backoff while the tracker is down and reconnects when it is back", async () => {
    const port = await freePort();
    let t = await tracker(port);
    const url = `ws://127.0.0.1:${port}/announce`;
    const client = new TrackerClient({ announceUrl: url, infoHash, peerId: peer() }, components(10));
    cleanups.push(() => client.stop());
    client.start();
    await until(() => client.status.state === "connected" && client.status.leechers === 1);

    const downAt = Date.now();
    await t.close();
    await until(() => client.status.state === "retrying");
    const first = client.status.retryAtMs!;
    // 1 s +-25% jitter.
    expect(first - downAt).toBeGreaterThanOrEqual(700);
    expect(first - downAt).toBeLessThan(1500);
    expect(client.status.message).toMatch(/retrying in/);

    // Still down at the first retry: the next delay doubles (2 s +-25%).
    await until(() => client.status.state === "retrying" && client.status.retryAtMs !== first, 5000);
    const second = client.status.retryAtMs!;
    expect(second - first).toBeGreaterThanOrEqual(1400);

    t = await tracker(port);
    cleanups.push(() => t.close());
    await until(() => client.status.state === "connected" && client.status.leechers === 1, 10_000);
    expect(client.status.retryAtMs).toBeNull();
  });

  it("ignores malformed tracker messages, says so, and stays connected", async () => {
    const port = await freePort();
    const wss = new WebSocketServer({ port, host: "127.0.0.1" });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on("connection", (socket) => {
      socket.once("message", () => {
        socket.send("this is not JSON");
        socket.send(JSON.stringify({ action: "announce", info_hash: "short", interval: 120 }));
        socket.send(JSON.stringify({ action: "announce", interval: -5, info_hash: "x".repeat(20), complete: 1, incomplete: 0 }));
      });
    });
    const c = components(5);
    const client = new TrackerClient({ announceUrl: `ws://127.0.0.1:${port}/announce`, infoHash, peerId: peer() }, c);
    cleanups.push(() => client.stop());
    client.start();
    await until(() => (client.status.message ?? "").includes("malformed") && c.changes >= 4);
    expect(client.status.state).toBe("connected");
    expect(client.status.message).toMatch(/ignored a malformed tracker message/);
    expect(client.status.seeders).toBeNull();
  });

  it("refuses a tracker URL that is not ws:// or wss://", () => {
    expect(() => new TrackerClient({ announceUrl: "http://example.test/announce", infoHash, peerId: peer() }, components(0))).toThrow(TrackerUrlError);
    expect(() => new TrackerClient({ announceUrl: "not a url", infoHash, peerId: peer() }, components(0))).toThrow(TrackerUrlError);
  });
});

describe.skipIf(wrtc === null)("TrackerClient offers and answers through the real tracker (Node WebRTC)", () => {
  it("two peers find each other: one connection each way round, with the right peer ids and directions", async () => {
    const port = await freePort();
    const t = await tracker(port);
    cleanups.push(() => t.close());
    const url = `ws://127.0.0.1:${port}/announce`;
    const hash = infoHashFromBytes(new Uint8Array(randomBytes(20)));
    const make = (left: number) => {
      const id = peer();
      const got: { remote: PeerId; direction: string; peer: SignalingPeer }[] = [];
      const c = {
        ...components(left),
        createPeer: ({ initiator }: { readonly initiator: boolean }) => new SimplePeer({ initiator, trickle: false, wrtc: wrtc!, config: { iceServers: [] } }) as unknown as SignalingPeer,
        wantedPeers: () => 5 - got.length,
        isConnected: (remote: PeerId) => got.some((g) => g.remote === remote),
        onPeer: (p: SignalingPeer, remote: { readonly peerId: PeerId; readonly direction: "outbound" | "inbound" }) => {
          if (got.some((g) => g.remote === remote.peerId)) {
            p.destroy();
            return;
          }
          got.push({ remote: remote.peerId, direction: remote.direction, peer: p });
        },
      };
      const client = new TrackerClient({ announceUrl: url, infoHash: hash, peerId: id, offerTimeoutMs: 3000 }, c);
      cleanups.push(() => {
        client.stop();
        for (const g of got) g.peer.destroy();
      });
      return { id, got, client };
    };
    const seed = make(0);
    seed.client.start();
    await until(() => seed.client.status.seeders === 1);
    const leech = make(100);
    leech.client.start();
    await until(() => seed.got.length === 1 && leech.got.length === 1, 20_000);
    expect(seed.got[0]!.remote).toBe(leech.id);
    expect(leech.got[0]!.remote).toBe(seed.id);
    // The leecher's offer was relayed to the seed, which answered it.
    expect(leech.got[0]!.direction).toBe("outbound");
    expect(seed.got[0]!.direction).toBe("inbound");
    // Offers nobody answered (all of the seed's, four of the leecher's) expire after offerTimeoutMs.
    await until(() => seed.client.pendingOfferCount === 0 && leech.client.pendingOfferCount === 0, 10_000);
    expect(seed.got).toHaveLength(1);
    expect(leech.got).toHaveLength(1);
  }, 40_000);
});
