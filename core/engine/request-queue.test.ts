import { describe, expect, it } from "vitest";
import { seededRandom } from "../random.ts";
import { Downloads, RollingRate, requestQueueDepth, requestTimeoutFor } from "./request-queue.ts";

const depth = { requestQueueTargetMs: 3000, minRequestsInFlight: 2, maxRequestsInFlight: 250 };

describe("request pipelining", () => {
  it("keeps enough requests in flight to cover 3 s of the peer's rate, at least 2", () => {
    // peer rate (KiB/s) -> requests in flight
    const table: [number, number][] = [
      [0, 2],
      [5, 2],
      [16, 3],
      [100, 19],
      [1024, 192],
      [100_000, 250],
    ];
    for (const [kib, expected] of table) expect([kib, requestQueueDepth(kib * 1024, depth)]).toEqual([kib, expected]);
  });
});

describe("request timeouts", () => {
  it("use the base timeout for a silent peer, and stretch for a slow but steady one", () => {
    expect(requestTimeoutFor(20_000, 4, 0)).toBe(20_000);
    expect(requestTimeoutFor(20_000, 4, 1024 * 1024)).toBe(20_000);
    // 10 blocks in flight at 2 KiB/s: 80 s of work, so wait 160 s.
    expect(requestTimeoutFor(20_000, 10, 2048)).toBe(160_000);
  });
});

describe("RollingRate", () => {
  it("converges to a steady rate and fades when the peer stops", () => {
    const r = new RollingRate(20_000, 0);
    for (let t = 0; t <= 60_000; t += 100) r.add(10_000, t); // 100 KB/s
    expect(r.rate(60_000)).toBeGreaterThan(95_000);
    expect(r.rate(60_000)).toBeLessThan(105_000);
    expect(r.rate(120_000)).toBeLessThan(5_000);
    expect(r.totalBytes).toBe(601 * 10_000);
  });

  it("with the start-up correction, a new peer's steady rate reads right within seconds", () => {
    // A peer sending 100 KB/s from t = 0 (10 KB every 100 ms), read at 1, 2, 5 and 30 s.
    const raw = new RollingRate(20_000, 0);
    const corrected = new RollingRate(20_000, 0, 2_000);
    const readings: [number, number, number][] = [];
    for (let t = 100; t <= 30_000; t += 100) {
      raw.add(10_000, t);
      corrected.add(10_000, t);
      if (t === 1_000 || t === 2_000 || t === 5_000 || t === 30_000) readings.push([t, raw.rate(t), corrected.rate(t)]);
    }
    // The raw average reads a tenth of the rate after 1 s and 39 % after 5 s.
    expect(readings[0]![1]).toBeLessThan(11_000);
    expect(readings[2]![1]).toBeLessThan(40_000);
    // Corrected: at 1 s the meter counts as 2 s old (half the rate: no burst from the first blocks).
    expect(readings[0]![2]).toBeGreaterThan(45_000);
    expect(readings[0]![2]).toBeLessThan(55_000);
    for (const [, , rate] of readings.slice(1)) {
      expect(rate).toBeGreaterThan(97_000);
      expect(rate).toBeLessThan(103_000);
    }
    // After it stops, the corrected rate fades like the raw one.
    expect(corrected.rate(90_000)).toBeLessThan(0.01 * 100_000);
  });
});

describe("Downloads", () => {
  const make = (): Downloads => new Downloads(() => 4, 4);

  it("cancels endgame duplicates on arrival and reports completion", () => {
    const d = make();
    for (let b = 0; b < 4; b++) d.markRequested(7, b, "a", 0);
    d.markRequested(7, 3, "b", 100);
    for (let b = 0; b < 3; b++) expect(d.received(7, b, "a").pieceComplete).toBe(false);
    const last = d.received(7, 3, "b");
    expect(last).toEqual({ accepted: true, cancelFrom: ["a"], pieceComplete: true });
    expect(d.inFlight("a")).toBe(0);
    // the late duplicate from a is not accepted twice
    expect(d.received(7, 3, "a").accepted).toBe(false);
    expect(d.contributors(7).sort()).toEqual(["a", "b"]);
  });

  it("times requests out so they can be re-issued elsewhere", () => {
    const d = make();
    d.markRequested(1, 0, "slow", 0);
    d.markRequested(1, 1, "slow", 15_000);
    const expired = d.expired(20_000, 20_000);
    expect(expired.map((r) => `${r.index}:${r.block}:${r.peer}`)).toEqual(["1:0:slow"]);
    d.release(1, 0, "slow");
    expect(d.partials[0]!.blockState(0)).toBe(0); // open again
    expect(d.inFlight("slow")).toBe(1);
  });

  it("a choke without BEP 6 drops every request to that peer, and untouched pieces are forgotten", () => {
    const d = make();
    d.markRequested(2, 0, "a", 0);
    d.markRequested(3, 0, "a", 0);
    d.markRequested(3, 1, "b", 0);
    expect(d.releasePeer("a")).toHaveLength(2);
    expect(d.isPartial(2)).toBe(false);
    expect(d.isPartial(3)).toBe(true); // b still has one out
    expect(d.partials[0]!.blockState(0)).toBe(0);
  });

  it("hands out one live request map per peer, kept across releases until the peer is forgotten", () => {
    const d = make();
    const m = d.requestsMap("a");
    expect(m.size).toBe(0);
    d.markRequested(5, 0, "a", 0);
    d.markRequested(5, 1, "a", 0);
    expect(m.size).toBe(2);
    d.received(5, 0, "a");
    expect(m.size).toBe(d.inFlight("a"));
    d.releasePeer("a");
    expect(m.size).toBe(0);
    d.markRequested(6, 0, "a", 0);
    expect(d.requestsMap("a")).toBe(m);
    expect(m.size).toBe(1);
    d.forgetPeer("a");
    expect(d.inFlight("a")).toBe(0);
    expect(d.isPartial(6)).toBe(false);
    expect(d.requestsMap("a")).not.toBe(m);
  });

  it("counts the open blocks of partial pieces through requests, arrivals, releases and finishes", () => {
    const d = make();
    const r = seededRandom(7);
    const peers = ["a", "b", "c"];
    const bruteOpen = (): number => {
      let n = 0;
      for (const p of d.partials) for (let b = 0; b < p.blockCount; b++) if (p.blockState(b) === 0) n++;
      return n;
    };
    let sawOpen = false;
    for (let k = 0; k < 3000; k++) {
      const index = r.int(6);
      const block = r.int(4);
      const peer = peers[r.int(3)]!;
      const op = r.int(10);
      if (op < 4) d.markRequested(index, block, peer, k);
      else if (op < 6) d.received(index, block, peer);
      else if (op < 8) d.release(index, block, peer);
      else if (op === 8) d.releasePeer(peer);
      else d.finish(index);
      expect(d.openBlocks).toBe(bruteOpen());
      if (d.openBlocks > 0) sawOpen = true;
    }
    expect(sawOpen).toBe(true);
  });
});
