// Super-seeding: the pure reveal bookkeeping (SuperSeed), then the engine's
// wire behaviour (have_none instead of a bitfield, `have` reveals after unchoke).
import { describe, expect, it } from "vitest";
import { seededRandom } from "../random.ts";
import { Bitfield } from "../wire/bitfield.ts";
import type { WireMessage } from "../wire/messages.ts";
import { TorrentEngine } from "./engine.ts";
import { connectionId } from "./session-types.ts";
import { resolveSettings, type FullSettings } from "./settings.ts";
import { SuperSeed, type SuperSeedSettings } from "./super-seed.ts";

const settings = (over: Partial<SuperSeedSettings> = {}): SuperSeedSettings => ({
  superSeeding: "auto",
  superSeedPiecesAhead: 2,
  superSeedStopCopies: 1,
  superSeedRevealTimeoutMs: 20_000,
  ...over,
});

/** A toy neighbourhood: which pieces each peer announced. */
class Neighbourhood {
  readonly has = new Map<string, Set<number>>();
  constructor(readonly ss: SuperSeed) {}
  add(key: string): void {
    this.has.set(key, new Set());
    this.ss.addPeer(key);
  }
  announce(key: string, i: number): void {
    this.has.get(key)!.add(i);
    this.ss.onHave(key, i);
  }
  holders = (i: number): number => [...this.has.values()].filter((s) => s.has(i)).length;
  reveal(key: string, nowMs = 0, interested = true): number[] {
    const mine = this.has.get(key)!;
    return this.ss.reveal(key, (i) => mine.has(i), this.holders, nowMs, interested);
  }
}

describe("SuperSeed reveals", () => {
  it("shows every piece once before any piece twice, to unchoked peers only, keeping each `superSeedPiecesAhead` ahead", () => {
    const n = new Neighbourhood(new SuperSeed(12, settings(), seededRandom(1)));
    for (const k of ["a", "b", "c", "d"]) n.add(k);
    expect(n.reveal("a")).toEqual([]); // choked: nothing shown
    for (const k of ["a", "b", "c"]) n.ss.setUnchoked(k, true);
    const shown: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (const k of ["a", "b", "c"]) {
        const r = n.reveal(k);
        expect(r.length).toBeLessThanOrEqual(2);
        shown.push(...r);
        // The peer downloads what it was shown and announces it.
        for (const i of r) n.announce(k, i);
      }
    }
    // 3 peers x 2 pieces x 2 rounds = 12 reveals: each of the 12 pieces exactly once.
    expect(shown).toHaveLength(12);
    expect(new Set(shown).size).toBe(12);
    expect(n.ss.revealedPieces).toBe(12);
    // Round two: pieces held by nobody else come first (d holds none; a's pieces are held by a only).
    n.ss.setUnchoked("d", true);
    const next = n.reveal("d");
    expect(next).toHaveLength(2);
    for (const i of next) expect(n.holders(i)).toBe(1);
  });

  it("a choked peer's unannounced reveals stop counting; a timed-out or unwanted reveal frees its place", () => {
    const n = new Neighbourhood(new SuperSeed(6, settings({ superSeedPiecesAhead: 1 }), seededRandom(2)));
    n.add("a");
    n.ss.setUnchoked("a", true);
    const [first] = n.reveal("a", 0);
    expect(first).toBeDefined();
    expect(n.reveal("a", 1_000)).toEqual([]); // still within its 20 s
    expect(n.reveal("a", 21_000)).toHaveLength(1); // timed out: another piece is shown
    expect(n.reveal("a", 22_000, false)).toHaveLength(1); // not interested: it does not want the last one
    expect(n.ss.isRevealed("a", first!)).toBe(true);
  });

  it('"auto" stops once every piece is held by a connected peer and lists what each peer was not shown; "on" never stops', () => {
    const auto = new Neighbourhood(new SuperSeed(4, settings(), seededRandom(3)));
    const on = new Neighbourhood(new SuperSeed(4, settings({ superSeeding: "on" }), seededRandom(3)));
    for (const n of [auto, on]) {
      n.add("a");
      n.add("b");
      n.announce("a", 0);
      n.announce("a", 1);
      n.announce("b", 2);
    }
    expect(auto.ss.shouldStop(auto.holders)).toBe(false); // piece 3 is only at the seed
    auto.announce("b", 3);
    on.announce("b", 3);
    expect(auto.ss.shouldStop(auto.holders)).toBe(true);
    expect(on.ss.shouldStop(on.holders)).toBe(false);
    const rest = auto.ss.stop();
    expect(auto.ss.active).toBe(false);
    expect(rest.get("a")).toEqual([0, 1, 2, 3]);
  });
});

describe("a super-seeding engine on the wire", () => {
  const seedEngine = (over: Partial<FullSettings>) => {
    const clock = { t: 0, nowMs: () => clock.t };
    const engine = new TorrentEngine({
      shape: { pieceCount: 8, pieceLength: 16384, totalLength: 8 * 16384 },
      settings: resolveSettings(over),
      clock,
      random: seededRandom(4),
      verified: Bitfield.full(8),
    });
    const sent = (): WireMessage[] => engine.out.splice(0).flatMap((o) => (o.kind === "send" ? [o.message] : []));
    return { engine, clock, sent };
  };

  it("announces have_none, then unchokes on the next tick and reveals pieces one `have` at a time", () => {
    const { engine, clock, sent } = seedEngine({ superSeeding: "auto", superSeedPiecesAhead: 2 });
    const peer = connectionId("p");
    engine.addPeer(peer, true);
    expect(sent()).toEqual([{ type: "have-none" }]);
    clock.t = 500;
    engine.tick();
    const msgs = sent();
    expect(msgs[0]).toEqual({ type: "unchoke" });
    const haves = msgs.filter((m) => m.type === "have");
    expect(haves).toHaveLength(2);
    // The peer got one of them: one more is revealed.
    const got = haves[0]!.type === "have" ? haves[0]!.index : -1;
    engine.handle(peer, { type: "have", index: got });
    expect(sent().filter((m) => m.type === "have")).toHaveLength(1);
  });

  it('with superSeeding "off" a seed announces have_all as before', () => {
    const { engine, sent } = seedEngine({ superSeeding: "off" });
    engine.addPeer(connectionId("p"), true);
    expect(sent()).toEqual([{ type: "have-all" }]);
  });
});
