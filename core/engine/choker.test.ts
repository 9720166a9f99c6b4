import { describe, expect, it } from "vitest";
import { seededRandom } from "../random.ts";
import { rechoke, regularSlotCount, type ChokerPeer, type ChokerSettings } from "./choker.ts";

const settings: ChokerSettings = {
  uploadSlots: 4,
  optimisticUnchokeIntervalMs: 30_000,
  seedChoking: "fastest-upload",
  newPeerOptimisticWeight: 3,
  newPeerWindowMs: 60_000,
  seedRoundRobinSlotMs: 30_000,
  optimisticUnchokeSlots: 1,
  regularSlotsNeedReciprocation: false,
  reciprocationGraceMs: 10_000,
  uploadSlotsMode: "fixed",
  slotRateStepBytesPerS: 4000,
  maxUploadSlots: 50,
  unreciprocatedOptimisticWeight: 0.1,
  unreciprocatedAfterBytes: 1024 * 1024,
  optimisticUnchokeChoice: "random",
};

/**
 * A peer-rate table, one row per peer:
 *   "key  interested  down-KB/s  up-KB/s  flags"
 * flags: s = snubbed, u = currently unchoked, n = newly connected,
 *        h = has sent us data before (reciprocation history).
 */
function table(rows: string): ChokerPeer[] {
  return rows
    .trim()
    .split("\n")
    .map((line) => {
      const [key, interested, down, up, flags = ""] = line.trim().split(/\s+/);
      return {
        key: key!,
        peerInterested: interested === "yes",
        downloadRateBytesPerS: Number(down) * 1000,
        uploadRateBytesPerS: Number(up) * 1000,
        downloadedBytes: flags.includes("h") ? 1_000_000 : 0,
        uploadedBytes: flags.includes("t") ? 2_000_000 : 0,
        couldReciprocate: true,
        pieces: 0,
        snubbed: flags.includes("s"),
        connectedAtMs: flags.includes("n") ? 990_000 : 0,
        amChoking: !flags.includes("u"),
        unchokedSinceMs: flags.includes("u") ? 980_000 : null,
        lastChokedAtMs: null,
      };
    });
}
const now = 1_000_000;
const noOptimistic = { key: null, sinceMs: 0 };

