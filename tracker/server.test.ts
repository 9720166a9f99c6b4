// The tracker over real sockets on loopback: HTTP routes, the WebSocket
// protocol end to end, and the defences (origin, size, rate, abuse, ping).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "./config.ts";
import { startTracker, type RunningTracker } from "./server.ts";
import { announceMsg, httpGet, id20, offerList, TestClient } from "./test-helpers.ts";

const IH = id20("server-test-swarm");
let root: string;
let tracker: RunningTracker;
let url: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "swarmdrop-tracker-"));
  const dist = join(root, "dist");
  mkdirSync(join(dist, "assets"), { recursive: true });
  writeFileSync(join(dist, "index.html"), "<!doctype html><title>SwarmDrop test app</title>");
  writeFileSync(join(dist, "assets", "app-3f2a1b.js"), "console.log('hashed asset')");
  writeFileSync(join(dist, "manifest.webmanifest"), "{}");
  writeFileSync(join(dist, "sw.js"), "self.addEventListener('fetch', () => {})");
  writeFileSync(join(root, "secret.txt"), "TOP SECRET outside dist");
  tracker = await startTracker(
    defaultConfig({
      port: 0,
      host: "127.0.0.1",
      distDir: dist,
      quiet: true,
      iceServers: [{ urls: "stun:stun.example.org:3478" }, { urls: ["turn:turn.example.org:3478"], username: "u", credential: "p" }],
      allowedOrigins: ["https://swarmdrop.example"],
      maxBadMessages: 5,
      rateLimitPerS: 50,
      rateBurst: 50,
      maxMessageBytes: 8192,
      pingIntervalMs: 300,
    }),
  );
  url = `ws://127.0.0.1:${tracker.port}/announce`;
});

afterAll(async () => {
  await tracker.close();
  rmSync(root, { recursive: true, force: true });
});

