// Pieces nobody can give us, and pieces our own storage lost, at message
// level: one engine under test, its peers played by hand (the messages they
// would send), on a manual clock.
import { describe, expect, it } from "vitest";
import { seededRandom } from "../random.ts";
import { Bitfield } from "../wire/bitfield.ts";
import type { WireMessage } from "../wire/messages.ts";
import { rejectedPieceCooldownMs, TorrentEngine } from "./engine.ts";
import { PiecePriority } from "./picker.ts";
import { connectionId, PieceState, type ConnectionId } from "./session-types.ts";
import { blockBytes, resolveSettings } from "./settings.ts";

/** 8 pieces of 2 blocks; the last piece is 1000 bytes. */
const shape = { pieceCount: 8, pieceLength: 2 * blockBytes, totalLength: 7 * 2 * blockBytes + 1000 };
const allBytes = shape.totalLength;

function engine(opts: { seed?: boolean } = {}) {
  const clock = { t: 0, nowMs: () => clock.t };
  const e = new TorrentEngine({
    shape,
    settings: resolveSettings({}),
    clock,
    random: seededRandom(7),
    ...(opts.seed === true ? { verified: Bitfield.full(shape.pieceCount) } : {}),
  });
  /** Messages the engine sent to `peer` since the last call (and forgets the rest of its output). */
  const sentTo = (peer: ConnectionId): WireMessage[] => {
    const out = e.out.splice(0);
    return out.flatMap((o) => (o.kind === "send" && o.peer === peer ? [o.message] : []));
  };
  return { e, clock, sentTo };
}

/** A peer that announced every piece and unchoked us, then rejects whatever we ask (its storage lost everything). */
function rejectEverything(t: ReturnType<typeof engine>, peer: ConnectionId): number {
  let rejected = 0;
  for (let round = 0; round < 100; round++) {
    const requests = t.sentTo(peer).filter((m) => m.type === "request");
    if (requests.length === 0) return rejected;
    for (const r of requests) {
      if (r.type !== "request") continue;
      t.e.handle(peer, { type: "reject", index: r.index, begin: r.begin, length: r.length });
      rejected++;
    }
  }
  throw new Error("the engine kept asking at once");
}

describe("pieces no connected peer can give (unavailableMissing)", () => {
  const x = connectionId("x");
  const y = connectionId("y");

  it("a peer that announced every piece then rejects them all: every piece is unavailable until its cooldown ends", () => {
    const t = engine();
    t.e.addPeer(x, true);
    t.e.handle(x, { type: "have-all" });
    t.e.handle(x, { type: "unchoke" });
    expect(t.e.unavailableMissing()).toEqual({ pieces: 0, bytes: 0 });
    expect(rejectEverything(t, x)).toBeGreaterThanOrEqual(shape.pieceCount);
    expect(t.e.unavailableMissing()).toEqual({ pieces: shape.pieceCount, bytes: allBytes });

    // Another peer that has the first half: only the second half is unavailable.
    t.e.addPeer(y, true);
    t.e.handle(y, { type: "bitfield", bits: Uint8Array.of(0b1111_0000) });
    expect(t.e.unavailableMissing()).toEqual({ pieces: 4, bytes: 3 * 2 * blockBytes + 1000 });

    // Once the cooldown is over, x is asked again: its pieces count as obtainable until it rejects them again.
    t.clock.t += rejectedPieceCooldownMs + 1;
    expect(t.e.unavailableMissing()).toEqual({ pieces: 0, bytes: 0 });
  });

  it("pieces no connected peer has count, skipped ones do not, and nothing counts once complete", () => {
    const t = engine();
    expect(t.e.unavailableMissing().pieces).toBe(shape.pieceCount); // nobody connected
    t.e.addPeer(x, true);
    t.e.handle(x, { type: "bitfield", bits: Uint8Array.of(0b1100_0000) });
    expect(t.e.unavailableMissing()).toEqual({ pieces: 6, bytes: 5 * 2 * blockBytes + 1000 });
    // The person skips what pieces 2-7 hold.
    t.e.setPiecePriorities(Uint8Array.of(PiecePriority.normal, PiecePriority.normal, 0, 0, 0, 0, 0, 0));
    expect(t.e.unavailableMissing()).toEqual({ pieces: 0, bytes: 0 });
    t.e.pieceChecked(0, true);
    t.e.pieceChecked(1, true);
    expect(t.e.complete).toBe(true);
    expect(t.e.unavailableMissing()).toEqual({ pieces: 0, bytes: 0 });
  });

  it("a peer that rejects while it chokes us (BEP 6 bookkeeping) does not make pieces unavailable", () => {
    const t = engine();
    t.e.addPeer(x, true);
    t.e.handle(x, { type: "have-all" });
    t.e.handle(x, { type: "unchoke" });
    const requests = t.sentTo(x).filter((m) => m.type === "request");
    expect(requests.length).toBeGreaterThan(0);
    t.e.handle(x, { type: "choke" });
    for (const r of requests) if (r.type === "request") t.e.handle(x, { type: "reject", index: r.index, begin: r.begin, length: r.length });
    expect(t.e.unavailableMissing().pieces).toBe(0);
  });
});

