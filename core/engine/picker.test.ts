import { describe, expect, it } from "vitest";
import { seededRandom } from "../random.ts";
import { pickBlocks, type PickerSettings } from "./picker.ts";
import { buildView, peerWith } from "./picker-fixtures.ts";

const settings: PickerSettings = {
  randomFirstPieces: 0,
  endgameMaxRequestersPerBlock: 3,
  streamingWindowPieces: 3,
  streamingInOrderProbability: 0,
  pieceSelection: "rarest-first",
};
const pieces = (picks: readonly { index: number }[]): number[] => [...new Set(picks.map((p) => p.index))];

describe("rarest first (Cohen 2003)", () => {
  it("picks the piece the fewest peers have", () => {
    const { view } = buildView({ availability: "3332333" });
    const picks = pickBlocks(view, peerWith("a", "*******"), 1, seededRandom(1), settings);
    expect(pieces(picks)).toEqual([3]);
  });

  it("only picks pieces the peer has and we lack", () => {
    const { view } = buildView({ availability: "1223333", have: "**     " });
    const picks = pickBlocks(view, peerWith("a", "*** ***"), 2, seededRandom(1), settings);
    // piece 0 we have, piece 1 we have, piece 3 the peer lacks: rarest remaining is 2 (count 2).
    expect(pieces(picks)[0]).toBe(2);
    expect(pieces(picks)).not.toContain(3);
    expect(pieces(picks)).not.toContain(0);
  });

  it("breaks ties at random, replayable from the seed", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const { view } = buildView({ availability: "2222222222" });
      const [first] = pickBlocks(view, peerWith("a", "**********"), 1, seededRandom(seed), settings);
      seen.add(first!.index);
      const again = pickBlocks(buildView({ availability: "2222222222" }).view, peerWith("a", "**********"), 1, seededRandom(seed), settings);
      expect(again[0]!.index).toBe(first!.index);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it("never picks a piece nobody has", () => {
    const { view } = buildView({ availability: "0000" });
    expect(pickBlocks(view, peerWith("a", "****"), 4, seededRandom(1), settings)).toEqual([]);
  });
});

describe("random first pieces", () => {
  it("picks at random (not rarest) until randomFirstPieces are verified", () => {
    const counts = new Map<number, number>();
    for (let seed = 1; seed <= 60; seed++) {
      const { view } = buildView({ availability: "1999999999" });
      const [p] = pickBlocks(view, peerWith("a", "**********"), 1, seededRandom(seed), { ...settings, randomFirstPieces: 4 });
      counts.set(p!.index, (counts.get(p!.index) ?? 0) + 1);
    }
    // Rarest first would always choose piece 0.
    expect(counts.size).toBeGreaterThan(5);
    const { view } = buildView({ availability: "1999999999", have: "    ****  " });
    const [p] = pickBlocks(view, peerWith("a", "**********"), 1, seededRandom(3), { ...settings, randomFirstPieces: 4 });
    expect(p!.index).toBe(0);
  });
});

describe("strict priority", () => {
  it("finishes a started piece before starting the rarest one", () => {
    const { view, downloads } = buildView({ availability: "9919", blocksPerPiece: 4 });
    downloads.markRequested(1, 0, "other", 0);
    downloads.received(1, 0, "other");
    const picks = pickBlocks(view, peerWith("a", "****"), 4, seededRandom(1), settings);
    expect(picks.map((p) => `${p.index}:${p.block}`)).toEqual(["1:1", "1:2", "1:3", "2:0"]);
  });

  it("does not re-request blocks already in flight", () => {
    const { view, downloads } = buildView({ availability: "11", blocksPerPiece: 2 });
    downloads.markRequested(0, 0, "other", 0);
    const picks = pickBlocks(view, peerWith("a", "**"), 10, seededRandom(1), settings);
    expect(picks.map((p) => `${p.index}:${p.block}`).sort()).toEqual(["0:1", "1:0", "1:1"]);
  });
});

describe("per-file priorities", () => {
  it("skips skipped pieces and takes high before normal, even if normal is rarer", () => {
    const { view } = buildView({ availability: "1155", priorities: "0112".slice(0, 4) });
    // piece 0 skip, pieces 1-2 normal, piece 3 high
    const picks = pickBlocks(view, peerWith("a", "****"), 3, seededRandom(1), settings);
    expect(pieces(picks)).toEqual([3, 1, 2]);
  });
});

describe("streaming (Carlsson & Eager hybrid)", () => {
  it("takes the window just ahead of the playhead in order, then rarest first", () => {
    const { view } = buildView({ availability: "5555555155", playheadPiece: 2 });
    const picks = pickBlocks(view, peerWith("a", "**********"), 4, seededRandom(1), settings);
    expect(pieces(picks)).toEqual([2, 3, 4, 7]);
  });

  it("with in-order probability 1 it is plain sequential from the playhead", () => {
    const { view } = buildView({ availability: "5555555155", playheadPiece: 0 });
    const picks = pickBlocks(view, peerWith("a", "**********"), 6, seededRandom(1), { ...settings, streamingInOrderProbability: 1 });
    expect(pieces(picks)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe("endgame", () => {
  it("starts only when every missing block is requested, and duplicates the fewest-requested", () => {
    const { view, downloads } = buildView({ availability: "22", blocksPerPiece: 2 });
    downloads.markRequested(0, 0, "b", 0);
    downloads.markRequested(0, 1, "b", 0);
    downloads.markRequested(1, 0, "b", 0);
    // piece 1 block 1 is still open: no endgame, the picker takes the open block.
    expect(pickBlocks(view, peerWith("a", "**"), 5, seededRandom(1), settings)).toEqual([{ index: 1, block: 1, endgame: false }]);
    downloads.markRequested(1, 1, "c", 0);
    downloads.markRequested(1, 1, "d", 0);
    const picks = pickBlocks(view, peerWith("a", "**"), 5, seededRandom(1), settings);
    expect(picks.every((p) => p.endgame)).toBe(true);
    expect(picks.map((p) => `${p.index}:${p.block}`)).toEqual(["0:0", "0:1", "1:0", "1:1"]);
    // never asks the same peer twice for one block
    expect(pickBlocks(view, peerWith("b", "**"), 5, seededRandom(1), settings).map((p) => `${p.index}:${p.block}`)).toEqual(["1:1"]);
  });

  it("respects the per-block requester cap", () => {
    const { view, downloads } = buildView({ availability: "2", blocksPerPiece: 1 });
    for (const p of ["b", "c", "d"]) downloads.markRequested(0, 0, p, 0);
    expect(pickBlocks(view, peerWith("a", "*"), 5, seededRandom(1), settings)).toEqual([]);
  });
});
