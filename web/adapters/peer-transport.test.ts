// PeerTransport over real WebRTC data channels in Node (simple-peer over
// @roamhq/wrtc, signalled directly), and ICE servers from the real tracker's
// /config.json. @roamhq/wrtc never fires `bufferedamountlow`, so the test
// calls poll() as the manager's tick does; Chromium's event path is exercised
// by e2e/transfer.spec.ts.
import { createServer } from "node:net";
import SimplePeer from "simple-peer";
import { afterEach, describe, expect, it } from "vitest";
import type { ConnectionId } from "../../core/engine/session-types.ts";
import { defaultConfig } from "../../tracker/config.ts";
import { startTracker } from "../../tracker/server.ts";
import { fetchIceServers, PeerTransport, type DataPeer } from "./peer-transport.ts";
import { haveWrtc, loadWrtc } from "../../tracker/reference-peers.ts";

type Wrtc = NonNullable<SimplePeer.Options["wrtc"]>;
// Under CI a missing @roamhq/wrtc is an error (haveWrtc throws); elsewhere these tests are skipped.
const wrtc = haveWrtc() ? (loadWrtc() as Wrtc) : null;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Two connected simple-peer instances, signalled directly (non-trickle). */
async function connectedPair(): Promise<[DataPeer, DataPeer]> {
  const a = new SimplePeer({ initiator: true, trickle: false, wrtc: wrtc!, config: { iceServers: [] } });
  const b = new SimplePeer({ initiator: false, trickle: false, wrtc: wrtc!, config: { iceServers: [] } });
  a.on("signal", (d) => b.signal(d));
  b.on("signal", (d) => a.signal(d));
  await Promise.all([new Promise((r) => a.once("connect", r)), new Promise((r) => b.once("connect", r))]);
  cleanups.push(() => {
    a.destroy();
    b.destroy();
  });
  return [a as unknown as DataPeer, b as unknown as DataPeer];
}

interface Side {
  transport: PeerTransport;
  chunks: Uint8Array[];
  bytes: number;
  messages: number;
  drained: number;
  removed: string[];
}

function side(): Side {
  const s: Side = { transport: new PeerTransport(), chunks: [], bytes: 0, messages: 0, drained: 0, removed: [] };
  s.transport.bind({
    receive: (_id, bytes) => {
      s.chunks.push(bytes.slice());
      s.bytes += bytes.length;
      s.messages++;
    },
    drained: () => {
      s.drained++;
    },
    removed: (_id, reason) => {
      s.removed.push(reason);
    },
  });
  return s;
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >> 11)) & 0xff;
  return out;
}

describe.skipIf(wrtc === null)("PeerTransport over WebRTC data channels", () => {
  it("delivers a stream of small frames intact, coalesced into few channel messages, under the high-water mark", async () => {
    const [pa, pb] = await connectedPair();
    const sender = side();
    const receiver = side();
    const id: ConnectionId = sender.transport.add(pa, "a");
    receiver.transport.add(pb, "b");
    const channel = pa._channel!;
    let maxBuffered = 0;
    const poll = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, channel.bufferedAmount);
      sender.transport.poll();
      receiver.transport.poll();
    }, 2);
    cleanups.push(() => clearInterval(poll));

    // 8 MiB as piece messages would go: 16 KiB + 13 bytes each, queued one by one.
    const payload = pattern(8 * 1024 * 1024);
    const frame = 16 * 1024 + 13;
    let frames = 0;
    for (let off = 0; off < payload.length; off += frame) {
      sender.transport.send(id, payload.subarray(off, Math.min(payload.length, off + frame)));
      frames++;
      // The session holds back past its high-water mark and waits for drained().
      if (sender.transport.bufferedBytes(id) > 1024 * 1024) {
        const before = sender.drained;
        await until(() => sender.drained > before);
      }
    }
    await until(() => receiver.bytes >= payload.length);
    const got = new Uint8Array(receiver.bytes);
    let at = 0;
    for (const c of receiver.chunks) {
      got.set(c, at);
      at += c.length;
    }
    expect(got.length).toBe(payload.length);
    expect(Buffer.from(got).equals(Buffer.from(payload))).toBe(true);
    // Coalesced: far fewer channel messages than frames (each at most 256 KiB or the peer's max-message-size).
    expect(receiver.messages).toBeLessThan(frames / 4);
    // Our high-water mark (1 MiB) plus at most one message in flight past it.
    expect(maxBuffered).toBeLessThanOrEqual(1024 * 1024 + 256 * 1024);
    expect(sender.transport.sentBytes).toBe(payload.length);
  }, 60_000);

  it("reports a closed connection once on each side and ignores sends after it", async () => {
    const [pa, pb] = await connectedPair();
    const a = side();
    const b = side();
    const idA = a.transport.add(pa, "a");
    b.transport.add(pb, "b");
    a.transport.close(idA, "banned for a bad piece");
    await until(() => b.removed.length === 1);
    expect(a.removed).toEqual(["banned for a bad piece"]);
    expect(b.removed[0]).toMatch(/closed|error/);
    expect(a.transport.connectionCount).toBe(0);
    a.transport.send(idA, new Uint8Array(10));
    expect(a.transport.bufferedBytes(idA)).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.removed).toHaveLength(1);
    expect(b.removed).toHaveLength(1);
  });
});

describe("fetchIceServers", () => {
  it("reads the tracker's /config.json, and falls back to none when it is missing or malformed", async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const address = srv.address();
        const p = typeof address === "object" && address ? address.port : 0;
        srv.close(() => resolve(p));
      });
    });
    const iceServers = [{ urls: "stun:stun.example.test:3478" }, { urls: ["turn:turn.example.test"], username: "u", credential: "p" }];
    const tracker = await startTracker(defaultConfig({ port, host: "127.0.0.1", quiet: true, distDir: null, iceServers }));
    cleanups.push(() => tracker.close());
    expect(await fetchIceServers(`http://127.0.0.1:${port}/config.json`)).toEqual(iceServers);
    expect(await fetchIceServers(`http://127.0.0.1:${port}/no-such-file.json`)).toEqual([]);
    expect(await fetchIceServers(`http://127.0.0.1:1/config.json`)).toEqual([]);
  });
});

describe("PeerTransport send path (a stand-in channel)", () => {
  it("sends a queued array of exactly one message's size as it is, and coalesces smaller frames with one copy", async () => {
    const sent: Uint8Array[] = [];
    const channel = {
      readyState: "open",
      bufferedAmount: 0,
      bufferedAmountLowThreshold: 0,
      send(data: Uint8Array<ArrayBuffer>) {
        sent.push(data);
      },
      addEventListener() {},
      removeEventListener() {},
    };
    const peer: DataPeer = { _channel: channel, _pc: { sctp: { maxMessageSize: 256 * 1024 } }, on: () => undefined, destroy: () => undefined };
    const transport = new PeerTransport();
    transport.bind({ receive: () => undefined, drained: () => undefined, removed: () => undefined });
    const id = transport.add(peer, "fake");
    const whole = pattern(256 * 1024);
    transport.send(id, whole);
    await Promise.resolve();
    expect(sent).toEqual([whole]);
    expect(sent[0]).toBe(whole);
    const frames = [pattern(13), pattern(16 * 1024), pattern(13), pattern(16 * 1024)];
    for (const f of frames) transport.send(id, f);
    await Promise.resolve();
    expect(sent.length).toBe(2);
    expect(Buffer.from(sent[1]!).equals(Buffer.concat(frames))).toBe(true);
    expect(transport.sentBytes).toBe(256 * 1024 + 2 * (16 * 1024 + 13));
  });
});
