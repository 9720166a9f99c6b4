// Tracker clients of several transfers sharing one WebSocket to the real
// tracker (tracker/server.ts) over loopback.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { infoHashFromBytes, makePeerId } from "../../core/ids.ts";
import { defaultConfig } from "../../tracker/config.ts";
import { startTracker } from "../../tracker/server.ts";
import { TrackerSocketPool } from "./socket-pool.ts";
import { TrackerClient, type SignalingPeer, type WebSocketLike } from "./tracker-client.ts";
import { freePort } from "../../tracker/process-harness.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function client(pool: TrackerSocketPool, url: string, left: number): TrackerClient<SignalingPeer> {
  const rnd = (n: number) => new Uint8Array(randomBytes(n));
  return new TrackerClient(
    { announceUrl: url, infoHash: infoHashFromBytes(rnd(20)), peerId: makePeerId(rnd) },
    {
      createSocket: (u) => pool.createSocket(u),
      createPeer: (): SignalingPeer => {
        throw new Error("no WebRTC in this test");
      },
      randomBytes: rnd,
      nowMs: () => Date.now(),
      stats: () => ({ uploaded: 0, downloaded: 0, left }),
      wantedPeers: () => 0,
      onPeer: () => undefined,
    },
  );
}

describe("TrackerSocketPool", () => {
  it("serves three transfers over one connection, survives a tracker restart, and closes when the last one stops", async () => {
    const port = await freePort();
    let tracker = await startTracker(defaultConfig({ port, host: "127.0.0.1", quiet: true, distDir: null }));
    cleanups.push(() => tracker.close());
    const url = `ws://127.0.0.1:${port}/announce`;
    const pool = new TrackerSocketPool((u) => new WebSocket(u) as unknown as WebSocketLike);
    const clients = [client(pool, url, 0), client(pool, url, 10), client(pool, url, 20)];
    cleanups.push(() => clients.forEach((c) => c.stop()));
    clients[0]!.start();
    await until(() => clients[0]!.status.state === "connected");
    // Two more transfers join the open socket.
    clients[1]!.start();
    clients[2]!.start();
    await until(() => clients[0]!.status.seeders === 1 && clients[1]!.status.leechers === 1 && clients[2]!.status.leechers === 1);
    expect(pool.realSocketCount).toBe(1);
    expect((await tracker.stats()).connections).toBe(1);

    // The tracker goes away and comes back: every client reconnects, still over one socket.
    await tracker.close();
    await until(() => clients.every((c) => c.status.state === "retrying"));
    tracker = await startTracker(defaultConfig({ port, host: "127.0.0.1", quiet: true, distDir: null }));
    await until(() => clients.every((c) => c.status.state === "connected" && c.status.seeders !== null), 15_000);
    await until(async () => (await tracker.stats()).connections === 1);
    expect(pool.realSocketCount).toBe(1);

    clients[0]!.stop();
    clients[1]!.stop();
    expect(pool.realSocketCount).toBe(1);
    clients[2]!.stop();
    expect(pool.realSocketCount).toBe(0);
    await until(async () => (await tracker.stats()).connections === 0);
  });

  it("opens another socket past the per-socket client limit", async () => {
    const port = await freePort();
    const tracker = await startTracker(defaultConfig({ port, host: "127.0.0.1", quiet: true, distDir: null }));
    cleanups.push(() => tracker.close());
    const url = `ws://127.0.0.1:${port}/announce`;
    const pool = new TrackerSocketPool((u) => new WebSocket(u) as unknown as WebSocketLike, 2);
    const clients = [client(pool, url, 0), client(pool, url, 0), client(pool, url, 0)];
    cleanups.push(() => clients.forEach((c) => c.stop()));
    for (const c of clients) c.start();
    await until(() => clients.every((c) => c.status.seeders === 1));
    expect(pool.realSocketCount).toBe(2);
    expect((await tracker.stats()).connections).toBe(2);
  });
});