describe("a verified piece our storage lost (pieceLost)", () => {
  const d = connectionId("downloader");
  const z = connectionId("other-seed");
  const late = connectionId("latecomer");

  it("is missing again: requests for it are rejected, a new peer is not told we have it, and it is downloaded again from a peer that has it", () => {
    const t = engine({ seed: true });
    t.e.addPeer(d, true);
    t.e.handle(d, { type: "interested" });
    t.sentTo(d);
    // The downloader asks for piece 3; the request waits in the upload queue.
    t.e.handle(d, { type: "request", index: 3, begin: 0, length: blockBytes });
    expect(t.e.peerInfo(d)?.queuedUploads).toBe(1);

    expect(t.e.pieceLost(3)).toBe(true);
    expect(t.e.pieceLost(3)).toBe(false); // once
    expect(t.e.have(3)).toBe(false);
    expect(t.e.complete).toBe(false);
    expect(t.e.pieceStates()[3]).toBe(PieceState.missing);
    // The queued request is rejected at once, a new one too.
    expect(t.sentTo(d)).toContainEqual({ type: "reject", index: 3, begin: 0, length: blockBytes });
    expect(t.e.peerInfo(d)?.queuedUploads).toBe(0);
    t.e.handle(d, { type: "request", index: 3, begin: blockBytes, length: blockBytes });
    expect(t.sentTo(d)).toContainEqual({ type: "reject", index: 3, begin: blockBytes, length: blockBytes });
    // Pieces it still has are served.
    t.e.handle(d, { type: "request", index: 4, begin: 0, length: blockBytes });
    expect(t.e.peerInfo(d)?.queuedUploads).toBe(1);

    // A peer that connects now gets a bitfield without piece 3 (not have_all).
    t.e.addPeer(late, true);
    const [announce] = t.sentTo(late);
    expect(announce?.type).toBe("bitfield");
    if (announce?.type !== "bitfield") throw new Error("unreachable");
    expect(Bitfield.fromBytes(announce.bits, shape.pieceCount).has(3)).toBe(false);
    expect(Bitfield.fromBytes(announce.bits, shape.pieceCount).count).toBe(shape.pieceCount - 1);

    // Nobody connected has it: it is the one unavailable piece.
    expect(t.e.unavailableMissing()).toEqual({ pieces: 1, bytes: 2 * blockBytes });

    // Another seed has it: we are interested and ask it for piece 3's blocks.
    t.e.addPeer(z, true);
    t.e.handle(z, { type: "have-all" });
    expect(t.sentTo(z)).toContainEqual({ type: "interested" });
    t.e.handle(z, { type: "unchoke" });
    const asked = t.sentTo(z).filter((m) => m.type === "request");
    expect(asked.map((m) => (m.type === "request" ? m.index : -1))).toEqual([3, 3]);

    // Fetched and verified again: complete, and `completed` is said again.
    t.e.pieceChecked(3, true);
    expect(t.e.complete).toBe(true);
    expect(t.e.out).toContainEqual({ kind: "event", event: { type: "completed" } });
  });

  it("a lost piece of a skipped file is not fetched again", () => {
    const t = engine({ seed: true });
    t.e.setPiecePriorities(Uint8Array.of(1, 1, 1, 1, 1, 1, 1, PiecePriority.skip));
    expect(t.e.pieceLost(7)).toBe(true);
    expect(t.e.complete).toBe(true);
    t.e.addPeer(z, true);
    t.e.handle(z, { type: "have-all" });
    t.e.handle(z, { type: "unchoke" });
    expect(t.sentTo(z).filter((m) => m.type === "request" || m.type === "interested")).toEqual([]);
  });
});