describe("tracker HTTP", () => {
  it("serves the app with content types, SPA fallback and long caching for hashed assets", async () => {
    const index = await httpGet(tracker.port, "/");
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.body).toContain("SwarmDrop test app");
    expect(index.headers["cache-control"]).toBe("no-cache");
    const asset = await httpGet(tracker.port, "/assets/app-3f2a1b.js");
    expect(asset.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(asset.headers["cache-control"]).toContain("immutable");
    expect((await httpGet(tracker.port, "/manifest.webmanifest")).headers["content-type"]).toBe("application/manifest+json");
    // The stream Service Worker: JavaScript, revalidated on every load so an update is seen.
    const worker = await httpGet(tracker.port, "/sw.js");
    expect(worker.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(worker.headers["cache-control"]).toBe("no-cache");
    // /stream/ URLs belong to that worker: without it, a clear 404 rather than the app's HTML.
    const stream = await httpGet(tracker.port, `/stream/${"a".repeat(40)}/0/song`);
    expect(stream.status).toBe(404);
    expect(stream.body).toMatch(/Service Worker/);
    const route = await httpGet(tracker.port, "/share/abc?x=1");
    expect(route.status).toBe(200);
    expect(route.body).toContain("SwarmDrop test app");
    expect((await httpGet(tracker.port, "/assets/missing-123.js")).status).toBe(404);
    expect((await httpGet(tracker.port, "/", "POST")).status).toBe(405);
    const head = await httpGet(tracker.port, "/", "HEAD");
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
  });

  it.each(["/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/..\\secret.txt", "/%00/../secret.txt", "/%E0%A4%A"])("never serves a file outside dist for %s", async (path) => {
    const reply = await httpGet(tracker.port, path);
    expect(reply.body).not.toContain("TOP SECRET");
    expect([200, 400, 404]).toContain(reply.status);
  });

  it("serves /config.json with the configured ICE servers", async () => {
    const reply = await httpGet(tracker.port, "/config.json");
    expect(reply.headers["content-type"]).toContain("application/json");
    expect(JSON.parse(reply.body)).toEqual({
      iceServers: [{ urls: "stun:stun.example.org:3478" }, { urls: ["turn:turn.example.org:3478"], username: "u", credential: "p" }],
    });
  });
});

describe("tracker behind a proxy (TRUST_PROXY, MAX_CONNECTIONS_PER_IP)", () => {
  it("counts connections per forwarded client address only when the proxy is trusted", async () => {
    for (const trustProxy of [true, false]) {
      const t = await startTracker({ port: 0, host: "127.0.0.1", distDir: null, quiet: true, trustProxy, maxConnectionsPerIp: 2 });
      const u = `ws://127.0.0.1:${t.port}/announce`;
      try {
        // The last hop is the one the proxy appended; the first is whatever the client claimed.
        const from = (ip: string) => TestClient.open(u, { "x-forwarded-for": `6.6.6.6, ${ip}` });
        const c1 = await from("203.0.113.7");
        const c2 = await from("203.0.113.7");
        if (trustProxy) {
          await expect(from("203.0.113.7")).rejects.toThrow("429");
          const other = await from("198.51.100.1");
          other.close();
        } else {
          // Untrusted: every connection is 127.0.0.1, whatever the header says.
          await expect(from("198.51.100.1")).rejects.toThrow("429");
        }
        c1.close();
        c2.close();
      } finally {
        await t.close();
      }
    }
  });
});

describe("tracker WebSocket", () => {
  it("relays offers and answers between two peers, counts them, and scrapes", async () => {
    const a = await TestClient.open(url);
    const b = await TestClient.open(`ws://127.0.0.1:${tracker.port}/any/path/works`);
    b.send(announceMsg(IH, id20("peer-b"), { event: "started", left: 0 }));
    expect(await b.next((m) => m.kind === "announce-response")).toEqual({ kind: "announce-response", infoHash: IH, intervalS: 120, complete: 1, incomplete: 0 });
    a.send(announceMsg(IH, id20("peer-a"), { event: "started", offers: offerList(3, "a") }));
    expect(await a.next((m) => m.kind === "announce-response")).toMatchObject({ complete: 1, incomplete: 1 });
    const offer = await b.next((m) => m.kind === "offer");
    if (offer.kind !== "offer") throw new Error("expected an offer");
    expect(offer).toMatchObject({ peerId: id20("peer-a"), infoHash: IH, offer: { type: "offer" } });
    b.send({ action: "announce", info_hash: IH, peer_id: id20("peer-b"), to_peer_id: id20("peer-a"), offer_id: offer.offerId, answer: { type: "answer", sdp: "v=0 answer" } });
    expect(await a.next((m) => m.kind === "answer")).toEqual({ kind: "answer", infoHash: IH, peerId: id20("peer-b"), offerId: offer.offerId, answer: { type: "answer", sdp: "v=0 answer" } });

    a.send({ action: "scrape", info_hash: [IH, id20("nobody")] });
    const scrape = await a.next((m) => m.kind === "scrape-response");
    if (scrape.kind !== "scrape-response") throw new Error("expected a scrape");
    expect(scrape.files.get(IH as never)).toEqual({ complete: 1, incomplete: 1, downloaded: 0 });
    expect(scrape.files.get(id20("nobody") as never)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });

    const stats = await httpGet(tracker.port, "/stats.json");
    expect(JSON.parse(stats.body)).toMatchObject({ swarms: 1, peers: 2, seeders: 1, leechers: 1, connections: 2 });
    const metrics = await httpGet(tracker.port, "/metrics");
    expect(metrics.headers["content-type"]).toContain("text/plain; version=0.0.4");
    expect(metrics.body).toMatch(/^swarmdrop_tracker_peers\{store="memory"\} 2$/m);
    expect(metrics.body).toMatch(/^swarmdrop_tracker_answers_relayed_total\{store="memory"\} 1$/m);

    // Closing a connection takes its peer out of the swarm.
    a.close();
    await a.closed;
    await expect.poll(async () => JSON.parse((await httpGet(tracker.port, "/stats.json")).body).peers).toBe(1);
    b.close();
    await expect.poll(async () => JSON.parse((await httpGet(tracker.port, "/stats.json")).body).swarms).toBe(0);
  });

  it("refuses browsers from origins that are not allowed, but not origin-less clients", async () => {
    await expect(TestClient.open(url, { origin: "https://evil.example" })).rejects.toThrow("403");
    const ok = await TestClient.open(url, { origin: "https://swarmdrop.example" });
    ok.close();
    const plain = await TestClient.open(url);
    plain.close();
  });

  it("answers bad input with a failure reason and closes the connection after repeated abuse, serving others meanwhile", async () => {
    const bad = await TestClient.open(url);
    const good = await TestClient.open(url);
    bad.send("{not json");
    expect(await bad.next((m) => m.kind === "failure")).toEqual({ kind: "failure", reason: "message is not valid JSON" });
    bad.send({ action: "announce", info_hash: IH, peer_id: "too short" });
    expect(await bad.next((m) => m.kind === "failure")).toMatchObject({ action: "announce", infoHash: IH, reason: expect.stringContaining("peer_id") });
    bad.send("x".repeat(9000));
    expect(await bad.next((m) => m.kind === "failure")).toMatchObject({ reason: expect.stringContaining("exceeds the 8192-byte limit") });
    bad.send({ action: "dance" });
    bad.send("[1,2,3]");
    expect(await bad.closed).toBe(1008);
    good.send(announceMsg(id20("abuse-swarm"), id20("good"), { event: "started" }));
    expect(await good.next((m) => m.kind === "announce-response")).toMatchObject({ incomplete: 1 });
    good.close();
  });

  it("closes a socket that sends a frame far above the limit (1009)", async () => {
    const c = await TestClient.open(url);
    c.send("y".repeat(8192 * 4 + 10));
    expect(await c.closed).toBe(1009);
  });

  it("rate-limits a flooding connection and tells it so", async () => {
    const c = await TestClient.open(url);
    for (let i = 0; i < 120; i++) c.send({ action: "scrape", info_hash: IH });
    await c.next((m) => m.kind === "failure" && m.reason.startsWith("rate limit exceeded"));
    expect(await c.closed).toBe(1008);
  });

  it("carries ids with any byte value (0-255) intact over the wire", async () => {
    const binary = (seed: number): string => Array.from({ length: 20 }, (_, i) => String.fromCharCode((seed * 37 + i * 51) % 256)).join("");
    const ih = binary(1);
    const a = await TestClient.open(url);
    const b = await TestClient.open(url);
    b.send(announceMsg(ih, binary(2), { event: "started" }));
    await b.next((m) => m.kind === "announce-response" && m.infoHash === ih);
    a.send(announceMsg(ih, binary(3), { event: "started", offers: [{ offer: { type: "offer", sdp: "v=0 \u00e9\r\n" }, offer_id: binary(4) }] }));
    expect(await b.next((m) => m.kind === "offer")).toEqual({ kind: "offer", infoHash: ih, peerId: binary(3), offerId: binary(4), offer: { type: "offer", sdp: "v=0 \u00e9\r\n" } });
    a.close();
    b.close();
  });

  it("drops a socket that stops answering pings", async () => {
    const socket = connect(tracker.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(
      "GET /announce HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    // Never reads pings, never answers them.
    const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("data", () => {});
    const started = Date.now();
    await ended;
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
