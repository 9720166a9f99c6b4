// The engine at message level: engines wired by an in-memory router (no bytes
// on a wire), with a manual clock. Blocks are checked against the source.
import { describe, expect, it } from "vitest";
import { bytesEqual } from "../bytes.ts";
import { seededRandom } from "../random.ts";
import { Bitfield } from "../wire/bitfield.ts";
import type { WireMessage } from "../wire/messages.ts";
import { TorrentEngine, type EngineOutput } from "./engine.ts";
import { connectionId, type ConnectionId } from "./session-types.ts";
import { blockBytes, resolveSettings, type FullSettings } from "./settings.ts";

interface Node {
  name: string;
  engine: TorrentEngine;
  pieces: Map<number, Uint8Array>;
  liar: boolean;
  banned: string[];
  events: string[];
  /** connection key -> [other node, the other's key for us] */
  links: Map<ConnectionId, [Node, ConnectionId]>;
}

function makeSwarm(pieceCount: number, pieceLength: number, lastPieceBytes: number, seed: number) {
  const totalLength = pieceLength * (pieceCount - 1) + lastPieceBytes;
  const rnd = seededRandom(seed);
  const source = rnd.bytes(totalLength);
  const clock = { t: 0, nowMs: () => clock.t };
  const shape = { pieceCount, pieceLength, totalLength };
  const nodes: Node[] = [];
  const add = (name: string, isSeed: boolean, over: Partial<FullSettings> = {}, liar = false): Node => {
    const engine = new TorrentEngine({
      shape,
      settings: resolveSettings(over),
      clock,
      random: seededRandom(seed + nodes.length + 1),
      ...(isSeed ? { verified: Bitfield.full(pieceCount) } : {}),
    });
    const n: Node = { name, engine, pieces: new Map(), liar, banned: [], events: [], links: new Map() };
    nodes.push(n);
    return n;
  };
  const queue: [Node, ConnectionId, WireMessage][] = [];
  const connect = (a: Node, b: Node, fast = true): void => {
    const ab = connectionId(`${a.name}->${b.name}`);
    const ba = connectionId(`${b.name}->${a.name}`);
    a.links.set(ab, [b, ba]);
    b.links.set(ba, [a, ab]);
    a.engine.addPeer(ab, fast);
    b.engine.addPeer(ba, fast);
  };
  const drain = (n: Node): void => {
    const out: EngineOutput[] = n.engine.out.splice(0);
    for (const o of out) {
      if (o.kind === "send") {
        const link = n.links.get(o.peer);
        if (link) queue.push([link[0], link[1], o.message]);
      } else if (o.kind === "broadcast-have") {
        for (const [, [other, back]] of n.links) queue.push([other, back, { type: "have", index: o.index }]);
      } else if (o.kind === "block") {
        let buf = n.pieces.get(o.index);
        if (!buf) n.pieces.set(o.index, (buf = new Uint8Array(n.engine.pieceBytes(o.index))));
        buf.set(o.data, o.begin);
      } else if (o.kind === "verify") {
        const buf = n.pieces.get(o.index)!;
        const ok = bytesEqual(buf, source.subarray(o.index * pieceLength, o.index * pieceLength + buf.length));
        if (!ok) n.pieces.delete(o.index);
        n.engine.pieceChecked(o.index, ok);
      } else if (o.kind === "ban" || o.kind === "close") {
        n.banned.push(o.peer);
        const link = n.links.get(o.peer);
        if (link) {
          n.links.delete(o.peer);
          link[0].links.delete(link[1]);
          link[0].engine.removePeer(link[1]);
          n.engine.removePeer(o.peer);
        }
      } else if (o.kind === "event") {
        n.events.push(o.event.type);
      }
    }
  };
  /** Delivers messages and serves uploads until nothing moves. */
  const settle = (maxSteps = 1_000_000): void => {
    for (let step = 0; step < maxSteps; step++) {
      for (const n of nodes) drain(n);
      const m = queue.shift();
      if (m) {
        m[0].engine.handle(m[1], m[2]);
        continue;
      }
      let served = false;
      for (const n of nodes) {
        for (const key of [...n.engine.uploadReady()]) {
          const req = n.engine.takeUpload(key);
          const link = n.links.get(key);
          if (!req || !link) continue;
          const off = req.index * pieceLength + req.begin;
          let block = source.slice(off, off + req.length);
          if (n.liar) block = block.map((b) => b ^ 0xff);
          n.engine.uploaded(key, req.length);
          queue.push([link[0], link[1], { type: "piece", index: req.index, begin: req.begin, block }]);
          served = true;
        }
      }
      if (!served && queue.length === 0 && nodes.every((x) => x.engine.out.length === 0)) return;
    }
    throw new Error("swarm did not settle");
  };
  const run = (seconds: number): void => {
    for (let s = 0; s < seconds * 4; s++) {
      clock.t += 250;
      for (const n of nodes) n.engine.tick();
      settle();
    }
  };
  const exact = (n: Node): boolean => {
    for (let i = 0; i < pieceCount; i++) {
      const buf = n.pieces.get(i);
      if (!buf || !n.engine.have(i)) return false;
      if (!bytesEqual(buf, source.subarray(i * pieceLength, i * pieceLength + buf.length))) return false;
    }
    return true;
  };
  return { add, connect, settle, run, exact, clock, nodes };
}