describe("leecher tit-for-tat (Cohen 2003)", () => {
  const peers = table(`
    a yes 50 0
    b yes 40 0
    c yes 30 0
    d yes 20 0
    e yes 10 0
    f yes  5 0
    g no  99 0
  `);

  it("unchokes the 4 interested peers that upload to us fastest, plus one optimistic", () => {
    const d = rechoke(peers, noOptimistic, now, false, settings, seededRandom(1));
    expect(d.regular).toEqual(["a", "b", "c", "d"]);
    expect(["e", "f"]).toContain(d.optimistic.key);
    expect(d.unchoked.size).toBe(5);
    expect(d.unchoked.has("g")).toBe(false); // not interested: never unchoked
  });

  it("among peers tied at zero rate, those that reciprocated before win over free-riders", () => {
    const tied = table(`
      a yes 50 0
      b yes 40 0
      r1 yes 0 0
      r2 yes 0 0
      c yes 0 0 h
      d yes 0 0 h
    `);
    const d = rechoke(tied, noOptimistic, now, false, settings, seededRandom(1));
    expect(d.regular).toEqual(["a", "b", "c", "d"]);
  });

  it("anti-snubbing: a snubbing peer loses its regular slot", () => {
    const snub = table(`
      a yes 50 0 s
      b yes 40 0
      c yes 30 0
      d yes 20 0
      e yes 10 0
    `);
    const d = rechoke(snub, noOptimistic, now, false, settings, seededRandom(1));
    expect(d.regular).toEqual(["b", "c", "d", "e"]);
    expect(d.optimistic.key).toBe("a"); // the only candidate left may still be the optimistic unchoke
  });

  it("keeps the optimistic unchoke for 30 s, then rotates it", () => {
    const first = rechoke(peers, noOptimistic, now, false, settings, seededRandom(1));
    const later = rechoke(peers, first.optimistic, now + 10_000, false, settings, seededRandom(2));
    expect(later.optimistic).toEqual(first.optimistic);
    const rotated = rechoke(peers, first.optimistic, now + 30_000, false, settings, seededRandom(2));
    expect(rotated.optimistic.key).not.toBe(first.optimistic.key);
    expect(rotated.optimistic.key).not.toBeNull();
  });

  it("when the optimistic peer earns a regular slot, no new optimistic unchoke until the rotation", () => {
    const first = rechoke(peers, noOptimistic, now, false, settings, seededRandom(1));
    const promotedKey = first.optimistic.key!;
    // 10 s later the optimistic peer uploads to us fastest of all.
    const later = peers.map((p) => (p.key === promotedKey ? { ...p, downloadRateBytesPerS: 999_000 } : p));
    const d = rechoke(later, first.optimistic, now + 10_000, false, settings, seededRandom(2));
    expect(d.regular[0]).toBe(promotedKey);
    expect(d.unchoked.size).toBe(4);
    const rotated = rechoke(later, d.optimistic, now + 30_000, false, settings, seededRandom(3));
    expect(rotated.unchoked.size).toBe(5);
  });

    it("weights newly connected peers three times in the optimistic draw", () => {
    const many = table(
      Array.from({ length: 8 }, (_, i) => `p${i} yes 0 0${i === 0 ? " n" : ""}`)
        .concat(["x1 yes 90 0", "x2 yes 90 0", "x3 yes 90 0", "x4 yes 90 0"])
        .join("\n"),
    );
    let newPicked = 0;
    const draws = 2000;
    const random = seededRandom(7);
    for (let k = 0; k < draws; k++) if (rechoke(many, noOptimistic, now, false, settings, random).optimistic.key === "p0") newPicked++;
    // weight 3 among total 3 + 7 = 10: expect ~30% (a uniform draw would give 12.5%).
    expect(newPicked / draws).toBeGreaterThan(0.25);
    expect(newPicked / draws).toBeLessThan(0.35);
  });

  it("rarely picks, as the optimistic unchoke, a peer that took a lot from us and never sent anything back, even when new", () => {
    // flags: t = we sent it 2 MB, h = it sent us 1 MB, n = new.
    const many = table(`
      rider1 yes 0 0 tn
      rider2 yes 0 0 t
      fair1  yes 0 0 th
      fair2  yes 0 0
      fresh  yes 0 0 n
      x1     yes 90 0
      x2     yes 90 0
      x3     yes 90 0
      x4     yes 90 0`);
    const picked = new Map<string, number>();
    const random = seededRandom(8);
    const draws = 2000;
    for (let k = 0; k < draws; k++) {
      const key = rechoke(many, noOptimistic, now, false, settings, random).optimistic.key!;
      picked.set(key, (picked.get(key) ?? 0) + 1);
    }
    // Weights: riders 0.1 each, fair1 1, fair2 1, fresh 3 (total 5.2): riders ~4% together.
    const riders = ((picked.get("rider1") ?? 0) + (picked.get("rider2") ?? 0)) / draws;
    expect(riders).toBeGreaterThan(0.01);
    expect(riders).toBeLessThan(0.08);
    expect((picked.get("fresh") ?? 0) / draws).toBeGreaterThan(0.5);
  });

  it("with weight 0, never-reciprocating peers get no optimistic unchoke, and lose their new-peer regular slot once they took enough", () => {
    const strict = { ...settings, unreciprocatedOptimisticWeight: 0, regularSlotsNeedReciprocation: true };
    // flags: t = we sent it 2 MB, h = it sent us 1 MB, n = new (within the grace period).
    const riders = table(`
      rider1 yes 0 0 tn
      rider2 yes 0 0 t
      fresh  yes 0 0 n
      fair   yes 50 0 h`).map((p) => (p.connectedAtMs > 0 ? { ...p, connectedAtMs: now - 5_000 } : p));
    const d = rechoke(riders, noOptimistic, now, false, strict, seededRandom(9));
    expect(d.regular).toEqual(["fair", "fresh"]); // rider1 is new but already took 2 MB without sending anything
    expect(d.optimistic.key).toBeNull(); // only riders are left as candidates
    // The current optimistic peer's turn ends early once it is a never-reciprocator.
    const held = rechoke(table("a yes 0 0 t\nb yes 0 0"), { key: "a", sinceMs: now - 1_000 }, now, false, strict, seededRandom(10));
    expect(held.optimistic.key).toBe("b");
  });

  it("least-progress optimistic unchoke: the candidate with the fewest pieces, never a peer that took enough and never reciprocated", () => {
    const lp = { ...settings, optimisticUnchokeChoice: "least-progress" as const, unreciprocatedOptimisticWeight: 0 };
    // x1-x4 hold the regular slots; flags: t = we sent it 2 MB, h = it sent us 1 MB.
    const pieces: Record<string, number> = { rider: 0, behind: 120, behindToo: 120, middle: 500, ahead: 900 };
    const peers = table(`
      rider     yes 0 0 t
      behind    yes 0 0
      behindToo yes 0 0 h
      middle    yes 0 0 h
      ahead     yes 0 0 h
      x1        yes 90 0
      x2        yes 90 0
      x3        yes 90 0
      x4        yes 90 0`).map((p) => ({ ...p, pieces: pieces[p.key] ?? 1000 }));
    const picked = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) picked.add(rechoke(peers, noOptimistic, now, false, lp, seededRandom(seed)).optimistic.key!);
    // The rider has the fewest pieces but weight 0; the two furthest behind share the draws.
    expect([...picked].sort()).toEqual(["behind", "behindToo"]);
    // At the rotation the previous pick steps aside for the next furthest behind.
    const next = rechoke(peers, { key: "behind", sinceMs: now - 30_000 }, now, false, lp, seededRandom(1));
    expect(next.optimistic.key).toBe("behindToo");
    // "random" draws from everyone with a weight.
    const anyPicked = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) anyPicked.add(rechoke(peers, noOptimistic, now, false, { ...lp, optimisticUnchokeChoice: "random" }, seededRandom(seed)).optimistic.key!);
    expect(anyPicked.has("ahead")).toBe(true);
  });
});

