import { describe, expect, it } from "vitest";
import { shouldReannounce, type ReannounceInput } from "./reannounce.ts";

// A downloader connected to its tracker, which it last announced to at t = 100 s.
const base: ReannounceInput = {
  connectedPeers: 2,
  complete: false,
  idle: false,
  trackerState: "connected",
  lastAnnounceAtMs: 100_000,
  lastPeerLostAtMs: null,
  nowMs: 130_000,
};
const at = (overrides: Partial<ReannounceInput>): boolean => shouldReannounce({ ...base, ...overrides });

describe("shouldReannounce", () => {
  it("looks for a replacement soon after a neighbour leaves a downloader with fewer than 4 peers", () => {
    // Lost one at 110 s, 3 left: announce now, 30 s after the last announce (the tracker's interval is 2 minutes).
    expect(at({ connectedPeers: 3, lastPeerLostAtMs: 110_000 })).toBe(true);
    expect(at({ connectedPeers: 1, lastPeerLostAtMs: 110_000 })).toBe(true);
  });

  it("waits at least 5 s after the last announce, then goes", () => {
    const lost = { connectedPeers: 2, lastPeerLostAtMs: 101_000 };
    expect(at({ ...lost, nowMs: 101_000 })).toBe(false);
    expect(at({ ...lost, nowMs: 104_999 })).toBe(false);
    expect(at({ ...lost, nowMs: 105_000 })).toBe(true);
  });

  it("announces once per loss: a loss before the last announce was already answered", () => {
    expect(at({ connectedPeers: 2, lastPeerLostAtMs: 99_000 })).toBe(false);
    expect(at({ connectedPeers: 2, lastPeerLostAtMs: null })).toBe(false);
  });

  it("leaves a transfer with 4 or more peers, a complete one, or a paused one to the tracker's interval", () => {
    expect(at({ connectedPeers: 4, lastPeerLostAtMs: 110_000 })).toBe(false);
    expect(at({ connectedPeers: 9, lastPeerLostAtMs: 110_000 })).toBe(false);
    expect(at({ connectedPeers: 1, lastPeerLostAtMs: 110_000, complete: true })).toBe(false);
    expect(at({ connectedPeers: 1, lastPeerLostAtMs: 110_000, idle: true })).toBe(false);
    expect(at({ connectedPeers: 0, nowMs: 200_000, complete: true })).toBe(false);
  });

  it("respects the tracker client's backoff: nothing while it is retrying, connecting or failed, or before its first announce", () => {
    for (const trackerState of ["retrying", "connecting", "failed"] as const) {
      expect(at({ trackerState, connectedPeers: 0, lastPeerLostAtMs: 110_000, nowMs: 200_000 })).toBe(false);
    }
    expect(at({ lastAnnounceAtMs: null, connectedPeers: 0, lastPeerLostAtMs: 110_000 })).toBe(false);
  });

  it("alone, keeps asking every 20 s even without a recent loss", () => {
    expect(at({ connectedPeers: 0, nowMs: 119_999 })).toBe(false);
    expect(at({ connectedPeers: 0, nowMs: 120_000 })).toBe(true);
    // A loss that left it alone is answered after the 5 s gap, not 20 s.
    expect(at({ connectedPeers: 0, lastPeerLostAtMs: 102_000, nowMs: 105_000 })).toBe(true);
  });
});