describe("TorrentEngine, message level", () => {
  it("a seed and two leechers: both leechers finish with every byte right, and trade with each other", () => {
    const s = makeSwarm(40, 2 * blockBytes, 1000, 11);
    const seed = s.add("seed", true);
    const a = s.add("a", false);
    const b = s.add("b", false);
    s.connect(seed, a);
    s.connect(seed, b);
    s.connect(a, b);
    s.settle();
    s.run(30);
    expect(a.engine.complete).toBe(true);
    expect(b.engine.complete).toBe(true);
    expect(s.exact(a)).toBe(true);
    expect(s.exact(b)).toBe(true);
    expect(a.events).toContain("completed");
    // Leechers uploaded to each other (tit-for-tat needs trade).
    expect(a.engine.uploadedBytes + b.engine.uploadedBytes).toBeGreaterThan(0);
  });

  it("tops up a deep request queue a quarter at a time, and a shallow one after every block", () => {
    const batchesOf = (over: Partial<FullSettings>): { sizes: number[]; blocks: number; done: boolean } => {
      const s = makeSwarm(64, 4 * blockBytes, 4 * blockBytes, 23);
      const seed = s.add("seed", true);
      const a = s.add("a", false, over);
      s.connect(seed, a);
      const sizes: number[] = [];
      const out = a.engine.out;
      const splice = out.splice.bind(out);
      out.splice = ((...args: Parameters<typeof splice>) => {
        const got = splice(...args);
        const n = got.filter((o) => o.kind === "send" && o.message.type === "request").length;
        if (n > 0) sizes.push(n);
        return got;
      }) as typeof out.splice;
      s.settle();
      s.run(10);
      return { sizes, blocks: 64 * 4, done: a.engine.complete && s.exact(a) };
    };
    const deep = batchesOf({ minRequestsInFlight: 200, maxRequestsInFlight: 250 });
    expect(deep.done).toBe(true);
    // After the first fill, each top-up is at least a quarter of the queue (50), but for the last few picks.
    expect(deep.sizes[0]).toBeGreaterThanOrEqual(200);
    expect(deep.sizes.slice(1, -1).every((n) => n >= 50)).toBe(true);
    const shallow = batchesOf({ minRequestsInFlight: 8, maxRequestsInFlight: 8 });
    expect(shallow.done).toBe(true);
    expect(shallow.sizes.slice(1).every((n) => n === 1)).toBe(true);
    expect(shallow.sizes.length).toBeGreaterThan(deep.sizes.length * 10);
  });

  it("bans a peer whose blocks fail SHA-1 and re-downloads the pieces from others", () => {
    const s = makeSwarm(24, blockBytes, blockBytes, 5);
    const liar = s.add("liar", true, {}, true);
    const seed = s.add("seed", true);
    const a = s.add("a", false, { banAfterHashFailures: 2 });
    s.connect(liar, a);
    s.connect(seed, a);
    s.settle();
    s.run(30);
    expect(a.banned).toContain("a->liar");
    expect(a.events).toContain("piece-failed");
    expect(a.engine.complete).toBe(true);
    expect(s.exact(a)).toBe(true);
  });

  it("a choke from a peer without the fast extension drops our requests; they are re-picked from another peer", () => {
    const s = makeSwarm(8, blockBytes, blockBytes, 3);
    const x = s.add("x", true);
    const y = s.add("y", true);
    const a = s.add("a", false);
    s.connect(x, a, false);
    // x unchokes a; a requests from x; deliver nothing yet.
    for (const n of s.nodes) n.engine.out.splice(0);
    a.engine.handle(connectionId("a->x"), { type: "have-all" });
    a.engine.handle(connectionId("a->x"), { type: "unchoke" });
    const before = a.engine.peerInfo(connectionId("a->x"))!.requestsInFlight;
    expect(before).toBeGreaterThanOrEqual(2);
    a.engine.handle(connectionId("a->x"), { type: "choke" });
    expect(a.engine.peerInfo(connectionId("a->x"))!.requestsInFlight).toBe(0);
    s.connect(y, a, true);
    a.engine.out.splice(0);
    a.engine.handle(connectionId("a->y"), { type: "have-all" });
    a.engine.handle(connectionId("a->y"), { type: "unchoke" });
    expect(a.engine.peerInfo(connectionId("a->y"))!.requestsInFlight).toBe(before);
  });

  it("with the fast extension (BEP 6) a choke keeps requests until the peer rejects them", () => {
    const s = makeSwarm(8, blockBytes, blockBytes, 3);
    const a = s.add("a", false);
    const x = s.add("x", true);
    s.connect(x, a, true);
    const key = connectionId("a->x");
    a.engine.handle(key, { type: "have-all" });
    a.engine.handle(key, { type: "unchoke" });
    const sent = a.engine.out.filter((o) => o.kind === "send" && o.message.type === "request");
    expect(sent.length).toBeGreaterThanOrEqual(2);
    a.engine.handle(key, { type: "choke" });
    expect(a.engine.peerInfo(key)!.requestsInFlight).toBe(sent.length);
    const first = sent[0]!;
    if (first.kind !== "send" || first.message.type !== "request") throw new Error("unreachable");
    a.engine.handle(key, { type: "reject", index: first.message.index, begin: first.message.begin, length: first.message.length });
    expect(a.engine.peerInfo(key)!.requestsInFlight).toBe(sent.length - 1);
  });

  it("a request that times out is cancelled and re-issued to another peer", () => {
    const s = makeSwarm(4, blockBytes, blockBytes, 9);
    const a = s.add("a", false, { requestTimeoutMs: 5000, minRequestsInFlight: 4 });
    s.add("x", true);
    s.add("y", true);
    s.connect(s.nodes[1]!, a);
    const kx = connectionId("a->x");
    a.engine.handle(kx, { type: "have-all" });
    a.engine.handle(kx, { type: "unchoke" });
    expect(a.engine.peerInfo(kx)!.requestsInFlight).toBe(4);
    s.clock.t = 3000;
    s.connect(s.nodes[2]!, a);
    const ky = connectionId("a->y");
    a.engine.handle(ky, { type: "have-all" });
    a.engine.handle(ky, { type: "unchoke" });
    // Every block is already asked of x, so y gets endgame duplicates (sent at 3 s).
    expect(a.engine.peerInfo(ky)!.requestsInFlight).toBe(4);
    a.engine.out.splice(0);
    s.clock.t = 5000;
    a.engine.tick();
    const cancels = a.engine.out.filter((o) => o.kind === "send" && o.peer === kx && o.message.type === "cancel");
    expect(cancels.length).toBe(4);
    // x keeps at most one (endgame duplicate) request until it delivers; y holds all four.
    expect(a.engine.peerInfo(kx)!.requestsInFlight).toBeLessThanOrEqual(1);
    expect(a.engine.peerInfo(ky)!.requestsInFlight).toBe(4);
  });
});