describe("seed choking", () => {
  const peers = table(`
    a yes 0 10
    b yes 0 90
    c yes 0 50
    d yes 0 70
    e yes 0 30
    f yes 0 80
  `);

  it("fastest-upload: the peers we upload to fastest", () => {
    const d = rechoke(peers, noOptimistic, now, true, settings, seededRandom(1));
    expect(d.regular).toEqual(["b", "f", "d", "c"]);
  });

  it("round-robin: every interested peer gets a turn", () => {
    let snapshot = peers;
    let optimistic: { key: string | null; sinceMs: number } = noOptimistic;
    const served = new Set<string>();
    const rr = { ...settings, seedChoking: "round-robin" as const };
    for (let round = 0; round < 4; round++) {
      const t = now + round * 30_000;
      const d = rechoke(snapshot, optimistic, t, true, rr, seededRandom(round));
      optimistic = d.optimistic;
      for (const k of d.regular) served.add(k);
      snapshot = snapshot.map((p) => {
        const on = d.unchoked.has(p.key);
        return {
          ...p,
          amChoking: !on,
          unchokedSinceMs: on ? (p.amChoking ? t : p.unchokedSinceMs) : null,
          lastChokedAtMs: !on && !p.amChoking ? t : p.lastChokedAtMs,
        };
      });
    }
    expect([...served].sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
  });

  it("rate-based slots: as many as unchoked peers clearing a threshold rising 4 KB/s per slot, plus one; never fewer than uploadSlots", () => {
    const rateBased = { ...settings, uploadSlotsMode: "rate-based" as const };
    // A fast uplink whose receivers each take 30-100 KB/s: thresholds 4, 8, ..., 32 KB/s pass 8 peers -> 9 slots.
    const fast = table(`
      a yes 0 100 u
      b yes 0 90 u
      c yes 0 80 u
      d yes 0 70 u
      e yes 0 60 u
      f yes 0 50 u
      g yes 0 40 u
      h yes 0 32 u
      i yes 0 30 u
      j yes 0 0`);
    expect(regularSlotCount(fast, rateBased)).toBe(9);
    expect(rechoke(fast, noOptimistic, now, true, rateBased, seededRandom(11)).regular).toHaveLength(9);
    // A saturated slow uplink: 5 peers at 12 KB/s each -> 3 pass (4, 8, 12) -> at least uploadSlots (4).
    const slow = table(Array.from({ length: 5 }, (_, k) => `p${k} yes 0 12 u`).join("\n"));
    expect(regularSlotCount(slow, rateBased)).toBe(4);
    // "fixed", or upload disabled (0 slots), ignores rates.
    expect(regularSlotCount(fast, settings)).toBe(4);
    expect(regularSlotCount(fast, { ...rateBased, uploadSlots: 0 })).toBe(0);
  });

  it("least-progress seeding: the peers with the fewest pieces first, each for one round-robin slot time", () => {
    const lp = { ...settings, seedChoking: "least-progress" as const, uploadSlots: 2, optimisticUnchokeSlots: 0 };
    const pieces: Record<string, number> = { behind: 10, middle: 50, ahead: 90, done: 99 };
    const peers = table(`
      behind yes 0 10
      middle yes 0 20
      ahead  yes 0 300
      done   yes 0 400`).map((p) => ({ ...p, pieces: pieces[p.key]! }));
    expect(rechoke(peers, noOptimistic, now, true, lp, seededRandom(12)).regular).toEqual(["behind", "middle"]);
    // "behind" has held its slot for the full slot time: the next furthest behind goes first.
    const served = peers.map((p) => (p.key === "behind" ? { ...p, amChoking: false, unchokedSinceMs: now - 30_000 } : p));
    expect(rechoke(served, noOptimistic, now, true, lp, seededRandom(13)).regular).toEqual(["middle", "ahead"]);
  });
});
