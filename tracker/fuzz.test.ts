// Fuzz: a bounded, seeded stream of malformed messages over real sockets. The
// tracker must answer each with a parseable reply (or close an abusive
// connection), never crash, and keep serving good clients. Replay a failure
// with TRACKER_FUZZ_SEED=<seed printed in the test name>.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom, type Random } from "../core/random.ts";
import { defaultConfig } from "./config.ts";
import { startTracker, type RunningTracker } from "./server.ts";
import { announceMsg, id20, offerList, TestClient } from "./test-helpers.ts";

const SEED = Number(process.env.TRACKER_FUZZ_SEED ?? 20261125);
const MESSAGES = 1500;
const IH = id20("fuzz-good-swarm");

function pick<T>(r: Random, items: readonly T[]): T {
  return items[r.int(items.length)]!;
}

function junkString(r: Random, maxLen: number): string {
  let s = "";
  const n = r.int(maxLen + 1);
  for (let i = 0; i < n; i++) s += String.fromCharCode(pick(r, [r.int(32), 32 + r.int(95), 128 + r.int(128), 256 + r.int(4000), 0xd800 + r.int(0x800)]));
  return s;
}

function junkValue(r: Random, depth = 0): unknown {
  switch (r.int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return r.int(2) === 0;
    case 2:
      return pick(r, [0, -1, 1e308, -0, 3.5, Number.MAX_SAFE_INTEGER + 2, 20]);
    case 3:
      return junkString(r, 40);
    case 4:
      return id20(junkString(r, 5));
    case 5:
      return "a".repeat(pick(r, [19, 21, 20, 0, 5000]));
    case 6:
      return Array.from({ length: r.int(5) }, () => junkValue(r, depth + 1));
    case 7: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) o[pick(r, ["type", "sdp", "offer", "offer_id", "__proto__", "constructor", junkString(r, 6)])] = junkValue(r, depth + 1);
      return o;
    }
    default:
      return { type: pick(r, ["offer", "answer", "pranswer"]), sdp: junkValue(r, depth + 1) };
  }
}

/** One malformed (or merely hostile) message: mutations of valid ones plus raw garbage. */
function fuzzMessage(r: Random): string {
  const base: Record<string, unknown> = pick(r, [
    announceMsg(IH, id20("fuzzer"), { event: "started", offers: offerList(3, "fz") }),
    { action: "announce", info_hash: IH, peer_id: id20("fuzzer"), to_peer_id: id20("good-a"), offer_id: id20("x"), answer: { type: "answer", sdp: "v=0" } },
    { action: "scrape", info_hash: [IH] },
  ]);
  switch (r.int(8)) {
    case 0: {
      // Replace one field with junk.
      const keys = [...Object.keys(base), "action", "event", "left", "numwant", "offers", "info_hash", "peer_id"];
      base[pick(r, keys)] = junkValue(r);
      return JSON.stringify(base);
    }
    case 1: {
      // Truncate valid JSON.
      const text = JSON.stringify(base);
      return text.slice(0, r.int(text.length));
    }
    case 2: {
      // Flip characters.
      const chars = [...JSON.stringify(base)];
      for (let i = 1 + r.int(4); i > 0; i--) chars[r.int(chars.length)] = String.fromCharCode(r.int(256));
      return chars.join("");
    }
    case 3:
      return junkString(r, 200);
    case 4:
      return JSON.stringify(junkValue(r));
    case 5:
      // Deep nesting.
      return "[".repeat(1 + r.int(5000)) + "]".repeat(r.int(3));
    case 6:
      // Many offers or many scrape hashes.
      return r.int(2) === 0
        ? JSON.stringify({ ...announceMsg(IH, id20("fuzzer")), offers: offerList(50 + r.int(200), "many") })
        : JSON.stringify({ action: "scrape", info_hash: Array.from({ length: 200 + r.int(200) }, () => id20("h")) });
    default:
      return JSON.stringify({ ...base, action: pick(r, ["connect", "ANNOUNCE", "", 1, null, "scrape ", "announce\u0000"]) });
  }
}

describe(`tracker fuzz (seed ${SEED}, ${MESSAGES} messages)`, () => {
  let tracker: RunningTracker;
  beforeAll(async () => {
    tracker = await startTracker(defaultConfig({ port: 0, host: "127.0.0.1", distDir: null, quiet: true, rateLimitPerS: 0, maxBadMessages: 100, maxMessageBytes: 16 * 1024 }));
  });
  afterAll(async () => {
    await tracker.close();
  });

  it("answers every malformed message, never crashes, and keeps serving good clients", async () => {
    const url = `ws://127.0.0.1:${tracker.port}/announce`;
    const r = seededRandom(SEED);
    const a = await TestClient.open(url);
    const b = await TestClient.open(url);
    a.send(announceMsg(IH, id20("good-a"), { event: "started" }));
    await a.next((m) => m.kind === "announce-response");

    let fuzzer = await TestClient.open(url);
    let sent = 0;
    let connections = 1;
    while (sent < MESSAGES) {
      if (fuzzer.closeCode !== null || fuzzer.ws.readyState !== fuzzer.ws.OPEN) {
        // Closed for abuse (1008) or for a giant frame (1009): come back with a new connection.
        expect([1008, 1009]).toContain(fuzzer.closeCode ?? (await fuzzer.closed));
        fuzzer = await TestClient.open(url);
        connections++;
      }
      fuzzer.send(fuzzMessage(r));
      sent++;
      if (sent % 50 === 0) {
        // Let replies flow, then make sure the tracker still serves the good clients.
        fuzzer.send({ action: "scrape", info_hash: IH });
        await fuzzer.next((m) => m.kind === "scrape-response", 10_000).catch(() => null);
      }
    }
    // Every reply the fuzzer received parsed as tracker protocol (TestClient throws otherwise).
    b.send(announceMsg(IH, id20("good-b"), { event: "started", offers: offerList(2, "gb") }));
    await b.next((m) => m.kind === "announce-response");
    const offer = await a.next((m) => m.kind === "offer" && m.peerId === id20("good-b"));
    if (offer.kind !== "offer") throw new Error("expected an offer");
    a.send({ action: "announce", info_hash: IH, peer_id: id20("good-a"), to_peer_id: id20("good-b"), offer_id: offer.offerId, answer: { type: "answer", sdp: "v=0 ok" } });
    expect(await b.next((m) => m.kind === "answer")).toMatchObject({ peerId: id20("good-a"), answer: { sdp: "v=0 ok" } });

    const stats = await tracker.stats();
    expect(stats.badMessages).toBeGreaterThan(MESSAGES / 2);
    expect(connections).toBeGreaterThan(1);
    // Memory stays bounded: only the good peers and the fuzzer's one peer_id per swarm remain.
    expect(stats.swarms).toBeLessThanOrEqual(2);
    expect(stats.peers).toBeLessThanOrEqual(3);
    a.close();
    b.close();
    fuzzer.close();
  }, 60_000);
});
